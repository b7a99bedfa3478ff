// Table prints rows as aligned columns under a header, the way every `agora`
// listing looks.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace agora::tools {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size(); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace agora::tools
