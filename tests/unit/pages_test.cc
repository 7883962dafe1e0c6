// Error pages: the built-in page, the operator's template and per-kind pages, and every message
// that refuses an operator's file at configuration time.
#include "core/pages.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "platform/error_page_files.h"
#include "platform/small_file.h"

namespace coinpay {
namespace {

ErrorPageText Text(ErrorKind kind = ErrorKind::kLoginExpired) {
  ErrorPageText t;
  t.kind = kind;
  t.status = 400;
  t.title = "Sign-in did not complete";
  t.message = "Expired <b>& \"quoted\"</b> 'x'";
  t.link_href = "/start?a=1&b=\"2\"";
  t.link_text = "Start <again>";
  return t;
}

TEST(ErrorPages, EveryKindHasAStableNameThatMapsBack) {
  for (size_t i = 0; i < kErrorKindCount; ++i) {
    auto kind = static_cast<ErrorKind>(i);
    std::string_view name = ErrorKindName(kind);
    ASSERT_NE(name, "unknown");
    EXPECT_EQ(ErrorKindNamed(name), kind) << name;
    EXPECT_NE(ErrorKindNames().find(std::string(name)), std::string::npos);
  }
  EXPECT_EQ(ErrorKindName(ErrorKind::kLoginExpired), "login_expired");
  EXPECT_EQ(ErrorKindName(ErrorKind::kProviderUnavailable), "provider_unavailable");
  EXPECT_FALSE(ErrorKindNamed("Login_Expired"));
  EXPECT_FALSE(ErrorKindNamed(""));
}

TEST(ErrorPages, ErrorPageKeepsStatusNoStoreAndItsOwnTextForTheGlue) {
  Action a = ErrorPage(ErrorKind::kAccessDenied, 403, "Access denied", "Not for you.");
  EXPECT_EQ(a.status, 403);
  EXPECT_EQ(a.content_type, "text/html; charset=utf-8");
  ASSERT_EQ(a.headers.size(), 1u);
  EXPECT_EQ(a.headers[0], (std::pair<std::string, std::string>("Cache-Control", "no-store")));
  ASSERT_NE(a.error_page, nullptr);
  EXPECT_EQ(a.error_page->kind, ErrorKind::kAccessDenied);
  EXPECT_EQ(a.error_page->status, 403);
  EXPECT_EQ(a.error_page->title, "Access denied");
  EXPECT_EQ(a.error_page->message, "Not for you.");
  EXPECT_EQ(a.error_page->link_href, "/");
  EXPECT_EQ(a.error_page->link_text, "Home");
  EXPECT_EQ(a.body, BuiltInErrorPage(*a.error_page));
}

TEST(ErrorPages, BuiltInPageIsTodaysPlainPageWithEverythingEscaped) {
  std::string page = BuiltInErrorPage(Text());
  EXPECT_EQ(page,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in did "
            "not complete</title></head>\n<body><h1>Sign-in did not complete</h1>\n<p>Expired "
            "&lt;b&gt;&amp; &quot;quoted&quot;&lt;/b&gt; &#39;x&#39;</p>\n<p><a "
            "href=\"/start?a=1&amp;b=&quot;2&quot;\">Start &lt;again&gt;</a></p></body></html>\n");
}

TEST(ErrorPages, WithoutOperatorPagesTheBuiltInPageIsServed) {
  ErrorPages none;
  EXPECT_TRUE(none.Empty());
  EXPECT_EQ(RenderErrorPage(none, Text()), BuiltInErrorPage(Text()));
}

TEST(ErrorPages, TemplateGetsEveryPlaceholderHtmlEscaped) {
  ErrorPages pages;
  pages.template_html =
      "<p>{{status}}|{{title}}|{{message}}|{{link_href}}|{{link_text}}|{{kind}}|{{ title }}</p>";
  EXPECT_FALSE(pages.Empty());
  EXPECT_EQ(RenderErrorPage(pages, Text()),
            "<p>400|Sign-in did not complete|Expired &lt;b&gt;&amp; &quot;quoted&quot;&lt;/b&gt; "
            "&#39;x&#39;|/start?a=1&amp;b=&quot;2&quot;|Start &lt;again&gt;|login_expired|Sign-in "
            "did not complete</p>");
}

TEST(ErrorPages, TemplateTextAroundPlaceholdersIsKeptByteForByte) {
  ErrorPages pages;
  pages.template_html = "{ a } {b} }}{{kind}}{{kind}}\xc3\xa9 tail";
  EXPECT_EQ(RenderErrorPage(pages, Text(ErrorKind::kBadRequest)),
            "{ a } {b} }}bad_requestbad_request\xc3\xa9 tail");
  pages.template_html = "no placeholders at all";
  EXPECT_EQ(RenderErrorPage(pages, Text()), "no placeholders at all");
}

TEST(ErrorPages, PageForOneKindIsServedAsItIsAndOtherKindsUseTheTemplate) {
  ErrorPages pages;
  pages.template_html = "T:{{kind}}";
  pages.pages[static_cast<size_t>(ErrorKind::kLoginExpired)] = "<h1>Expired & {x}</h1>";
  EXPECT_EQ(RenderErrorPage(pages, Text(ErrorKind::kLoginExpired)), "<h1>Expired & {x}</h1>");
  EXPECT_EQ(RenderErrorPage(pages, Text(ErrorKind::kAccessDenied)), "T:access_denied");
}

TEST(ErrorPages, PageForOneKindWithoutTemplateLeavesOtherKindsBuiltIn) {
  ErrorPages pages;
  pages.pages[static_cast<size_t>(ErrorKind::kAccessDenied)] = "denied";
  EXPECT_EQ(RenderErrorPage(pages, Text(ErrorKind::kAccessDenied)), "denied");
  EXPECT_EQ(RenderErrorPage(pages, Text(ErrorKind::kLoginExpired)),
            BuiltInErrorPage(Text(ErrorKind::kLoginExpired)));
}

TEST(ErrorPages, TemplateCheckAcceptsKnownPlaceholdersOnly) {
  EXPECT_FALSE(CheckErrorTemplate("<p>{{status}} {{ title }} {{message}}</p>"));
  EXPECT_FALSE(CheckErrorTemplate("plain { braces }"));
  auto unknown = CheckErrorTemplate("<p>{{user}}</p>");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(*unknown,
            "uses the unknown placeholder {{user}}; the placeholders are {{status}}, {{title}}, "
            "{{message}}, {{link_href}}, {{link_text}} and {{kind}}");
  auto open = CheckErrorTemplate("<p>{{title</p>");
  ASSERT_TRUE(open);
  EXPECT_EQ(*open, "has a {{ without a closing }}; write placeholders as {{title}}");
}

TEST(ErrorPages, PageCheckRefusesTemplatePlaceholders) {
  EXPECT_FALSE(CheckErrorPage("<p>{{not_ours}} {x}</p>"));
  auto bad = CheckErrorPage("<p>{{message}}</p>");
  ASSERT_TRUE(bad);
  EXPECT_EQ(*bad,
            "is served as it is, but uses the placeholder {{message}}; placeholders are filled "
            "only in CoinpayErrorTemplate");
}

// Files for the configuration-time checks, removed with the test.
class ErrorPageFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("coinpay-pages-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(ErrorPageFilesTest, TemplateIsReadWhole) {
  std::string path = Write("t.html", "<p>{{title}}</p>\n");
  auto text = ReadErrorTemplate(path);
  ASSERT_TRUE(text) << text.error().detail;
  EXPECT_EQ(*text, "<p>{{title}}</p>\n");
}

TEST_F(ErrorPageFilesTest, MissingFileIsRefusedNamingItAndTheFix) {
  std::string path = (dir_ / "nope.html").string();
  auto text = ReadErrorTemplate(path);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, Errc::kConfig);
  EXPECT_EQ(text.error().detail,
            "cannot read " + path +
                " (No such file or directory): name an HTML file readable when httpd starts (a "
                "relative name is under ServerRoot)");
}

TEST_F(ErrorPageFilesTest, DirectoryIsRefused) {
  auto text = ReadErrorTemplate(dir_.string());
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().detail, dir_.string() + " is not a regular file: name an HTML file");
}

TEST_F(ErrorPageFilesTest, FileOver64KiBIsRefusedAndOneOf64KiBIsRead) {
  std::string big = Write("big.html", std::string(kMaxSmallFileBytes + 1, 'x'));
  auto text = ReadErrorTemplate(big);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().detail, big +
                                     " is larger than 64 KiB: an error page must be one small "
                                     "file (link its images and styles instead of inlining them)");
  std::string fits = Write("fits.html", std::string(kMaxSmallFileBytes, 'x'));
  auto ok = ReadErrorTemplate(fits);
  ASSERT_TRUE(ok) << ok.error().detail;
  EXPECT_EQ(ok->size(), kMaxSmallFileBytes);
}

TEST_F(ErrorPageFilesTest, EmptyFileIsRefused) {
  std::string path = Write("empty.html", "");
  auto text = ReadErrorTemplate(path);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().detail, path + " is empty: write the page into it, or remove the line");
}

TEST_F(ErrorPageFilesTest, TemplateWithUnknownPlaceholderIsRefusedNamingTheFile) {
  std::string path = Write("t.html", "<p>{{user}}</p>");
  auto text = ReadErrorTemplate(path);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().detail, path + " " + *CheckErrorTemplate("{{user}}"));
}

TEST_F(ErrorPageFilesTest, PagesAreAddedPerKind) {
  std::vector<std::pair<std::string, std::string>> pages;
  ASSERT_TRUE(AddErrorPageFile("login_expired", Write("a.html", "A"), pages));
  ASSERT_TRUE(AddErrorPageFile("access_denied", Write("b.html", "B"), pages));
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[0], (std::pair<std::string, std::string>("login_expired", "A")));
  EXPECT_EQ(pages[1], (std::pair<std::string, std::string>("access_denied", "B")));
}

TEST_F(ErrorPageFilesTest, UnknownKindIsRefusedListingTheKinds) {
  std::vector<std::pair<std::string, std::string>> pages;
  auto st = AddErrorPageFile("expired", Write("a.html", "A"), pages);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().detail,
            "does not know the error kind \"expired\"; write one of bad_request, login_expired, "
            "login_refused, login_unverified, login_required, provider_unavailable, "
            "service_unavailable, misconfigured, logout_refused, access_denied");
  EXPECT_TRUE(pages.empty());
}

TEST_F(ErrorPageFilesTest, KindNamedTwiceIsRefused) {
  std::vector<std::pair<std::string, std::string>> pages;
  ASSERT_TRUE(AddErrorPageFile("login_expired", Write("a.html", "A"), pages));
  auto st = AddErrorPageFile("login_expired", Write("b.html", "B"), pages);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().detail, "names login_expired twice; keep one line per error kind");
  EXPECT_EQ(pages.size(), 1u);
}

TEST_F(ErrorPageFilesTest, PageWithTemplatePlaceholderIsRefused) {
  std::vector<std::pair<std::string, std::string>> pages;
  std::string path = Write("a.html", "<p>{{title}}</p>");
  auto st = AddErrorPageFile("login_expired", path, pages);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().detail, path + " " + *CheckErrorPage("{{title}}"));
}

TEST_F(ErrorPageFilesTest, PageFileErrorsAreTheTemplatesOnes) {
  std::vector<std::pair<std::string, std::string>> pages;
  std::string path = (dir_ / "nope.html").string();
  auto st = AddErrorPageFile("login_expired", path, pages);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().detail, ReadErrorTemplate(path).error().detail);
}

}  // namespace
}  // namespace coinpay
