//===- ExprTest.cpp - Manifest integer expressions ------------------------===//

#include "runtime/Expr.h"

#include <gtest/gtest.h>

#include <climits>

using namespace flashgen;

namespace {

/// Names N, M, B at slots 0, 1, 2.
int resolve(const std::string &name) {
  if (name == "N")
    return 0;
  if (name == "M")
    return 1;
  if (name == "B")
    return 2;
  return -1;
}

int64_t eval(const std::string &text, int64_t n = 1000, int64_t m = 64,
             int64_t b = 3) {
  Expr e;
  std::string err;
  EXPECT_TRUE(Expr::parse(text, resolve, e, err)) << err;
  int64_t slots[3] = {n, m, b};
  int64_t out = -12345;
  EXPECT_EQ(e.evaluate(slots, out), ExprError::None) << text;
  return out;
}

std::string parseError(const std::string &text) {
  Expr e;
  std::string err;
  EXPECT_FALSE(Expr::parse(text, resolve, e, err)) << "accepted: " << text;
  return err;
}

ExprError evalError(const std::string &text, int64_t n) {
  Expr e;
  std::string err;
  EXPECT_TRUE(Expr::parse(text, resolve, e, err)) << err;
  int64_t slots[3] = {n, 0, 0};
  int64_t out;
  return e.evaluate(slots, out);
}

TEST(Expr, ArithmeticAndPrecedence) {
  EXPECT_EQ(eval("42"), 42);
  EXPECT_EQ(eval("N"), 1000);
  EXPECT_EQ(eval("1 + 2 * 3"), 7);
  EXPECT_EQ(eval("(1 + 2) * 3"), 9);
  EXPECT_EQ(eval("10 - 4 - 3"), 3); // left associative
  EXPECT_EQ(eval("100 / 10 / 5"), 2);
  EXPECT_EQ(eval("-N + 1"), -999);
  EXPECT_EQ(eval("- -5"), 5);
  EXPECT_EQ(eval("N % 7"), 1000 % 7);
  EXPECT_EQ(eval("7 / 2"), 3);
  EXPECT_EQ(eval("-7 / 2"), -3); // truncates toward zero, like C
  EXPECT_EQ(eval("B*N*M"), 3 * 1000 * 64);
}

TEST(Expr, Functions) {
  EXPECT_EQ(eval("cdiv(N, 128)"), 8);
  EXPECT_EQ(eval("cdiv(1024, 128)"), 8);
  EXPECT_EQ(eval("cdiv(0, 128)"), 0);
  EXPECT_EQ(eval("cdiv(N,64)*B"), 16 * 3);
  EXPECT_EQ(eval("min(N, M)"), 64);
  EXPECT_EQ(eval("max(N, M)"), 1000);
  EXPECT_EQ(eval("min(max(N, 5), cdiv(M, 3)) + 1"), 23);
}

TEST(Expr, ConstantsAndSlots) {
  Expr e;
  std::string err;
  ASSERT_TRUE(Expr::parse("cdiv(N, M) + N * B", resolve, e, err));
  EXPECT_FALSE(e.isConstant());
  EXPECT_EQ(e.slotsUsed(), (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(Expr::constant(5).isConstant());
  EXPECT_EQ(e.text(), "cdiv(N, M) + N * B");
}

TEST(Expr, RuntimeErrors) {
  EXPECT_EQ(evalError("1 / (N - 5)", 5), ExprError::DivisionByZero);
  EXPECT_EQ(evalError("N % 0", 5), ExprError::DivisionByZero);
  EXPECT_EQ(evalError("cdiv(N, 0)", 5), ExprError::DivisionByZero);
  EXPECT_EQ(evalError("cdiv(N, 4)", -5), ExprError::NegativeCdiv);
  EXPECT_EQ(evalError("N * N", int64_t(1) << 40), ExprError::Overflow);
  EXPECT_EQ(evalError("N + 1", INT64_MAX), ExprError::Overflow);
  EXPECT_EQ(evalError("-N", INT64_MIN), ExprError::Overflow);
  EXPECT_EQ(evalError("N / -1", INT64_MIN), ExprError::Overflow);
}

TEST(Expr, ParseErrorsQuoteTheText) {
  EXPECT_NE(parseError("N + Q").find("unknown name 'Q'"), std::string::npos);
  EXPECT_NE(parseError("N + Q").find("\"N + Q\""), std::string::npos);
  EXPECT_NE(parseError("floor(N, 2)").find("unknown function 'floor'"),
            std::string::npos);
  EXPECT_NE(parseError("(N + 1").find("expected ')'"), std::string::npos);
  EXPECT_NE(parseError("N + 1)").find("trailing"), std::string::npos);
  EXPECT_NE(parseError("cdiv(N)").find("expected ','"), std::string::npos);
  EXPECT_NE(parseError("").find("unexpected end"), std::string::npos);
  EXPECT_NE(parseError("N $ 2").find("trailing"), std::string::npos);
  EXPECT_NE(parseError("99999999999999999999").find("out of range"),
            std::string::npos);
  EXPECT_NE(parseError(std::string(200, '(') + "1" + std::string(200, ')'))
                .find("too deeply nested"),
            std::string::npos);
}

TEST(Expr, DeepButValidStackFitsTheLimit) {
  // Right-nested sums need one stack slot per level.
  std::string text = "1";
  for (int i = 0; i < Expr::kMaxStack - 1; ++i)
    text = "1 + (" + text + ")";
  EXPECT_EQ(eval(text), Expr::kMaxStack);
  text = "1 + (" + text + ")";
  EXPECT_NE(parseError(text).find("too deeply nested"), std::string::npos);
}

TEST(Constraint, ParsesAndEvaluates) {
  struct Case {
    const char *text;
    bool holds;
  } cases[] = {{"N <= M", false}, {"N >= M", true},  {"N == 1000", true},
               {"N != 1000", false}, {"N < 1001", true}, {"N > B * 400", false},
               {"N % 8 == 0", true}, {"cdiv(N, M) * M >= N", true}};
  for (const Case &c : cases) {
    Constraint k;
    std::string err;
    ASSERT_TRUE(Constraint::parse(c.text, resolve, k, err)) << c.text << err;
    int64_t slots[3] = {1000, 64, 3};
    bool holds;
    int64_t lhs, rhs;
    ASSERT_EQ(k.evaluate(slots, holds, lhs, rhs), ExprError::None);
    EXPECT_EQ(holds, c.holds) << c.text;
  }
  Constraint k;
  std::string err;
  EXPECT_FALSE(Constraint::parse("N + 1", resolve, k, err));
  EXPECT_NE(err.find("expected a comparison"), std::string::npos);
  EXPECT_FALSE(Constraint::parse("N < M < B", resolve, k, err));
  EXPECT_NE(err.find("trailing"), std::string::npos);
}

} // namespace
