//===- LinearSpace.cpp - the schedule space of a recurrence ---------------===//

#include "schedule/LinearSpace.h"

#include "schedule/ChunkLayout.h"

#include "schedule/LinearCost.h"
#include "schedule/StepSpace.h"
#include "schedule/Units.h"

using namespace flashgen::schedule;

namespace {

constexpr int64_t kChunkChoices[] = {16, 32, 64, 128, 256, 512};
constexpr int64_t kInnerChoices[] = {16, 32, 64, 128};
constexpr int64_t kMinTileDv = 16;
/// Rows of the state each warp owns (chunkwiseKernelViolations: Dk >= 16 x warps).
constexpr int64_t kStateRowsPerWarp = 16;

} // namespace

std::string flashgen::schedule::linearPrecondition(const LinearProblem &p,
                                                   const Target &t) {
  if (std::string why = validate(p); !why.empty())
    return why;
  if (p.elementBytes != 2)
    return "the chunkwise kernels take 16-bit inputs (bf16, f16) for the MMA; "
           "this op has " +
           std::to_string(p.elementBytes) + "-byte elements";
  if (!t.mma(t.kernelMma))
    return t.name + " has no " + mmaKindName(t.kernelMma) + " shape";
  if (!isPowerOfTwo(p.keyDim) || p.keyDim < kStateRowsPerWarp)
    return "Dk = " + std::to_string(p.keyDim) +
           " must be a power of two of at least 16 (16 state rows per warp)";
  if (p.valueDim % kMinTileDv != 0)
    return "Dv = " + std::to_string(p.valueDim) +
           " must be a multiple of 16 (value tiles are powers of two >= 16)";
  return "";
}

Schedule flashgen::schedule::defaultLinearSchedule(const LinearProblem &p,
                                                  const Target &t,
                                                  Algorithm form) {
  if (form == Algorithm::RecurrentStep)
    return defaultStepSchedule(p);
  Schedule s;
  s.algorithm = form;
  s.stages = 2;
  s.warps = 4;
  s.chunk = 64;
  s.innerQ = 64;
  s.innerKv = p.keyDim > 128 || p.gate == GateKind::MlstmExp ? 32 : 64;
  s.tileDv = p.keyDim > 128 ? 32 : 64;
  while (s.tileDv > kMinTileDv && p.valueDim % s.tileDv != 0)
    s.tileDv /= 2;
  // Narrower value tiles where the kernel's register estimate (the one the
  // checker holds it to) exceeds 255: the delta rule's kernel at Dk = 128
  // keeps more live than linear_fused's.
  while (s.tileDv > kMinTileDv &&
         mlir::flash::chunkRegisterEstimate(chunkwiseKernelShape(p, s, true)) > 255)
    s.tileDv /= 2;
  if (linearScheduleSmemBytes(p, s) > t.smemPerCTA)
    s.stages = 1;
  s.smemBytes = linearScheduleSmemBytes(p, s);
  return s;
}

Result<ScheduleSpace> flashgen::schedule::linearSpace(
    const LinearProblem &p, const Target &t, std::optional<Algorithm> form) {
  if (std::string why = linearPrecondition(p, t); !why.empty())
    return Result<ScheduleSpace>::failure(why);
  if (form && isAttentionAlgorithm(*form))
    return Result<ScheduleSpace>::failure(
        std::string("'") + algorithmName(*form) +
        "' is not a recurrence schedule (chunk_fused, chunk_scored, chunk_two_pass)");
  if (form == Algorithm::ChunkScored)
    if (std::string why = chunkScoredPrecondition(p); !why.empty())
      return Result<ScheduleSpace>::failure("no chunk_scored schedule: " + why);

  ScheduleSpace out;
  out.algorithm = form.value_or(Algorithm::ChunkFused);
  SearchSpace &s = out.space;
  SpaceDim forms{"form", {}, {}};
  if (p.isDelta() && form && *form != Algorithm::ChunkFused)
    return Result<ScheduleSpace>::failure(
        std::string("the delta rule has the fused chunk kernel only "
                    "(chunk_fused), not '") +
        algorithmName(*form) + "'");
  if (p.packed && form && *form != Algorithm::ChunkFused)
    return Result<ScheduleSpace>::failure(std::string("packed (varlen) sequences take the "
                                                       "fused chunk kernel only (chunk_fused), "
                                                       "not '") +
                                           algorithmName(*form) + "'");
  const bool scored = chunkScoredPrecondition(p).empty();
  for (Algorithm a : {Algorithm::ChunkFused, Algorithm::ChunkScored, Algorithm::ChunkTwoPass})
    if ((!form || *form == a) &&
        !((p.isDelta() || p.packed) && a == Algorithm::ChunkTwoPass) &&
        (scored || a != Algorithm::ChunkScored)) {
      forms.values.push_back(static_cast<int64_t>(a));
      forms.labels.push_back(algorithmName(a));
    }
  std::vector<int64_t> chunks, inner, tileDv;
  int64_t cap = std::max<int64_t>(16, nextPowerOfTwo(p.length));
  for (int64_t c : kChunkChoices)
    if (c <= cap)
      chunks.push_back(c);
  for (int64_t c : kInnerChoices)
    if (c <= chunks.back())
      inner.push_back(c);
  for (int64_t c = kMinTileDv; c <= p.valueDim; c *= 2)
    if (p.valueDim % c == 0)
      tileDv.push_back(c);

  s.dims = {forms,
            {"chunk", chunks, {}},
            {"inner_q", inner, {}},
            {"inner_kv", inner, {}},
            {"tile_dv", tileDv, {}},
            {"stages", {1, 2}, {}},
            {"warps", {1, 2, 4, 8}, {}}};
  enum : size_t { kForm, kChunk, kInnerQ, kInnerKv, kTileDv, kStages, kWarps };

  out.toSchedule = [p](const Point &x) {
    Schedule sch;
    sch.algorithm = static_cast<Algorithm>(x[kForm]);
    sch.chunk = x[kChunk];
    sch.innerQ = x[kInnerQ];
    sch.innerKv = x[kInnerKv];
    sch.tileDv = x[kTileDv];
    sch.stages = x[kStages];
    sch.warps = x[kWarps];
    sch.smemBytes = linearScheduleSmemBytes(p, sch);
    return sch;
  };
  auto toSchedule = out.toSchedule;
  auto maxRegisters = [p, toSchedule](const Point &x) {
    Schedule sch = toSchedule(x);
    int64_t r = linearRegisters(p, sch, true);
    if (sch.algorithm == Algorithm::ChunkTwoPass)
      r = std::max(r, linearRegisters(p, sch, false));
    if (sch.algorithm == Algorithm::ChunkScored)
      r = std::max(r, mlir::flash::chunkRegisterEstimate(scoresPrepassShape(p, sch)));
    return r;
  };

  SpaceConstraint innerQ;
  innerQ.resource = "inner_q split";
  innerQ.dims = {kChunk, kInnerQ, kWarps};
  innerQ.value = [](const Point &x) {
    bool ok = x[kInnerQ] % (16 * x[kWarps]) == 0 && x[kChunk] % x[kInnerQ] == 0;
    return ok ? 0 : 1;
  };
  innerQ.unit = ValueUnit::Flag;
  innerQ.rule = "inner_q must split into 16-row MMA tiles over the warps and "
                "divide the chunk";
  s.constraints.push_back(innerQ);

  SpaceConstraint innerKv;
  innerKv.resource = "inner_kv split";
  innerKv.dims = {kChunk, kInnerKv};
  innerKv.value = [](const Point &x) {
    return x[kChunk] % x[kInnerKv] == 0 ? 0 : 1;
  };
  innerKv.unit = ValueUnit::Flag;
  innerKv.rule = "inner_kv must divide the chunk";
  s.constraints.push_back(innerKv);

  // chunk_scored's fused loop has no inner key tiles (P comes whole); only
  // its pre-pass does, one per query tile (the checker's rule), so that
  // ranked schedules differ in what the fused loop runs.
  SpaceConstraint scoredKv;
  scoredKv.resource = "chunk_scored inner_kv";
  scoredKv.dims = {kForm, kInnerQ, kInnerKv};
  scoredKv.value = [](const Point &x) {
    return static_cast<Algorithm>(x[kForm]) == Algorithm::ChunkScored && x[kInnerKv] != x[kInnerQ]
               ? 1
               : 0;
  };
  scoredKv.unit = ValueUnit::Flag;
  scoredKv.rule = "chunk_scored takes inner_kv = inner_q (its pre-pass's key tiles)";
  s.constraints.push_back(scoredKv);

  SpaceConstraint stateRows;
  stateRows.resource = "state rows per warp";
  stateRows.dims = {kWarps};
  int64_t dk = p.keyDim;
  stateRows.value = [dk](const Point &x) {
    return dk < kStateRowsPerWarp * x[kWarps] ? 1 : 0;
  };
  stateRows.unit = ValueUnit::Flag;
  stateRows.rule = "Dk = " + std::to_string(dk) +
                   " must give every warp 16 state rows";
  s.constraints.push_back(stateRows);

  s.constraints.push_back(sharedMemoryRule(
      t, {kForm, kChunk, kTileDv, kStages},
      [toSchedule](const Point &x) { return toSchedule(x).smemBytes; }));

  SpaceConstraint regs = registersRule(
      t, {kForm, kChunk, kInnerQ, kInnerKv, kTileDv, kWarps}, maxRegisters);
  s.constraints.push_back(regs);

  SpaceConstraint regsCta = regs;
  regsCta.resource = "registers per CTA";
  int64_t unit = t.registerAllocationUnit;
  regsCta.value = [maxRegisters, unit](const Point &x) {
    return roundUp(maxRegisters(x), unit) * 32 * x[kWarps];
  };
  regsCta.limit = t.registersPerSM;
  regsCta.limitText = t.name + " has " + std::to_string(t.registersPerSM) +
                      " per SM";
  s.constraints.push_back(regsCta);

  SpaceConstraint threads;
  threads.resource = "threads per CTA";
  threads.dims = {kWarps};
  threads.value = [](const Point &x) { return 32 * x[kWarps]; };
  threads.limit = t.maxThreadsPerCTA;
  threads.limitText = t.name + " allows " + std::to_string(t.maxThreadsPerCTA);
  s.constraints.push_back(threads);

  s.objective = [p, t, toSchedule](const Point &x) {
    Evaluation ev = evaluateLinear(p, t, toSchedule(x));
    return objectiveOf(ev.seconds, ev.globalBytes);
  };
  return out;
}
