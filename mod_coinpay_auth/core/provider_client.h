// One provider as this process sees it: its configuration, its endpoints (discovered lazily and
// cached) and its signing keys (cached for their max-age; refetched at once on a new unknown
// kid, at most once per interval for unknown kids, and never by two threads at once). One
// instance per provider per process.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/circuit_breaker.h"
#include "core/crypto.h"
#include "core/effects.h"
#include "core/jose.h"
#include "core/metrics.h"
#include "core/provider_config.h"
#include "core/provider_metadata.h"

namespace coinpay {

class ProviderClient {
 public:
  ProviderClient(std::shared_ptr<const ProviderConfig> config, HttpClient& http, const Clock& clock,
                 LogSink& log);

  const ProviderConfig& config() const { return *config_; }
  Result<std::shared_ptr<const ProviderMetadata>> Metadata();
  // A key set that contains `kid` if the provider has it (an empty kid: the current set).
  Result<std::shared_ptr<const Jwks>> KeysFor(const std::string& kid);
  // Verifies a JWS signed by this provider, refetching keys once for an unknown kid.
  Result<VerifiedJwt> Verify(std::string_view compact, const std::vector<std::string>& algs);

  // Every call to the provider goes through it, timed into the latency histogram.
  HttpClient& http() { return timed_; }
  // Token, revocation and introspection calls go through it (core/token_client.h).
  CircuitBreaker& breaker() { return breaker_; }
  HttpRequest NewRequest(std::string method, std::string url) const;
  // For what each call to the provider makes afresh (a client assertion's iat and jti).
  const Clock& clock() const { return clock_; }
  Random& random() { return random_; }
  // The provider's latest DPoP-Nonce (RFC 9449 section 8) as this process last saw it; every
  // proof to the provider carries it. "" until the provider sends one.
  std::string dpop_nonce() const;
  void set_dpop_nonce(std::string_view nonce);

  // Where this provider's events are counted (slot 1.. of the shared cells; see core/metrics.h).
  // Unset: nothing is counted.
  void AttachMetrics(Metrics metrics, size_t slot);
  void Count(Metric m, uint64_t n = 1) const noexcept { metrics_.Count(slot_, m, n); }
  const Metrics& metrics() const { return metrics_; }
  // The session store failed (counted once, for all providers, in slot 0).
  void CountStoreError() const noexcept { metrics_.Count(0, Metric::kStoreError); }
  size_t metrics_slot() const { return slot_; }

  // Counters for tests and the status page.
  struct Stats {
    int jwks_fetches = 0;
    int metadata_fetches = 0;
    int waiting = 0;  // threads waiting right now for another thread's fetch
  };
  Stats stats() const;

 private:
  struct FetchedKeys {
    std::shared_ptr<const Jwks> keys;
    int64_t max_age_seconds;
  };
  Result<FetchedKeys> FetchJwks(const std::string& uri);
  // True while `kid` is remembered as absent from the provider's keys (then it is not fetched).
  bool KnownUnknownLocked(const std::string& kid, int64_t now);

  // Times each call with the Clock seam and records it in this provider's histogram.
  class TimedHttpClient final : public HttpClient {
   public:
    explicit TimedHttpClient(ProviderClient& owner) : owner_(owner) {}
    Result<HttpResponse> Send(const HttpRequest& req) override;

   private:
    ProviderClient& owner_;
  };

  std::shared_ptr<const ProviderConfig> config_;
  HttpClient& http_;
  TimedHttpClient timed_{*this};
  Metrics metrics_;
  size_t slot_ = 0;
  const Clock& clock_;
  LogSink& log_;
  OsRandom random_;
  CircuitBreaker breaker_;

  mutable std::mutex mu_;
  mutable std::mutex nonce_mu_;
  std::string dpop_nonce_;
  std::condition_variable fetched_;
  std::shared_ptr<const ProviderMetadata> metadata_;
  int64_t metadata_at_ = 0;
  int64_t metadata_attempt_at_ = 0;  // a provider that is down is asked again after a pause
  bool metadata_fetching_ = false;
  std::shared_ptr<const Jwks> jwks_;
  int64_t jwks_at_ = 0;                                    // when the current set was fetched
  int64_t jwks_max_age_ = 0;                               // how long it is trusted
  int64_t jwks_attempt_at_ = 0;                            // the last fetch, successful or not
  int64_t unknown_fetch_at_ = 0;                           // the last fetch made for an unknown kid
  std::unordered_map<std::string, int64_t> unknown_kids_;  // kid -> remembered until
  bool jwks_fetching_ = false;
  Stats stats_;
};

}  // namespace coinpay
