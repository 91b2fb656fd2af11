//===- Schedule.cpp - one kernel schedule, as #flash.schedule -------------===//

#include "schedule/Schedule.h"

#include <algorithm>
#include <sstream>

using namespace flashgen::schedule;

const char *flashgen::schedule::algorithmName(Algorithm a) {
  switch (a) {
  case Algorithm::Flash2:
    return "flash2";
  case Algorithm::Flash2DSplit:
    return "flash2_dsplit";
  case Algorithm::Flash3:
    return "flash3";
  case Algorithm::ChunkFused:
    return "chunk_fused";
  case Algorithm::ChunkTwoPass:
    return "chunk_two_pass";
  case Algorithm::Flash2Grad:
    return "flash2_grad";
  case Algorithm::Flash2GradDeterministic:
    return "flash2_grad_deterministic";
  case Algorithm::Flash3Grad:
    return "flash3_grad";
  case Algorithm::Flash3GradDeterministic:
    return "flash3_grad_deterministic";
  case Algorithm::Flash3DSplit:
    return "flash3_dsplit";
  case Algorithm::FlashDecode:
    return "flash_decode";
  case Algorithm::RecurrentStep:
    return "recurrent_step";
  case Algorithm::ChunkGrad:
    return "chunk_grad";
  case Algorithm::ChunkScored:
    return "chunk_scored";
  }
  return "?";
}

std::optional<Algorithm> flashgen::schedule::parseAlgorithm(std::string_view name) {
  for (Algorithm a : kAllAlgorithms)
    if (name == algorithmName(a))
      return a;
  return std::nullopt;
}

bool flashgen::schedule::isAttentionGradAlgorithm(Algorithm a) {
  return a == Algorithm::Flash2Grad || a == Algorithm::Flash2GradDeterministic ||
         a == Algorithm::Flash3Grad || a == Algorithm::Flash3GradDeterministic;
}

bool flashgen::schedule::gradAtomicDq(Algorithm a) {
  return a == Algorithm::Flash2Grad || a == Algorithm::Flash3Grad;
}

bool flashgen::schedule::isDeterministicGradAlgorithm(Algorithm a) {
  return isAttentionGradAlgorithm(a) && !gradAtomicDq(a);
}

std::string flashgen::schedule::algorithmNames(bool (*keep)(Algorithm),
                                               const char *separator) {
  std::string out;
  for (Algorithm a : kAllAlgorithms) {
    if (keep && !keep(a))
      continue;
    if (!out.empty())
      out += separator;
    out += algorithmName(a);
  }
  return out;
}

bool flashgen::schedule::usesWgmma(Algorithm a) {
  return a == Algorithm::Flash3 || a == Algorithm::Flash3DSplit ||
         a == Algorithm::Flash3Grad || a == Algorithm::Flash3GradDeterministic;
}

bool flashgen::schedule::splitsHeadDim(Algorithm a) {
  return a == Algorithm::Flash2DSplit || a == Algorithm::Flash3DSplit;
}

bool flashgen::schedule::splitsKeys(Algorithm a) {
  return a == Algorithm::FlashDecode;
}

bool flashgen::schedule::isAttentionAlgorithm(Algorithm a) {
  return a == Algorithm::Flash2 || a == Algorithm::Flash2DSplit ||
         a == Algorithm::Flash3 || a == Algorithm::Flash3DSplit ||
         a == Algorithm::FlashDecode;
}

int64_t Schedule::keyWarps() const {
  if (algorithm != Algorithm::FlashDecode || innerKv <= 0 || tileKv % innerKv != 0)
    return 1;
  return tileKv / innerKv;
}

int64_t Schedule::rowWarps() const {
  return std::max<int64_t>(1, warps / keyWarps());
}

std::string Schedule::str() const {
  std::ostringstream os;
  os << algorithmName(algorithm);
  if (isAttentionAlgorithm(algorithm) || isAttentionGradAlgorithm(algorithm)) {
    os << " tile_q=" << tileQ << " tile_kv=" << tileKv << " tile_d=" << tileD
       << " tile_dv=" << tileDv;
    // flash3's inner fields are kernel options, printed where set.
    if (innerQ != 0)
      os << " inner_q=" << innerQ;
    if (innerKv != 0)
      os << " inner_kv=" << innerKv;
    if (persistent != 0)
      os << " persistent";
    if (rotaryPrepass != 0)
      os << " rotary_prepass";
    if (maskLists != 0)
      os << " mask_lists";
  } else if (algorithm == Algorithm::RecurrentStep) {
    os << " tile_dv=" << tileDv << " warps=" << warps;
    return os.str();
  } else if (algorithm == Algorithm::ChunkGrad) {
    // The chunk kernel has no inner tiles (tile_d: its dq columns per
    // warp; value_slice, printed where set: its value columns per pass;
    // persistent: its rounds); tile_dv, stages and warps are the state
    // passes'.
    os << " chunk=" << chunk << " tile_d=" << tileD << " tile_dv=" << tileDv;
    if (valueSlice != 0)
      os << " value_slice=" << valueSlice;
    if (persistent != 0)
      os << " persistent";
  } else {
    os << " chunk=" << chunk << " inner_q=" << innerQ
       << " inner_kv=" << innerKv << " tile_dv=" << tileDv;
  }
  os << " stages=" << stages << " warps=" << warps;
  return os.str();
}

bool Schedule::operator==(const Schedule &o) const {
  return algorithm == o.algorithm && tileQ == o.tileQ && tileKv == o.tileKv &&
         tileD == o.tileD && stages == o.stages && warps == o.warps &&
         chunk == o.chunk && innerQ == o.innerQ && innerKv == o.innerKv &&
         tileDv == o.tileDv && smemBytes == o.smemBytes &&
         persistent == o.persistent && rotaryPrepass == o.rotaryPrepass &&
         maskLists == o.maskLists && valueSlice == o.valueSlice;
}
