// NetnsHost is a machine of its own for partition tests: a network namespace
// this test creates, joined to the test's namespace by a veth pair on a /30 of
// private addresses (10.213.N.0/30, N random). Cut() takes the link down (no
// packet crosses, as when a cable is pulled), Heal() brings it back. Programs
// run inside with Command(). The destructor deletes the namespace (and the
// pair with it). Needs root and iproute2; Available() says whether they are.
#pragma once

#include <string>
#include <vector>

namespace agora::testing {

class NetnsHost {
 public:
  NetnsHost();
  ~NetnsHost();
  NetnsHost(const NetnsHost&) = delete;
  NetnsHost& operator=(const NetnsHost&) = delete;

  static bool Available();
  bool ok() const { return ok_; }
  const std::string& host_ip() const { return host_ip_; }  // the test's side
  const std::string& ip() const { return ip_; }            // inside
  // `argv` run inside the namespace.
  std::vector<std::string> Command(const std::vector<std::string>& argv) const;
  void Cut();
  void Heal();

 private:
  std::string name_, host_if_, host_ip_, ip_;
  bool ok_ = false;
};

}  // namespace agora::testing
