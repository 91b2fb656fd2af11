//===- PositionBias.cpp - a score bias handed to the softmax --------------===//

#include "codegen/attention/PositionBias.h"

using namespace mlir;
using namespace mlir::flash;

std::optional<ScoreBias> mlir::flash::matchPositionBias(ScoreMapOp map) {
  Block &block = map.getBody().front();
  return matchScoreBias(block, cast<ScoreYieldOp>(block.getTerminator()).getScore());
}

bool mlir::flash::usesPositionBias(KernelOp kernel) {
  bool matched = false, other = false;
  kernel.walk([&](ScoreMapOp map) {
    Block &block = map.getBody().front();
    Value score = block.getArgument(0);
    if (cast<ScoreYieldOp>(block.getTerminator()).getScore() == score) {
      // Unchanged, and nothing else reads the score's units.
      if (!score.hasOneUse())
        other = true;
      return;
    }
    if (!matchPositionBias(map) || !isa_and_nonnull<SoftmaxUpdateOp>(map->getNextNode()))
      other = true;
    else
      matched = true;
  });
  return matched && !other;
}
