//===- Target.h - GPU target descriptions as data ---------------*- C++ -*-===//
//
// Everything the IO bounds and the cost model know about a GPU, in one
// table (Target.cpp), each number with its source: the CUDA C++ Programming
// Guide's per-compute-capability limits, NVIDIA datasheets and whitepapers,
// or the measured H100 anchors in ../shared/anchors/. Nothing else in
// schedule/ hard-codes a hardware number.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_TARGET_H
#define FLASHGEN_SCHEDULE_TARGET_H

#include "schedule/Result.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flashgen::schedule {

/// Dynamic shared memory one CTA may use on sm_90 (Guide, cc 9.0), the
/// only architecture of the wgmma kernels: what their plans that depend on
/// it (flash3_dsplit's resident Q, dsplitQueryResident) are held to.
constexpr int64_t kSm90SmemPerCTA = 227 * 1024;

/// The tensor-core instruction families a kernel can be built on.
enum class MmaKind {
  /// Warp-level `mma.sync` (sm_80+): one warp computes an m x n x k tile.
  MmaSync,
  /// Warpgroup-level `wgmma.mma_async` (sm_90a): four warps, n variable.
  Wgmma,
};

const char *mmaKindName(MmaKind kind);

/// One MMA instruction shape for 16-bit inputs (bf16 / f16) with f32
/// accumulation: an m x n x k product per `warps` warps, n in
/// [nMin, nMax] in steps of nStep.
struct MmaShape {
  MmaKind kind;
  const char *name;
  int64_t m, nMin, nMax, nStep, k;
  int64_t warps;
};

/// The warpgroup pipeline model of warp-specialized kernels (flash3,
/// AttentionCost.cpp): per key tile, a consumer warpgroup issues Q K^T,
/// runs the softmax, issues P V; warpgroups of the SM share the tensor pipe
/// and the SFU/FP32 units. Fitted per target to measured candidate times
/// (schedule/calibration/, `flashgen-calibrate`).
struct WarpgroupModel {
  /// Fraction of mmaFlopsPerSecond the wgmma chains reach while issuing.
  double wgmmaEfficiency = 0;
  /// Tensor-pipe cycles lost per warpgroup key tile (fence, commit, wait).
  double tileCycles = 0;
  /// One warpgroup's fixed latency per key tile (barrier waits, row
  /// reductions): bounds the SM when too few warpgroups overlap.
  double chainCycles = 0;
  /// Extra chain cycles per key tile when the consumers issue their own
  /// copies and barriers (no producer warpgroup).
  double selfCopyCycles = 0;
  /// Chain cycles per key tile, divided by stages - 1: loads that land
  /// late when the ring is shallow.
  double stageCycles = 0;
  /// Cycles a CTA spends outside its key loop that nothing overlaps: its
  /// start, Q's load and the ring's fill before the first wgmma, the last
  /// P V's drain. Every CTA of a one-CTA-per-tile grid pays them; a
  /// persistent CTA pays them once (its producer loads the next tile's Q,
  /// K and V while the consumers finish the current one).
  double ctaCycles = 0;
};

struct Target {
  std::string name;
  std::string description;
  /// The CUDA architecture the target's kernels are built for ("sm_90");
  /// a bundle with sm_90a-only kernels (wgmma) says "sm_90a".
  std::string arch;

  // Per-CTA and per-SM limits (CUDA C++ Programming Guide, "Technical
  // Specifications per Compute Capability").
  int64_t smemPerSM = 0;            ///< bytes of shared memory per SM
  int64_t smemPerCTA = 0;           ///< bytes of dynamic shared memory one CTA may use
  int64_t smemReservedPerCTA = 0;   ///< bytes the system reserves per resident CTA
  int64_t registersPerSM = 0;       ///< 32-bit registers per SM
  int64_t maxRegistersPerThread = 0;
  int64_t registerAllocationUnit = 0; ///< per-thread register counts round up to this
  int64_t maxThreadsPerCTA = 0;
  int64_t maxThreadsPerSM = 0;
  int64_t maxCTAsPerSM = 0;
  /// Warps that must be resident on an SM to keep all of its tensor cores
  /// busy: one per SM sub-partition (four on Ampere and Hopper).
  int64_t warpsToSaturateSM = 0;

  // Whole-device figures.
  int64_t numSMs = 0;
  int64_t l2Bytes = 0;
  double hbmBytesPerSecond = 0;   ///< read + write
  double l2BytesPerSecond = 0;
  /// f32 reductions (red.global.add) the L2 slices complete per second:
  /// far fewer than l2BytesPerSecond / 4 (the backward's dQ atomics).
  double l2AtomicsPerSecond = 0;
  /// Bytes of f32 the L2 adds per second from the copy engine's bulk
  /// reductions (cp.reduce.async.bulk .add.f32; 0: the target has none).
  double l2BulkReduceBytesPerSecond = 0;
  double mmaFlopsPerSecond = 0;   ///< dense 16-bit tensor-core FLOP/s
  double sfuOpsPerSecond = 0;     ///< ex2/tanh/rcp (MUFU) results per second
  double fp32OpsPerSecond = 0;    ///< FP32 add/mul/fma instructions per second
  double smClockHz = 0;           ///< the clock the SMs sustain under load
  /// Shared-memory bandwidth of one SM: 32 banks of 4 bytes per clock.
  double smemBytesPerClockPerSM = 0;

  /// The MMA instruction shapes the architecture has, and the one
  /// flashgen's emitter uses for it today (codegen/device/matmul/mma.cuh).
  std::vector<MmaShape> mmaShapes;
  MmaKind kernelMma = MmaKind::MmaSync;
  /// The fraction of `mmaFlopsPerSecond` an attention or chunk kernel built
  /// on `kernelMma` reaches in its MMA phase.
  double mmaEfficiency = 0;
  /// flash3's model; unused (zero) on targets without wgmma.
  WarpgroupModel warpgroup;

  /// Where the numbers come from, one line per figure.
  std::vector<std::string> sources;

  /// Register file bytes one CTA can own: every register of the SM, unless
  /// the per-CTA thread and per-thread register limits cap it lower.
  int64_t registerFileBytesPerCTA() const;
  /// The on-chip capacity M of the IO bounds: shared memory plus registers
  /// one CTA can use.
  int64_t onChipBytesPerCTA() const { return smemPerCTA + registerFileBytesPerCTA(); }
  /// The shape of `kind`, or null when the target has none.
  const MmaShape *mma(MmaKind kind) const;
};

/// The built-in targets: sm_80 (A100), sm_90 (H100 SXM), h200 (H200 SXM,
/// sm_90 too) and sm_test_small.
const std::vector<Target> &knownTargets();

/// "sm_80, sm_90, sm_test_small" (for messages).
std::string knownTargetNames();

/// Looks a target up by name ("sm_90a" is sm_90). The error lists the known
/// targets.
Result<const Target *> lookupTarget(std::string_view name);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_TARGET_H
