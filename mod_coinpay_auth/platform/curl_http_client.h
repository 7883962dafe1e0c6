// The production HttpClient: libcurl (used in this file pair only), TLS always verified, no
// redirects, a cap on the response body. Connections, DNS answers and TLS sessions are shared
// by every thread of a process, so calls to a provider reuse a kept-alive connection; a forked
// child never touches its parent's connections (it starts its own pool).
//
//   CurlHttpClient::GlobalInit();  // once, at module start, before any thread exists
//   CurlHttpClient http({.ca_bundle = "/etc/ssl/certs/ca-certificates.crt"});
//   auto resp = http.Send({.method = "GET", .url = jwks_uri});
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "core/effects.h"
#include "core/result.h"

namespace coinpay {

class CurlHttpClient final : public HttpClient {
 public:
  struct Options {
    std::string ca_bundle;  // empty: libcurl's built-in CA store
    size_t max_body_bytes = size_t{1} << 20;
    std::string user_agent = "mod_coinpay_auth/0.1";
    // Idle connections the process keeps open for reuse (libcurl's default, 5, is fewer than
    // httpd's threads: connections would be closed and reopened under load).
    long max_idle_connections = 64;
  };

  CurlHttpClient();
  explicit CurlHttpClient(Options options);
  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  // curl_global_init is not thread-safe: call it once, before threads start (httpd post_config).
  static Status GlobalInit();

  // Safe to call from many threads at once: every call uses its own easy handle, and they all
  // draw on this process's connection pool.
  Result<HttpResponse> Send(const HttpRequest& req) override;

  class ConnectionPool;  // a CURLSH and its locks (curl_http_client.cc)

 private:
  // This process's pool, made on first use in each process (httpd builds the client in the
  // parent and forks its children: a connection must never serve two processes).
  std::shared_ptr<ConnectionPool> PoolForThisProcess();

  Options options_;
  std::mutex pool_mu_;
  std::shared_ptr<ConnectionPool> pool_;
  pid_t pool_pid_ = 0;
};

}  // namespace coinpay
