//===- LinearProblem.cpp - validation of flash.linear_attention operands -===//

#include "reference/LinearProblem.h"

#include <cmath>

namespace flashgen::reference {

namespace {

/// Compares `actual` with `expected`, where -1 in `expected` matches any
/// extent; `layout` names the dims in the message.
std::optional<std::string> expectShape(const char *name, const Shape &actual,
                                       const Shape &expected,
                                       const std::string &layout) {
  bool matches = actual.size() == expected.size();
  for (size_t i = 0; matches && i < actual.size(); ++i)
    matches = expected[i] < 0 || actual[i] == expected[i];
  if (matches)
    return std::nullopt;
  std::string wanted = "[";
  for (size_t i = 0; i < expected.size(); ++i) {
    if (i != 0)
      wanted += ", ";
    wanted += expected[i] < 0 ? "*" : std::to_string(expected[i]);
  }
  wanted += "]";
  return std::string("linear_attention: '") + name + "' has shape " +
         shapeToString(actual) + " but " + wanted + " " + layout +
         " was expected";
}

std::optional<std::string> expectAbsent(const char *name, const Shape &actual,
                                        GateKind gate) {
  if (actual.empty())
    return std::nullopt;
  return std::string("linear_attention: '") + name + "' (shape " +
         shapeToString(actual) + ") is not used by gate kind " +
         gateKindName(gate) + "; leave it empty";
}

} // namespace

std::optional<std::string>
validateLinear(const LinearProblem &problem, const Shape &q, const Shape &k,
               const Shape &v, const Shape &logDecay, const Shape &inputGate,
               const Shape &forgetGate, const Shape &initialC,
               const Shape &initialN, const Shape &initialM,
               bool initialGiven) {
  const std::string op = "linear_attention: ";
  if (q.size() != 4)
    return op + "'q' must have rank 4 [B, H, T, Dk] but has shape " +
           shapeToString(q);
  for (int64_t extent : q)
    if (extent < 0)
      return op + "'q' has a negative dimension in shape " + shapeToString(q);
  const int64_t b = q[0], h = q[1], t = q[2], dk = q[3];
  if (dk < 1)
    return op + "key dim Dk must be >= 1, got q shape " + shapeToString(q);
  if (auto e = expectShape("k", k, {b, h, t, dk}, "[B, H, T, Dk]"))
    return e;
  if (auto e = expectShape("v", v, {b, h, t, -1}, "[B, H, T, Dv]"))
    return e;
  const int64_t dv = v[3];
  if (dv < 1)
    return op + "value dim Dv must be >= 1, got v shape " + shapeToString(v);

  const GateKind gate = problem.gate;
  switch (gate) {
  case GateKind::None:
    if (auto e = expectAbsent("logDecay", logDecay, gate))
      return e;
    break;
  case GateKind::Decay:
    if (auto e = expectShape("logDecay", logDecay, {b, h, t}, "[B, H, T]"))
      return e;
    break;
  case GateKind::Vector:
    if (auto e =
            expectShape("logDecay", logDecay, {b, h, t, dk}, "[B, H, T, Dk]"))
      return e;
    break;
  case GateKind::MlstmExp:
  case GateKind::MlstmSig:
    if (auto e = expectAbsent("logDecay", logDecay, gate))
      return e;
    if (auto e = expectShape("inputGate", inputGate, {b, h, t}, "[B, H, T]"))
      return e;
    if (auto e = expectShape("forgetGate", forgetGate, {b, h, t}, "[B, H, T]"))
      return e;
    break;
  }
  if (!gateHasNormalizer(gate)) {
    if (auto e = expectAbsent("inputGate", inputGate, gate))
      return e;
    if (auto e = expectAbsent("forgetGate", forgetGate, gate))
      return e;
  }

  if (initialGiven) {
    if (auto e = expectShape("initial C", initialC, {b, h, dk, dv},
                             "[B, H, Dk, Dv]"))
      return e;
    if (gateHasNormalizer(gate)) {
      if (auto e = expectShape("initial n", initialN, {b, h, dk}, "[B, H, Dk]"))
        return e;
    } else if (auto e = expectAbsent("initial n", initialN, gate)) {
      return e;
    }
    if (gateHasStabilizer(gate)) {
      if (auto e = expectShape("initial m", initialM, {b, h}, "[B, H]"))
        return e;
    } else if (auto e = expectAbsent("initial m", initialM, gate)) {
      return e;
    }
  }

  if (problem.scale && !std::isfinite(*problem.scale))
    return op + "scale must be finite, got " + std::to_string(*problem.scale);
  if (!std::isfinite(problem.normalizerEps) || problem.normalizerEps < 0)
    return op + "normalizer eps must be finite and >= 0, got " +
           std::to_string(problem.normalizerEps);
  return std::nullopt;
}

double effectiveLinearScale(const LinearProblem &problem, int64_t keyDim) {
  return problem.scale ? *problem.scale
                       : 1.0 / std::sqrt(static_cast<double>(keyDim));
}

} // namespace flashgen::reference
