//===- LinearGrad.cpp - schedules of a recurrence's gradient --------------===//
//
// LinearGrad.h says the kernels. Per (batch, head), nc = cdiv(T, L) chunks,
// s = Dv / tile_dv value slices, e the element bytes, g the gate bytes of a
// step, S = Dk Dv e a chunk state in scratch (in the element type: the
// chunk kernel reads it as a 16-bit MMA operand):
//   states       as chunk_two_pass's state pass (LinearCost.cpp): k, v,
//                gates in, nc + 1 states out;
//   grad_states  q, dO, gates in, nc + 1 state gradients out (and the
//                initial state's gradient);
//   grad_chunk   q, k, v, dO, gates, the state before the chunk and the
//                gradient of the state after it in; dq,
//                dk, dv and the log-decays' gradient out. FLOPs per chunk:
//                A and dP (2 L^2 (Dk + Dv)), dq (2 L Dk (Dv + L)), dk
//                (2 L Dk (Dv + L)), dv (2 L Dv (Dk + L)), the L x L
//                products computed whole (the masked half included).
//                Shared memory: each warp (16 rows, one of Dk / tile_d
//                column slices) reads its slice of the two 16-bit states
//                (three products) and of a chunk operand per product.
//                Where the states do not fit shared memory whole, the
//                kernel stages v, dO and the two states value_slice
//                columns at a time (Dv / value_slice passes, the same
//                products and traffic, each pass's loads exposed).
//
//===----------------------------------------------------------------------===//

#include "schedule/LinearGrad.h"

#include "schedule/Checker.h"
#include "schedule/LinearCost.h"
#include "schedule/LinearSpace.h"
#include "schedule/Roofline.h"
#include "schedule/Units.h"

#include <algorithm>

using namespace flashgen::schedule;

namespace {

constexpr int64_t kGradChunkChoices[] = {16, 32, 64, 128};
constexpr int64_t kMinTileDv = 16;
/// The chunk kernel's column splits searched (Dk / tile_d): 4 measured
/// slower than 2 on the H100 (2026-12-05, 16 heads 128/128, chunk 64:
/// 1.86 ms against 1.68 ms; 16 warps re-reading the B operands), so the
/// space stops at 2.
constexpr int64_t kMaxGradColumnSplit = 2;
/// The chunk kernel as a chain per wave of CTAs (Roofline's chainSteps): each
/// CTA loads its chunk (q, k, v, dO and both states, at its SM's share of
/// the HBM bandwidth, the SM's CTAs one after the other), then each warp runs
/// its products as a dependent chain of m16n8k16 MMAs, then the shared-
/// memory traffic of the wave, a quarter of it exposed. Fitted to the H100
/// (2026-12-05, 16 heads 128/128, T = 4096 and 16384, chunks 32 and 64,
/// splits 1, 2 and 4; bench/linear/profile_backward.py): 16 cycles an MMA;
/// the five measured kernels within 21% (1.55-2.02 ms against 1.70-2.23
/// modeled) and in the measured order.
constexpr double kGradChunkCyclesPerMma = 16;
constexpr double kGradChunkExposedSmem = 0.25;
/// Each pass of a chunk kernel over value slices: its loads issued after
/// the previous pass's products (a global round trip, exposed) and three
/// barriers; the one-pass form loads its states with the chunk's rows.
/// Fitted to schedule/calibration/h100-linear-grad-slices.tsv (H100,
/// 2026-12-07): 16 against 8 passes at 8 heads 256/512 cost 0.55 ms
/// measured, 0.52 modeled; 2 passes against one whole at 16 heads
/// 128/128, 0.16-0.26 ms measured, 0.20 modeled.
constexpr double kGradChunkCyclesPerSlice = 1500;

/// The part of the chunk kernel's smaller time (memory or products) that
/// persistent rounds run under the larger (KernelCost::partialOverlap): a
/// round's rows land under the previous round's products, its states stay
/// exposed. Small: one-chunk CTAs start out of step, so a loading SM draws
/// more than its share of HBM and little of the load was exposed before;
/// the kernel's time is its products'. Fitted to
/// schedule/calibration/h100-linear-grad-rounds.tsv (H100, 2026-12-08, 16
/// heads 128/128: rounds 1.07x, 1.02x and 1.00x faster for mlstm_sig,
/// mlstm_exp and decay; modeled 1.03x for all three).
constexpr double kGradChunkRoundsOverlap = 0.078;

/// The forward's chunk_two_pass schedule whose state pass is the gradient's
/// first kernel (the same builder lowers it).
Schedule statesPassOf(const Schedule &s) {
  Schedule two = s;
  two.algorithm = Algorithm::ChunkTwoPass;
  return two;
}

std::string n(int64_t v) { return std::to_string(v); }

} // namespace

namespace {

/// Whether the chunk kernel's loads (q, k and vector gates' f32 g, v, dO,
/// the two 16-bit states) split into whole 16-byte copies over its threads.
bool gradChunkTilesSplitIntoCopies(const LinearProblem &p, const Schedule &s) {
  const int64_t threads = 32 * mlir::flash::gradChunkWarps(gradChunkShape(p, s));
  const int64_t e = p.elementBytes;
  const int64_t slice = mlir::flash::gradValueSlice(p.valueDim, s.valueSlice);
  return splitsIntoCopies(s.chunk, p.keyDim, e, threads) &&
         splitsIntoCopies(s.chunk, slice, e, threads) &&
         splitsIntoCopies(p.keyDim, slice, e, threads) &&
         (p.gate != GateKind::Vector || splitsIntoCopies(s.chunk, p.keyDim, 4, threads));
}

/// Why the recurrence has no backward kernels, or "".
std::string gradientSupport(const LinearProblem &p) {
  if (p.isDelta())
    return "the delta rule has no backward kernels yet";
  return "";
}

/// The chunk kernel's value columns per pass below the whole of Dv, widest
/// first: the powers of two from 16 that divide Dv (value_slice's rule).
std::vector<int64_t> valueSliceChoices(int64_t valueDim) {
  std::vector<int64_t> out;
  for (int64_t c = nextPowerOfTwo(valueDim) / 2; c >= 16; c /= 2)
    if (valueDim % c == 0 && c < valueDim)
      out.push_back(c);
  return out;
}

/// The normaliser kinds: their gradient runs grad_rows first.
bool hasNormalizerGrad(const LinearProblem &p) {
  return p.gate == GateKind::MlstmSig || p.gate == GateKind::MlstmExp;
}

/// f32 a row of grad_rows' output: the row's normaliser gradient, and
/// mlstm_exp's stabiliser gradient beside it; 0 without a normaliser.
int64_t dqnColsOf(const LinearProblem &p) {
  if (!hasNormalizerGrad(p))
    return 0;
  return mlir::flash::normalizerGradColumns(p.gate == GateKind::MlstmExp);
}

} // namespace

std::string flashgen::schedule::linearGradPrecondition(const LinearProblem &p,
                                                       const Target &t) {
  if (std::string why = gradientSupport(p); !why.empty())
    return why;
  return linearPrecondition(p, t);
}

mlir::flash::GradChunkShape
flashgen::schedule::gradChunkShape(const LinearProblem &p, const Schedule &s) {
  mlir::flash::GradChunkShape shape;
  shape.elementBytes = p.elementBytes;
  shape.keyDim = p.keyDim;
  shape.valueDim = p.valueDim;
  shape.chunk = s.chunk;
  shape.valueSlice = mlir::flash::gradValueSlice(p.valueDim, s.valueSlice);
  shape.columnSplit = mlir::flash::gradColumnSplit(p.keyDim, s.tileD);
  shape.scalarGates = p.gate == GateKind::Decay || p.gate == GateKind::MlstmSig ||
                     p.gate == GateKind::MlstmExp;
  shape.vectorGate = p.gate == GateKind::Vector;
  shape.dqnCols = dqnColsOf(p);
  shape.stabilizer = p.gate == GateKind::MlstmExp;
  shape.rowStages = mlir::flash::gradRowStages(s.persistent);
  return shape;
}

mlir::flash::ChunkShape flashgen::schedule::gradStatesShape(const LinearProblem &p,
                                                             const Schedule &s) {
  mlir::flash::ChunkShape shape = chunkwiseKernelShape(p, statesPassOf(s), false);
  shape.dqnCols = dqnColsOf(p);
  shape.gradStabilizer = p.gate == GateKind::MlstmExp;
  return shape;
}

int64_t flashgen::schedule::linearGradSmemBytes(const LinearProblem &p,
                                                const Schedule &s) {
  int64_t bytes = std::max({linearSmemBytes(p, statesPassOf(s), false),
                            mlir::flash::chunkSmemPlan(gradStatesShape(p, s)).total,
                            mlir::flash::gradChunkSmemPlan(gradChunkShape(p, s)).total});
  return bytes;
}

/// The register file one chunk-kernel CTA takes: its threads at the
/// estimated registers a thread, rounded to the allocation unit.
static int64_t gradChunkCtaRegisters(const LinearProblem &p, const Target &t,
                                     const Schedule &s) {
  mlir::flash::GradChunkShape shape = gradChunkShape(p, s);
  return roundUp(mlir::flash::gradChunkRegisterEstimate(shape), t.registerAllocationUnit) * 32 *
         mlir::flash::gradChunkWarps(shape);
}

std::vector<std::string>
flashgen::schedule::linearGradKernelViolations(const LinearProblem &p,
                                               const Target &t,
                                               const Schedule &s) {
  // The sizes are the kernels' run-time values: not checked here.
  if (std::string why = gradientSupport(p); !why.empty())
    return {why};
  std::vector<std::string> out;
  if (s.algorithm != Algorithm::ChunkGrad)
    return {std::string("algorithm '") + algorithmName(s.algorithm) +
            "' is not a recurrence gradient schedule (chunk_grad)"};
  if (!isPowerOfTwo(s.chunk) || s.chunk < 16)
    out.push_back("chunk = " + n(s.chunk) +
                  " must be a power of two of at least 16 (16 rows per warp)");
  if (s.innerQ != s.chunk || s.innerKv != s.chunk)
    out.push_back("inner_q = " + n(s.innerQ) + " and inner_kv = " + n(s.innerKv) +
                  " must equal chunk = " + n(s.chunk) +
                  " (the gradient's chunk kernel has no inner tiles)");
  const int64_t slice = mlir::flash::gradValueSlice(p.valueDim, s.valueSlice);
  if (s.valueSlice != 0 &&
      (s.valueSlice < 16 || !isPowerOfTwo(s.valueSlice) || p.valueDim % s.valueSlice != 0))
    out.push_back("value_slice = " + n(s.valueSlice) +
                  " (the chunk kernel's value columns per pass) must be 0 (the whole of "
                  "Dv) or a power of two of at least 16 dividing Dv = " + n(p.valueDim));
  if (s.persistent != 0 && s.persistent != 1)
    out.push_back("persistent = " + n(s.persistent) +
                  " must be 0 (one chunk a CTA) or 1 (persistent rounds of chunks)");
  else if (s.persistent == 1) {
    // The persistent form prefetches the next round's rows whole and
    // stages its states after this round's last read of them.
    if (slice < p.valueDim)
      out.push_back("persistent = 1 stages each round's v, dO and states whole: value_slice = " +
                    n(s.valueSlice) + " passes over slices (use persistent = 0)");
    if (p.gate == GateKind::Vector)
      out.push_back("persistent = 1: gate 'vector' gates its staged q and k in place per "
                    "chunk; its chunk kernel runs one chunk a CTA (persistent = 0)");
    if (p.packed)
      out.push_back("persistent = 1: packed (varlen) sequences' chunk counts are per "
                    "sequence; their chunk kernel runs one chunk a CTA (persistent = 0)");
  }
  if (!out.empty())
    return out;
  if (s.tileD != 0 && (s.tileD < 16 || !isPowerOfTwo(s.tileD) || s.tileD > p.keyDim))
    out.push_back("tile_d = " + n(s.tileD) +
                  " (the chunk kernel's dq columns per warp) must be a power of two "
                  "from 16 to Dk = " + n(p.keyDim));
  if (!out.empty())
    return out;
  {
    const int64_t split = mlir::flash::gradColumnSplit(p.keyDim, s.tileD);
    if (s.chunk % (16 * split) != 0 || slice % (16 * split) != 0)
      out.push_back("tile_d = " + n(s.tileD) + " splits the columns in " + n(split) +
                    ": chunk = " + n(s.chunk) + " and the " + n(slice) +
                    " value columns per pass must split into 16-column tiles as well");
  }
  if (!gradChunkTilesSplitIntoCopies(p, s))
    out.push_back("chunk kernel: chunk = " + n(s.chunk) + " over " +
                  n(32 * mlir::flash::gradChunkWarps(gradChunkShape(p, s))) +
                  " threads: its tiles (L x Dk, L x " + n(slice) + ", Dk x " + n(slice) +
                  ") must split into whole 16-byte copies over the threads");
  // The state passes: the forward's state-pass rules.
  for (const std::string &why : chunkwiseKernelViolations(p, t, s))
    out.push_back("state passes: " + why);
  mlir::flash::GradChunkShape shape = gradChunkShape(p, s);
  int64_t smem = mlir::flash::gradChunkSmemPlan(shape).total;
  if (smem > t.smemPerCTA)
    out.push_back("chunk kernel: needs " + n(smem) +
                  " bytes of shared memory (q, k, v, dO" +
                  (shape.rowStages > 1 ? " in " + n(shape.rowStages) + " stages" : std::string()) +
                  ", two 16-bit states " +
                  (slice < p.valueDim ? n(slice) + " value columns wide"
                                      : std::string("whole")) +
                  ", A, dP), " + t.name + " allows " + n(t.smemPerCTA));
  int64_t registers = mlir::flash::gradChunkRegisterEstimate(shape);
  if (registers > 255)
    out.push_back("chunk kernel: needs about " + n(registers) +
                  " registers per thread: more than 255");
  if (int64_t cta = gradChunkCtaRegisters(p, t, s); cta > t.registersPerSM)
    out.push_back("chunk kernel: " + n(32 * mlir::flash::gradChunkWarps(shape)) +
                  " threads of about " + n(registers) + " registers need " + n(cta) +
                  " registers, " + t.name + " has " + n(t.registersPerSM) + " per SM");
  if (32 * mlir::flash::gradChunkWarps(shape) > t.maxThreadsPerCTA)
    out.push_back("chunk kernel: " + n(32 * mlir::flash::gradChunkWarps(shape)) +
                  " threads, " + t.name + " allows " + n(t.maxThreadsPerCTA));
  return out;
}

std::vector<std::string>
flashgen::schedule::checkLinearGradSchedule(const LinearProblem &p,
                                            const Target &t, const Schedule &s) {
  std::vector<std::string> out = linearGradKernelViolations(p, t, s);
  if (out.empty() && s.smemBytes != linearGradSmemBytes(p, s))
    out.push_back("smem_bytes = " + n(s.smemBytes) + " differs from the plan's " +
                  n(linearGradSmemBytes(p, s)));
  return out;
}

Schedule flashgen::schedule::defaultLinearGradSchedule(const LinearProblem &p,
                                                       const Target &t) {
  Schedule s = defaultLinearSchedule(p, t, Algorithm::ChunkTwoPass);
  s.algorithm = Algorithm::ChunkGrad;
  // Chunks of 64 over the whole of Dv where they fit, else over value
  // slices with dq's and dk's columns split so that their accumulators fit
  // the registers, else smaller chunks.
  auto fits = [&] {
    mlir::flash::GradChunkShape shape = gradChunkShape(p, s);
    return mlir::flash::gradChunkSmemPlan(shape).total <= t.smemPerCTA &&
           mlir::flash::gradChunkRegisterEstimate(shape) <= 255;
  };
  // Whether halving tile_d still leaves 16-column tiles of the chunk and
  // of the value slice.
  auto canSplitFurther = [&] {
    const int64_t split = mlir::flash::gradColumnSplit(p.keyDim, s.tileD / 2);
    return s.tileD > 16 && s.chunk % (16 * split) == 0 &&
           mlir::flash::gradValueSlice(p.valueDim, s.valueSlice) % (16 * split) == 0;
  };
  for (s.chunk = 64;; s.chunk /= 2) {
    s.valueSlice = 0;
    s.tileD = p.keyDim;
    for (int64_t slice : valueSliceChoices(p.valueDim)) {
      if (fits())
        break;
      s.valueSlice = slice;
      s.tileD = p.keyDim;
      while (!fits() && canSplitFurther())
        s.tileD /= 2;
    }
    if (fits() || s.chunk == 16)
      break;
  }
  s.innerQ = s.innerKv = s.chunk;
  s.smemBytes = linearGradSmemBytes(p, s);
  return s;
}

Result<ScheduleSpace> flashgen::schedule::linearGradSpace(const LinearProblem &p,
                                                          const Target &t) {
  if (std::string why = linearGradPrecondition(p, t); !why.empty())
    return Result<ScheduleSpace>::failure(why);
  ScheduleSpace out;
  out.algorithm = Algorithm::ChunkGrad;
  SearchSpace &space = out.space;
  std::vector<int64_t> chunks, tileDv;
  int64_t cap = std::max<int64_t>(16, nextPowerOfTwo(p.length));
  for (int64_t c : kGradChunkChoices)
    if (c <= cap)
      chunks.push_back(c);
  for (int64_t c = kMinTileDv; c <= p.valueDim; c *= 2)
    if (p.valueDim % c == 0)
      tileDv.push_back(c);
  std::vector<int64_t> tileD;
  for (int64_t split = 1; split <= kMaxGradColumnSplit && p.keyDim / split >= 16;
       split *= 2)
    tileD.push_back(p.keyDim / split);
  // The chunk kernel's value columns per pass: the whole of Dv first (0),
  // then the narrower slices.
  std::vector<int64_t> valueSlices = {0};
  for (int64_t c : valueSliceChoices(p.valueDim))
    valueSlices.push_back(c);
  space.dims = {{"chunk", chunks, {}},
                {"tile_dv", tileDv, {}},
                {"stages", {2, 1}, {}},
                // 8 warps measured 35% slower than 4 in both state passes
                // on the H100 (2026-12-05, tile_dv = 64: 1.02 against 0.75 ms).
                {"warps", {4, 2, 1}, {}},
                {"tile_d", tileD, {}},
                {"value_slice", valueSlices, {}}};
  // The chunk kernel's persistent rounds (the next chunk's rows prefetched
  // while this one computes) where they apply, first.
  if (p.gate != GateKind::Vector && !p.packed)
    space.dims.push_back({"persistent", {1, 0}, {"yes", "no"}});
  else
    space.dims.push_back({"persistent", {0}, {"no"}});
  enum : size_t { kChunk, kTileDv, kStages, kWarps, kTileD, kValueSlice, kPersistent };
  out.toSchedule = [p](const Point &x) {
    Schedule s;
    s.algorithm = Algorithm::ChunkGrad;
    s.chunk = x[kChunk];
    s.innerQ = s.innerKv = x[kChunk];
    s.valueSlice = x[kValueSlice];
    s.tileDv = x[kTileDv];
    s.stages = x[kStages];
    s.warps = x[kWarps];
    s.tileD = x[kTileD];
    s.persistent = x[kPersistent];
    s.smemBytes = linearGradSmemBytes(p, s);
    return s;
  };
  auto toSchedule = out.toSchedule;
  int64_t dk = p.keyDim;
  space.constraints.push_back(flagRule(
      "state rows per warp", {kWarps},
      [dk](const Point &x) { return dk < 16 * x[kWarps]; },
      "Dk = " + n(dk) + " must give every warp of the state passes 16 state rows"));
  int64_t dk0 = p.keyDim, dv0 = p.valueDim;
  space.constraints.push_back(flagRule(
      "chunk kernel column split", {kChunk, kTileD, kValueSlice},
      [dk0, dv0](const Point &x) {
        int64_t split = mlir::flash::gradColumnSplit(dk0, x[kTileD]);
        return x[kChunk] % (16 * split) != 0 ||
               mlir::flash::gradValueSlice(dv0, x[kValueSlice]) % (16 * split) != 0;
      },
      "the chunk kernel's column split (Dk / tile_d) must leave 16-column tiles of "
      "the chunk and of the value columns per pass"));
  space.constraints.push_back(flagRule(
      "persistent rounds over whole values", {kValueSlice, kPersistent},
      [dv0](const Point &x) {
        return x[kPersistent] && mlir::flash::gradValueSlice(dv0, x[kValueSlice]) < dv0;
      },
      "the persistent chunk kernel stages each round's v, dO and states whole "
      "(value_slice = 0)"));
  space.constraints.push_back(flagRule(
      "whole copies", {kChunk, kTileDv, kWarps, kTileD, kValueSlice},
      [p, toSchedule](const Point &x) {
        Schedule s = toSchedule(x);
        return !chunkTilesSplitIntoCopies(p, s) || !gradChunkTilesSplitIntoCopies(p, s);
      },
      "the kernels' tiles must split into whole 16-byte copies over their threads"));
  space.constraints.push_back(sharedMemoryRule(
      t, {kChunk, kTileDv, kStages, kTileD, kValueSlice, kPersistent},
      [toSchedule](const Point &x) { return toSchedule(x).smemBytes; }));
  space.constraints.push_back(registersRule(
      t, {kChunk, kTileDv, kWarps, kTileD, kValueSlice}, [p, toSchedule](const Point &x) {
        Schedule s = toSchedule(x);
        return std::max(linearRegisters(p, statesPassOf(s), false),
                        mlir::flash::gradChunkRegisterEstimate(gradChunkShape(p, s)));
      }));
  // One chunk-kernel CTA an SM at least: its L / 16 x split warps at the
  // estimated registers a thread must fit the register file (the estimate
  // alone fits 255 where 16 warps of 150 do not fit 65536).
  SpaceConstraint chunkCta;
  chunkCta.resource = "chunk kernel registers per CTA";
  chunkCta.dims = {kChunk, kTileD, kValueSlice};
  chunkCta.value = [p, t, toSchedule](const Point &x) {
    return gradChunkCtaRegisters(p, t, toSchedule(x));
  };
  chunkCta.limit = t.registersPerSM;
  chunkCta.limitText = t.name + " has " + n(t.registersPerSM) + " per SM";
  space.constraints.push_back(chunkCta);
  space.constraints.push_back(flagRule(
      "chunk kernel threads", {kChunk, kTileD},
      [t, dk0](const Point &x) {
        return 2 * x[kChunk] * mlir::flash::gradColumnSplit(dk0, x[kTileD]) >
               t.maxThreadsPerCTA;
      },
      "the chunk kernel's L / 16 x (Dk / tile_d) warps must fit " + t.name +
          "'s threads per CTA"));
  space.objective = [p, t, toSchedule](const Point &x) {
    Evaluation ev = evaluateLinearGrad(p, t, toSchedule(x));
    return objectiveOf(ev.seconds, ev.globalBytes);
  };
  return out;
}

Evaluation flashgen::schedule::evaluateLinearGrad(const LinearProblem &p,
                                                  const Target &t,
                                                  const Schedule &s) {
  const int64_t e = p.elementBytes, T = p.length, Dk = p.keyDim,
                Dv = p.valueDim, L = s.chunk;
  const int64_t heads = p.batch * p.heads;
  const int64_t chunks = ceilDiv(T, L);
  const int64_t g = p.gateBytesPerStep();
  const int64_t state = Dk * Dv * e; // a chunk state in scratch (16-bit)

  // The forward's state pass, as chunk_two_pass models it (the first
  // kernel of its evaluation); the gradient's state pass streams q and dO
  // in k's and v's place (Dk and Dv wide as they are), and reads the final
  // state's gradient where the forward reads the initial state.
  LinearProblem forward = p;
  forward.returnsFinalState = false;
  Evaluation twoPass = evaluateLinearForm(forward, t, statesPassOf(s), /*chunkChains=*/false);
  Evaluation result;
  KernelCost states = twoPass.kernels.front();
  states.name = "states";
  // The gradient keeps its chunk states in the element type, not f32.
  const int64_t scratchSaved = heads * (chunks + 1) * Dk * Dv * (4 - e);
  states.globalBytes -= scratchSaved;
  states.hbmBytes -= scratchSaved;
  result.kernels.push_back(states);
  if (hasNormalizerGrad(p)) {
    // grad_rows: row by row from the forward's o and norm (a chunk of rows
    // a CTA, 4 warps): reads o, dO and norm, writes dO / den and each
    // row's normaliser gradient; memory-bound.
    KernelCost rows;
    rows.name = "grad_rows";
    rows.ctas = heads * std::max<int64_t>(chunks, 1);
    rows.warps = 4;
    rows.registersPerThread = 32;
    rows.globalBytes = heads * (T * (3 * Dv * e + 8) + chunks * L * dqnColsOf(p) * 4);
    rows.hbmBytes = rows.globalBytes;
    rows.aluOps = static_cast<double>(heads) * T * 4.0 * Dv;
    rows.steps = static_cast<double>(rows.ctas);
    result.kernels.push_back(rows);
  }
  KernelCost gradStates = states;
  gradStates.name = "grad_states";
  result.kernels.push_back(gradStates);

  mlir::flash::GradChunkShape shape = gradChunkShape(p, s);
  KernelCost chunk;
  chunk.name = "grad_chunk";
  chunk.ctas = heads * chunks;
  chunk.warps = mlir::flash::gradChunkWarps(shape);
  chunk.smemBytes = mlir::flash::gradChunkSmemPlan(shape).total;
  chunk.registersPerThread = mlir::flash::gradChunkRegisterEstimate(shape);
  // One chunk a CTA loads, then computes (one CTA an SM); persistent
  // rounds overlap a fitted part (kGradChunkRoundsOverlap).
  chunk.pipelined = false;
  chunk.partialOverlap = s.persistent ? kGradChunkRoundsOverlap : 0.0;
  int64_t rows = T * (2 * Dk + 2 * Dv) * e + T * g;   // q, k, v, dO, gates
  int64_t grads = T * (2 * Dk + Dv) * e + T * g;      // dq, dk, dv, gates'
  int64_t stateReads = chunks * 2 * state;            // S, G (16-bit)
  chunk.globalBytes = heads * (rows + grads + stateReads);
  chunk.hbmBytes = chunk.globalBytes;
  chunk.linesTouched = static_cast<double>(chunk.ctas) * 2.0 * f32RowLines(Dk, Dv);
  double perChunk = 2.0 * L * L * (Dk + Dv) + 2.0 * 2 * L * Dk * (Dv + L) +
                    2.0 * L * Dv * (Dk + L);
  chunk.flops = static_cast<double>(heads) * chunks * perChunk;
  // Exponentials: decay's weights of A and dP; vector's gating of q and k
  // and its undoing per element of dq and dk (4 L Dk), and the factors of
  // A's blocks below the diagonal (16 x Dk each).
  const double blocks = static_cast<double>(L / 16);
  chunk.sfuOps = static_cast<double>(heads) * chunks *
                 (p.gate == GateKind::Decay || p.gate == GateKind::MlstmSig ||
                          p.gate == GateKind::MlstmExp
                      ? 2.0 * L * L
                  : p.gate == GateKind::Vector ? 4.0 * L * Dk + blocks * (blocks - 1) / 2 * 16 * Dk
                                               : 0.0);
  chunk.aluOps = static_cast<double>(heads) * chunks * 2.0 * L * (L + Dk);
  // Shared-memory elements per chunk: the two staged states written; each
  // warp's operands (its 16 rows of the A operands, its column slice of
  // the B operands: K or V for A and dP, a state and K, Q or dO for dq, dk
  // and dv); A and dP written; the rows' dots with q and k.
  const double w = static_cast<double>(chunk.warps);
  const double split = static_cast<double>(shape.columnSplit);
  double perWarp = (3.0 * Dk * Dv + L * (3.0 * Dk + 2.0 * Dv)) / split +
                   16.0 * (2.0 * Dk + 3.0 * Dv) + 48.0 * L;
  double perChunkSmem = 2.0 * Dk * Dv + w * perWarp + 2.0 * L * L + 2.0 * L * Dk;
  chunk.smemTraffic = static_cast<double>(heads) * chunks * e * perChunkSmem;
  {
    // The chain per wave (kGradChunkCyclesPerMma's comment).
    const double rowWarpsMmas =
        // A, dP: 16 x L/split, k = Dk, Dv; dq, dk: 16 x Dk/split, k = Dv + L;
        // dv: 16 x Dv/split, k = Dk + L (m16n8k16 each).
        (L / split / 8.0) * ((Dk + Dv) / 16.0) + 2.0 * (Dk / split / 8.0) * ((Dv + L) / 16.0) +
        (Dv / split / 8.0) * ((Dk + L) / 16.0);
    const int64_t concurrent = std::max<int64_t>(
        1, ctasPerSM(t, chunk.smemBytes, chunk.registersPerThread, 32 * chunk.warps));
    const double hbmBytesPerCycle = t.hbmBytesPerSecond / t.numSMs / t.smClockHz;
    const double bytesPerCta = (L * (2.0 * Dk + 2.0 * Dv) * e + 2.0 * state) +
                               L * (2.0 * Dk + Dv) * e;
    const double smemCyclesPerWave = concurrent * perChunkSmem * e / t.smemBytesPerClockPerSM;
    const int64_t slices = mlir::flash::gradValueSlices(shape);
    const double computeCycles = rowWarpsMmas * kGradChunkCyclesPerMma +
                                 kGradChunkExposedSmem * smemCyclesPerWave +
                                 (slices > 1 ? slices : 0) * kGradChunkCyclesPerSlice;
    chunk.chainSteps = 1;
    chunk.chainStepCycles = concurrent * bytesPerCta / hbmBytesPerCycle + computeCycles;
  }
  chunk.steps = static_cast<double>(chunk.ctas);
  result.kernels.push_back(chunk);
  finishEvaluation(t, result);
  return result;
}

IOBound flashgen::schedule::linearGradIOBound(const LinearProblem &p,
                                              const Target &t) {
  // The forward's bound counts q, k, v and o (o is Dv wide, as dO is) and
  // the gates once, the states where the op reads or writes them, and the
  // re-reads of k a split state forces; the gradient reads dO in o's place
  // and writes dq, dk, dv and the gates' gradients: q, k, v and the gates
  // once more, and the re-reads of q (dk's and the state gradients' split
  // is the forward's).
  auto level = [&](int64_t capacity, const std::string &name) {
    // (p.returnsFinalState: the op reads the final state's gradient.)
    LevelBound b = linearLevelBound(p, capacity, name);
    // The normaliser kinds also read the forward's o and rows' normalisers
    // (N_r, floor_r: 8 bytes a row).
    int64_t perHead = p.length * (2 * p.keyDim + p.valueDim) * p.elementBytes +
                      p.length * p.gateBytesPerStep() +
                      (p.hasInitialState ? p.stateBytes() : 0) +
                      (hasNormalizerGrad(p) ? p.length * (p.valueDim * p.elementBytes + 8) : 0);
    b.compulsoryBytes += p.batch * p.heads * perHead;
    b.extraBytes *= 2;
    b.boundBytes = b.compulsoryBytes + b.extraBytes;
    return b;
  };
  IOBound bound = linearIOBound(p, t);
  bound.onChip = level(t.onChipBytesPerCTA(), "on-chip");
  bound.l2 = level(t.l2Bytes, "L2");
  return bound;
}
