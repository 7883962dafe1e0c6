// A small hand-written scanner for RFC 7239 section 4 (with RFC 9110 tokens, quoted-strings
// and optional whitespace around the separators).
#include "core/forwarded.h"

#include <cstddef>

namespace coinpay {
namespace {

bool IsTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// qdtext: HTAB, SP, 0x21, 0x23-0x5B, 0x5D-0x7E, obs-text (0x80-0xFF).
bool IsQdtext(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == '\t' || u == ' ' || u == 0x21 || (u >= 0x23 && u <= 0x5b) ||
         (u >= 0x5d && u <= 0x7e) || u >= 0x80;
}

bool IsQuotedPairChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  Result<std::vector<ForwardedElement>> Run() {
    std::vector<ForwardedElement> out;
    ForwardedElement element;
    SkipOws();
    while (true) {
      if (AtEnd() || Peek() == ',') {
        if (!element.empty()) {
          out.push_back(std::move(element));
          element.clear();
        }
        if (AtEnd()) {
          return out;
        }
        ++pos_;
        SkipOws();
        continue;
      }
      if (Peek() == ';') {  // an empty pair: "a=b;;c=d" is allowed by the grammar
        ++pos_;
        SkipOws();
        continue;
      }
      auto pair = ReadPair();
      if (!pair) {
        return pair.error();
      }
      if (FindParam(element, pair.value().name) != nullptr) {
        return Fail("parameter " + pair.value().name + " appears twice in one element");
      }
      element.push_back(std::move(pair.value()));
      SkipOws();
      if (!AtEnd() && Peek() == ';') {
        ++pos_;
        SkipOws();
      } else if (!AtEnd() && Peek() != ',') {
        return Fail("expected ';' or ','");
      }
    }
  }

 private:
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return s_[pos_]; }
  void SkipOws() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t')) {
      ++pos_;
    }
  }
  Error Fail(const std::string& why) const {
    return Error{Errc::kBadInput, why + " at offset " + std::to_string(pos_)};
  }

  Result<ForwardedPair> ReadPair() {
    ForwardedPair p;
    while (!AtEnd() && IsTchar(Peek())) {
      p.name += Lower(Peek());
      ++pos_;
    }
    if (p.name.empty()) {
      return Fail("expected a parameter name");
    }
    if (AtEnd() || Peek() != '=') {
      return Fail("expected '=' after " + p.name);
    }
    ++pos_;
    if (!AtEnd() && Peek() == '"') {
      ++pos_;
      while (true) {
        if (AtEnd()) {
          return Fail("unterminated quoted-string");
        }
        char c = Peek();
        if (c == '"') {
          ++pos_;
          break;
        }
        if (c == '\\') {
          ++pos_;
          if (AtEnd() || !IsQuotedPairChar(Peek())) {
            return Fail("bad escape in quoted-string");
          }
          p.value += Peek();
          ++pos_;
          continue;
        }
        if (!IsQdtext(c)) {
          return Fail("control character in quoted-string");
        }
        p.value += c;
        ++pos_;
      }
      return p;
    }
    while (!AtEnd() && IsTchar(Peek())) {
      p.value += Peek();
      ++pos_;
    }
    if (p.value.empty()) {
      return Fail("empty value for " + p.name);
    }
    return p;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::vector<ForwardedElement>> ParseForwarded(std::string_view header) {
  if (header.size() > kMaxForwardedBytes) {
    return Error{Errc::kBadInput, "longer than " + std::to_string(kMaxForwardedBytes) + " bytes"};
  }
  return Scanner(header).Run();
}

const std::string* FindParam(const ForwardedElement& element, std::string_view name) {
  for (const auto& p : element) {
    if (p.name == name) {
      return &p.value;
    }
  }
  return nullptr;
}

}  // namespace coinpay
