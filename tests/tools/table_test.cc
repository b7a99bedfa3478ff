#include "tools/table.h"

#include <sstream>

#include <gtest/gtest.h>

namespace agora::tools {
namespace {

Table Sample() {
  Table t({"ID", "STATE", "MESSAGE"});
  t.AddRow({"web.v1.a", "running", "all good"});
  t.AddRow({"web.v1.b", "failed", "exited with status 3 after a very long explanation of why"});
  return t;
}

std::string Render(const Table& t, TableStyle style) {
  std::ostringstream out;
  t.Print(out, style);
  return out.str();
}

TEST(TableTest, PipedItIsPlainAndWhole) {
  const std::string text = Render(Sample(), {});
  EXPECT_NE(text.find("exited with status 3 after a very long explanation of why"), std::string::npos);
  EXPECT_EQ(text.find("\033["), std::string::npos);
  EXPECT_EQ(text.substr(0, text.find('\n')), "ID        STATE    MESSAGE");
}

TEST(TableTest, OnATerminalItFitsTheWidthCuttingTheWidestColumn) {
  const std::string text = Render(Sample(), {.width = 40});
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 40u) << line;
  EXPECT_NE(text.find("exited with status 3~"), std::string::npos) << text;
  EXPECT_NE(text.find("web.v1.b"), std::string::npos);  // narrow columns are whole
}

TEST(TableTest, StatesAreColouredWithoutBreakingTheColumns) {
  const std::string text = Render(Sample(), {.colour = true});
  EXPECT_NE(text.find("\033[32mrunning\033[0m  all good"), std::string::npos) << text;
  EXPECT_NE(text.find("\033[31mfailed\033[0m   exited"), std::string::npos) << text;
  EXPECT_EQ(text.find("\033[32mSTATE"), std::string::npos);  // not the header
}

}  // namespace
}  // namespace agora::tools
