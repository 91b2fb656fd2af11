//===- Json.cpp - Minimal JSON reader and writer --------------------------===//
//
// A recursive-descent parser for RFC 8259 JSON. Numbers without fraction or
// exponent are kept as exact int64 (manifest sizes and byte counts must not
// round through double); others are parsed with std::from_chars, which does
// not depend on the C locale the host program may have set.
//
//===----------------------------------------------------------------------===//

#include "runtime/Json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace flashgen {
namespace json {

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::Bool;
  v.b_ = b;
  return v;
}

Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::Number;
  v.isInt_ = true;
  v.i_ = i;
  v.d_ = static_cast<double>(i);
  return v;
}

Value Value::number(double d) {
  Value v;
  v.kind_ = Kind::Number;
  v.d_ = d;
  return v;
}

Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::String;
  v.s_ = std::move(s);
  return v;
}

Value Value::array() {
  Value v;
  v.kind_ = Kind::Array;
  return v;
}

Value Value::object() {
  Value v;
  v.kind_ = Kind::Object;
  return v;
}

const Value *Value::find(const std::string &key) const {
  if (kind_ != Kind::Object)
    return nullptr;
  for (const auto &m : obj_)
    if (m.first == key)
      return &m.second;
  return nullptr;
}

void Value::set(const std::string &key, Value v) {
  kind_ = Kind::Object;
  for (auto &m : obj_)
    if (m.first == key) {
      m.second = std::move(v);
      return;
    }
  obj_.emplace_back(key, std::move(v));
}

const char *kindName(Value::Kind kind) {
  switch (kind) {
  case Value::Kind::Null:
    return "null";
  case Value::Kind::Bool:
    return "a boolean";
  case Value::Kind::Number:
    return "a number";
  case Value::Kind::String:
    return "a string";
  case Value::Kind::Array:
    return "an array";
  case Value::Kind::Object:
    return "an object";
  }
  return "?";
}

void appendQuoted(std::string &out, const std::string &s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  out += '"';
}

static void dumpTo(const Value &v, std::string &out) {
  switch (v.kind()) {
  case Value::Kind::Null:
    out += "null";
    return;
  case Value::Kind::Bool:
    out += v.asBool() ? "true" : "false";
    return;
  case Value::Kind::Number: {
    if (v.isInteger()) {
      out += std::to_string(v.asInt());
      return;
    }
    double d = v.asDouble();
    if (!std::isfinite(d)) { // JSON has no inf/nan
      out += "null";
      return;
    }
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof(buf), d);
    out.append(buf, res.ptr);
    return;
  }
  case Value::Kind::String:
    appendQuoted(out, v.asString());
    return;
  case Value::Kind::Array: {
    out += '[';
    bool first = true;
    for (const auto &item : v.items()) {
      if (!first)
        out += ',';
      first = false;
      dumpTo(item, out);
    }
    out += ']';
    return;
  }
  case Value::Kind::Object: {
    out += '{';
    bool first = true;
    for (const auto &m : v.members()) {
      if (!first)
        out += ',';
      first = false;
      appendQuoted(out, m.first);
      out += ':';
      dumpTo(m.second, out);
    }
    out += '}';
    return;
  }
  }
}

std::string Value::dump() const {
  std::string out;
  dumpTo(*this, out);
  return out;
}

namespace {

/// Deep enough for any manifest, shallow enough never to exhaust the stack.
constexpr int kMaxDepth = 200;

class Parser {
public:
  explicit Parser(const std::string &text) : text_(text) {}

  bool parseDocument(Value &out, std::string &error) {
    skipSpace();
    if (!parseValue(out, 0)) {
      error = error_;
      return false;
    }
    skipSpace();
    if (pos_ != text_.size()) {
      fail("unexpected trailing characters after the JSON value");
      error = error_;
      return false;
    }
    return true;
  }

private:
  const std::string &text_;
  size_t pos_ = 0;
  std::string error_;

  bool fail(const std::string &what) {
    if (!error_.empty())
      return false; // keep the first, innermost message
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    error_ = "line " + std::to_string(line) + ", column " +
             std::to_string(col) + ": " + what;
    return false;
  }

  bool atEnd() const { return pos_ >= text_.size(); }
  char peek() const { return atEnd() ? '\0' : text_[pos_]; }

  void skipSpace() {
    while (!atEnd()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        ++pos_;
      else
        break;
    }
  }

  bool expectLiteral(const char *lit) {
    size_t n = std::char_traits<char>::length(lit);
    if (text_.compare(pos_, n, lit) != 0)
      return fail(std::string("invalid literal (expected '") + lit + "')");
    pos_ += n;
    return true;
  }

  bool parseValue(Value &out, int depth) {
    if (depth > kMaxDepth)
      return fail("nesting deeper than " + std::to_string(kMaxDepth) +
                  " levels");
    if (atEnd())
      return fail("unexpected end of input, expected a value");
    char c = peek();
    switch (c) {
    case '{':
      return parseObject(out, depth);
    case '[':
      return parseArray(out, depth);
    case '"': {
      std::string s;
      if (!parseString(s))
        return false;
      out = Value::string(std::move(s));
      return true;
    }
    case 't':
      if (!expectLiteral("true"))
        return false;
      out = Value::boolean(true);
      return true;
    case 'f':
      if (!expectLiteral("false"))
        return false;
      out = Value::boolean(false);
      return true;
    case 'n':
      if (!expectLiteral("null"))
        return false;
      out = Value::null();
      return true;
    default:
      if (c == '-' || (c >= '0' && c <= '9'))
        return parseNumber(out);
      return fail(std::string("unexpected character '") + c +
                  "', expected a value");
    }
  }

  bool parseObject(Value &out, int depth) {
    ++pos_; // '{'
    out = Value::object();
    skipSpace();
    if (peek() == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      skipSpace();
      if (peek() != '"')
        return fail("expected a string key in object");
      size_t keyPos = pos_;
      std::string key;
      if (!parseString(key))
        return false;
      if (out.find(key)) {
        pos_ = keyPos;
        return fail("duplicate key \"" + key + "\"");
      }
      skipSpace();
      if (peek() != ':')
        return fail("expected ':' after object key");
      ++pos_;
      skipSpace();
      Value v;
      if (!parseValue(v, depth + 1))
        return false;
      out.set(key, std::move(v));
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return true;
      }
      return fail(atEnd() ? "unexpected end of input in object"
                          : "expected ',' or '}' in object");
    }
  }

  bool parseArray(Value &out, int depth) {
    ++pos_; // '['
    out = Value::array();
    skipSpace();
    if (peek() == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      skipSpace();
      Value v;
      if (!parseValue(v, depth + 1))
        return false;
      out.push(std::move(v));
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return true;
      }
      return fail(atEnd() ? "unexpected end of input in array"
                          : "expected ',' or ']' in array");
    }
  }

  static void appendUtf8(std::string &s, uint32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool parseHex4(uint32_t &out) {
    if (pos_ + 4 > text_.size())
      return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        out |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        out |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return fail("invalid hex digit in \\u escape");
    }
    return true;
  }

  bool parseString(std::string &out) {
    ++pos_; // opening quote
    while (true) {
      if (atEnd())
        return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20)
        return fail("control character in string (escape it)");
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      ++pos_;
      if (atEnd())
        return fail("unterminated escape in string");
      char e = text_[pos_++];
      switch (e) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp = 0;
        if (!parseHex4(cp))
          return false;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (text_.compare(pos_, 2, "\\u") != 0)
            return fail("unpaired UTF-16 high surrogate in \\u escape");
          pos_ += 2;
          uint32_t lo = 0;
          if (!parseHex4(lo))
            return false;
          if (lo < 0xDC00 || lo > 0xDFFF)
            return fail("invalid UTF-16 low surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return fail("unpaired UTF-16 low surrogate in \\u escape");
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        --pos_;
        return fail(std::string("invalid escape '\\") + e + "' in string");
      }
    }
  }

  bool parseNumber(Value &out) {
    size_t start = pos_;
    bool isInt = true;
    if (peek() == '-')
      ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (peek() >= '1' && peek() <= '9') {
      while (peek() >= '0' && peek() <= '9')
        ++pos_;
    } else {
      return fail("invalid number");
    }
    if (peek() == '.') {
      isInt = false;
      ++pos_;
      if (!(peek() >= '0' && peek() <= '9'))
        return fail("invalid number: digit expected after '.'");
      while (peek() >= '0' && peek() <= '9')
        ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') {
      isInt = false;
      ++pos_;
      if (peek() == '+' || peek() == '-')
        ++pos_;
      if (!(peek() >= '0' && peek() <= '9'))
        return fail("invalid number: digit expected in exponent");
      while (peek() >= '0' && peek() <= '9')
        ++pos_;
    }
    const char *first = text_.data() + start;
    const char *last = text_.data() + pos_;
    if (isInt) {
      int64_t i = 0;
      auto res = std::from_chars(first, last, i);
      if (res.ec == std::errc() && res.ptr == last) {
        out = Value::integer(i);
        return true;
      }
      // Too large for int64: keep it as a double, like other readers do.
    }
    double d = 0.0;
    auto res = std::from_chars(first, last, d);
    if (res.ec == std::errc::result_out_of_range) {
      pos_ = start;
      return fail("number out of range of a double");
    }
    if (res.ec != std::errc() || res.ptr != last) {
      pos_ = start;
      return fail("invalid number");
    }
    out = Value::number(d);
    return true;
  }
};

} // namespace

bool parse(const std::string &text, Value &out, std::string &error) {
  Parser p(text);
  return p.parseDocument(out, error);
}

} // namespace json
} // namespace flashgen
