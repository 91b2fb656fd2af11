//===- Json.h - Minimal JSON reader and writer ------------------*- C++ -*-===//
//
// Just enough JSON for manifest.json and cache metadata, with no external
// dependency. Errors carry line and column; nesting depth is bounded so that
// hostile input cannot overflow the stack. Objects keep key order and reject
// duplicate keys (a duplicate in a manifest is almost always an emitter bug).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_JSON_H
#define FLASHGEN_RUNTIME_JSON_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace flashgen {
namespace json {

class Value {
public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Value() = default;
  static Value null() { return Value(); }
  static Value boolean(bool b);
  /// An integer literal (no fraction or exponent) that fits in int64 keeps its
  /// exact value; isInteger() then holds.
  static Value integer(int64_t i);
  static Value number(double d);
  static Value string(std::string s);
  static Value array();
  static Value object();

  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::Null; }
  bool isBool() const { return kind_ == Kind::Bool; }
  bool isNumber() const { return kind_ == Kind::Number; }
  bool isInteger() const { return kind_ == Kind::Number && isInt_; }
  bool isString() const { return kind_ == Kind::String; }
  bool isArray() const { return kind_ == Kind::Array; }
  bool isObject() const { return kind_ == Kind::Object; }

  bool asBool() const { return b_; }
  double asDouble() const { return isInt_ ? static_cast<double>(i_) : d_; }
  int64_t asInt() const { return i_; }
  const std::string &asString() const { return s_; }
  const std::vector<Value> &items() const { return arr_; }
  const std::vector<std::pair<std::string, Value>> &members() const {
    return obj_;
  }
  /// Member lookup; null when absent or not an object.
  const Value *find(const std::string &key) const;

  void push(Value v) { arr_.push_back(std::move(v)); }
  /// Adds or replaces a member (writer side).
  void set(const std::string &key, Value v);

  /// Compact serialisation with keys in insertion order.
  std::string dump() const;

private:
  Kind kind_ = Kind::Null;
  bool b_ = false;
  bool isInt_ = false;
  int64_t i_ = 0;
  double d_ = 0.0;
  std::string s_;
  std::vector<Value> arr_;
  std::vector<std::pair<std::string, Value>> obj_;
};

/// Parses `text`. On failure returns false and sets `error` to
/// "line L, column C: what".
bool parse(const std::string &text, Value &out, std::string &error);

/// Name of a kind for messages ("an object", "a string").
const char *kindName(Value::Kind kind);

/// Appends `s` as a JSON string literal (quoted, escaped) to `out`.
void appendQuoted(std::string &out, const std::string &s);

} // namespace json
} // namespace flashgen

#endif // FLASHGEN_RUNTIME_JSON_H
