//===- Problem.cpp - the sizes a schedule is chosen for -------------------===//

#include "schedule/Problem.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

using namespace flashgen::schedule;

const char *flashgen::schedule::maskKindName(MaskKind kind) {
  switch (kind) {
  case MaskKind::None:
    return "none";
  case MaskKind::Causal:
    return "causal";
  case MaskKind::SlidingWindow:
    return "sliding_window";
  }
  return "?";
}

std::optional<MaskKind> flashgen::schedule::parseMaskKind(std::string_view name) {
  for (MaskKind k : {MaskKind::None, MaskKind::Causal, MaskKind::SlidingWindow})
    if (name == maskKindName(k))
      return k;
  return std::nullopt;
}

int64_t LinearProblem::gateBytesPerStep() const {
  switch (gate) {
  case GateKind::None:
    return betaBytes;
  case GateKind::Decay:
    return gateElementBytes + betaBytes;
  case GateKind::Vector:
    return keyDim * gateElementBytes;
  case GateKind::MlstmExp:
  case GateKind::MlstmSig:
    return 2 * gateElementBytes; // input and forget gate preactivations
  }
  return 0;
}

int64_t LinearProblem::normalizerStateBytes() const {
  // docs/semantics.md §3.3: n [Dk] for both mLSTM kinds, m (one f32) for
  // mlstm_exp; all states are f32 on the device.
  if (gate == GateKind::MlstmExp)
    return keyDim * 4 + 4;
  if (gate == GateKind::MlstmSig)
    return keyDim * 4;
  return 0;
}

int64_t LinearProblem::stateBytes() const {
  return keyDim * valueDim * 4 + normalizerStateBytes();
}

namespace {

/// Appends "name = value must be ..." when `bad`.
void require(std::ostringstream &os, bool ok, const std::string &what) {
  if (ok)
    return;
  if (os.tellp() > 0)
    os << "; ";
  os << what;
}

/// Appends why a problem is too large for the cost model's integers.
void requireModelWork(std::ostringstream &os, long double work,
                      const char *formula) {
  if (work <= kMaxModelWork)
    return;
  char text[160];
  std::snprintf(text, sizeof(text),
                "%s = %.3Lg exceeds 2^60, the most the cost model counts in "
                "64-bit integers; plan for smaller sizes (--dim: kernels take "
                "every size at run time)",
                formula, work);
  require(os, false, text);
}

} // namespace

std::string flashgen::schedule::blockTileViolation(const AttentionProblem &p,
                                                   int64_t tileQ,
                                                   int64_t tileKv) {
  if (p.blockQ == 0 ||
      (tileQ > 0 && tileKv > 0 && p.blockQ % tileQ == 0 && p.blockKv % tileKv == 0))
    return "";
  // (0, 0) asks for the rule alone (a space's constraint text).
  std::string given = tileQ > 0 ? "; tile_q = " + std::to_string(tileQ) +
                                      ", tile_kv = " + std::to_string(tileKv)
                                : "";
  return "under a block-sparse mask of " + std::to_string(p.blockQ) + " x " +
         std::to_string(p.blockKv) + " blocks, tile_q must divide the query "
         "block and tile_kv the key block (a tile lies in one block of the "
         "lists" + given + ")";
}

std::string flashgen::schedule::validate(const AttentionProblem &p) {
  std::ostringstream os;
  auto positive = [&](int64_t v, const char *name) {
    require(os, v > 0, std::string(name) + " = " + std::to_string(v) +
                           " must be positive");
    require(os, v <= kMaxExtent,
            std::string(name) + " = " + std::to_string(v) +
                " exceeds the 32-bit sizes kernels take (at most " +
                std::to_string(kMaxExtent) + ")");
  };
  positive(p.batch, "B");
  positive(p.queryHeads, "Hq");
  positive(p.keyHeads, "Hkv");
  require(os, p.queryHeads <= kMaxHeads,
          "Hq = " + std::to_string(p.queryHeads) + " exceeds the " +
              std::to_string(kMaxHeads) + " heads a grid dimension holds");
  positive(p.queryLen, "N");
  positive(p.keyLen, "M");
  positive(p.headDim, "D");
  positive(p.valueDim, "Dv");
  require(os, p.elementBytes == 1 || p.elementBytes == 2 || p.elementBytes == 4,
          "element size " + std::to_string(p.elementBytes) +
              " bytes (1, 2 or 4 expected)");
  if (p.queryHeads > 0 && p.keyHeads > 0)
    require(os, p.queryHeads % p.keyHeads == 0,
            "Hq = " + std::to_string(p.queryHeads) +
                " is not a multiple of Hkv = " + std::to_string(p.keyHeads));
  if (os.tellp() == 0)
    requireModelWork(os,
                     static_cast<long double>(p.batch) * p.queryHeads *
                         p.queryLen * p.keyLen *
                         std::max(p.headDim, p.valueDim) * p.elementBytes,
                     "B x Hq x N x M x D x element bytes");
  if (p.mask == MaskKind::SlidingWindow)
    require(os, p.window > 0 && p.window <= kMaxExtent,
            "sliding window " + std::to_string(p.window) + " must be in [1, " +
                std::to_string(kMaxExtent) + "]");
  return os.str();
}

std::string flashgen::schedule::validate(const LinearProblem &p) {
  std::ostringstream os;
  auto positive = [&](int64_t v, const char *name) {
    require(os, v > 0, std::string(name) + " = " + std::to_string(v) +
                           " must be positive");
    require(os, v <= kMaxExtent,
            std::string(name) + " = " + std::to_string(v) +
                " exceeds the 32-bit sizes kernels take (at most " +
                std::to_string(kMaxExtent) + ")");
  };
  positive(p.batch, "B");
  positive(p.heads, "H");
  require(os, p.heads <= kMaxHeads,
          "H = " + std::to_string(p.heads) + " exceeds the " +
              std::to_string(kMaxHeads) + " heads a grid dimension holds");
  positive(p.length, "T");
  positive(p.keyDim, "Dk");
  positive(p.valueDim, "Dv");
  require(os, p.elementBytes == 1 || p.elementBytes == 2 || p.elementBytes == 4,
          "element size " + std::to_string(p.elementBytes) +
              " bytes (1, 2 or 4 expected)");
  if (os.tellp() == 0)
    requireModelWork(os,
                     static_cast<long double>(p.batch) * p.heads * p.length *
                         p.keyDim * p.valueDim * 4,
                     "B x H x T x Dk x Dv x 4");
  require(os, p.gate == GateKind::None || p.gateElementBytes > 0,
          "gate element size " + std::to_string(p.gateElementBytes) +
              " must be positive");
  return os.str();
}

std::string flashgen::schedule::describe(const AttentionProblem &p) {
  std::ostringstream os;
  os << "B=" << p.batch << " Hq=" << p.queryHeads << " Hkv=" << p.keyHeads
     << " N=" << p.queryLen << " M=" << p.keyLen << " D=" << p.headDim
     << " Dv=" << p.valueDim << " " << maskKindName(p.mask);
  if (p.mask == MaskKind::SlidingWindow)
    os << "(" << p.window << ")";
  if (p.hasScoreMod)
    os << " +score_mod";
  if (p.hasMaskMod)
    os << " +mask_mod";
  if (p.pageSize > 0)
    os << " paged(" << p.pageSize << ")";
  if (p.varlen)
    os << " varlen";
  os << ", " << p.elementBytes << "-byte elements";
  return os.str();
}

std::string flashgen::schedule::describe(const LinearProblem &p) {
  std::ostringstream os;
  os << "B=" << p.batch << " H=" << p.heads << " T=" << p.length
     << " Dk=" << p.keyDim << " Dv=" << p.valueDim << " gate "
     << gateKindName(p.gate);
  if (p.hasInitialState)
    os << " +initial";
  if (p.returnsFinalState)
    os << " +final";
  os << ", " << p.elementBytes << "-byte elements";
  return os.str();
}
