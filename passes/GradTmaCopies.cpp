//===- GradTmaCopies.cpp - the gradient kv kernel's ring on TMA -----------===//
//
// The kv kernel flash-lower-kernels builds (LowerAttentionGrad.cpp) loads
// rounds 0 .. stages-2 of the ring before its loop and round it + stages-1
// inside iteration it, after the loop's flash.tile_wait and CTA barrier,
// into slot round % stages. So when iteration it starts, every thread is
// done with the slot round it + stages - 1 refills (read in iteration
// it - 1, whose products were waited for), and a copy needs no empty
// barrier: only the full one that flash.tile_landed waits on.
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

bool isRingRole(TensorRole role) {
  return role == TensorRole::q || role == TensorRole::dout;
}

/// The kernel's ring loops: those whose body reads a ring stage's rows.
SmallVector<scf::ForOp> ringLoops(KernelOp kernel) {
  SmallVector<scf::ForOp> loops;
  kernel.walk([&](scf::ForOp loop) {
    if (!loop.getBody()->getOps<GradRowsStagedOp>().empty())
      loops.push_back(loop);
  });
  return loops;
}

/// Whether `v` is the constant `c`.
bool isConstant(Value v, int64_t c) {
  APInt value;
  return matchPattern(v, m_ConstantInt(&value)) && value.getSExtValue() == c;
}

/// Whether the loop counts rounds from 0 by 1 and reads slot iv % stages.
bool countsRounds(scf::ForOp loop, int64_t stages) {
  if (!isConstant(loop.getLowerBound(), 0) || !isConstant(loop.getStep(), 1))
    return false;
  for (GradRowsStagedOp rows : loop.getBody()->getOps<GradRowsStagedOp>()) {
    auto rem = rows.getStage().getDefiningOp<arith::RemSIOp>();
    if (!rem || rem.getLhs() != loop.getInductionVar() ||
        !isConstant(rem.getRhs(), stages))
      return false;
  }
  return !loop.getBody()->getOps<TileWaitOp>().empty();
}

} // namespace

bool mlir::flash::gradRingTakesTma(KernelOp kernel) {
  ScheduleAttr s = kernel.getSchedule();
  if (kernel.getFamily() != KernelFamily::attention_grad_kv ||
      !usesWgmma(s.getAlgorithm()) ||
      kernel.getProblem().contains("rotary_dims"))
    return false;
  SmallVector<scf::ForOp> loops = ringLoops(kernel);
  return !loops.empty() && llvm::all_of(loops, [&](scf::ForOp loop) {
    return countsRounds(loop, s.getStages());
  });
}

void mlir::flash::markGradTmaCopies(KernelOp kernel) {
  kernel.walk([&](TileLoadOp load) {
    if (isRingRole(load.getTensor()) && load.getAsync())
      load.setTma(true);
  });
  for (scf::ForOp loop : ringLoops(kernel)) {
    TileWaitOp wait = *loop.getBody()->getOps<TileWaitOp>().begin();
    OpBuilder b(wait->getContext());
    b.setInsertionPointAfter(wait);
    for (TensorRole role : {TensorRole::q, TensorRole::dout})
      TileLandedOp::create(b, wait.getLoc(), role, loop.getInductionVar());
  }
}
