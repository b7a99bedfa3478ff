#include "tools/table.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "tools/output.h"

namespace agora::tools {
namespace {

constexpr size_t kNarrowest = 8;  // a cut column keeps this much

// Ids and names are never cut: a cut one could not be pasted back.
bool Whole(const std::string& header) {
  static const auto* whole = new absl::flat_hash_set<std::string>{
      "ID", "NAME", "TASK", "JOB", "RUN", "SERVICE", "FRAMEWORK", "AGENT", "HOST", "HOSTNAME", "ROLE", "QUEUE"};
  return whole->contains(header) || absl::EndsWith(header, " ID");
}

// The ANSI colour of a cell that is one state word, or null.
const char* ColourOf(const std::string& cell) {
  static const auto* colours = new absl::flat_hash_map<std::string, const char*>{
      {"running", "32"},   {"active", "32"},    {"healthy", "32"},   {"succeeded", "32"}, {"finished", "32"},
      {"staging", "33"},   {"starting", "33"},  {"pending", "33"},   {"waiting", "33"},   {"retrying", "33"},
      {"deploying", "33"}, {"scaling", "33"},   {"backoff", "33"},   {"killing", "33"},   {"preempted", "33"},
      {"draining", "33"},  {"drained", "33"},   {"disconnected", "33"},
      {"failed", "31"},    {"error", "31"},     {"lost", "31"},      {"gone", "31"},      {"unreachable", "31"},
      {"killed", "31"},    {"timed_out", "31"}, {"dropped", "31"},   {"deleting", "33"}};
  auto it = colours->find(cell);
  return it == colours->end() ? nullptr : it->second;
}

}  // namespace

TableStyle TerminalStyle() {
  TableStyle style;
  if (!::isatty(STDOUT_FILENO)) return style;
  const char* term = std::getenv("TERM");
  style.colour = std::getenv("NO_COLOR") == nullptr && !(term != nullptr && std::string(term) == "dumb");
  if (GetOutputFormat() == OutputFormat::kWide) return style;
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    style.width = size.ws_col;
  } else if (const char* columns = std::getenv("COLUMNS")) {
    style.width = static_cast<size_t>(std::max(0, std::atoi(columns)));
  }
  return style;
}

void Table::Print(std::ostream& out, const TableStyle& style) const {
  std::vector<size_t> widths(header_.size());
  for (size_t i = 0; i < header_.size(); ++i) widths[i] = header_[i].size();
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  // Too wide for the terminal: cut the widest column, again, down to kNarrowest.
  auto total = [&] { return std::accumulate(widths.begin(), widths.end(), size_t{0}) + 2 * (widths.size() - 1); };
  auto cuttable = [&](size_t i) { return !Whole(header_[i]) && widths[i] > kNarrowest; };
  while (style.width > 0 && !widths.empty() && total() > style.width) {
    auto widest = widths.end();
    for (size_t i = 0; i < widths.size(); ++i) {
      if (cuttable(i) && (widest == widths.end() || widths[i] > *widest)) widest = widths.begin() + i;
    }
    if (widest == widths.end()) break;
    *widest = std::max(kNarrowest, *widest - std::min(*widest - kNarrowest, total() - style.width));
  }
  auto print_row = [&](const std::vector<std::string>& row, bool header) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      std::string cell = i < row.size() ? row[i] : "";
      if (cell.size() > widths[i]) cell = cell.substr(0, widths[i] - 1) + "~";
      const size_t pad = widths[i] - cell.size();
      const char* colour = style.colour && !header ? ColourOf(cell) : nullptr;
      line += colour != nullptr ? "\033[" + std::string(colour) + "m" + cell + "\033[0m" : cell;
      if (i + 1 < widths.size()) line += std::string(pad + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  };
  // A table without column names (a key/value summary) prints no header.
  if (std::any_of(header_.begin(), header_.end(), [](const auto& h) { return !h.empty(); })) {
    print_row(header_, /*header=*/true);
  }
  for (const auto& row : rows_) print_row(row, /*header=*/false);
}

}  // namespace agora::tools
