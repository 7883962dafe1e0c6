// The documentation keeps up with the code: every directive row and every log tag is documented.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <filesystem>

namespace {

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::filesystem::path kRoot = COINPAY_SOURCE_DIR;

TEST(Docs, EveryDirectiveRowIsDocumented) {
  std::string def = ReadFile(kRoot / "mod_coinpay_auth/core/directives.def");
  std::string doc = ReadFile(kRoot / "docs/directives.md");
  std::regex row(R"(\nCOINPAY_(?:SERVER|DIR)\((\w+),)");  // rows, not the comment above them
  int rows = 0;
  for (std::sregex_iterator it(def.begin(), def.end(), row), end; it != end; ++it) {
    ++rows;
    std::string name = (*it)[1];
    EXPECT_NE(doc.find("### " + name + "\n"), std::string::npos)
        << name << " has no section in docs/directives.md";
  }
  EXPECT_GT(rows, 20);
}

TEST(Docs, EveryLogTagIsDocumentedAndUsedOnce) {
  std::string doc = ReadFile(kRoot / "docs/log-tags.md");
  std::regex call(
      R"((?:LogAt\([^,]+, LogLevel::k\w+, |Guarded\([\w>-]+, |NotConfigured\(r, )(\d+)|CPA(\d{5}))");
  std::set<int> seen;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(kRoot / "mod_coinpay_auth")) {
    if (entry.path().extension() != ".cc") {
      continue;
    }
    std::string src = ReadFile(entry.path());
    for (std::sregex_iterator it(src.begin(), src.end(), call), end; it != end; ++it) {
      int tag = std::stoi((*it)[1].matched ? (*it)[1].str() : (*it)[2].str());
      EXPECT_TRUE(seen.insert(tag).second)
          << "tag " << tag << " used twice (" << entry.path() << ")";
      char name[16];
      snprintf(name, sizeof(name), "CPA%05d", tag);
      EXPECT_NE(doc.find(std::string("| ") + name + " |"), std::string::npos)
          << name << " is not in docs/log-tags.md";
    }
  }
  EXPECT_GT(seen.size(), 20u);
}

}  // namespace
