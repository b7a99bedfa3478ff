#!/usr/bin/env bash
# Builds the Debian packages from a build tree and checks what they hold: the
# binaries (the test tools apart, in agora-tools), the hardened systemd units
# and their exposure scores, the example configuration (as conffiles), the
# maintainer scripts, /usr/share/doc/agora, man pages, bash completion, the
# dashboard and alert rules, Depends computed from the binaries' libraries,
# and the SDK: its runtime in agora, the rest in agora-dev.
#   tests/package_test.sh BUILD_DIR
set -euo pipefail
build=$1
out=$(mktemp -d /tmp/agora-package-test-XXXXXX)
trap 'rm -rf "$out"' EXIT
(cd "$build" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log"; exit 1; }
deb=$(ls "$out"/agora_*.deb)
tools=$(ls "$out"/agora-tools_*.deb)
dev=$(ls "$out"/agora-dev_*.deb)
echo "built $(basename "$deb"), $(basename "$tools") and $(basename "$dev")"
missing=0
fail() { echo "$*"; missing=1; }
contents() { dpkg-deb -c "$1" | awk '{print $6}' | sed 's|^\./|/|'; }
contents "$deb" >"$out/contents"
contents "$tools" >"$out/tools-contents"
contents "$dev" >"$out/dev-contents"
for f in "/usr/lib/libagora-sdk.so.0.1" "/usr/lib/libagora-sdk.so.0.1.0"; do
  grep -qx "$f" "$out/contents" || fail "missing from agora: $f"
done
for f in /usr/include/agora/sdk/scheduler_driver.h /usr/include/agora/sdk/scheduler.h /usr/include/agora/task.h \
         /usr/include/agora/resources.h "/usr/lib/libagora-sdk.so" \
         "/usr/lib/cmake/Agora/AgoraConfig.cmake" "/usr/lib/cmake/Agora/AgoraConfigVersion.cmake" \
         "/usr/lib/cmake/Agora/AgoraTargets.cmake" "/usr/lib/pkgconfig/agora-sdk.pc"; do
  grep -qx "$f" "$out/dev-contents" || fail "missing from agora-dev: $f"
done
grep -q '^/usr/include' "$out/contents" && fail "headers in the agora package"
[[ $(dpkg-deb -f "$dev" Depends) == *"agora (= "* ]] || fail "agora-dev does not depend on its agora"
for f in /usr/bin/agora-master /usr/bin/agora-agent /usr/bin/agora-executor /usr/bin/agora-init /usr/bin/agora-batch \
         /usr/bin/agora-services /usr/bin/agora \
         /usr/lib/systemd/system/agora-master.service /usr/lib/systemd/system/agora-agent.service \
         /usr/lib/systemd/system/agora-batch.service /usr/lib/systemd/system/agora-services.service \
         /usr/share/agora/grafana/agora-dashboard.json /usr/share/agora/prometheus/agora-alerts.yml \
         /usr/share/doc/agora/copyright /usr/share/doc/agora/changelog.gz /usr/share/doc/agora/CHANGELOG.md \
         /usr/share/doc/agora/README.md /usr/share/doc/agora/docs/metrics.md \
         /usr/share/man/man1/agora.1.gz /usr/share/man/man8/agora-master.8.gz /usr/share/man/man8/agora-agent.8.gz \
         /usr/share/man/man8/agora-executor.8.gz /usr/share/man/man8/agora-init.8 \
         /usr/share/man/man8/agora-batch.8.gz /usr/share/man/man8/agora-services.8.gz \
         /usr/share/bash-completion/completions/agora /usr/share/zsh/vendor-completions/_agora \
         /usr/share/fish/vendor_completions.d/agora.fish \
         /etc/agora/master.conf /etc/agora/agent.conf /etc/agora/batch.conf /etc/agora/services.conf; do
  grep -qx "$f" "$out/contents" || fail "missing from agora: $f"
done
for f in /usr/bin/agora-loadgen /usr/share/man/man1/agora-loadgen.1.gz; do
  grep -qx "$f" "$out/tools-contents" || fail "missing from agora-tools: $f"
  grep -qx "$f" "$out/contents" && fail "a test tool in the agora package: $f"
done
dpkg-deb -e "$deb" "$out/control"
grep -qx /etc/agora/agent.conf "$out/control/conffiles" || fail "agent.conf is not a conffile"
for script in postinst prerm postrm; do
  [ -x "$out/control/$script" ] || fail "no executable $script"
  sh -n "$out/control/$script" || fail "$script does not parse"
done
grep -q "adduser --quiet --system --group" "$out/control/postinst" || fail "postinst makes no agora user"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in adduser libzmq5 libcapnp libsqlite3 libsystemd0; do
  [[ $depends == *$lib* ]] || fail "Depends lacks $lib"
done
dpkg-deb -x "$deb" "$out/root"
# The example configuration parses: each daemon reads its file (then stops at --help).
for d in master agent batch services; do
  "$out/root/usr/bin/agora-$d" --config "$out/root/etc/agora/$d.conf" --help >/dev/null ||
    fail "agora-$d rejects its example configuration"
done
zcat "$out/root/usr/share/man/man8/agora-master.8.gz" | grep -q 'insecure' || fail "agora-master(8) lacks its flags"
# Hardened units: readiness through sd_notify, and the exposure
# `systemd-analyze security` scores (docs/security.md lists them).
units="$out/root/usr/lib/systemd/system"
for u in agora-master agora-agent agora-batch agora-services; do
  grep -qx "Type=notify" "$units/$u.service" || fail "$u.service is not Type=notify"
done
for u in agora-master agora-batch agora-services; do
  grep -qx "User=agora" "$units/$u.service" || fail "$u.service does not run as agora"
done
if command -v systemd-analyze >/dev/null; then
  for pair in agora-master:2.0 agora-batch:2.0 agora-services:2.0 agora-agent:8.0; do
    u=${pair%%:*} most=${pair#*:}
    score=$(systemd-analyze security --offline=true "$units/$u.service" 2>/dev/null |
              sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' || true)
    [ -n "$score" ] || { fail "systemd-analyze gave no score for $u.service"; continue; }
    echo "$u.service exposure: $score (at most $most)"
    awk -v s="$score" -v m="$most" 'BEGIN { exit !(s != "" && s <= m) }' || fail "$u.service scores $score"
  done
fi
exit $missing
