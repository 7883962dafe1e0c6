// Require coinpay-scope / coinpay-claim: parsing the Require arguments once, then matching the
// claims of each request.
#include "core/claim_rules.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <vector>

namespace coinpay {
namespace {

Json ClaimsOf(std::string_view text) {
  auto j = Json::Parse(text);
  EXPECT_TRUE(j.ok()) << text;
  return j.ok() ? *j : Json();
}

ScopeRule Scopes(std::string_view args) {
  auto r = ScopeRule::Parse(args);
  EXPECT_TRUE(r.ok()) << args;
  return r.ok() ? *r : *ScopeRule::Parse("unreachable");
}

ClaimRule Claim(std::string_view args) {
  auto r = ClaimRule::Parse(args);
  EXPECT_TRUE(r.ok()) << args;
  return r.ok() ? *r : *ClaimRule::Parse("never:matches-anything-here");
}

// --- ScopesOf ---------------------------------------------------------------------------------

TEST(ScopesOf, SplitsTheSpaceSeparatedScopeString) {
  EXPECT_EQ(ScopesOf(ClaimsOf(R"({"scope":"openid  read:documents\tprofile "})")),
            (std::vector<std::string>{"openid", "read:documents", "profile"}));
}

TEST(ScopesOf, ReadsAnScpArrayAndSkipsNonStrings) {
  EXPECT_EQ(ScopesOf(ClaimsOf(R"({"scp":["read:documents",7,"write",null]})")),
            (std::vector<std::string>{"read:documents", "write"}));
}

TEST(ScopesOf, ReadsAnScpString) {
  EXPECT_EQ(ScopesOf(ClaimsOf(R"({"scp":"a b"})")), (std::vector<std::string>{"a", "b"}));
}

TEST(ScopesOf, NoScopeClaimsMeansNoScopes) {
  EXPECT_TRUE(ScopesOf(ClaimsOf(R"({"sub":"x"})")).empty());
  EXPECT_TRUE(ScopesOf(ClaimsOf(R"({"scope":42})")).empty());
}

// --- ScopeRule --------------------------------------------------------------------------------

TEST(ScopeRule, EmptyOrBlankArgumentsAreAConfigError) {
  for (std::string_view args : {"", "   ", "\t"}) {
    auto r = ScopeRule::Parse(args);
    ASSERT_FALSE(r.ok()) << "'" << args << "'";
    EXPECT_EQ(r.code(), Errc::kConfig);
    EXPECT_NE(r.error().detail.find("coinpay-scope"), std::string::npos);
  }
}

TEST(ScopeRule, SingleScopeInTheScopeString) {
  ScopeRule rule = Scopes("read:documents");
  EXPECT_TRUE(rule.SatisfiedBy(ClaimsOf(R"({"scope":"openid read:documents"})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"scope":"openid write:documents"})")));
}

TEST(ScopeRule, SingleScopeInTheScpArray) {
  ScopeRule rule = Scopes("read:documents");
  EXPECT_TRUE(rule.SatisfiedBy(ClaimsOf(R"({"scp":["read:documents"]})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"scp":["write:documents"]})")));
}

TEST(ScopeRule, EveryListedScopeIsRequired) {
  ScopeRule rule = Scopes("read:documents  profile");
  EXPECT_TRUE(rule.SatisfiedBy(ClaimsOf(R"({"scope":"profile openid read:documents"})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"scope":"read:documents"})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"scope":"profile"})")));
  EXPECT_TRUE(rule.SatisfiedBy(ClaimsOf(R"({"scp":["profile","read:documents"]})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"scp":["profile"]})")));
}

TEST(ScopeRule, ScopesMatchWholeWordsOnly) {
  ScopeRule rule = Scopes("read");
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"scope":"read:documents reader"})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"scope":"READ"})")));
  // Found inside other words first, then whole.
  EXPECT_TRUE(rule.SatisfiedBy(ClaimsOf(R"({"scope":"reader xread read:x read"})")));
  EXPECT_TRUE(rule.SatisfiedBy(ClaimsOf(R"({"scope":"readread\tread"})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"scope":"readread rea"})")));
}

// The scope string is matched in place; it must decide as the listed scopes (ScopesOf) do,
// whatever the spacing.
TEST(ScopeRule, InPlaceMatchAgreesWithTheListedScopes) {
  const char* texts[] = {"", " ", "a", "a b", "  a\\tb  ", "ab", "a\\t\\tb c", "b a", "\\ta"};
  for (const char* text : texts) {
    Json claims = ClaimsOf(std::string(R"({"scope":")") + text + "\"}");
    auto have = ScopesOf(claims);
    for (const char* want : {"a", "b", "a b", "c a"}) {
      ScopeRule rule = Scopes(want);
      bool listed = true;
      for (const std::string& s : ScopesOf(ClaimsOf(std::string(R"({"scope":")") + want + "\"}"))) {
        listed = listed && std::find(have.begin(), have.end(), s) != have.end();
      }
      EXPECT_EQ(rule.SatisfiedBy(claims), listed) << text << " / " << want;
    }
  }
}

TEST(ScopeRule, TokenWithoutScopesSatisfiesNothing) {
  EXPECT_FALSE(Scopes("openid").SatisfiedBy(ClaimsOf(R"({"sub":"x"})")));
  EXPECT_FALSE(Scopes("openid").SatisfiedBy(ClaimsOf(R"({"scope":""})")));
}

TEST(ScopeRule, JoinedListsTheScopesWithSingleSpaces) {
  EXPECT_EQ(Scopes("  a\tb   c ").Joined(), "a b c");
  EXPECT_EQ(Scopes("only").Joined(), "only");
}

// --- ClaimRule --------------------------------------------------------------------------------

TEST(ClaimRule, ParseErrorsAreConfigErrors) {
  for (std::string_view args : {"", "email_verified", ":true", "a:b c:d", "a:b extra", "   "}) {
    auto r = ClaimRule::Parse(args);
    ASSERT_FALSE(r.ok()) << "'" << args << "'";
    EXPECT_EQ(r.code(), Errc::kConfig);
    EXPECT_NE(r.error().detail.find("coinpay-claim"), std::string::npos);
  }
}

TEST(ClaimRule, StringClaimMatchesOnlyTheExactValue) {
  ClaimRule rule = Claim("email:alice@example.com");
  EXPECT_TRUE(rule.SatisfiedBy(ClaimsOf(R"({"email":"alice@example.com"})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"email":"Alice@example.com"})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"email":"alice@example.com.evil"})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"mail":"alice@example.com"})")));
}

TEST(ClaimRule, ValueMayItselfContainColons) {
  ClaimRule rule = Claim("website:https://example.com:8443/x");
  EXPECT_TRUE(rule.SatisfiedBy(ClaimsOf(R"({"website":"https://example.com:8443/x"})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"website":"https"})")));
}

TEST(ClaimRule, IntegerClaimMatchesItsPrintedForm) {
  ClaimRule rule = Claim("level:3");
  EXPECT_TRUE(rule.SatisfiedBy(ClaimsOf(R"({"level":3})")));
  EXPECT_TRUE(rule.SatisfiedBy(ClaimsOf(R"({"level":"3"})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"level":4})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"level":30})")));
  EXPECT_TRUE(Claim("delta:-2").SatisfiedBy(ClaimsOf(R"({"delta":-2})")));
}

TEST(ClaimRule, BooleanClaimMatchesTrueOrFalse) {
  EXPECT_TRUE(Claim("email_verified:true").SatisfiedBy(ClaimsOf(R"({"email_verified":true})")));
  EXPECT_FALSE(Claim("email_verified:true").SatisfiedBy(ClaimsOf(R"({"email_verified":false})")));
  EXPECT_TRUE(Claim("email_verified:false").SatisfiedBy(ClaimsOf(R"({"email_verified":false})")));
  EXPECT_FALSE(Claim("email_verified:True").SatisfiedBy(ClaimsOf(R"({"email_verified":true})")));
  EXPECT_FALSE(Claim("email_verified:1").SatisfiedBy(ClaimsOf(R"({"email_verified":true})")));
}

TEST(ClaimRule, NullObjectsAndAbsentClaimsNeverMatch) {
  EXPECT_FALSE(Claim("x:null").SatisfiedBy(ClaimsOf(R"({"x":null})")));
  EXPECT_FALSE(Claim("x:{}").SatisfiedBy(ClaimsOf(R"({"x":{}})")));
  EXPECT_FALSE(Claim("x:").SatisfiedBy(ClaimsOf(R"({"y":""})")));
}

TEST(ClaimRule, EmptyValueMatchesAnEmptyString) {
  EXPECT_TRUE(Claim("nickname:").SatisfiedBy(ClaimsOf(R"({"nickname":""})")));
  EXPECT_FALSE(Claim("nickname:").SatisfiedBy(ClaimsOf(R"({"nickname":"bob"})")));
}

TEST(ClaimRule, ArrayClaimMatchesWhenAnyElementMatches) {
  ClaimRule rule = Claim("groups:admins");
  EXPECT_TRUE(rule.SatisfiedBy(ClaimsOf(R"({"groups":["users","admins"]})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"groups":["users","admins-readonly"]})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"groups":[]})")));
  EXPECT_TRUE(Claim("ids:7").SatisfiedBy(ClaimsOf(R"({"ids":[1,7]})")));
  // Arrays are searched one level deep only.
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"groups":[["admins"]]})")));
}

TEST(ClaimRule, NestedPathReachesIntoObjects) {
  ClaimRule rule = Claim("realm_access.roles:admin");
  EXPECT_TRUE(rule.SatisfiedBy(ClaimsOf(R"({"realm_access":{"roles":["user","admin"]}})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"realm_access":{"roles":["user"]}})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"realm_access":["admin"]})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"realm_access.roles":["admin"]})")));
  EXPECT_FALSE(rule.SatisfiedBy(ClaimsOf(R"({"roles":["admin"]})")));
  EXPECT_TRUE(Claim("a.b.c:deep").SatisfiedBy(ClaimsOf(R"({"a":{"b":{"c":"deep"}}})")));
  EXPECT_FALSE(Claim("a.b.c:deep").SatisfiedBy(ClaimsOf(R"({"a":{"b":"deep"}})")));
}

}  // namespace
}  // namespace coinpay
