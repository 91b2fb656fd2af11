//===- GridOrderTest.cpp - the causal grid's launch order ------------------===//
//
// flash-lower-kernels launches causal query tiles heaviest first over
// even sections of heads whose keys and values fit in the L2
// (LowerAttention.cpp, buildQueryTileGrid). The order is index arithmetic
// in the kernel IR; here it is evaluated with the arith folders for every
// block of a launch and checked: every (query tile, head, batch) exactly
// once, heaviest first within a section, each section's keys within the
// L2, and sections within one head of each other.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "schedule/Target.h"
#include "tools/FlashgenRegistration.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <tuple>

using namespace mlir;

namespace {

constexpr int64_t kTileQ = 128;

/// A causal (or unmasked) GQA attention, 32 query heads over 8 key/value
/// heads of 128 bf16, with a flash2 schedule of 128-row query tiles.
std::string spec(bool causal) {
  const std::string q = "tensor<?x32x?x128xbf16>", kv = "tensor<?x8x?x128xbf16>";
  return "#sched = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, "
         "tile_d = 128, stages = 3, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, "
         "tile_dv = 128, smem_bytes = 131072>\n"
         "func.func @f(%q: " + q + ", %k: " + kv + ", %v: " + kv + ") -> " + q +
         " {\n  %o = flash.attention %q, %k, %v " + (causal ? "mask causal " : "") +
         "dims [\"B\", \"N\", \"N\"] {flash.schedule = #sched} : " + q + ", " + kv +
         ", " + kv + " -> " + q + "\n  return %o : " + q + "\n}\n";
}

struct Lowered {
  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  flash::KernelOp kernel;
  flash::GridMapOp grid;
};

void lower(Lowered &out, bool causal) {
  DialectRegistry registry;
  flash::registerFlashgenDialects(registry);
  out.context.appendDialectRegistry(registry);
  out.context.loadAllAvailableDialects();
  out.module = parseSourceString<ModuleOp>(spec(causal), &out.context);
  ASSERT_TRUE(out.module);
  PassManager pm(&out.context);
  pm.addPass(flash::createFlashLowerKernels());
  ASSERT_TRUE(succeeded(pm.run(*out.module)));
  out.module->walk([&](flash::KernelOp k) { out.kernel = k; });
  ASSERT_TRUE(out.kernel);
  auto grids = out.kernel.getBody().front().getOps<flash::GridMapOp>();
  ASSERT_FALSE(grids.empty());
  out.grid = *grids.begin();
}

/// The kernel body's index values named `names` (flash.name) for block
/// `tile` at sizes `dims`: the top-level ops evaluated in order with their
/// folders, as the CUDA the emitter prints evaluates them.
std::map<std::string, int64_t> evaluate(flash::KernelOp kernel, int64_t tile,
                                        const std::map<std::string, int64_t> &dims) {
  Builder b(kernel.getContext());
  DenseMap<Value, Attribute> known;
  std::map<std::string, int64_t> named;
  for (Operation &op : kernel.getBody().front()) {
    if (auto grid = dyn_cast<flash::GridMapOp>(op)) {
      known[grid.getIds()[0]] = b.getIndexAttr(tile);
      continue;
    }
    if (auto dim = dyn_cast<flash::DimOp>(op)) {
      known[dim.getValue()] = b.getIndexAttr(dims.at(dim.getName().str()));
      continue;
    }
    if (!isa<arith::ArithDialect>(op.getDialect()) || op.getNumResults() != 1)
      continue;
    SmallVector<Attribute> operands;
    for (Value v : op.getOperands())
      operands.push_back(known.lookup(v));
    SmallVector<OpFoldResult> results;
    if (failed(op.fold(operands, results)) || results.size() != 1)
      continue;
    Attribute value = dyn_cast<Attribute>(results[0]);
    if (!value)
      value = known.lookup(cast<Value>(results[0]));
    auto integer = dyn_cast_or_null<IntegerAttr>(value);
    if (!integer)
      continue;
    known[op.getResult(0)] = integer;
    if (auto name = op.getAttrOfType<StringAttr>(flash::kValueNameAttr))
      named[name.getValue().str()] = integer.getInt();
  }
  return named;
}

TEST(GridOrder, CausalHeaviestFirstInEvenSectionsThatFitTheL2) {
  Lowered lowered;
  lower(lowered, /*causal=*/true);
  if (HasFatalFailure())
    return;
  ASSERT_EQ(lowered.grid.getIds().size(), 1u);
  EXPECT_TRUE(lowered.grid.getUneven());
  EXPECT_EQ(cast<StringAttr>(lowered.grid.getExtents()[0]).getValue(), "cdiv(N,128)*32*B");

  // 5000 keys of 256 bf16 (K and V) per key/value head, shared by 4 query
  // heads: at most L2 / (5000 * 128) query heads fit in the L2, and the 224
  // query heads of seven sequences need three sections: 75, 75 and 74.
  const int64_t batch = 7, n = 5000, heads = 32, kvGroup = 4;
  const int64_t tiles = (n + kTileQ - 1) / kTileQ;
  auto target = flashgen::schedule::lookupTarget("sm_90");
  ASSERT_TRUE(target.ok());
  const double l2 = static_cast<double>((**target).l2Bytes);
  const int64_t rowBytes = 2 * 128 * 2 / kvGroup;
  const int64_t widest = static_cast<int64_t>(l2) / rowBytes / n;
  ASSERT_GT(widest, 1);
  ASSERT_LT(widest, heads * batch);
  ASSERT_NE((heads * batch) % widest, 0) << "sections of the widest size would leave a ragged one";

  std::set<std::tuple<int64_t, int64_t, int64_t>> seen;
  int64_t previousSection = -1, previousTile = 0;
  std::set<std::pair<int64_t, int64_t>> sectionKeyHeads;
  std::set<int64_t> widths;
  for (int64_t t = 0; t < tiles * heads * batch; ++t) {
    auto v = evaluate(lowered.kernel, t, {{"B", batch}, {"N", n}});
    ASSERT_EQ(v.count("query_tile") + v.count("head_id") + v.count("batch_id") +
                  v.count("section_first"),
              4u)
        << "block " << t;
    int64_t tile = v["query_tile"], head = v["head_id"], b = v["batch_id"];
    ASSERT_GE(tile, 0);
    ASSERT_LT(tile, tiles);
    ASSERT_GE(head, 0);
    ASSERT_LT(head, heads);
    ASSERT_GE(b, 0);
    ASSERT_LT(b, batch);
    EXPECT_TRUE(seen.insert({tile, head, b}).second)
        << "block " << t << " repeats tile " << tile << " of head " << head
        << ", batch " << b;
    if (v["section_first"] != previousSection) {
      // A new section starts with the heaviest tile (the last one), and
      // holds within one head of the others.
      EXPECT_EQ(tile, tiles - 1) << "block " << t;
      previousSection = v["section_first"];
      sectionKeyHeads.clear();
      widths.insert(v["section_width"]);
    } else {
      EXPECT_LE(tile, previousTile) << "block " << t << ": a lighter tile came first";
    }
    previousTile = tile;
    sectionKeyHeads.insert({b, head / kvGroup});
    EXPECT_LE(static_cast<double>(sectionKeyHeads.size()) * n * 2 * 128 * 2, l2)
        << "block " << t << ": the section's keys and values exceed the L2";
  }
  EXPECT_EQ(static_cast<int64_t>(seen.size()), tiles * heads * batch);
  ASSERT_FALSE(widths.empty());
  EXPECT_EQ(widths.size(), 2u) << "three sections of 75, 75 and 74 heads";
  EXPECT_LE(*widths.rbegin() - *widths.begin(), 1) << "sections differ by more than a head";
}

TEST(GridOrder, UnmaskedTilesKeepOneGridDimensionEach) {
  Lowered lowered;
  lower(lowered, /*causal=*/false);
  if (HasFatalFailure())
    return;
  ASSERT_EQ(lowered.grid.getIds().size(), 3u);
  EXPECT_FALSE(lowered.grid.getUneven());
  EXPECT_EQ(cast<StringAttr>(lowered.grid.getRoles()[0]).getValue(), "query_tile");
}

} // namespace
