//===- Evaluation.cpp - what the cost model says about a schedule ---------===//

#include "schedule/Evaluation.h"

#include <algorithm>

using namespace flashgen::schedule;

void flashgen::schedule::finishEvaluation(const Target &t, Evaluation &e) {
  e.smemBytes = e.registersPerThread = e.globalBytes = e.hbmBytes = 0;
  e.flops = e.seconds = 0;
  e.ctasPerSM = e.kernels.empty() ? 0 : INT64_MAX;
  const KernelCost *longest = nullptr;
  for (KernelCost &k : e.kernels) {
    estimateKernelTime(t, k);
    e.smemBytes = std::max(e.smemBytes, k.smemBytes);
    e.registersPerThread = std::max(e.registersPerThread, k.registersPerThread);
    e.ctasPerSM = std::min(e.ctasPerSM, k.ctasPerSM);
    e.globalBytes += k.globalBytes;
    e.hbmBytes += k.hbmBytes;
    e.flops += k.flops;
    e.seconds += k.seconds;
    if (!longest || k.seconds > longest->seconds)
      longest = &k;
  }
  e.binding = longest ? longest->binding : "";
  e.rankSeconds = e.seconds;
}
