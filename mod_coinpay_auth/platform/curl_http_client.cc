// libcurl behind HttpClient. Error details name the method, the URL without its query and the
// libcurl reason, never a request body or header: those carry client secrets and codes.
#include "platform/curl_http_client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cctype>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>

namespace coinpay {
namespace {

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using HeaderSlist = std::unique_ptr<curl_slist, SlistDeleter>;

struct BodySink {
  std::string* body;
  size_t max_bytes;
  bool too_large = false;
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* sink = static_cast<BodySink*>(userdata);
  size_t n = size * nmemb;
  if (sink->body->size() + n > sink->max_bytes) {
    sink->too_large = true;
    return 0;  // makes libcurl abort the transfer with CURLE_WRITE_ERROR
  }
  sink->body->append(data, n);
  return n;
}

// scheme://host[:port]/path: a query string may hold a token or a code, userinfo a password.
std::string RedactedUrl(std::string_view url) {
  size_t cut = url.find_first_of("?#");
  if (cut != std::string_view::npos) {
    url = url.substr(0, cut);
  }
  size_t scheme_end = url.find("://");
  size_t authority = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  size_t path = url.find('/', authority);
  size_t at = url.rfind('@', path == std::string_view::npos ? url.size() : path);
  std::string out(url);
  if (at != std::string_view::npos && at >= authority) {
    out = std::string(url.substr(0, authority)) + std::string(url.substr(at + 1));
  }
  return out;
}

bool IEqualsAscii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// Keeps the response headers the caller needs (Cache-Control, DPoP-Nonce; the last one sent).
size_t ReadHeader(char* data, size_t size, size_t nitems, void* userdata) {
  auto* resp = static_cast<HttpResponse*>(userdata);
  size_t n = size * nitems;
  std::string_view line(data, n);
  if (line.substr(0, 5) == "HTTP/") {
    resp->cache_control.clear();  // a new response begins (the one after a 1xx)
    resp->dpop_nonce.clear();
    return n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos && IEqualsAscii(line.substr(0, colon), "Cache-Control")) {
    resp->cache_control = std::string(Trimmed(line.substr(colon + 1)));
  }
  if (colon != std::string_view::npos && IEqualsAscii(line.substr(0, colon), "DPoP-Nonce")) {
    resp->dpop_nonce = std::string(Trimmed(line.substr(colon + 1)));
  }
  return n;
}

bool AppendHeader(HeaderSlist& list, const std::string& line) {
  curl_slist* head = curl_slist_append(list.get(), line.c_str());
  if (head == nullptr) {
    return false;
  }
  // The head only changes when the list was empty; reset() must not free the list it keeps.
  (void)list.release();
  list.reset(head);
  return true;
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

}  // namespace

// One CURLSH: the connection cache, DNS cache and TLS sessions of one process, each behind its
// own lock as libcurl asks of a share used by several threads.
class CurlHttpClient::ConnectionPool {
 public:
  ConnectionPool() : share_(curl_share_init()) {
    if (share_ == nullptr) {
      return;
    }
    bool ok =
        curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &Lock) == CURLSHE_OK &&
        curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &Unlock) == CURLSHE_OK &&
        curl_share_setopt(share_, CURLSHOPT_USERDATA, this) == CURLSHE_OK &&
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) == CURLSHE_OK &&
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) == CURLSHE_OK &&
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) == CURLSHE_OK;
    if (!ok) {
      // Without a pool every call connects anew, as before: slower, still correct.
      curl_share_cleanup(share_);
      share_ = nullptr;
    }
  }
  ~ConnectionPool() {
    if (share_ != nullptr) {
      curl_share_cleanup(share_);
    }
  }
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  CURLSH* share() const { return share_; }

 private:
  static void Lock(CURL* /*easy*/, curl_lock_data data, curl_lock_access /*access*/, void* self) {
    if (data >= 0 && data < CURL_LOCK_DATA_LAST) {
      static_cast<ConnectionPool*>(self)->locks_[data].lock();
    }
  }
  static void Unlock(CURL* /*easy*/, curl_lock_data data, void* self) {
    if (data >= 0 && data < CURL_LOCK_DATA_LAST) {
      static_cast<ConnectionPool*>(self)->locks_[data].unlock();
    }
  }

  std::mutex locks_[CURL_LOCK_DATA_LAST];
  CURLSH* share_;
};

CurlHttpClient::CurlHttpClient() = default;

CurlHttpClient::CurlHttpClient(Options options) : options_(std::move(options)) {}

CurlHttpClient::~CurlHttpClient() {
  if (pool_ != nullptr && pool_pid_ != getpid()) {
    // The parent's pool, inherited by fork(): cleaning it up here would shut down TLS
    // connections the parent still uses (close_notify on a shared socket). Left alone.
    // Out of memory here ends the child, as any throw from a destructor would.
    (void)new std::shared_ptr<ConnectionPool>(  // NOLINT(bugprone-unhandled-exception-at-new)
        std::move(pool_));
  }
}

std::shared_ptr<CurlHttpClient::ConnectionPool> CurlHttpClient::PoolForThisProcess() {
  pid_t pid = getpid();
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (pool_ == nullptr || pool_pid_ != pid) {
    if (pool_ != nullptr) {
      (void)new std::shared_ptr<ConnectionPool>(std::move(pool_));  // the parent's: see above
    }
    pool_ = std::make_shared<ConnectionPool>();
    pool_pid_ = pid;
  }
  return pool_;
}

Status CurlHttpClient::GlobalInit() {
  CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) {
    return Status(Errc::kHttpFailure,
                  std::string("curl_global_init failed: ") + curl_easy_strerror(rc));
  }
  return OkStatus();
}

Result<HttpResponse> CurlHttpClient::Send(const HttpRequest& req) {
  using R = Result<HttpResponse>;
  std::string where = req.method + " " + RedactedUrl(req.url);
  auto fail = [&where](std::string_view why) {
    return R(Errc::kHttpFailure, where + ": " + std::string(why));
  };

  if (req.method.empty() || HasLineBreak(req.method)) {
    return fail("invalid method");
  }
  HeaderSlist headers;
  for (const auto& [name, value] : req.headers) {
    // Names only in the message: the value may be a credential.
    if (name.empty() || HasLineBreak(name) || HasLineBreak(value) ||
        name.find(':') != std::string::npos) {
      std::string which = HasLineBreak(name) ? std::string("name") : name;
      return fail("invalid request header " + which);
    }
    std::string line = name;
    line.append(": ").append(value);
    if (!AppendHeader(headers, line)) {
      return fail("out of memory");
    }
  }
  // libcurl would otherwise send "Expect: 100-continue" on larger POSTs and wait for it.
  if (!AppendHeader(headers, "Expect:")) {
    return fail("out of memory");
  }

  // Declared before the easy handle: the handle must let go of the share before it may go.
  std::shared_ptr<ConnectionPool> pool = PoolForThisProcess();
  EasyHandle easy(curl_easy_init());
  if (!easy) {
    return fail("curl_easy_init failed");
  }
  CURL* h = easy.get();
  HttpResponse resp;
  BodySink sink{&resp.body, options_.max_body_bytes};
  char errbuf[CURL_ERROR_SIZE] = {0};

  CURLcode rc = CURLE_OK;
  auto set = [&rc](CURLcode r) {
    if (rc == CURLE_OK) {
      rc = r;
    }
  };
  set(curl_easy_setopt(h, CURLOPT_URL, req.url.c_str()));
  if (pool->share() != nullptr) {
    set(curl_easy_setopt(h, CURLOPT_SHARE, pool->share()));
    set(curl_easy_setopt(h, CURLOPT_MAXCONNECTS, options_.max_idle_connections));
  }
  // HTTP/1.1 keeps one request per pooled connection, whichever thread picks it up; HTTP/2
  // would multiplex across threads' transfers, which the easy interface does not coordinate.
  set(curl_easy_setopt(h, CURLOPT_HTTP_VERSION, long{CURL_HTTP_VERSION_1_1}));
#if LIBCURL_VERSION_NUM >= 0x075500
  set(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https"));
#else
  set(curl_easy_setopt(h, CURLOPT_PROTOCOLS, long{CURLPROTO_HTTP | CURLPROTO_HTTPS}));
#endif
  // A redirect from a provider endpoint is an answer to report, not an instruction to follow.
  set(curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L));
  // Signals are process-wide; with threads (event MPM) libcurl must not use them for timeouts.
  set(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L));
  set(curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L));
  set(curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L));
  if (!options_.ca_bundle.empty()) {
    set(curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_bundle.c_str()));
  }
  set(curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str()));
  set(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req.connect_timeout_ms));
  set(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req.timeout_ms));
  // Refuses early when Content-Length already says too much; the write callback catches the rest.
  set(curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                       static_cast<curl_off_t>(options_.max_body_bytes)));
  set(curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get()));
  set(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody));
  set(curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink));
  set(curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &ReadHeader));
  set(curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp));
  set(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf));

  if (req.method == "GET") {
    set(curl_easy_setopt(h, CURLOPT_HTTPGET, 1L));
  } else if (req.method == "HEAD") {
    set(curl_easy_setopt(h, CURLOPT_NOBODY, 1L));
  } else {
    if (req.method != "POST") {
      set(curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str()));
    }
    if (req.method == "POST" || !req.body.empty()) {
      // POSTFIELDS does not copy: req.body outlives the transfer.
      set(curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                           static_cast<curl_off_t>(req.body.size())));
      set(curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.c_str()));
    }
  }
  if (rc != CURLE_OK) {
    return fail(std::string("setting up the transfer failed: ") + curl_easy_strerror(rc));
  }

  rc = curl_easy_perform(h);
  if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return fail("response body larger than " + std::to_string(options_.max_body_bytes) + " bytes");
  }
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    return fail(why + " (curl " + std::to_string(static_cast<int>(rc)) + ")");
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  char* content_type = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK &&
      content_type != nullptr) {
    resp.content_type = content_type;
  }
  return R(std::move(resp));
}

}  // namespace coinpay
