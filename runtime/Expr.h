//===- Expr.h - Integer expressions of the bundle manifest ------*- C++ -*-===//
//
// Grid dims, dynamic shared memory, scratch shapes, derived dims and
// constraints are small integer expressions over symbols and integer scalars
// (docs/bundle-format.md §1.8). They are parsed once, when the manifest is
// loaded, into postfix code over numbered slots, so that evaluating one at
// launch is a short loop over a fixed-size stack: no allocation, no name
// lookup.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_EXPR_H
#define FLASHGEN_RUNTIME_EXPR_H

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace flashgen {

enum class ExprError {
  None,
  Overflow,
  DivisionByZero,
  NegativeCdiv,
};

const char *exprErrorText(ExprError error);

class Expr {
public:
  /// Maps a name to its slot index, or -1 if the name is unknown.
  using Resolver = std::function<int(const std::string &)>;

  /// Deepest evaluation stack any parsed expression may need.
  static constexpr int kMaxStack = 32;

  Expr() = default;
  static Expr constant(int64_t value);

  /// Parses `text`; on failure sets `error` to a message quoting the text
  /// and the position.
  static bool parse(const std::string &text, const Resolver &resolve,
                    Expr &out, std::string &error);

  /// Evaluates with slot values `slots`. Never allocates.
  ExprError evaluate(const int64_t *slots, int64_t &out) const;

  const std::string &text() const { return text_; }
  bool isConstant() const;
  /// Slots the expression reads (each once).
  std::vector<int> slotsUsed() const;

  enum class OpCode : uint8_t {
    Const,
    Slot,
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Cdiv,
    Min,
    Max
  };
  struct Op {
    OpCode code;
    int64_t operand; // constant value or slot index
  };

private:
  std::vector<Op> code_;
  std::string text_;
  friend class ExprParser;
};

/// `lhs OP rhs` from the manifest's "constraints".
struct Constraint {
  enum class Cmp { Eq, Ne, Lt, Le, Gt, Ge };
  Expr lhs;
  Expr rhs;
  Cmp cmp = Cmp::Eq;
  std::string text;

  static bool parse(const std::string &text, const Expr::Resolver &resolve,
                    Constraint &out, std::string &error);
  /// Sets `holds`; fails only when a side cannot be evaluated.
  ExprError evaluate(const int64_t *slots, bool &holds, int64_t &lhsValue,
                     int64_t &rhsValue) const;
};

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_EXPR_H
