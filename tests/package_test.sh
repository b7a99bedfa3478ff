#!/usr/bin/env bash
# Builds the Debian package from a build tree and checks what it holds: the
# binaries, the systemd units, the example configuration (as conffiles), and
# Depends computed from the binaries' libraries.
#   tests/package_test.sh BUILD_DIR
set -euo pipefail
build=$1
out=$(mktemp -d /tmp/agora-package-test-XXXXXX)
trap 'rm -rf "$out"' EXIT
(cd "$build" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log"; exit 1; }
deb=$(ls "$out"/*.deb)
echo "built $(basename "$deb")"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$out/contents"
missing=0
for f in /usr/bin/agora-master /usr/bin/agora-agent /usr/bin/agora-executor /usr/bin/agora-init /usr/bin/agora-batch \
         /usr/bin/agora-services /usr/bin/agora /usr/bin/agora-loadgen \
         /usr/lib/systemd/system/agora-master.service /usr/lib/systemd/system/agora-agent.service \
         /usr/lib/systemd/system/agora-batch.service /usr/lib/systemd/system/agora-services.service \
         /usr/share/agora/grafana/agora-dashboard.json /usr/share/agora/prometheus/agora-alerts.yml \
         /etc/agora/master.conf /etc/agora/agent.conf /etc/agora/batch.conf /etc/agora/services.conf; do
  grep -qx "$f" "$out/contents" || { echo "missing from the package: $f"; missing=1; }
done
dpkg-deb -e "$deb" "$out/control"
grep -qx /etc/agora/agent.conf "$out/control/conffiles" || { echo "agent.conf is not a conffile"; missing=1; }
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libzmq5 libcapnp libsqlite3; do
  [[ $depends == *$lib* ]] || { echo "Depends lacks $lib"; missing=1; }
done
# The example configuration parses: each daemon reads its file (then stops at --help).
dpkg-deb -x "$deb" "$out/root"
for d in master agent batch services; do
  "$out/root/usr/bin/agora-$d" --config "$out/root/etc/agora/$d.conf" --help >/dev/null ||
    { echo "agora-$d rejects its example configuration"; missing=1; }
done
exit $missing
