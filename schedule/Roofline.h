//===- Roofline.h - time of one kernel from its work ------------*- C++ -*-===//
//
// The time model every schedule is ranked by: the work of a kernel (bytes
// through HBM and L2, tensor-core FLOPs, special-function and FP32 ops) over
// the target's rates, the slowest resource binding, divided by how well the
// grid fills the machine. Also the L2 reuse model that turns the bytes CTAs
// load into the bytes HBM serves.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_ROOFLINE_H
#define FLASHGEN_SCHEDULE_ROOFLINE_H

#include "schedule/Target.h"

#include <cstdint>
#include <string>
#include <vector>

namespace flashgen::schedule {

/// One kernel launch of a schedule and what the model makes of it.
struct KernelCost {
  std::string name; ///< "attention", "fused", "states", "outputs"

  // Launch shape and per-CTA resources.
  int64_t ctas = 0;
  int64_t warps = 0;
  int64_t smemBytes = 0;
  int64_t registersPerThread = 0;
  /// Loads of the next tile overlap the current tile's math inside a CTA
  /// (a pipeline of at least two stages).
  bool pipelined = false;
  /// Otherwise, the part of the smaller of memory and compute time that
  /// still runs under the larger (a one-CTA-an-SM kernel that prefetches
  /// part of its next tile; fitted where set).
  double partialOverlap = 0;

  // Work.
  int64_t globalBytes = 0; ///< loaded and stored by CTAs (L2 hits included)
  int64_t hbmBytes = 0;    ///< served by HBM after the L2 reuse model
  double atomicOps = 0;    ///< f32 red.global.add elements (L2 reductions)
  /// f32 bytes added by the copy engine's bulk reductions (L2 reductions
  /// of whole blocks, Target::l2BulkReduceBytesPerSecond).
  double bulkReduceBytes = 0;
  double flops = 0;        ///< tensor-core FLOPs of the tiles computed
  /// The part of `flops` on warpgroup MMAs (wgmma), at the target's
  /// warpgroup efficiency; the rest runs at its mma.sync efficiency.
  double wgmmaFlops = 0;
  double sfuOps = 0;       ///< exp2 / tanh / ... results
  double aluOps = 0;       ///< FP32 instructions outside the MMAs
  /// Shared-memory bytes read and written (tile stores, MMA operand loads).
  double smemTraffic = 0;
  /// Barrier-separated pipeline steps, summed over all CTAs (key tiles,
  /// column chunks, chunks), and MMA tile pairs issued back to back without
  /// a barrier (TFLA's inner tiles).
  double steps = 0;
  double innerSteps = 0;
  /// Bytes of copies one CTA keeps in flight (a ring's stages ahead); 0:
  /// not modeled. HBM serves at most what the resident CTAs keep in
  /// flight per latency (Little's law, estimateKernelTime), which binds
  /// kernels that only stream (decode) when their rings are shallow.
  double bytesInFlightPerCta = 0;
  /// 128-byte lines the CTAs' state accesses touch, summed over CTAs: a
  /// CTA that moves part of each line (a few f32 columns of many rows) pays
  /// a whole line's time for it (kCyclesPerLineTouched), however the other
  /// CTAs share the rest of the line; whole lines bind only past the HBM
  /// time. 0: not modeled.
  double linesTouched = 0;
  /// SM cycles, summed over all CTAs, that steps wait for copies a
  /// shallow ring issued too late to land in time (the small-cache
  /// kernels' chunk steps); hidden only by other resident CTAs.
  double exposedCycles = 0;
  /// Kernels whose CTAs each run a chain of dependent steps (the delta
  /// rule's chunks: a chunk's values need the state the one before left):
  /// the steps of one CTA and the SM cycles of one step. Such a kernel
  /// takes at least its waves of CTAs times the chain, whatever else runs
  /// beside it. 0: no chain modeled.
  double chainSteps = 0;
  double chainStepCycles = 0;
  /// How much longer a step takes per other CTA resident on the SM (the
  /// chains share its issue slots).
  double chainContention = 0;
  /// Warp-specialized kernels (flash3): the on-chip time of the warpgroup
  /// pipeline model (AttentionCost.cpp) with a perfectly balanced grid,
  /// which replaces the MMA / SFU / FP32 / step terms; 0 for the others.
  double pipelineSeconds = 0;
  /// What binds that model: "math" (tensor pipe), "softmax" (SFU and FP32
  /// of all warpgroups) or "latency" (one warpgroup's dependent chain).
  std::string pipelineBinding;

  // Filled by estimateKernelTime.
  int64_t ctasPerSM = 0;
  double parallelEfficiency = 0;
  double hbmSeconds = 0, l2Seconds = 0, lineSeconds = 0, atomicSeconds = 0, mmaSeconds = 0,
         sfuSeconds = 0,
         aluSeconds = 0, smemSeconds = 0, stepSeconds = 0, chainSeconds = 0;
  double seconds = 0;
  /// "hbm", "l2", "lines", "atomics", "math", "sfu", "alu", "smem", "sync",
  /// "parallelism", "chain"
  std::string binding;
};

/// CTAs of `threads` threads with `smemBytes` and `registersPerThread` that
/// fit on one SM at once (0: not even one).
int64_t ctasPerSM(const Target &t, int64_t smemBytes,
                  int64_t registersPerThread, int64_t threads);

/// Fills the time fields of `k`:
///   busiest SM runs cMax = ceil(ctas / SMs) CTAs, min(ctasPerSM, cMax) at
///   once; efficiency = ctas / (SMs cMax) x min(1, warps in flight / warps
///   that saturate an SM); memory = max(HBM, L2, lines touched) time, compute = max(MMA,
///   SFU, FP32, shared-memory) time plus the step overhead (the SM idles
///   through a barrier unless another CTA fills it), overlapped (max) when
///   the CTA is pipelined or two CTAs share the SM, else serial (sum, less
///   partialOverlap of the smaller);
///   time = that / efficiency + the launch overhead.
void estimateKernelTime(const Target &t, KernelCost &k);

/// How often `bytes` that co-resident CTAs read from staggered starts are
/// fetched from HBM: the causal backward's key tiles each stream the query
/// rows from their own diagonal on, so at any moment they are spread over
/// the whole range instead of sharing each fetch: once per usable L2's
/// worth of the range, plus one for what else the kernel keeps in L2 (1
/// when the range fits). Fitted to one measurement on the H200 (Nsight
/// Compute, GQA 48/8 d = 128 causal, flash3_grad: 5.19 GB against 2.76 GB
/// at one pass, 50.7 MB per KV head's range, 1.93 usable L2s: three
/// passes); the causal d = 64 and d = 128 backward ranges fit (one).
int64_t staggeredFetchPasses(const Target &t, int64_t bytes);

/// How often bytes that `readers` CTAs of one group read are fetched from
/// HBM, when those CTAs are consecutive in launch order over a `span` of
/// CTAs, `resident` CTAs run at once, and the group's data is `bytes`:
///   1 when the span fits in the resident set (co-resident CTAs of a group
///   run in near lockstep and share each fetch) or when twice the data
///   (this group's and a neighbour's) fits in the usable L2; else once per
///   wave of the span, at most once per reader.
int64_t l2FetchPasses(const Target &t, int64_t span, int64_t resident,
                      int64_t bytes, int64_t readers);

/// 128-byte lines one CTA touches reading or writing `rows` rows of
/// `columns` f32 values each (KernelCost::linesTouched).
double f32RowLines(int64_t rows, int64_t columns);

/// The share of the L2 the reuse model counts on (see Roofline.cpp).
double l2ReuseBytes(const Target &t);

/// How long an HBM load takes under a streaming load (latency plus
/// queueing), for the Little's-law bound of KernelCost::bytesInFlightPerCta
/// (applied wave by wave, Roofline.cpp). Fitted on the H200
/// (bench/attention/bench_decode.py, GQA 32/8, d = 128, 8 sequences of
/// 32768 keys, flash_decode 16 x 32 tiles, 3 stages): 2 CTAs per SM with
/// 32 KiB in flight each read at 93% of the copy bandwidth, so 64 KiB
/// covers the latency (4.28 TB/s / 132 SMs x 2 us).
constexpr double kLoadedHbmLatencySeconds = 2.0e-6;

/// Below this parallel efficiency a kernel's binding resource is
/// "parallelism" rather than its slowest unit.
constexpr double kParallelismBindingEfficiency = 0.5;

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_ROOFLINE_H
