// The module's cookies in a request's Cookie header: found once, then stripped with what was
// found (the authn hook finds them, the fixups hook strips them) exactly as a fresh parse would.
#include "core/session_cookie.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace coinpay {
namespace {

const std::string kId(43, 'A');
const std::string kOtherId =
    std::string(42, 'B') + "A";  // canonical: the last character carries 4 bits

TEST(FindModuleCookies, FindsEverySessionIdShapedValueInOrder) {
  SessionConfig c;
  // The header outlives what is found in it: the ids are views into it.
  const std::string header =
      "a=1; coinpay_session=" + kId + "; coinpay_session=short; coinpay_session=" + kOtherId;
  ModuleCookies found = FindModuleCookies(c, header);
  ASSERT_EQ(found.session_ids.size(), 2u);
  EXPECT_EQ(found.session_ids[0], kId);
  EXPECT_EQ(found.session_ids[1], kOtherId);
  EXPECT_TRUE(found.any_module);
  EXPECT_TRUE(found.any_other);
  const std::string one = "coinpay_session=" + kId;
  EXPECT_EQ(SessionIdsIn(c, one), std::vector<std::string_view>{kId});
}

TEST(FindModuleCookies, KeepsEveryIdInOrderBeyondTheTwoHeldInline) {
  SessionConfig c;
  std::vector<std::string> ids;
  std::string header = "a=1";
  for (char ch : {'C', 'D', 'E', 'F', 'G'}) {
    ids.push_back(std::string(42, ch) + "A");
    header += "; coinpay_session=" + ids.back();
  }
  ModuleCookies found = FindModuleCookies(c, header);
  ModuleCookies copy = found;  // as the request record keeps it
  for (const ModuleCookies* m : {&found, &copy}) {
    ASSERT_EQ(m->session_ids.size(), ids.size());
    ASSERT_EQ(m->session_ids.span().size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      EXPECT_EQ(m->session_ids[i], ids[i]) << i;
      EXPECT_EQ(m->session_ids.span()[i], ids[i]) << i;
    }
  }
  EXPECT_EQ(SessionIdsIn(c, header).size(), ids.size());
}

TEST(FindModuleCookies, TellsModuleCookiesFromOthers) {
  SessionConfig c;
  ModuleCookies none = FindModuleCookies(c, "a=1; b=2");
  EXPECT_FALSE(none.any_module);
  EXPECT_TRUE(none.any_other);
  ModuleCookies login_only = FindModuleCookies(c, "coinpay_login_abc=x");
  EXPECT_TRUE(login_only.any_module);
  EXPECT_FALSE(login_only.any_other);
  EXPECT_TRUE(login_only.session_ids.empty());
  ModuleCookies empty = FindModuleCookies(c, "");
  EXPECT_FALSE(empty.any_module || empty.any_other);
}

// Stripping with what FindModuleCookies found gives what a fresh parse of the header gives.
TEST(WithoutModuleCookies, WithWhatWasFoundIsTheSameAsAFreshParse) {
  SessionConfig c;
  for (const std::string& header : std::vector<std::string>{
           "a=1; b=2", "coinpay_session=" + kId, "coinpay_login_xyz=s; coinpay_session=x",
           "a=1; coinpay_session=" + kId + "; b=\"2\"", "coinpay_login_q=1;  c = 3 ;junk", "",
           "coinpay_session=" + kId + "; junk-without-equals"}) {
    ModuleCookies found = FindModuleCookies(c, header);
    EXPECT_EQ(WithoutModuleCookies(c, header, &found), WithoutModuleCookies(c, header)) << header;
  }
  EXPECT_EQ(WithoutModuleCookies(c, "a=1; b=2"), std::nullopt);
  EXPECT_EQ(WithoutModuleCookies(c, "coinpay_session=" + kId), std::string());
  EXPECT_EQ(WithoutModuleCookies(c, "a=1; coinpay_session=" + kId + "; b=2"), "a=1; b=2");
}

}  // namespace
}  // namespace coinpay
