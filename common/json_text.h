// JSON text that never throws. nlohmann::json's dump() throws on strings that
// are not valid UTF-8, and those come from outside: a hostname or a command
// off the wire, a user's YAML. Every daemon and the CLI write JSON through
// JsonText, which puts U+FFFD in place of the bad bytes (found by the master's
// fuzzer: an agent with such a hostname crashed `agora agents`).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace agora {

inline std::string JsonText(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace agora
