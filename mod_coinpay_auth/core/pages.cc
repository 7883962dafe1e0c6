// Error pages: small, valid HTML5, no scripts, nothing from the request. Operators may replace
// them; whatever they supply is filled only with the module's own text, HTML-escaped.
#include "core/pages.h"

#include <memory>

#include "core/encoding.h"

namespace coinpay {
namespace {

constexpr std::array<std::string_view, kErrorKindCount> kKindNames = {
    "bad_request",    "login_expired",        "login_refused",       "login_unverified",
    "login_required", "provider_unavailable", "service_unavailable", "misconfigured",
    "logout_refused", "access_denied",
};

constexpr std::array<std::string_view, 6> kPlaceholders = {"status",    "title",     "message",
                                                           "link_href", "link_text", "kind"};

bool IsPlaceholder(std::string_view name) {
  for (std::string_view p : kPlaceholders) {
    if (p == name) {
      return true;
    }
  }
  return false;
}

// The escaped value of one placeholder (a known name: templates are checked when loaded).
std::string ValueOf(std::string_view name, const ErrorPageText& t) {
  if (name == "status") {
    return std::to_string(t.status);
  }
  if (name == "title") {
    return HtmlEscape(t.title);
  }
  if (name == "message") {
    return HtmlEscape(t.message);
  }
  if (name == "link_href") {
    return HtmlEscape(t.link_href);
  }
  if (name == "link_text") {
    return HtmlEscape(t.link_text);
  }
  return std::string(ErrorKindName(t.kind));
}

std::string Fill(std::string_view tmpl, const ErrorPageText& t) {
  std::string out;
  out.reserve(tmpl.size() + 256);
  size_t pos = 0;
  while (pos < tmpl.size()) {
    size_t open = tmpl.find("{{", pos);
    size_t close = open == std::string_view::npos ? open : tmpl.find("}}", open + 2);
    if (close == std::string_view::npos) {
      break;
    }
    std::string_view name = TrimSpaces(tmpl.substr(open + 2, close - open - 2));
    out.append(tmpl.substr(pos, open - pos));
    if (IsPlaceholder(name)) {
      out += ValueOf(name, t);
    } else {
      out.append(tmpl.substr(open, close + 2 - open));  // unreachable for checked templates
    }
    pos = close + 2;
  }
  if (pos < tmpl.size()) {
    out.append(tmpl.substr(pos));
  }
  return out;
}

}  // namespace

std::string_view ErrorKindName(ErrorKind kind) {
  auto i = static_cast<size_t>(kind);
  return i < kKindNames.size() ? kKindNames[i] : "unknown";
}

std::optional<ErrorKind> ErrorKindNamed(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) {
      return static_cast<ErrorKind>(i);
    }
  }
  return std::nullopt;
}

std::string ErrorKindNames() {
  std::string out;
  for (std::string_view name : kKindNames) {
    if (!out.empty()) {
      out += ", ";
    }
    out += name;
  }
  return out;
}

bool ErrorPages::Empty() const {
  if (!template_html.empty()) {
    return false;
  }
  for (const auto& page : pages) {
    if (!page.empty()) {
      return false;
    }
  }
  return true;
}

Action ErrorPage(ErrorKind kind, int status, std::string_view title, std::string_view message,
                 std::string_view link_href, std::string_view link_text) {
  auto text = std::make_shared<ErrorPageText>();
  text->kind = kind;
  text->status = status;
  text->title = title;
  text->message = message;
  text->link_href = link_href;
  text->link_text = link_text;
  Action a;
  a.status = status;
  a.headers.emplace_back("Cache-Control", "no-store");
  a.body = BuiltInErrorPage(*text);
  a.error_page = std::move(text);
  return a;
}

std::string BuiltInErrorPage(const ErrorPageText& text) {
  std::string t = HtmlEscape(text.title);
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + t +
         "</title></head>\n<body><h1>" + t + "</h1>\n<p>" + HtmlEscape(text.message) +
         "</p>\n<p><a href=\"" + HtmlEscape(text.link_href) + "\">" + HtmlEscape(text.link_text) +
         "</a></p></body></html>\n";
}

std::string RenderErrorPage(const ErrorPages& pages, const ErrorPageText& text) {
  auto i = static_cast<size_t>(text.kind);
  if (i < pages.pages.size() && !pages.pages[i].empty()) {
    return pages.pages[i];
  }
  if (!pages.template_html.empty()) {
    return Fill(pages.template_html, text);
  }
  return BuiltInErrorPage(text);
}

std::optional<std::string> CheckErrorTemplate(std::string_view html) {
  size_t pos = 0;
  while ((pos = html.find("{{", pos)) != std::string_view::npos) {
    size_t close = html.find("}}", pos + 2);
    if (close == std::string_view::npos) {
      return "has a {{ without a closing }}; write placeholders as {{title}}";
    }
    std::string_view name = TrimSpaces(html.substr(pos + 2, close - pos - 2));
    if (!IsPlaceholder(name)) {
      std::string shown(name.substr(0, 40));
      return "uses the unknown placeholder {{" + shown +
             "}}; the placeholders are {{status}}, {{title}}, {{message}}, {{link_href}}, "
             "{{link_text}} and {{kind}}";
    }
    pos = close + 2;
  }
  return std::nullopt;
}

std::optional<std::string> CheckErrorPage(std::string_view html) {
  size_t pos = 0;
  while ((pos = html.find("{{", pos)) != std::string_view::npos) {
    size_t close = html.find("}}", pos + 2);
    if (close == std::string_view::npos) {
      break;
    }
    std::string_view name = TrimSpaces(html.substr(pos + 2, close - pos - 2));
    if (IsPlaceholder(name)) {
      return "is served as it is, but uses the placeholder {{" + std::string(name) +
             "}}; placeholders are filled only in CoinpayErrorTemplate";
    }
    pos = close + 2;
  }
  return std::nullopt;
}

}  // namespace coinpay
