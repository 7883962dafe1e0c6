// Error pages: small, valid HTML5, no scripts, nothing from the request.
#include "core/pages.h"

#include "core/encoding.h"

namespace coinpay {

Action ErrorPage(int status, std::string_view title, std::string_view message,
                 std::string_view link_href, std::string_view link_text) {
  Action a;
  a.status = status;
  a.headers.emplace_back("Cache-Control", "no-store");
  std::string t = HtmlEscape(title);
  a.body = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + t +
           "</title></head>\n<body><h1>" + t + "</h1>\n<p>" + HtmlEscape(message) +
           "</p>\n<p><a href=\"" + HtmlEscape(link_href) + "\">" + HtmlEscape(link_text) +
           "</a></p></body></html>\n";
  return a;
}

}  // namespace coinpay
