// The command table and config lifecycle, all generated from core/directives.def.
#include "httpd/config.h"

#include <apr_strings.h>
#include <http_core.h>
#include <http_log.h>

#include <new>

#include "core/crypto.h"
#include "httpd/authz.h"
#include "httpd/guard.h"
#include "httpd/module.h"
#include "platform/error_page_files.h"
#include "platform/small_file.h"

namespace coinpay::httpd {
namespace {

// httpd declares cmd_func without parameters in C++; this is the one place that casts.
template <typename F>
cmd_func AsCmdFunc(F f) noexcept {
  // Through void(*)() first: the cast GCC accepts as deliberate.
  return reinterpret_cast<cmd_func>(reinterpret_cast<void (*)()>(f));
}

const char* Report(cmd_parms* cmd, const char* err) {
  if (err == nullptr) {
    return nullptr;
  }
  return apr_pstrcat(cmd->pool, cmd->directive->directive, " ", err, nullptr);
}

// The <CoinpayProvider> section being read, if any: its directives fill that provider's
// config instead of the server's. httpd reads its configuration in one thread.
ServerConfig* g_provider_section = nullptr;

// Cfg is SiteSettings (server rows) or LocationSettings (location rows).
template <typename Cfg>
Cfg& Target(cmd_parms* cmd, void* dir) {
  if constexpr (std::is_same_v<Cfg, SiteSettings>) {
    (void)dir;
    if (g_provider_section != nullptr) {
      return *g_provider_section;
    }
    return ServerConfigOf(cmd->server);
  } else {
    return *static_cast<DirConfig*>(dir);
  }
}

template <typename Cfg, typename K, Field<K> Cfg::*M>
const char* SetTake1(cmd_parms* cmd, void* dir, const char* arg) {
  Field<K>& f = Target<Cfg>(cmd, dir).*M;
  const char* err = K::Parse(arg, f.value);
  if (err == nullptr) {
    f.set = true;
  }
  return Report(cmd, err);
}

template <typename Cfg, typename K, Field<K> Cfg::*M>
const char* SetIterate(cmd_parms* cmd, void* dir, const char* arg) {
  Field<K>& f = Target<Cfg>(cmd, dir).*M;
  if (!f.set) {
    f.value.clear();  // the first occurrence replaces the default
    f.set = true;
  }
  return Report(cmd, K::Append(arg, f.value));
}

template <typename Cfg, typename K, Field<K> Cfg::*M>
const char* SetFlag(cmd_parms* cmd, void* dir, int on) {
  Field<K>& f = Target<Cfg>(cmd, dir).*M;
  f.value = on != 0;
  f.set = true;
  (void)cmd;
  return nullptr;
}

// An operator's file (CoinpayErrorTemplate): read now, so `apachectl -t` names the line.
template <typename Cfg, typename K, Field<K> Cfg::*M>
const char* SetFile(cmd_parms* cmd, void* dir, const char* arg) {
  const char* path = *arg == '\0' ? nullptr : ap_server_root_relative(cmd->temp_pool, arg);
  if (path == nullptr) {
    return Report(cmd, "takes the name of an HTML file, e.g. /etc/apache2/coinpay-error.html");
  }
  auto text = ReadErrorTemplate(path);
  if (!text) {
    return Report(cmd, text.error().detail.c_str());
  }
  Field<K>& f = Target<Cfg>(cmd, dir).*M;
  f.value = std::move(*text);
  f.set = true;
  return nullptr;
}

// Two arguments, repeatable: httpd refuses other counts. The first occurrence replaces the
// default (and what a merge inherited).
template <typename Cfg, typename K, Field<K> Cfg::*M>
Field<K>& FirstReplaces(cmd_parms* cmd, void* dir) {
  Field<K>& f = Target<Cfg>(cmd, dir).*M;
  if (!f.set) {
    f.value.clear();
    f.set = true;
  }
  return f;
}

// A name and a value (CoinpayClaimPointer, CoinpayAuthParam).
template <typename Cfg, typename K, Field<K> Cfg::*M>
const char* SetPair(cmd_parms* cmd, void* dir, const char* name, const char* value) {
  return Report(cmd, K::Append(name, value, FirstReplaces<Cfg, K, M>(cmd, dir).value));
}

// An error kind and a file (CoinpayErrorPage kind file), read now like SetFile.
template <typename Cfg, typename K, Field<K> Cfg::*M>
const char* SetErrorPage(cmd_parms* cmd, void* dir, const char* kind, const char* arg) {
  const char* path = *arg == '\0' ? nullptr : ap_server_root_relative(cmd->temp_pool, arg);
  if (path == nullptr) {
    return Report(cmd, "takes an error kind and the name of an HTML file");
  }
  auto added = AddErrorPageFile(kind, path, FirstReplaces<Cfg, K, M>(cmd, dir).value);
  return Report(cmd, added ? nullptr : added.error().detail.c_str());
}

// A private key file with an optional kid and alg (CoinpayPrivateKeyFile), read now like
// SetFile (as root, before httpd drops privileges, so the file can stay readable by root
// alone); the key's text is wiped once parsed.
template <typename Cfg, typename K, Field<K> Cfg::*M>
const char* SetPrivateKey(cmd_parms* cmd, void* dir, const char* file, const char* kid,
                          const char* alg) {
  const char* path = *file == '\0' ? nullptr : ap_server_root_relative(cmd->temp_pool, file);
  if (path == nullptr) {
    return Report(cmd, "takes a PEM private key file, then optionally a key id and an alg");
  }
  auto text = ReadSmallFile(path, "a PEM private key file", "it is not a PEM private key");
  if (!text) {
    return Report(cmd, text.error().detail.c_str());
  }
  const char* err = K::Append(*text, kid, alg, FirstReplaces<Cfg, K, M>(cmd, dir).value);
  SecureWipe(*text);
  return Report(cmd, err);
}

constexpr char kSetterFailed[] = "could not be read (internal error, see the error log)";

// Every setter in the table runs through here: a throw (std::bad_alloc) becomes a config error.
template <auto Setter, typename Arg>
const char* GuardedSetter(cmd_parms* cmd, void* dir, Arg arg) {
  return Guarded(cmd->temp_pool, 926, kSetterFailed, [&] { return Setter(cmd, dir, arg); });
}

template <auto Setter>
const char* GuardedSetter2(cmd_parms* cmd, void* dir, const char* a, const char* b) {
  return Guarded(cmd->temp_pool, 940, kSetterFailed, [&] { return Setter(cmd, dir, a, b); });
}

template <auto Setter>
const char* GuardedSetter3(cmd_parms* cmd, void* dir, const char* a, const char* b, const char* c) {
  return Guarded(cmd->temp_pool, 962, kSetterFailed, [&] { return Setter(cmd, dir, a, b, c); });
}

template <auto Setter, typename Arg>
cmd_func Guard() noexcept {
  return AsCmdFunc(&GuardedSetter<Setter, Arg>);
}

// Each kind picks its argument style.
template <typename Cfg, typename K, Field<K> Cfg::*M>
constexpr command_rec Row(const char* name, int where, const char* help) noexcept {
  if constexpr (std::is_same_v<K, kinds::List> || std::is_same_v<K, kinds::Cidrs> ||
                std::is_same_v<K, kinds::AcrValues>) {
    return {name, Guard<&SetIterate<Cfg, K, M>, const char*>(), nullptr, where, ITERATE, help};
  } else if constexpr (std::is_same_v<K, kinds::Flag>) {
    return {name, Guard<&SetFlag<Cfg, K, M>, int>(), nullptr, where, FLAG, help};
  } else if constexpr (std::is_same_v<K, kinds::ErrorTemplateFile>) {
    return {name, Guard<&SetFile<Cfg, K, M>, const char*>(), nullptr, where, TAKE1, help};
  } else if constexpr (std::is_same_v<K, kinds::ErrorPageFiles>) {
    return {name, AsCmdFunc(&GuardedSetter2<&SetErrorPage<Cfg, K, M>>), nullptr, where, TAKE2,
            help};
  } else if constexpr (std::is_same_v<K, kinds::PrivateKeyFiles>) {
    return {name, AsCmdFunc(&GuardedSetter3<&SetPrivateKey<Cfg, K, M>>), nullptr, where, TAKE123,
            help};
  } else if constexpr (std::is_same_v<K, kinds::Pairs>) {
    return {name, AsCmdFunc(&GuardedSetter2<&SetPair<Cfg, K, M>>), nullptr, where, TAKE2, help};
  } else {
    return {name, Guard<&SetTake1<Cfg, K, M>, const char*>(), nullptr, where, TAKE1, help};
  }
}

template <typename K>
void MergeField(Field<K>& out, const Field<K>& base, const Field<K>& add) {
  out = add.set ? add : base;
}

// `out` starts as a copy of `add`: only what `add` leaves alone comes from `base`.
template <typename K>
void InheritField(Field<K>& out, const Field<K>& base, const Field<K>& add) {
  if (!add.set) {
    out = base;
  }
}

const char* ReadProviderSection(cmd_parms* cmd, const char* arg) {
  if (const char* err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT)) {
    return err;
  }
  if (g_provider_section != nullptr) {
    return "<CoinpayProvider> sections cannot be nested";
  }
  std::string name(arg);
  if (!name.empty() && name.back() == '>') {
    name.pop_back();
  }
  ServerConfig& server = ServerConfigOf(cmd->server);
  if (auto st = CheckProviderSectionName(name, SectionsOf(server)); !st) {
    return apr_pstrdup(cmd->pool, st.error().detail.c_str());
  }
  auto* provider = static_cast<ServerConfig*>(CreateServerConfig(cmd->pool, cmd->server));
  server.providers.emplace_back(name, provider);
  g_provider_section = provider;
  const char* err = ap_walk_config(cmd->directive->first_child, cmd, cmd->context);
  g_provider_section = nullptr;
  return err;
}

const char* ProviderSection(cmd_parms* cmd, void* /*dir*/, const char* arg) {
  const char* err =
      Guarded(cmd->temp_pool, 927, kSetterFailed, [&] { return ReadProviderSection(cmd, arg); });
  g_provider_section = nullptr;  // also when a row inside threw
  return err;
}

}  // namespace

const command_rec kCommands[] = {
#define COINPAY_SERVER(Name, field, Kind, def, help) \
  Row<SiteSettings, kinds::Kind, &SiteSettings::field>(#Name, RSRC_CONF, help),
#define COINPAY_DIR(Name, field, Kind, def, help) \
  Row<LocationSettings, kinds::Kind, &LocationSettings::field>(#Name, OR_AUTHCFG, help),
#include "core/directives.def"
#undef COINPAY_SERVER
#undef COINPAY_DIR
    // The one structural directive: a container for another provider's rows above.
    {"<CoinpayProvider", AsCmdFunc(&ProviderSection), nullptr, RSRC_CONF, RAW_ARGS,
     "Container for one more provider's settings: <CoinpayProvider name> ... </CoinpayProvider>"},
    // mod_authz_core's own directives, noted on their way to it (authz.h).
    {"Require", AsCmdFunc(&NoteRequire), nullptr, OR_AUTHCFG, RAW_ARGS,
     "(mod_authz_core's; mod_coinpay_auth notes which sections have Require lines)"},
    {"AuthMerging", AsCmdFunc(&NoteAuthMerging), nullptr, OR_AUTHCFG, TAKE1,
     "(mod_authz_core's; mod_coinpay_auth notes how a section's Require lines combine)"},
    {nullptr, nullptr, nullptr, 0, RAW_ARGS, nullptr}};

namespace {

// Every field starts at its row's default (core/site_settings.h).
ServerConfig* NewServerConfig(apr_pool_t* p) { return PoolNew<ServerConfig>(p); }

ServerConfig* MergedServerConfig(apr_pool_t* p, void* base_v, void* add_v) {
  auto* out = PoolNew<ServerConfig>(p);
  const auto* base = static_cast<const ServerConfig*>(base_v);
  const auto* add = static_cast<const ServerConfig*>(add_v);
#define COINPAY_SERVER(Name, field, Kind, def, help) \
  MergeField(out->field, base->field, add->field);
#define COINPAY_DIR(Name, field, Kind, def, help)
#include "core/directives.def"
#undef COINPAY_SERVER
#undef COINPAY_DIR
  out->providers = add->providers.empty() ? base->providers : add->providers;
  return out;
}

DirConfig* NewDirConfig(apr_pool_t* p) { return PoolNew<DirConfig>(p); }

// As mod_authz_core's merge_authz_core_dir_config decides which Require lines are in effect.
void MergeAuthz(DirConfig& out, const DirConfig& base, const DirConfig& add) {
  out.merging = add.merging;
  if (!add.has_require && add.merging == AuthMerging::kUnset) {
    out.has_require = base.has_require;  // no authorization of its own: inherited
    out.prechecks = base.prechecks;
    return;
  }
  if (add.merging == AuthMerging::kOff || add.merging == AuthMerging::kUnset ||
      !(base.has_require || add.has_require)) {
    out.has_require = add.has_require;  // its own Require lines replace the parent's
    out.prechecks = add.prechecks;
    return;
  }
  out.has_require = true;
  if (add.merging == AuthMerging::kAnd) {
    out.prechecks = base.prechecks;  // both must hold: each one failing still denies
    out.prechecks.insert(out.prechecks.end(), add.prechecks.begin(), add.prechecks.end());
  } else if (base.has_require && add.has_require) {
    out.prechecks.clear();  // kOr: either side may grant, so no failure alone denies
  } else {
    out.prechecks = base.has_require ? base.prechecks : add.prechecks;
  }
}

// A section with no row of ours set and no Require or AuthMerging line of its own: merged with
// any other section, the result equals that other section (MergeAuthz keeps it unchanged too;
// only `merging` may differ, and a merged result's `merging` is never read: httpd passes
// merged results only as `base`).
bool IsEmptySection(const DirConfig& c) {
  // The cheap fields first: a section with Require lines is out before its rows are read.
  return !c.has_require && c.merging == AuthMerging::kUnset && c.prechecks.empty() &&
         SetsNothing(c);
}

// The merge would give `add` unchanged: it sets every row `base` sets, and MergeAuthz keeps
// its authorization (its own Require lines replace the parent's, or neither side has any).
bool MergeKeepsAdd(const DirConfig& base, const DirConfig& add) {
  if (!SetsEveryRowOf(add, base)) {
    return false;
  }
  if (!add.has_require && add.merging == AuthMerging::kUnset) {
    return !base.has_require && base.prechecks.empty() && add.prechecks.empty();
  }
  return add.merging == AuthMerging::kOff || add.merging == AuthMerging::kUnset ||
         !(base.has_require || add.has_require);
}

DirConfig* MergedDirConfig(apr_pool_t* p, void* base_v, void* add_v) {
  auto* base = static_cast<DirConfig*>(base_v);
  auto* add = static_cast<DirConfig*>(add_v);
  // httpd merges for every request (each <Directory>, <Location> and .htaccess on the way),
  // and most sections say nothing of ours: share the other side, which nothing writes after
  // the configuration is read, instead of building a copy in the request pool.
  if (IsEmptySection(*add)) {
    return base;
  }
  if (IsEmptySection(*base) || MergeKeepsAdd(*base, *add)) {
    return add;
  }
  auto* out = PoolNew<DirConfig>(p, *add);  // a copy, not fresh defaults parsed again
#define COINPAY_SERVER(Name, field, Kind, def, help)
#define COINPAY_DIR(Name, field, Kind, def, help) InheritField(out->field, base->field, add->field);
#include "core/directives.def"
#undef COINPAY_SERVER
#undef COINPAY_DIR
  MergeAuthz(*out, *base, *add);
  return out;
}

}  // namespace

// httpd takes a null config as "none"; the line logged says why.
void* CreateServerConfig(apr_pool_t* p, server_rec* /*s*/) {
  return Guarded(p, 922, nullptr, [&]() -> void* { return NewServerConfig(p); });
}

void* MergeServerConfig(apr_pool_t* p, void* base, void* add) {
  return Guarded(p, 923, nullptr, [&]() -> void* { return MergedServerConfig(p, base, add); });
}

void* CreateDirConfig(apr_pool_t* p, char* /*dir*/) {
  return Guarded(p, 924, nullptr, [&]() -> void* { return NewDirConfig(p); });
}

void* MergeDirConfig(apr_pool_t* p, void* base, void* add) {
  return Guarded(p, 925, nullptr, [&]() -> void* { return MergedDirConfig(p, base, add); });
}

ServerConfig& ServerConfigOf(server_rec* s) {
  return *static_cast<ServerConfig*>(ap_get_module_config(s->module_config, &coinpay_auth_module));
}

DirConfig& DirConfigOf(request_rec* r) {
  return *static_cast<DirConfig*>(ap_get_module_config(r->per_dir_config, &coinpay_auth_module));
}

bool UsesModule(const ServerConfig& c) { return coinpay::UsesModule(c, !c.providers.empty()); }

ProviderSections SectionsOf(const ServerConfig& c) {
  ProviderSections sections;
  for (const auto& [name, settings] : c.providers) {
    sections.emplace_back(name, settings);
  }
  return sections;
}

}  // namespace coinpay::httpd
