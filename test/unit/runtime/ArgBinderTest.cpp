//===- ArgBinderTest.cpp - Launch argument checks, without a GPU ----------===//
//
// Every check of docs/bundle-format.md §3 steps 1-5 runs before any driver
// call, so these run on the fixture kernel with no device and fake (but
// aligned) pointers: a bad argument must be reported by name, never reach a
// GPU.
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"
#include "runtime/ArgBinder.h"
#include "runtime/BundleData.h"

#include <gtest/gtest.h>

using namespace flashgen;
using namespace flashgen::test;

namespace {

#define EXPECT_CONTAINS(haystack, needle)                                      \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos)             \
      << "missing \"" << (needle) << "\" in: " << (haystack)

/// Arguments for the fixture's axpy(x, y, o, rowsum) at B x 4 x N x 16,
/// contiguous, pointing at fake aligned addresses.
struct AxpyArgs {
  int64_t B, N;
  int64_t xSizes[4], ySizes[4], oSizes[4], rSizes[3];
  int64_t xStrides[4], yStrides[4], oStrides[4], rStrides[3];
  TensorArg t[4];

  AxpyArgs(int64_t b, int64_t n) : B(b), N(n) {
    int64_t full[4] = {b, 4, n, 16};
    int64_t contiguous[4] = {4 * n * 16, n * 16, 16, 1};
    for (int d = 0; d < 4; ++d) {
      xSizes[d] = ySizes[d] = oSizes[d] = full[d];
      xStrides[d] = yStrides[d] = oStrides[d] = contiguous[d];
    }
    for (int d = 0; d < 3; ++d)
      rSizes[d] = full[d];
    rStrides[0] = 4 * n;
    rStrides[1] = n;
    rStrides[2] = 1;
    t[0] = {fake(0x100000), DType::BF16, 4, xSizes, xStrides};
    t[1] = {fake(0x200000), DType::F32, 4, ySizes, yStrides};
    t[2] = {fake(0x300000), DType::F32, 4, oSizes, oStrides};
    t[3] = {fake(0x400000), DType::F32, 3, rSizes, rStrides};
  }
  static void *fake(uintptr_t p) { return reinterpret_cast<void *>(p); }
};

class ArgBinder : public ::testing::Test {
protected:
  void SetUp() override {
    bundle = loadAxpy();
    ASSERT_TRUE(bundle);
    ASSERT_TRUE(isOk(bundle->getKernel("axpy", nullptr, kernel)));
  }
  Status validate(const AxpyArgs &a, const std::vector<ScalarArg> &s = {}) {
    return kernel->validate(a.t, 4, s.data(), s.size());
  }
  std::string error(const AxpyArgs &a, const std::vector<ScalarArg> &s = {}) {
    Status st = validate(a, s);
    EXPECT_EQ(st.code(), StatusCode::InvalidArgument) << st.toString();
    return st.message();
  }
  std::shared_ptr<Bundle> bundle;
  std::unique_ptr<Kernel> kernel;
};

TEST_F(ArgBinder, AcceptsGoodArguments) {
  AxpyArgs a(2, 37);
  EXPECT_TRUE(isOk(validate(a)));
  EXPECT_TRUE(isOk(validate(a, {ScalarArg::ofFloat(0.5)})));
  EXPECT_TRUE(isOk(validate(a, {ScalarArg::useDefault()})));
  // The optional output may be absent.
  a.t[3].data = nullptr;
  EXPECT_TRUE(isOk(validate(a)));
  // Null strides mean contiguous.
  AxpyArgs c(1, 5);
  for (TensorArg &t : c.t)
    t.strides = nullptr;
  EXPECT_TRUE(isOk(validate(c)));
}

TEST_F(ArgBinder, NullAndMisalignedPointers) {
  AxpyArgs a(2, 37);
  a.t[1].data = nullptr;
  EXPECT_EQ(error(a), "y: null data pointer");
  AxpyArgs b(2, 37);
  b.t[0].data = AxpyArgs::fake(0x100008);
  EXPECT_CONTAINS(error(b), "x: data pointer 0x100008 is not 16-byte aligned");
  // rowsum asks only for 4-byte alignment.
  AxpyArgs c(2, 37);
  c.t[3].data = AxpyArgs::fake(0x400004);
  EXPECT_TRUE(isOk(validate(c)));
  c.t[3].data = AxpyArgs::fake(0x400002);
  EXPECT_CONTAINS(error(c), "rowsum: data pointer 0x400002 is not 4-byte aligned");
}

TEST_F(ArgBinder, WrongDtypeRankAndCount) {
  AxpyArgs a(2, 37);
  a.t[0].dtype = DType::F16;
  EXPECT_EQ(error(a), "x: dtype is f16, expected bf16");
  AxpyArgs b(2, 37);
  b.t[2].rank = 3;
  EXPECT_EQ(error(b), "o: rank is 3, expected 4 (shape [B, 4, N, 16])");
  AxpyArgs c(2, 37);
  Status st = kernel->validate(c.t, 3, nullptr, 0);
  EXPECT_EQ(st.message(), "kernel axpy takes 4 tensors (x, y, o, rowsum), got 3");
  std::vector<ScalarArg> tooMany = {ScalarArg::ofFloat(1), ScalarArg::ofFloat(2)};
  EXPECT_EQ(error(c, tooMany), "kernel axpy takes 1 scalars, got 2");
  EXPECT_EQ(error(c, {ScalarArg::ofInt(3)}),
            "scalar alpha: expected a float (f32), got i64");
  ScalarArg inf = ScalarArg::ofFloat(1.0 / 0.0);
  EXPECT_EQ(error(c, {inf}), "scalar alpha is not finite");
}

TEST_F(ArgBinder, ShapeMismatches) {
  AxpyArgs a(2, 37);
  a.xSizes[1] = 5;
  EXPECT_EQ(error(a), "x: dim 1 is 5, expected 4 (shape [B, 4, N, 16])");
  AxpyArgs b(2, 37);
  b.oSizes[3] = 32;
  EXPECT_CONTAINS(error(b), "o: dim 3 is 32, expected 16");
  AxpyArgs c(2, 37);
  c.xSizes[0] = -1;
  EXPECT_EQ(error(c), "x: dim 0 has size -1");
}

TEST_F(ArgBinder, SymbolsBindConsistently) {
  AxpyArgs a(2, 37);
  a.ySizes[2] = 38;
  EXPECT_EQ(error(a), "y: dim 2 (N) is 38 but x dim 2 bound N=37");
  AxpyArgs b(2, 37);
  b.rSizes[0] = 3;
  EXPECT_EQ(error(b), "rowsum: dim 0 (B) is 3 but x dim 0 bound B=2");
  // An absent optional tensor binds nothing.
  b.t[3].data = nullptr;
  EXPECT_TRUE(isOk(validate(b)));
}

TEST_F(ArgBinder, SymbolRangesAndConstraints) {
  AxpyArgs big(1, 70000);
  EXPECT_EQ(error(big), "N = 70000 (x dim 2) is out of range [1, 65536]");
  AxpyArgs many(32, 65536);
  EXPECT_EQ(error(many),
            "constraint \"B * N <= 1048576\" does not hold (B=32, N=65536)");
}

TEST_F(ArgBinder, Strides) {
  AxpyArgs a(2, 37);
  a.xStrides[3] = 2;
  EXPECT_EQ(error(a), "x: the last dim must be contiguous (stride 1), got stride 2");
  AxpyArgs b(2, 37);
  b.yStrides[1] = -16;
  EXPECT_CONTAINS(error(b), "y: stride 1 is -16 (negative strides");
  // x rows are read with 16-byte loads: strides must be multiples of 8.
  AxpyArgs c(2, 37);
  c.xStrides[2] = 20;
  EXPECT_EQ(error(c), "x: stride 2 is 20, not a multiple of 8 elements");
  // A padded view (row stride 24) is fine.
  AxpyArgs d(2, 37);
  d.xStrides[2] = 24;
  d.xStrides[1] = 24 * 37;
  d.xStrides[0] = 4 * 24 * 37;
  EXPECT_TRUE(isOk(validate(d)));
  // Broadcast input heads (expand) are fine; a broadcast output is not.
  AxpyArgs e(2, 37);
  e.xStrides[1] = 0;
  EXPECT_TRUE(isOk(validate(e)));
  e.oStrides[1] = 0;
  EXPECT_EQ(error(e), "o: stride 1 is 0 on a dim of size 4; an output cannot be "
                      "broadcast");
  // A last dim of size 1 may carry any stride (PyTorch gives arbitrary ones).
  AxpyArgs f(2, 1);
  f.rSizes[2] = 1;
  f.rStrides[2] = 7;
  EXPECT_TRUE(isOk(validate(f)));
}

TEST_F(ArgBinder, WorkspaceSizesAndChecks) {
  AxpyArgs a(2, 37);
  size_t bytes = 1;
  ASSERT_TRUE(isOk(kernel->workspaceBytes(a.t, 4, nullptr, 0, bytes)));
  EXPECT_EQ(bytes, 0u); // variant 0 has no scratch
  ASSERT_TRUE(isOk(kernel->selectVariant(1)));
  ASSERT_TRUE(isOk(kernel->workspaceBytes(a.t, 4, nullptr, 0, bytes)));
  EXPECT_EQ(bytes, 2u * 4 * 37 * 16 * sizeof(float));

  alignas(16) static char fakeWorkspace[16];
  LaunchOptions small;
  small.workspace = fakeWorkspace;
  small.workspaceBytes = bytes - 1;
  Status st = kernel->launch(a.t, 4, nullptr, 0, small);
  EXPECT_EQ(st.code(), StatusCode::InvalidArgument);
  EXPECT_EQ(st.message(), "workspace: " + std::to_string(bytes - 1) +
                              " bytes given, these sizes need " +
                              std::to_string(bytes));
  LaunchOptions misaligned = small;
  misaligned.workspace = fakeWorkspace + 4;
  misaligned.workspaceBytes = bytes;
  EXPECT_CONTAINS(kernel->launch(a.t, 4, nullptr, 0, misaligned).message(),
                  "is not 16-byte aligned");
  // Everything checks out: only now does the missing device matter.
  LaunchOptions good = small;
  good.workspaceBytes = bytes;
  st = kernel->launch(a.t, 4, nullptr, 0, good);
  EXPECT_EQ(st.code(), StatusCode::NoDevice);
  EXPECT_CONTAINS(st.message(), "created without a device");
}

TEST_F(ArgBinder, StridedLastDimTakesAnyLastStride) {
  // A param whose kernels step its last dim by its stride (the manifest's
  // strided_last_dim, a recurrence's [B, H, T] gates stored [B, T, H]):
  // rowsum's [B, 4, N] stored time-major binds, and its stride reaches the
  // kernel as it is; without the flag the same view is refused by name.
  KernelSpec k = *bundle->data().manifest.findKernel("axpy");
  int64_t allowed[2] = {48 * 1024, 48 * 1024};
  DeviceLimits limits;
  limits.maxDynamicSharedBytes = allowed;
  BoundArgs bound;
  AxpyArgs timeMajor(2, 37);
  timeMajor.rStrides[0] = 4 * 37;
  timeMajor.rStrides[1] = 1;
  timeMajor.rStrides[2] = 4;
  Status st = bindArguments(k, k.variants[0], timeMajor.t, 4, nullptr, 0, limits, bound);
  EXPECT_EQ(st.message(), "rowsum: the last dim must be contiguous (stride 1), got stride 4");
  k.params[3].stridedLastDim = true;
  st = bindArguments(k, k.variants[0], timeMajor.t, 4, nullptr, 0, limits, bound);
  ASSERT_TRUE(isOk(st)) << st.toString();
  EXPECT_EQ(bound.tensorStrides[3][2], 4);
  EXPECT_EQ(bound.tensorStrides[3][1], 1);
  // Still an output: a broadcast (zero) last stride is refused.
  timeMajor.rStrides[2] = 0;
  st = bindArguments(k, k.variants[0], timeMajor.t, 4, nullptr, 0, limits, bound);
  EXPECT_EQ(st.message(), "rowsum: stride 2 is 0 on a dim of size 37; an output cannot be "
                          "broadcast");
}

TEST_F(ArgBinder, MayAliasAllowsTheInputItselfOnly) {
  // A recurrence's final state over its initial state (the manifest's
  // may_alias): the same pointer and strides pass, any other view fails.
  KernelSpec k = *bundle->data().manifest.findKernel("axpy");
  k.params[2].mayAlias = 1; // o may be y
  int64_t allowed[2] = {48 * 1024, 48 * 1024};
  DeviceLimits limits;
  limits.maxDynamicSharedBytes = allowed;
  BoundArgs bound;
  AxpyArgs same(2, 37);
  same.t[2].data = same.t[1].data;
  EXPECT_TRUE(isOk(bindArguments(k, k.variants[0], same.t, 4, nullptr, 0, limits, bound)));
  AxpyArgs shifted(2, 37);
  shifted.t[2].data = static_cast<char *>(shifted.t[1].data) + 64;
  Status st = bindArguments(k, k.variants[0], shifted.t, 4, nullptr, 0, limits, bound);
  EXPECT_EQ(st.message(), "o: output memory overlaps y (it may be y itself, with the "
                          "same strides, but no other view of it)");
  AxpyArgs strided(2, 37);
  strided.t[2].data = strided.t[1].data;
  strided.oStrides[0] *= 2; // same start, another layout
  st = bindArguments(k, k.variants[0], strided.t, 4, nullptr, 0, limits, bound);
  EXPECT_CONTAINS(st.message(), "it may be y itself");
  // x may not alias o: only the named input.
  AxpyArgs other(2, 37);
  other.t[2].data = other.t[0].data;
  st = bindArguments(k, k.variants[0], other.t, 4, nullptr, 0, limits, bound);
  EXPECT_CONTAINS(st.message(), "outputs may not alias or overlap");
}

TEST_F(ArgBinder, SharedMemoryLimitNamesNeededAndAvailable) {
  const KernelSpec &k = *bundle->data().manifest.findKernel("axpy");
  AxpyArgs a(2, 37);
  BoundArgs bound;
  int64_t allowed[2] = {48 * 1024, 100}; // launch 1 needs 32 * 4 = 128 bytes
  DeviceLimits limits;
  limits.maxDynamicSharedBytes = allowed;
  limits.arch = "sm_80";
  limits.ordinal = 0;
  Status st = bindArguments(k, k.variants[1], a.t, 4, nullptr, 0, limits, bound);
  EXPECT_EQ(st.code(), StatusCode::OutOfResources);
  EXPECT_EQ(st.message(), "launch 1 (fixture_axpy_v1_add) needs 128 bytes of "
                          "dynamic shared memory; the sm_80 device 0 allows 100 "
                          "(its opt-in maximum minus the entry's static shared "
                          "memory)");
  allowed[1] = 128;
  ASSERT_TRUE(isOk(bindArguments(k, k.variants[1], a.t, 4, nullptr, 0, limits,
                                 bound)));
  EXPECT_EQ(bound.launches[1].dynamicSmemBytes, 128u);
  EXPECT_EQ(bound.launches[0].grid[0], 2u); // cdiv(37, 32)
  EXPECT_EQ(bound.launches[0].grid[1], 4u);
  EXPECT_EQ(bound.launches[0].grid[2], 2u);
  EXPECT_EQ(bound.slots[0], 2);  // B
  EXPECT_EQ(bound.slots[1], 37); // N
  EXPECT_FLOAT_EQ(bound.scalarFloat[0], 2.0f); // default alpha
  EXPECT_EQ(bound.tensorExtentBytes[0], uint64_t(2 * 4 * 37 * 16) * 2);
  EXPECT_EQ(bound.scratchStrides[0][0], 4 * 37 * 16);
  EXPECT_EQ(bound.scratchStrides[0][3], 1);
  // tmp's evaluated shape [B, 4, N, 16], for a tensor map of the buffer.
  const int64_t tmpDims[4] = {2, 4, 37, 16};
  for (int d = 0; d < 4; ++d)
    EXPECT_EQ(bound.scratchDims[0][d], tmpDims[d]) << "dim " << d;
}

/// A kernel whose geometry comes from an integer scalar, for the grid and
/// expression-argument limits.
const char *kGeometryManifest = R"json({
  "format": "flashgen-bundle", "version": 1, "flashgen_version": "0.1.0",
  "target": "sm_80",
  "kernels": [{
    "name": "g", "op": "test",
    "symbols": ["N"],
    "scalars": [{"name": "split", "dtype": "i32"}],
    "params": [{"name": "x", "io": "inout", "dtype": "f32", "shape": ["N", "split"]},
               {"name": "lens", "io": "in", "dtype": "i32", "shape": ["N + 1"]}],
    "variants": [{
      "sources": ["g.cu"],
      "launches": [{"entry": "g", "grid": [1, "split", 1], "block": [32, 1, 1],
                    "args": [{"tensor": "x"}, {"expr": "N * 4096"}]}]
    }]
  }]
})json";

TEST(ArgBinderGeometry, GridExpressionAndDerivedDimLimits) {
  std::shared_ptr<Bundle> b;
  ASSERT_TRUE(isOk(Bundle::fromMemory(kGeometryManifest, {{"g.cu", ""}}, "mem", b)));
  std::unique_ptr<Kernel> k;
  ASSERT_TRUE(isOk(b->getKernel("g", nullptr, k)));
  int64_t xs[2] = {10, 4}, ls[1] = {11};
  TensorArg t[2] = {{AxpyArgs::fake(0x1000), DType::F32, 2, xs, nullptr},
                    {AxpyArgs::fake(0x2000), DType::I32, 1, ls, nullptr}};
  Status st = k->validate(t, 2, nullptr, 0);
  EXPECT_EQ(st.message(), "scalar split has no default; pass a value");
  ScalarArg split = ScalarArg::ofInt(4);
  EXPECT_TRUE(isOk(k->validate(t, 2, &split, 1)));
  ScalarArg wrongKind = ScalarArg::ofFloat(4);
  EXPECT_EQ(k->validate(t, 2, &wrongKind, 1).message(),
            "scalar split: expected an integer (i32), got f32");
  ScalarArg tooBig = ScalarArg::ofInt(int64_t(1) << 33);
  EXPECT_CONTAINS(k->validate(t, 2, &tooBig, 1).message(),
                  "does not fit in i32");
  ls[0] = 10;
  EXPECT_EQ(k->validate(t, 2, &split, 1).message(),
            "lens: dim 0 is 10, expected N + 1 = 11");
  ls[0] = 11;
  // grid.y = split must stay within 65535.
  xs[1] = 70000;
  ScalarArg wide = ScalarArg::ofInt(70000);
  EXPECT_EQ(k->validate(t, 2, &wide, 1).message(),
            "launch 0 (g): grid.y = split = 70000 is outside [1, 65535]");
  // An int argument computed from sizes must fit in int.
  xs[0] = 600000;
  xs[1] = 4;
  ls[0] = 600001;
  EXPECT_EQ(k->validate(t, 2, &split, 1).message(),
            "launch 0 (g): arg 1 (N * 4096) = 2457600000 does not fit in int");
}

/// A persistent kernel: one CTA an SM over cdiv(N, 64) tiles.
const char *kPersistentManifest = R"json({
  "format": "flashgen-bundle", "version": 1, "flashgen_version": "0.1.0",
  "target": "sm_90",
  "kernels": [{
    "name": "p", "op": "test",
    "symbols": ["N"],
    "params": [{"name": "x", "io": "inout", "dtype": "f32", "shape": ["N"]}],
    "variants": [{
      "sources": ["p.cu"],
      "launches": [{"entry": "p", "grid": ["min(cdiv(N,64),num_sms)", 1, 1], "block": [32, 1, 1],
                    "args": [{"tensor": "x"}, {"expr": "num_sms"}]}]
    }]
  }]
})json";

TEST(ArgBinderGeometry, NumSmsIsTheDevicesSmCount) {
  // num_sms is the launching device's SM count (1 without a device): a
  // persistent grid is one CTA an SM, or fewer where there are fewer tiles.
  std::shared_ptr<Bundle> b;
  ASSERT_TRUE(isOk(Bundle::fromMemory(kPersistentManifest, {{"p.cu", ""}}, "mem", b)));
  const KernelSpec &k = *b->data().manifest.findKernel("p");
  int64_t n[1] = {64 * 100};
  TensorArg t[1] = {{AxpyArgs::fake(0x1000), DType::F32, 1, n, nullptr}};
  BoundArgs bound;
  DeviceLimits h100pcie;
  h100pcie.multiprocessors = 114;
  ASSERT_TRUE(isOk(bindArguments(k, k.variants[0], t, 1, nullptr, 0, h100pcie, bound)));
  EXPECT_EQ(bound.launches[0].grid[0], 100u);
  n[0] = 64 * 1000;
  ASSERT_TRUE(isOk(bindArguments(k, k.variants[0], t, 1, nullptr, 0, h100pcie, bound)));
  EXPECT_EQ(bound.launches[0].grid[0], 114u);
  DeviceLimits h200;
  h200.multiprocessors = 132;
  ASSERT_TRUE(isOk(bindArguments(k, k.variants[0], t, 1, nullptr, 0, h200, bound)));
  EXPECT_EQ(bound.launches[0].grid[0], 132u);
  ASSERT_TRUE(isOk(bindArguments(k, k.variants[0], t, 1, nullptr, 0, DeviceLimits(), bound)));
  EXPECT_EQ(bound.launches[0].grid[0], 1u);
  // No symbol or scalar may take the name.
  std::string clash = kPersistentManifest;
  clash.replace(clash.find("\"symbols\": [\"N\"]"), 16, "\"symbols\": [\"num_sms\"]");
  std::shared_ptr<Bundle> bad;
  Status st = Bundle::fromMemory(clash, {{"p.cu", ""}}, "mem", bad);
  EXPECT_CONTAINS(st.message(), "'num_sms' names the device's SM count in expressions");
}

} // namespace

namespace {

TEST_F(ArgBinder, EmptyOutputsAreANoOp) {
  // N = 0 or B = 0 empties every output: checked, then nothing to launch
  // (issue #20: this was an error). PyTorch's empty tensors may carry null
  // pointers.
  for (auto [b, n] : {std::pair<int64_t, int64_t>{2, 0}, {0, 5}, {0, 0}}) {
    AxpyArgs a(b, n);
    EXPECT_TRUE(isOk(validate(a))) << b << " x " << n;
    for (TensorArg &t : a.t)
      t.data = nullptr;
    EXPECT_TRUE(isOk(validate(a))) << b << " x " << n;
    // Still checked: dtypes and shapes.
    a.t[1].dtype = DType::BF16;
    EXPECT_CONTAINS(error(a), "y: dtype is bf16");
  }
  // A null pointer stays an error where the tensor is not empty.
  AxpyArgs full(2, 3);
  full.t[0].data = nullptr;
  EXPECT_EQ(error(full), "x: null data pointer");
}

TEST_F(ArgBinder, RowStrideMustKeepSixteenByteLoadsAligned) {
  // Issue #20: a bf16 row stride of 129 elements (258 bytes) passed.
  AxpyArgs a(1, 4);
  a.xStrides[2] = 129;
  a.xStrides[1] = 136 * 4; // the head and batch strides are fine
  a.xStrides[0] = 136 * 16;
  EXPECT_EQ(error(a), "x: stride 2 is 129, not a multiple of 8 elements");
}

TEST_F(ArgBinder, OutputsMayNotAliasOrOverlap) {
  AxpyArgs same(2, 37);
  same.t[2].data = same.t[1].data; // o = y, in place
  EXPECT_EQ(error(same), "o: output memory overlaps y (outputs may not alias "
                         "or overlap any other argument)");
  AxpyArgs shifted(2, 37);
  shifted.t[3].data = static_cast<char *>(shifted.t[2].data) + 64; // rowsum in o
  EXPECT_CONTAINS(error(shifted), "overlaps");
  AxpyArgs self(2, 37);
  self.oStrides[2] = 8; // rows of 16 floats, 8 apart
  EXPECT_EQ(error(self),
            "o: strides make two elements of this output share memory");
  // Inputs may overlap each other (both read only).
  AxpyArgs inputs(2, 37);
  inputs.t[0].data = inputs.t[1].data;
  EXPECT_TRUE(isOk(validate(inputs)));
}

} // namespace

/// Two variants and a dispatch by N: v1 up to N = 1024, v0 above.
const char *kDispatchManifest = R"json({
  "format": "flashgen-bundle", "version": 1, "flashgen_version": "0.1.0",
  "target": "sm_90a",
  "kernels": [{
    "name": "d", "op": "attention", "symbols": ["N"],
    "params": [{"name": "x", "io": "inout", "dtype": "f32", "shape": ["N", 4]}],
    "dispatch": {"by": "N", "upper_bounds": [1024], "variants": [1, 0]},
    "variants": [
      {"sources": ["d.cu"], "launches": [{"entry": "d0", "grid": [1, 1, 1], "block": [32, 1, 1],
                                          "args": [{"tensor": "x"}]}]},
      {"sources": ["d.cu"], "launches": [{"entry": "d1", "grid": [1, 1, 1], "block": [32, 1, 1],
                                          "args": [{"tensor": "x"}]}]}]
  }]
})json";

TEST(Dispatch, TheSizeRulePicksUntilAVariantIsSelected) {
  std::shared_ptr<Bundle> b;
  ASSERT_TRUE(isOk(Bundle::fromMemory(kDispatchManifest, {{"d.cu", ""}}, "mem", b)));
  std::unique_ptr<Kernel> k;
  ASSERT_TRUE(isOk(b->getKernel("d", nullptr, k)));
  auto variantAt = [&](int64_t n) {
    int64_t sizes[2] = {n, 4};
    TensorArg t{AxpyArgs::fake(0x1000), DType::F32, 2, sizes, nullptr};
    return k->variantFor(&t, 1);
  };
  EXPECT_EQ(variantAt(1), 1);
  EXPECT_EQ(variantAt(1024), 1);
  EXPECT_EQ(variantAt(1025), 0);
  EXPECT_EQ(variantAt(1 << 20), 0);
  // A tensor without sizes, or none, cannot tell the size: the current
  // variant (validation then reports what is wrong).
  TensorArg scalar{AxpyArgs::fake(0x1000), DType::F32, 0, nullptr, nullptr};
  EXPECT_EQ(k->variantFor(&scalar, 1), 0);
  EXPECT_EQ(k->variantFor(nullptr, 0), 0);
  // An explicit choice wins over the rule.
  ASSERT_TRUE(isOk(k->selectVariant(0)));
  EXPECT_EQ(variantAt(16), 0);
}
