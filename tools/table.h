// Table prints rows as aligned columns under a header, the way every `agora`
// listing looks. On a terminal the table fits its width (the widest columns
// are cut, marked `~`, but never ids and names; with `-o wide` none is) and
// state words are coloured (green: running, active; yellow: on the way; red:
// failed, lost); piped, it is plain and whole.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace agora::tools {

struct TableStyle {
  size_t width = 0;     // 0: no limit
  bool colour = false;
};

// Standard output's: its terminal's width and colour, unless NO_COLOR is set
// or TERM is dumb; none when it is not a terminal.
TableStyle TerminalStyle();

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size(); }
  void Print(std::ostream& out, const TableStyle& style = TerminalStyle()) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace agora::tools
