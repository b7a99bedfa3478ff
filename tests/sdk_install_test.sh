#!/usr/bin/env bash
# A framework author's view of the installed SDK: installs the build into a
# scratch prefix, checks that the headers there are the public API only and
# that the library exports nothing else, builds the example framework alone
# against it (its own CMakeLists: find_package(Agora), agora::sdk) and a
# one-file framework with pkg-config, then runs both against a real cluster.
#   tests/sdk_install_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/agora-sdk-test-XXXXXX)
chmod 0711 "$dir"  # the dev agents' tasks run as uids of their own, beneath it
prefix="$dir/prefix"
cleanup() {
  "$build/bin/agora" dev --dir "$dir/cluster" down >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
# A sanitizer build's library wants its consumers built the same way.
sanitize=""
if grep -q '^CMAKE_BUILD_TYPE:STRING=Asan' "$build/CMakeCache.txt"; then
  sanitize="-fsanitize=address,undefined"
fi

cmake --install "$build" --prefix "$prefix" >"$dir/install.log" || { cat "$dir/install.log"; exit 1; }
headers="$prefix/include/agora"
for h in resources.h task.h sdk/scheduler.h sdk/scheduler_driver.h; do
  [ -f "$headers/$h" ] || fail "not installed: include/agora/$h"
done
# Nothing internal leaks through an installed header.
if grep -rnE '#include "(common|frameworks|master|agent)/|zmq|capnp|event_loop' "$headers"; then
  fail "an installed header includes Agora's internals"
fi
lib=$(ls "$prefix"/lib*/libagora-sdk.so 2>/dev/null || ls "$prefix"/lib/*/libagora-sdk.so)
[ -n "$lib" ] || fail "no libagora-sdk.so installed"
# The library's dynamic symbols are the public API's (agora::sdk, Resources,
# PortSet, the task functions), not the event loop, sockets or wire code.
leaked=$(nm -D --defined-only "$lib" | c++filt | awk '{ $1 = ""; $2 = ""; print }' |
           grep -vE '^ +(agora::sdk::|agora::Resources|agora::PortSet|agora::IsTerminal|agora::TaskStateName|agora::Validate|vtable for agora::sdk::Scheduler|typeinfo (name )?for agora::sdk::Scheduler|AGORA_SDK_)' || true)
[ -z "$leaked" ] || fail "libagora-sdk.so exports internals: $(head -5 <<<"$leaked")"
if nm -D --defined-only "$lib" | c++filt | grep -q 'DriverCore\|EventLoop'; then
  fail "libagora-sdk.so exports the driver's internals"
fi

# The example, built alone as its guide says (no C++ standard set by us: the
# target carries cxx_std_20).
cmake -S "$src/frameworks/examples" -B "$dir/example" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_FLAGS="$sanitize" -DCMAKE_EXE_LINKER_FLAGS="$sanitize" \
  >"$dir/example.log" 2>&1 || { cat "$dir/example.log"; exit 1; }
cmake --build "$dir/example" >>"$dir/example.log" 2>&1 || { cat "$dir/example.log"; exit 1; }

# A one-file framework through pkg-config.
cat >"$dir/once.cc" <<'CC'
#include <iostream>
#include <agora/sdk/scheduler_driver.h>

class Once : public agora::sdk::Scheduler {
 public:
  void Offers(agora::sdk::SchedulerDriver& d, const std::vector<agora::sdk::Offer>& offers) override {
    if (launched_ || offers.empty()) return;
    agora::TaskSpec t;
    t.task_id = "once";
    t.command = "echo once";
    t.resources = agora::Resources::Scalars(0.1, 32, 0);
    d.Launch({offers[0].id}, {t});
    launched_ = true;
  }
  void Update(agora::sdk::SchedulerDriver& d, const agora::TaskStatus& s) override {
    std::cout << s.task_id << " " << agora::TaskStateName(s.state) << std::endl;
    if (agora::IsTerminal(s.state)) {
      ok_ = s.state == agora::TaskState::kFinished;
      d.Stop(/*failover=*/false);
    }
  }
  bool WantsOffers() const override { return !launched_; }
  bool ok_ = false;
  bool launched_ = false;
};

int main(int argc, char** argv) {
  Once once;
  agora::sdk::FrameworkInfo info;
  info.name = "once";
  info.failover_timeout = absl::ZeroDuration();
  agora::sdk::SchedulerDriver driver(once, info, argv[1]);
  driver.After(absl::Seconds(30), [&] { driver.Stop(false); });  // bounded
  driver.Run();
  return once.ok_ ? 0 : 1;
}
CC
pcdir=$(dirname "$(find "$prefix" -name agora-sdk.pc | head -1)")
[ -n "$pcdir" ] || fail "no agora-sdk.pc installed"
# shellcheck disable=SC2046
c++ -std=c++20 $sanitize -o "$dir/once" "$dir/once.cc" $(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs agora-sdk) ||
  fail "a framework does not build with pkg-config"

# Both against a real cluster.
"$build/bin/agora" dev --dir "$dir/cluster" up --agents 2 --port 5600 -o json >"$dir/up.json" ||
  fail "agora dev up failed: $(cat "$dir/up.json")"
master=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["master"])' "$dir/up.json")
timeout 120 "$dir/example/agora-example-spread" --master "$master" --hosts 2 -- echo hello \
  >"$dir/spread.log" 2>&1 || { cat "$dir/spread.log"; fail "the example built out of tree did not finish"; }
grep -c ' finished ' "$dir/spread.log" | grep -qx 2 || { cat "$dir/spread.log"; fail "not two copies finished"; }
LD_LIBRARY_PATH="$(dirname "$lib")" timeout 60 "$dir/once" "$master" >"$dir/once.log" 2>&1 ||
  { cat "$dir/once.log"; fail "the pkg-config framework did not finish"; }
grep -q '^once finished' "$dir/once.log" || { cat "$dir/once.log"; fail "its task did not finish"; }
echo "the installed SDK builds and runs frameworks out of tree"
