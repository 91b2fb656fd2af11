//===- ScoreModDerivativeTest.cpp - score_grad against finite differences -===//
//
// flashgen-ref evaluates flash.attention_grad with the score_grad region
// ScoreModDerivative builds, so that region must be the derivative: each
// score_mod here is differentiated, and the interpreted derivative is
// compared with central differences of the interpreted score_mod, at points
// away from kinks. The regions compute in f32, hence the step and tolerance.
//
//===----------------------------------------------------------------------===//

#include "passes/ScoreModDerivative.h"
#include "tools/FlashgenRegistration.h"
#include "tools/flashgen-ref/RegionInterpreter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

using namespace mlir;
using flashgen::cli::Scalar;

namespace {

/// A module with one flash.attention whose score_mod is `body` (which must
/// not redefine %q, %k, %v or %o).
std::string spec(const std::string &body) {
  const std::string t = "tensor<1x2x4x8xf32>";
  return "func.func @f(%q: " + t + ", %k: " + t + ", %v: " + t + ") -> " + t +
         " {\n  %o = flash.attention %q, %k, %v score_mod {\n"
         "  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):\n" +
         body + "\n  } : " + t + ", " + t + ", " + t + " -> " + t +
         "\n  return %o : " + t + "\n}\n";
}

double run(Region &region, double s, int64_t h = 1, int64_t i = 2,
           int64_t j = 3) {
  return flashgen::cli::interpretRegion(
             region, {Scalar::ofFloat(s), Scalar::ofInt(0), Scalar::ofInt(h),
                      Scalar::ofInt(i), Scalar::ofInt(j)})
      .f;
}

/// Builds the derivative of `body` and compares it with central differences
/// at `points`.
void expectDerivative(const std::string &body,
                      std::initializer_list<double> points) {
  DialectRegistry registry;
  flash::registerFlashgenDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(spec(body), &context);
  ASSERT_TRUE(module) << body;
  flash::AttentionOp op;
  module->walk([&](flash::AttentionOp found) { op = found; });
  ASSERT_TRUE(op);
  Region derivative;
  ASSERT_TRUE(succeeded(
      flash::buildScoreModDerivative(op.getScoreMod(), derivative)))
      << body;
  const double h = 1e-2;
  for (double s : points) {
    const double numeric =
        (run(op.getScoreMod(), s + h) - run(op.getScoreMod(), s - h)) / (2 * h);
    const double built = run(derivative, s);
    EXPECT_NEAR(built, numeric, 2e-3 * std::max(1.0, std::fabs(numeric)))
        << "score " << s << " of\n" << body;
  }
}

TEST(ScoreModDerivative, Softcap) {
  expectDerivative(R"(
    %cap = arith.constant 30.0 : f32
    %x = arith.divf %s, %cap : f32
    %t = math.tanh %x : f32
    %r = arith.mulf %t, %cap : f32
    flash.yield %r : f32)",
                   {-50.0, -3.0, 0.0, 0.5, 20.0, 41.0});
}

TEST(ScoreModDerivative, BiasFromIndices) {
  expectDerivative(R"(
    %hi = arith.index_cast %h : index to i32
    %hf = arith.sitofp %hi : i32 to f32
    %e = math.exp2 %hf : f32
    %r = arith.addf %s, %e : f32
    %c = arith.constant 3.0 : f32
    %r2 = arith.subf %c, %r : f32
    flash.yield %r2 : f32)",
                   {-2.0, 0.3, 9.0});
}

TEST(ScoreModDerivative, SelectOnTheScore) {
  expectDerivative(R"(
    %zero = arith.constant 0.0 : f32
    %half = arith.constant 0.5 : f32
    %neg = arith.cmpf olt, %s, %zero : f32
    %leak = arith.mulf %s, %half : f32
    %sq = arith.mulf %s, %s : f32
    %r = arith.select %neg, %leak, %sq : f32
    flash.yield %r : f32)",
                   {-3.0, -0.5, 0.5, 2.0});
}

TEST(ScoreModDerivative, ClampWithMaxAndMin) {
  expectDerivative(R"(
    %lo = arith.constant -2.0 : f32
    %hi = arith.constant 2.0 : f32
    %a = arith.maximumf %lo, %s : f32
    %b2 = arith.minimumf %a, %hi : f32
    %c = arith.maxnumf %b2, %lo : f32
    %r = arith.minnumf %hi, %c : f32
    %r3 = arith.mulf %r, %r : f32
    flash.yield %r3 : f32)",
                   {-3.0, -1.5, 0.7, 1.9, 4.0});
}

TEST(ScoreModDerivative, ExpLogAndPowers) {
  expectDerivative(R"(
    %one = arith.constant 1.0 : f32
    %e = math.exp %s : f32
    %p = arith.addf %e, %one : f32
    %l = math.log %p : f32
    %sq = arith.mulf %s, %s : f32
    %sq1 = arith.addf %sq, %one : f32
    %l2 = math.log2 %sq1 : f32
    %rt = math.sqrt %sq1 : f32
    %rs = math.rsqrt %sq1 : f32
    %a = arith.addf %l, %l2 : f32
    %b2 = arith.addf %a, %rt : f32
    %c = arith.subf %b2, %rs : f32
    flash.yield %c : f32)",
                   {-2.5, -0.3, 0.0, 1.2, 3.0});
}

TEST(ScoreModDerivative, QuotientsAndAbs) {
  expectDerivative(R"(
    %one = arith.constant 1.0 : f32
    %abs = math.absf %s : f32
    %d = arith.addf %abs, %one : f32
    %quot = arith.divf %s, %d : f32
    %n = arith.negf %quot : f32
    %t = math.tanh %s : f32
    %r = arith.divf %n, %t : f32
    flash.yield %r : f32)",
                   {-2.0, -0.4, 0.6, 3.0});
}

TEST(ScoreModDerivative, PowerInBaseAndExponent) {
  expectDerivative(R"(
    %one = arith.constant 1.0 : f32
    %tenth = arith.constant 0.1 : f32
    %sq = arith.mulf %s, %s : f32
    %base = arith.addf %sq, %one : f32
    %exp = arith.mulf %s, %tenth : f32
    %p = math.powf %base, %exp : f32
    %two = arith.constant 2.0 : f32
    %pow2 = math.powf %two, %s : f32
    %c = arith.constant 1.5 : f32
    %r = math.powf %base, %c : f32
    %a = arith.addf %p, %pow2 : f32
    %b2 = arith.addf %a, %r : f32
    flash.yield %b2 : f32)",
                   {-1.5, 0.2, 1.0, 2.5});
}

TEST(ScoreModDerivative, PiecewiseConstantPartsHaveNoSlope) {
  expectDerivative(R"(
    %f = math.floor %s : f32
    %n = arith.fptosi %s : f32 to i32
    %g = arith.sitofp %n : i32 to f32
    %c = math.ceil %s : f32
    %a = arith.addf %f, %g : f32
    %b2 = arith.addf %a, %c : f32
    %r = arith.addf %b2, %s : f32
    flash.yield %r : f32)",
                   {-1.5, 0.5, 2.3});
}

// A score_mod that reads an extra operand (a per-head temperature table):
// the derivative takes the same block arguments and reads the table too.
TEST(ScoreModDerivative, ReadsTheExtrasItsScoreModReads) {
  const std::string t = "tensor<1x2x4x8xf32>";
  const std::string text =
      "func.func @f(%q: " + t + ", %k: " + t + ", %v: " + t +
      ", %temp: tensor<2xf32>) -> " + t +
      " {\n  %o = flash.attention %q, %k, %v extras(%temp : tensor<2xf32>) "
      "names [\"temp\"] extra_dims [[]] score_mod {\n"
      "  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, "
      "%table: tensor<2xf32>):\n"
      "    %w = tensor.extract %table[%h] : tensor<2xf32>\n"
      "    %x = arith.mulf %s, %w : f32\n"
      "    %r = math.tanh %x : f32\n"
      "    flash.yield %r : f32\n  } : " +
      t + ", " + t + ", " + t + " -> " + t + "\n  return %o : " + t + "\n}\n";
  DialectRegistry registry;
  flash::registerFlashgenDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context);
  ASSERT_TRUE(module);
  flash::AttentionOp op;
  module->walk([&](flash::AttentionOp found) { op = found; });
  ASSERT_TRUE(op);
  Region derivative;
  ASSERT_TRUE(succeeded(
      flash::buildScoreModDerivative(op.getScoreMod(), derivative)));
  ASSERT_EQ(derivative.front().getNumArguments(), 6u);
  flashgen::cli::ExtraData table{{2}, {0.25, 1.5}};
  auto eval = [&](Region &region, double s, int64_t h) {
    return flashgen::cli::interpretRegion(
               region,
               {Scalar::ofFloat(s), Scalar::ofInt(0), Scalar::ofInt(h),
                Scalar::ofInt(2), Scalar::ofInt(3)},
               {table})
        .f;
  };
  for (int64_t h : {0, 1})
    for (double s : {-2.0, 0.1, 1.3}) {
      const double step = 1e-2;
      double numeric = (eval(op.getScoreMod(), s + step, h) -
                        eval(op.getScoreMod(), s - step, h)) /
                       (2 * step);
      EXPECT_NEAR(eval(derivative, s, h), numeric,
                  2e-3 * std::max(1.0, std::fabs(numeric)))
          << "h=" << h << " s=" << s;
    }
}

} // namespace
