#include "tools/table.h"

#include <algorithm>

namespace agora::tools {

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths(header_.size());
  for (size_t i = 0; i < header_.size(); ++i) widths[i] = header_[i].size();
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < widths.size()) line += std::string(widths[i] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  };
  // A table without column names (a key/value summary) prints no header.
  if (std::any_of(header_.begin(), header_.end(), [](const auto& h) { return !h.empty(); })) {
    print_row(header_);
  }
  for (const auto& row : rows_) print_row(row);
}

}  // namespace agora::tools
