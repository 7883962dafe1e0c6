// Lazy discovery and the JWKS cache, each a single flight: one thread fetches, the others wait
// for its result instead of sending their own request.
#include "core/provider_client.h"

#include <chrono>

#include "core/log.h"

namespace coinpay {
namespace {

// After a failed fetch, or with no keys at all, ask again after this pause: soon enough to
// recover quickly, rare enough not to hammer a provider that is down.
constexpr int64_t kRetryWithoutKeysSeconds = 5;

}  // namespace

ProviderClient::ProviderClient(std::shared_ptr<const ProviderConfig> config, HttpClient& http,
                               const Clock& clock, LogSink& log)
    : config_(std::move(config)),
      http_(http),
      clock_(clock),
      log_(log),
      breaker_(clock, log, config_->issuer) {}

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
  while (metadata_fetching_) {
    if (!fetched_.wait_for(lock, wait_limit, [&] { return !metadata_fetching_; })) {
      break;
    }
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
  auto resp = http_.Send(NewRequest("GET", config_->metadata_url));
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

Result<std::shared_ptr<const Jwks>> ProviderClient::FetchJwks(const std::string& uri) {
  auto resp = http_.Send(NewRequest("GET", uri));
  if (!resp) {
    return Error{Errc::kHttpFailure, "JWKS fetch failed: " + resp.error().detail};
  }
  if (resp->status != 200) {
    return Error{Errc::kProviderError, "JWKS answered HTTP " + std::to_string(resp->status)};
  }
  return Jwks::Parse(resp->body);
}

Result<std::shared_ptr<const Jwks>> ProviderClient::KeysFor(const std::string& kid) {
  auto meta = Metadata();
  if (!meta) {
    return meta.error();
  }
  std::string uri = (*meta)->jwks_uri;
  std::unique_lock<std::mutex> lock(mu_);
  auto wait_limit = std::chrono::milliseconds(config_->connect_timeout_ms + config_->timeout_ms);
  while (jwks_fetching_) {
    if (!fetched_.wait_for(lock, wait_limit, [&] { return !jwks_fetching_; })) {
      break;
    }
  }
  if (jwks_ && (kid.empty() || jwks_->HasKid(kid))) {
    return jwks_;
  }
  int64_t now = clock_.NowSeconds();
  int64_t interval = jwks_ ? config_->jwks_min_refetch_seconds : kRetryWithoutKeysSeconds;
  if (jwks_fetching_ || (jwks_at_ != 0 && now - jwks_at_ < interval)) {
    if (jwks_) {
      return jwks_;  // the caller will find no such kid: refused without asking the provider
    }
    return Error{Errc::kHttpFailure, "provider keys are unavailable"};
  }
  jwks_fetching_ = true;
  jwks_at_ = now;
  ++stats_.jwks_fetches;
  lock.unlock();

  auto fresh = FetchJwks(uri);

  lock.lock();
  jwks_fetching_ = false;
  if (fresh) {
    jwks_ = *fresh;
  }
  fetched_.notify_all();
  if (!fresh) {
    LogAt(log_, LogLevel::kError, 103,
          "cannot load the provider's keys from " + uri + ": " + fresh.error().detail);
    if (jwks_) {
      return jwks_;
    }
    return fresh.error();
  }
  return jwks_;
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
