// jansson lives here and nowhere else.
#include "core/json.h"

#include <jansson.h>

#include <cmath>
#include <cstdlib>
#include <utility>

namespace coinpay {

Json::Json() : j_(json_null()) {}
Json::Json(json_t* adopted) : j_(adopted != nullptr ? adopted : json_null()) {}
Json::Json(const Json& other) : j_(json_incref(other.j_)) {}
Json::Json(Json&& other) noexcept : j_(std::exchange(other.j_, json_null())) {}
Json& Json::operator=(Json other) noexcept {
  std::swap(j_, other.j_);
  return *this;
}
Json::~Json() { json_decref(j_); }

Result<Json> Json::Parse(std::string_view text) {
  json_error_t err;
  json_t* v = json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
  if (v == nullptr) {
    return Error{Errc::kBadJson,
                 std::string("JSON parse error at position ") + std::to_string(err.position)};
  }
  return Json(v);
}

Json Json::Object() { return Json(json_object()); }
Json Json::Array() { return Json(json_array()); }
Json Json::String(std::string_view s) { return Json(json_stringn(s.data(), s.size())); }
Json Json::Integer(int64_t v) { return Json(json_integer(v)); }

bool Json::IsNull() const { return json_is_null(j_); }
bool Json::IsObject() const { return json_is_object(j_); }
bool Json::IsArray() const { return json_is_array(j_); }
bool Json::IsString() const { return json_is_string(j_); }
bool Json::IsInteger() const { return json_is_integer(j_); }
bool Json::IsNumber() const { return json_is_number(j_); }
bool Json::IsBool() const { return json_is_boolean(j_); }

Json Json::Get(std::string_view key) const {
  if (!json_is_object(j_)) {
    return Json();
  }
  json_t* v = json_object_getn(j_, key.data(), key.size());
  return v == nullptr ? Json() : Json(json_incref(v));
}

Json Json::GetPath(std::string_view dotted) const {
  Json cur = *this;
  while (true) {
    size_t dot = dotted.find('.');
    cur = cur.Get(dotted.substr(0, dot));
    if (dot == std::string_view::npos || cur.IsNull()) {
      return cur;
    }
    dotted.remove_prefix(dot + 1);
  }
}

Json Json::AtPointer(std::string_view pointer) const {
  if (pointer.empty()) {
    return *this;
  }
  if (pointer[0] != '/') {
    return Json();
  }
  Json cur = *this;
  while (!pointer.empty()) {
    pointer.remove_prefix(1);
    size_t next = pointer.find('/');
    std::string token(pointer.substr(0, next));
    pointer = next == std::string_view::npos ? std::string_view{} : pointer.substr(next);
    std::string unescaped;
    for (size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
        unescaped += token[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        unescaped += token[i];
      }
    }
    if (cur.IsArray()) {
      char* end = nullptr;
      unsigned long idx = std::strtoul(unescaped.c_str(), &end, 10);
      if (unescaped.empty() || *end != '\0' || idx >= cur.Size()) {
        return Json();
      }
      cur = cur.At(idx);
    } else {
      cur = cur.Get(unescaped);
    }
    if (cur.IsNull()) {
      return cur;
    }
  }
  return cur;
}

std::optional<std::string> Json::GetString(std::string_view key) const {
  Json v = Get(key);
  if (!v.IsString()) {
    return std::nullopt;
  }
  return v.AsString();
}

std::optional<int64_t> Json::GetInt(std::string_view key) const {
  Json v = Get(key);
  if (v.IsInteger()) {
    return v.AsInt();
  }
  if (json_is_real(v.j_)) {
    double d = json_real_value(v.j_);
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

std::vector<std::string> Json::Keys() const {
  std::vector<std::string> keys;
  if (!json_is_object(j_)) {
    return keys;
  }
  const char* key = nullptr;
  json_t* value = nullptr;
  json_object_foreach(j_, key, value) {
    (void)value;
    keys.emplace_back(key);
  }
  return keys;
}

std::string Json::AsString() const {
  if (!json_is_string(j_)) {
    return {};
  }
  return std::string(json_string_value(j_), json_string_length(j_));
}
std::string_view Json::AsStringView() const {
  if (!json_is_string(j_)) {
    return {};
  }
  return {json_string_value(j_), json_string_length(j_)};
}
int64_t Json::AsInt() const { return json_is_integer(j_) ? json_integer_value(j_) : 0; }
double Json::AsNumber() const { return json_is_number(j_) ? json_number_value(j_) : 0.0; }
bool Json::AsBool() const { return json_is_true(j_); }
size_t Json::Size() const {
  if (json_is_array(j_)) {
    return json_array_size(j_);
  }
  if (json_is_object(j_)) {
    return json_object_size(j_);
  }
  return 0;
}
Json Json::At(size_t i) const {
  json_t* v = json_is_array(j_) ? json_array_get(j_, i) : nullptr;
  return v == nullptr ? Json() : Json(json_incref(v));
}

std::string Json::ToText() const {
  if (json_is_string(j_)) {
    return AsString();
  }
  if (json_is_true(j_)) {
    return "true";
  }
  if (json_is_false(j_)) {
    return "false";
  }
  if (json_is_integer(j_)) {
    return std::to_string(json_integer_value(j_));
  }
  return Dump();
}

std::string Json::Dump() const {
  char* s = json_dumps(j_, JSON_COMPACT | JSON_ENCODE_ANY);
  if (s == nullptr) {
    return "null";
  }
  std::string out(s);
  free(s);  // NOLINT: jansson allocates with malloc
  return out;
}

void Json::Set(std::string_view key, const Json& value) {
  if (json_is_object(j_)) {
    json_object_setn(j_, key.data(), key.size(), value.j_);
  }
}

void Json::Append(const Json& value) {
  if (json_is_array(j_)) {
    json_array_append(j_, value.j_);
  }
}

}  // namespace coinpay
