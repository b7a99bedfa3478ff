// Shell completion that follows the command tree itself: the scripts ask
// `agora __complete WORDS...` for the candidates of the last word, so they
// never fall out of step with the commands and flags; where a command takes
// an id or a name, the candidates come from the live cluster.
//
//   source <(agora completion bash)      # or zsh
//   agora completion fish | source
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace agora::tools {

// The script `agora completion SHELL` prints (bash, zsh or fish); "" for
// another shell.
std::string CompletionScript(const std::string& shell);

// The ids or names the cluster has for the argument of `noun verb` ("agent
// drain": agent ids and hostnames); empty when there are none or the
// cluster does not answer in time.
using LiveCandidates = std::function<std::vector<std::string>(const std::string& noun, const std::string& verb)>;

// Prints, one per line, the subcommands, flags and (through `live`) ids that
// may follow words[0..n-2] and start with words[n-1] (the word being completed).
void PrintCompletions(CLI::App& app, const std::vector<std::string>& words, const LiveCandidates& live);

}  // namespace agora::tools
