// The short pages users see when something goes wrong. Each has a kind an operator can name to
// replace it (CoinpayErrorPage) or restyle all of them (CoinpayErrorTemplate); the built-in
// pages are the default. Only the module's own text is ever put into a page: no input is echoed.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/action.h"

namespace coinpay {

// Every error a user can see, by what happened (the operator's view; see docs/error-pages.md).
enum class ErrorKind {
  kBadRequest,           // a malformed sign-in link or callback (400)
  kLoginExpired,         // the sign-in attempt expired, was replayed or started elsewhere (400)
  kLoginRefused,         // the provider returned an error: the user cancelled or was refused (403)
  kLoginUnverified,      // the provider's answer did not pass the checks (401)
  kLoginRequired,        // no session, and the request is not a page navigation (401)
  kProviderUnavailable,  // the provider cannot be reached or answers with errors (502, 503)
  kServiceUnavailable,   // this server cannot sign in or check sessions right now (503)
  kMisconfigured,        // the configuration cannot serve this location (500)
  kLogoutRefused,        // a sign-out POST without this site's confirmation token (403)
  kAccessDenied,         // signed in, but a Require coinpay-claim/-scope line says no (403)
};
inline constexpr size_t kErrorKindCount = 10;

std::string_view ErrorKindName(ErrorKind kind);
std::optional<ErrorKind> ErrorKindNamed(std::string_view name);
// "bad_request, login_expired, ..." for messages that list them.
std::string ErrorKindNames();

// What one error page says: all of it the module's own text.
struct ErrorPageText {
  ErrorKind kind = ErrorKind::kBadRequest;
  int status = 500;
  std::string title;
  std::string message;
  std::string link_href;
  std::string link_text;
};

// The operator's replacements, read from files by the glue at configuration time.
struct ErrorPages {
  std::string template_html;                         // "": the built-in layout
  std::array<std::string, kErrorKindCount> pages{};  // "": not replaced
  bool Empty() const;
};

// A complete response: status, the built-in page, Cache-Control: no-store, and the page's text
// (Action::error_page) so the glue can serve the operator's page instead.
Action ErrorPage(ErrorKind kind, int status, std::string_view title, std::string_view message,
                 std::string_view link_href = "/", std::string_view link_text = "Home");

// The built-in page for `text`.
std::string BuiltInErrorPage(const ErrorPageText& text);

// The page to serve: the operator's page for this kind as it is, else the operator's template
// with its placeholders replaced by HTML-escaped values, else the built-in page.
std::string RenderErrorPage(const ErrorPages& pages, const ErrorPageText& text);

// Why an operator's template cannot be used (an unknown or unterminated placeholder), or
// nullopt when it is fine. Placeholders: {{status}} {{title}} {{message}} {{link_href}}
// {{link_text}} {{kind}}.
std::optional<std::string> CheckErrorTemplate(std::string_view html);

// Why an operator's page for one kind cannot be served as it is (it uses template
// placeholders, which are not replaced there), or nullopt when it is fine.
std::optional<std::string> CheckErrorPage(std::string_view html);

}  // namespace coinpay
