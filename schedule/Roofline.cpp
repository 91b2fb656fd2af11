//===- Roofline.cpp - time of one kernel from its work --------------------===//

#include "schedule/Roofline.h"

#include "schedule/Units.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace flashgen::schedule;


namespace {

/// Launch latency plus the drain of the last CTAs, per kernel. An estimate
/// (a few microseconds on A100 and H100), not measured by the anchors; it
/// matters only for tiny problems and for chunk_two_pass's second launch.
constexpr double kLaunchSeconds = 3e-6;

/// H100 and A100 split the L2 into two partitions and a line that SMs on
/// both sides read may be held in both, so the reuse model counts on half
/// the L2 (conservative; Nsight's DRAM bytes check it).
constexpr double kL2ReuseFraction = 0.5;

/// SM cycles without tensor-core issue per barrier-separated step: the
/// __syncthreads, the cp.async wait and commit, the softmax's row
/// reductions (shuffles) and the MMA pipeline draining before the barrier.
/// An estimate (tens of cycles each), to be calibrated on the device; it
/// is what makes 16-key tiles cost more than 64-key ones.
constexpr double kStepCycles = 100;
/// SM cycles per 128-byte line a CTA touches (KernelCost::linesTouched),
/// over the SMs. Fitted on the H200 (schedule/calibration/h200-step.tsv):
/// step kernels whose warps read and write 8 state columns of 16 rows (16
/// lines a 512-byte access) ran at 0.31-0.39 of the copy bandwidth with
/// DRAM 21% busy and the memory pipelines 77% (Nsight Compute): about 4.4
/// cycles a line at the sustained clock; 16 columns (half lines) ran at
/// 0.52-0.67, 32 and more (whole lines) at 0.85-0.91, bound by HBM. The chunk kernels'
/// 16-column state slices at one token took 70 us where the step
/// kernel's took 61-68.
constexpr double kCyclesPerLineTouched = 4.4;
/// Cycles per inner tile pair issued without a barrier: the dependent MMA
/// chain's fill (mma.sync latency is about 30 cycles). An estimate.
constexpr double kInnerStepCycles = 32;

} // namespace

double flashgen::schedule::f32RowLines(int64_t rows, int64_t columns) {
  return static_cast<double>(rows) * static_cast<double>(ceilDiv(columns * 4, 128));
}

double flashgen::schedule::l2ReuseBytes(const Target &t) {
  return kL2ReuseFraction * static_cast<double>(t.l2Bytes);
}

int64_t flashgen::schedule::ctasPerSM(const Target &t, int64_t smemBytes,
                                      int64_t registersPerThread,
                                      int64_t threads) {
  if (threads <= 0 || threads > t.maxThreadsPerCTA || smemBytes > t.smemPerCTA ||
      registersPerThread > t.maxRegistersPerThread)
    return 0;
  int64_t regs = roundUp(std::max<int64_t>(registersPerThread, 1),
                         t.registerAllocationUnit);
  int64_t bySmem = t.smemPerSM / (smemBytes + t.smemReservedPerCTA);
  int64_t byRegisters = t.registersPerSM / (regs * threads);
  int64_t byThreads = t.maxThreadsPerSM / threads;
  return std::max<int64_t>(
      0, std::min({t.maxCTAsPerSM, bySmem, byRegisters, byThreads}));
}

void flashgen::schedule::estimateKernelTime(const Target &t, KernelCost &k) {
  int64_t threads = 32 * k.warps;
  k.ctasPerSM = ctasPerSM(t, k.smemBytes, k.registersPerThread, threads);
  k.hbmSeconds = k.hbmBytes / t.hbmBytesPerSecond;
  k.l2Seconds = k.globalBytes / t.l2BytesPerSecond;
  k.atomicSeconds =
      (t.l2AtomicsPerSecond > 0 ? k.atomicOps / t.l2AtomicsPerSecond : 0) +
      (t.l2BulkReduceBytesPerSecond > 0 ? k.bulkReduceBytes / t.l2BulkReduceBytesPerSecond : 0);
  const double wgmmaEfficiency = t.warpgroup.wgmmaEfficiency > 0
                                     ? t.warpgroup.wgmmaEfficiency
                                     : t.mmaEfficiency;
  k.mmaSeconds = (k.flops - k.wgmmaFlops) / (t.mmaFlopsPerSecond * t.mmaEfficiency) +
                 k.wgmmaFlops / (t.mmaFlopsPerSecond * wgmmaEfficiency);
  k.lineSeconds = k.linesTouched * kCyclesPerLineTouched / (t.smClockHz * t.numSMs);
  k.sfuSeconds = k.sfuOps / t.sfuOpsPerSecond;
  k.aluSeconds = k.aluOps / t.fp32OpsPerSecond;
  double smCycles = t.smClockHz * t.numSMs;
  k.smemSeconds = k.smemTraffic / (t.smemBytesPerClockPerSM * smCycles);
  if (k.ctasPerSM == 0 || k.ctas <= 0) {
    k.parallelEfficiency = 0;
    k.seconds = std::numeric_limits<double>::infinity();
    k.binding = k.ctasPerSM == 0 ? "does-not-fit" : "empty";
    return;
  }
  int64_t cMax = ceilDiv(k.ctas, t.numSMs);
  int64_t concurrent = std::min(k.ctasPerSM, cMax);
  if (k.bytesInFlightPerCta > 0) {
    // What HBM can serve is also what the resident CTAs ask for per
    // latency (Little's law), wave by wave: a last wave of few CTAs streams
    // its share at what those few keep in flight. On the H200, 512 decode
    // CTAs over 396 resident slots took 1.26x as long as over 528.
    const int64_t slots = t.numSMs * k.ctasPerSM;
    const double perCta = k.hbmBytes / static_cast<double>(k.ctas);
    auto waveSeconds = [&](int64_t ctas) {
      double reachable = static_cast<double>(ctas) * k.bytesInFlightPerCta /
                         kLoadedHbmLatencySeconds;
      return static_cast<double>(ctas) * perCta /
             std::min(t.hbmBytesPerSecond, reachable);
    };
    const int64_t tail = k.ctas % slots;
    k.hbmSeconds = static_cast<double>(k.ctas / slots) * waveSeconds(slots) +
                   (tail > 0 ? waveSeconds(tail) : 0.0);
  }
  double balance = static_cast<double>(k.ctas) /
                   static_cast<double>(t.numSMs * cMax);
  double subPartitions = std::min(
      1.0, static_cast<double>(concurrent * k.warps) / t.warpsToSaturateSM);
  k.parallelEfficiency = balance * subPartitions;

  // Another resident CTA issues MMAs while this one waits at a barrier.
  k.stepSeconds = (k.steps * kStepCycles + k.innerSteps * kInnerStepCycles +
                   k.exposedCycles) /
                  smCycles / concurrent;
  double memory = std::max({k.hbmSeconds, k.l2Seconds, k.lineSeconds, k.atomicSeconds});
  double compute =
      k.pipelineSeconds > 0
          ? k.pipelineSeconds
          : std::max({k.mmaSeconds, k.sfuSeconds, k.aluSeconds,
                      k.smemSeconds}) +
                k.stepSeconds;
  bool overlapped = k.pipelined || concurrent >= 2;
  double core = overlapped ? std::max(memory, compute)
                           : memory + compute - k.partialOverlap * std::min(memory, compute);
  k.seconds = core / k.parallelEfficiency + kLaunchSeconds;
  if (k.chainSteps > 0) {
    // Every wave of CTAs runs its whole chain; a partial last wave too.
    int64_t waves = ceilDiv(k.ctas, t.numSMs * k.ctasPerSM);
    double shared = 1 + k.chainContention * static_cast<double>(concurrent - 1);
    k.chainSeconds = static_cast<double>(waves) * k.chainSteps *
                     k.chainStepCycles * shared / t.smClockHz;
    if (k.chainSeconds + kLaunchSeconds > k.seconds) {
      k.seconds = k.chainSeconds + kLaunchSeconds;
      k.binding = "chain";
      return;
    }
  }

  if (k.parallelEfficiency < kParallelismBindingEfficiency) {
    k.binding = "parallelism";
    return;
  }
  if (k.pipelineSeconds > 0) {
    k.binding = memory > k.pipelineSeconds ? (k.hbmSeconds >= k.l2Seconds ? "hbm" : "l2")
                                           : k.pipelineBinding;
    return;
  }
  struct Term {
    double seconds;
    const char *name;
  } terms[] = {{k.hbmSeconds, "hbm"},
               {k.l2Seconds, "l2"},
               {k.lineSeconds, "lines"},
               {k.atomicSeconds, "atomics"},
               {k.mmaSeconds, "math"},
               {k.sfuSeconds, "sfu"},
               {k.aluSeconds, "alu"},
               {k.smemSeconds, "smem"},
               {k.stepSeconds, "sync"}};
  const Term *best = &terms[0];
  for (const Term &term : terms)
    if (term.seconds > best->seconds)
      best = &term;
  k.binding = best->name;
}

int64_t flashgen::schedule::staggeredFetchPasses(const Target &t,
                                                 int64_t bytes) {
  double usable = l2ReuseBytes(t);
  if (static_cast<double>(bytes) <= usable)
    return 1;
  return 1 + static_cast<int64_t>(std::ceil(static_cast<double>(bytes) / usable));
}

int64_t flashgen::schedule::l2FetchPasses(const Target &t, int64_t span,
                                          int64_t resident, int64_t bytes,
                                          int64_t readers) {
  if (readers <= 1 || span <= resident)
    return 1;
  if (2.0 * static_cast<double>(bytes) <= l2ReuseBytes(t))
    return 1;
  return std::min(readers, ceilDiv(span, std::max<int64_t>(resident, 1)));
}
