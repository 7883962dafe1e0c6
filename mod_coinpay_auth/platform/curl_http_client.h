// The production HttpClient: libcurl (used in this file pair only), TLS always verified, no
// redirects, a cap on the response body.
//
//   CurlHttpClient::GlobalInit();  // once, at module start, before any thread exists
//   CurlHttpClient http({.ca_bundle = "/etc/ssl/certs/ca-certificates.crt"});
//   auto resp = http.Send({.method = "GET", .url = jwks_uri});
#pragma once

#include <cstddef>
#include <string>

#include "coinpay_auth/effects.h"
#include "coinpay_auth/result.h"

namespace coinpay {

class CurlHttpClient final : public HttpClient {
 public:
  struct Options {
    std::string ca_bundle;  // empty: libcurl's built-in CA store
    size_t max_body_bytes = size_t{1} << 20;
    std::string user_agent = "mod_coinpay_auth/0.1";
  };

  CurlHttpClient();
  explicit CurlHttpClient(Options options);

  // curl_global_init is not thread-safe: call it once, before threads start (httpd post_config).
  static Status GlobalInit();

  // Safe to call from many threads at once: every call uses its own easy handle.
  Result<HttpResponse> Send(const HttpRequest& req) override;

 private:
  Options options_;
};

}  // namespace coinpay
