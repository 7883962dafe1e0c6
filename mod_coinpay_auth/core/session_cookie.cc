// The module's cookies. The session id is 32 random bytes, base64url without padding.
#include "core/session_cookie.h"

#include "core/encoding.h"

namespace coinpay {
namespace {
constexpr size_t kSessionIdChars = 43;
constexpr size_t kCookieStatePrefix = 16;
}  // namespace

CookieAttrs ModuleCookieAttrs(const SessionConfig& c, bool https) {
  CookieAttrs attrs;
  attrs.secure = c.secure_cookies || https;
  return attrs;
}

std::string SetSessionCookie(const SessionConfig& c, std::string_view session_id, bool https) {
  return SetCookieValue(c.cookie_name, session_id, ModuleCookieAttrs(c, https));
}

std::string DeleteSessionCookie(const SessionConfig& c, bool https) {
  return DeleteCookieValue(c.cookie_name, ModuleCookieAttrs(c, https));
}

void SessionIdList::push_back(std::string_view id) {
  if (more_.empty() && size_ < inline_.size()) {
    inline_[size_++] = id;
    return;
  }
  if (more_.empty()) {
    more_.assign(inline_.begin(), inline_.end());
  }
  more_.push_back(id);
  ++size_;
}

ModuleCookies FindModuleCookies(const SessionConfig& c, std::string_view header) {
  ModuleCookies found;
  ForEachCookie(header, [&](std::string_view name, std::string_view value) {
    if (name == c.cookie_name) {
      found.any_module = true;
      if (value.size() == kSessionIdChars && IsBase64Url(value)) {
        found.session_ids.push_back(value);
      }
    } else if (IsLoginCookie(c, name)) {
      found.any_module = true;
    } else {
      found.any_other = true;
    }
  });
  return found;
}

std::vector<std::string_view> SessionIdsIn(const SessionConfig& c, std::string_view header) {
  const ModuleCookies found = FindModuleCookies(c, header);
  return {found.session_ids.begin(), found.session_ids.end()};
}

std::string LoginCookieName(const SessionConfig& c, std::string_view state) {
  return c.login_cookie_prefix + std::string(state.substr(0, kCookieStatePrefix));
}

bool IsLoginCookie(const SessionConfig& c, std::string_view name) {
  return name.substr(0, c.login_cookie_prefix.size()) == c.login_cookie_prefix;
}

std::optional<std::string> WithoutModuleCookies(const SessionConfig& c, std::string_view header,
                                                const ModuleCookies* found) {
  if (found != nullptr && !found->any_module) {
    return std::nullopt;
  }
  if (found != nullptr && !found->any_other) {
    return std::string();
  }
  std::string kept;
  bool dropped = false;
  ForEachCookie(header, [&](std::string_view name, std::string_view value) {
    if (name == c.cookie_name || IsLoginCookie(c, name)) {
      dropped = true;
      return;
    }
    if (!kept.empty()) {
      kept += "; ";
    }
    kept.append(name).append("=").append(value);
  });
  if (!dropped) {
    return std::nullopt;
  }
  return kept;
}

}  // namespace coinpay
