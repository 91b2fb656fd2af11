//===- AutotunerTest.cpp - The tuning algorithm on fake devices -----------===//
//
// The timing and launching parts are fakes: each candidate's compile, load
// and launch outcome, outputs and run times are scripted, so the choices
// (who is dropped and why, who wins, when variant 0 stays) are checked
// exactly, without a GPU.
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"

#include "autotune/Autotuner.h"
#include "autotune/Progress.h"
#include "autotune/TuneReportJson.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

using namespace flashgen;
using namespace flashgen::test;

namespace {

struct Script {
  Status compile, load, run, time;
  std::vector<float> output = {1, 2, 3, 4};
  double ms = 1.0; ///< every sample, unless samples is set
  std::vector<double> samples;
  bool poisonsContext = false; ///< its run failure leaves the device unusable
};

class FakeRunner : public CandidateRunner {
public:
  explicit FakeRunner(std::vector<Script> scripts)
      : scripts_(std::move(scripts)) {}
  int numCandidates() const override { return int(scripts_.size()); }
  Status compile(int i) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      compiled.insert(i);
      threads.insert(std::this_thread::get_id());
    }
    // Long enough that one thread cannot take every candidate before the
    // others start, as NVRTC's seconds per compile make sure of.
    std::this_thread::sleep_for(std::chrono::milliseconds(compileMs));
    return scripts_[i].compile;
  }
  Status load(int i) override {
    loaded.push_back(i);
    return scripts_[i].load;
  }
  Status run(int i, std::vector<HostTensor> &outputs) override {
    ran.push_back(i);
    if (!scripts_[i].run.ok()) {
      contextLost |= scripts_[i].poisonsContext;
      return scripts_[i].run;
    }
    HostTensor t;
    t.name = "o";
    t.dtype = DType::F32;
    t.sizes = {int64_t(scripts_[i].output.size())};
    t.strides = {1};
    t.bytes.resize(scripts_[i].output.size() * 4);
    std::memcpy(t.bytes.data(), scripts_[i].output.data(), t.bytes.size());
    outputs = {t};
    return Status::success();
  }
  Status time(int i, int reps, double, double,
              std::vector<double> &samples) override {
    timed.push_back(i);
    if (!scripts_[i].time.ok())
      return scripts_[i].time;
    samples = scripts_[i].samples.empty()
                  ? std::vector<double>(reps, scripts_[i].ms)
                  : scripts_[i].samples;
    // Variant 0's second timing reads the second half of its script.
    if (i == 0 && !scripts_[0].samples.empty() && v0Timings++ == 1)
      samples = secondV0;
    return Status::success();
  }
  bool usable(std::string &why) override {
    if (contextLost)
      why = "CUDA_ERROR_ILLEGAL_ADDRESS";
    return !contextLost;
  }

  std::vector<double> secondV0;
  int compileMs = 0;
  std::mutex mutex_;
  std::set<int> compiled;
  std::set<std::thread::id> threads;
  std::vector<int> loaded, ran, timed;
  bool contextLost = false;
  int v0Timings = 0;

private:
  std::vector<Script> scripts_;
};

TuneSubject subject(int n) {
  TuneSubject s;
  s.kernel = "causal_gqa";
  s.bucket = "B=2,N=8192";
  for (int i = 0; i < n; ++i)
    s.schedules.push_back("tile_q=" + std::to_string(64 << i));
  return s;
}

TuneOptions quiet() {
  TuneOptions o;
  o.progress = false;
  o.reps = 10;
  return o;
}

Status failure(const char *message) {
  return Status(StatusCode::CompileError, message);
}

TEST(Autotuner, PicksTheFastestCandidateAndRanksThem) {
  std::vector<Script> s(4);
  s[0].ms = 0.50;
  s[1].ms = 0.40;
  s[2].ms = 0.45;
  s[3].ms = 0.60;
  FakeRunner runner(s);
  TuneReport r;
  ASSERT_TRUE(isOk(runTuning(runner, subject(4), quiet(), r)));
  EXPECT_EQ(r.winner, 1);
  EXPECT_DOUBLE_EQ(r.winnerMs, 0.40);
  EXPECT_DOUBLE_EQ(r.variant0Ms, 0.50);
  EXPECT_DOUBLE_EQ(r.speedup, 1.25);
  EXPECT_FALSE(r.modelRankMatched);
  ASSERT_EQ(r.candidates.size(), 4u);
  EXPECT_EQ(r.candidates[0].timeRank, 3);
  EXPECT_EQ(r.candidates[1].timeRank, 1);
  EXPECT_EQ(r.candidates[2].timeRank, 2);
  EXPECT_EQ(r.candidates[3].timeRank, 4);
  for (const TuneCandidate &c : r.candidates) {
    EXPECT_TRUE(c.ok) << c.variant;
    EXPECT_EQ(c.reps, c.variant == 0 ? 20 : 10); // v0 is timed twice
    EXPECT_EQ(c.schedule, "tile_q=" + std::to_string(64 << c.variant));
  }
  // Every candidate compiled; variant 0 is timed first and last.
  EXPECT_EQ(runner.compiled, (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(runner.timed, (std::vector<int>{0, 1, 2, 3, 0}));
}

TEST(Autotuner, ModelRankMatchesWhenTimesFollowTheManifestOrder) {
  std::vector<Script> s(3);
  s[0].ms = 0.3;
  s[1].ms = 0.4;
  s[2].ms = 0.5;
  FakeRunner runner(s);
  TuneReport r;
  ASSERT_TRUE(isOk(runTuning(runner, subject(3), quiet(), r)));
  EXPECT_EQ(r.winner, 0);
  EXPECT_TRUE(r.modelRankMatched);
  EXPECT_DOUBLE_EQ(r.speedup, 1.0);
}

TEST(Autotuner, CompilesCandidatesOnSeveralThreads) {
  if (std::thread::hardware_concurrency() < 2)
    GTEST_SKIP() << "one hardware thread";
  std::vector<Script> s(8);
  FakeRunner runner(s);
  runner.compileMs = 50;
  TuneReport r;
  ASSERT_TRUE(isOk(runTuning(runner, subject(8), quiet(), r)));
  EXPECT_EQ(runner.compiled.size(), 8u);
  EXPECT_GE(runner.threads.size(), 2u);
  EXPECT_LE(runner.threads.size(), std::thread::hardware_concurrency());
}

TEST(Autotuner, DropsACandidateThatDisagreesWithVariantZero) {
  std::vector<Script> s(3);
  s[1].output = {1, 2, 3, 5}; // wrong, and fastest
  s[1].ms = 0.1;
  s[2].output = {1, 2, 3, 4.001f}; // rounding-level difference: kept
  s[2].ms = 1.5;
  FakeRunner runner(s);
  TuneReport r;
  ASSERT_TRUE(isOk(runTuning(runner, subject(3), quiet(), r)));
  EXPECT_EQ(r.winner, 0);
  EXPECT_FALSE(r.candidates[1].ok);
  EXPECT_EQ(r.candidates[1].problem,
            "output differs from v0 (o: rel L2 1.8e-01 > 2.0e-03)");
  EXPECT_TRUE(std::isinf(r.candidates[1].medianMs));
  EXPECT_EQ(r.candidates[1].timeRank, 0);
  EXPECT_NEAR(r.candidates[1].relError, 1.0 / std::sqrt(30.0), 1e-6);
  EXPECT_TRUE(r.candidates[2].ok);
  // A dropped candidate is never timed.
  EXPECT_EQ(runner.timed, (std::vector<int>{0, 2, 0}));
}

TEST(Autotuner, F32OutputsOfBf16KernelsGetTheWiderDefaultTolerance) {
  std::vector<Script> s(2);
  s[1].output = {1, 2, 3, 4.03f}; // rel L2 5.5e-3
  for (bool lowPrecision : {false, true}) {
    FakeRunner runner(s);
    TuneSubject subj = subject(2);
    subj.lowPrecisionParams = lowPrecision;
    TuneReport r;
    ASSERT_TRUE(isOk(runTuning(runner, subj, quiet(), r)));
    EXPECT_EQ(r.candidates[1].ok, lowPrecision) << r.candidates[1].problem;
    // An explicit tolerance wins over both.
    FakeRunner strict(s);
    TuneOptions opts = quiet();
    opts.tolerance = 1e-3;
    ASSERT_TRUE(isOk(runTuning(strict, subj, opts, r)));
    EXPECT_FALSE(r.candidates[1].ok);
  }
}

TEST(Autotuner, UnwrittenOutputsOfACandidateAreCaught) {
  std::vector<Script> s(2);
  s[1].output = {1, 2, 3, NAN}; // the poison survived: one element unwritten
  s[1].ms = 0.1;
  FakeRunner runner(s);
  TuneReport r;
  ASSERT_TRUE(isOk(runTuning(runner, subject(2), quiet(), r)));
  EXPECT_EQ(r.winner, 0);
  EXPECT_NE(r.candidates[1].problem.find("non-finite"), std::string::npos)
      << r.candidates[1].problem;
}

TEST(Autotuner, CompileLoadLaunchAndTimingFailuresDropTheCandidate) {
  std::vector<Script> s(5);
  s[1].compile = failure("k.v1.cu(3): error: expected a ';'\nmore log");
  s[2].load = Status(StatusCode::OutOfResources, "needs 300000 bytes");
  s[3].run = Status(StatusCode::OutOfResources, "too many resources");
  s[4].time = Status(StatusCode::CudaError, "cuEventRecord failed");
  for (int i = 1; i < 5; ++i)
    s[i].ms = 0.01;
  FakeRunner runner(s);
  TuneReport r;
  ASSERT_TRUE(isOk(runTuning(runner, subject(5), quiet(), r)));
  EXPECT_EQ(r.winner, 0);
  EXPECT_EQ(r.candidates[1].problem,
            "compile failed: k.v1.cu(3): error: expected a ';' ...");
  EXPECT_EQ(r.candidates[2].problem, "load failed: needs 300000 bytes");
  EXPECT_EQ(r.candidates[3].problem, "launch failed: too many resources");
  EXPECT_EQ(r.candidates[4].problem, "timing failed: cuEventRecord failed");
  for (int i = 1; i < 5; ++i) {
    EXPECT_FALSE(r.candidates[i].ok);
    EXPECT_TRUE(std::isinf(r.candidates[i].medianMs));
  }
  // Nothing loads what did not compile.
  EXPECT_EQ(runner.loaded, (std::vector<int>{0, 2, 3, 4}));
  // Only variant 0 survived: it is not timed a second time.
  EXPECT_EQ(runner.timed, (std::vector<int>{0, 4}));
  EXPECT_TRUE(r.modelRankMatched);
}

TEST(Autotuner, VariantZeroFailingIsAnErrorNamingIt) {
  {
    std::vector<Script> s(2);
    s[0].compile = failure("v0.cu: error");
    FakeRunner runner(s);
    TuneReport r;
    Status st = runTuning(runner, subject(2), quiet(), r);
    EXPECT_EQ(st.code(), StatusCode::CompileError);
    EXPECT_NE(st.message().find("causal_gqa [B=2,N=8192]: variant 0 failed "
                                "to compile: v0.cu: error"),
              std::string::npos)
        << st.message();
  }
  {
    std::vector<Script> s(2);
    s[0].run = Status(StatusCode::CudaError, "cuLaunchKernel failed");
    FakeRunner runner(s);
    TuneReport r;
    Status st = runTuning(runner, subject(2), quiet(), r);
    EXPECT_NE(st.message().find("variant 0 failed to run"), std::string::npos);
  }
}

TEST(Autotuner, AFaultThatPoisonsTheContextStopsTuning) {
  std::vector<Script> s(3);
  s[1].run = Status(StatusCode::CudaError,
                    "cuStreamSynchronize failed: CUDA_ERROR_ILLEGAL_ADDRESS");
  s[1].poisonsContext = true;
  FakeRunner runner(s);
  TuneReport r;
  Status st = runTuning(runner, subject(3), quiet(), r);
  EXPECT_EQ(st.code(), StatusCode::CudaError);
  EXPECT_NE(st.message().find("candidate v1 left the device unusable "
                              "(CUDA_ERROR_ILLEGAL_ADDRESS)"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(runner.ran, (std::vector<int>{0, 1}));
}

TEST(Autotuner, VariantZeroStaysWhenTheGainIsWithinNoise) {
  std::vector<Script> s(2);
  // v1 0.5% faster: below the 1% minimum improvement.
  s[0].ms = 1.0;
  s[1].ms = 0.995;
  {
    FakeRunner runner(s);
    TuneReport r;
    ASSERT_TRUE(isOk(runTuning(runner, subject(2), quiet(), r)));
    EXPECT_EQ(r.winner, 0);
    EXPECT_EQ(r.candidates[1].timeRank, 1); // still the faster one
    ASSERT_EQ(r.notes.size(), 1u);
    EXPECT_NE(r.notes[0].find("v1 was 0.5% faster than v0, within the noise "
                              "threshold of 1.0%"),
              std::string::npos)
        << r.notes[0];
  }
  // v1 3.4% faster than variant 0's median over both timings (1.025), but
  // variant 0 itself moved 5% between them.
  s[0].samples = {1.0, 1.0, 1.0};
  s[1].ms = 0.99;
  {
    FakeRunner runner(s);
    runner.secondV0 = {1.05, 1.05, 1.05};
    TuneReport r;
    ASSERT_TRUE(isOk(runTuning(runner, subject(2), quiet(), r)));
    EXPECT_NEAR(r.variant0Spread, 0.05, 1e-12);
    EXPECT_EQ(r.winner, 0);
  }
  // A 3% gain with a steady variant 0 wins.
  s[1].ms = 0.97;
  {
    FakeRunner runner(s);
    runner.secondV0 = {1.0, 1.0, 1.0};
    TuneReport r;
    ASSERT_TRUE(isOk(runTuning(runner, subject(2), quiet(), r)));
    EXPECT_EQ(r.winner, 1);
    EXPECT_NEAR(r.speedup, 1.0 / 0.97, 1e-12);
  }
}

TEST(Autotuner, TimesAreMediansWithQuantiles) {
  EXPECT_DOUBLE_EQ(quantile({3, 1, 2}, 0.5), 2.0);
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4, 5, 6}, 0.2), 2.0);
  EXPECT_TRUE(std::isinf(quantile({}, 0.5)));
  std::vector<Script> s(1);
  s[0].samples = {5, 1, 2, 3, 100}; // one outlier does not move the median
  FakeRunner runner(s);
  TuneReport r;
  ASSERT_TRUE(isOk(runTuning(runner, subject(1), quiet(), r)));
  EXPECT_DOUBLE_EQ(r.candidates[0].medianMs, 3.0);
  EXPECT_DOUBLE_EQ(r.candidates[0].p20Ms, 1.8);
  EXPECT_NEAR(r.candidates[0].p80Ms, 24.0, 1e-9);
}

TEST(Autotuner, PrintsOneProgressLinePerCandidateAndASummary) {
  std::vector<Script> s(3);
  s[0].ms = 0.412;
  s[1].ms = 0.398;
  s[2].output = {0, 0, 0, 0};
  LogCapture log;
  FakeRunner runner(s);
  TuneOptions opts = quiet();
  opts.progress = true;
  TuneReport r;
  ASSERT_TRUE(isOk(runTuning(runner, subject(3), opts, r)));
  std::vector<std::string> lines = log.lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "tuning causal_gqa [B=2,N=8192]: candidate 1/3 "
                      "(tile_q=64) 0.412 ms, best 0.412 ms (v0)");
  EXPECT_EQ(lines[1], "tuning causal_gqa [B=2,N=8192]: candidate 2/3 "
                      "(tile_q=128) 0.398 ms, best 0.398 ms (v1)");
  EXPECT_EQ(lines[2], "tuning causal_gqa [B=2,N=8192]: candidate 3/3 "
                      "(tile_q=256) dropped: output differs from v0 (o: rel "
                      "L2 1.0e+00 > 2.0e-03), best 0.398 ms (v1)");
  EXPECT_EQ(lines[3], "tuned causal_gqa [B=2,N=8192]: v1 0.398 ms, 1.04x "
                      "faster than v0 (0.412 ms); 1 of 3 candidates dropped");
}

TEST(Progress, SchedulesShowTheFieldsTheyUse) {
  json::Value s;
  std::string err;
  ASSERT_TRUE(json::parse(R"({"algorithm":"flash2","chunk":0,"tile_q":128,
      "tile_kv":64,"stages":2,"split":false,"pipelined":true,"ratio":1.5})",
                          s, err));
  EXPECT_EQ(formatSchedule(s), "algorithm=flash2 tile_q=128 tile_kv=64 "
                               "stages=2 pipelined=true ratio=1.5");
  EXPECT_EQ(formatSchedule(json::Value::object()), "-");
  EXPECT_EQ(formatSchedule(json::Value()), "-");
  EXPECT_EQ(formatMs(0.41234), "0.412");
  EXPECT_EQ(formatMs(12.3456), "12.346");
  EXPECT_EQ(formatMs(0.0051234), "0.0051");
  EXPECT_EQ(formatMs(INFINITY), "inf");
  TuneCandidate c;
  c.schedule = "tile_q=64";
  c.problem = "compile failed: x";
  EXPECT_EQ(progressLine("k", "N=64", 0, 2, c, 0, -1),
            "tuning k [N=64]: candidate 1/2 (tile_q=64) dropped: compile "
            "failed: x");
}

TEST(TuneReportJson, RoundTripsIncludingDroppedCandidates) {
  std::vector<Script> s(2);
  s[0].ms = 0.5;
  s[1].compile = failure("bad");
  FakeRunner runner(s);
  TuneReport r;
  ASSERT_TRUE(isOk(runTuning(runner, subject(2), quiet(), r)));
  r.sizes = "B=2,N=8000";
  r.device = "GPU";
  r.inputSets = 3;
  r.notes.push_back("a note");
  std::string text = toJson(r);
  EXPECT_NE(text.find("\"median_ms\":null"), std::string::npos) << text;
  json::Value v;
  std::string err;
  ASSERT_TRUE(json::parse(text, v, err)) << err;
  TuneReport back;
  ASSERT_TRUE(reportFromValue(v, back, err)) << err;
  EXPECT_EQ(toJson(back), text);
  EXPECT_TRUE(std::isinf(back.candidates[1].medianMs));
  EXPECT_EQ(back.candidates[1].problem, "compile failed: bad");
  EXPECT_EQ(back.sizes, "B=2,N=8000");

  json::Value broken = json::Value::object();
  broken.set("kernel", json::Value::string("k"));
  EXPECT_FALSE(reportFromValue(broken, back, err));
  EXPECT_NE(err.find("bucket"), std::string::npos) << err;
}

} // namespace
