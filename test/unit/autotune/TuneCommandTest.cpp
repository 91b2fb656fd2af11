//===- TuneCommandTest.cpp - flashgen-tune's arguments and exit codes -----===//
//
// Everything flashgen-tune can reject is rejected on the CPU, before any GPU
// work, with exit status 2 and a message naming the problem; a valid command
// without a GPU exits 3. (GpuTuneTest.cpp runs it on a GPU.)
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"

#include "autotune/TuneCommand.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

using namespace flashgen;
using namespace flashgen::test;

namespace {

struct Result {
  int status = -1;
  std::string out, err;
};

std::string slurp(FILE *f) {
  std::string text;
  std::rewind(f);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    text.append(buf, n);
  std::fclose(f);
  return text;
}

Result tune(const std::vector<std::string> &args) {
  FILE *out = std::tmpfile(), *err = std::tmpfile();
  EXPECT_TRUE(out && err);
  Result r;
  r.status = runTune(args, out, err);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

bool haveGpu() {
  int n = 0;
  return Device::count(n).ok() && n > 0;
}

TEST(TuneCommand, UsageErrorsExitTwoAndSayWhy) {
  const std::string axpy = axpyBundleDir();
  struct Case {
    std::vector<std::string> args;
    const char *message;
  } cases[] = {
      {{}, "no bundle given"},
      {{axpy}, "kernel axpy: no --dim B=..."},
      {{axpy, "--dim", "N"}, "--dim N: expected NAME=INTEGER"},
      {{axpy, "--dim", "N=abc"}, "--dim N=abc: expected NAME=INTEGER"},
      {{axpy, "--dim=N=64", "--dim", "N=65"}, "--dim N given twice"},
      {{axpy, "--dim", "N=64", "--reps", "0"}, "--reps 0"},
      {{axpy, "--dim", "N=64", "--bogus"}, "unexpected argument '--bogus'"},
      {{axpy + "/nope", "--dim", "N=64"}, "does not exist"},
      {{axpy, "--kernel", "gemm", "--dim", "N=64"},
       "no bundle has a kernel named gemm"},
      {{axpy, "--dim", "B=2", "--dim", "T=64"},
       "--dim T: no kernel being tuned has a symbol of that name"},
      {{axpy, "--dim", "B=2"}, "kernel axpy: no --dim N=..."},
      {{axpy, "--dim", "B=2", "--dim", "N=100000"},
       "kernel axpy: N = 100000 (x dim 2) is out of range [1, 65536]"},
      {{axpy, "--dim", "B=2", "--dim", "N=64", "--omit", "o"},
       "param o is not optional"},
  };
  for (const Case &c : cases) {
    std::string joined;
    for (const std::string &a : c.args)
      joined += a + " ";
    SCOPED_TRACE(joined);
    Result r = tune(c.args);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
}

TEST(TuneCommand, SkipMissingDimsTunesOnlyTheKernelsWithAllTheirSizes) {
  // axpy has B and N: without N it is skipped, and then nothing is left.
  Result r = tune({axpyBundleDir(), "--dim", "B=2", "--skip-missing-dims"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("skipping axpy (no --dim for N)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("no kernel to tune: every kernel lacks a --dim"),
            std::string::npos)
      << r.err;
  // So is a run whose only dim no kernel has.
  r = tune({axpyBundleDir(), "--dim", "T=2", "--skip-missing-dims"});
  EXPECT_EQ(r.status, 2);
  if (haveGpu())
    return;
  r = tune({axpyBundleDir(), "--dim", "B=2", "--dim", "N=64",
            "--skip-missing-dims"});
  EXPECT_EQ(r.status, 3) << r.err; // nothing skipped; then no GPU
  EXPECT_EQ(r.err.find("skipping"), std::string::npos) << r.err;
}

TEST(TuneCommand, HelpPrintsUsageAndSucceeds) {
  Result r = tune({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("usage: flashgen-tune BUNDLE"), std::string::npos);
  EXPECT_NE(r.out.find("3 no GPU"), std::string::npos);
}

TEST(TuneCommand, WithoutAGpuAValidCommandExitsThree) {
  if (haveGpu())
    GTEST_SKIP() << "a GPU is present (GpuTune.CommandLine* runs the command)";
  Result r = tune({axpyBundleDir(), "--dim", "B=2", "--dim", "N=4096"});
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("cannot tune without a GPU"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
}

} // namespace

namespace {

TuneReport sampleReport(const std::string &kernel, int winner, double speedup) {
  TuneReport r;
  r.kernel = kernel;
  r.bucket = "B=2,N=8192";
  r.sizes = "B=2,N=8000";
  r.device = "GPU (sm_90a, CC 9.0, driver 13.0)";
  r.inputSets = 2;
  r.winner = winner;
  r.variant0Ms = 0.5;
  r.winnerMs = 0.5 / speedup;
  r.speedup = speedup;
  r.modelRankMatched = winner == 0;
  r.tuningFile = "/t/" + kernel + ".json";
  TuneCandidate v0, v1, v2;
  v0.variant = 0;
  v0.ok = true;
  v0.schedule = "tile_q=128";
  v0.medianMs = 0.5;
  v0.p20Ms = 0.49;
  v0.p80Ms = 0.51;
  v0.timeRank = winner == 0 ? 1 : 2;
  v1 = v0;
  v1.variant = 1;
  v1.schedule = "tile_q=64";
  v1.medianMs = 0.5 / speedup;
  v1.timeRank = winner == 0 ? 2 : 1;
  v2.variant = 2;
  v2.schedule = "tile_q=256";
  v2.problem = "output differs from v0 (o: rel L2 3.1e-01 > 2.0e-02)";
  r.candidates = {v0, v1, v2};
  return r;
}

TEST(TuneCommand, TableShowsTimesRanksAndWhyCandidatesWereDropped) {
  std::string t = formatTuneTable(sampleReport("mha", 1, 1.25), 50, -1);
  EXPECT_EQ(t.find("mha [B=2,N=8192] on GPU (sm_90a, CC 9.0, driver 13.0)\n"),
            0u)
      << t;
  EXPECT_NE(t.find("  sizes B=2,N=8000; 2 rotating input sets; 50 reps; "
                   "tolerance by dtype\n"),
            std::string::npos)
      << t;
  // v0: 0.500 ms, 1.00x, second by time, first in the manifest.
  EXPECT_NE(t.find("  v0         0.500       0.490-0.510    1.00x         2 "
                   "         1  tile_q=128\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("  v1*        0.400       0.490-0.510    1.25x         1 "
                   "         2  tile_q=64\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("  v2             -                 -        -         - "
                   "         3  tile_q=256\n        dropped: output differs "
                   "from v0"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("  winner: v1, 1.25x vs v0; variant 0 was the winner: no; "
                   "model rank matched: no; v0 spread 0.0%\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("  tuning file: /t/mha.json\n"), std::string::npos) << t;
}

TEST(TuneCommand, SummaryCountsVariantZeroWinsAndSpeedups) {
  std::vector<TuneReport> reports = {sampleReport("a", 0, 1.0),
                                     sampleReport("b", 1, 1.21),
                                     sampleReport("c", 0, 1.0)};
  TuneSummary s = summarizeTuning(reports, 1);
  EXPECT_EQ(s.tuned, 3);
  EXPECT_EQ(s.variant0Won, 2);
  EXPECT_EQ(s.rankMatched, 2);
  EXPECT_NEAR(s.geomeanSpeedup, std::cbrt(1.21), 1e-12);
  EXPECT_DOUBLE_EQ(s.maxSpeedup, 1.21);
  EXPECT_EQ(s.text(), "3 kernel(s) tuned, 1 failed; variant 0 was already the "
                      "winner for 2 of 3; tuned vs v0: geomean 1.066x, max "
                      "1.210x (b [B=2,N=8192]); model rank matched for 2 of 3");
  EXPECT_EQ(summarizeTuning({}, 0).text(),
            "0 kernel(s) tuned, 0 failed; variant 0 was already the winner "
            "for 0 of 0; tuned vs v0: geomean 1.000x, max 1.000x; model rank "
            "matched for 0 of 0");
}

} // namespace
