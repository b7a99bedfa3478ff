#!/usr/bin/env bash
# Boots systemd in a container with the agora package installed and checks
# the units as systemd runs them: the four daemons start as their units say
# (Type=notify: active only once ready; master and frameworks as `agora`),
# an agent registers, a task and a batch job run under the agent's
# capability bounding set, logs go to the journal and to no file of their
# own, `systemctl reload` and `restart` work, and `stop` ends each daemon;
# and that a framework builds against agora-dev's SDK and runs on them.
#
# The container is systemd-nspawn over an overlay of this machine's root (its
# libraries are the package's dependencies), with a private network: nothing
# of it reaches this machine's interfaces, and all of it goes with the overlay.
#   tests/systemd_smoke_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
if ! command -v systemd-nspawn >/dev/null || [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root and systemd-nspawn (Debian's systemd-container)"
  exit 77
fi
# Packages are release builds; a sanitizer build's daemons cannot run under
# the units anyway (LeakSanitizer needs what their sandboxing takes away).
if grep -q '^CMAKE_BUILD_TYPE:STRING=Asan' "$build/CMakeCache.txt"; then
  echo "SKIP: a sanitizer build is not packaged"
  exit 77
fi
dir=$(mktemp -d /tmp/agora-systemd-test-XXXXXX)
root="$dir/root"
machine="agora-smoke-$$"
cleanup() {
  umount "$root" 2>/dev/null || umount -l "$root" 2>/dev/null || true
  rm -rf "$dir" "/run/systemd/nspawn/propagate/$machine"
}
trap cleanup EXIT
mkdir -p "$dir"/{upper,work,root,debs}
(cd "$build" && cpack -G DEB -B "$dir/debs" >"$dir/cpack.log" 2>&1) || { cat "$dir/cpack.log"; exit 1; }
mount -t overlay overlay -o "lowerdir=/,upperdir=$dir/upper,workdir=$dir/work" "$root"
# A machine of its own: no agora of this one's, no state, its own machine id.
rm -rf "$root"/var/lib/agora "$root"/etc/agora "$root"/etc/systemd/system/agora-*
systemd-id128 new >"$root/etc/machine-id"
install -d "$root/smoke"
cp "$dir"/debs/agora_*.deb "$dir"/debs/agora-dev_*.deb "$root/smoke/"
cp -r "$(dirname "$0")/../frameworks/examples" "$root/smoke/example"

nspawn() {
  systemd-nspawn -q --register=no --keep-unit --link-journal=no --machine="$machine" \
    --private-network -D "$root" "$@"
}
nspawn dpkg -i "/smoke/$(basename "$dir"/debs/agora_*.deb)" "/smoke/$(basename "$dir"/debs/agora-dev_*.deb)" \
  >"$dir/dpkg.log" 2>&1 || { cat "$dir/dpkg.log"; exit 1; }

# The checks run in the container once its daemons are up (or failed), then
# power it off. Each failure is a line in /smoke/failures.
cat >"$root/smoke/check.sh" <<'CHECK'
#!/bin/bash
set -u
exec >/smoke/log 2>&1
fail() { echo "FAIL: $*" | tee -a /smoke/failures; }
waitfor() {  # waitfor SECONDS COMMAND...: true once COMMAND succeeds
  local until=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $until ] && return 1
    sleep 0.2
  done
}
units="agora-master agora-agent agora-batch agora-services"
for u in $units; do
  [ "$(systemctl is-active $u)" = active ] || fail "$u is $(systemctl is-active $u)"
done
for u in agora-master agora-batch agora-services; do
  pid=$(systemctl show -p MainPID --value $u)
  [ "$(ps -o user= -p "$pid" | tr -d ' ')" = agora ] || fail "$u runs as $(ps -o user= -p "$pid")"
done
# The agent keeps CAP_SYS_ADMIN (bit 21), not CAP_SYS_MODULE (16) or CAP_SYS_TIME (25).
agent=$(systemctl show -p MainPID --value agora-agent)
bounding=$((16#$(awk '/^CapBnd/ {print $2}' /proc/"$agent"/status)))
echo "agent bounding set: $(printf %x $bounding)"
(( (bounding >> 21) & 1 && !((bounding >> 16) & 1) && !((bounding >> 25) & 1) )) ||
  fail "the agent's bounding set is $(printf %x $bounding), not its unit's"
waitfor 30 sh -c 'agora agents -o json | grep -q "\"state\":\"active\""' || fail "no agent registered: $(agora agents 2>&1)"
out=$(timeout 60 agora run --name smoke -- 'echo ran-as-$(id -u); exit 3' 2>&1)
code=$?
echo "$out"
[ $code = 3 ] || fail "agora run exited $code, not the task's 3: $out"
logs=$(agora logs smoke-0 2>&1)
echo "task output: $logs"
grep -q '^ran-as-[0-9]' <<<"$logs" || fail "the task's output cannot be read back: $logs"
cat >/smoke/job.yaml <<'JOB'
name: smoke
command: test -n "$AGORA_JOB_ID"
JOB
job=$(timeout 60 agora job submit /smoke/job.yaml --wait 2>&1) || fail "the batch job did not succeed: $job"
echo "$job"
# A framework built against the installed SDK (/usr: find_package, the
# library through ldconfig), run on the cluster.
if cmake -S /smoke/example -B /tmp/example -G Ninja >/smoke/example.log 2>&1 &&
   cmake --build /tmp/example >>/smoke/example.log 2>&1; then
  timeout 60 /tmp/example/agora-example-spread --hosts 1 -- true >>/smoke/example.log 2>&1 ||
    fail "the example framework did not finish: $(tail -5 /smoke/example.log)"
  echo "example framework: $(grep -c ' TASK_FINISHED\| finished ' /smoke/example.log) copy finished"
else
  fail "the example does not build against agora-dev: $(tail -5 /smoke/example.log)"
fi
for u in agora-master agora-agent; do
  journalctl -u $u -b --no-pager | grep -q 'agora-' || fail "$u wrote nothing to the journal"
done
journalctl -u agora-master -b --no-pager | grep -q 'listening on' || fail "no 'listening on' in the master's journal"
ls /var/lib/agora/*/*.log 2>/dev/null && fail "a daemon under systemd wrote a log file of its own besides the journal"
[ "$(stat -c %U /var/lib/agora/master)" = agora ] || fail "/var/lib/agora/master is not agora's"
# reload: SIGHUP to the daemon alone; it stays up and says so.
systemctl reload agora-master || fail "reload agora-master failed"
waitfor 10 sh -c 'journalctl -u agora-master -b --no-pager | grep -q SIGHUP' || fail "the master did not see its reload"
# restart: the agent comes back to the restarted master.
systemctl restart agora-master || fail "restart agora-master failed"
[ "$(systemctl is-active agora-master)" = active ] || fail "agora-master is not active after a restart"
waitfor 30 sh -c 'agora agents -o json | grep -q "\"state\":\"active\""' || fail "the agent did not come back after a master restart"
for u in agora-services agora-batch agora-agent agora-master; do
  timeout 30 systemctl stop $u || fail "stopping $u failed"
  [ "$(systemctl is-active $u)" = inactive ] || fail "$u is $(systemctl is-active $u) after stop"
done
journalctl -b --no-pager -u 'agora-*' >/smoke/journal
touch /smoke/done
CHECK
chmod +x "$root/smoke/check.sh"
cat >"$root/etc/systemd/system/agora-smoke.service" <<'UNIT'
[Unit]
Description=Agora's systemd smoke test
Wants=agora-master.service agora-agent.service agora-batch.service agora-services.service
After=agora-master.service agora-agent.service agora-batch.service agora-services.service
[Service]
Type=oneshot
ExecStart=/smoke/check.sh
ExecStopPost=/bin/systemctl poweroff --no-block
UNIT
cat >"$root/etc/systemd/system/agora-smoke.target" <<'UNIT'
[Unit]
Description=Agora's systemd smoke test
Requires=agora-smoke.service
After=agora-smoke.service
UNIT

timeout 300 systemd-nspawn -q --register=no --keep-unit --link-journal=no --machine="$machine" \
  --private-network -D "$root" --boot systemd.unit=agora-smoke.target >"$dir/boot.log" 2>&1 || true
status=0
if [ ! -e "$dir/upper/smoke/done" ]; then
  echo "the checks did not finish"; status=1
fi
if [ -s "$dir/upper/smoke/failures" ]; then
  cat "$dir/upper/smoke/failures"; status=1
fi
if [ $status != 0 ]; then
  echo "--- checks"; cat "$dir/upper/smoke/log" 2>/dev/null || true
  echo "--- journal"; tail -n 80 "$dir/upper/smoke/journal" 2>/dev/null || tail -n 60 "$dir/boot.log"
  exit 1
fi
cat "$dir/upper/smoke/log"
echo "systemd smoke test passed"
