//===- RegionInterpreterTest.cpp - score_mod / mask_mod interpretation ----===//
//
// The reference evaluates what the user wrote: the softcap and ALiBi examples'
// score_mod regions, run through the interpreter, must equal the closed forms
// of reference/Attention.h; the prefix-LM mask_mod must equal its definition.
//
//===----------------------------------------------------------------------===//

#include "reference/Attention.h"
#include "tools/flashgen-ref/RegionInterpreter.h"
#include "tools/flashgen/SpecLoader.h"

#include "dialect/FlashDialect.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mlir;
using flashgen::cli::Scalar;

namespace {

flash::AttentionOp loadAttention(MLIRContext &context, OwningOpRef<ModuleOp> &module,
                                 const std::string &example) {
  module = flashgen::cli::loadSpec(context, std::string(FLASHGEN_EXAMPLES_DIR) +
                                                "/" + example);
  EXPECT_TRUE(module) << example;
  flash::AttentionOp found;
  module->walk([&](flash::AttentionOp op) { found = op; });
  return found;
}

double runScoreMod(flash::AttentionOp op, double s, int64_t b, int64_t h,
                   int64_t i, int64_t j) {
  return flashgen::cli::interpretRegion(
             op.getScoreMod(), {Scalar::ofFloat(s), Scalar::ofInt(b),
                                Scalar::ofInt(h), Scalar::ofInt(i), Scalar::ofInt(j)})
      .f;
}

TEST(RegionInterpreter, SoftcapMatchesClosedForm) {
  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  auto op = loadAttention(context, module, "softcap.mlir");
  ASSERT_TRUE(op);
  auto closed = flashgen::reference::softcapScoreMod(30.0);
  for (double s : {-200.0, -31.5, -1.0, 0.0, 0.25, 7.0, 29.9, 45.0, 1e4}) {
    double expected = closed(s, 0, 0, 0, 0);
    // The region computes in f32: allow f32 rounding of each step.
    EXPECT_NEAR(runScoreMod(op, s, 1, 2, 3, 4), expected,
                1e-6 * std::max(1.0, std::fabs(expected)))
        << "score " << s;
  }
}

TEST(RegionInterpreter, AlibiMatchesClosedForm) {
  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  auto op = loadAttention(context, module, "alibi_causal.mlir");
  ASSERT_TRUE(op);
  const int64_t heads = 16, n = 300;
  auto closed = flashgen::reference::alibiScoreMod(heads, n, n);
  for (int64_t h : {0, 1, 7, 15})
    for (auto [i, j] : {std::pair<int64_t, int64_t>{0, 0}, {5, 2}, {299, 0},
                        {150, 149}, {17, 17}})
      EXPECT_NEAR(runScoreMod(op, 0.5, 0, h, i, j), closed(0.5, 0, h, i, j),
                  1e-5)
          << "h=" << h << " i=" << i << " j=" << j;
}

TEST(RegionInterpreter, PrefixLmMaskMatchesDefinition) {
  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  auto op = loadAttention(context, module, "prefix_lm.mlir");
  ASSERT_TRUE(op);
  for (int64_t i : {0, 10, 255, 256, 400})
    for (int64_t j : {0, 10, 255, 256, 300, 401}) {
      bool expected = j < 256 || j <= i;
      bool got = flashgen::cli::interpretRegion(
                     op.getMaskMod(), {Scalar::ofInt(0), Scalar::ofInt(0),
                                       Scalar::ofInt(i), Scalar::ofInt(j)})
                     .i != 0;
      EXPECT_EQ(got, expected) << "i=" << i << " j=" << j;
    }
}

} // namespace
