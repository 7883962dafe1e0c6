// A small value type over jansson, so the rest of the code never sees json_t. Copies share the
// underlying (immutable once built) value by reference count.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

struct json_t;

namespace coinpay {

class Json {
 public:
  Json();  // JSON null
  Json(const Json& other);
  Json(Json&& other) noexcept;
  Json& operator=(Json other) noexcept;
  ~Json();

  // Parses a JSON document; objects with duplicate keys are refused (a known JWT ambiguity).
  static Result<Json> Parse(std::string_view text);
  static Json Object();
  static Json Array();
  static Json String(std::string_view s);
  static Json Integer(int64_t v);

  bool IsNull() const;
  bool IsObject() const;
  bool IsArray() const;
  bool IsString() const;
  bool IsInteger() const;
  bool IsNumber() const;
  bool IsBool() const;

  // Object member, or null when absent or this is not an object.
  Json Get(std::string_view key) const;
  // RFC 6901 JSON pointer ("/data/id", "/a~1b/0"); null when absent.
  Json AtPointer(std::string_view pointer) const;
  // `a.b.c` through nested objects.
  Json GetPath(std::string_view dotted) const;
  std::optional<std::string> GetString(std::string_view key) const;
  std::optional<int64_t> GetInt(std::string_view key) const;  // integers, or reals that are whole
  std::vector<std::string> Keys() const;

  std::string AsString() const;  // "" unless a string
  // The string in place, valid while this value (or a copy of it) lives; "" unless a string.
  std::string_view AsStringView() const;
  int64_t AsInt() const;
  double AsNumber() const;
  bool AsBool() const;
  size_t Size() const;  // array length / object size
  Json At(size_t i) const;

  // Text for an environment variable: strings as they are, scalars printed, else compact JSON.
  std::string ToText() const;
  std::string Dump() const;  // compact JSON

  // Builders: only on values this code created (Object/Array), before they are shared.
  void Set(std::string_view key, const Json& value);
  void Append(const Json& value);

 private:
  explicit Json(json_t* adopted);
  json_t* j_;
};

}  // namespace coinpay
