//===- Checker.cpp - every rule a schedule must satisfy -------------------===//

#include "schedule/Checker.h"

#include "schedule/AttentionCost.h"
#include "schedule/AttentionSpace.h"
#include "schedule/DecodeSplit.h"
#include "schedule/Flash3Layout.h"
#include "schedule/LinearCost.h"
#include "schedule/LinearSpace.h"
#include "schedule/StepSpace.h"
#include "schedule/Roofline.h"
#include "schedule/Units.h"

#include <sstream>

using namespace flashgen::schedule;

namespace {

struct Rules {
  std::vector<std::string> violations;
  void require(bool ok, const std::string &message) {
    if (!ok)
      violations.push_back(message);
  }
};

std::string n(int64_t v) { return std::to_string(v); }

/// Shared memory, registers and occupancy of one kernel against the target.
void checkFits(Rules &r, const Target &t, const std::string &kernel,
               int64_t smem, int64_t registers, int64_t warps) {
  int64_t threads = 32 * warps;
  r.require(smem <= t.smemPerCTA,
            kernel + " needs " + formatBytes(smem) + " of shared memory, " +
                t.name + " has " + formatBytes(t.smemPerCTA) + " per CTA");
  r.require(registers <= t.maxRegistersPerThread,
            kernel + " needs about " + n(registers) +
                " registers per thread, more than " +
                n(t.maxRegistersPerThread));
  r.require(roundUp(registers, t.registerAllocationUnit) * threads <=
                t.registersPerSM,
            kernel + " needs " +
                n(roundUp(registers, t.registerAllocationUnit) * threads) +
                " registers per CTA, " + t.name + " has " +
                n(t.registersPerSM) + " per SM");
  r.require(ctasPerSM(t, smem, registers, threads) >= 1,
            kernel + ": not one CTA fits on an SM");
}

/// value_slice outside chunk_grad (the gradient's chunk kernel, whose
/// rules are LinearGrad.cpp's).
std::string valueSliceMisplaced(const Schedule &s) {
  return "value_slice = " + n(s.valueSlice) + " is chunk_grad's only (the gradient's chunk "
         "kernel's value columns per pass), not " + algorithmName(s.algorithm) + "'s";
}

} // namespace

std::vector<std::string>
flashgen::schedule::checkAttentionSchedule(const AttentionProblem &p,
                                           const Target &t, const Schedule &s) {
  Rules r;
  if (std::string why = attentionPrecondition(p, t, s.algorithm); !why.empty())
    return {why};
  if (s.rotaryPrepass != 0)
    if (std::string why = rotaryPrepassPrecondition(p, s.algorithm); !why.empty())
      return {why};
  if (s.maskLists != 0)
    if (std::string why = maskListsPrecondition(p, s.algorithm); !why.empty())
      return {why};
  if (s.valueSlice != 0)
    return {valueSliceMisplaced(s)};
  const int64_t e = p.elementBytes;
  if (s.algorithm == Algorithm::Flash3) {
    // The kernel shape's own rules (Flash3Layout.h, which the emitter
    // checks too), then what every schedule must satisfy.
    r.violations = flash3Violations(p.headDim, p.valueDim, e, s, t.smemPerCTA,
                                    p.elementMods(), p.rotaryDims > 0,
                                    p.blockQ > 0 || s.maskLists != 0);
    r.require(s.tileD == p.headDim && s.tileDv == p.valueDim,
              "flash3 tiles whole rows: tile_d = " + n(s.tileD) +
                  ", tile_dv = " + n(s.tileDv) + " must be " + n(p.headDim) +
                  ", " + n(p.valueDim));
    if (!r.violations.empty())
      return r.violations;
    int64_t smem = attentionSmemBytes(p, s);
    r.require(s.smemBytes == smem, "smem_bytes = " + n(s.smemBytes) +
                                       " differs from the plan's " + n(smem));
    checkFits(r, t, "flash3", smem, attentionRegisters(p, s), s.warps);
    return r.violations;
  }
  r.require(s.warps >= 1 && isPowerOfTwo(s.warps),
            "warps = " + n(s.warps) + " must be a power of two");
  r.require(32 * s.warps <= t.maxThreadsPerCTA,
            n(32 * s.warps) + " threads per CTA, " + t.name + " allows " +
                n(t.maxThreadsPerCTA));
  r.require(s.stages >= 2, "stages = " + n(s.stages) +
                               ": the attention pipeline needs at least 2");
  if (splitsKeys(s.algorithm))
    r.require(s.innerKv == 0 || decodeKeyWarpsFit(s.tileKv, s.warps, s.innerKv),
              "inner_kv = " + n(s.innerKv) + " with tile_kv = " + n(s.tileKv) +
                  ", warps = " + n(s.warps) + ": " + kDecodeKeyWarpsRule);
  // flash_decode's key warps share rows (Schedule::rowWarps).
  r.require(s.tileQ >= 16 && s.warps >= 1 && s.tileQ % (16 * s.rowWarps()) == 0,
            "tile_q = " + n(s.tileQ) + " must be a multiple of 16 x " +
                n(s.rowWarps()) + " = " + n(16 * s.rowWarps()) +
                " (the warps that split its rows)");
  r.require(s.tileKv >= 16 && s.tileKv % 16 == 0,
            "tile_kv = " + n(s.tileKv) + " must be a multiple of 16");
  if (s.algorithm == Algorithm::Flash2 || splitsKeys(s.algorithm)) {
    r.require(s.tileD == paddedTileColumns(p.headDim) &&
                  s.tileDv == paddedTileColumns(p.valueDim),
              std::string(algorithmName(s.algorithm)) +
                  " tiles whole rows: tile_d = " + n(s.tileD) +
                  ", tile_dv = " + n(s.tileDv) + " must be " +
                  n(paddedTileColumns(p.headDim)) + ", " +
                  n(paddedTileColumns(p.valueDim)));
  } else {
    auto column = [&](int64_t c, int64_t d, const char *name) {
      r.require(isPowerOfTwo(c) && c >= kMinTileColumns &&
                    c <= kMaxTileColumns && d % c == 0,
                std::string(name) + " = " + n(c) +
                    " must be a power of two in [32, 256] dividing " + n(d));
    };
    column(s.tileD, p.headDim, "tile_d");
    column(s.tileDv, p.valueDim, "tile_dv");
    if (s.tileD > 0) {
      int64_t ahead = dsplitPrefetchDistance(s.algorithm, s.stages);
      r.require(ahead >= 1 && ahead <= p.headDim / s.tileD,
                "stages = " + n(s.stages) + " with D / tile_d = " +
                    n(p.headDim / s.tileD) + " chunks per key tile: " +
                    kDSplitRingRule);
    }
    if (usesWgmma(s.algorithm)) {
      r.require(s.warps % kWarpsPerGroup == 0 &&
                    s.tileQ == kFlash3GroupRows / kWarpsPerGroup * s.warps,
                "tile_q = " + n(s.tileQ) + ", warps = " + n(s.warps) + ": " +
                    kDSplitWarpgroupRule);
      r.require(s.tileD % kFlash3GroupRows == 0 &&
                    s.tileDv % kFlash3GroupRows == 0,
                "tile_d = " + n(s.tileD) + ", tile_dv = " + n(s.tileDv) +
                    " must be whole 64-column slabs of wgmma's swizzled tiles");
      r.require(s.tileKv <= 256, "tile_kv = " + n(s.tileKv) +
                                     ": a wgmma's N is at most 256");
    }
  }
  if (!r.violations.empty())
    return r.violations;
  int64_t threads = 32 * s.warps;
  auto whole = [&](int64_t rows, int64_t cols, const char *what) {
    r.require((rows * cols * e / 16) % threads == 0,
              std::string(what) + " tile " + n(rows) + " x " + n(cols) +
                  " does not split into whole 16-byte copies over " +
                  n(threads) + " threads");
  };
  // flash2 copies whole rows of D (Dv) elements, which a 16-wide head
  // keeps narrower than its padded tile_d: the copies split what is copied.
  bool wholeRows = !splitsHeadDim(s.algorithm);
  int64_t copyD = wholeRows ? p.headDim : s.tileD;
  int64_t copyDv = wholeRows ? p.valueDim : s.tileDv;
  whole(s.tileQ, copyD, "Q");
  whole(s.tileKv, copyD, "K");
  whole(s.tileKv, copyDv, "V");
  int64_t smem = attentionSmemBytes(p, s);
  r.require(s.smemBytes == smem, "smem_bytes = " + n(s.smemBytes) +
                                     " differs from the plan's " + n(smem));
  r.require(decodeKeyWarpMergeBytes(s, p.valueDim) <= smem,
            "flash_decode's key-warp merge needs " +
                formatBytes(decodeKeyWarpMergeBytes(s, p.valueDim)) +
                " of the copy ring's " + formatBytes(smem));
  checkFits(r, t, algorithmName(s.algorithm), smem, attentionRegisters(p, s),
            s.warps);
  return r.violations;
}

bool flashgen::schedule::chunkTilesSplitIntoCopies(const LinearProblem &p,
                                                   const Schedule &s) {
  const int64_t threads = 32 * s.warps;
  return splitsIntoCopies(s.chunk, p.keyDim, p.elementBytes, threads) &&
         splitsIntoCopies(s.chunk, s.tileDv, p.elementBytes, threads) &&
         (p.gate != GateKind::Vector || splitsIntoCopies(s.chunk, p.keyDim, 4, threads));
}

std::vector<std::string>
flashgen::schedule::chunkwiseKernelViolations(const LinearProblem &p,
                                              const Target &t,
                                              const Schedule &s) {
  std::ostringstream os;
  const int64_t L = s.chunk, warps = s.warps, tileDv = s.tileDv;
  // chunk_grad: the rules of its two state passes (no outputs, no inner
  // tiles; LinearGrad.h checks its chunk kernel).
  const bool statePasses = s.algorithm == Algorithm::ChunkGrad;
  if (s.algorithm != Algorithm::ChunkFused && s.algorithm != Algorithm::ChunkScored &&
      s.algorithm != Algorithm::ChunkTwoPass && !statePasses)
    os << "algorithm '" << algorithmName(s.algorithm)
       << "' is not a recurrence schedule (chunk_fused, chunk_scored, chunk_two_pass)";
  else if (s.algorithm == Algorithm::ChunkScored && !chunkScoredPrecondition(p).empty())
    os << "no chunk_scored schedule: " << chunkScoredPrecondition(p);
  else if (s.algorithm == Algorithm::ChunkScored && s.innerKv != s.innerQ)
    os << "chunk_scored: inner_kv = " << s.innerKv << " must equal inner_q = " << s.innerQ
       << " (the fused loop reads P whole; its pre-pass scores one key tile per query "
          "tile)";
  else if (p.elementBytes != 2)
    os << "inputs of " << p.elementBytes
       << "-byte elements have no tensor-core path (the chunkwise kernels "
          "take bf16 or f16)";
  else if (p.gate != GateKind::None && p.gateElementBytes != 4)
    os << "gate operands have " << p.gateElementBytes
       << "-byte elements; the chunkwise kernels read f32 gates";
  else if (warps < 1 || !isPowerOfTwo(warps) || warps > 16)
    os << "warps = " << warps << " (a power of two, 1 to 16)";
  else if (s.stages < 1 || s.stages > 2)
    os << "stages = " << s.stages << " (1 or 2 chunks in flight)";
  else if (L < 16 || L % 16 != 0)
    os << "chunk = " << L << " (a multiple of 16, the MMA tile)";
  else if (!statePasses && (s.innerQ < 16 * warps || s.innerQ % (16 * warps) != 0 ||
                            L % s.innerQ != 0))
    os << "inner_q = " << s.innerQ << " must split into 16-row tiles over "
       << warps << " warps and divide chunk = " << L;
  else if (!statePasses && (s.innerKv < 16 || s.innerKv % 16 != 0 || L % s.innerKv != 0))
    os << "inner_kv = " << s.innerKv
       << " must be a multiple of 16 that divides chunk = " << L;
  else if (tileDv < 16 || !isPowerOfTwo(tileDv) || p.valueDim % tileDv != 0)
    os << "tile_dv = " << tileDv
       << " must be a power of two >= 16 that divides Dv = " << p.valueDim;
  else if (p.packed && s.algorithm != Algorithm::ChunkFused && !statePasses)
    os << "packed (varlen) sequences take the fused chunk kernel only (chunk_fused), not '"
       << algorithmName(s.algorithm) << "'";
  else if (p.isDelta() && s.algorithm != Algorithm::ChunkFused)
    os << "the delta rule has the fused chunk kernel only (chunk_fused): "
          "its chunk states depend on the corrected values of every chunk "
          "before";
  else if (p.isDelta() && p.gate != GateKind::None && p.gate != GateKind::Decay)
    os << "the delta rule's chunks take a scalar log-decay or none, not gate '"
       << gateKindName(p.gate) << "'";
  else if (!isPowerOfTwo(p.keyDim) || p.keyDim < 16 * warps)
    os << "Dk = " << p.keyDim
       << " must be a power of two with 16 state rows per warp (" << warps
       << " warps)";
  else if (!chunkTilesSplitIntoCopies(p, s))
    os << "chunk = " << L << ", tile_dv = " << tileDv << ", " << warps
       << " warps: the chunk's tiles (L x Dk, L x tile_dv"
       << (p.gate == GateKind::Vector ? ", the f32 g tile" : "")
       << ") must split into whole 16-byte copies over the " << 32 * warps << " threads";
  if (!os.str().empty())
    return {os.str()};

  std::vector<mlir::flash::ChunkShape> shapes;
  if (!statePasses)
    shapes.push_back(chunkwiseKernelShape(p, s, true));
  if (s.algorithm == Algorithm::ChunkTwoPass || statePasses)
    shapes.push_back(chunkwiseKernelShape(p, s, false));
  if (p.isDelta())
    shapes.push_back(deltaPrepareShape(p, s));
  if (s.algorithm == Algorithm::ChunkScored)
    shapes.push_back(scoresPrepassShape(p, s));
  for (const mlir::flash::ChunkShape &shape : shapes) {
    int64_t smem = mlir::flash::chunkSmemPlan(shape).total;
    if (smem > t.smemPerCTA) {
      os << "needs " << smem << " bytes of shared memory, " << t.name
         << " allows " << t.smemPerCTA;
      return {os.str()};
    }
    int64_t registers = mlir::flash::chunkRegisterEstimate(shape);
    if (registers > 255) {
      os << "needs about " << registers << " registers per thread (state slice "
         << p.keyDim << " x " << tileDv << " over " << warps
         << " warps): more than 255";
      return {os.str()};
    }
  }
  return {};
}

std::vector<std::string>
flashgen::schedule::stepKernelViolations(const LinearProblem &p,
                                         const Target &t, const Schedule &s) {
  if (s.algorithm != Algorithm::RecurrentStep)
    return {std::string("algorithm '") + algorithmName(s.algorithm) +
            "' is not the recurrent step kernel"};
  if (std::string why = stepPrecondition(p, t); !why.empty())
    return {why};
  if (s.tileDv <= 0 || p.valueDim % s.tileDv != 0)
    return {"tile_dv = " + n(s.tileDv) + " must divide Dv = " + n(p.valueDim)};
  if (std::string why = stepLayoutViolation(stepShapeOf(p, s)); !why.empty())
    return {why};
  return {};
}

std::vector<std::string>
flashgen::schedule::recurrenceKernelViolations(const LinearProblem &p,
                                               const Target &t,
                                               const Schedule &s) {
  return s.algorithm == Algorithm::RecurrentStep
             ? stepKernelViolations(p, t, s)
             : chunkwiseKernelViolations(p, t, s);
}

std::vector<std::string>
flashgen::schedule::checkLinearSchedule(const LinearProblem &p, const Target &t,
                                        const Schedule &s) {
  Rules r;
  if (s.valueSlice != 0)
    return {valueSliceMisplaced(s)};
  if (s.algorithm == Algorithm::RecurrentStep) {
    r.violations = stepKernelViolations(p, t, s);
    if (!r.violations.empty())
      return r.violations;
    StepShape shape = stepShapeOf(p, s);
    int64_t smem = stepSmemPlan(shape).total;
    checkFits(r, t, "step kernel", smem, stepRegisterEstimate(shape), s.warps);
    r.require(s.smemBytes == smem, "smem_bytes = " + n(s.smemBytes) +
                                       " differs from the plan's " + n(smem));
    return r.violations;
  }
  if (std::string why = linearPrecondition(p, t); !why.empty())
    return {why};
  r.violations = chunkwiseKernelViolations(p, t, s);
  if (!r.violations.empty())
    return r.violations;
  bool twoPass = s.algorithm == Algorithm::ChunkTwoPass;
  checkFits(r, t, twoPass ? "outputs kernel" : "fused kernel",
            linearSmemBytes(p, s, true), linearRegisters(p, s, true), s.warps);
  if (twoPass)
    checkFits(r, t, "states kernel", linearSmemBytes(p, s, false),
              linearRegisters(p, s, false), s.warps);
  if (s.algorithm == Algorithm::ChunkScored)
    checkFits(r, t, "scores kernel", mlir::flash::chunkSmemPlan(scoresPrepassShape(p, s)).total,
              mlir::flash::chunkRegisterEstimate(scoresPrepassShape(p, s)), s.warps);
  if (p.isDelta())
    checkFits(r, t, "prepare kernel",
              mlir::flash::chunkSmemPlan(deltaPrepareShape(p, s)).total,
              mlir::flash::chunkRegisterEstimate(deltaPrepareShape(p, s)), s.warps);
  int64_t smem = linearScheduleSmemBytes(p, s);
  r.require(s.smemBytes == smem, "smem_bytes = " + n(s.smemBytes) +
                                     " differs from the plan's " + n(smem));
  return r.violations;
}
