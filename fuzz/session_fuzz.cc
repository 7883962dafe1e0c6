// libFuzzer target: session records as read back from a store (DecodeSession), and the round
// trip property: whatever decodes re-encodes (EncodeSession) to exactly the same bytes (older
// record versions: to a current record that does). The same
// bytes are then stored under a session id and loaded by the real Sessions manager.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/crypto.h"
#include "core/session.h"
#include "fuzz_fakes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coinpay;
  std::string_view bytes = fuzz::AsView(data, size);
  auto record = DecodeSession(bytes);
  if (record) {
    // A record of the current version re-encodes to the same bytes; an older one (version 2,
    // before step-up's acr and auth_time) to a current record that round-trips so.
    std::string again = EncodeSession(*record);
    bool same_version = !bytes.empty() && bytes[0] == again[0];
    if (same_version ? again != bytes : EncodeSession(DecodeSession(again).value()) != again) {
      __builtin_trap();
    }
  }
  // The in-place reader accepts exactly what the copying one does.
  if (ViewSession(bytes).has_value() != record.has_value()) {
    __builtin_trap();
  }
  // As Sessions finds it: keyed by the id's hash, named by the session cookie.
  fuzz::FuzzSite s;
  const std::string id(43, 'A');
  (void)s.store.Put(Sha256(id), bytes, fuzz::kNow + 3600);
  auto loaded = s.sessions->Load("coinpay_session=" + id, fuzz::kNow);
  if (loaded && loaded->has_value()) {
    s.sessions->Touch(**loaded, fuzz::kNow + 120);
    (void)s.sessions->Update(
        id, [](SessionRecord& r) { r.access_token = "new"; }, fuzz::kNow);
  }
  return 0;
}
