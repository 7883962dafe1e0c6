// libFuzzer target: userinfo and plain-OAuth user-endpoint answers. The callback reads them
// with Json::Parse, then GetString("sub") and a member-by-member join with the ID token's
// claims (userinfo), or RFC 6901 pointers (CoinpaySubjectPointer / claim pointers, user
// endpoint); the claims then go to the application through ClaimsForApplication. The input is
// "<JSON pointer>\n<document>"; without a newline, the whole input is the document and a fixed
// set of pointers is tried.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/callback_flow.h"
#include "core/identity.h"
#include "core/json.h"
#include "fuzz_fakes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coinpay;
  static const char* const kPointers[] = {"",       "/",        "/sub",     "/data/id", "/a~1b/0",
                                          "/~0/~1", "/data/0",  "/x/-",     "/0",       "/~2",
                                          "sub",    "/data/01", "/data/1e2"};
  std::string_view input = fuzz::AsView(data, size);
  std::string_view pointer;
  std::string_view text = input;
  size_t nl = input.find('\n');
  if (nl != std::string_view::npos) {
    pointer = input.substr(0, nl);
    text = input.substr(nl + 1);
  }
  auto doc = Json::Parse(text);
  if (!doc) {
    return 0;
  }
  (void)doc->AtPointer(pointer).ToText();
  for (const char* p : kPointers) {
    Json v = doc->AtPointer(p);
    (void)v.ToText();
    (void)v.IsString();
    (void)v.IsInteger();
  }
  if (!doc->IsObject()) {
    return 0;
  }
  // The userinfo join, as MergeUserinfo does it.
  Json id_claims = Json::Object();
  id_claims.Set("sub", Json::String("alice"));
  id_claims.Set("iss", Json::String(fuzz::kIssuer));
  (void)(doc->GetString("sub").value_or("") == id_claims.GetString("sub").value_or(""));
  Json merged = Json::Object();
  for (const std::string& key : id_claims.Keys()) {
    merged.Set(key, id_claims.Get(key));
  }
  for (const std::string& key : doc->Keys()) {
    if (merged.Get(key).IsNull()) {
      merged.Set(key, doc->Get(key));
    }
  }
  for (const auto& [name, value] : ClaimsForApplication(merged)) {
    // Values reach CGI environments and request headers: no control characters.
    for (char c : value) {
      if (c == '\r' || c == '\n' || c == '\0') {
        __builtin_trap();
      }
    }
    (void)name;
  }
  (void)merged.Dump();
  (void)doc->GetPath("data.id");
  return 0;
}
