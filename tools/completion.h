// Bash completion that follows the command tree itself: the script asks
// `agora __complete WORDS...` for the candidates of the last word, so it
// never falls out of step with the commands and flags.
//
//   source <(agora completion bash)
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace agora::tools {

// The script `agora completion bash` prints.
std::string BashCompletionScript();

// Prints, one per line, the subcommands and flags that may follow
// words[0..n-2] and start with words[n-1] (the word being completed).
void PrintCompletions(CLI::App& app, const std::vector<std::string>& words);

}  // namespace agora::tools
