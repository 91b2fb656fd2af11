//===- GateKind.h - the gate kinds of flash.linear_attention ----*- C++ -*-===//
//
// The one C++ spelling of the recurrence gate kinds (docs/semantics.md §3),
// header-only and dependency-free: the float64 reference (reference/) and
// the scheduling library (schedule/) both use it. The dialect's `gate`
// attribute (dialect/FlashAttrs.td) is the IR's spelling; passes convert
// between the two by name.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_GATEKIND_H
#define FLASHGEN_REFERENCE_GATEKIND_H

#include <optional>
#include <string_view>

namespace flashgen {

enum class GateKind { None, Decay, Vector, MlstmExp, MlstmSig };

/// "none", "decay", "vector", "mlstm_exp", "mlstm_sig" (the dialect's names).
inline const char *gateKindName(GateKind kind) {
  switch (kind) {
  case GateKind::None:
    return "none";
  case GateKind::Decay:
    return "decay";
  case GateKind::Vector:
    return "vector";
  case GateKind::MlstmExp:
    return "mlstm_exp";
  case GateKind::MlstmSig:
    return "mlstm_sig";
  }
  return "unknown";
}

/// The kind named `name` (as gateKindName spells it), or nothing.
inline std::optional<GateKind> parseGateKind(std::string_view name) {
  for (GateKind k : {GateKind::None, GateKind::Decay, GateKind::Vector,
                     GateKind::MlstmExp, GateKind::MlstmSig})
    if (name == gateKindName(k))
      return k;
  return std::nullopt;
}

/// mLSTM kinds carry a normaliser state n and divide by it.
inline bool gateHasNormalizer(GateKind kind) {
  return kind == GateKind::MlstmExp || kind == GateKind::MlstmSig;
}

/// Only the exponential input gate needs the max stabiliser m.
inline bool gateHasStabilizer(GateKind kind) {
  return kind == GateKind::MlstmExp;
}

} // namespace flashgen

#endif // FLASHGEN_REFERENCE_GATEKIND_H
