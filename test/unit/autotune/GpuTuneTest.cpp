//===- GpuTuneTest.cpp - Tuning the runtime's fixture on a GPU ------------===//
//
// Skips (with the reason) without a driver or GPU. On a GPU: tunes the axpy
// fixture's two variants (one launch; two launches through zero-initialised
// scratch), writes and then reuses the tuning file, tunes on the first
// launch of a new bucket with FLASHGEN_AUTOTUNE=1 and not again after, drops
// a candidate that computes something else or does not compile, and runs
// flashgen-tune. Every launch's output is checked against the host.
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"

#include "autotune/TuneCommand.h"
#include "flashgen/autotune.h"
#include "runtime/CudaDriver.h"
#include "runtime/DeviceImpl.h"
#include "runtime/DiskCache.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

using namespace flashgen;
using namespace flashgen::test;

namespace {

struct DeviceBuffer {
  const CudaDriver *d;
  CUdeviceptr ptr = 0;
  size_t bytes;
  DeviceBuffer(const CudaDriver *driver, size_t n) : d(driver), bytes(n) {
    EXPECT_EQ(d->memAlloc(&ptr, n), CUDA_SUCCESS);
  }
  ~DeviceBuffer() {
    if (ptr)
      d->memFree(ptr);
  }
  void *get() const { return reinterpret_cast<void *>(ptr); }
};

/// Counts log lines containing `text`.
int count(const std::vector<std::string> &lines, const std::string &text) {
  int n = 0;
  for (const std::string &l : lines)
    n += l.find(text) != std::string::npos;
  return n;
}

class GpuTune : public ::testing::Test {
protected:
  void SetUp() override {
    Status st = Device::open(0, device);
    if (!st.ok())
      GTEST_SKIP() << "no CUDA driver/GPU, GPU tuning test skipped: "
                   << st.message();
    ASSERT_TRUE(isOk(CudaDriver::get(driver)));
    // The test allocates through the driver API, which needs a current
    // context; the runtime only makes it current around its own calls.
    ASSERT_EQ(driver->ctxPushCurrent(device->impl().context), CUDA_SUCCESS);
    pushedContext = true;
  }

  void TearDown() override {
    if (pushedContext) {
      CUcontext popped = nullptr;
      driver->ctxPopCurrent(&popped);
    }
  }
  bool pushedContext = false;

  /// Launches axpy on fresh inputs of B x 4 x N x 16 (outputs poisoned) and
  /// checks o = 2 x + y exactly.
  void launchAndCheck(Kernel &k, int64_t B, int64_t N) {
    const int64_t n = B * 4 * N * 16;
    std::vector<uint16_t> x(n);
    std::vector<float> xv(n), y(n);
    for (int64_t i = 0; i < n; ++i) {
      xv[i] = float((i * 7) % 17 - 8) / 4.0f; // exact in bf16
      uint32_t bits;
      std::memcpy(&bits, &xv[i], 4);
      x[i] = uint16_t(bits >> 16);
      y[i] = float(i % 11) - 5.0f;
    }
    DeviceBuffer dx(driver, n * 2), dy(driver, n * 4), dout(driver, n * 4);
    ASSERT_EQ(driver->memcpyHtoD(dx.ptr, x.data(), n * 2), CUDA_SUCCESS);
    ASSERT_EQ(driver->memcpyHtoD(dy.ptr, y.data(), n * 4), CUDA_SUCCESS);
    std::vector<uint8_t> poison(n * 4, 0xff);
    ASSERT_EQ(driver->memcpyHtoD(dout.ptr, poison.data(), n * 4), CUDA_SUCCESS);
    int64_t sizes[4] = {B, 4, N, 16}, rsizes[3] = {B, 4, N};
    TensorArg args[4] = {{dx.get(), DType::BF16, 4, sizes, nullptr},
                         {dy.get(), DType::F32, 4, sizes, nullptr},
                         {dout.get(), DType::F32, 4, sizes, nullptr},
                         {nullptr, DType::F32, 3, rsizes, nullptr}};
    ASSERT_TRUE(isOk(k.launch(args, 4, nullptr, 0, {})));
    ASSERT_EQ(driver->ctxSynchronize(), CUDA_SUCCESS);
    std::vector<float> out(n);
    ASSERT_EQ(driver->memcpyDtoH(out.data(), dout.ptr, n * 4), CUDA_SUCCESS);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(out[i], 2.0f * xv[i] + y[i]) << "element " << i;
  }

  IsolatedCache cache;
  // Whatever the machine's environment says, tuning files go under the
  // isolated cache and autotuning starts off.
  env::ScopedOverride tuningDir{env::kTuningDir, std::nullopt};
  env::ScopedOverride autotune{env::kAutotune, std::nullopt};
  std::shared_ptr<Device> device;
  const CudaDriver *driver = nullptr;
};

TEST_F(GpuTune, TunesTheFixtureThenLaterKernelsReuseTheTuningFile) {
  auto bundle = loadAxpy();
  std::unique_ptr<Kernel> k;
  ASSERT_TRUE(isOk(bundle->getKernel("axpy", device, k)));
  TuneProblem p;
  p.sizes = {{"B", 2}, {"N", 4096}};
  p.omitOptional = {"rowsum"}; // as launchAndCheck launches
  TuneOptions opts;
  opts.reps = 20;
  TuneReport r;
  {
    LogCapture log;
    ASSERT_TRUE(isOk(tune(*k, p, opts, r)));
    std::vector<std::string> lines = log.lines();
    EXPECT_EQ(count(lines, "tuning axpy [B=2,N=4096,-rowsum]: candidate 1/2 "
                           "(rows_per_block=32) "),
              1);
    EXPECT_EQ(count(lines, "candidate 2/2 (rows_per_block=32 split=true) "), 1);
    EXPECT_EQ(count(lines, "tuned axpy [B=2,N=4096,-rowsum]: "), 1);
  }
  EXPECT_FALSE(r.fromFile);
  EXPECT_EQ(r.bucket, "B=2,N=4096,-rowsum");
  EXPECT_EQ(r.sizes, "B=2,N=4096");
  ASSERT_EQ(r.candidates.size(), 2u);
  for (const TuneCandidate &c : r.candidates) {
    EXPECT_TRUE(c.ok) << c.problem;
    EXPECT_GT(c.medianMs, 0.0);
    EXPECT_LT(c.medianMs, 100.0);
    EXPECT_LE(c.p20Ms, c.medianMs);
    EXPECT_GE(c.p80Ms, c.medianMs);
    EXPECT_LT(c.relError, 1e-6); // both compute exactly the same floats
  }
  EXPECT_TRUE(r.winner == 0 || r.winner == 1);
  EXPECT_GE(r.inputSets, 2); // 2 x 4 x 4096 x 16 floats is far below L2
  ASSERT_FALSE(r.tuningFile.empty());
  EXPECT_TRUE(std::filesystem::exists(r.tuningFile)) << r.tuningFile;
  EXPECT_EQ(r.tuningFile.find(cache.dir() + "/tuning-v1/axpy/"), 0u)
      << r.tuningFile;
  std::printf("[ tune     ] axpy [B=2,N=4096] v0 %.4f ms, v1 %.4f ms, "
              "winner v%d, %d input sets\n",
              r.candidates[0].medianMs, r.candidates[1].medianMs, r.winner,
              r.inputSets);

  // A later kernel object (a later process reads the same file) reuses the
  // winner for any size of the bucket without timing anything.
  std::unique_ptr<Kernel> later;
  ASSERT_TRUE(isOk(bundle->getKernel("axpy", device, later)));
  setAutotune(*later, true);
  LogCapture log;
  launchAndCheck(*later, 2, 3000);
  EXPECT_EQ(count(log.lines(), "tuning "), 0);
  int64_t sizes[4] = {2, 4, 3000, 16}, rsizes[3] = {2, 4, 3000};
  TensorArg probe[4] = {{nullptr, DType::BF16, 4, sizes, nullptr},
                        {nullptr, DType::F32, 4, sizes, nullptr},
                        {nullptr, DType::F32, 4, sizes, nullptr},
                        {nullptr, DType::F32, 3, rsizes, nullptr}};
  EXPECT_EQ(later->variantFor(probe, 4), r.winner);
  EXPECT_EQ(later->variant(), 0); // what runs with autotuning off
  // tune() without force reports the file's result.
  TuneReport again;
  ASSERT_TRUE(isOk(tune(*later, p, opts, again)));
  EXPECT_TRUE(again.fromFile);
  EXPECT_EQ(again.winner, r.winner);
}

TEST_F(GpuTune, FirstLaunchOfABucketTunesAndLaterLaunchesReuse) {
  env::ScopedOverride on(env::kAutotune, std::string("1"));
  auto bundle = loadAxpy();
  std::unique_ptr<Kernel> k;
  ASSERT_TRUE(isOk(bundle->getKernel("axpy", device, k)));
  ASSERT_TRUE(isAutotuning(*k));
  LogCapture log;
  launchAndCheck(*k, 1, 37); // bucket B=1,N=64
  EXPECT_EQ(count(log.lines(), "tuning axpy [B=1,N=64,-rowsum]: candidate"), 2);
  launchAndCheck(*k, 1, 50); // same bucket: no tuning
  launchAndCheck(*k, 1, 64);
  EXPECT_EQ(count(log.lines(), "tuning axpy"), 2);
  launchAndCheck(*k, 1, 65); // a new bucket
  EXPECT_EQ(count(log.lines(), "tuning axpy [B=1,N=128,-rowsum]: candidate"),
            2);
  // An explicit choice turns autotuning off.
  ASSERT_TRUE(isOk(k->selectVariant(1)));
  EXPECT_FALSE(isAutotuning(*k));
  launchAndCheck(*k, 1, 37);
}

TEST_F(GpuTune, CandidatesThatDisagreeOrDoNotCompileAreDropped) {
  const std::string dir = axpyBundleDir();
  std::map<std::string, std::string> files;
  for (const char *name :
       {"axpy.v0.cu", "axpy.v1.cu", "flashgen/device/fixture_math.cuh",
        "flashgen/device/fixture_types.cuh"})
    ASSERT_TRUE(readWholeFile(dir + "/" + name, files[name])) << name;
  std::string manifest;
  ASSERT_TRUE(readWholeFile(dir + "/manifest.json", manifest));

  std::string &v1 = files["axpy.v1.cu"];
  const std::string store = "o[orow + d * os3] = v;";
  ASSERT_NE(v1.find(store), std::string::npos);
  const std::string good = v1;
  v1.replace(v1.find(store), store.size(), "o[orow + d * os3] = v + 1.0f;");
  std::shared_ptr<Bundle> wrong;
  ASSERT_TRUE(isOk(Bundle::fromMemory(manifest, files, "wrong-v1", wrong)));
  files["axpy.v1.cu"] = good + "\nthis is not C++\n";
  std::shared_ptr<Bundle> broken;
  ASSERT_TRUE(isOk(Bundle::fromMemory(manifest, files, "broken-v1", broken)));

  TuneProblem p;
  p.sizes = {{"B", 1}, {"N", 256}};
  TuneOptions opts;
  opts.reps = 5;
  opts.writeFile = false;
  for (auto &[b, problem] :
       {std::make_pair(wrong, std::string("output differs from v0 (o: rel L2")),
        std::make_pair(broken, std::string("compile failed: "))}) {
    SCOPED_TRACE(b->path());
    std::unique_ptr<Kernel> k;
    ASSERT_TRUE(isOk(b->getKernel("axpy", device, k)));
    TuneReport r;
    ASSERT_TRUE(isOk(tune(*k, p, opts, r)));
    EXPECT_EQ(r.winner, 0);
    EXPECT_TRUE(r.candidates[0].ok);
    EXPECT_FALSE(r.candidates[1].ok);
    EXPECT_EQ(r.candidates[1].problem.find(problem), 0u)
        << r.candidates[1].problem;
    EXPECT_TRUE(r.tuningFile.empty());
  }
}

TEST_F(GpuTune, CommandLinePrintsATableAndASummary) {
  FILE *out = std::tmpfile(), *err = std::tmpfile();
  ASSERT_TRUE(out && err);
  int status = runTune({axpyBundleDir(), "--dim", "B=2", "--dim", "N=4096",
                        "--reps", "10", "--quiet"},
                       out, err);
  std::string text, errors;
  for (auto [f, s] :
       {std::make_pair(out, &text), std::make_pair(err, &errors)}) {
    std::rewind(f);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
      s->append(buf, n);
    std::fclose(f);
  }
  EXPECT_EQ(status, 0) << errors;
  EXPECT_NE(text.find("axpy [B=2,N=4096] on "), std::string::npos) << text;
  EXPECT_NE(text.find("model rank matched: "), std::string::npos) << text;
  EXPECT_NE(text.find("summary: 1 kernel(s) tuned, 0 failed; variant 0 was "
                      "already the winner for "),
            std::string::npos)
      << text;
  std::printf("%s", text.c_str());
}

} // namespace
