//===- StepLayout.h - on-chip plan of the recurrent step kernels -*- C++ -*-===//
//
// The thread layout, shared-memory plan and register estimate of the
// `recurrent_step` kernels (codegen/device/recurrence/step.cuh), in one
// place: the checker (stepKernelViolations) holds schedules to it, the cost
// model prices it and the CUDA emitter (codegen/recurrence/StepEmitter.cpp)
// prints its offsets. Plain C++, no MLIR.
//
// A CTA of `warps` warps holds a Dk x tile_dv slice of the f32 state:
// four adjacent value columns per thread, so tile_dv / 4 threads cover a
// row and the CTA covers 32 warps / (tile_dv / 4) rows at a time.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_STEPLAYOUT_H
#define FLASHGEN_SCHEDULE_STEPLAYOUT_H

#include <cstdint>
#include <string>

namespace flashgen::schedule {

/// What a step kernel specialises on, as far as its registers and buffers
/// go.
struct StepShape {
  int64_t keyDim = 0; ///< Dk
  int64_t tileDv = 0; ///< value columns per CTA
  int64_t warps = 4;
  bool vectorGate = false; ///< per-key-dim decays
  bool normalizer = false; ///< mlstm kinds: n
  bool delta = false;      ///< the delta rule: the state is read at k too
  bool outputMod = false;  ///< an output_mod at the store (maxStatePerThread)
};

/// Columns per thread (one 16-byte access of f32).
constexpr int64_t kStepColumnsPerThread = 4;
/// State values a thread may hold: beyond this the slice no longer fits
/// the register file with the reduction's partial sums beside it.
constexpr int64_t kStepMaxStatePerThread = 128;

/// ... and with an output_mod at the store, half that: NVRTC 13 spilled
/// (20 bytes, 168 registers) the 128-value slice of tile_dv = 32 on one
/// warp (Dk = 128) once the gate's load and silu joined it, where the same
/// kernel without them used 167 registers; 64 values left room (126).
inline int64_t stepMaxStatePerThread(bool outputMod) {
  return outputMod ? kStepMaxStatePerThread / 2 : kStepMaxStatePerThread;
}

struct StepThreads {
  int64_t colThreads = 0; ///< threads across one row of the slice
  int64_t rowGroups = 0;  ///< rows the CTA covers at a time
  int64_t rows = 0;       ///< rows per thread
};

inline StepThreads stepThreads(const StepShape &s) {
  StepThreads t;
  t.colThreads = s.tileDv / kStepColumnsPerThread;
  t.rowGroups = t.colThreads > 0 ? 32 * s.warps / t.colThreads : 0;
  t.rows = t.rowGroups > 0 ? s.keyDim / t.rowGroups : 0;
  return t;
}

/// "" when the layout works for `s`, else the rule it breaks.
inline std::string stepLayoutViolation(const StepShape &s) {
  auto n = [](int64_t v) { return std::to_string(v); };
  if (s.warps < 1 || s.warps > 16 || (s.warps & (s.warps - 1)) != 0)
    return "warps = " + n(s.warps) + " (a power of two, 1 to 16)";
  if (s.tileDv < kStepColumnsPerThread || s.tileDv > 128 ||
      (s.tileDv & (s.tileDv - 1)) != 0)
    return "tile_dv = " + n(s.tileDv) +
           " must be a power of two from 4 to 128 (4 columns a thread, a "
           "warp holds whole rows)";
  StepThreads t = stepThreads(s);
  if (t.rowGroups > s.keyDim || s.keyDim % t.rowGroups != 0)
    return "Dk = " + n(s.keyDim) + " does not split over the " +
           n(t.rowGroups) + " rows " + n(s.warps) + " warps cover at a time (tile_dv = " +
           n(s.tileDv) + ")";
  if (t.rows * kStepColumnsPerThread > stepMaxStatePerThread(s.outputMod))
    return "each thread would hold " + n(t.rows * kStepColumnsPerThread) +
           " state values (Dk = " + n(s.keyDim) + " x tile_dv = " + n(s.tileDv) +
           " over " + n(s.warps) + " warps); at most " +
           n(stepMaxStatePerThread(s.outputMod)) +
           (s.outputMod ? " with an output_mod" : "");
  return "";
}

/// Byte offsets of the step buffers in dynamic shared memory, all f32:
/// the token's q~, k and value tile; the per-key-dim decays (vector) or
/// gated query; the normaliser n; the token's scalars; the column dots'
/// cross-warp scratch.
struct StepSmemPlan {
  int64_t q = 0, k = 0, v = 0, decay = 0, norm = 0, scalars = 0, scratch = 0;
  int64_t total = 0;
};

/// Scalars of a token: decay, input weight, stabiliser m, k . q~, the
/// normaliser's n . q~, beta, 1/|q|, 1/|k|.
constexpr int64_t kStepScalars = 8;

inline StepSmemPlan stepSmemPlan(const StepShape &s) {
  auto align = [](int64_t bytes) { return (bytes + 127) / 128 * 128; };
  StepSmemPlan p;
  int64_t at = 0;
  p.q = at;
  at += align(4 * s.keyDim);
  p.k = at;
  at += align(4 * s.keyDim);
  p.v = at;
  at += align(4 * s.tileDv);
  p.decay = at;
  at += s.vectorGate ? align(4 * s.keyDim) : 0;
  p.norm = at;
  at += s.normalizer ? align(4 * s.keyDim) : 0;
  p.scalars = at;
  at += align(4 * kStepScalars);
  p.scratch = at;
  at += align(4 * (s.delta ? 2 : 1) * s.warps * s.tileDv);
  p.total = at;
  return p;
}

/// Registers per thread: the state slice, the column dots of one or two
/// vectors, the next token's rows in flight (q, k, the value tile and
/// per-key-dim gates, a token ahead), and a fixed part for addresses, loop
/// and scalars (an estimate; NVRTC 13 gave 71-96 for the emulator specs'
/// kernels, 48-168 for the examples'; the kernels compile with their
/// thread count as __launch_bounds__).
inline int64_t stepRegisterEstimate(const StepShape &s) {
  StepThreads t = stepThreads(s);
  int64_t threads = 32 * s.warps;
  int64_t inFlight = ((s.vectorGate ? 3 : 2) * s.keyDim + s.tileDv + threads - 1) / threads;
  return 40 + t.rows * kStepColumnsPerThread +
         (s.delta ? 2 : 1) * kStepColumnsPerThread * 2 + inFlight;
}

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_STEPLAYOUT_H
