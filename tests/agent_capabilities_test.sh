#!/usr/bin/env bash
# The packaged agent unit's capability bounding set suffices: the tests that
# isolate tasks, run health checks inside them, kill orphans and attack from
# tasks pass with the agent under exactly that set (read from the unit) and
# with no new privileges, as systemd starts it.
#   tests/agent_capabilities_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
unit=$(cd "$(dirname "$0")/.." && pwd)/packaging/systemd/agora-agent.service
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr ' ' '\n' | sed -n 's/^CAP_\(.*\)/+\L\1/p' | paste -sd, -)
[ -n "$caps" ] || { echo "no CapabilityBoundingSet in $unit"; exit 1; }
bin=$(mktemp -d /tmp/agora-caps-test-XXXXXX)
trap 'rm -rf "$bin"' EXIT
chmod 755 "$bin"  # tasks (other users) exec agora-init from here
cp -al "$build"/bin/. "$bin"/ 2>/dev/null || cp -a "$build"/bin/. "$bin"/  # hard links where it can
mv "$bin/agora-agent" "$bin/agora-agent.real"
cat >"$bin/agora-agent" <<EOF
#!/bin/sh
exec setpriv --bounding-set -all,$caps --no-new-privs -- "$bin/agora-agent.real" "\$@"
EOF
chmod 755 "$bin/agora-agent"
echo "the agent's bounding set: $caps"
export AGORA_TEST_BIN_DIR=$bin
"$build/tests/integration/integration_test" --gtest_brief=1 \
  --gtest_filter='HealthCheckTest.*:OrphanTest.*:SecurityTest.*:ClusterTest.Task*:ClusterTest.*Isolat*'
"$build/tests/security/attack_test" --gtest_brief=1
