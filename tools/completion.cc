#include "tools/completion.h"

#include <iostream>

#include "absl/strings/match.h"

namespace agora::tools {

std::string BashCompletionScript() {
  return R"(# bash completion for agora: source <(agora completion bash)
_agora() {
  local IFS=$'\n'
  COMPREPLY=($(agora __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _agora agora
)";
}

void PrintCompletions(CLI::App& app, const std::vector<std::string>& words) {
  CLI::App* at = &app;
  std::vector<CLI::App*> path = {at};
  const std::string partial = words.empty() ? "" : words.back();
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    for (CLI::App* sub : at->get_subcommands([](CLI::App*) { return true; })) {
      if (sub->get_name() == words[i]) {
        at = sub;
        path.push_back(at);
        break;
      }
    }
  }
  std::vector<std::string> out;
  for (CLI::App* sub : at->get_subcommands([](CLI::App*) { return true; })) {
    if (!sub->get_name().empty() && sub->get_group() != "") out.push_back(sub->get_name());
  }
  if (absl::StartsWith(partial, "-")) {
    for (CLI::App* level : path) {  // flags of the command and of those above it (they fall through)
      for (const CLI::Option* opt : level->get_options()) {
        for (const std::string& name : opt->get_lnames()) out.push_back("--" + name);
      }
    }
  }
  for (const std::string& candidate : out) {
    if (absl::StartsWith(candidate, partial)) std::cout << candidate << "\n";
  }
}

}  // namespace agora::tools
