// The only place that reads and writes request_rec fields on the core's behalf.
#include "httpd/request_adapter.h"

#include <apr_strings.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "core/identity.h"
#include "core/pages.h"
#include "core/proxy_origin.h"
#include "core/session_cookie.h"
#include "httpd/module.h"
#include "httpd/request_record.h"
#include "httpd/runtime.h"

namespace coinpay::httpd {
namespace {

// "Coinpay-Claim-Email", "COINPAY_CLAIM_email", "coinpay.claim.x" all normalise to
// "coinpay-claim-...".
// Runs on every request's every header, so it compares in place instead of building a copy.
char Normalized(char c) {
  if (c >= 'A' && c <= 'Z') {
    return static_cast<char>(c - 'A' + 'a');
  }
  return c == '_' || c == '.' ? '-' : c;
}

// True when `name`, normalised, starts with `prefix` (or equals it, when `whole`).
bool NormalizedMatch(const char* name, std::string_view prefix, bool whole) {
  size_t i = 0;
  for (; i < prefix.size(); ++i) {
    if (name[i] == '\0' || Normalized(name[i]) != prefix[i]) {
      return false;
    }
  }
  return !whole || name[i] == '\0';
}

bool IsIdentityHeader(const char* name) {
  // Every name below starts with c or r: most headers are out after one comparison, and the
  // common "coinpay-" is compared once (Cookie, Connection, Cache-Control stop there).
  char first = Normalized(name[0]);
  if (first == 'r') {
    return NormalizedMatch(name, "remote-user", true);
  }
  constexpr std::string_view kCoinpay = "coinpay-";
  if (first != 'c' || !NormalizedMatch(name, kCoinpay, false)) {
    return false;
  }
  const char* rest = name + kCoinpay.size();
  return NormalizedMatch(rest, "claim", false) || NormalizedMatch(rest, "access-token", false) ||
         NormalizedMatch(rest, "provider", true) || NormalizedMatch(rest, "issuer", true);
}

// A claim's variable or header name (core/identity.h has the rule), written straight into the
// request pool: once per claim per request where the identity does not carry it made already.
const char* PoolClaimName(apr_pool_t* pool, std::string_view prefix, std::string_view claim,
                          char other) {
  auto* out = static_cast<char*>(apr_palloc(pool, ClaimNameSize(prefix, claim)));
  AppendClaimName(out, prefix, claim, other);
  return out;
}

// A view of the identity as a C string: in place where it is one (the identity outlives the
// request: RememberClaims holds it), else copied into the pool.
const char* CString(request_rec* r, const Identity& id, std::string_view s) {
  return id.terminated ? s.data() : apr_pstrmemdup(r->pool, s.data(), s.size());
}

// Every line of a header joined with ", " (a repeated header means the same as one list).
std::string_view AllOf(request_rec* r, const char* name) {
  const char* v = apr_table_getm(r->pool, r->headers_in, name);
  return v != nullptr ? std::string_view(v) : std::string_view();
}

// The scheme and Host the browser used: the connection's, or what a CoinpayTrustedProxy
// peer says they were (core/proxy_origin.h has the rule). `v.host` holds the Host header.
void FillOrigin(request_rec* r, RequestView& v) {
  const char* scheme = ap_http_scheme(r);
  v.https = scheme != nullptr && std::string_view(scheme) == "https";
  const auto& trusted = ServerConfigOf(r->server).trusted_proxies.value;
  if (trusted.empty()) {
    return;
  }
  // The TCP peer (the connection's client_ip), not r->useragent_ip: mod_remoteip rewrites
  // that from X-Forwarded-For, which a client can write itself, so trusting it would let any
  // client whose forged X-Forwarded-For names a proxy address pass as that proxy.
  const char* peer = r->connection->client_ip != nullptr ? r->connection->client_ip : "";
  ProxyHeaders headers{AllOf(r, "Forwarded"), AllOf(r, "X-Forwarded-Proto"),
                       AllOf(r, "X-Forwarded-Host"), AllOf(r, "X-Forwarded-Port")};
  RequestOrigin o = EffectiveOrigin(peer, trusted, headers, v.https, v.host);
  if (!o.ignored.empty()) {
    // Info, not warn: the text may be a client's, passed on by the proxy; the request goes on
    // with the connection's own scheme and host.
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "CPA00311: ignored the proxy headers from trusted peer %s: %s", peer,
                  o.ignored.c_str());
  }
  if (o.from_proxy) {
    v.https = o.https;
    v.host = apr_pstrmemdup(r->pool, o.host.data(), o.host.size());
  }
}

// True when the header name `name` is `lower` (lowercase letters and '-') in any case. OR 0x20
// folds a letter to lowercase and leaves '-' as it is; of the bytes a header name may hold, no
// other folds onto a letter or '-', and its NUL onto neither.
bool NameIs(const char* name, std::string_view lower) {
  size_t i = 0;
  for (; i < lower.size(); ++i) {
    if ((name[i] | 0x20) != lower[i]) {
      return false;
    }
  }
  return name[i] == '\0';
}

// Which of the view's header fields `name` fills, if any. Runs for every header of every
// protected request: one switch on the first letter leaves most names after a comparison
// (no strlen, no libc call).
std::string_view* RequestViewField(RequestView& v, const char* name) {
  switch (name[0] | 0x20) {  // ASCII lowercase for letters (a name is never empty here)
    case 'h':
      return NameIs(name, "host") ? &v.host : nullptr;
    case 'c':
      return NameIs(name, "cookie") ? &v.cookie : nullptr;
    case 'a':
      return NameIs(name, "accept")          ? &v.accept
             : NameIs(name, "authorization") ? &v.authorization
                                             : nullptr;
    case 's':
      return NameIs(name, "sec-fetch-mode")   ? &v.sec_fetch_mode
             : NameIs(name, "sec-fetch-site") ? &v.sec_fetch_site
                                              : nullptr;
    case 'x':
      return NameIs(name, "x-requested-with") ? &v.x_requested_with : nullptr;
    default:
      return nullptr;
  }
}

// The claims of an identity whose strings are not C strings (a stored session's), copied into
// the request pool at once: the bytes they lie in (Identity::claims_block: names, values and
// length fields) in one piece, with a NUL written after each value over the length field that
// followed it, instead of one pool copy per value.
struct TerminatedCopy {
  const char* from = nullptr;  // where the copied bytes start in the identity
  const char* end = nullptr;
  char* to = nullptr;
  const char* CString(request_rec* r, const Identity& id, std::string_view s) const {
    if (id.terminated) {
      return s.data();
    }
    if (to != nullptr && s.data() >= from && s.data() + s.size() <= end) {
      return to + (s.data() - from);
    }
    return apr_pstrmemdup(r->pool, s.data(), s.size());
  }
};

TerminatedCopy TerminatedCopyOf(request_rec* r, const Identity& id) {
  TerminatedCopy copy;
  if (id.terminated || id.claims_block.empty()) {
    return copy;  // (a value outside the block is copied alone)
  }
  copy.from = id.claims_block.data();
  copy.end = copy.from + id.claims_block.size();
  const size_t size = id.claims_block.size();
  copy.to = static_cast<char*>(apr_palloc(r->pool, size + 1));
  std::memcpy(copy.to, copy.from, size);
  for (const Claim& c : id.claims) {
    if (c.value.data() >= copy.from && c.value.data() + c.value.size() <= copy.end) {
      copy.to[c.value.data() + c.value.size() - copy.from] = '\0';
    }
  }
  return copy;
}

}  // namespace

RequestView ViewOf(request_rec* r) {
  RequestView v;
  v.method = r->method != nullptr ? r->method : "";
  v.path = r->parsed_uri.path != nullptr ? r->parsed_uri.path : "";
  v.query = r->args != nullptr ? r->args : "";
  v.unparsed_uri = r->unparsed_uri != nullptr ? r->unparsed_uri : "";
  // One pass over the request's headers for the seven the core reads (each apr_table_get would
  // hash its name and scan them all); the first of a repeated header counts, as with
  // apr_table_get.
  const apr_array_header_t* all = apr_table_elts(r->headers_in);
  const auto* e = reinterpret_cast<const apr_table_entry_t*>(all->elts);
  for (int i = 0; i < all->nelts; ++i) {
    if (e[i].key == nullptr || e[i].val == nullptr) {
      continue;
    }
    std::string_view* field = RequestViewField(v, e[i].key);
    if (field != nullptr && field->data() == nullptr) {
      *field = e[i].val;
    }
  }
  FillOrigin(r, v);  // after the loop, which found the Host header
  return v;
}

std::string_view DPoPHeaderOf(request_rec* r) { return AllOf(r, "DPoP"); }

void WarnIfSignInLooksElsewhere(request_rec* r, const RequestView& view, const ProviderConfig& p) {
  auto warning = SignInOriginMismatch(view.https, view.host, p.redirect_origin);
  if (!warning) {
    return;
  }
  // Once per process, virtual host and redirect URI: every sign-in would repeat it, and
  // clients (who choose the Host header) must not be able to flood the log.
  static auto* mu = new std::mutex();
  static auto* warned = new std::set<std::pair<const server_rec*, std::string>>();
  {
    std::lock_guard<std::mutex> lock(*mu);
    if (!warned->emplace(r->server, p.redirect_origin).second) {
      return;
    }
  }
  ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "CPA00310: %s", warning->c_str());
}

int Respond(request_rec* r, const Action& a) {
  for (const auto& c : a.set_cookies) {
    apr_table_add(r->err_headers_out, "Set-Cookie", c.c_str());
  }
  for (const auto& [name, value] : a.headers) {
    // Several challenges (Bearer and DPoP where a location takes both) are each their own line.
    if (name == "WWW-Authenticate") {
      apr_table_add(r->err_headers_out, name.c_str(), value.c_str());
    } else {
      apr_table_set(r->err_headers_out, name.c_str(), value.c_str());
    }
  }
  if (a.status >= 300 && a.status < 400) {
    apr_table_set(r->headers_out, "Location", a.location.c_str());
    return a.status;
  }
  if (!a.body.empty()) {
    const VhostState* rt = VhostStateOf(r->server);
    std::string body = a.error_page != nullptr && rt != nullptr && !rt->error_pages.Empty()
                           ? RenderErrorPage(rt->error_pages, *a.error_page)
                           : a.body;
    // httpd takes a custom response that looks like a URL ("/x", "scheme:...") as a redirect
    // target; an operator's page might start so, and must stay a page.
    if (body[0] == '/' || ap_is_url(body.c_str()) != 0) {
      body = "\n" + body;
    }
    // Else httpd labels every error response iso-8859-1, over the pages' <meta charset="utf-8">.
    apr_table_setn(r->subprocess_env, "suppress-error-charset", "1");
    ap_custom_response(r, a.status, body.c_str());
    r->content_type = apr_pstrmemdup(r->pool, a.content_type.data(), a.content_type.size());
  }
  return a.status;
}

void ScrubIdentityHeaders(request_rec* r) {
  // Runs on every request: the names are collected (and the array made) only when one matches.
  const apr_array_header_t* all = apr_table_elts(r->headers_in);
  const auto* e = reinterpret_cast<const apr_table_entry_t*>(all->elts);
  apr_array_header_t* names = nullptr;
  for (int i = 0; i < all->nelts; ++i) {
    if (e[i].key != nullptr && IsIdentityHeader(e[i].key)) {
      if (names == nullptr) {
        names = apr_array_make(r->pool, 2, sizeof(const char*));
      }
      *static_cast<const char**>(apr_array_push(names)) = e[i].key;
    }
  }
  for (int i = 0; names != nullptr && i < names->nelts; ++i) {
    apr_table_unset(r->headers_in, APR_ARRAY_IDX(names, i, const char*));
  }
}

void StripModuleCookies(request_rec* r, const SessionConfig& c) {
  const char* header = apr_table_get(r->headers_in, "Cookie");
  if (header == nullptr) {
    return;
  }
  // The same header the authn hook read: what it found there decides without a second parse.
  const RequestRecord* seen = FindRequestRecord(r);
  const ModuleCookies* found =
      seen != nullptr && seen->cookie_header == header ? &seen->cookies : nullptr;
  auto kept = WithoutModuleCookies(c, header, found);
  if (!kept) {
    return;
  }
  if (kept->empty()) {
    apr_table_unset(r->headers_in, "Cookie");
  } else {
    apr_table_set(r->headers_in, "Cookie", kept->c_str());
  }
}

void ApplyIdentity(request_rec* r, const DirConfig& dir, const Identity& id) {
  const std::string& want = dir.remote_user_claim.value;
  std::string_view name = id.user;
  if (want != "sub") {
    for (const Claim& c : id.claims) {
      if (c.name == want) {
        name = c.value;
        break;
      }
    }
  }
  if (id.qualify_user) {
    r->user = apr_pstrcat(r->pool, apr_pstrmemdup(r->pool, name.data(), name.size()), "@",
                          CString(r, id, id.provider), nullptr);
  } else {
    // In place where the identity holds C strings (it outlives the request, as the claims the
    // tables point at below); httpd and its modules only read r->user.
    r->user = const_cast<char*>(CString(r, id, name));
  }
  r->ap_auth_type = const_cast<char*>("coinpay");
  PassClaims how = dir.pass_claims_as.value;
  bool env = how == PassClaims::kEnvironment || how == PassClaims::kBoth;
  bool headers = how == PassClaims::kHeaders || how == PassClaims::kBoth;
  // Which provider vouched: always, so an application never has to guess from REMOTE_USER.
  if (!id.provider.empty()) {
    const char* provider = CString(r, id, id.provider);
    const char* issuer = CString(r, id, id.issuer);
    if (env) {
      // Clients cannot set env variables: added as the claims below are, without a scan.
      apr_table_addn(r->subprocess_env, "COINPAY_PROVIDER", provider);
      apr_table_addn(r->subprocess_env, "COINPAY_ISSUER", issuer);
    }
    if (headers) {
      apr_table_setn(r->headers_in, "Coinpay-Provider", provider);
      apr_table_setn(r->headers_in, "Coinpay-Issuer", issuer);
    }
  }
  if (dir.pass_access_token.value && !id.access_token.empty()) {
    const char* token = CString(r, id, id.access_token);
    const char* expires = apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                       static_cast<apr_int64_t>(id.access_token_expires_at));
    if (env) {
      apr_table_setn(r->subprocess_env, "COINPAY_ACCESS_TOKEN", token);
      apr_table_setn(r->subprocess_env, "COINPAY_ACCESS_TOKEN_EXPIRES", expires);
    }
    if (headers) {
      apr_table_setn(r->headers_in, "Coinpay-Access-Token", token);
      apr_table_setn(r->headers_in, "Coinpay-Access-Token-Expires", expires);
    }
    // CoinpayDPoP sessions (docs/dpop.md): the token's type, and for a DPoP-bound token the
    // handle that gets proofs from SetHandler coinpay-dpop-proof.
    if (!id.access_token_type.empty()) {
      const char* type = id.access_token_type.data();  // static text ("DPoP" / "Bearer")
      if (env) {
        apr_table_setn(r->subprocess_env, "COINPAY_ACCESS_TOKEN_TYPE", type);
      }
      if (headers) {
        apr_table_setn(r->headers_in, "Coinpay-Access-Token-Type", type);
      }
    }
    if (!id.dpop_handle.empty()) {
      if (env) {
        apr_table_set(r->subprocess_env, "COINPAY_ACCESS_TOKEN_DPOP_HANDLE",
                      id.dpop_handle.c_str());
      }
      if (headers) {
        apr_table_set(r->headers_in, "Coinpay-Access-Token-Dpop-Handle", id.dpop_handle.c_str());
      }
    }
  }
  // addn / setn: the names and values are already the request's (pool copies, or the identity
  // RememberClaims holds), so the tables keep pointers instead of copying them again. Headers
  // are set (ScrubIdentityHeaders removed any client copy; setn replaces a duplicate name).
  const bool named =
      id.claim_variables.size() == id.claims.size() && id.claim_headers.size() == id.claims.size();
  if (named && id.terminated) {
    // A shared identity's (a session's or a cached token's): every name and value is a C
    // string in place, so each claim is one table call and nothing else.
    const size_t n = id.claims.size();
    const Claim* claims = id.claims.data();
    if (env) {
      const std::string_view* variables = id.claim_variables.data();
      for (size_t i = 0; i < n; ++i) {
        apr_table_addn(r->subprocess_env, variables[i].data(), claims[i].value.data());
      }
    }
    if (headers) {
      const std::string_view* names = id.claim_headers.data();
      for (size_t i = 0; i < n; ++i) {
        apr_table_setn(r->headers_in, names[i].data(), claims[i].value.data());
      }
    }
    return;
  }
  const TerminatedCopy values = TerminatedCopyOf(r, id);
  for (size_t i = 0; i < id.claims.size(); ++i) {
    const Claim& c = id.claims[i];
    const char* value = values.CString(r, id, c.value);
    if (env) {
      // Clients cannot set env variables, and each claim name appears once: no duplicate scan.
      apr_table_addn(r->subprocess_env,
                     named ? id.claim_variables[i].data()
                           : PoolClaimName(r->pool, kClaimVariablePrefix, c.name, '_'),
                     value);
    }
    if (headers) {
      apr_table_setn(r->headers_in,
                     named ? id.claim_headers[i].data()
                           : PoolClaimName(r->pool, kClaimHeaderPrefix, c.name, '-'),
                     value);
    }
  }
}

}  // namespace coinpay::httpd
