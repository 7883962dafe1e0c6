// What the operator wrote, as plain values: one field per row of core/directives.def, holding
// the value (the row's default until a line sets it) and whether a line set it, so a merge can
// inherit what a section leaves alone. The glue fills these from httpd's configuration;
// core/site_config.h turns them into the configuration requests use.
#pragma once

#include "core/directive_kinds.h"

namespace coinpay {

template <typename K>
struct Field {
  typename K::Type value{};
  bool set = false;
};

// The row's default, parsed by its kind (a unit test checks that every default parses).
template <typename K>
Field<K> DefaultOf(const char* def) {
  Field<K> f;
  const char* err = K::Parse(def, f.value);
  (void)err;
  return f;
}

// The COINPAY_SERVER rows: a server, a virtual host, or a <CoinpayProvider> section.
struct SiteSettings {
#define COINPAY_SERVER(Name, field, Kind, def, help) \
  Field<kinds::Kind> field = DefaultOf<kinds::Kind>(def);
#define COINPAY_DIR(Name, field, Kind, def, help)
#include "core/directives.def"
#undef COINPAY_SERVER
#undef COINPAY_DIR
};

// The COINPAY_DIR rows: a <Location>, <Directory> or .htaccess.
struct LocationSettings {
#define COINPAY_SERVER(Name, field, Kind, def, help)
#define COINPAY_DIR(Name, field, Kind, def, help) \
  Field<kinds::Kind> field = DefaultOf<kinds::Kind>(def);
#include "core/directives.def"
#undef COINPAY_SERVER
#undef COINPAY_DIR
};

// True when no line of this section set any of its rows: merged under another section it
// changes nothing, so the glue's merge can share the other side instead of copying it.
inline bool SetsNothing(const LocationSettings& s) {
  bool any = false;
#define COINPAY_SERVER(Name, field, Kind, def, help)
#define COINPAY_DIR(Name, field, Kind, def, help) any = any || s.field.set;
#include "core/directives.def"
#undef COINPAY_SERVER
#undef COINPAY_DIR
  return !any;
}

// True when `add` sets every row `base` sets: merged over `base`, each row is `add`'s own (a
// row neither sets holds its default on both sides), so the glue's merge can share `add`.
inline bool SetsEveryRowOf(const LocationSettings& add, const LocationSettings& base) {
  bool all = true;
#define COINPAY_SERVER(Name, field, Kind, def, help)
#define COINPAY_DIR(Name, field, Kind, def, help) all = all && (add.field.set || !base.field.set);
#include "core/directives.def"
#undef COINPAY_SERVER
#undef COINPAY_DIR
  return all;
}

}  // namespace coinpay
