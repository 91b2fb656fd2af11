//===- ManifestTest.cpp - Reading and checking manifest.json --------------===//

#include "runtime/Manifest.h"

#include "TestSupport.h"
#include "runtime/BundleData.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace flashgen;
using namespace flashgen::test;

namespace {

/// A small valid manifest; tests replace one piece of it.
const std::string kBase = R"json({
  "format": "flashgen-bundle", "version": 1, "flashgen_version": "0.1.0",
  "target": "sm_90a",
  "kernels": [{
    "name": "attn", "op": "attention",
    "symbols": ["B", "N"],
    "scalars": [{"name": "scale", "dtype": "f32", "default": 0.125},
                {"name": "window", "dtype": "i32", "default": 64, "min": 1}],
    "params": [
      {"name": "q", "io": "in", "dtype": "bf16", "shape": ["B", 8, "N", 64]},
      {"name": "o", "io": "out", "dtype": "bf16", "shape": ["B", 8, "N", 64]},
      {"name": "lens", "io": "in", "dtype": "i32", "shape": ["B+1"], "optional": true}
    ],
    "constraints": ["N % 1 == 0"],
    "variants": [{
      "sources": ["a.cu"], "headers": ["flashgen/device/x.cuh"],
      "nvrtc_options": ["-std=c++17"],
      "schedule": {"anything": [1, 2]},
      "scratch": [{"name": "ws", "dtype": "f32", "shape": ["B", "cdiv(N, 64)", 8]}],
      "launches": [{
        "entry": "attn_v0", "grid": ["cdiv(N, 128)", 8, "B"], "block": [128, 1, 1],
        "dynamic_smem_bytes": "min(N, 128) * 256",
        "args": [{"tensor": "q"}, {"tensor": "o"}, {"tensor": "lens"},
                 {"scratch": "ws"}, {"symbol": "N"}, {"scalar": "scale"},
                 {"scalar": "window"}, {"expr": "cdiv(N, window)"},
                 {"float": 0.5}, {"int": -3}]
      }]
    }]
  }]
})json";

std::string replaced(const std::string &from, const std::string &to) {
  std::string s = kBase;
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << "test bug: '" << from << "' not in base";
  if (at != std::string::npos)
    s.replace(at, from.size(), to);
  return s;
}

std::string manifestError(const std::string &text) {
  Manifest m;
  std::string err;
  EXPECT_FALSE(parseManifest(text, m, err)) << "accepted";
  return err;
}

#define EXPECT_CONTAINS(haystack, needle)                                      \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos)             \
      << "missing \"" << (needle) << "\" in: " << (haystack)

TEST(Manifest, ReadsAValidManifest) {
  Manifest m;
  std::string err;
  ASSERT_TRUE(parseManifest(kBase, m, err)) << err;
  EXPECT_EQ(m.target, "sm_90a");
  ASSERT_EQ(m.kernels.size(), 1u);
  const KernelSpec &k = m.kernels[0];
  EXPECT_EQ(k.numSlots(), 4);
  EXPECT_EQ(k.params[0].shape[0].kind, DimSpec::Kind::Symbol);
  EXPECT_EQ(k.params[0].shape[1].kind, DimSpec::Kind::Static);
  EXPECT_EQ(k.params[2].shape[0].kind, DimSpec::Kind::Derived);
  EXPECT_TRUE(k.params[2].optional);
  EXPECT_EQ(k.params[0].pointerAlign, 16);
  const LaunchSpec &l = k.variants[0].launches[0];
  EXPECT_EQ(l.args.size(), 10u);
  EXPECT_EQ(l.args[7].kind, ArgSpec::Kind::Expr);
  EXPECT_EQ(l.args[9].intValue, -3);
  EXPECT_TRUE(k.variants[0].schedule.isObject());
  EXPECT_NE(m.findKernel("attn"), nullptr);
  EXPECT_EQ(m.findKernel("nope"), nullptr);
}

TEST(Manifest, RejectsOtherFormatsAndVersions) {
  EXPECT_CONTAINS(manifestError(replaced("\"version\": 1", "\"version\": 2")),
                  "bundle format version 2 is not supported by this runtime "
                  "(supports 1)");
  EXPECT_CONTAINS(manifestError(replaced("\"flashgen-bundle\"", "\"triton\"")),
                  "\"triton\" is not a flashgen bundle");
  EXPECT_CONTAINS(manifestError(replaced("\"version\": 1,", "")),
                  "missing required key \"version\"");
  EXPECT_CONTAINS(manifestError("{\"format\": \"flashgen-bundle\""),
                  "not valid JSON");
  EXPECT_CONTAINS(manifestError("[]"), "expected an object");
}

TEST(Manifest, ErrorsNameTheField) {
  struct Case {
    const char *from, *to, *message;
  } cases[] = {
      {"\"dtype\": \"bf16\", \"shape\": [\"B\", 8",
       "\"dtype\": \"bf17\", \"shape\": [\"B\", 8",
       "kernels[0].params[0].dtype: unknown dtype \"bf17\""},
      {"\"cdiv(N, 128)\"", "\"cdiv(Nq, 128)\"",
       "kernels[0].variants[0].launches[0].grid[0]: in expression "
       "\"cdiv(Nq, 128)\": unknown name 'Nq'"},
      {"{\"tensor\": \"o\"}", "{\"tensor\": \"out\"}",
       "launches[0].args[1].tensor: no param named \"out\""},
      {"{\"scratch\": \"ws\"}", "{\"scratch\": \"wz\"}",
       "args[3].scratch: no scratch buffer named \"wz\""},
      {"{\"float\": 0.5}", "{\"float\": 0.5, \"int\": 1}",
       "args[8]: an arg has exactly one of"},
      {"{\"int\": -3}", "{\"int\": 3000000000}", "args[9].int: value 3000000000"},
      {"\"block\": [128, 1, 1]", "\"block\": [1024, 2, 1]",
       "more than 1024 threads per block"},
      {"\"grid\": [\"cdiv(N, 128)\", 8, \"B\"]", "\"grid\": [1, 2]",
       "grid: expected 3 entries"},
      {"\"entry\": \"attn_v0\"", "\"entry\": \"attn v0\"",
       "entry: \"attn v0\" is not an extern \"C\" identifier"},
      {"\"-std=c++17\"", "\"-arch=sm_80\"",
       "nvrtc_options[0]: \"-arch=sm_80\": the runtime sets the arch"},
      {"\"-std=c++17\"", "\"-I/tmp\"", "the runtime sets the arch and include"},
      {"[\"a.cu\"]", "[\"../a.cu\"]",
       "sources[0]: \"../a.cu\" must be a relative path inside the bundle"},
      {"[\"a.cu\"]", "[\"/etc/a.cu\"]", "must be a relative path"},
      {"[\"a.cu\"]", "[]", "a variant needs at least one source"},
      {"\"headers\": [\"flashgen/device/x.cuh\"]",
       "\"headers\": [\"a.cu\"]", "\"a.cu\" is listed twice"},
      {"\"symbols\": [\"B\", \"N\"]", "\"symbols\": [\"B\", \"N\", \"T\"]",
       "symbols[2]: symbol \"T\" is not a dimension of any non-optional param"},
      {"\"symbols\": [\"B\", \"N\"]", "\"symbols\": [\"B\", \"N\", \"q\"]",
       "name \"q\" is already used"},
      {"\"symbols\": [\"B\", \"N\"]", "\"symbols\": [\"B\", \"min\"]",
       "\"min\" is reserved"},
      {"\"N % 1 == 0\"", "\"N + 1\"",
       "constraints[0]: in expression \"N + 1\": expected a comparison"},
      {"\"op\": \"attention\",", "\"op\": \"attention\", \"extra\": 1,",
       "kernels[0]: unknown key \"extra\""},
      {"\"dynamic_smem_bytes\"", "\"dynamic_smem_byte\"",
       "unknown key \"dynamic_smem_byte\""},
      {"\"name\": \"window\", \"dtype\": \"i32\"",
       "\"name\": \"window\", \"dtype\": \"u16\"",
       "scalars[1].dtype: scalar dtype \"u16\" is not one of f32, i32, i64"},
      {"\"io\": \"out\"", "\"io\": \"output\"",
       "params[1].io: \"output\" is not in, out or inout"},
      {"\"shape\": [\"B\", 8, \"N\", 64]}",
       "\"shape\": [\"B\", 0, \"N\", 64]}", "shape[1]: value 0 out of range"},
      {"\"target\": \"sm_90a\"", "\"target\": \"hopper\"",
       "target: \"hopper\" is not an arch like sm_80 or sm_90a"},
      {"\"kernels\": [{", "\"kernels\": [{\"name\": \"attn\"}, {",
       "kernels[0]: missing required key \"op\""},
      {"\"scratch\": [{\"name\": \"ws\"", "\"scratch\": [{\"name\": \"o\"",
       "scratch[0].name: \"o\" is already used"},
      {"\"io\": \"out\",", "\"io\": \"out\", \"may_alias\": \"p\",",
       "params[1].may_alias: \"p\" is not a param"},
      {"\"io\": \"out\",", "\"io\": \"out\", \"may_alias\": \"lens\",",
       "params[1].may_alias: \"lens\" is not an input of the same dtype and shape"},
      {"\"io\": \"in\", \"dtype\": \"bf16\"",
       "\"io\": \"in\", \"may_alias\": \"o\", \"dtype\": \"bf16\"",
       "params[0].may_alias: only an output may alias an input"},
  };
  for (const Case &c : cases)
    EXPECT_CONTAINS(manifestError(replaced(c.from, c.to)), c.message);
}

TEST(Manifest, MayAliasNamesAnInputOfTheSameShape) {
  Manifest m;
  std::string err;
  ASSERT_TRUE(parseManifest(replaced("\"io\": \"out\",", "\"io\": \"out\", \"may_alias\": \"q\","),
                            m, err))
      << err;
  EXPECT_EQ(m.kernels[0].params[1].mayAlias, 0);
  EXPECT_EQ(m.kernels[0].params[0].mayAlias, -1);
}

TEST(Manifest, StridedLastDimIsABool) {
  // strided_last_dim: the kernels step the param's last dim by its stride
  // (a recurrence's [B, H, T] gates); absent means false.
  Manifest m;
  std::string err;
  ASSERT_TRUE(parseManifest(replaced("\"io\": \"out\",", "\"io\": \"out\", \"strided_last_dim\": true,"),
                            m, err))
      << err;
  EXPECT_TRUE(m.kernels[0].params[1].stridedLastDim);
  EXPECT_FALSE(m.kernels[0].params[0].stridedLastDim);
  EXPECT_CONTAINS(manifestError(replaced("\"io\": \"out\",", "\"io\": \"out\", \"strided_last_dim\": 1,")),
                  "params[1].strided_last_dim");
}

TEST(Manifest, OverlapsPreviousNeedsAPreviousLaunch) {
  // A second launch may wait for the first (flash_decode's merge); the first
  // has nothing to wait for, and the flag is a bool.
  std::string second = replaced(
      "\"args\": [{\"tensor\": \"q\"}, {\"tensor\": \"o\"}, {\"tensor\": \"lens\"},",
      "\"args\": []}, {\"entry\": \"attn_v0_merge\", \"grid\": [1, 1, 1], "
      "\"block\": [32, 1, 1], \"overlaps_previous\": true, "
      "\"args\": [{\"tensor\": \"q\"}, {\"tensor\": \"o\"}, {\"tensor\": \"lens\"},");
  Manifest m;
  std::string err;
  ASSERT_TRUE(parseManifest(second, m, err)) << err;
  const VariantSpec &v = m.kernels[0].variants[0];
  ASSERT_EQ(v.launches.size(), 2u);
  EXPECT_FALSE(v.launches[0].overlapsPrevious);
  EXPECT_TRUE(v.launches[1].overlapsPrevious);

  EXPECT_CONTAINS(manifestError(replaced("\"entry\": \"attn_v0\",",
                                         "\"entry\": \"attn_v0\", \"overlaps_previous\": true,")),
                  "launches[0].overlaps_previous: the first launch of a variant has no "
                  "previous launch to overlap");
  EXPECT_CONTAINS(manifestError(replaced("\"entry\": \"attn_v0\",",
                                         "\"entry\": \"attn_v0\", \"overlaps_previous\": 1,")),
                  "overlaps_previous");
}

TEST(Manifest, DispatchNamesASymbolBoundsAndVariants) {
  // The size rule flash-schedule wrote (schedule/SizeRule.h): N up to 512
  // runs v0; so does everything above (one variant in the base manifest).
  std::string withDispatch = replaced(
      "\"op\": \"attention\",",
      "\"op\": \"attention\", \"dispatch\": {\"by\": \"N\", "
      "\"upper_bounds\": [512], \"variants\": [0, 0]},");
  Manifest m;
  std::string err;
  ASSERT_TRUE(parseManifest(withDispatch, m, err)) << err;
  const DispatchSpec &d = m.kernels[0].dispatch;
  ASSERT_TRUE(d.present());
  EXPECT_EQ(d.param, 0);  // q binds N at dim 2
  EXPECT_EQ(d.dim, 2);
  EXPECT_EQ(d.variantFor(512), 0);

  struct Bad {
    const char *dispatch, *message;
  } bad[] = {
      {"{\"by\": \"scale\", \"upper_bounds\": [], \"variants\": [0]}",
       "dispatch.by: \"scale\" is not a symbol of the kernel"},
      {"{\"by\": \"N\", \"upper_bounds\": [64, 64], \"variants\": [0, 0, 0]}",
       "dispatch.upper_bounds[1]: upper bounds must increase"},
      {"{\"by\": \"N\", \"upper_bounds\": [64], \"variants\": [0]}",
       "dispatch.variants: needs one variant more than upper_bounds (2)"},
      {"{\"by\": \"N\", \"upper_bounds\": [64], \"variants\": [0, 1]}",
       "dispatch.variants[1]: value 1 out of range [0, 0]"},
      {"{\"by\": \"N\", \"variants\": [0]}", "upper_bounds"},
  };
  for (const Bad &c : bad)
    EXPECT_CONTAINS(manifestError(replaced("\"op\": \"attention\",",
                                           std::string("\"op\": \"attention\", \"dispatch\": ") +
                                               c.dispatch + ",")),
                    c.message);
}

TEST(Manifest, FlopsIsAnExpressionOverSymbols) {
  // Informative (flashgen-run's TFLOP/s): parsed when loading, so an unknown
  // name is an error there, never at a launch.
  Manifest m;
  std::string err;
  ASSERT_TRUE(parseManifest(replaced("\"op\": \"attention\",",
                                     "\"op\": \"attention\", \"flops\": "
                                     "\"B*2048*N*(N+1)/2\","),
                            m, err))
      << err;
  ASSERT_TRUE(m.kernels[0].hasFlops);
  int64_t slots[4] = {2, 1000, 0, 64}, value = 0;
  ASSERT_EQ(m.kernels[0].flops.evaluate(slots, value), ExprError::None);
  EXPECT_EQ(value, int64_t(2) * 2048 * 1000 * 1001 / 2);
  ASSERT_TRUE(parseManifest(kBase, m, err)) << err;
  EXPECT_FALSE(m.kernels[0].hasFlops);
  ASSERT_TRUE(parseManifest(replaced("\"op\": \"attention\",",
                                     "\"op\": \"attention\", \"flops\": 7,"),
                            m, err))
      << err;
  EXPECT_TRUE(m.kernels[0].flops.isConstant());
  EXPECT_CONTAINS(manifestError(replaced("\"op\": \"attention\",",
                                         "\"op\": \"attention\", "
                                         "\"flops\": \"B*M\",")),
                  "kernels[0].flops: in expression \"B*M\": unknown name 'M'");
}

TEST(Manifest, ExtensionKeysAreIgnored) {
  Manifest m;
  std::string err;
  std::string text =
      replaced("\"op\": \"attention\",", "\"op\": \"attention\", \"x_note\": {\"a\": 1},");
  EXPECT_TRUE(parseManifest(text, m, err)) << err;
}

TEST(Manifest, TensorMapArgs) {
  // A valid tensor_map arg names a 16-bit param; its box fits the swizzle.
  const std::string map =
      "{\"tensor_map\": {\"tensor\": \"q\", \"box_rows\": 128, "
      "\"box_cols\": 64, \"swizzle\": 128}}";
  Manifest m;
  std::string err;
  ASSERT_TRUE(parseManifest(replaced("\"args\": [", "\"args\": [" + map + ", "), m, err))
      << err;
  const ArgSpec &a = m.kernels[0].variants[0].launches[0].args.front();
  EXPECT_EQ(a.kind, ArgSpec::Kind::TensorMap);
  EXPECT_EQ(a.index, 0);
  EXPECT_EQ(a.boxRows, 128);
  EXPECT_EQ(a.boxCols, 64);
  struct Case {
    const char *map, *message;
  } cases[] = {
      {"{\"tensor\": \"k\", \"box_rows\": 128, \"box_cols\": 64, \"swizzle\": 128}",
       "tensor_map.tensor: no param named \"k\""},
      {"{\"tensor\": \"lens\", \"box_rows\": 128, \"box_cols\": 64, \"swizzle\": 128}",
       "a tensor map covers a bf16 or f16 param"},
      {"{\"tensor\": \"q\", \"box_rows\": 128, \"box_cols\": 128, \"swizzle\": 128}",
       "box_cols: a box row of 256 bytes exceeds the 128-byte swizzle"},
      {"{\"tensor\": \"q\", \"box_rows\": 512, \"box_cols\": 64, \"swizzle\": 128}",
       "box_rows"},
      {"{\"tensor\": \"q\", \"box_rows\": 128, \"box_cols\": 64, \"swizzle\": 64}",
       "swizzle"},
      {"{\"tensor\": \"q\", \"box_rows\": 128, \"box_cols\": 64}",
       "a tensor_map needs box_rows, box_cols and swizzle"},
  };
  for (const Case &c : cases)
    EXPECT_CONTAINS(manifestError(replaced("\"args\": [", std::string("\"args\": [{\"tensor_map\": ") +
                                                             c.map + "}, ")),
                    c.message);
}

TEST(Manifest, TensorMapOfAScratchBuffer) {
  // "scratch" in place of "tensor" maps a 16-bit scratch buffer of the
  // variant: a launch reads with TMA what an earlier one wrote there.
  auto withMap = [](const std::string &map) {
    std::string s = replaced(
        "\"scratch\": [{\"name\": \"ws\", \"dtype\": \"f32\", \"shape\": "
        "[\"B\", \"cdiv(N, 64)\", 8]}]",
        "\"scratch\": [{\"name\": \"ws\", \"dtype\": \"f32\", \"shape\": "
        "[\"B\", \"cdiv(N, 64)\", 8]}, {\"name\": \"kv\", \"dtype\": "
        "\"bf16\", \"shape\": [\"B\", 8, \"N\", 64]}, {\"name\": \"row\", "
        "\"dtype\": \"f16\", \"shape\": [64]}]");
    const std::string args = "\"args\": [";
    s.replace(s.find(args), args.size(), args + "{\"tensor_map\": " + map + "}, ");
    return s;
  };
  Manifest m;
  std::string err;
  ASSERT_TRUE(parseManifest(withMap("{\"scratch\": \"kv\", \"box_rows\": 128, "
                                    "\"box_cols\": 64, \"swizzle\": 128}"),
                            m, err))
      << err;
  const VariantSpec &v = m.kernels[0].variants[0];
  const ArgSpec &a = v.launches[0].args.front();
  EXPECT_EQ(a.kind, ArgSpec::Kind::TensorMap);
  EXPECT_TRUE(a.mapsScratch);
  ASSERT_EQ(a.index, 1);
  EXPECT_EQ(v.scratch[a.index].name, "kv");
  EXPECT_EQ(a.boxRows, 128);
  EXPECT_EQ(a.boxCols, 64);
  EXPECT_EQ(a.swizzleBytes, 128);
  // A param map is not a scratch map.
  ASSERT_TRUE(parseManifest(withMap("{\"tensor\": \"q\", \"box_rows\": 128, "
                                    "\"box_cols\": 64, \"swizzle\": 128}"),
                            m, err))
      << err;
  EXPECT_FALSE(m.kernels[0].variants[0].launches[0].args.front().mapsScratch);

  struct Case {
    const char *map, *message;
  } cases[] = {
      {"{\"scratch\": \"kz\", \"box_rows\": 128, \"box_cols\": 64, \"swizzle\": 128}",
       "args[0].tensor_map.scratch: no scratch buffer named \"kz\" in this variant"},
      {"{\"scratch\": \"q\", \"box_rows\": 128, \"box_cols\": 64, \"swizzle\": 128}",
       "tensor_map.scratch: no scratch buffer named \"q\""},
      {"{\"scratch\": \"ws\", \"box_rows\": 128, \"box_cols\": 64, \"swizzle\": 128}",
       "args[0].tensor_map.scratch: a tensor map covers a bf16 or f16 scratch buffer"},
      {"{\"scratch\": \"row\", \"box_rows\": 1, \"box_cols\": 64, \"swizzle\": 128}",
       "tensor_map.scratch: a tensor map covers a scratch buffer of 2 to 5 dims"},
      {"{\"tensor\": \"q\", \"scratch\": \"kv\", \"box_rows\": 128, "
       "\"box_cols\": 64, \"swizzle\": 128}",
       "args[0].tensor_map: a tensor_map has one of tensor and scratch, not both"},
      {"{\"box_rows\": 128, \"box_cols\": 64, \"swizzle\": 128}",
       "args[0].tensor_map: a tensor_map needs tensor (a param) or scratch (a "
       "scratch buffer of this variant)"},
      {"{\"scratch\": 3, \"box_rows\": 128, \"box_cols\": 64, \"swizzle\": 128}",
       "tensor_map.scratch"},
      {"{\"scratch\": \"kv\", \"box_rows\": 128, \"box_cols\": 128, \"swizzle\": 128}",
       "box_cols: a box row of 256 bytes exceeds the 128-byte swizzle"},
  };
  for (const Case &c : cases)
    EXPECT_CONTAINS(manifestError(withMap(c.map)), c.message);
}

TEST(Manifest, ParamBytesAreLimited) {
  std::string args;
  for (int i = 0; i < 1100; ++i)
    args += "{\"int\": " + std::to_string(i) + "}, ";
  std::string text = replaced("\"args\": [", "\"args\": [" + args);
  EXPECT_CONTAINS(manifestError(text), "bytes of kernel parameters exceed the "
                                       "limit of 4096");
}

TEST(Manifest, Arches) {
  int major, minor;
  bool specific;
  ASSERT_TRUE(parseArch("sm_90a", major, minor, specific));
  EXPECT_EQ(major, 9);
  EXPECT_EQ(minor, 0);
  EXPECT_TRUE(specific);
  ASSERT_TRUE(parseArch("sm_100a", major, minor, specific));
  EXPECT_EQ(major, 10);
  ASSERT_TRUE(parseArch("sm_86", major, minor, specific));
  EXPECT_FALSE(specific);
  EXPECT_FALSE(parseArch("sm_9", major, minor, specific));
  EXPECT_FALSE(parseArch("compute_90", major, minor, specific));
  EXPECT_FALSE(parseArch("sm_9x", major, minor, specific));
  EXPECT_EQ(archForComputeCapability(9, 0), "sm_90a");
  EXPECT_EQ(archForComputeCapability(10, 0), "sm_100a");
  EXPECT_EQ(archForComputeCapability(8, 6), "sm_86");
  EXPECT_EQ(archForComputeCapability(12, 0), "sm_120");

  EXPECT_TRUE(checkArchCompatible("sm_80", "sm_90a").ok());
  EXPECT_TRUE(checkArchCompatible("sm_90a", "sm_90a").ok());
  Status st = checkArchCompatible("sm_90a", "sm_80");
  EXPECT_EQ(st.code(), StatusCode::UnsupportedArch);
  EXPECT_CONTAINS(st.message(), "targets sm_90a");
  EXPECT_CONTAINS(st.message(), "sm_80 device");
  EXPECT_FALSE(checkArchCompatible("sm_90a", "sm_100a").ok());
  EXPECT_FALSE(checkArchCompatible("sm_86", "sm_80").ok());
}

TEST(Manifest, SafePaths) {
  EXPECT_TRUE(isSafeBundlePath("a.cu"));
  EXPECT_TRUE(isSafeBundlePath("flashgen/device/tile.cuh"));
  for (const char *bad : {"", "/a.cu", "../a.cu", "a/../../b", "a//b", "./a",
                          "a\\b", "a/"})
    EXPECT_FALSE(isSafeBundlePath(bad)) << bad;
}

TEST(Bundle, LoadsTheFixture) {
  std::shared_ptr<Bundle> b = loadAxpy();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->kernelNames(), std::vector<std::string>{"axpy"});
  EXPECT_EQ(b->target(), "sm_80");
  // Every listed file was read at load time.
  EXPECT_EQ(b->data().files.size(), 4u);
}

TEST(Bundle, ReportsMissingDirectoryManifestAndFiles) {
  std::shared_ptr<Bundle> b;
  Status st = Bundle::load("/nonexistent/flashgen.bundle", b);
  EXPECT_EQ(st.code(), StatusCode::FileError);
  EXPECT_CONTAINS(st.message(), "/nonexistent/flashgen.bundle does not exist");
  EXPECT_FALSE(b);

  TempDir dir;
  st = Bundle::load(dir.path(), b);
  EXPECT_EQ(st.code(), StatusCode::FileError);
  EXPECT_CONTAINS(st.message(), "manifest.json is missing");

  std::ofstream(dir.path() + "/manifest.json") << kBase;
  st = Bundle::load(dir.path(), b);
  EXPECT_EQ(st.code(), StatusCode::FileError);
  EXPECT_CONTAINS(st.message(), "kernels[0].variants[0].sources[0]: file a.cu is "
                                "missing");

  std::ofstream(dir.path() + "/a.cu") << "// source\n";
  st = Bundle::load(dir.path(), b);
  EXPECT_CONTAINS(st.message(), "headers[0]: file flashgen/device/x.cuh is missing");

  std::filesystem::create_directories(dir.path() + "/flashgen/device");
  std::ofstream(dir.path() + "/flashgen/device/x.cuh") << "#pragma once\n";
  EXPECT_TRUE(isOk(Bundle::load(dir.path(), b)));
  EXPECT_EQ(b->data().files.at("a.cu"), "// source\n");

  std::ofstream(dir.path() + "/manifest.json")
      << replaced("\"version\": 1", "\"version\": 7");
  st = Bundle::load(dir.path(), b);
  EXPECT_EQ(st.code(), StatusCode::BundleFormat);
  EXPECT_CONTAINS(st.message(), dir.path() + "/manifest.json: version: bundle "
                                             "format version 7");
}

TEST(Bundle, FromMemoryAndKernelLookup) {
  std::shared_ptr<Bundle> b;
  ASSERT_TRUE(isOk(Bundle::fromMemory(
      kBase, {{"a.cu", "x"}, {"flashgen/device/x.cuh", "y"}}, "mem", b)));
  std::unique_ptr<Kernel> k;
  Status st = b->getKernel("attention", nullptr, k);
  EXPECT_EQ(st.code(), StatusCode::NotFound);
  EXPECT_CONTAINS(st.message(), "no kernel named attention (it has: attn)");
  ASSERT_TRUE(isOk(b->getKernel("attn", nullptr, k)));
  EXPECT_EQ(k->paramNames(), (std::vector<std::string>{"q", "o", "lens"}));
  EXPECT_EQ(k->scalarNames(), (std::vector<std::string>{"scale", "window"}));
  EXPECT_EQ(k->numVariants(), 1);
  EXPECT_EQ(k->selectVariant(1).code(), StatusCode::NotFound);
}

} // namespace
