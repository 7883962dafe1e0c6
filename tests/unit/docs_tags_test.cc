// Every log tag the documentation tells operators to look for is one the log-tag table explains,
// so a troubleshooting section cannot send anyone after a tag that does not exist.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace {

const std::filesystem::path kRoot = COINPAY_SOURCE_DIR;

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(DocsTags, EveryTagMentionedInTheDocsIsInTheLogTagTable) {
  std::string table = ReadFile(kRoot / "docs/log-tags.md");
  ASSERT_FALSE(table.empty());
  std::vector<std::filesystem::path> docs = {kRoot / "README.md"};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(kRoot / "docs")) {
    if (entry.path().extension() == ".md" && entry.path().filename() != "log-tags.md") {
      docs.push_back(entry.path());
    }
  }
  std::regex tag(R"(CPA\d{5})");
  int mentions = 0;
  for (const auto& doc : docs) {
    std::string text = ReadFile(doc);
    for (std::sregex_iterator it(text.begin(), text.end(), tag), end; it != end; ++it) {
      ++mentions;
      EXPECT_NE(table.find("| " + it->str() + " |"), std::string::npos)
          << it->str() << " is mentioned in " << doc.lexically_relative(kRoot)
          << " but has no row in docs/log-tags.md";
    }
  }
  EXPECT_GT(mentions, 30);  // troubleshooting.md and error-pages.md name dozens
}

TEST(DocsTags, TroubleshootingAndErrorPagesAreLinkedFromTheReadme) {
  std::string readme = ReadFile(kRoot / "README.md");
  EXPECT_NE(readme.find("(docs/troubleshooting.md)"), std::string::npos);
  EXPECT_NE(readme.find("(docs/error-pages.md)"), std::string::npos);
}

}  // namespace
