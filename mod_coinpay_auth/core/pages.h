// The short pages users see when something goes wrong. Fixed text only: no input is echoed.
#pragma once

#include <string>
#include <string_view>

#include "coinpay_auth/action.h"

namespace coinpay {

// A complete response: status, a short HTML page with `title` and `message` (both our own
// text, escaped anyway), and Cache-Control: no-store.
Action ErrorPage(int status, std::string_view title, std::string_view message,
                 std::string_view link_href = "/", std::string_view link_text = "Home");

}  // namespace coinpay
