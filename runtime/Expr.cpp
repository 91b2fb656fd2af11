//===- Expr.cpp - Integer expressions of the bundle manifest --------------===//

#include "runtime/Expr.h"

#include <cctype>
#include <limits>

namespace flashgen {

const char *exprErrorText(ExprError error) {
  switch (error) {
  case ExprError::None:
    return "no error";
  case ExprError::Overflow:
    return "64-bit overflow";
  case ExprError::DivisionByZero:
    return "division by zero";
  case ExprError::NegativeCdiv:
    return "cdiv of a negative value";
  }
  return "?";
}

Expr Expr::constant(int64_t value) {
  Expr e;
  e.code_.push_back({OpCode::Const, value});
  e.text_ = std::to_string(value);
  return e;
}

bool Expr::isConstant() const {
  return code_.size() == 1 && code_[0].code == OpCode::Const;
}

std::vector<int> Expr::slotsUsed() const {
  std::vector<int> out;
  for (const Op &op : code_) {
    if (op.code != OpCode::Slot)
      continue;
    bool seen = false;
    for (int s : out)
      seen |= s == static_cast<int>(op.operand);
    if (!seen)
      out.push_back(static_cast<int>(op.operand));
  }
  return out;
}

ExprError Expr::evaluate(const int64_t *slots, int64_t &out) const {
  int64_t stack[kMaxStack];
  int sp = 0;
  for (const Op &op : code_) {
    switch (op.code) {
    case OpCode::Const:
      stack[sp++] = op.operand;
      continue;
    case OpCode::Slot:
      stack[sp++] = slots[op.operand];
      continue;
    case OpCode::Neg:
      if (stack[sp - 1] == std::numeric_limits<int64_t>::min())
        return ExprError::Overflow;
      stack[sp - 1] = -stack[sp - 1];
      continue;
    default:
      break;
    }
    int64_t b = stack[--sp];
    int64_t a = stack[sp - 1];
    int64_t r = 0;
    switch (op.code) {
    case OpCode::Add:
      if (__builtin_add_overflow(a, b, &r))
        return ExprError::Overflow;
      break;
    case OpCode::Sub:
      if (__builtin_sub_overflow(a, b, &r))
        return ExprError::Overflow;
      break;
    case OpCode::Mul:
      if (__builtin_mul_overflow(a, b, &r))
        return ExprError::Overflow;
      break;
    case OpCode::Div:
    case OpCode::Mod:
      if (b == 0)
        return ExprError::DivisionByZero;
      if (a == std::numeric_limits<int64_t>::min() && b == -1)
        return ExprError::Overflow;
      r = op.code == OpCode::Div ? a / b : a % b;
      break;
    case OpCode::Cdiv:
      if (b == 0)
        return ExprError::DivisionByZero;
      if (a < 0 || b < 0)
        return ExprError::NegativeCdiv;
      r = a / b + (a % b != 0 ? 1 : 0);
      break;
    case OpCode::Min:
      r = a < b ? a : b;
      break;
    case OpCode::Max:
      r = a > b ? a : b;
      break;
    default:
      return ExprError::Overflow; // unreachable: unary ops handled above
    }
    stack[sp - 1] = r;
  }
  out = stack[0];
  return ExprError::None;
}

/// Recursive descent over the grammar of docs/bundle-format.md §1.8,
/// emitting postfix code as it goes.
class ExprParser {
public:
  ExprParser(const std::string &text, const Expr::Resolver &resolve)
      : text_(text), resolve_(resolve) {}

  /// Parses one expression starting at the current position into `out`
  /// (code and text); stops before anything that cannot continue it.
  bool parseInto(Expr &out) {
    skipSpace();
    size_t start = pos_;
    out.code_.clear();
    code_ = &out.code_;
    depth_ = 0;
    maxDepth_ = 0;
    if (!expr(0))
      return false;
    size_t end = pos_;
    while (end > start && std::isspace(static_cast<unsigned char>(text_[end - 1])))
      --end;
    out.text_ = text_.substr(start, end - start);
    return true;
  }

  bool atEnd() {
    skipSpace();
    return pos_ >= text_.size();
  }

  /// Consumes a comparison operator; false (no error) if none is next.
  bool comparison(Constraint::Cmp &cmp) {
    skipSpace();
    static const struct {
      const char *spelling;
      Constraint::Cmp cmp;
    } kTwoChar[] = {{"==", Constraint::Cmp::Eq},
                    {"!=", Constraint::Cmp::Ne},
                    {"<=", Constraint::Cmp::Le},
                    {">=", Constraint::Cmp::Ge}};
    for (const auto &op : kTwoChar)
      if (text_.compare(pos_, 2, op.spelling) == 0) {
        cmp = op.cmp;
        pos_ += 2;
        return true;
      }
    if (pos_ < text_.size() && (text_[pos_] == '<' || text_[pos_] == '>')) {
      cmp = text_[pos_] == '<' ? Constraint::Cmp::Lt : Constraint::Cmp::Gt;
      ++pos_;
      return true;
    }
    return false;
  }

  bool fail(const std::string &what) {
    if (message_.empty())
      message_ = what + " at offset " + std::to_string(pos_);
    return false;
  }

  bool report(std::string &error) {
    error = "in expression \"" + text_ + "\": " + message_;
    return false;
  }

private:
  static constexpr int kMaxNesting = 64;
  const std::string &text_;
  const Expr::Resolver &resolve_;
  size_t pos_ = 0;
  int depth_ = 0;   // current stack depth of the emitted code
  int maxDepth_ = 0;
  std::vector<Expr::Op> *code_ = nullptr;
  std::string message_;

  void skipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
  }

  bool emit(Expr::OpCode code, int64_t operand = 0) {
    code_->push_back({code, operand});
    if (code == Expr::OpCode::Const || code == Expr::OpCode::Slot)
      ++depth_;
    else if (code != Expr::OpCode::Neg)
      --depth_;
    if (depth_ > maxDepth_)
      maxDepth_ = depth_;
    if (maxDepth_ > Expr::kMaxStack)
      return fail("expression too deeply nested");
    return true;
  }

  bool peekChar(char c) {
    skipSpace();
    return pos_ < text_.size() && text_[pos_] == c;
  }

  bool expr(int nesting) {
    if (nesting > kMaxNesting)
      return fail("expression too deeply nested");
    if (!term(nesting))
      return false;
    while (true) {
      skipSpace();
      if (peekChar('+') || peekChar('-')) {
        char c = text_[pos_++];
        if (!term(nesting) ||
            !emit(c == '+' ? Expr::OpCode::Add : Expr::OpCode::Sub))
          return false;
        continue;
      }
      return true;
    }
  }

  bool term(int nesting) {
    if (!unary(nesting))
      return false;
    while (true) {
      skipSpace();
      if (peekChar('*') || peekChar('/') || peekChar('%')) {
        char c = text_[pos_++];
        Expr::OpCode code = c == '*'   ? Expr::OpCode::Mul
                            : c == '/' ? Expr::OpCode::Div
                                       : Expr::OpCode::Mod;
        if (!unary(nesting) || !emit(code))
          return false;
        continue;
      }
      return true;
    }
  }

  bool unary(int nesting) {
    if (nesting > kMaxNesting)
      return fail("expression too deeply nested");
    if (peekChar('-')) {
      ++pos_;
      return unary(nesting + 1) && emit(Expr::OpCode::Neg);
    }
    return primary(nesting);
  }

  bool primary(int nesting) {
    skipSpace();
    if (pos_ >= text_.size())
      return fail("unexpected end, expected a number, name or '('");
    char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      if (!expr(nesting + 1))
        return false;
      if (!peekChar(')'))
        return fail("expected ')'");
      ++pos_;
      return true;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      int64_t v = 0;
      while (pos_ < text_.size() &&
             std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, text_[pos_] - '0', &v))
          return fail("integer literal out of range");
        ++pos_;
      }
      return emit(Expr::OpCode::Const, v);
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = pos_;
      while (pos_ < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
              text_[pos_] == '_'))
        ++pos_;
      std::string name = text_.substr(start, pos_ - start);
      if (peekChar('(')) {
        Expr::OpCode code;
        if (name == "cdiv")
          code = Expr::OpCode::Cdiv;
        else if (name == "min")
          code = Expr::OpCode::Min;
        else if (name == "max")
          code = Expr::OpCode::Max;
        else {
          pos_ = start;
          return fail("unknown function '" + name +
                      "' (known: cdiv, min, max)");
        }
        ++pos_; // '('
        if (!expr(nesting + 1))
          return false;
        if (!peekChar(','))
          return fail("expected ',' in " + name + "(a, b)");
        ++pos_;
        if (!expr(nesting + 1))
          return false;
        if (!peekChar(')'))
          return fail("expected ')' closing " + name + "(a, b)");
        ++pos_;
        return emit(code);
      }
      int slot = resolve_(name);
      if (slot < 0) {
        pos_ = start;
        return fail("unknown name '" + name + "'");
      }
      return emit(Expr::OpCode::Slot, slot);
    }
    return fail(std::string("unexpected character '") + c + "'");
  }
};

bool Expr::parse(const std::string &text, const Resolver &resolve, Expr &out,
                 std::string &error) {
  ExprParser p(text, resolve);
  if (!p.parseInto(out))
    return p.report(error);
  if (!p.atEnd()) {
    p.fail("unexpected trailing text");
    return p.report(error);
  }
  out.text_ = text;
  return true;
}

bool Constraint::parse(const std::string &text, const Expr::Resolver &resolve,
                       Constraint &out, std::string &error) {
  ExprParser p(text, resolve);
  out.text = text;
  if (!p.parseInto(out.lhs))
    return p.report(error);
  if (!p.comparison(out.cmp)) {
    p.fail("expected a comparison (== != < <= > >=)");
    return p.report(error);
  }
  if (!p.parseInto(out.rhs))
    return p.report(error);
  if (!p.atEnd()) {
    p.fail("unexpected trailing text");
    return p.report(error);
  }
  return true;
}

ExprError Constraint::evaluate(const int64_t *slots, bool &holds,
                               int64_t &lhsValue, int64_t &rhsValue) const {
  ExprError e = lhs.evaluate(slots, lhsValue);
  if (e != ExprError::None)
    return e;
  e = rhs.evaluate(slots, rhsValue);
  if (e != ExprError::None)
    return e;
  switch (cmp) {
  case Cmp::Eq:
    holds = lhsValue == rhsValue;
    break;
  case Cmp::Ne:
    holds = lhsValue != rhsValue;
    break;
  case Cmp::Lt:
    holds = lhsValue < rhsValue;
    break;
  case Cmp::Le:
    holds = lhsValue <= rhsValue;
    break;
  case Cmp::Gt:
    holds = lhsValue > rhsValue;
    break;
  case Cmp::Ge:
    holds = lhsValue >= rhsValue;
    break;
  }
  return ExprError::None;
}

} // namespace flashgen
