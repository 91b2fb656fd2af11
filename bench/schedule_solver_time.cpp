//===- schedule_solver_time.cpp - solver time per example problem ---------===//
//
// Times flash-schedule's search (Z3, and enumeration of the same space for
// comparison) on the shapes of ../shared/anchors/README.md, on the CPU, and
// prints what it chose. Exits non-zero if one Z3 solve takes a second or
// more (the budget a compile may spend per op).
//
//   flashgen-bench-schedule [--target sm_90] [--top-k 4]
//
//===----------------------------------------------------------------------===//

#include "schedule/Scheduler.h"
#include "schedule/Units.h"

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace flashgen::schedule;

namespace {

/// The per-op budget of a solve.
constexpr double kBudgetSeconds = 1.0;
/// Tokens per batch in the anchors' attention and recurrence tables.
constexpr int64_t kAttentionTokens = 16384;
constexpr int64_t kLinearTokens = 65536;

struct Example {
  std::string name;
  std::function<Result<ScheduleResult>(const SolveOptions &)> solve;
};

AttentionProblem attention(int64_t n, int64_t d, int64_t heads, bool causal) {
  AttentionProblem p;
  p.batch = kAttentionTokens / n;
  p.queryHeads = p.keyHeads = heads;
  p.queryLen = p.keyLen = n;
  p.headDim = p.valueDim = d;
  p.mask = causal ? MaskKind::Causal : MaskKind::None;
  return p;
}

LinearProblem linear(int64_t t, int64_t dk, int64_t dv, int64_t heads,
                     GateKind gate) {
  LinearProblem p;
  p.batch = kLinearTokens / t;
  p.heads = heads;
  p.length = t;
  p.keyDim = dk;
  p.valueDim = dv;
  p.gate = gate;
  return p;
}

/// CPU seconds of `f` (the shared build machine's wall clock is noisy).
double timed(const std::function<void()> &f) {
  std::clock_t start = std::clock();
  f();
  return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
}

} // namespace

int main(int argc, char **argv) {
  std::string targetName = "sm_90";
  unsigned topK = 4;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--target") && i + 1 < argc)
      targetName = argv[++i];
    else if (!std::strcmp(argv[i], "--top-k") && i + 1 < argc)
      topK = static_cast<unsigned>(std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: %s [--target NAME] [--top-k K]\n", argv[0]);
      return 2;
    }
  }
  Result<const Target *> target = lookupTarget(targetName);
  if (!target) {
    std::fprintf(stderr, "%s\n", target.error().c_str());
    return 2;
  }
  const Target &t = **target;

  std::vector<Example> examples;
  for (auto [d, heads] : {std::pair<int64_t, int64_t>{64, 32}, {128, 16},
                          {256, 8}, {512, 4}})
    for (bool causal : {false, true}) {
      char name[64];
      std::snprintf(name, sizeof(name), "attn d=%lld N=8192%s",
                    static_cast<long long>(d), causal ? " causal" : "");
      AttentionProblem p = attention(8192, d, heads, causal);
      examples.push_back({name, [p, &t](const SolveOptions &o) {
                            return scheduleAttention(p, t, o);
                          }});
    }
  {
    AttentionProblem decode = attention(1, 128, 32, false);
    decode.batch = 8;
    decode.keyHeads = 8;
    decode.keyLen = 32768;
    examples.push_back({"decode GQA 32/8 M=32768", [decode, &t](const SolveOptions &o) {
                          return scheduleAttention(decode, t, o);
                        }});
  }
  struct LinearRow {
    const char *name;
    LinearProblem p;
  } rows[] = {
      {"simple GLA 16x128/128 T=4096", linear(4096, 128, 128, 16, GateKind::Decay)},
      {"mLSTMsig 8x256/512 T=8192", linear(8192, 256, 512, 8, GateKind::MlstmSig)},
      {"mLSTMexp 16x128/128 T=16384",
       linear(16384, 128, 128, 16, GateKind::MlstmExp)},
      {"GLA 16x128/128 T=4096", linear(4096, 128, 128, 16, GateKind::Vector)},
  };
  for (const LinearRow &r : rows) {
    LinearProblem p = r.p;
    examples.push_back({r.name, [p, &t](const SolveOptions &o) {
                          return scheduleLinear(p, t, o);
                        }});
  }

  std::printf("target %s, top-%u; times are CPU seconds of the whole solve\n\n",
              t.name.c_str(), topK);
  std::printf("%-32s %7s %6s %8s %8s  %-14s %10s %8s %s\n", "problem", "points",
              "checks", "z3", "enum", "algorithm", "modeled", "io/bound",
              "schedule");
  int status = 0;
  for (const Example &e : examples) {
    SolveOptions z3, brute;
    z3.topK = brute.topK = topK;
    brute.engine = SearchEngine::Enumeration;
    Result<ScheduleResult> a = Result<ScheduleResult>::failure("not run");
    Result<ScheduleResult> b = Result<ScheduleResult>::failure("not run");
    double z3Seconds = timed([&] { a = e.solve(z3); });
    double enumSeconds = timed([&] { b = e.solve(brute); });
    if (!a || !b) {
      std::printf("%-32s error: %s\n", e.name.c_str(),
                  (!a ? a.error() : b.error()).c_str());
      status = 1;
      continue;
    }
    const Candidate &best = a->candidates.front();
    bool same = best.schedule == b->candidates.front().schedule;
    std::printf("%-32s %7zu %6zu %7.3fs %7.3fs  %-14s %10s %8.2f %s%s%s\n",
                e.name.c_str(), a->spacePoints, a->solverChecks, z3Seconds,
                enumSeconds, algorithmName(best.schedule.algorithm),
                formatSeconds(best.evaluation.seconds).c_str(), best.ioRatio,
                best.schedule.str().c_str(), same ? "" : "  [enumeration differs]",
                a->engineNote.empty() ? "" : ("  [" + a->engineNote + "]").c_str());
    if (z3Seconds >= kBudgetSeconds || !same)
      status = 1;
  }
  return status;
}
