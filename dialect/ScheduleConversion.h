//===- ScheduleConversion.h - #flash.schedule <-> schedule library -*- C++ -*-===//
//
// The one conversion between the dialect's schedule attribute and the
// MLIR-free struct the scheduling library (schedule/Schedule.h) reasons
// about, so passes, the emitter and the tools read schedule fields the same
// way. Header-only: the enum mapping is a switch (the compiler warns on a
// missing case); the lit test test/passes/flash-schedule-flash3.mlir takes
// every attention family through flash-schedule, the lowering and the
// emitter.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_DIALECT_SCHEDULECONVERSION_H
#define FLASHGEN_DIALECT_SCHEDULECONVERSION_H

#include "dialect/FlashDialect.h"
#include "schedule/Schedule.h"

namespace mlir::flash {

inline flashgen::schedule::Algorithm toLibrary(Algorithm a) {
  using L = flashgen::schedule::Algorithm;
  switch (a) {
  case Algorithm::flash2:
    return L::Flash2;
  case Algorithm::flash2_dsplit:
    return L::Flash2DSplit;
  case Algorithm::flash3:
    return L::Flash3;
  case Algorithm::chunk_fused:
    return L::ChunkFused;
  case Algorithm::chunk_two_pass:
    return L::ChunkTwoPass;
  case Algorithm::flash2_grad:
    return L::Flash2Grad;
  case Algorithm::flash2_grad_deterministic:
    return L::Flash2GradDeterministic;
  case Algorithm::flash3_grad:
    return L::Flash3Grad;
  case Algorithm::flash3_grad_deterministic:
    return L::Flash3GradDeterministic;
  case Algorithm::flash3_dsplit:
    return L::Flash3DSplit;
  case Algorithm::flash_decode:
    return L::FlashDecode;
  case Algorithm::recurrent_step:
    return L::RecurrentStep;
  case Algorithm::chunk_grad:
    return L::ChunkGrad;
  case Algorithm::chunk_scored:
    return L::ChunkScored;
  }
  return L::Flash2;
}

inline Algorithm toDialect(flashgen::schedule::Algorithm a) {
  using L = flashgen::schedule::Algorithm;
  switch (a) {
  case L::Flash2:
    return Algorithm::flash2;
  case L::Flash2DSplit:
    return Algorithm::flash2_dsplit;
  case L::Flash3:
    return Algorithm::flash3;
  case L::ChunkFused:
    return Algorithm::chunk_fused;
  case L::ChunkTwoPass:
    return Algorithm::chunk_two_pass;
  case L::Flash2Grad:
    return Algorithm::flash2_grad;
  case L::Flash2GradDeterministic:
    return Algorithm::flash2_grad_deterministic;
  case L::Flash3Grad:
    return Algorithm::flash3_grad;
  case L::Flash3GradDeterministic:
    return Algorithm::flash3_grad_deterministic;
  case L::Flash3DSplit:
    return Algorithm::flash3_dsplit;
  case L::FlashDecode:
    return Algorithm::flash_decode;
  case L::RecurrentStep:
    return Algorithm::recurrent_step;
  case L::ChunkGrad:
    return Algorithm::chunk_grad;
  case L::ChunkScored:
    return Algorithm::chunk_scored;
  }
  return Algorithm::flash2;
}

/// The schedule library's answers for the dialect's enum (one source).
inline bool gradAtomicDq(Algorithm a) {
  return flashgen::schedule::gradAtomicDq(toLibrary(a));
}
inline bool usesWgmma(Algorithm a) {
  return flashgen::schedule::usesWgmma(toLibrary(a));
}
inline bool splitsHeadDim(Algorithm a) {
  return flashgen::schedule::splitsHeadDim(toLibrary(a));
}
inline bool splitsKeys(Algorithm a) {
  return flashgen::schedule::splitsKeys(toLibrary(a));
}

inline flashgen::schedule::Schedule toLibrary(ScheduleAttr s) {
  flashgen::schedule::Schedule out;
  out.algorithm = toLibrary(s.getAlgorithm());
  out.tileQ = s.getTileQ();
  out.tileKv = s.getTileKv();
  out.tileD = s.getTileD();
  out.stages = s.getStages();
  out.warps = s.getWarps();
  out.chunk = s.getChunk();
  out.innerQ = s.getInnerQ();
  out.innerKv = s.getInnerKv();
  out.tileDv = s.getTileDv();
  out.smemBytes = s.getSmemBytes();
  out.persistent = s.getPersistent();
  out.rotaryPrepass = s.getRotaryPrepass();
  out.maskLists = s.getMaskLists();
  out.valueSlice = s.getValueSlice();
  return out;
}

inline ScheduleAttr toDialect(MLIRContext *ctx,
                              const flashgen::schedule::Schedule &s) {
  return ScheduleAttr::get(ctx, toDialect(s.algorithm), s.tileQ, s.tileKv,
                           s.tileD, s.stages, s.warps, s.chunk, s.innerQ,
                           s.innerKv, s.tileDv, s.smemBytes, s.persistent,
                           s.rotaryPrepass, s.maskLists, s.valueSlice);
}

} // namespace mlir::flash

#endif // FLASHGEN_DIALECT_SCHEDULECONVERSION_H
