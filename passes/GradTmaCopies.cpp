//===- GradTmaCopies.cpp - the gradient kv kernel's ring on TMA -----------===//
//
// The gradient kernels flash-lower-kernels builds (LowerAttentionGrad.cpp)
// load rounds 0 .. stages-2 of their ring before the loop and round r +
// stages-1 inside the step of round r, after the step's flash.tile_wait
// and CTA barrier, into slot round % stages. So when a step starts, every
// thread is done with the slot its copy refills (read in the step before,
// whose products were waited for), and a copy needs no empty barrier: only
// the full one flash.tile_landed waits on, before the step's first
// product. The kv kernel's rounds are its loop's steps from 0; the dq
// kernel's run over its (masked, unmasked, masked) key loops from the first
// one's start.
//
//===----------------------------------------------------------------------===//

#include "passes/GradTmaCopies.h"

#include "dialect/ScheduleConversion.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::flash;

namespace {

/// Whether `v` is the constant `c`.
bool isConstant(Value v, int64_t c) {
  APInt value;
  return matchPattern(v, m_ConstantInt(&value)) && value.getSExtValue() == c;
}

/// A ring loop: its first product, which reads slot round % stages, and
/// that round.
struct RingLoop {
  scf::ForOp loop;
  TileMmaOp firstRead;
  Value round;
};

/// The kernel's loops over ring rounds, in order: those with a product
/// among their own ops.
SmallVector<RingLoop> ringLoops(KernelOp kernel) {
  SmallVector<RingLoop> loops;
  kernel.walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
    auto mmas = loop.getBody()->getOps<TileMmaOp>();
    if (mmas.empty())
      return;
    TileMmaOp first = *mmas.begin();
    auto rem = first.getStage().getDefiningOp<arith::RemSIOp>();
    loops.push_back({loop, first, rem ? rem.getLhs() : Value()});
  });
  return loops;
}

/// Whether the loops count the ring's rounds from 0 on, one a step, each
/// reading slot round % stages: the round is the induction variable, or
/// it less the first loop's start, and each loop starts where the one
/// before it ends.
bool countsRounds(SmallVector<RingLoop> loops, int64_t stages) {
  if (loops.empty())
    return false;
  Value start = loops.front().loop.getLowerBound();
  for (auto [i, l] : llvm::enumerate(loops)) {
    if (!l.round || !isConstant(l.loop.getStep(), 1) ||
        l.loop.getBody()->getOps<TileWaitOp>().empty())
      return false;
    auto rem = l.firstRead.getStage().getDefiningOp<arith::RemSIOp>();
    if (!isConstant(rem.getRhs(), stages))
      return false;
    if (i > 0 && l.loop.getLowerBound() != loops[i - 1].loop.getUpperBound())
      return false;
    Value iv = l.loop.getInductionVar();
    auto sub = l.round.getDefiningOp<arith::SubIOp>();
    bool fromZero = l.round == iv && isConstant(start, 0);
    bool offset = sub && sub.getLhs() == iv && sub.getRhs() == start;
    if (!fromZero && !offset)
      return false;
  }
  return true;
}

} // namespace

bool mlir::flash::gradRingTakesTma(KernelOp kernel) {
  ScheduleAttr s = kernel.getSchedule();
  if (!gradRingTensors(kernel.getFamily()) || !usesWgmma(s.getAlgorithm()) ||
      kernel.getProblem().contains("rotary_dims"))
    return false;
  return countsRounds(ringLoops(kernel), s.getStages());
}

void mlir::flash::markGradTmaCopies(KernelOp kernel) {
  std::array<TensorRole, 2> ring = *gradRingTensors(kernel.getFamily());
  kernel.walk([&](TileLoadOp load) {
    if (llvm::is_contained(ring, load.getTensor()) && load.getAsync())
      load.setTma(true);
  });
  for (RingLoop &l : ringLoops(kernel)) {
    OpBuilder b(l.firstRead);
    for (TensorRole role : ring)
      TileLandedOp::create(b, l.firstRead.getLoc(), role, l.round);
  }
}
