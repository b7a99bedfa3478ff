#include "tools/keys_command.h"

#include <iostream>

#include "absl/strings/str_split.h"
#include "common/curve.h"
#include "common/ids.h"

namespace agora::tools {

CLI::App* AddKeysCommands(CLI::App& app, KeysArgs* a) {
  CLI::App* keys = app.add_subcommand("keys", "CurveZMQ keys that secure the cluster's connections");
  keys->require_subcommand(1);
  CLI::App* generate = keys->add_subcommand(
      "generate",
      "write NAME.key (secret, 0600) and NAME.pub into --dir\n"
      "Example: agora keys generate master --dir /etc/agora/keys && "
      "agora keys generate batch --dir /etc/agora/trusted --kind framework --roles batch");
  generate->add_option("name", a->name, "the key's name (the principal in the master's logs)")->required();
  generate->add_option("--dir", a->dir, "where to write the files")->capture_default_str();
  generate->add_option("--kind", a->kind,
                       "what its holder may be at the master: any (agent or framework), agent, "
                       "framework, or operator")
      ->check(CLI::IsMember({"any", "agent", "framework", "operator"}))
      ->capture_default_str();
  generate->add_option("--roles", a->roles, "frameworks: the roles it may subscribe with (* any)")
      ->capture_default_str();
  return keys;
}

int GenerateKeys(const KeysArgs& a) {
  if (absl::Status s = ValidatePathSafeId("key name", a.name); !s.ok()) {
    std::cerr << "agora keys generate: " << s.message() << "\n";
    return 2;
  }
  CurvePrincipal principal;
  principal.kind = *ParseCurveKind(a.kind);
  principal.roles = absl::StrSplit(a.roles, ',', absl::SkipWhitespace());
  if (principal.roles.empty()) {
    std::cerr << "agora keys generate: --roles names no role\n";
    return 2;
  }
  const CurveKeyPair pair = GenerateCurveKeyPair();
  if (absl::Status s = WriteCurveKeyFiles(a.dir, a.name, pair, principal); !s.ok()) {
    std::cerr << "agora keys generate: " << s.message() << "\n";
    return 1;
  }
  std::cout << "wrote " << a.dir << "/" << a.name << ".key (secret: keep it on the machine that "
            << "uses it) and " << a.dir << "/" << a.name << ".pub (public: give it to the master)\n";
  return 0;
}

}  // namespace agora::tools
