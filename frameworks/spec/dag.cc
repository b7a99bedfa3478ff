#include "frameworks/spec/dag.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace agora::spec {
namespace {

absl::flat_hash_map<std::string, int> IndexByName(const std::vector<DagNode>& nodes) {
  absl::flat_hash_map<std::string, int> index;
  for (size_t i = 0; i < nodes.size(); ++i) index.emplace(nodes[i].name, i);
  return index;
}

}  // namespace

absl::Status CheckAcyclic(const std::vector<DagNode>& nodes,
                          const std::function<std::string(int)>& field_of) {
  const auto index = IndexByName(nodes);
  // Depth-first with colours: reaching a grey node again closes a cycle.
  std::vector<int> colour(nodes.size(), 0), stack;
  std::function<absl::Status(int)> visit = [&](int v) -> absl::Status {
    colour[v] = 1;
    stack.push_back(v);
    for (const std::string& dep : nodes[v].depends_on) {
      auto it = index.find(dep);
      if (it == index.end()) continue;
      const int w = it->second;
      if (colour[w] == 1) {
        std::vector<std::string> cycle;
        for (auto s = std::find(stack.begin(), stack.end(), w); s != stack.end(); ++s) {
          cycle.push_back(nodes[*s].name);
        }
        cycle.push_back(nodes[w].name);
        return absl::InvalidArgumentError(
            absl::StrCat(field_of(v), ": dependency cycle ", absl::StrJoin(cycle, " -> ")));
      }
      if (colour[w] == 0) {
        if (absl::Status s = visit(w); !s.ok()) return s;
      }
    }
    stack.pop_back();
    colour[v] = 2;
    return absl::OkStatus();
  };
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (colour[i] == 0) {
      if (absl::Status s = visit(i); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

std::vector<int> DependenciesFirst(const std::vector<DagNode>& nodes) {
  const auto index = IndexByName(nodes);
  std::vector<int> order, done(nodes.size(), 0);
  std::function<void(int)> visit = [&](int v) {
    if (done[v]) return;
    done[v] = 1;
    for (const std::string& dep : nodes[v].depends_on) {
      if (auto it = index.find(dep); it != index.end()) visit(it->second);
    }
    order.push_back(v);
  };
  for (size_t i = 0; i < nodes.size(); ++i) visit(i);
  return order;
}

}  // namespace agora::spec
