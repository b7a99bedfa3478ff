#include "tests/integration/netns.h"

#include <unistd.h>

#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"

namespace agora::testing {
namespace {

bool Run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace

bool NetnsHost::Available() { return ::geteuid() == 0 && Run("ip netns list"); }

NetnsHost::NetnsHost() {
  const unsigned n = std::random_device{}() % 250 + 1;
  const std::string tag = absl::StrCat(::getpid() % 100000, "-", n);
  name_ = absl::StrCat("agora-test-", tag);
  host_if_ = absl::StrCat("agh", tag).substr(0, 15);
  const std::string inner_if = absl::StrCat("agn", tag).substr(0, 15);
  host_ip_ = absl::StrCat("10.213.", n, ".1");
  ip_ = absl::StrCat("10.213.", n, ".2");
  ok_ = Run(absl::StrCat("ip netns add ", name_)) &&
        Run(absl::StrCat("ip link add ", host_if_, " type veth peer name ", inner_if)) &&
        Run(absl::StrCat("ip link set ", inner_if, " netns ", name_)) &&
        Run(absl::StrCat("ip addr add ", host_ip_, "/30 dev ", host_if_)) &&
        Run(absl::StrCat("ip link set ", host_if_, " up")) &&
        Run(absl::StrCat("ip netns exec ", name_, " ip addr add ", ip_, "/30 dev ", inner_if)) &&
        Run(absl::StrCat("ip netns exec ", name_, " ip link set ", inner_if, " up")) &&
        Run(absl::StrCat("ip netns exec ", name_, " ip link set lo up"));
}

NetnsHost::~NetnsHost() {
  Run(absl::StrCat("ip netns del ", name_));  // takes the veth pair with it
  Run(absl::StrCat("ip link del ", host_if_));
}

std::vector<std::string> NetnsHost::Command(const std::vector<std::string>& argv) const {
  std::vector<std::string> out = {"/usr/sbin/ip", "netns", "exec", name_};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

void NetnsHost::Cut() { Run(absl::StrCat("ip link set ", host_if_, " down")); }
void NetnsHost::Heal() { Run(absl::StrCat("ip link set ", host_if_, " up")); }

}  // namespace agora::testing
