// Decides whether a URL we are asked to redirect to (return_to, post-logout) is safe: a
// same-origin absolute path, or an absolute URL whose origin is our own or allow-listed.
// Everything else — //evil, /\evil, tabs and CR/LF, http:evil, userinfo tricks — is refused.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coinpay {

// "https://host:port" (lower-cased scheme and host, default ports dropped), or nullopt when
// `url` is not an absolute http(s) URL with a plain host.
std::optional<std::string> OriginOf(std::string_view url);

// The URL to use, or nullopt when `candidate` is not safe.
std::optional<std::string> SafeRedirectTarget(std::string_view candidate,
                                              std::string_view own_origin,
                                              const std::vector<std::string>& allowed_origins);

}  // namespace coinpay
