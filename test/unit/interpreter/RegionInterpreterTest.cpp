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

// Regions that read extra operands (docs/semantics.md §2.7).

TEST(RegionInterpreter, DocumentMaskComparesTheIdsOfBothPositions) {
  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  auto op = loadAttention(context, module, "document_mask.mlir");
  ASSERT_TRUE(op);
  // Two sequences of 6 tokens: documents {0,0,1,1,1,2} and {0,1,1,1,1,1}.
  flashgen::cli::ExtraData doc{{2, 6}, {0, 0, 1, 1, 1, 2, 0, 1, 1, 1, 1, 1}};
  auto keep = [&](int64_t b, int64_t i, int64_t j) {
    return flashgen::cli::interpretRegion(op.getMaskMod(),
                                          {Scalar::ofInt(b), Scalar::ofInt(3),
                                           Scalar::ofInt(i), Scalar::ofInt(j)},
                                          {doc})
               .i != 0;
  };
  EXPECT_TRUE(keep(0, 1, 0));
  EXPECT_FALSE(keep(0, 2, 1));
  EXPECT_TRUE(keep(0, 4, 2));
  EXPECT_FALSE(keep(0, 5, 4));
  EXPECT_FALSE(keep(1, 1, 0)); // batch 1 has its own ids
  EXPECT_TRUE(keep(1, 5, 1));
}

TEST(RegionInterpreter, TableReadsClampEveryIndexIntoItsDimension) {
  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  auto op = loadAttention(context, module, "relative_bias.mlir");
  ASSERT_TRUE(op);
  // bias[h, d] = 1000 h + d for 16 heads x 128 distances.
  flashgen::cli::ExtraData table{{16, 128}, {}};
  for (int h = 0; h < 16; ++h)
    for (int d = 0; d < 128; ++d)
      table.values.push_back(1000.0 * h + d);
  auto score = [&](int64_t h, int64_t i, int64_t j) {
    return flashgen::cli::interpretRegion(
               op.getScoreMod(),
               {Scalar::ofFloat(0.5), Scalar::ofInt(0), Scalar::ofInt(h),
                Scalar::ofInt(i), Scalar::ofInt(j)},
               {table})
        .f;
  };
  EXPECT_DOUBLE_EQ(score(2, 10, 3), 0.5 + 2007);
  EXPECT_DOUBLE_EQ(score(15, 127, 0), 0.5 + 15127);
  EXPECT_DOUBLE_EQ(score(1, 500, 0), 0.5 + 1127); // distance 500: the last entry
  EXPECT_DOUBLE_EQ(score(1, 0, 4), 0.5 + 1000);   // negative: the first
}

TEST(RegionInterpreter, RunTimeScalarIsReadAtEveryCall) {
  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  auto op = loadAttention(context, module, "prefix_lm_runtime.mlir");
  ASSERT_TRUE(op);
  for (int64_t prefix : {0, 1, 64, 300})
    for (int64_t i : {0, 10, 63, 64, 200})
      for (int64_t j : {0, 10, 63, 64, 201}) {
        flashgen::cli::ExtraData scalar{{}, {double(prefix)}};
        bool got = flashgen::cli::interpretRegion(
                       op.getMaskMod(),
                       {Scalar::ofInt(0), Scalar::ofInt(0), Scalar::ofInt(i),
                        Scalar::ofInt(j)},
                       {scalar})
                       .i != 0;
        EXPECT_EQ(got, j < prefix || j <= i)
            << "prefix " << prefix << " i=" << i << " j=" << j;
      }
}

TEST(RegionInterpreter, TreeMaskReadsTheAncestorBits) {
  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  auto op = loadAttention(context, module, "tree_verify.mlir");
  ASSERT_TRUE(op);
  // One sequence, prefix 100, 40 drafts: draft 3's ancestors are 0 and 1;
  // draft 39's are 31 (bit 31 of word 0: a negative int32) and 35 (bit 3
  // of word 1). Every other draft sees itself alone.
  const int64_t prefix = 100, drafts = 40;
  flashgen::cli::ExtraData prefixes{{1}, {double(prefix)}};
  flashgen::cli::ExtraData tree{{1, drafts, 2}, std::vector<double>(drafts * 2, 0.0)};
  auto setBit = [&](int64_t i, int64_t t) {
    auto word = uint32_t(int32_t(tree.values[i * 2 + t / 32]));
    word |= uint32_t(1) << (t % 32);
    tree.values[i * 2 + t / 32] = double(int32_t(word));
  };
  for (int64_t i = 0; i < drafts; ++i)
    setBit(i, i);
  setBit(3, 0);
  setBit(3, 1);
  setBit(39, 31);
  setBit(39, 35);
  auto keep = [&](int64_t i, int64_t j) {
    return flashgen::cli::interpretRegion(op.getMaskMod(),
                                          {Scalar::ofInt(0), Scalar::ofInt(5),
                                           Scalar::ofInt(i), Scalar::ofInt(j)},
                                          {prefixes, tree})
               .i != 0;
  };
  for (int64_t i : {0, 3, 39})
    for (int64_t j : {0, 57, 99})
      EXPECT_TRUE(keep(i, j)) << "the prefix, draft " << i << " key " << j;
  auto ancestor = [](int64_t i, int64_t t) {
    return t == i || (i == 3 && (t == 0 || t == 1)) || (i == 39 && (t == 31 || t == 35));
  };
  for (int64_t i : {0, 2, 3, 31, 39})
    for (int64_t t = 0; t < drafts; ++t)
      EXPECT_EQ(keep(i, prefix + t), ancestor(i, t)) << "draft " << i << " sees draft " << t;
}

} // namespace
