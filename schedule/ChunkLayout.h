//===- ChunkLayout.h - on-chip plan of the chunkwise kernels ----*- C++ -*-===//
//
// The shared-memory plan and register estimate of the recurrence kernels
// ("linear_fused", "linear_states", "linear_outputs", "linear_scores",
// "delta_fused", "delta_prepare"), in one place: the
// checker (chunkwiseKernelViolations) holds schedules to it and the CUDA
// emitter (codegen/recurrence/ChunkwiseEmitter.cpp) prints its offsets, so the two never
// disagree about what fits. Plain C++, no MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_CHUNKLAYOUT_H
#define FLASHGEN_SCHEDULE_CHUNKLAYOUT_H

#include <cstdint>
#include <string>

#include "schedule/Target.h"

namespace mlir::flash {

/// What a recurrence kernel specialises on, as far as its buffers go.
struct ChunkShape {
  int64_t elementBytes = 2; ///< q, k, v (bf16 / f16)
  int64_t keyDim = 0;       ///< Dk
  int64_t tileDv = 0;       ///< value columns per CTA
  int64_t chunk = 0;        ///< L
  int64_t innerQ = 0;       ///< query rows per inner tile (all warps)
  int64_t innerKv = 0;      ///< keys per inner tile
  int64_t stages = 2;       ///< chunk tiles in flight
  int64_t warps = 4;
  bool vectorGate = false;  ///< per-key-dim log-decays (GLA)
  bool scalarGates = false; ///< decay, mlstm_exp, mlstm_sig: gate buffers
  bool normalizer = false;  ///< mlstm kinds: the n vector
  bool stabilizer = false;  ///< mlstm_exp: the running max tile
  bool queries = true;      ///< the kernel computes outputs (not "linear_states")
  /// delta_fused: a W tile beside each stage's k tile (its value tile holds
  /// the chunk's U, corrected in place).
  bool delta = false;
  /// delta_prepare: k and v (tile_dv = Dv) in one stage, no q, no state;
  /// beta, A and T = (I + A)^-1 in f32 and T in the element type.
  bool deltaPrepare = false;
  /// linear_grad_states of a normaliser kind: each stage also holds the
  /// chunk's rows' normaliser gradients, this many f32 a row (1; mlstm_exp
  /// 2, its stabiliser's beside them: linear_grad_rows' output); 0
  /// otherwise.
  int64_t dqnCols = 0;
  /// linear_grad_states of mlstm_exp: beside the rows' dN, the rows'
  /// stabiliser gradients (L f32), each gate buffer's row stabilisers and
  /// their sources (2 x 2 L f32) and a reduction buffer (32 f32).
  bool gradStabilizer = false;
  /// Kernels with outputs: f32 tiles of extras their output_mod reads at
  /// each output's own position (passes/StagedExtras.h), L x tile_dv each,
  /// staged with every chunk beside q, k and v.
  int64_t stagedExtras = 0;
  /// linear_fused of a chunk_scored schedule: each stage also holds the
  /// chunk's gated intra-chunk matrix P (L x L, element type, from the
  /// scores pre-pass), which replaces Q K^T and the decay map.
  bool stagedScores = false;
  /// linear_scores (chunk_scored's pre-pass): one chunk of q and k (one
  /// stage), the gate buffers, no v, no state.
  bool scoresPrepass = false;
};

/// Floats a row of a staged extra's tile spans: tile_dv, padded so that
/// the rows of a fragment's 8-row group fall in different banks.
inline int64_t stagedExtraRowFloats(int64_t tileDv) { return tileDv + 4; }

/// Byte offsets of each buffer in dynamic shared memory (0-sized buffers
/// have the offset of the next one). Every buffer starts 128-byte aligned.
struct ChunkSmemPlan {
  int64_t q = 0, k = 0, v = 0, g = 0, state = 0, norm = 0, gates = 0;
  int64_t w = 0, wStage = 0; ///< delta_fused's W ring, bytes of one stage
  /// The delta rule's row norms 1 / |q_r|, 1 / |k_r| of a chunk ([L][2]
  /// f32, l2norm_qk): delta_prepare's one, delta_fused's one per stage.
  int64_t rowNorms = 0;
  /// delta_prepare's work buffers (docs/semantics.md §7.3): beta [L], A
  /// [L][L] and T [L][L] in f32, T [L][L] in the element type.
  int64_t deltaBeta = 0, deltaA = 0, deltaT32 = 0, deltaT = 0;
  int64_t qStage = 0, kStage = 0, vStage = 0; ///< bytes of one stage
  /// linear_grad_states' normaliser-gradient ring (stages x L x dqnCols
  /// f32) and the chunk's dN column (L f32; mlstm_exp:
  /// ChunkShape::gradStabilizer's buffers after them).
  int64_t dqn = 0, dqnStage = 0, dqnRows = 0;
  int64_t gateBuffer = 0;                     ///< bytes of one gate buffer
  /// The staged extras' ring (ChunkShape::stagedExtras), bytes of one
  /// stage (every extra's tile, one after the other).
  int64_t extras = 0, extraStage = 0;
  /// ChunkShape::stagedScores' P ring, bytes of one stage; with a
  /// normaliser also the ring of the chunks' key sums (Dk f32 a stage).
  int64_t scores = 0, scoresStage = 0, keySums = 0;
  int64_t total = 0;
};

/// Floats of one scalar-gate buffer: hi[L], lo[L], iota[L], w[L], then the
/// scalars (decay, m_start, m_end, pad).
inline int64_t scalarGateBufferFloats(int64_t chunk) { return 4 * chunk + 4; }

/// f32 a row of linear_grad_rows' output (the normaliser kinds' gradient):
/// the row's normaliser gradient dN, and with a stabiliser (mlstm_exp) its
/// dm beside it.
inline int64_t normalizerGradColumns(bool stabilizer) { return stabilizer ? 2 : 1; }

/// Rows of the vector-gate tables: b at the first row of each 16-row tile,
/// then at the chunk's last row.
inline int64_t vectorGateTableRows(int64_t chunk) { return chunk / 16 + 1; }

inline ChunkSmemPlan chunkSmemPlan(const ChunkShape &s) {
  auto align = [](int64_t x) { return (x + 127) / 128 * 128; };
  ChunkSmemPlan p;
  p.qStage = s.queries ? s.chunk * s.keyDim * s.elementBytes : 0;
  p.kStage = s.chunk * s.keyDim * s.elementBytes;
  p.vStage = s.scoresPrepass ? 0 : s.chunk * s.tileDv * s.elementBytes;
  int64_t at = 0;
  p.q = at;
  at = align(at + s.stages * p.qStage);
  p.k = at;
  at = align(at + s.stages * p.kStage);
  p.v = at;
  at = align(at + s.stages * p.vStage);
  p.wStage = s.delta ? s.chunk * s.keyDim * s.elementBytes : 0;
  p.w = at;
  at = align(at + s.stages * p.wStage);
  p.scoresStage = s.stagedScores ? s.chunk * s.chunk * s.elementBytes : 0;
  p.scores = at;
  at = align(at + s.stages * p.scoresStage);
  p.keySums = at;
  if (s.stagedScores && s.normalizer)
    at = align(at + s.stages * s.keyDim * 4);
  p.extraStage = s.stagedExtras * s.chunk * stagedExtraRowFloats(s.tileDv) * 4;
  p.extras = at;
  at = align(at + s.stages * p.extraStage);
  p.rowNorms = at;
  if (s.delta || s.deltaPrepare)
    at = align(at + s.stages * 2 * s.chunk * 4);
  p.dqnStage = s.chunk * s.dqnCols * 4;
  p.dqn = at;
  at = align(at + s.stages * p.dqnStage);
  p.dqnRows = at;
  if (s.dqnCols > 0)
    at = align(at + (s.gradStabilizer ? 6 * s.chunk + 32 : s.chunk) * 4);
  p.g = at;
  // Vector gates: one f32 g tile; the next chunk's is loaded only after this
  // chunk's gates were scanned, so one buffer suffices.
  if (s.vectorGate)
    at = align(at + s.chunk * s.keyDim * 4);
  p.state = at;
  // The 16-bit copy of the carried state feeds the inter-chunk product.
  if (s.queries && !s.scoresPrepass)
    at = align(at + s.keyDim * s.tileDv * s.elementBytes);
  p.norm = at;
  if (s.normalizer)
    at = align(at + s.keyDim * 4);
  p.gates = at;
  if (s.scalarGates) {
    p.gateBuffer = align(scalarGateBufferFloats(s.chunk) * 4);
    at += 2 * p.gateBuffer;
  } else if (s.vectorGate) {
    // hi and lo tables.
    p.gateBuffer = align(2 * vectorGateTableRows(s.chunk) * s.keyDim * 4);
    at += p.gateBuffer;
  }
  at = align(at);
  p.deltaBeta = at;
  if (s.deltaPrepare)
    at = align(at + s.chunk * 4);
  p.deltaA = at;
  if (s.deltaPrepare)
    at = align(at + s.chunk * s.chunk * 4);
  p.deltaT32 = at;
  if (s.deltaPrepare)
    at = align(at + s.chunk * s.chunk * 4);
  p.deltaT = at;
  if (s.deltaPrepare)
    at = align(at + s.chunk * s.chunk * s.elementBytes);
  p.total = at;
  return p;
}

/// f32 registers per thread the emitted kernel needs, fitted to where
/// ptxas (CUDA 13, sm_80 and sm_90a) starts to spill on the generated
/// kernels: the state slice; twice the output accumulator; the score tile
/// two times over (its 16-bit copy, fragments in flight), three times for
/// mlstm_exp (the second pass of the decay map after the rescale); half the
/// state rows per warp (the state update's A fragments, two k steps deep);
/// 32 for addresses, loop state and gate values. Measured against it (Dk =
/// 128, 4 warps, L = 64): decay, tile_dv = 64, 64 x 64 inner tiles: 240,
/// ptxas 233-240 and clean; tile_dv = 128: 320, spills about 320 bytes;
/// mlstm_exp, Dk = 256, tile_dv = 32, 64 x 64: 256, spills 28 bytes (64 x
/// 32: 208, clean). delta_fused adds 16 (the value correction's W S
/// accumulators live beside the state). delta_prepare holds no state: an
/// R x 64 accumulator (R = L / warps rows), its A fragments and the
/// addresses. The checker rejects schedules above 255 instead of
/// letting ptxas spill, and the scheduler searches under the same bound;
/// flashgen-nvrtc on the bundle has the final word.
inline int64_t chunkRegisterEstimate(const ChunkShape &s) {
  if (s.deltaPrepare) {
    int64_t rows = s.chunk / s.warps;
    return 2 * rows * 64 / 32 + rows / 2 + 48;
  }
  if (s.scoresPrepass) {
    // No state, no outputs: the score tile twice (its fragments in
    // flight) and the addresses.
    int64_t scores = s.innerQ / s.warps * s.innerKv / 32;
    return 2 * scores + 48;
  }
  int64_t threads = 32 * s.warps;
  int64_t state = s.keyDim * s.tileDv / threads;
  int64_t stateRows = s.keyDim / s.warps;
  int64_t warpRows = s.innerQ / s.warps;
  // Staged scores (chunk_scored) arrive as 16-bit A fragments, a k step
  // at a time: no f32 score tile.
  int64_t scores = s.queries && !s.stagedScores ? warpRows * s.innerKv / 32 : 0;
  int64_t output = s.queries ? warpRows * s.tileDv / 32 : 0;
  int64_t scoreCopies = s.stabilizer ? 3 : 2;
  return state + 2 * output + scoreCopies * scores + stateRows / 2 + 32 +
         (s.delta ? 16 : 0);
}

/// What a linear_grad_chunk kernel (flash.linear_attention_grad, one chunk
/// per CTA) specialises on: L rows, each warp 16 of them, with the whole
/// key and value width (its dq and dk contract over Dv, its dv over Dk).
struct GradChunkShape {
  int64_t elementBytes = 2; ///< q, k, v, dO (bf16 / f16)
  int64_t keyDim = 0;       ///< Dk
  int64_t valueDim = 0;     ///< Dv
  int64_t chunk = 0;        ///< L
  /// The value columns of v, dO and the two states staged at once: Dv
  /// (one pass), or a slice of Dv the kernel loops over (states too wide
  /// for shared memory): dq's and dk's state products and dP accumulate
  /// over the slices, dv is written slice by slice.
  int64_t valueSlice = 0;
  /// Warps per 16 rows, each a slice of the output columns (Dk / split of
  /// dq and dk, valueSlice / split of dv, L / split of A and dP).
  int64_t columnSplit = 1;
  bool scalarGates = false; ///< decay: gate buffers and a log-decay gradient
  /// vector (GLA): the f32 g tile (the scan's exponents, then the
  /// per-element log-decay terms), the b tables and the chunk end's terms.
  bool vectorGate = false;
  /// mlstm_sig: reads dO / den and the rows' normaliser gradients (this
  /// many f32 a row: 1; mlstm_exp 2, its stabiliser's beside them), the
  /// chunk's n and the n part of its state gradient, and writes the input
  /// gates' gradient beside the forget gates' (0: no normaliser).
  int64_t dqnCols = 0;
  /// mlstm_exp: the rows' stabilisers and their sources (2 L f32), their
  /// stabiliser gradients (L) and the routing's per-step sums (L).
  bool stabilizer = false;
  /// Stages of the rows' ring (q, k, v, dO and a normaliser's dN): 1, or
  /// 2 in the persistent form (a chunk_grad schedule's `persistent`), where
  /// a CTA runs rounds of chunks and the next round's rows land while this
  /// round computes.
  int64_t rowStages = 1;
};

/// The rows' ring stages of a chunk_grad schedule's chunk kernel (its
/// `persistent` field: 0, one chunk a CTA; 1, persistent rounds).
inline int64_t gradRowStages(int64_t persistent) { return persistent ? 2 : 1; }

/// The value columns per pass a chunk_grad schedule's value_slice gives
/// its chunk kernel (0 or Dv: the whole of Dv at once).
inline int64_t gradValueSlice(int64_t valueDim, int64_t valueSlice) {
  return valueSlice > 0 && valueSlice < valueDim ? valueSlice : valueDim;
}

/// Passes of a linear_grad_chunk kernel over its value slices.
inline int64_t gradValueSlices(const GradChunkShape &s) {
  return s.valueSlice > 0 ? s.valueDim / s.valueSlice : 1;
}

/// Warps of a linear_grad_chunk kernel: columnSplit per 16 rows.
inline int64_t gradChunkWarps(const GradChunkShape &s) {
  return s.chunk / 16 * s.columnSplit;
}

/// The column split a chunk_grad schedule's tile_d gives (tile_d: dq's and
/// dk's columns per warp; 0 or Dk: no split).
inline int64_t gradColumnSplit(int64_t keyDim, int64_t tileD) {
  return tileD > 0 && tileD < keyDim ? keyDim / tileD : 1;
}

/// Byte offsets in dynamic shared memory of a linear_grad_chunk kernel,
/// each 128-byte aligned: the chunk's q, k (L x Dk), v, dO (L x the value
/// slice), each rowStages tiles; the state before the chunk S and the gradient of the state
/// after it G (Dk x the value slice, 16-bit copies); A and dP (L x L, 16-bit); the gate buffers
/// (two, as the other kernels' ring) or, for vector gates, the f32 g tile
/// (L rows of gradGateTileStride), the b tables (hi and lo, L/16 + 1 rows
/// of Dk), each 16-row block's chunk-end term per key dim (L/16 x Dk) and
/// the rows' <S, G> (Dk); the rows' two log-decay
/// gradient terms per column slice (2 split L f32: q . dq - k . dk, and
/// k_s . (w_s G v_s) for the chunk's end) and a 32-float reduction buffer.
/// Floats between the rows of a linear_grad_chunk kernel's f32 g tile:
/// Dk + 8, so that the 8 rows of an MMA fragment's elements (read and
/// written per element for dq and dk) fall on different banks (Dk is a
/// multiple of 32: unpadded, all 8 would share one).
inline int64_t gradGateTileStride(int64_t keyDim) { return keyDim + 8; }

struct GradChunkSmemPlan {
  int64_t q = 0, k = 0, v = 0, dout = 0, state = 0, dstate = 0, a = 0, dp = 0,
          gtile = 0, gates = 0, rows = 0, total = 0;
  /// Normaliser kinds (dqnCols > 0): the rows' normaliser gradients as
  /// the rows kernel wrote them (L x dqnCols f32, rowStages of them), then their column (L), n before the chunk
  /// and the n part of the gradient after it (Dk each), and the rows'
  /// k . dk per column slice (split x L), all f32; mlstm_exp then its
  /// GradChunkShape::stabilizer buffers (4 L).
  int64_t dqn = 0, normRows = 0;
};

inline GradChunkSmemPlan gradChunkSmemPlan(const GradChunkShape &s) {
  auto align = [](int64_t x) { return (x + 127) / 128 * 128; };
  const int64_t e = s.elementBytes, L = s.chunk;
  GradChunkSmemPlan p;
  int64_t at = 0;
  auto take = [&](int64_t &offset, int64_t bytes) {
    offset = at;
    at = align(at + bytes);
  };
  const int64_t stages = s.rowStages;
  take(p.q, stages * L * s.keyDim * e);
  take(p.k, stages * L * s.keyDim * e);
  const int64_t slice = s.valueSlice > 0 ? s.valueSlice : s.valueDim;
  take(p.v, stages * L * slice * e);
  take(p.dout, stages * L * slice * e);
  take(p.state, s.keyDim * slice * e);
  take(p.dstate, s.keyDim * slice * e);
  take(p.a, L * L * e);
  take(p.dp, L * L * e);
  take(p.gtile, s.vectorGate ? L * gradGateTileStride(s.keyDim) * 4 : 0);
  take(p.gates, s.scalarGates   ? 2 * ((scalarGateBufferFloats(L) + 31) / 32 * 32) * 4
                : s.vectorGate ? (2 * vectorGateTableRows(L) + L / 16 + 1) * s.keyDim * 4
                               : 0);
  take(p.rows, (2 * s.columnSplit * L + 32) * 4);
  take(p.dqn, stages * L * s.dqnCols * 4);
  take(p.normRows, s.dqnCols > 0
                       ? (L + 2 * s.keyDim + s.columnSplit * L + (s.stabilizer ? 4 * L : 0)) * 4
                       : 0);
  p.total = at;
  return p;
}

/// Registers per thread of a linear_grad_chunk kernel: one 16-row f32
/// accumulator of the warp's slice of the wider of Dk and Dv (dq, dk, dv
/// in turn), its 16 x L / split score tile, gates and fragments; vector
/// gates hold two more of the Dk slice (dq's log-decay terms while dk is
/// built, and each 16-row block's product before its column factors).
/// Over value slices, dq's and dk's accumulators and dP's live across the
/// passes beside the slice's dv.
inline int64_t gradChunkRegisterEstimate(const GradChunkShape &s) {
  int64_t vector = s.vectorGate ? 2 * 16 * (s.keyDim / s.columnSplit) / 32 : 0;
  int64_t scores = 2 * 16 * (s.chunk / s.columnSplit) / 32;
  if (gradValueSlices(s) > 1)
    return 16 * (2 * s.keyDim + s.valueSlice) / s.columnSplit / 32 + scores + 56 + vector;
  int64_t width = (s.keyDim > s.valueDim ? s.keyDim : s.valueDim) / s.columnSplit;
  return 16 * width / 32 + scores + 56 + vector;
}

/// Dynamic shared memory one CTA may use on a target ("sm_90", "sm_90a",
/// "sm_80", ...); 0 for an unknown target.
inline int64_t targetSmemLimit(const std::string &target) {
  // The target table (schedule/Target.cpp) is the one source.
  flashgen::schedule::Result<const flashgen::schedule::Target *> t =
      flashgen::schedule::lookupTarget(target);
  return t ? (*t)->smemPerCTA : 0;
}

} // namespace mlir::flash

#endif // FLASHGEN_SCHEDULE_CHUNKLAYOUT_H
