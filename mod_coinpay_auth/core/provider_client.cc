// Lazy discovery and the JWKS cache, each a single flight: one thread fetches, the others wait
// for its result instead of sending their own request. Keys are renewed by age (Cache-Control
// max-age, bounded) and on an unknown kid (at once, at most once per interval for unknown kids).
#include "core/provider_client.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "core/log.h"

namespace coinpay {
namespace {

// After a failed fetch, or with no keys at all, ask again after this pause: soon enough to
// recover quickly, rare enough not to hammer a provider that is down. Also the shortest time
// between two key fetches of any kind.
constexpr int64_t kRetryWithoutKeysSeconds = 5;
// How long a fetched key set is trusted before it is fetched again (so a withdrawn key stops
// verifying): the provider's Cache-Control max-age, within these bounds.
constexpr int64_t kDefaultKeysMaxAgeSeconds = 3600;
constexpr int64_t kMinKeysMaxAgeSeconds = 60;
constexpr int64_t kMaxKeysMaxAgeSeconds = int64_t{24} * 3600;
// Unknown kids remembered at once; a flood beyond it is forgotten wholesale (still rate limited
// by the one unknown-kid fetch per interval).
constexpr size_t kMaxRememberedUnknownKids = 1024;

// max-age=N from a Cache-Control value (RFC 9111 5.2.2.1); nullopt without one, or with
// no-store / no-cache (then the default applies, not zero: keys are not fetched per token).
std::optional<int64_t> MaxAgeOf(std::string_view cache_control) {
  size_t at = cache_control.find("max-age=");
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  int64_t v = 0;
  size_t i = at + 8;
  size_t digits = 0;
  for (; i < cache_control.size() && cache_control[i] >= '0' && cache_control[i] <= '9'; ++i) {
    if (++digits > 9) {
      return kMaxKeysMaxAgeSeconds;  // absurdly large: the upper bound
    }
    v = v * 10 + (cache_control[i] - '0');
  }
  if (digits == 0) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

ProviderClient::ProviderClient(std::shared_ptr<const ProviderConfig> config, HttpClient& http,
                               const Clock& clock, LogSink& log)
    : config_(std::move(config)),
      http_(http),
      clock_(clock),
      log_(log),
      breaker_(clock, log, config_->issuer) {}

std::string ProviderClient::dpop_nonce() const {
  std::lock_guard<std::mutex> lock(nonce_mu_);
  return dpop_nonce_;
}

void ProviderClient::set_dpop_nonce(std::string_view nonce) {
  std::lock_guard<std::mutex> lock(nonce_mu_);
  dpop_nonce_.assign(nonce);
}

HttpRequest ProviderClient::NewRequest(std::string method, std::string url) const {
  HttpRequest req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.connect_timeout_ms = config_->connect_timeout_ms;
  req.timeout_ms = config_->timeout_ms;
  req.headers.emplace_back("Accept", "application/json");
  return req;
}

ProviderClient::Stats ProviderClient::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Result<std::shared_ptr<const ProviderMetadata>> ProviderClient::Metadata() {
  if (config_->profile == ProviderProfile::kOAuth2) {
    // No discovery in plain OAuth 2.0: the configured endpoints are all there is.
    std::lock_guard<std::mutex> lock(mu_);
    if (!metadata_) {
      ProviderMetadata m;
      m.issuer = config_->issuer;
      ApplyConfiguredEndpoints(m, *config_);
      metadata_ = std::make_shared<const ProviderMetadata>(std::move(m));
    }
    return metadata_;
  }
  std::unique_lock<std::mutex> lock(mu_);
  auto wait_limit = std::chrono::milliseconds(config_->connect_timeout_ms + config_->timeout_ms);
  if (metadata_fetching_) {
    ++stats_.waiting;
    fetched_.wait_for(lock, wait_limit, [&] { return !metadata_fetching_; });
    --stats_.waiting;
  }
  int64_t now = clock_.NowSeconds();
  if (metadata_ && now - metadata_at_ < config_->metadata_ttl_seconds) {
    return metadata_;
  }
  if (metadata_fetching_ || now - metadata_attempt_at_ < kRetryWithoutKeysSeconds) {
    if (metadata_) {
      return metadata_;
    }
    return Error{Errc::kHttpFailure, "provider metadata is unavailable (retrying shortly)"};
  }
  metadata_fetching_ = true;
  metadata_attempt_at_ = now;
  ++stats_.metadata_fetches;
  lock.unlock();

  Result<ProviderMetadata> fresh = Error{Errc::kHttpFailure, ""};
  auto resp = timed_.Send(NewRequest("GET", config_->metadata_url));
  if (!resp) {
    fresh = Error{Errc::kHttpFailure, "discovery fetch failed: " + resp.error().detail};
  } else if (resp->status == 404) {
    LogAt(log_, LogLevel::kInfo, 101,
          "no discovery document at the issuer; using CoinPay's documented endpoint paths");
    fresh = DefaultMetadata(*config_);
  } else if (resp->status != 200) {
    fresh = Error{Errc::kProviderError, "discovery answered HTTP " + std::to_string(resp->status)};
  } else {
    fresh = ParseDiscovery(resp->body, *config_);
  }

  Count(fresh ? Metric::kDiscoveryFetchOk : Metric::kDiscoveryFetchFailed);
  lock.lock();
  metadata_fetching_ = false;
  if (fresh) {
    metadata_ = std::make_shared<const ProviderMetadata>(std::move(fresh.value()));
    metadata_at_ = clock_.NowSeconds();
  }
  fetched_.notify_all();
  if (!fresh) {
    LogAt(log_, LogLevel::kError, 102,
          "cannot load provider metadata from " + config_->metadata_url + ": " +
              fresh.error().detail);
    if (metadata_) {
      return metadata_;  // keep serving with what we had
    }
    return fresh.error();
  }
  return metadata_;
}

Result<ProviderClient::FetchedKeys> ProviderClient::FetchJwks(const std::string& uri) {
  auto resp = timed_.Send(NewRequest("GET", uri));
  if (!resp) {
    return Error{Errc::kHttpFailure, "JWKS fetch failed: " + resp.error().detail};
  }
  if (resp->status != 200) {
    return Error{Errc::kProviderError, "JWKS answered HTTP " + std::to_string(resp->status)};
  }
  auto keys = Jwks::Parse(resp->body);
  if (!keys) {
    return keys.error();
  }
  int64_t max_age = std::clamp(MaxAgeOf(resp->cache_control).value_or(kDefaultKeysMaxAgeSeconds),
                               kMinKeysMaxAgeSeconds, kMaxKeysMaxAgeSeconds);
  return FetchedKeys{std::move(*keys), max_age};
}

bool ProviderClient::KnownUnknownLocked(const std::string& kid, int64_t now) {
  auto it = unknown_kids_.find(kid);
  if (it == unknown_kids_.end()) {
    return false;
  }
  if (it->second <= now) {
    unknown_kids_.erase(it);
    return false;
  }
  return true;
}

Result<std::shared_ptr<const Jwks>> ProviderClient::KeysFor(const std::string& kid) {
  auto meta = Metadata();
  if (!meta) {
    return meta.error();
  }
  std::string uri = (*meta)->jwks_uri;
  std::unique_lock<std::mutex> lock(mu_);
  int64_t now = clock_.NowSeconds();
  auto has = [&] { return jwks_ && (kid.empty() || jwks_->HasKid(kid)); };
  bool fresh_enough = jwks_ && now - jwks_at_ < jwks_max_age_;
  if (has() && (fresh_enough || jwks_fetching_ || now - jwks_attempt_at_ < kRetryWithoutKeysSeconds)) {
    // An aged set keeps serving while one thread renews it, or while the provider is down.
    return jwks_;
  }
  if (!has()) {
    auto wait_limit = std::chrono::milliseconds(config_->connect_timeout_ms + config_->timeout_ms);
    if (jwks_fetching_) {
      ++stats_.waiting;
      fetched_.wait_for(lock, wait_limit, [&] { return !jwks_fetching_; });
      --stats_.waiting;
    }
    now = clock_.NowSeconds();
    if (has()) {
      return jwks_;
    }
    if (jwks_fetching_ || now - jwks_attempt_at_ < kRetryWithoutKeysSeconds) {
      if (jwks_) {
        return jwks_;  // the caller will find no such kid: refused without asking the provider
      }
      return Error{Errc::kHttpFailure, "provider keys are unavailable"};
    }
    if (jwks_ && !kid.empty()) {
      // A key the provider has just rotated in is fetched at once; a kid already looked for,
      // or a second unknown kid within the interval (a flood of made-up kids), is not.
      if (KnownUnknownLocked(kid, now) ||
          (unknown_fetch_at_ != 0 && now - unknown_fetch_at_ < config_->jwks_min_refetch_seconds)) {
        return jwks_;
      }
      unknown_fetch_at_ = now;
    }
  }
  jwks_fetching_ = true;
  jwks_attempt_at_ = now;
  ++stats_.jwks_fetches;
  lock.unlock();

  auto fetched = FetchJwks(uri);
  Count(fetched ? Metric::kJwksFetchOk : Metric::kJwksFetchFailed);

  lock.lock();
  jwks_fetching_ = false;
  if (fetched) {
    // Keys the provider withdrew are gone from here on.
    jwks_ = fetched->keys;
    jwks_at_ = clock_.NowSeconds();
    jwks_max_age_ = fetched->max_age_seconds;
  }
  fetched_.notify_all();
  if (!fetched) {
    LogAt(log_, LogLevel::kError, 103,
          "cannot load the provider's keys from " + uri + ": " + fetched.error().detail);
    if (jwks_) {
      return jwks_;
    }
    return fetched.error();
  }
  if (!has() && !kid.empty()) {
    if (unknown_kids_.size() >= kMaxRememberedUnknownKids) {
      unknown_kids_.clear();  // a flood of made-up kids: forget them all rather than grow
    }
    unknown_kids_[kid] = now + config_->jwks_min_refetch_seconds;
  }
  return jwks_;
}

void ProviderClient::AttachMetrics(Metrics metrics, size_t slot) {
  metrics_ = metrics;
  slot_ = slot;
  breaker_.OnOpen([metrics, slot](int64_t until) {
    metrics.Count(slot, Metric::kCircuitOpened);
    metrics.CircuitOpenUntil(slot, until);
  });
}

Result<HttpResponse> ProviderClient::TimedHttpClient::Send(const HttpRequest& req) {
  int64_t start = owner_.clock_.MonotonicNanos();
  auto resp = owner_.http_.Send(req);
  owner_.metrics_.Observe(owner_.slot_, owner_.clock_.MonotonicNanos() - start);
  return resp;
}

Result<VerifiedJwt> ProviderClient::Verify(std::string_view compact,
                                           const std::vector<std::string>& algs) {
  auto keys = KeysFor(PeekKid(compact));
  if (!keys) {
    return keys.error();
  }
  return VerifyJws(compact, **keys, algs);
}

}  // namespace coinpay
