// Bench only: one real session copied N times through Sessions::Create (see the header).
#include "core/bench_replicate.h"

#include <charconv>
#include <optional>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/json.h"
#include "core/log.h"

namespace coinpay {
namespace {

// As long as the session ids the module makes; a provider's sid is opaque to us anyway.
constexpr size_t kSidBytes = 16;

Action Refusal(LogSink& log, int status, const char* error, const std::string& why) {
  LogAt(log, LogLevel::kInfo, 461, "bench replicate request refused: " + why);
  return Action::Json(status, std::string("{\"error\":\"") + error + "\"}");
}

// `count=N` and nothing else; nullopt unless 1 <= N <= kMaxBenchReplicas.
std::optional<int> CountIn(std::string_view body) {
  auto form = ParseQuery(body);
  if (!form || form->size() != 1 || (*form)[0].first != "count") {
    return std::nullopt;
  }
  const std::string& text = (*form)[0].second;
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > kMaxBenchReplicas) {
    return std::nullopt;
  }
  return n;
}

}  // namespace

Result<Replicated> ReplicateSession(Sessions& sessions, const SessionRecord& source, int count,
                                    int64_t now, Random& random) {
  Replicated out;
  const bool indexed = sessions.config().index_sessions;
  for (int i = 0; i < count; ++i) {
    std::string sid;
    if (indexed) {
      auto fresh = RandomToken(random, kSidBytes);
      if (!fresh) {
        return Error{Errc::kCryptoFailure, "random generator failed"};
      }
      sid = std::move(*fresh);
    }
    auto id = sessions.Create(source, now, sid);
    if (!id) {
      return id.error();
    }
    if (out.written == 0) {
      out.first_id = *id;
    }
    out.last_id = std::move(*id);
    ++out.written;
  }
  return out;
}

Action HandleBenchReplicate(Site& site, const RequestView& req) {
  const int64_t now = site.clock.NowSeconds();
  auto count = CountIn(req.form_body);
  if (!count) {
    return Refusal(site.log, 400, "invalid_request",
                   "the body must be count=N with 1 <= N <= " + std::to_string(kMaxBenchReplicas));
  }
  auto loaded = site.sessions.Load(req.cookie, now, SessionParts::kAll);
  if (!loaded) {
    LogAt(site.log, LogLevel::kError, 462,
          "bench replicate: the session store cannot be read: " + loaded.error().detail);
    return Action::Json(503, "{\"error\":\"temporarily_unavailable\"}");
  }
  if (!loaded->has_value()) {
    return Refusal(site.log, 403, "no_session", "no live session of this site in the request");
  }
  auto made = ReplicateSession(site.sessions, (*loaded)->record, *count, now, site.random);
  if (!made) {
    LogAt(site.log, LogLevel::kError, 463,
          "bench replicate: storing a copy failed: " + made.error().detail);
    return Action::Json(503, "{\"error\":\"temporarily_unavailable\"}");
  }
  LogAt(site.log, LogLevel::kInfo, 460,
        "bench replicate: stored " + std::to_string(made->written) + " copies of a session");
  Json answer = Json::Object();
  answer.Set("written", Json::Integer(made->written));
  answer.Set("first", Json::String(made->first_id));
  answer.Set("last", Json::String(made->last_id));
  return Action::Json(200, answer.Dump());
}

}  // namespace coinpay
