// libFuzzer target: the proxy headers a CoinpayTrustedProxy peer passes on (RFC 7239 Forwarded,
// X-Forwarded-Proto/-Host/-Port) and the decision made from them. The input is split at '\n'
// into Forwarded, X-Forwarded-Proto, -Host and -Port. Properties: a Forwarded header that
// parses, written out again with every value quoted, parses to the same elements; a host taken
// from a proxy is always one IsValidHost accepts; whatever is logged (the reason headers were
// ignored, the CPA00310 warning) carries no control character.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/forwarded.h"
#include "core/proxy_origin.h"
#include "fuzz_fakes.h"

namespace {

std::string Quoted(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

bool HasControl(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coinpay;
  std::string_view input = fuzz::AsView(data, size);
  std::vector<std::string_view> parts;
  while (parts.size() < 3) {
    size_t nl = input.find('\n');
    if (nl == std::string_view::npos) {
      break;
    }
    parts.push_back(input.substr(0, nl));
    input.remove_prefix(nl + 1);
  }
  parts.push_back(input);
  parts.resize(4);

  auto elements = ParseForwarded(parts[0]);
  if (elements) {
    std::string again;
    for (const auto& element : elements.value()) {
      again += again.empty() ? "" : ", ";
      for (size_t i = 0; i < element.size(); ++i) {
        again += (i == 0 ? "" : ";") + element[i].name + "=" + Quoted(element[i].value);
      }
    }
    if (again.size() <= kMaxForwardedBytes) {
      auto reparsed = ParseForwarded(again);
      if (!reparsed || reparsed.value() != elements.value()) {
        __builtin_trap();
      }
    }
  }

  static const std::vector<CidrRange> kTrusted = {ParseCidr("127.0.0.1").value(),
                                                  ParseCidr("2001:db8::/32").value()};
  ProxyHeaders headers{parts[0], parts[1], parts[2], parts[3]};
  for (bool https : {false, true}) {
    RequestOrigin o = EffectiveOrigin("127.0.0.1", kTrusted, headers, https, "internal:8080");
    if (o.from_proxy && o.host != "internal:8080" && !IsValidHost(o.host)) {
      __builtin_trap();
    }
    if (!o.ignored.empty() && (o.from_proxy || HasControl(o.ignored))) {
      __builtin_trap();
    }
    RequestOrigin untrusted = EffectiveOrigin("192.0.2.1", kTrusted, headers, https, "h");
    if (untrusted.from_proxy || untrusted.https != https || untrusted.host != "h") {
      __builtin_trap();
    }
    auto warning = SignInOriginMismatch(o.https, o.host, "https://shop.example");
    if (warning && HasControl(*warning)) {
      __builtin_trap();
    }
    auto raw = SignInOriginMismatch(https, parts[2], "http://127.0.0.1:8080");
    if (raw && HasControl(*raw)) {
      __builtin_trap();
    }
  }
  (void)IsValidHost(parts[2]);
  (void)ParseIp(parts[1]);
  (void)ParseCidr(parts[1]);
  return 0;
}
