// Log lines cannot be split or flooded by text from a request or a token.
#include "core/log.h"

#include <gtest/gtest.h>

#include <string>

#include "core/encoding.h"
#include "core/jose.h"
#include "fakes.h"

namespace coinpay {
namespace {

TEST(Untrusted, KeepsPrintableAscii) {
  EXPECT_EQ(Untrusted("RS256 user-42@example.com"), "RS256 user-42@example.com");
  EXPECT_EQ(Untrusted(""), "");
}

TEST(Untrusted, EscapesControlBytesBackslashAndNonAscii) {
  EXPECT_EQ(Untrusted(std::string("a\r\nb\0c\x7f", 7)), "a\\x0d\\x0ab\\x00c\\x7f");
  EXPECT_EQ(Untrusted("\\x0a"), "\\x5cx0a");  // an escape in the input cannot pass for ours
  EXPECT_EQ(Untrusted("\xc3\xa9t\xc3\xa9"), "\\xc3\\xa9t\\xc3\\xa9");
}

TEST(Untrusted, CutsPastMax) {
  std::string longer(100, 'a');
  EXPECT_EQ(Untrusted(longer), std::string(64, 'a') + "...");
  EXPECT_EQ(Untrusted(longer, 100), longer);
  EXPECT_EQ(Untrusted("abcdef", 3), "abc...");
  EXPECT_EQ(Untrusted("\n\n\n\n", 2), "\\x0a\\x0a...");
  EXPECT_EQ(Untrusted("abc", 0), "...");
}

TEST(LogAt, PassesCleanMessagesUnchanged) {
  testing::CollectingLogSink sink;
  LogAt(sink, LogLevel::kInfo, 1, "signed out sub=user-42");
  auto lines = sink.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(std::get<2>(lines[0]), "signed out sub=user-42");
}

TEST(LogAt, NoMessageCanSplitALine) {
  testing::CollectingLogSink sink;
  constexpr char kMessage[] = "x\r\nCPA00133: signed in sub=admin\0\x1b[31m";
  LogAt(sink, LogLevel::kInfo, 1, std::string_view(kMessage, sizeof(kMessage) - 1));
  auto lines = sink.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(std::get<2>(lines[0]), "x\\x0d\\x0aCPA00133: signed in sub=admin\\x00\\x1b[31m");
}

TEST(LogAt, AnAlgFromATokenReachesTheMessageEscapedAndCut) {
  auto jwks = Jwks::Parse(R"({"keys":[]})");
  ASSERT_TRUE(jwks.ok());
  std::string header = R"({"alg":")" + std::string("RS256\\nCPA00133: signed in sub=admin") +
                       std::string(200, 'A') + R"("})";
  std::string compact = Base64UrlEncode(header) + "." + Base64UrlEncode("{}") + ".c2ln";
  auto verified = VerifyJws(compact, **jwks, {"RS256"});
  ASSERT_EQ(verified.code(), Errc::kAlgNotAllowed);
  const std::string& detail = verified.error().detail;
  EXPECT_EQ(detail.find('\n'), std::string::npos);
  EXPECT_NE(detail.find("RS256\\x0aCPA00133"), std::string::npos) << detail;
  EXPECT_LT(detail.size(), 100u);
  EXPECT_NE(detail.find("..."), std::string::npos);
}

}  // namespace
}  // namespace coinpay
