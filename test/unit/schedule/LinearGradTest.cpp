//===- LinearGradTest.cpp - the recurrence gradient's schedules -----------===//
//
// schedule/LinearGrad.h: what the chunk_grad space admits and refuses, the
// rules flash-lower-kernels applies, that the solver's choices pass the
// scheduler's own check, and the gradient's IO bound against the forward's.
//
//===----------------------------------------------------------------------===//
#include "schedule/IOBounds.h"
#include "schedule/LinearGrad.h"
#include "schedule/Scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace flashgen::schedule;

namespace {

LinearProblem decayProblem(int64_t dk = 128, int64_t dv = 128) {
  LinearProblem p;
  p.batch = 16;
  p.heads = 16;
  p.length = 4096;
  p.keyDim = dk;
  p.valueDim = dv;
  p.gate = GateKind::Decay;
  return p;
}

/// valueSlice: the chunk kernel's value columns per pass (0: the whole).
Schedule gradSchedule(int64_t chunk, int64_t tileD, int64_t valueSlice = 0) {
  Schedule s;
  s.algorithm = Algorithm::ChunkGrad;
  s.chunk = chunk;
  s.innerQ = s.innerKv = chunk;
  s.valueSlice = valueSlice;
  s.tileD = tileD;
  s.tileDv = 64;
  s.warps = 4;
  s.stages = 2;
  return s;
}

/// The solver's 16 best schedules for `p`, each expected to pass the
/// scheduler's own check (so none fails to compile).
Result<ScheduleResult> expectCandidatesPassTheCheck(const LinearProblem &p, const Target &t) {
  SolveOptions options;
  options.topK = 16;
  Result<ScheduleResult> r = scheduleLinearGrad(p, t, options);
  EXPECT_TRUE(r) << r.error();
  if (r)
    for (const Candidate &c : r->candidates)
      EXPECT_TRUE(checkLinearGradSchedule(p, t, c.schedule).empty()) << c.schedule.str();
  return r;
}

TEST(LinearGrad, EveryCandidatePassesTheCheck) {
  const Target &t = **lookupTarget("h200");
  SolveOptions options;
  options.topK = 8;
  Result<ScheduleResult> r = scheduleLinearGrad(decayProblem(), t, options);
  ASSERT_TRUE(r) << r.error();
  ASSERT_FALSE(r->candidates.empty());
  for (const Candidate &c : r->candidates) {
    EXPECT_EQ(c.schedule.algorithm, Algorithm::ChunkGrad);
    EXPECT_TRUE(checkLinearGradSchedule(decayProblem(), t, c.schedule).empty())
        << c.schedule.str();
    EXPECT_GE(c.ioRatio, 1.0) << "the model is never below the bound";
  }
}

TEST(LinearGrad, StabilizedGradientPackedAndNot) {
  // mlstm_exp's gradient, unpacked and over packed sequences: its rows
  // kernel writes two columns a row (dN, dm); packed, the chunk kernel
  // keeps one chunk a CTA.
  const Target &t = **lookupTarget("h200");
  LinearProblem p = decayProblem();
  p.gate = GateKind::MlstmExp;
  Result<ScheduleResult> unpacked = scheduleLinearGrad(p, t, SolveOptions{});
  ASSERT_TRUE(unpacked) << unpacked.error();
  for (const Candidate &c : unpacked->candidates)
    EXPECT_TRUE(checkLinearGradSchedule(p, t, c.schedule).empty()) << c.schedule.str();
  const Schedule &first = unpacked->candidates.front().schedule;
  // The rows kernel's dN and dm, one each a row (whatever the value tiles).
  EXPECT_EQ(gradChunkShape(p, first).dqnCols, 2);
  EXPECT_TRUE(gradChunkShape(p, first).stabilizer);
  p.packed = true;
  Result<ScheduleResult> packed = scheduleLinearGrad(p, t, SolveOptions{});
  ASSERT_TRUE(packed) << packed.error();
  for (const Candidate &c : packed->candidates) {
    EXPECT_TRUE(checkLinearGradSchedule(p, t, c.schedule).empty()) << c.schedule.str();
    EXPECT_EQ(c.schedule.persistent, 0) << c.schedule.str();
    EXPECT_EQ(gradChunkShape(p, c.schedule).dqnCols, 2);
  }
}

TEST(LinearGrad, KernelRules) {
  const Target &t = **lookupTarget("h200");
  LinearProblem p = decayProblem();
  EXPECT_TRUE(linearGradKernelViolations(p, t, gradSchedule(64, 64)).empty());
  // A chunk the chunk kernel cannot split into 16-row warps.
  auto odd = linearGradKernelViolations(p, t, gradSchedule(48, 128));
  ASSERT_FALSE(odd.empty());
  EXPECT_NE(odd.front().find("chunk = 48 must be a power of two"), std::string::npos);
  // A column split that leaves 8-column tiles of a 32-row chunk.
  auto split = linearGradKernelViolations(p, t, gradSchedule(32, 32));
  ASSERT_FALSE(split.empty());
  EXPECT_NE(split.front().find("splits the columns in 4"), std::string::npos);
  // 256 x 512 states do not fit the chunk kernel's shared memory whole;
  // 64 value columns a pass do.
  LinearProblem wideProblem = decayProblem(256, 512);
  auto wide = linearGradKernelViolations(wideProblem, t, gradSchedule(16, 256));
  ASSERT_FALSE(wide.empty());
  EXPECT_NE(wide.front().find("bytes of shared memory"), std::string::npos);
  EXPECT_TRUE(linearGradKernelViolations(wideProblem, t, gradSchedule(64, 128, 64)).empty());
  // A pass's value columns must divide Dv and split over the column split.
  auto ragged = linearGradKernelViolations(wideProblem, t, gradSchedule(64, 128, 48));
  ASSERT_FALSE(ragged.empty());
  EXPECT_NE(ragged.front().find("value_slice = 48 (the chunk kernel's value columns per pass)"),
            std::string::npos)
      << ragged.front();
  auto thin = linearGradKernelViolations(wideProblem, t, gradSchedule(64, 64, 16));
  ASSERT_FALSE(thin.empty());
  EXPECT_NE(thin.front().find("splits the columns in 4"), std::string::npos) << thin.front();
  // Vector gates pass over value slices too.
  LinearProblem sliced = decayProblem(64, 128);
  sliced.gate = GateKind::Vector;
  EXPECT_TRUE(linearGradKernelViolations(sliced, t, gradSchedule(32, 64, 64)).empty());
  // A state pass whose 32 x 16 value tile is 64 copies for 128 threads
  // (NVRTC's load_async static_assert, found on the GPU).
  Schedule narrow = gradSchedule(32, 64);
  narrow.tileDv = 16;
  LinearProblem vector = decayProblem(64, 128);
  vector.gate = GateKind::Vector;
  auto copies = linearGradKernelViolations(vector, t, narrow);
  ASSERT_FALSE(copies.empty());
  EXPECT_NE(copies.back().find("whole 16-byte copies over the 128 threads"), std::string::npos)
      << copies.back();
}

TEST(LinearGrad, ChunkKernelFitsTheRegisterFile) {
  // Chunks of 128 split in two are 16 warps: at about 152 registers a
  // thread that is 77,824 registers, more than an SM has, though each
  // thread stays under 255 (ptxas would cap it at 128 and spill).
  const Target &t = **lookupTarget("h200");
  LinearProblem p = decayProblem(32, 128);
  Schedule wide = gradSchedule(128, 16), fitting = gradSchedule(64, 16);
  wide.warps = fitting.warps = 2;  // the state passes' 16 state rows a warp
  auto big = linearGradKernelViolations(p, t, wide);
  ASSERT_FALSE(big.empty());
  EXPECT_NE(big.back().find("512 threads of about 152 registers need 77824 registers, h200 has "
                            "65536 per SM"),
            std::string::npos)
      << big.back();
  auto fits = linearGradKernelViolations(p, t, fitting);
  EXPECT_TRUE(fits.empty()) << fits.front();
  // The solver searches under the same rule.
  expectCandidatesPassTheCheck(p, t);
}

TEST(LinearGrad, VectorGateCandidatesPassTheCheck) {
  // GLA's gradient: every ranked candidate of the solver (at a shape where
  // the value tiles get narrow) passes the scheduler's own check, so none
  // fails to compile.
  const Target &t = **lookupTarget("h200");
  LinearProblem p = decayProblem(64, 128);
  p.gate = GateKind::Vector;
  expectCandidatesPassTheCheck(p, t);
}

TEST(LinearGrad, NormalizerGradientHasARowsKernel) {
  // mlstm_sig: every ranked candidate passes the check, the evaluation has
  // the four kernels in launch order, and the rows kernel works row by row
  // from the forward's o and norm: memory-bound (no shared memory, no
  // tensor cores), the same whatever the schedule's tiles.
  const Target &t = **lookupTarget("h200");
  LinearProblem p = decayProblem();
  p.gate = GateKind::MlstmSig;
  Result<ScheduleResult> r = expectCandidatesPassTheCheck(p, t);
  ASSERT_TRUE(r) << r.error();
  const Schedule &first = r->candidates.front().schedule;
  Evaluation ev = evaluateLinearGrad(p, t, first);
  std::vector<std::string> names;
  for (const KernelCost &k : ev.kernels)
    names.push_back(k.name);
  ASSERT_EQ(names, (std::vector<std::string>{"states", "grad_rows", "grad_states", "grad_chunk"}));
  // The decay kind has no rows kernel.
  Evaluation decay = evaluateLinearGrad(decayProblem(), t, first);
  EXPECT_EQ(decay.kernels.size(), 3u);

  // Per head: o and dO read and dO / den written (3 T Dv elements), norm
  // read (N_r, floor_r: 8 bytes a row), and one f32 normaliser gradient a
  // row of every chunk (whole chunks: the gradient kernels read them so).
  const int64_t heads = p.batch * p.heads, T = p.length, Dv = p.valueDim, e = p.elementBytes;
  auto rowsBytes = [&](int64_t chunk, int64_t columns) {
    const int64_t chunks = (T + chunk - 1) / chunk;
    return heads * (3 * T * Dv * e + 8 * T + chunks * chunk * columns * 4);
  };
  const KernelCost &rows = ev.kernels[1];
  EXPECT_EQ(rows.globalBytes, rowsBytes(first.chunk, 1));
  EXPECT_EQ(rows.hbmBytes, rows.globalBytes);
  EXPECT_EQ(rows.smemBytes, 0);
  EXPECT_EQ(rows.flops, 0.0);
  EXPECT_EQ(rows.ctas, heads * ((T + first.chunk - 1) / first.chunk));
  // A T that is not a multiple of L still writes whole chunks of dN.
  LinearProblem ragged = p;
  ragged.length = 1000;
  Schedule chunk64 = first;
  chunk64.chunk = chunk64.innerQ = chunk64.innerKv = 64;
  EXPECT_EQ(evaluateLinearGrad(ragged, t, chunk64).kernels[1].globalBytes,
            heads * (3 * 1000 * Dv * e + 8 * 1000 + 16 * 64 * 4));
  // No value tiles: the state passes' tile_dv does not change it.
  Schedule otherTiles = first;
  otherTiles.tileDv = first.tileDv == 64 ? 32 : 64;
  EXPECT_EQ(evaluateLinearGrad(p, t, otherTiles).kernels[1].globalBytes, rows.globalBytes);
  // mlstm_exp: the stabiliser's gradient beside dN, two columns a row.
  LinearProblem stabilized = p;
  stabilized.gate = GateKind::MlstmExp;
  EXPECT_EQ(evaluateLinearGrad(stabilized, t, first).kernels[1].globalBytes,
            rowsBytes(first.chunk, 2));

  // The rows kernel has no rules of its own: value tiles wider than Dk and
  // a chunk of 32 over 4 warps (which its old form, the forward's outputs
  // kernel, refused) are refused for mlstm_sig only where decay's gradient
  // refuses them too, and never on the rows kernel's account.
  auto mentionsRowsKernel = [](const std::vector<std::string> &why) {
    return std::any_of(why.begin(), why.end(), [](const std::string &w) {
      return w.find("rows kernel") != std::string::npos;
    });
  };
  LinearProblem narrowKeys = decayProblem(64, 128);
  narrowKeys.gate = GateKind::MlstmSig;
  Schedule wide = gradSchedule(64, 64);
  wide.tileDv = 128;
  auto tooWide = linearGradKernelViolations(narrowKeys, t, wide);
  EXPECT_FALSE(mentionsRowsKernel(tooWide));
  EXPECT_TRUE(tooWide.empty()) << tooWide.front();
  auto shortChunk = linearGradKernelViolations(p, t, gradSchedule(32, 128));
  EXPECT_FALSE(mentionsRowsKernel(shortChunk));
  EXPECT_TRUE(shortChunk.empty()) << shortChunk.front();
  // ... and the space has no rows-kernel rule: a point with tile_dv > Dk is
  // feasible for mlstm_sig.
  Result<ScheduleSpace> space = linearGradSpace(narrowKeys, t);
  ASSERT_TRUE(space) << space.error();
  for (const SpaceConstraint &c : space->space.constraints)
    EXPECT_EQ(c.resource.find("rows kernel"), std::string::npos) << c.resource;
  bool wideTileFeasible = false;
  for (size_t i = 0; i < space->space.size() && !wideTileFeasible; ++i) {
    Point x = space->space.point(space->space.indexOf(i));
    wideTileFeasible =
        space->toSchedule(x).tileDv > narrowKeys.keyDim && space->space.feasible(x);
  }
  EXPECT_TRUE(wideTileFeasible);
}

TEST(LinearGrad, BoundCountsTheGradientsOnTopOfTheForward) {
  const Target &t = **lookupTarget("h200");
  LinearProblem p = decayProblem();
  IOBound forward = linearIOBound(p, t), grad = linearGradIOBound(p, t);
  // Inputs again, dO in o's place, and dq, dk, dv and dg written.
  const int64_t extra = p.batch * p.heads * p.length *
                        ((2 * p.keyDim + p.valueDim) * p.elementBytes + p.gateBytesPerStep());
  EXPECT_EQ(grad.onChip.compulsoryBytes, forward.onChip.compulsoryBytes + extra);
  EXPECT_GE(grad.onChip.boundBytes, grad.onChip.compulsoryBytes);
  // The normaliser kinds also read the forward's o and its rows'
  // normalisers (N_r, floor_r: 8 bytes a row).
  for (GateKind gate : {GateKind::MlstmSig, GateKind::MlstmExp}) {
    LinearProblem n = decayProblem();
    n.gate = gate;
    IOBound nForward = linearIOBound(n, t), nGrad = linearGradIOBound(n, t);
    const int64_t nExtra = n.batch * n.heads * n.length *
                           ((2 * n.keyDim + n.valueDim) * n.elementBytes + n.gateBytesPerStep() +
                            n.valueDim * n.elementBytes + 8);
    EXPECT_EQ(nGrad.onChip.compulsoryBytes, nForward.onChip.compulsoryBytes + nExtra);
  }
}

TEST(LinearGrad, WideStatesGetValueSlices) {
  // 8 heads 256 / 512: the states do not fit the chunk kernel whole, so
  // every gate kind with scalar gates is scheduled over value slices, each
  // candidate passing the check, and the library's default does the same;
  // at 128 / 128 the first choice stays one pass.
  const Target &t = **lookupTarget("sm_90");
  for (GateKind gate : {GateKind::None, GateKind::Decay, GateKind::MlstmSig, GateKind::MlstmExp}) {
    LinearProblem p = decayProblem(256, 512);
    p.batch = 1;
    p.heads = 8;
    p.length = 8192;
    p.gate = gate;
    Result<ScheduleResult> r = expectCandidatesPassTheCheck(p, t);
    ASSERT_TRUE(r) << r.error();
    EXPECT_GT(r->candidates.front().schedule.valueSlice, 0)
        << r->candidates.front().schedule.str();
    Schedule fallback = defaultLinearGradSchedule(p, t);
    std::vector<std::string> broken = checkLinearGradSchedule(p, t, fallback);
    EXPECT_TRUE(broken.empty()) << fallback.str() << ": " << broken.front();
    EXPECT_GT(fallback.valueSlice, 0);
  }
  // GLA's usual Dv = 2 Dk and wider (128 / 512): vector gates' chunk
  // kernel over value slices too. (At Dk = 256 their state passes need
  // more registers than sm_90 has: no schedule yet.)
  LinearProblem gla = decayProblem(128, 512);
  gla.gate = GateKind::Vector;
  Result<ScheduleResult> glaSchedules = expectCandidatesPassTheCheck(gla, t);
  ASSERT_TRUE(glaSchedules) << glaSchedules.error();
  EXPECT_GT(glaSchedules->candidates.front().schedule.valueSlice, 0);
  Result<ScheduleResult> narrow = scheduleLinearGrad(decayProblem(), t, SolveOptions{});
  ASSERT_TRUE(narrow) << narrow.error();
  EXPECT_EQ(narrow->candidates.front().schedule.valueSlice, 0);
}

TEST(LinearGrad, PersistentRoundsRules) {
  // The persistent chunk kernel double-buffers its rows: at 128 / 128 the
  // two stages, both states and A, dP fit sm_90's 227 KiB for every scalar
  // gate kind (mlstm_exp's normaliser and stabiliser rows included); at
  // 256 / 512 nothing whole fits, and a value-sliced schedule, vector gates
  // and packed sequences are refused with the reason.
  const Target &t = **lookupTarget("sm_90");
  Schedule rounds = gradSchedule(64, 64);
  rounds.persistent = 1;
  for (GateKind gate : {GateKind::None, GateKind::Decay, GateKind::MlstmSig, GateKind::MlstmExp}) {
    LinearProblem p = decayProblem();
    p.gate = gate;
    std::vector<std::string> broken = linearGradKernelViolations(p, t, rounds);
    EXPECT_TRUE(broken.empty()) << broken.front();
    const int64_t one = mlir::flash::gradChunkSmemPlan(gradChunkShape(p, gradSchedule(64, 64))).total;
    const int64_t two = mlir::flash::gradChunkSmemPlan(gradChunkShape(p, rounds)).total;
    // q, k, v and dO once more (64 KiB), and a normaliser's dN rows.
    EXPECT_GE(two - one, 4 * 64 * 128 * 2);
  }
  LinearProblem wide = decayProblem(256, 512);
  Schedule sliced = gradSchedule(64, 128, 64);
  sliced.persistent = 1;
  auto slices = linearGradKernelViolations(wide, t, sliced);
  ASSERT_FALSE(slices.empty());
  EXPECT_NE(slices.front().find("persistent = 1 stages each round's v, dO and states whole"),
            std::string::npos)
      << slices.front();
  LinearProblem vector = decayProblem(64, 64);
  vector.gate = GateKind::Vector;
  Schedule small = gradSchedule(32, 64);
  small.persistent = 1;
  auto gated = linearGradKernelViolations(vector, t, small);
  ASSERT_FALSE(gated.empty());
  EXPECT_NE(gated.front().find("gate 'vector'"), std::string::npos) << gated.front();
  LinearProblem packed = decayProblem();
  packed.packed = true;
  auto varlen = linearGradKernelViolations(packed, t, rounds);
  ASSERT_FALSE(varlen.empty());
  EXPECT_NE(varlen.front().find("packed (varlen)"), std::string::npos) << varlen.front();
  Schedule two = rounds;
  two.persistent = 2;
  auto bad = linearGradKernelViolations(decayProblem(), t, two);
  ASSERT_FALSE(bad.empty());
  EXPECT_NE(bad.front().find("persistent = 2 must be 0"), std::string::npos) << bad.front();
  // The solver offers both forms where rounds apply and only one chunk a
  // CTA where they do not; every candidate passes the check.
  SolveOptions options;
  options.topK = 64;
  Result<ScheduleResult> r = scheduleLinearGrad(packed, t, options);
  ASSERT_TRUE(r) << r.error();
  for (const Candidate &c : r->candidates) {
    EXPECT_EQ(c.schedule.persistent, 0) << c.schedule.str();
    EXPECT_TRUE(checkLinearGradSchedule(packed, t, c.schedule).empty()) << c.schedule.str();
  }
  Result<ScheduleResult> both = expectCandidatesPassTheCheck(decayProblem(), t);
  ASSERT_TRUE(both) << both.error();
  bool anyRounds = false;
  for (const Candidate &c : both->candidates)
    anyRounds |= c.schedule.persistent == 1;
  EXPECT_TRUE(anyRounds);
}

TEST(LinearGrad, ChunkSixtyFourWithASplitIsTheFirstChoiceOnSm90) {
  // The measured fastest of schedule/calibration/h100-linear-grad.tsv.
  SolveOptions options;
  Result<ScheduleResult> r = scheduleLinearGrad(decayProblem(), **lookupTarget("sm_90"), options);
  ASSERT_TRUE(r) << r.error();
  const Schedule &s = r->candidates.front().schedule;
  EXPECT_EQ(s.chunk, 64);
  EXPECT_EQ(s.tileD, 64);
}

}  // namespace
