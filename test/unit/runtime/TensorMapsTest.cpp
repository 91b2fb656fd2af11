//===- TensorMapsTest.cpp - TMA tensor maps and their parameters ----------===//
//
// What the runtime hands cuTensorMapEncodeTiled for a launch's tensors, and
// where a tensor map sits in the packed parameters: CPU only (the driver
// call itself runs in the GPU suite, where the TMA kernels are checked
// against the reference).
//
//===----------------------------------------------------------------------===//

#include "runtime/ParamPacking.h"
#include "runtime/TensorMaps.h"

#include <gtest/gtest.h>

using namespace flashgen;

namespace {

alignas(16) unsigned char gBuffer[64];

/// A [B=2, H=4, N=300, D=128] bf16 tensor, contiguous, boxes of 128 rows.
TensorMapRequest contiguous() {
  TensorMapRequest r;
  r.data = gBuffer;
  r.dtype = DType::BF16;
  r.rank = 4;
  int64_t sizes[] = {2, 4, 300, 128};
  int64_t strides[] = {4 * 300 * 128, 300 * 128, 128, 1};
  for (int d = 0; d < 4; ++d) {
    r.sizes[d] = sizes[d];
    r.strides[d] = strides[d];
  }
  r.boxRows = 128;
  r.boxCols = 64;
  r.swizzleBytes = 128;
  return r;
}

TEST(TensorMaps, ContiguousTensorInnermostFirst) {
  TiledMapArgs a;
  std::string why;
  ASSERT_TRUE(tiledMapArgs(contiguous(), a, why)) << why;
  EXPECT_EQ(a.dataType, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16);
  EXPECT_EQ(a.rank, 4u);
  // (D, N, H, B), strides in bytes of dims N, H, B.
  EXPECT_EQ(a.dims[0], 128u);
  EXPECT_EQ(a.dims[1], 300u);
  EXPECT_EQ(a.dims[2], 4u);
  EXPECT_EQ(a.dims[3], 2u);
  EXPECT_EQ(a.strideBytes[0], 256u);
  EXPECT_EQ(a.strideBytes[1], 300u * 256u);
  EXPECT_EQ(a.strideBytes[2], 4u * 300u * 256u);
  // One box: 64 columns (128 bytes, the swizzle span) by 128 rows.
  EXPECT_EQ(a.box[0], 64u);
  EXPECT_EQ(a.box[1], 128u);
  EXPECT_EQ(a.box[2], 1u);
  EXPECT_EQ(a.box[3], 1u);
  EXPECT_EQ(a.swizzle, CU_TENSOR_MAP_SWIZZLE_128B);
}

TEST(TensorMaps, StridedViewsKeepTheirStrides) {
  // [B, N, H, D] storage seen as [B, H, N, D]: the row stride is H * D.
  TensorMapRequest r = contiguous();
  r.strides[0] = 300 * 4 * 128;
  r.strides[1] = 128;
  r.strides[2] = 4 * 128;
  TiledMapArgs a;
  std::string why;
  ASSERT_TRUE(tiledMapArgs(r, a, why)) << why;
  EXPECT_EQ(a.strideBytes[0], 4u * 128u * 2u);
  EXPECT_EQ(a.strideBytes[1], 128u * 2u);
}

TEST(TensorMaps, PackedRowsAreOneBatchOfAllRows) {
  // A packed batch [T=700, H=4, D=128] (dialect/Varlen.h) is addressed as
  // [1, H, T, D]: the kernels add a sequence's first row to the row
  // coordinate and pass batch 0.
  TensorMapRequest r = contiguous();
  r.rank = 3;
  int64_t sizes[] = {700, 4, 128};
  int64_t strides[] = {4 * 128, 128, 1};
  for (int d = 0; d < 3; ++d) {
    r.sizes[d] = sizes[d];
    r.strides[d] = strides[d];
  }
  viewPackedAsBatch(r);
  ASSERT_EQ(r.rank, 4);
  TiledMapArgs a;
  std::string why;
  ASSERT_TRUE(tiledMapArgs(r, a, why)) << why;
  // (D, T, H, 1): rows step over every head's row, heads by D.
  EXPECT_EQ(a.dims[0], 128u);
  EXPECT_EQ(a.dims[1], 700u);
  EXPECT_EQ(a.dims[2], 4u);
  EXPECT_EQ(a.dims[3], 1u);
  EXPECT_EQ(a.strideBytes[0], 4u * 128u * 2u);
  EXPECT_EQ(a.strideBytes[1], 128u * 2u);
  EXPECT_EQ(a.box[1], 128u);
}

TEST(TensorMaps, RefusesWhatTmaCannotCopy) {
  struct Case {
    const char *what;
    void (*edit)(TensorMapRequest &);
    const char *why;
  } cases[] = {
      {"row stride of 129 elements (258 bytes)",
       [](TensorMapRequest &r) { r.strides[2] = 129; }, "multiple of 16"},
      {"last dim not contiguous", [](TensorMapRequest &r) { r.strides[3] = 2; },
       "last dim is not contiguous"},
      {"f32 tensor", [](TensorMapRequest &r) { r.dtype = DType::F32; },
       "bf16 and f16"},
      {"pointer off by 8 bytes",
       [](TensorMapRequest &r) { r.data = gBuffer + 8; }, "16-byte aligned"},
      {"empty dim", [](TensorMapRequest &r) { r.sizes[2] = 0; }, "has size 0"},
      {"box wider than the swizzle", [](TensorMapRequest &r) { r.boxCols = 128; },
       "128-byte swizzle"},
      {"box of 512 rows", [](TensorMapRequest &r) { r.boxRows = 512; }, "1 to 256"},
      {"broadcast (stride 0) head dim",
       [](TensorMapRequest &r) { r.strides[1] = 0; }, "positive multiple of 16"},
  };
  for (const Case &c : cases) {
    TensorMapRequest r = contiguous();
    c.edit(r);
    TiledMapArgs a;
    std::string why;
    EXPECT_FALSE(tiledMapArgs(r, a, why)) << c.what;
    EXPECT_NE(why.find(c.why), std::string::npos) << c.what << ": " << why;
  }
}

TEST(TensorMaps, WithoutTheDriverEntryPointNoMapIsMade) {
  CudaDriver driver; // nothing resolved: the cache must not call through it
  TensorMapCache cache;
  CUtensorMap map;
  EXPECT_FALSE(cache.get(driver, contiguous(), map));
}

TEST(TensorMaps, CubinPlacesTheMaps) {
  // ptxas puts a 64-byte-aligned parameter where its bank address is
  // 64-byte aligned (offset 48 on sm_90): the runtime packs at those offsets.
  ParamLayout layout;
  layout.params = {{PackedParam::Source::TensorMap, 128, 0, 0, 0},
                   {PackedParam::Source::TensorPointer, 8, 128, 0, -1},
                   {PackedParam::Source::Slot, 4, 136, 0, -1}};
  layout.totalBytes = 140;
  std::vector<CubinParam> cubin = {{2, 184, 4}, {0, 48, 128}, {1, 176, 8}};
  std::string err;
  ASSERT_TRUE(checkLayoutAgainstCubin(layout, cubin, "k", err)) << err;
  EXPECT_EQ(layout.params[0].offset, 48);
  EXPECT_EQ(layout.params[1].offset, 176);
  EXPECT_EQ(layout.params[2].offset, 184);
  EXPECT_EQ(layout.totalBytes, 188);
  // Sizes still have to agree, and parameters may not overlap.
  std::vector<CubinParam> wrongSize = {{0, 48, 128}, {1, 176, 4}, {2, 184, 4}};
  EXPECT_FALSE(checkLayoutAgainstCubin(layout, wrongSize, "k", err));
  std::vector<CubinParam> overlap = {{0, 48, 128}, {1, 168, 8}, {2, 184, 4}};
  EXPECT_FALSE(checkLayoutAgainstCubin(layout, overlap, "k", err));
  // Without tensor maps the natural C layout must match exactly.
  ParamLayout plain;
  plain.params = {{PackedParam::Source::TensorPointer, 8, 0, 0, -1},
                  {PackedParam::Source::Slot, 4, 8, 0, -1}};
  plain.totalBytes = 12;
  std::vector<CubinParam> shifted = {{0, 16, 8}, {1, 24, 4}};
  EXPECT_FALSE(checkLayoutAgainstCubin(plain, shifted, "k", err));
  EXPECT_NE(err.find("parameter 0 is 8 bytes at offset 16"), std::string::npos) << err;
}

TEST(TensorMaps, ParamsComeFirstAt128ByteSteps) {
  KernelSpec k;
  ParamSpec q;
  q.name = "q";
  q.dtype = DType::BF16;
  q.shape.resize(4);
  k.params = {q};
  k.symbols = {SymbolSpec{"N"}};
  VariantSpec v;
  LaunchSpec l;
  ArgSpec tensor, symbol, map;
  tensor.kind = ArgSpec::Kind::Tensor;
  tensor.index = 0;
  symbol.kind = ArgSpec::Kind::Symbol;
  symbol.index = 0;
  map.kind = ArgSpec::Kind::TensorMap;
  map.index = 0;
  map.boxRows = 128;
  map.boxCols = 64;
  map.swizzleBytes = 128;
  l.args = {map, map, tensor, symbol};
  ParamLayout layout = layoutLaunchParams(k, v, l);
  // The maps at 0 and 128 (64-byte aligned, as TMA needs), then q (8) and
  // its 4 strides, then N: as ptxas lays out the emitted signature.
  ASSERT_EQ(layout.params.size(), 8u);
  EXPECT_EQ(layout.params[0].source, PackedParam::Source::TensorMap);
  EXPECT_EQ(layout.params[0].offset, 0);
  EXPECT_EQ(layout.params[0].size, 128);
  EXPECT_EQ(layout.params[0].index, 0); // the launch's first tensor map
  EXPECT_EQ(layout.params[0].dim, 0);   // args[0]
  EXPECT_EQ(layout.params[1].offset, 128);
  EXPECT_EQ(layout.params[1].index, 1);
  EXPECT_EQ(layout.params[2].offset, 256);
  EXPECT_EQ(layout.totalBytes, 256 + 40 + 4);
  EXPECT_NE(describeLayout(k, v, l, layout).find("tensor_map tm_q"),
            std::string::npos);
}

TEST(TensorMaps, AScratchMapIsNamedAfterItsBuffer) {
  KernelSpec k;
  ParamSpec q;
  q.name = "q";
  q.dtype = DType::BF16;
  q.shape.resize(4);
  k.params = {q};
  VariantSpec v;
  ScratchSpec kv;
  kv.name = "kv";
  kv.dtype = DType::BF16;
  kv.shape.resize(4);
  v.scratch = {kv};
  LaunchSpec l;
  ArgSpec paramMap, scratchMap;
  paramMap.kind = scratchMap.kind = ArgSpec::Kind::TensorMap;
  paramMap.index = scratchMap.index = 0;
  scratchMap.mapsScratch = true;
  l.args = {paramMap, scratchMap};
  ParamLayout layout = layoutLaunchParams(k, v, l);
  ASSERT_EQ(layout.params.size(), 2u);
  EXPECT_EQ(layout.params[1].source, PackedParam::Source::TensorMap);
  EXPECT_EQ(layout.params[1].offset, 128);
  EXPECT_EQ(describeLayout(k, v, l, layout),
            "tensor_map tm_q, tensor_map tm_kv");
}

} // namespace
