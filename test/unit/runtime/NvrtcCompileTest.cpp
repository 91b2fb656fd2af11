//===- NvrtcCompileTest.cpp - Compile-only path, no GPU -------------------===//
//
// NVRTC needs no GPU: the fixture compiles for sm_80 and sm_90a with a
// resource report; NVRTC failures carry the log and the source path; the
// manifest's argument packing is checked against the compiled entry.
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"
#include "runtime/CompileCache.h"
#include "runtime/NvrtcCompiler.h"

#include <gtest/gtest.h>

using namespace flashgen;
using namespace flashgen::test;

namespace {

#define EXPECT_CONTAINS(haystack, needle)                                      \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos)             \
      << "missing \"" << (needle) << "\" in: " << (haystack)

const FunctionReport *findFunction(const CompileReport &r,
                                   const std::string &entry) {
  for (const ModuleReport &m : r.modules)
    for (const FunctionReport &f : m.functions)
      if (f.entry == entry)
        return &f;
  return nullptr;
}

class NvrtcCompile : public ::testing::TestWithParam<const char *> {
protected:
  IsolatedCache cache;
};

TEST_P(NvrtcCompile, FixtureCompilesWithResourceReport) {
  const std::string arch = GetParam();
  std::shared_ptr<Bundle> b = loadAxpy();
  ASSERT_TRUE(b);
  for (int variant = 0; variant < 2; ++variant) {
    CompileReport r;
    ASSERT_TRUE(isOk(b->compileVariant("axpy", variant, arch, r)));
    EXPECT_EQ(r.arch, arch);
    ASSERT_EQ(r.modules.size(), 1u);
    const ModuleReport &m = r.modules[0];
    EXPECT_FALSE(m.cacheHit);
    EXPECT_GT(m.cubinBytes, 0u);
    EXPECT_EQ(m.cacheKey.size(), 64u);
    EXPECT_TRUE(m.warnings.empty()) << m.log;
    // Some NVRTC builds (seen on the GPU machine's) return no ptxas report
    // for --ptxas-options=-v; the resource figures are then unknown (-1).
    if (m.log.find("ptxas") == std::string::npos)
      GTEST_SKIP() << "this NVRTC (" << nvrtcVersionString()
                   << ") returned no ptxas resource report";
    EXPECT_CONTAINS(m.log, "for '" + arch + "'");
    const char *entries[2][2] = {{"fixture_axpy_v0", nullptr},
                                 {"fixture_axpy_v1_scale", "fixture_axpy_v1_add"}};
    for (const char *entry : entries[variant]) {
      if (!entry)
        continue;
      const FunctionReport *f = findFunction(r, entry);
      ASSERT_NE(f, nullptr) << entry;
      EXPECT_GT(f->usage.registers, 0) << entry;
      EXPECT_LE(f->usage.registers, 255) << entry;
      EXPECT_EQ(f->usage.spillBytes(), 0) << entry;
      EXPECT_EQ(f->usage.stackBytes, 0) << entry;
      EXPECT_EQ(f->usage.sharedBytes, 0) << entry; // dynamic only
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Arches, NvrtcCompile,
                         ::testing::Values("sm_80", "sm_90a"));

/// A one-kernel bundle around `source`, whose single launch passes `args`.
std::shared_ptr<Bundle> bundleWith(const std::string &source,
                                   const std::string &args,
                                   const std::string &block = "[32, 1, 1]",
                                   const std::string &headers = "[]",
                                   Status *loadStatus = nullptr) {
  std::string manifest = R"json({
    "format": "flashgen-bundle", "version": 1, "flashgen_version": "0.1.0",
    "target": "sm_80",
    "kernels": [{"name": "k", "op": "test", "symbols": ["N"],
      "params": [{"name": "x", "io": "inout", "dtype": "f32", "shape": ["N"]}],
      "variants": [{"sources": ["k.cu"], "headers": )json" + headers + R"json(,
        "launches": [{"entry": "k_entry", "grid": [1, 1, 1], "block": )json" +
                         block + R"json(, "args": )json" + args + R"json(}]}]}]})json";
  std::shared_ptr<Bundle> b;
  Status st = Bundle::fromMemory(manifest, {{"k.cu", source}}, "mem.bundle", b);
  if (loadStatus)
    *loadStatus = st;
  else
    EXPECT_TRUE(isOk(st));
  return b;
}

const char *kGoodSource = R"json(
extern "C" __global__ void __launch_bounds__(64) k_entry(float *x, long long s0, int n) {
  int i = threadIdx.x;
  if (i < n) x[i * s0] *= 2.0f;
}
)json";

TEST(NvrtcFailure, ReportsTheFullLogAndSource) {
  IsolatedCache cache;
  auto b = bundleWith("extern \"C\" __global__ void k_entry(float *x) {\n"
                      "  undeclared_thing(x);\n}\n",
                      R"json([{"tensor": "x"}])json");
  CompileReport r;
  Status st = b->compileVariant("k", 0, "sm_90a", r);
  EXPECT_EQ(st.code(), StatusCode::CompileError);
  EXPECT_CONTAINS(st.message(), "NVRTC failed to compile mem.bundle/k.cu");
  EXPECT_CONTAINS(st.message(), "--gpu-architecture=sm_90a");
  EXPECT_CONTAINS(st.message(), "identifier \"undeclared_thing\" is undefined");
  EXPECT_CONTAINS(st.message(), "mem.bundle/k.cu(2)"); // line of the error
}

TEST(NvrtcFailure, OnlyListedHeadersAreVisible) {
  // Refused when the bundle loads (runtime/Sandbox.h), before NVRTC could
  // look for the file anywhere.
  Status st;
  auto b = bundleWith(std::string("#include \"flashgen/device/unlisted.cuh\"\n") +
                          kGoodSource,
                      R"json([{"tensor": "x"}, {"symbol": "N"}])json",
                      "[32, 1, 1]", "[]", &st);
  EXPECT_FALSE(b);
  EXPECT_EQ(st.code(), StatusCode::BundleFormat);
  EXPECT_CONTAINS(st.message(), "k.cu includes \"flashgen/device/unlisted.cuh\"");
}

TEST(ArgsAgainstCubin, MatchingArgsPass) {
  IsolatedCache cache;
  auto b = bundleWith(kGoodSource, R"json([{"tensor": "x"}, {"symbol": "N"}])json");
  CompileReport r;
  EXPECT_TRUE(isOk(b->compileVariant("k", 0, "sm_80", r)));
}

TEST(ArgsAgainstCubin, MissingArgIsABundleError) {
  IsolatedCache cache;
  auto b = bundleWith(kGoodSource, R"json([{"tensor": "x"}])json");
  CompileReport r;
  Status st = b->compileVariant("k", 0, "sm_80", r);
  EXPECT_EQ(st.code(), StatusCode::BundleFormat);
  EXPECT_CONTAINS(st.message(), "entry k_entry takes 3 parameters but the "
                                "manifest's args expand to 2");
  EXPECT_CONTAINS(st.message(), "(f32* x, long long x_stride0)");
}

TEST(ArgsAgainstCubin, WrongTypeIsABundleError) {
  IsolatedCache cache;
  // {"scalar"} would be 4 bytes; a long long parameter in the kernel is 8.
  auto b = bundleWith(R"json(
extern "C" __global__ void k_entry(float *x, long long s0, long long n) {
  if (threadIdx.x < n) x[threadIdx.x * s0] = 0.0f;
})json",
                      R"json([{"tensor": "x"}, {"symbol": "N"}])json");
  CompileReport r;
  Status st = b->compileVariant("k", 0, "sm_80", r);
  EXPECT_EQ(st.code(), StatusCode::BundleFormat);
  EXPECT_CONTAINS(st.message(), "parameter 2 is 8 bytes at offset 16 but the "
                                "manifest expects 4 bytes at offset 16");
}

TEST(ArgsAgainstCubin, MissingEntryAndLaunchBounds) {
  IsolatedCache cache;
  std::string renamed = kGoodSource;
  renamed.replace(renamed.find("k_entry"), 7, "k_other");
  auto b = bundleWith(renamed, R"json([{"tensor": "x"}, {"symbol": "N"}])json");
  CompileReport r;
  Status st = b->compileVariant("k", 0, "sm_80", r);
  EXPECT_EQ(st.code(), StatusCode::NotFound);
  EXPECT_CONTAINS(st.message(), "entry k_entry is not defined by k.cu");

  auto wide = bundleWith(kGoodSource, R"json([{"tensor": "x"}, {"symbol": "N"}])json",
                         "[128, 1, 1]");
  st = wide->compileVariant("k", 0, "sm_80", r);
  EXPECT_EQ(st.code(), StatusCode::OutOfResources);
  EXPECT_CONTAINS(st.message(), "block of 128 threads exceeds the 64 threads of "
                                "k_entry's __launch_bounds__");
}

TEST(CompileVariant, BadArgumentsAreNamed) {
  std::shared_ptr<Bundle> b = loadAxpy();
  CompileReport r;
  EXPECT_EQ(b->compileVariant("nope", 0, "sm_80", r).code(), StatusCode::NotFound);
  EXPECT_CONTAINS(b->compileVariant("axpy", 2, "sm_80", r).message(),
                  "has 2 variants; there is no variant 2");
  EXPECT_CONTAINS(b->compileVariant("axpy", 0, "hopper", r).message(),
                  "arch: \"hopper\" is not an arch");
}

TEST(PtxasLog, ParsesResourcesSpillsAndWarnings) {
  const std::string log =
      "ptxas info    : 0 bytes gmem\n"
      "ptxas info    : Compiling entry function 'big' for 'sm_80'\n"
      "ptxas info    : Function properties for big\n"
      "    24 bytes stack frame, 16 bytes spill stores, 12 bytes spill loads\n"
      "ptxas info    : Used 255 registers, used 1 barriers, 49152 bytes smem, "
      "400 bytes cmem[0]\n"
      "ptxas info    : Function properties for helper\n"
      "    8 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
      "ptxas info    : Compiling entry function 'small' for 'sm_80'\n"
      "ptxas info    : Function properties for small\n"
      "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
      "ptxas info    : Used 10 registers, used 0 barriers\n"
      "k.cu(3): warning #177-D: variable \"unused\" was declared but never "
      "referenced\n"
      "    int unused_warning = 0;\n" // the echoed source line is no warning
      "Remark: The warnings can be suppressed with \"-diag-suppress\"\n"
      "ptxas warning : Registers are spilled to local memory\n";
  std::vector<FunctionReport> fns;
  std::vector<std::string> warnings;
  parsePtxasLog(log, fns, warnings);
  ASSERT_EQ(fns.size(), 2u);
  EXPECT_EQ(fns[0].entry, "big");
  EXPECT_EQ(fns[0].usage.registers, 255);
  EXPECT_EQ(fns[0].usage.sharedBytes, 49152);
  EXPECT_EQ(fns[0].usage.stackBytes, 24);
  EXPECT_EQ(fns[0].usage.spillStoreBytes, 16);
  EXPECT_EQ(fns[0].usage.spillLoadBytes, 12);
  EXPECT_EQ(fns[0].usage.spillBytes(), 28);
  EXPECT_EQ(fns[1].entry, "small");
  EXPECT_EQ(fns[1].usage.registers, 10);
  EXPECT_EQ(fns[1].usage.sharedBytes, 0);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_CONTAINS(warnings[0], "#177-D");
  EXPECT_CONTAINS(warnings[1], "ptxas warning");
}

TEST(CacheKey, CoversEveryInput) {
  std::string text = "source", header = "header", header2 = "header2";
  ModuleSource s;
  s.name = "k.cu";
  s.text = &text;
  s.headers = {{"flashgen/device/a.cuh", &header}};
  s.bundleFlashgenVersion = "0.1.0";
  const std::vector<std::string> opts = {"--gpu-architecture=sm_90a", "-std=c++17"};
  const std::string base = moduleCacheKey(s, "sm_90a", opts);
  EXPECT_EQ(moduleCacheKey(s, "sm_90a", opts), base); // deterministic

  EXPECT_NE(moduleCacheKey(s, "sm_90", opts), base);
  EXPECT_NE(moduleCacheKey(s, "sm_90a", {"--gpu-architecture=sm_90a"}), base);
  ModuleSource t = s;
  t.headers = {{"flashgen/device/a.cuh", &header2}};
  EXPECT_NE(moduleCacheKey(t, "sm_90a", opts), base);
  t = s;
  t.headers = {{"flashgen/device/b.cuh", &header}};
  EXPECT_NE(moduleCacheKey(t, "sm_90a", opts), base);
  t = s;
  t.bundleFlashgenVersion = "0.2.0";
  EXPECT_NE(moduleCacheKey(t, "sm_90a", opts), base);
  std::string text2 = "source ";
  t = s;
  t.text = &text2;
  EXPECT_NE(moduleCacheKey(t, "sm_90a", opts), base);
  {
    env::ScopedOverride lineinfo(env::kLineInfo, std::string("1"));
    EXPECT_NE(moduleCacheKey(s, "sm_90a", opts), base);
  }
  {
    env::ScopedOverride log(env::kLog, std::string("1")); // cache-neutral
    EXPECT_EQ(moduleCacheKey(s, "sm_90a", opts), base);
  }
}

TEST(NvrtcOptions, RuntimeOwnsArchAndIncludes) {
  env::ScopedOverride extra(env::kNvrtcOptions, std::string(" -DA=1   -DB=2 "));
  env::ScopedOverride line(env::kLineInfo, std::string("1"));
  env::ScopedOverride inc(env::kCudaInclude, std::string("/opt/cuda/include"));
  std::vector<std::string> opts = nvrtcOptionsFor("sm_90a", {"-std=c++17"});
  EXPECT_EQ(opts, (std::vector<std::string>{
                      "--gpu-architecture=sm_90a", "-I/opt/cuda/include",
                      "--ptxas-options=-v", "-std=c++17", "-lineinfo", "-DA=1",
                      "-DB=2"}));
}

} // namespace
