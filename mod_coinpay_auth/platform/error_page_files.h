// Reads the operator's error pages when the configuration is read (CoinpayErrorTemplate,
// CoinpayErrorPage), so a missing, unreadable, oversized or unusable file stops `apachectl -t`.
// Messages say what is wrong and what to write instead; the directive name is added by the glue.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace coinpay {

// The template's text, checked for unknown placeholders.
Result<std::string> ReadErrorTemplate(const std::string& path);

// Adds (kind, the page's text) to `pages`; refuses an unknown kind, a kind named twice and a
// page using template placeholders (it is served as it is).
Status AddErrorPageFile(std::string_view kind, const std::string& path,
                        std::vector<std::pair<std::string, std::string>>& pages);

}  // namespace coinpay
