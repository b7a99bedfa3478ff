#include "tools/completion.h"

#include <iostream>

#include "absl/strings/match.h"

namespace agora::tools {

std::string CompletionScript(const std::string& shell) {
  if (shell == "bash") {
    return R"(# bash completion for agora: source <(agora completion bash)
_agora() {
  local IFS=$'\n'
  COMPREPLY=($(agora __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _agora agora
)";
  }
  if (shell == "zsh") {
    return R"(#compdef agora
# zsh completion for agora: source <(agora completion zsh)
_agora() {
  local -a candidates
  candidates=("${(@f)$(agora __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a candidates
}
# Autoloaded from fpath (as _agora) this file is the completion itself; sourced, it registers it.
if [ "$funcstack[1]" = "_agora" ]; then _agora "$@"; else compdef _agora agora; fi
)";
  }
  if (shell == "fish") {
    return R"(# fish completion for agora: agora completion fish | source
complete -c agora -f -a '(agora __complete (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'
)";
  }
  return "";
}

void PrintCompletions(CLI::App& app, const std::vector<std::string>& words, const LiveCandidates& live) {
  CLI::App* at = &app;
  std::vector<CLI::App*> path = {at};
  const std::string partial = words.empty() ? "" : words.back();
  size_t positionals = 0;  // words after the deepest command that are not flags
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    bool descended = false;
    for (CLI::App* sub : at->get_subcommands([](CLI::App*) { return true; })) {
      if (sub->get_name() == words[i]) {
        at = sub;
        path.push_back(at);
        positionals = 0;
        descended = true;
        break;
      }
    }
    if (!descended && !absl::StartsWith(words[i], "-")) ++positionals;
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
  } else if (out.empty() && positionals == 0 && path.size() > 1) {
    // The command's first argument: an id or a name from the cluster.
    const std::string noun = path[1]->get_name();
    const std::string verb = path.size() > 2 ? path[2]->get_name() : "";
    for (std::string& id : live(noun, verb)) out.push_back(std::move(id));
  }
  for (const std::string& candidate : out) {
    if (absl::StartsWith(candidate, partial)) std::cout << candidate << "\n";
  }
}

}  // namespace agora::tools
