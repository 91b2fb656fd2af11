//===- LinearCost.cpp - cost model of the chunkwise recurrences -----------===//
//
// Per (batch, head), with nc = cdiv(T, L) chunks and s = Dv / tile_dv value
// slices, g the gate bytes of one step (passes/LowerChunkwise.cpp builds the
// kernels this follows):
//
// chunk_fused   grid (slice, head, batch). Each CTA streams every chunk's
//   q, k (L Dk), v slice, gates, keeps its Dk x tile_dv state slice on chip
//   and writes its o slice. Global: s T (2 Dk e + g) + 2 T Dv e (+ states).
//   HBM: the s slices of a head run back to back and share q, k, gates.
// chunk_two_pass  states kernel, grid (slice, head, batch): k, v, gates in,
//   the state before every chunk and after the last out (nc + 1 states,
//   Dk Dv 4 bytes plus the normaliser). Outputs kernel, grid (chunk x slice,
//   head, batch): reads its chunk's q, k, v slice, gates and state slice,
//   writes its o slice. More CTAs, nc (Dk Dv 4) bytes more each way.
// FLOPs per chunk and slice: the inner tiles up to the diagonal,
//   2 inner_q inner_kv (Dk + tile_dv) each (Q K^T is recomputed per slice),
//   the inter-chunk term 2 L Dk tile_dv, the state update 2 L Dk tile_dv.
// Shared memory per chunk and slice: the chunk's stores, each warp's A
// fragments of its own rows and every warp's B fragments (k, v of each
// inner tile pair; the 16-bit state per inner query tile; v for the
// update). Steps: one barrier-separated step per chunk and slice, one
// inner step per inner tile pair.
//
//===----------------------------------------------------------------------===//

#include "schedule/LinearCost.h"

#include "schedule/ChunkLayout.h"
#include "schedule/StepCost.h"
#include "schedule/Units.h"

#include <algorithm>
#include <cmath>

using namespace flashgen::schedule;

namespace {

/// Element-wise gate work per intra-chunk score (the decay map of
/// docs/semantics.md §4.3), estimates: none masks the diagonal; decay takes
/// one exp of a log-decay difference; the mLSTM kinds add the stabiliser
/// (mlstm_exp keeps a running max and a log-weight tile).
struct GateWork {
  double sfuPerScore, aluPerScore;
};
GateWork gateWork(GateKind g) {
  switch (g) {
  case GateKind::None:
    return {0, 1};
  case GateKind::Decay:
    return {1, 2};
  case GateKind::Vector:
    // Gates scale q and k in place (per element, counted separately).
    return {0, 1};
  case GateKind::MlstmExp:
    return {1, 4};
  case GateKind::MlstmSig:
    return {1, 3};
  }
  return {0, 1};
}

// Registers per thread of the chunkwise kernels: a conservative model
// fitted to 175 chunk_fused kernels the emitter printed (decay, mlstm_exp,
// vector gates; Dk in {64, 128, 256}; tile_dv 16 to 128; 2 and 4 warps;
// inner tiles 16 to 64) and compiled by NVRTC 13.0 for sm_90a: every
// schedule it admits compiled without spilling at the register limit
// (39 that would have fit are rejected). Per thread: the state slice
// Dk tile_dv / threads, the inner tile's scores and output accumulators
// (rows = inner_q / warps), and the 16-byte copies of one chunk (unrolled);
// the vector gate scans and scales q and k in place, which costs about as
// much again per copy; mlstm_exp keeps a log-weight tile the size of the
// scores. Spills measured below 255 registers came from the emitter's
// __launch_bounds__ occupancy hint, not from the schedule, and are left
// out. Re-fit when the emitter changes.
constexpr double kChunkRegisterBase = 60;
constexpr double kRegistersPerStateElement = 1.5;
constexpr double kRegistersPerInnerScore = 1.5;
constexpr double kRegistersPerChunkCopy = 2;
constexpr double kVectorGateCopyFactor = 2;

/// SM cycles (at the target's modeled clock) of one chunk step of
/// delta_fused when its CTA is alone on the SM: a fixed part, a part per
/// chunk row (more for a gated chunk: its decay weights), a part per inner
/// tile pair (each a product chain of its own), and the cp.async latency a
/// one-stage ring leaves exposed at the top of the step; each other CTA on
/// the SM adds kDeltaStepContention of it. Fitted by least squares (relative
/// error) on the H200 (2026-12-04, DeltaNet and gated DeltaNet, 16 heads
/// 128/128, 11 and 10 schedules at T = 4096 and 16384, torch.profiler per
/// launch; schedule/calibration/h200-delta.tsv, raw rows with fla's kernels
/// in docs/results/linear-delta-h200-kernels.json): 0.66 us + 0.037 us a
/// row (+ 0.012 gated) + 0.31 us a pair + 0.72 us with one stage, 6% more
/// per other CTA; 8% rms over the 42 measured steps (2.8-7.5 us). The
/// chain of dependent products and barriers sets it, not the tensor pipe.
constexpr double kDeltaStepCycles = 953;
constexpr double kDeltaStepCyclesPerRow = 53.3;
constexpr double kDeltaGatedStepCyclesPerRow = 17.4;
constexpr double kDeltaStepCyclesPerPair = 453;
constexpr double kDeltaExposedLoadCycles = 1047;
constexpr double kDeltaStepContention = 0.06;

double deltaChunkStepCycles(const LinearProblem &p, const Schedule &s) {
  double rows = static_cast<double>(s.chunk);
  return kDeltaStepCycles + kDeltaStepCyclesPerRow * rows +
         (p.gate == GateKind::Decay ? kDeltaGatedStepCyclesPerRow * rows : 0.0) +
         kDeltaStepCyclesPerPair *
             static_cast<double>(flashgen::schedule::linearInnerTilePairs(s.chunk, s.innerQ, s.innerKv)) +
         (s.stages < 2 ? kDeltaExposedLoadCycles : 0.0);
}

/// SM cycles of one delta_prepare CTA (one chunk: norms, A, the f32 solve,
/// W and U): a fixed part and a part per chunk row (more gated), fitted on
/// the same H200 table (12-14 us at 32 rows and 2 warps, 20-22 us at 64
/// rows and 4 warps, as many CTAs resident as fit: 0.49-0.58 ms and
/// 0.82-0.92 ms for 65,536 tokens of 16 heads).
constexpr double kDeltaPrepareCycles = 5800;
constexpr double kDeltaPrepareCyclesPerRow = 360;
constexpr double kDeltaPrepareGatedCycles = 3200;

double deltaPrepareCycles(const LinearProblem &p, const Schedule &s) {
  return kDeltaPrepareCycles + kDeltaPrepareCyclesPerRow * static_cast<double>(s.chunk) +
         (p.gate == GateKind::Decay ? kDeltaPrepareGatedCycles : 0.0);
}

/// SM cycles of one chunk step of linear_fused (gates none, decay,
/// mlstm_sig, mlstm_exp) when its CTA is alone on the SM. Like the delta
/// rule's, each CTA runs its chunks in order (a chunk's outputs need the
/// state the one before left), and the step is a chain of dependent
/// fragment loads, MMAs and barriers, not the tensor pipe's throughput: at
/// 16 heads 128/128, T = 16384, 128 CTAs of 256 chunks took 3.1 us a step
/// where the MMAs alone would take under 0.5. A fixed part; a part per
/// ldmatrix of one warp (gatedChunkStepFragmentLoads, which the MMAs
/// follow); a part per gated score of one lane, by gate (mlstm_exp runs
/// its decay map twice, mlstm_sig adds the normaliser's sums); and, with
/// one stage, the chunk's cp.async of one thread, issued at the end of the
/// step before and waited for at its top. Each other CTA on the SM adds
/// kGatedStepContention. Fitted by least squares (relative error) to 92
/// chunk_fused schedules of decay, mlstm_sig and mlstm_exp timed on an H100
/// (2026-12-07; 8 heads 256/512 at T = 8192, 16 heads 128/128 at T =
/// 16384; schedule/calibration/h100-linear.tsv, which CalibrationTest holds
/// the model to): 11% rms; without it the model ranked by throughput and
/// picked, for mlstm_exp at 128/128, a schedule measured 1.46x the fastest.
/// chunk_two_pass's passes run the same steps (ChunkStep), the outputs
/// pass one a CTA.
/// Gate none (not measured) takes decay's score cost, which bounds it; the
/// vector gate's scores (per-block gating, mma_ABt_vector) are not fitted
/// and keep the throughput model.
constexpr double kGatedStepCycles = 354;
constexpr double kGatedStepCyclesPerFragmentLoad = 34.8;
constexpr double kDecayStepCyclesPerScore = 13.0;
constexpr double kMlstmSigStepCyclesPerScore = 74.9;
constexpr double kMlstmExpStepCyclesPerScore = 123.2;
constexpr double kGatedExposedCyclesPerCopy = 45.6;
constexpr double kGatedStepContention = 0.05;
/// chunk_two_pass: each step of the states pass writes its f32 state
/// slice, each CTA of the outputs pass reads one, per 16-byte access of a
/// thread; fitted afterwards to the table's 24 two-pass rows with the
/// constants above held (their model had been 0.57-1.07x, median 0.75x,
/// of the measured times; with it 0.97x median, 11% rms in log).
constexpr double kTwoPassCyclesPerStateAccess = 300;
/// chunk_scored's fused step adds to the chain above (which it prices with
/// its own fragment loads, P's copies and no decay map): a fixed part (P's
/// ring and the staged product's serial k loop) and a part per staged P
/// element of one lane (the 16-key blocks up to each warp's last row), by
/// gate kind: mlstm_sig's keeps the normaliser's work, which the fused
/// step's per-score cost had carried. Fitted (relative error, a grid over
/// the three) to 16 chunk_scored schedules of decay and mlstm_sig timed on
/// an H100 beside 8 chunk_fused ones (2026-12-07; 8 heads 256/512 at T =
/// 8192, 16 heads 128/128 at T = 16384 and 4096;
/// schedule/calibration/h100-linear-scored.tsv): 12% rms in log over the
/// 24; without them the model had put chunk_scored first at 128/128
/// where it measured up to 1.49x the fastest.
constexpr double kScoredStepCycles = 1000;
constexpr double kScoredCyclesPerStagedScore = 20;
constexpr double kScoredSigCyclesPerStagedScore = 100;

/// 16-byte copies one thread issues for a chunk: its k rows and v slice,
/// q's rows where the kernel computes outputs, and chunk_scored's staged
/// P (L x L) there (the register estimate unrolls them; a one-stage chunk
/// step waits for them).
double chunkCopiesPerThread(const LinearProblem &p, const Schedule &s, bool outputs) {
  const double staged =
      outputs && s.algorithm == Algorithm::ChunkScored ? static_cast<double>(s.chunk) : 0.0;
  return static_cast<double>(s.chunk) * ((outputs ? 2 : 1) * p.keyDim + s.tileDv + staged) *
         p.elementBytes / 16 / (32 * std::max<int64_t>(s.warps, 1));
}

/// chunk_scored's fused step: the staged keys one warp multiplies, summed
/// over the query tiles (each warp the 16-key blocks up to its last row: on
/// average over the warps q0 + rq (w + 1) / 2 for the query tile at q0).
double stagedKeysPerWarp(const Schedule &s) {
  const double w = std::max<int64_t>(s.warps, 1), rq = s.innerQ / w;
  double keys = 0;
  for (double qt = 0; qt < s.chunk / s.innerQ; ++qt)
    keys += qt * s.innerQ + rq * (w + 1) / 2;
  return keys;
}

/// The kernels of a chunkwise schedule whose chunk step is modeled:
/// linear_fused, and chunk_two_pass's states pass (the state update alone,
/// k's rows and v's slice copied, the state written every chunk besides)
/// and outputs pass (one chunk a CTA: its copies always exposed, no
/// update), and chunk_scored's pre-pass (one chunk a CTA: q and k copied
/// and exposed, Q K^T and the decay map over the inner pairs, no values).
enum class ChunkStep { Fused, States, Outputs, Scores };

/// ldmatrix (x4) of one warp in one chunk step, with rq = inner_q / warps
/// rows per warp: the inter-chunk product (its Q rows once per inner query
/// tile, the 16-bit state's Dk x tile_dv), each inner pair's Q K^T (Q rows
/// and inner_kv keys over Dk) and P V (inner_kv x tile_dv), and the state
/// update (the warp's Dk / warps rows of K^T and V's L x tile_dv).
/// chunk_scored's fused step reads P instead: each warp the A fragments of
/// its rows and V's for its staged keys' 16-key blocks.
double gatedChunkStepFragmentLoads(const LinearProblem &p, const Schedule &s,
                                   ChunkStep step) {
  const double L = s.chunk, Dk = p.keyDim, tv = s.tileDv,
               w = std::max<int64_t>(s.warps, 1), kv = s.innerKv;
  const double rq = s.innerQ / w, queryTiles = L / s.innerQ;
  const double pairs = linearInnerTilePairs(s.chunk, s.innerQ, s.innerKv);
  const double scores = pairs * (Dk / 16) * (rq / 16 + kv / 16);
  if (step == ChunkStep::Scores)
    return scores;
  double intra = scores + pairs * (kv / 16) * (tv / 16);
  if (s.algorithm == Algorithm::ChunkScored)
    intra = stagedKeysPerWarp(s) / 16 * (rq / 16 + tv / 16);
  const double outputs = queryTiles * (Dk / 16) * (rq / 16 + tv / 16) + intra;
  const double update = (L / 16) * (Dk / w / 16 + tv / 16);
  return step == ChunkStep::States ? update
         : step == ChunkStep::Outputs ? outputs
                                      : outputs + update;
}

/// Whether linear_fused's chunk step of `p` is modeled as a chain
/// (gatedChunkStepCycles): the scalar gate kinds without a feature map.
bool gatedChunkStepModeled(const LinearProblem &p) {
  return !p.isDelta() && !p.hasFeatureMap &&
         (p.gate == GateKind::None || p.gate == GateKind::Decay ||
          p.gate == GateKind::MlstmSig || p.gate == GateKind::MlstmExp);
}

double gatedChunkStepCycles(const LinearProblem &p, const Schedule &s,
                            ChunkStep step) {
  const double w = std::max<int64_t>(s.warps, 1);
  // The decay map runs where scores are computed: not in a state pass,
  // nor in chunk_scored's fused step (its P comes gated).
  const bool scores = step != ChunkStep::States &&
                      !(step == ChunkStep::Fused && s.algorithm == Algorithm::ChunkScored);
  const double scoresPerLane =
      scores ? linearInnerTilePairs(s.chunk, s.innerQ, s.innerKv) * (s.innerQ / w) * s.innerKv / 32
             : 0.0;
  const double perScore = p.gate == GateKind::MlstmExp   ? kMlstmExpStepCyclesPerScore
                          : p.gate == GateKind::MlstmSig ? kMlstmSigStepCyclesPerScore
                                                         : kDecayStepCyclesPerScore;
  // The scores pre-pass copies q and k (no v slice).
  const double copies =
      step == ChunkStep::Scores
          ? static_cast<double>(s.chunk) * 2 * p.keyDim * p.elementBytes / 16 / (32 * w)
          : chunkCopiesPerThread(p, s, /*outputs=*/step != ChunkStep::States);
  const bool exposed =
      s.stages < 2 || step == ChunkStep::Outputs || step == ChunkStep::Scores;
  // The f32 state slice a two-pass step writes (states) or reads (outputs),
  // in 16-byte accesses of one thread.
  const double stateAccesses =
      step == ChunkStep::Fused || step == ChunkStep::Scores ? 0.0
                               : static_cast<double>(p.keyDim) * s.tileDv * 4 / 16 / (32 * w);
  // chunk_scored: the staged P elements of one lane, rq rows of each
  // warp's staged keys over 32 lanes.
  double staged = 0;
  if (step == ChunkStep::Fused && s.algorithm == Algorithm::ChunkScored)
    staged = kScoredStepCycles + (p.gate == GateKind::MlstmSig ? kScoredSigCyclesPerStagedScore
                                                                : kScoredCyclesPerStagedScore) *
                                     stagedKeysPerWarp(s) * (s.innerQ / w) / 32;
  return staged + kGatedStepCycles + kTwoPassCyclesPerStateAccess * stateAccesses +
         kGatedStepCyclesPerFragmentLoad * gatedChunkStepFragmentLoads(p, s, step) +
         perScore * scoresPerLane + (exposed ? kGatedExposedCyclesPerCopy * copies : 0.0);
}

mlir::flash::ChunkShape chunkShape(const LinearProblem &p, const Schedule &s,
                                   bool outputs) {
  mlir::flash::ChunkShape shape;
  shape.elementBytes = p.elementBytes;
  shape.keyDim = p.keyDim;
  shape.tileDv = s.tileDv;
  shape.chunk = s.chunk;
  shape.innerQ = s.innerQ;
  shape.innerKv = s.innerKv;
  shape.stages = s.stages;
  shape.warps = s.warps;
  shape.vectorGate = p.gate == GateKind::Vector;
  shape.scalarGates = p.gate == GateKind::Decay ||
                      p.gate == GateKind::MlstmExp ||
                      p.gate == GateKind::MlstmSig;
  shape.normalizer =
      p.gate == GateKind::MlstmExp || p.gate == GateKind::MlstmSig;
  shape.stabilizer = p.gate == GateKind::MlstmExp;
  shape.queries = outputs;
  shape.delta = p.isDelta();
  shape.stagedExtras = outputs ? p.stagedOutputModExtras : 0;
  shape.stagedScores = outputs && s.algorithm == Algorithm::ChunkScored;
  return shape;
}

} // namespace

int64_t flashgen::schedule::linearSmemBytes(const LinearProblem &p,
                                            const Schedule &s, bool outputs) {
  return mlir::flash::chunkSmemPlan(chunkwiseKernelShape(p, s, outputs)).total;
}

mlir::flash::ChunkShape
flashgen::schedule::chunkwiseKernelShape(const LinearProblem &p,
                                         const Schedule &s, bool outputs) {
  mlir::flash::ChunkShape shape = chunkShape(p, s, outputs);
  if (s.algorithm == Algorithm::ChunkTwoPass && outputs)
    shape.stages = 1;
  return shape;
}

mlir::flash::ChunkShape
flashgen::schedule::deltaPrepareShape(const LinearProblem &p, const Schedule &s) {
  mlir::flash::ChunkShape shape = chunkShape(p, s, /*outputs=*/false);
  shape.tileDv = p.valueDim;
  shape.stages = 1;
  shape.delta = false;
  shape.deltaPrepare = true;
  return shape;
}

mlir::flash::ChunkShape
flashgen::schedule::scoresPrepassShape(const LinearProblem &p, const Schedule &s) {
  mlir::flash::ChunkShape shape = chunkShape(p, s, /*outputs=*/true);
  shape.stages = 1;
  shape.stagedScores = false;
  shape.stagedExtras = 0;
  shape.scoresPrepass = true;
  return shape;
}

std::string flashgen::schedule::chunkScoredPrecondition(const LinearProblem &p) {
  if (p.isDelta())
    return "the delta rule's scores read the corrected values of every chunk before";
  if (p.gate == GateKind::MlstmExp)
    return "mlstm_exp's intra-chunk weights are stabilised by the carried state's "
           "maximum, which only the recurrence knows";
  if (p.gate == GateKind::Vector)
    return "vector gates weight q and k per key dim inside the product";
  if (p.hasFeatureMap)
    return "a feature map rewrites q and k in the chunk's stages";
  if (p.packed)
    return "packed (varlen) sequences take the fused chunk kernel only (chunk_fused)";
  return "";
}

int64_t flashgen::schedule::linearScheduleSmemBytes(const LinearProblem &p,
                                                    const Schedule &s) {
  int64_t bytes = linearSmemBytes(p, s, true);
  if (s.algorithm == Algorithm::ChunkScored)
    bytes = std::max(bytes, mlir::flash::chunkSmemPlan(scoresPrepassShape(p, s)).total);
  if (s.algorithm == Algorithm::ChunkTwoPass)
    bytes = std::max(bytes, linearSmemBytes(p, s, false));
  if (p.isDelta())
    bytes = std::max(bytes, mlir::flash::chunkSmemPlan(deltaPrepareShape(p, s)).total);
  return bytes;
}

int64_t flashgen::schedule::linearRegisters(const LinearProblem &p,
                                            const Schedule &s, bool outputs) {
  double warps = std::max<int64_t>(s.warps, 1), threads = 32 * warps;
  double state = p.keyDim * s.tileDv / threads;
  double rows = s.innerQ / warps;
  // chunk_scored's fused kernel reads P as 16-bit fragments: no f32 tile.
  double scores = outputs && s.algorithm != Algorithm::ChunkScored ? rows * s.innerKv / 32 : 0;
  double accumulators = outputs ? rows * s.tileDv / 32 : 0;
  double copies = chunkCopiesPerThread(p, s, outputs);
  if (p.gate == GateKind::Vector)
    copies *= kVectorGateCopyFactor;
  double estimate = kChunkRegisterBase + kRegistersPerStateElement * state +
                    kRegistersPerInnerScore * scores + accumulators +
                    kRegistersPerChunkCopy * copies +
                    (p.gate == GateKind::MlstmExp ? scores : 0);
  // Never below the kernels' own estimate (schedule/ChunkLayout.h), so every
  // schedule chosen here passes its check.
  return std::max<int64_t>(
      static_cast<int64_t>(std::ceil(estimate)),
      mlir::flash::chunkRegisterEstimate(chunkShape(p, s, outputs)));
}

int64_t flashgen::schedule::linearInnerTilePairs(int64_t chunk, int64_t innerQ,
                                                 int64_t innerKv) {
  int64_t pairs = 0, keyTiles = chunk / innerKv;
  for (int64_t qt = 0; qt < chunk / innerQ; ++qt)
    pairs += std::min(ceilDiv((qt + 1) * innerQ, innerKv), keyTiles);
  return pairs;
}

Evaluation flashgen::schedule::evaluateLinear(const LinearProblem &p,
                                              const Target &t,
                                              const Schedule &s) {
  return evaluateLinearForm(p, t, s, /*chunkChains=*/true);
}

Evaluation flashgen::schedule::evaluateLinearForm(const LinearProblem &p,
                                                  const Target &t,
                                                  const Schedule &s,
                                                  bool chunkChains) {
  if (s.algorithm == Algorithm::RecurrentStep)
    return evaluateStep(p, t, s);
  const int64_t e = p.elementBytes, T = p.length, Dk = p.keyDim,
                Dv = p.valueDim, L = s.chunk;
  const int64_t heads = p.batch * p.heads;
  const int64_t slices = ceilDiv(Dv, s.tileDv);
  const int64_t chunks = ceilDiv(T, L);
  const int64_t g = p.gateBytesPerStep();
  // v read and o written once per value column, and what an output_mod
  // reads beside each output.
  const int64_t rows = T * Dv * (2 * e + p.outputModReadBytes);
  // A feature map reads its extras beside each q and k element a kernel
  // stages (every slice's CTA maps its own copy), and reads and rewrites
  // the staged tiles once per chunk (16-bit elements).
  const int64_t mapReads = p.featureMapReadBytes;
  const double mapSmem = p.hasFeatureMap ? 2.0 * L * Dk : 0.0; // per tile mapped
  const int64_t nm = p.normalizerStateBytes();
  const int64_t stateSlice = Dk * s.tileDv * 4;
  const int64_t state = Dk * Dv * 4 + nm;
  const GateWork gate = gateWork(p.gate);

  // Work of the chunks' outputs, per (batch, head): inner tiles and the
  // inter-chunk term, per slice.
  double innerScores = static_cast<double>(slices) * chunks *
                       linearInnerTilePairs(L, s.innerQ, s.innerKv) *
                       s.innerQ * s.innerKv;
  double outputFlops =
      2.0 * innerScores * (Dk + s.tileDv) + 2.0 * chunks * L * Dk * Dv;
  double updateFlops = 2.0 * chunks * L * Dk * Dv;
  double outputSfu = innerScores * gate.sfuPerScore;
  double outputAlu = innerScores * gate.aluPerScore;
  if (p.isDelta()) // U~ = U - W S per chunk and slice (§7.3)
    outputFlops += static_cast<double>(slices) * chunks * 2.0 * L * Dk * s.tileDv;
  if (p.gate == GateKind::Vector)
    outputSfu += 2.0 * slices * chunks * L * Dk; // exp of q's and k's gates
  // Shared-memory traffic per chunk and slice (elements).
  const double w = s.warps;
  double pairsPerChunk = linearInnerTilePairs(L, s.innerQ, s.innerKv);
  double intraSmem = pairsPerChunk * (s.innerQ * Dk + w * s.innerKv * (Dk + s.tileDv)) +
                     static_cast<double>(L / std::max<int64_t>(s.innerQ, 1)) * w * Dk * s.tileDv +
                     L * (2.0 * Dk + s.tileDv) + Dk * s.tileDv;
  double updateSmem = L * Dk + w * L * s.tileDv + L * (Dk + s.tileDv);
  double chunkSteps = static_cast<double>(heads) * slices * chunks;
  double innerSteps = chunkSteps * pairsPerChunk;
  double initialBytes =
      p.hasInitialState ? static_cast<double>(slices) * (stateSlice + nm) : 0;
  double finalBytes = p.returnsFinalState ? state : 0;

  // Lines one CTA touches per f32 state slice it reads or writes.
  const double sliceLines = f32RowLines(Dk, s.tileDv);
  const double statePasses = (p.hasInitialState ? 1.0 : 0.0) + (p.returnsFinalState ? 1.0 : 0.0);

  auto resident = [&](const KernelCost &k) {
    int64_t perSM = ctasPerSM(t, k.smemBytes, k.registersPerThread, 32 * k.warps);
    return std::min(k.ctas, t.numSMs * std::max<int64_t>(perSM, 1));
  };

  Evaluation result;
  if (p.isDelta()) {
    // delta_prepare, grid (chunk, head, batch): k, v, beta and gates in,
    // the chunk's W (L x Dk) and U (L x Dv) out; K K^T and W = T K', U =
    // T V' on the tensor cores, the f32 solve of T = (I + A)^-1 (about L^3
    // FMAs per chunk, counted as ALU work).
    KernelCost prep;
    prep.name = "prepare";
    prep.ctas = heads * chunks;
    prep.warps = s.warps;
    prep.smemBytes = mlir::flash::chunkSmemPlan(deltaPrepareShape(p, s)).total;
    prep.registersPerThread =
        mlir::flash::chunkRegisterEstimate(deltaPrepareShape(p, s));
    prep.pipelined = false;
    // l2norm_qk: q read for its row norms, both norms (2 f32) written.
    int64_t norms = p.l2normQk ? T * (Dk * e + 8) : 0;
    int64_t io = T * (Dk * e + Dv * e + g) + T * (Dk + Dv) * e + norms;
    prep.globalBytes = heads * io;
    prep.hbmBytes = heads * io;
    prep.flops = heads * static_cast<double>(chunks) *
                 (2.0 * L * L * Dk + 2.0 * L * L * (Dk + Dv));
    prep.sfuOps = heads * static_cast<double>(chunks) * L * L;
    prep.aluOps = heads * static_cast<double>(chunks) * L * L * L;
    prep.smemTraffic = heads * static_cast<double>(chunks) *
                       (L * (Dk + Dv) * e + 3.0 * L * L * 4);
    prep.steps = heads * chunks;
    // One chunk per CTA: a chain of one step, the whole CTA's latency.
    prep.chainSteps = 1;
    prep.chainStepCycles = deltaPrepareCycles(p, s);
    result.kernels.push_back(prep);
  }
  const bool scored = s.algorithm == Algorithm::ChunkScored;
  // chunk_scored: P of one chunk (L x L, element type), written once by
  // the pre-pass and read by every slice's CTA.
  const int64_t scoreRows = T * L * e;
  if (scored) {
    // linear_scores, grid (chunk, head, batch): q, k and gates in, P out;
    // Q K^T and the decay map over the inner pairs, once per chunk.
    const double chunkScores = static_cast<double>(chunks) * pairsPerChunk * s.innerQ * s.innerKv;
    KernelCost pre;
    pre.name = "scores";
    pre.ctas = heads * chunks;
    pre.warps = s.warps;
    pre.smemBytes = mlir::flash::chunkSmemPlan(scoresPrepassShape(p, s)).total;
    pre.registersPerThread = mlir::flash::chunkRegisterEstimate(scoresPrepassShape(p, s));
    pre.pipelined = false;
    const int64_t io = T * (2 * Dk * e + g) + scoreRows;
    pre.globalBytes = heads * io;
    pre.hbmBytes = heads * io;
    pre.flops = heads * 2.0 * chunkScores * Dk;
    pre.sfuOps = heads * chunkScores * gate.sfuPerScore;
    pre.aluOps = heads * chunkScores * gate.aluPerScore;
    pre.smemTraffic = heads * static_cast<double>(chunks) *
                      (pairsPerChunk * (s.innerQ * Dk + w * s.innerKv * Dk) + 2.0 * L * Dk) * e;
    pre.steps = heads * chunks;
    pre.innerSteps = heads * chunks * pairsPerChunk;
    if (chunkChains) {
      // One chunk a CTA, as chunk_two_pass's outputs pass.
      pre.chainSteps = 1;
      pre.chainStepCycles = gatedChunkStepCycles(p, s, ChunkStep::Scores);
      pre.chainContention = kGatedStepContention;
    }
    result.kernels.push_back(pre);
    // The fused loop: P V from the staged P (16-key blocks up to each
    // warp's last row, about the pairs' share), no Q K^T, no decay map.
    outputFlops = 2.0 * innerScores * s.tileDv + 2.0 * chunks * L * Dk * Dv;
    outputSfu = 0;
    outputAlu = p.normalizerStateBytes() > 0 ? innerScores : 0;
    intraSmem = pairsPerChunk * w * s.innerKv * s.tileDv + s.innerQ * L +
                static_cast<double>(L / std::max<int64_t>(s.innerQ, 1)) * w * Dk * s.tileDv +
                L * (2.0 * Dk + s.tileDv + L) + Dk * s.tileDv;
  }
  if (s.algorithm == Algorithm::ChunkFused || scored) {
    KernelCost k;
    k.name = "fused";
    k.ctas = heads * slices;
    k.warps = s.warps;
    k.smemBytes = linearSmemBytes(p, s, true);
    k.registersPerThread = linearRegisters(p, s, true);
    k.pipelined = s.stages >= 2;
    // q, k, gates (and the delta rule's W and row norms): every slice
    // reads them.
    int64_t shared = T * ((p.isDelta() ? 3 : 2) * Dk * e + g + (p.l2normQk ? 8 : 0) +
                          2 * Dk * mapReads) +
                     (scored ? scoreRows : 0);
    k.globalBytes = heads * static_cast<int64_t>(slices * shared + rows +
                                                 initialBytes + finalBytes);
    int64_t passes = l2FetchPasses(t, slices, resident(k), shared, slices);
    k.hbmBytes = heads * static_cast<int64_t>(
                             passes * shared + rows +
                             (p.hasInitialState ? state : 0) + finalBytes);
    k.linesTouched = static_cast<double>(k.ctas) * statePasses * sliceLines;
    k.flops = heads * (outputFlops + updateFlops);
    k.sfuOps = heads * outputSfu;
    k.aluOps = heads * outputAlu;
    k.smemTraffic = chunkSteps * (intraSmem + w * L * s.tileDv + 2.0 * mapSmem) * e;
    k.steps = chunkSteps;
    k.innerSteps = innerSteps;
    if (p.isDelta()) {
      k.chainSteps = static_cast<double>(chunks);
      k.chainStepCycles = deltaChunkStepCycles(p, s);
      k.chainContention = kDeltaStepContention;
    } else if (chunkChains && gatedChunkStepModeled(p)) {
      k.chainSteps = static_cast<double>(chunks);
      k.chainStepCycles = gatedChunkStepCycles(p, s, ChunkStep::Fused);
      k.chainContention = kGatedStepContention;
    }
    result.kernels.push_back(k);
  } else {
    KernelCost states;
    states.name = "states";
    states.ctas = heads * slices;
    states.warps = s.warps;
    states.smemBytes = linearSmemBytes(p, s, false);
    states.registersPerThread = linearRegisters(p, s, false);
    states.pipelined = s.stages >= 2;
    int64_t sharedK = T * (Dk * e + g + Dk * mapReads);
    int64_t scratch = (chunks + 1) * state; // before every chunk, and after
    states.globalBytes =
        heads * static_cast<int64_t>(slices * sharedK + T * Dv * e + scratch +
                                     initialBytes + finalBytes);
    int64_t passes = l2FetchPasses(t, slices, resident(states), sharedK, slices);
    states.hbmBytes = heads * static_cast<int64_t>(
                                  passes * sharedK + T * Dv * e + scratch +
                                  (p.hasInitialState ? state : 0) + finalBytes);
    // The boundary states, before every chunk and after the last.
    states.linesTouched =
        static_cast<double>(states.ctas) * (statePasses + chunks + 1) * sliceLines;
    states.flops = heads * updateFlops;
    if (p.gate == GateKind::Vector)
      states.sfuOps = heads * static_cast<double>(slices) * T * Dk;
    states.smemTraffic = chunkSteps * (updateSmem + mapSmem) * e;
    states.steps = chunkSteps;
    if (chunkChains && gatedChunkStepModeled(p)) {
      states.chainSteps = static_cast<double>(chunks);
      states.chainStepCycles = gatedChunkStepCycles(p, s, ChunkStep::States);
      states.chainContention = kGatedStepContention;
    }
    result.kernels.push_back(states);

    KernelCost outputs;
    outputs.name = "outputs";
    outputs.ctas = heads * chunks * slices;
    outputs.warps = s.warps;
    outputs.smemBytes = linearSmemBytes(p, s, true);
    outputs.registersPerThread = linearRegisters(p, s, true);
    outputs.pipelined = false; // one chunk per CTA: load, then compute
    int64_t shared = T * (2 * Dk * e + g + 2 * Dk * mapReads);
    int64_t stateReads = chunks * (Dk * Dv * 4 + slices * nm);
    outputs.globalBytes = heads * (slices * shared + rows + stateReads);
    int64_t chunkShared = L * (2 * Dk * e + g + 2 * Dk * mapReads);
    int64_t outPasses =
        l2FetchPasses(t, slices, resident(outputs), chunkShared, slices);
    outputs.hbmBytes = heads * (outPasses * shared + rows + chunks * state);
    outputs.linesTouched = static_cast<double>(outputs.ctas) * sliceLines;
    outputs.flops = heads * outputFlops;
    outputs.sfuOps = heads * outputSfu;
    outputs.aluOps = heads * outputAlu;
    outputs.smemTraffic = chunkSteps * (intraSmem + 2.0 * mapSmem) * e;
    outputs.steps = chunkSteps;
    outputs.innerSteps = innerSteps;
    if (chunkChains && gatedChunkStepModeled(p)) {
      // One chunk a CTA: every wave of CTAs waits out one step's chain.
      outputs.chainSteps = 1;
      outputs.chainStepCycles = gatedChunkStepCycles(p, s, ChunkStep::Outputs);
      outputs.chainContention = kGatedStepContention;
    }
    result.kernels.push_back(outputs);
  }
  finishEvaluation(t, result);
  return result;
}
