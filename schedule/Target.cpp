//===- Target.cpp - GPU target descriptions as data -----------------------===//
//
// The numbers, with where each comes from. "Guide" is the CUDA C++
// Programming Guide (12.x), "Technical Specifications per Compute
// Capability" and "Arithmetic Instructions" throughput tables. "Anchors" are
// the measurements in ../shared/anchors/README.md, taken on the lent H100.
// A figure marked *assumed* has no source we could check and should be
// replaced by a measurement.
//
//===----------------------------------------------------------------------===//

#include "schedule/Target.h"

#include <algorithm>

using namespace flashgen::schedule;

namespace {

constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * 1024;

// Shared by sm_80 and sm_90 (Guide): 64K 32-bit registers per SM, at most
// 255 per thread, allocated per warp in units of 256 registers (8 per
// thread); 1024 threads per CTA, 2048 per SM, 32 CTAs per SM; 1 KiB of shared
// memory reserved by the system for every resident CTA.
constexpr int64_t kRegistersPerSM = 65536;
constexpr int64_t kMaxRegistersPerThread = 255;
constexpr int64_t kRegisterAllocationUnit = 8;
constexpr int64_t kMaxThreadsPerCTA = 1024;
constexpr int64_t kSmemReservedPerCTA = 1 * kKiB;
// Four SM sub-partitions, each with one tensor core and one warp scheduler
// (A100 and H100 whitepapers): fewer than four resident warps leave tensor
// cores idle.
constexpr int64_t kWarpsToSaturateSM = 4;
// Guide, throughput table: 16 MUFU results (ex2, lg2, rcp, tanh.approx) per
// clock per SM on compute capability 8.x and 9.0.
constexpr double kSfuOpsPerClockPerSM = 16;
// Guide, "Shared Memory": 32 banks, each 32 bits wide per clock (cc 5.x+).
constexpr double kSmemBytesPerClockPerSM = 32 * 4;

//--- sm_80: A100 SXM4 80 GB -------------------------------------------------
constexpr int64_t kSm80SmemPerSM = 164 * kKiB;  // Guide, cc 8.0
constexpr int64_t kSm80SmemPerCTA = 163 * kKiB; // Guide, cc 8.0
constexpr int64_t kSm80NumSMs = 108;            // A100 whitepaper
constexpr int64_t kSm80L2Bytes = 40 * kMiB;     // A100 whitepaper: 40 MB L2
// A100 SXM4 80 GB datasheet peak; the 40 GB part has 1555 GB/s. Not measured:
// copies reach less than the datasheet figure.
constexpr double kSm80HbmBytesPerSecond = 2039e9;
constexpr double kSm80ClockHz = 1410e6; // A100 boost clock (whitepaper)
// Datasheet dense bf16: 312 TFLOP/s = 108 SMs x 2048 FLOP/clock x 1410 MHz.
constexpr double kSm80MmaFlopsPerSecond = 312e12;
// A100 whitepaper: L2 read bandwidth 5120 bytes/clock.
constexpr double kSm80L2BytesPerSecond = 5120.0 * kSm80ClockHz;
// Guide: 64 FP32 add/mul/fma per clock per SM on cc 8.0.
constexpr double kSm80Fp32OpsPerClockPerSM = 64;
// Dao, "FlashAttention-2" (2023): the forward pass reaches 50-73% of A100's
// peak with mma.sync; flashgen's kernels have FA2's structure.
constexpr double kSm80MmaSyncEfficiency = 0.70;

//--- sm_90: H100 SXM5 80 GB -------------------------------------------------
constexpr int64_t kSm90SmemPerSM = 228 * kKiB;  // Guide, cc 9.0
constexpr int64_t kSm90NumSMs = 132;            // Anchors (and whitepaper)
constexpr int64_t kSm90L2Bytes = 50 * kMiB;     // Anchors / whitepaper: 50 MB
// Anchors: device-to-device copy, bytes read + written.
constexpr double kSm90HbmBytesPerSecond = 3020e9;
// Anchors: cuBLAS bf16 GEMM 8192^3.
constexpr double kSm90MmaFlopsPerSecond = 785e12;
// H100 whitepaper: 989.4 dense bf16 TFLOP/s = 132 SMs x 4096 FLOP/clock x
// 1830 MHz. The measured 785 TFLOP/s implies the clock the chip sustains
// under tensor-core load; SFU and FP32 rates below use that clock.
constexpr double kSm90MmaFlopsPerClockPerSM = 4096;
constexpr double kSm90SustainedClockHz =
    kSm90MmaFlopsPerSecond / (kSm90NumSMs * kSm90MmaFlopsPerClockPerSM);
// Guide: 128 FP32 add/mul/fma per clock per SM on cc 9.0.
constexpr double kSm90Fp32OpsPerClockPerSM = 128;
// *Assumed*: 2.5x the measured HBM copy rate. No L2 anchor exists yet; the
// term only binds for schedules that re-read K/V many times from L2.
constexpr double kSm90L2BytesPerSecond = 2.5 * kSm90HbmBytesPerSecond;
// Anchors: FlashAttention-2 (mma.sync) forward reaches 348-359 TFLOP/s at
// d = 128, N >= 2048 without a mask: 0.46 of the measured GEMM ceiling.
// flashgen's emitter uses mma.sync on sm_90a too (docs/emitter-target.md).
constexpr double kSm90MmaSyncEfficiency = 0.46;

// flash3's warpgroup model: the SM's own pipeline (tensor pipe, softmax
// units, one warpgroup's chain) and the CTAs' starts, the same on the H100
// and the H200 (one processor, one clock). Fitted (`flashgen calibrate
// --fit`) to the fourth H200 table (the persistent grid, d = 256 with
// FlashAttention-3's register split) and, twice over, the seventh: the first
// measured with TMA copies in the producer warpgroup (flash-warp-specialize
// copies=tma), which moved the candidates closer together (per-stage costs
// fall, CTA starts weigh more). Seventh table: mean Spearman rho 0.63, first
// choice within 5% of the fastest on 26 of 26 shapes; the eighth (this
// model's own top 8, measured after the fit, not fitted): rho 0.79, 26 of
// 26, mean first-choice loss 0.3%. The first six H200 tables and the H100
// one measured the cp.async producer, which is now only the fallback; they
// stay as data (rho 0.59-0.77 under these constants).
constexpr WarpgroupModel kSm90Warpgroup = {
    /*wgmmaEfficiency=*/0.75, /*tileCycles=*/200, /*chainCycles=*/300,
    /*selfCopyCycles=*/1000, /*stageCycles=*/240, /*ctaCycles=*/2000};

//--- h200: H200 SXM 141 GB ---------------------------------------------------
// The H100's processor (132 SMs, 50 MB L2, the same clocks and limits) with
// HBM3e. Anchors (../shared/anchors/README.md, measured 2026-12-02 on the
// lent H200): device-to-device copy 4268 GB/s, cuBLAS bf16 GEMM 8192^3
// 783 TFLOP/s, FlashAttention-2 forward 344-356 TFLOP/s at d = 128.
constexpr double kH200HbmBytesPerSecond = 4268e9;
constexpr double kH200MmaFlopsPerSecond = 783e12;
constexpr double kH200SustainedClockHz =
    kH200MmaFlopsPerSecond / (kSm90NumSMs * kSm90MmaFlopsPerClockPerSM);
constexpr double kH200MmaSyncEfficiency = 0.45;
// *Assumed* as on the H100: 2.5x the measured copy rate.
constexpr double kH200L2BytesPerSecond = 2.5 * kH200HbmBytesPerSecond;
// Measured 2026-12-03 on the lent H200: the attention backward's kv kernel
// (d = 128, B = 2, N = 4096, 16 heads) adds 2.15e9 (32x32 tiles) and 1.07e9
// (32x64) f32 elements into dQ with red.global.add in 9.24 and 4.78 ms, L2
// 62-76% busy, the tensor pipe 20-26%: 2.3e11 reductions per second bind.
constexpr double kH200L2AtomicsPerSecond = 2.3e11;
// *Assumed*: the same per SM and clock on the H100 and A100.
constexpr double kSm90L2AtomicsPerSecond = kH200L2AtomicsPerSecond;
constexpr double kSm80L2AtomicsPerSecond = kH200L2AtomicsPerSecond * 108 / 132;
// Fitted 2026-12-05 on the lent H100 (bench/attention/bench_backward.py):
// flash3_grad's kv kernel with 64-key tiles adds 17.2 GB of f32 dQ blocks
// (4 KiB bulk reductions) at N = 8192 in 9.5 ms (D 64) and 10.1 ms (D 128),
// 1.8 and 1.7 TB/s, where its math alone is modeled at 4.7 ms; the 128-key
// form adds half as much and runs below that rate.
constexpr double kSm90L2BulkReduceBytesPerSecond = 1.75e12;
// *Assumed*: the same L2 and clock on the H200.
constexpr double kH200L2BulkReduceBytesPerSecond = kSm90L2BulkReduceBytesPerSecond;
// The H100's processor: the same warpgroup model (fitted to both tables).
constexpr WarpgroupModel kH200Warpgroup = kSm90Warpgroup;

//--- sm_test_small: a synthetic small-memory target -------------------------
// Turing's (cc 7.5) limits and T4's datasheet figures, but with sm_80's 16-bit
// m16n8k16 MMA so the same kernels apply: a machine whose on-chip memory is
// below d^2 already at d = 512 with room to spare, for the small-cache tests.
constexpr int64_t kSmallSmemPerSM = 64 * kKiB;  // Guide, cc 7.5
constexpr int64_t kSmallSmemPerCTA = 64 * kKiB; // Guide, cc 7.5
constexpr int64_t kSmallMaxThreadsPerSM = 1024; // Guide, cc 7.5
constexpr int64_t kSmallMaxCTAsPerSM = 16;      // Guide, cc 7.5
constexpr int64_t kSmallNumSMs = 40;            // T4 datasheet
constexpr int64_t kSmallL2Bytes = 4 * kMiB;     // T4 datasheet
constexpr double kSmallHbmBytesPerSecond = 320e9; // T4 datasheet (GDDR6)
constexpr double kSmallMmaFlopsPerSecond = 65e12; // T4 datasheet, fp16 tensor
constexpr double kSmallClockHz = 1590e6;          // T4 boost clock
constexpr double kSmallFp32OpsPerClockPerSM = 64; // Guide, cc 7.5
constexpr double kSmallL2BytesPerSecond = 2.5 * kSmallHbmBytesPerSecond; // *assumed*
constexpr double kSmallL2AtomicsPerSecond = kSmallL2BytesPerSecond / 64; // *assumed*
constexpr double kSmallMmaSyncEfficiency = 0.5;   // synthetic

// Instruction shapes (PTX ISA): mma.sync.aligned.m16n8k16 for bf16/f16 on
// sm_80+, one warp; wgmma.mma_async.m64nNk16, N = 8..256 in steps of 8, one
// warpgroup of four warps, sm_90a.
constexpr MmaShape kMmaSync16816 = {MmaKind::MmaSync, "mma.sync.m16n8k16", 16,
                                    8, 8, 8, 16, 1};
constexpr MmaShape kWgmma64N16 = {MmaKind::Wgmma, "wgmma.m64nNk16", 64,
                                  8, 256, 8, 16, 4};

std::vector<Target> buildTargets() {
  std::vector<Target> targets;

  Target sm80;
  sm80.name = "sm_80";
  sm80.arch = "sm_80";
  sm80.description = "NVIDIA A100 SXM4 80 GB (datasheet figures)";
  sm80.smemPerSM = kSm80SmemPerSM;
  sm80.smemPerCTA = kSm80SmemPerCTA;
  sm80.smemReservedPerCTA = kSmemReservedPerCTA;
  sm80.registersPerSM = kRegistersPerSM;
  sm80.maxRegistersPerThread = kMaxRegistersPerThread;
  sm80.registerAllocationUnit = kRegisterAllocationUnit;
  sm80.maxThreadsPerCTA = kMaxThreadsPerCTA;
  sm80.maxThreadsPerSM = 2048;
  sm80.maxCTAsPerSM = 32;
  sm80.warpsToSaturateSM = kWarpsToSaturateSM;
  sm80.numSMs = kSm80NumSMs;
  sm80.l2Bytes = kSm80L2Bytes;
  sm80.hbmBytesPerSecond = kSm80HbmBytesPerSecond;
  sm80.l2BytesPerSecond = kSm80L2BytesPerSecond;
  sm80.l2AtomicsPerSecond = kSm80L2AtomicsPerSecond;
  sm80.mmaFlopsPerSecond = kSm80MmaFlopsPerSecond;
  sm80.sfuOpsPerSecond = kSfuOpsPerClockPerSM * kSm80NumSMs * kSm80ClockHz;
  sm80.fp32OpsPerSecond = kSm80Fp32OpsPerClockPerSM * kSm80NumSMs * kSm80ClockHz;
  sm80.smClockHz = kSm80ClockHz;
  sm80.smemBytesPerClockPerSM = kSmemBytesPerClockPerSM;
  sm80.mmaShapes = {kMmaSync16816};
  sm80.kernelMma = MmaKind::MmaSync;
  sm80.mmaEfficiency = kSm80MmaSyncEfficiency;
  sm80.sources = {
      "limits: CUDA C++ Programming Guide, compute capability 8.0",
      "108 SMs, 40 MB L2, L2 5120 B/clock: A100 whitepaper",
      "HBM 2039 GB/s, 312 TFLOP/s bf16 dense: A100 SXM4 80 GB datasheet "
      "(not measured)",
      "MMA efficiency 0.70: FlashAttention-2 paper, forward on A100"};
  targets.push_back(sm80);

  Target sm90;
  sm90.name = "sm_90";
  sm90.arch = "sm_90";
  sm90.description = "NVIDIA H100 SXM5 80 GB (measured anchors)";
  sm90.smemPerSM = kSm90SmemPerSM;
  sm90.smemPerCTA = kSm90SmemPerCTA;
  sm90.smemReservedPerCTA = kSmemReservedPerCTA;
  sm90.registersPerSM = kRegistersPerSM;
  sm90.maxRegistersPerThread = kMaxRegistersPerThread;
  sm90.registerAllocationUnit = kRegisterAllocationUnit;
  sm90.maxThreadsPerCTA = kMaxThreadsPerCTA;
  sm90.maxThreadsPerSM = 2048;
  sm90.maxCTAsPerSM = 32;
  sm90.warpsToSaturateSM = kWarpsToSaturateSM;
  sm90.numSMs = kSm90NumSMs;
  sm90.l2Bytes = kSm90L2Bytes;
  sm90.hbmBytesPerSecond = kSm90HbmBytesPerSecond;
  sm90.l2BytesPerSecond = kSm90L2BytesPerSecond;
  sm90.l2AtomicsPerSecond = kSm90L2AtomicsPerSecond;
  sm90.l2BulkReduceBytesPerSecond = kSm90L2BulkReduceBytesPerSecond;
  sm90.mmaFlopsPerSecond = kSm90MmaFlopsPerSecond;
  sm90.sfuOpsPerSecond =
      kSfuOpsPerClockPerSM * kSm90NumSMs * kSm90SustainedClockHz;
  sm90.fp32OpsPerSecond =
      kSm90Fp32OpsPerClockPerSM * kSm90NumSMs * kSm90SustainedClockHz;
  sm90.smClockHz = kSm90SustainedClockHz;
  sm90.smemBytesPerClockPerSM = kSmemBytesPerClockPerSM;
  sm90.mmaShapes = {kMmaSync16816, kWgmma64N16};
  // flash2's; flash3 uses wgmma (Target::mma(MmaKind::Wgmma)).
  sm90.kernelMma = MmaKind::MmaSync;
  sm90.mmaEfficiency = kSm90MmaSyncEfficiency;
  sm90.warpgroup = kSm90Warpgroup;
  sm90.sources = {
      "limits: CUDA C++ Programming Guide, compute capability 9.0",
      "132 SMs, 50 MB L2, 3020 GB/s copy, 785 TFLOP/s bf16 GEMM: measured "
      "anchors (../shared/anchors/README.md)",
      "MMA efficiency 0.46: anchors, FlashAttention-2 forward / GEMM ceiling",
      "L2 bandwidth: assumed 2.5x HBM (no anchor yet)"};
  targets.push_back(sm90);

  Target h200 = sm90;
  h200.name = "h200";
  h200.description = "NVIDIA H200 SXM 141 GB, sm_90 (measured anchors)";
  h200.hbmBytesPerSecond = kH200HbmBytesPerSecond;
  h200.l2BytesPerSecond = kH200L2BytesPerSecond;
  h200.l2AtomicsPerSecond = kH200L2AtomicsPerSecond;
  h200.l2BulkReduceBytesPerSecond = kH200L2BulkReduceBytesPerSecond;
  h200.mmaFlopsPerSecond = kH200MmaFlopsPerSecond;
  h200.sfuOpsPerSecond =
      kSfuOpsPerClockPerSM * kSm90NumSMs * kH200SustainedClockHz;
  h200.fp32OpsPerSecond =
      kSm90Fp32OpsPerClockPerSM * kSm90NumSMs * kH200SustainedClockHz;
  h200.smClockHz = kH200SustainedClockHz;
  h200.mmaEfficiency = kH200MmaSyncEfficiency;
  h200.warpgroup = kH200Warpgroup;
  h200.sources = {
      "limits, 132 SMs, 50 MB L2: as sm_90 (the same processor)",
      "4268 GB/s copy, 783 TFLOP/s bf16 GEMM: measured anchors on the lent "
      "H200 (../shared/anchors/README.md, 2026-12-02)",
      "MMA efficiency 0.45: anchors, FlashAttention-2 forward / GEMM ceiling",
      "warpgroup model: fitted to schedule/calibration/h100- and "
      "h200-attention.tsv",
      "L2 bandwidth: assumed 2.5x HBM (no anchor yet)"};
  targets.push_back(h200);

  Target small;
  small.name = "sm_test_small";
  small.arch = "sm_75";
  small.description = "synthetic small-memory target (sm_75 / T4 limits, "
                      "sm_80 MMA)";
  small.smemPerSM = kSmallSmemPerSM;
  small.smemPerCTA = kSmallSmemPerCTA;
  small.smemReservedPerCTA = 0;
  small.registersPerSM = kRegistersPerSM;
  small.maxRegistersPerThread = kMaxRegistersPerThread;
  small.registerAllocationUnit = kRegisterAllocationUnit;
  small.maxThreadsPerCTA = kMaxThreadsPerCTA;
  small.maxThreadsPerSM = kSmallMaxThreadsPerSM;
  small.maxCTAsPerSM = kSmallMaxCTAsPerSM;
  small.warpsToSaturateSM = kWarpsToSaturateSM;
  small.numSMs = kSmallNumSMs;
  small.l2Bytes = kSmallL2Bytes;
  small.hbmBytesPerSecond = kSmallHbmBytesPerSecond;
  small.l2BytesPerSecond = kSmallL2BytesPerSecond;
  small.l2AtomicsPerSecond = kSmallL2AtomicsPerSecond;
  small.mmaFlopsPerSecond = kSmallMmaFlopsPerSecond;
  small.sfuOpsPerSecond = kSfuOpsPerClockPerSM * kSmallNumSMs * kSmallClockHz;
  small.fp32OpsPerSecond =
      kSmallFp32OpsPerClockPerSM * kSmallNumSMs * kSmallClockHz;
  small.smClockHz = kSmallClockHz;
  small.smemBytesPerClockPerSM = kSmemBytesPerClockPerSM;
  small.mmaShapes = {kMmaSync16816};
  small.kernelMma = MmaKind::MmaSync;
  small.mmaEfficiency = kSmallMmaSyncEfficiency;
  small.sources = {"synthetic: CUDA cc 7.5 limits, T4 datasheet rates"};
  targets.push_back(small);
  return targets;
}

} // namespace

const char *flashgen::schedule::mmaKindName(MmaKind kind) {
  return kind == MmaKind::Wgmma ? "wgmma" : "mma.sync";
}

int64_t Target::registerFileBytesPerCTA() const {
  return 4 * std::min(registersPerSM, maxThreadsPerCTA * maxRegistersPerThread);
}

const MmaShape *Target::mma(MmaKind kind) const {
  for (const MmaShape &shape : mmaShapes)
    if (shape.kind == kind)
      return &shape;
  return nullptr;
}

const std::vector<Target> &flashgen::schedule::knownTargets() {
  static const std::vector<Target> targets = buildTargets();
  return targets;
}

std::string flashgen::schedule::knownTargetNames() {
  std::string names;
  for (const Target &t : knownTargets()) {
    if (!names.empty())
      names += ", ";
    names += t.name;
  }
  return names;
}

Result<const Target *> flashgen::schedule::lookupTarget(std::string_view name) {
  // sm_90a is sm_90 with the architecture-specific features (wgmma, TMA)
  // enabled: the same machine; sm_90 is the H100.
  std::string_view canonical =
      name == "sm_90a" || name == "h100" ? "sm_90" : name;
  for (const Target &t : knownTargets())
    if (t.name == canonical)
      return &t;
  return Result<const Target *>::failure(
      "unknown target '" + std::string(name) +
      "'; known targets: " + knownTargetNames() +
      " (sm_90a and h100 are sm_90)");
}
