//===- Inputs.cpp - standard random operands for each op -----------------===//

#include "reference/Inputs.h"

#include "reference/Bf16.h"
#include "reference/Random.h"

#include <cmath>
#include <string>

namespace flashgen::reference {

namespace {

/// Stream ids: fixed per operand, so they never move when others are added.
enum Stream : uint64_t {
  kStreamQ = 1,
  kStreamK,
  kStreamV,
  kStreamLogDecay,
  kStreamInputGate,
  kStreamForgetGate,
  kStreamInitialC,
  kStreamInitialN,
  kStreamInitialM,
  kStreamOutputGrad,
  /// Extra operand i of an attention op draws from stream base + i.
  kStreamExtraBase = 64,
};

Tensor<double> normalTensor(const Rng &root, Stream stream, Shape shape,
                            double stddev, Rounding rounding) {
  Rng rng = root.split(stream);
  Tensor<double> tensor(std::move(shape));
  for (double &value : tensor.values())
    value = applyRounding(stddev * rng.normal(), rounding);
  return tensor;
}

Tensor<double> uniformTensor(const Rng &root, Stream stream, Shape shape,
                             double low, double high, Rounding rounding) {
  Rng rng = root.split(stream);
  Tensor<double> tensor(std::move(shape));
  for (double &value : tensor.values())
    value = applyRounding(rng.uniform(low, high), rounding);
  return tensor;
}

void requireRange(const char *what, double low, double high) {
  if (!(std::isfinite(low) && std::isfinite(high) && low <= high))
    throw ReferenceError(std::string("inputs: ") + what + " range [" +
                         std::to_string(low) + ", " + std::to_string(high) +
                         "] must be finite with min <= max");
}

void requireNonNegative(const char *what, int64_t value) {
  if (value < 0)
    throw ReferenceError(std::string("inputs: ") + what +
                         " must be >= 0, got " + std::to_string(value));
}

} // namespace

double applyRounding(double value, Rounding rounding) {
  switch (rounding) {
  case Rounding::None:
    return value;
  case Rounding::Float32:
    return static_cast<double>(static_cast<float>(value));
  case Rounding::Bf16:
    return roundToBf16(value);
  }
  return value;
}

void applyRounding(Tensor<double> &tensor, Rounding rounding) {
  for (double &value : tensor.values())
    value = applyRounding(value, rounding);
}

AttentionInputs generateAttentionInputs(const AttentionInputSpec &spec) {
  requireNonNegative("batch", spec.batch);
  requireNonNegative("queries", spec.queries);
  requireNonNegative("keys", spec.keys);
  if (spec.queryHeads < 1 || spec.kvHeads < 1 || spec.headDim < 1 ||
      spec.valueDim < 1)
    throw ReferenceError("inputs: head counts and head dims must be >= 1");
  const Rng root(spec.seed);
  AttentionInputs inputs;
  inputs.q = normalTensor(
      root, kStreamQ, {spec.batch, spec.queryHeads, spec.queries, spec.headDim},
      spec.stddev, spec.rounding);
  inputs.k = normalTensor(root, kStreamK,
                          {spec.batch, spec.kvHeads, spec.keys, spec.headDim},
                          spec.stddev, spec.rounding);
  inputs.v = normalTensor(root, kStreamV,
                          {spec.batch, spec.kvHeads, spec.keys, spec.valueDim},
                          spec.stddev, spec.rounding);
  if (spec.outputGradient)
    inputs.dout = normalTensor(
        root, kStreamOutputGrad,
        {spec.batch, spec.queryHeads, spec.queries, spec.valueDim}, spec.stddev,
        spec.rounding);
  return inputs;
}

Tensor<double> generateExtraInput(const ExtraInputSpec &spec) {
  for (int64_t size : spec.shape)
    requireNonNegative("extra operand size", size);
  // Streams past every named one, one per extra.
  Rng rng = Rng(spec.seed).split(kStreamExtraBase + spec.index);
  Tensor<double> tensor(spec.shape);
  if (!spec.integer) {
    for (double &value : tensor.values())
      value = applyRounding(rng.normal(), Rounding::Float32);
    return tensor;
  }
  if (spec.shape.empty()) {
    for (double &value : tensor.values())
      value = double(rng.uniformInt(1, std::max<int64_t>(1, spec.scalarMax)));
    return tensor;
  }
  if (spec.randomBits) {
    for (double &value : tensor.values())
      value = double(rng.uniformInt(INT32_MIN, INT32_MAX));
    return tensor;
  }
  if (spec.perSequence) {
    // Lengths from 0; in a batch of several, the first sequence's cache is
    // empty (its keys are only its new tokens': one key for one token).
    std::vector<double> &values = tensor.values();
    for (double &value : values)
      value = double(rng.uniformInt(0, std::max<int64_t>(0, spec.scalarMax)));
    if (values.size() > 1)
      values[0] = 0;
    return tensor;
  }
  // A new segment starts at each element with probability segments / row.
  int64_t row = spec.shape.back();
  double start = row > 0 ? std::min(1.0, double(spec.segments) / double(row)) : 0;
  std::vector<double> &values = tensor.values();
  for (size_t i = 0; i < values.size(); ++i) {
    bool first = row > 0 && i % size_t(row) == 0;
    values[i] = first ? 0 : values[i - 1] + (rng.uniform() < start ? 1 : 0);
  }
  return tensor;
}

LinearInputs<double> generateLinearInputs(const LinearInputSpec &spec) {
  requireNonNegative("batch", spec.batch);
  requireNonNegative("heads", spec.heads);
  requireNonNegative("steps", spec.steps);
  if (spec.keyDim < 1 || spec.valueDim < 1)
    throw ReferenceError("inputs: key and value dims must be >= 1");
  const GateRanges &ranges = spec.gates;
  requireRange("log-decay", ranges.logDecayMin, ranges.logDecayMax);
  requireRange("input gate", ranges.inputGateMin, ranges.inputGateMax);
  requireRange("forget gate", ranges.forgetGateMin, ranges.forgetGateMax);
  requireRange("initial m", spec.initialMMin, spec.initialMMax);
  if (ranges.logDecayMax > 0)
    throw ReferenceError("inputs: log-decays must be <= 0 (decay factors <= "
                         "1), got max " +
                         std::to_string(ranges.logDecayMax));

  const Rng root(spec.seed);
  const int64_t b = spec.batch, h = spec.heads, t = spec.steps;
  const int64_t dk = spec.keyDim, dv = spec.valueDim;
  LinearInputs<double> inputs;
  inputs.q = normalTensor(root, kStreamQ, {b, h, t, dk}, spec.stddev,
                          spec.dataRounding);
  inputs.k = normalTensor(root, kStreamK, {b, h, t, dk}, spec.stddev,
                          spec.dataRounding);
  inputs.v = normalTensor(root, kStreamV, {b, h, t, dv}, spec.stddev,
                          spec.dataRounding);
  switch (spec.gate) {
  case GateKind::None:
    break;
  case GateKind::Decay:
  case GateKind::Vector: {
    Shape shape = {b, h, t};
    if (spec.gate == GateKind::Vector)
      shape.push_back(dk);
    inputs.logDecay =
        uniformTensor(root, kStreamLogDecay, shape, ranges.logDecayMin,
                      ranges.logDecayMax, spec.gateRounding);
    break;
  }
  case GateKind::MlstmExp:
  case GateKind::MlstmSig:
    inputs.inputGate =
        uniformTensor(root, kStreamInputGate, {b, h, t}, ranges.inputGateMin,
                      ranges.inputGateMax, spec.gateRounding);
    inputs.forgetGate =
        uniformTensor(root, kStreamForgetGate, {b, h, t}, ranges.forgetGateMin,
                      ranges.forgetGateMax, spec.gateRounding);
    break;
  }
  if (spec.initialState) {
    inputs.initial.c = normalTensor(root, kStreamInitialC, {b, h, dk, dv},
                                    spec.stddev, spec.stateRounding);
    if (gateHasNormalizer(spec.gate))
      inputs.initial.n = normalTensor(root, kStreamInitialN, {b, h, dk},
                                      spec.stddev, spec.stateRounding);
    if (gateHasStabilizer(spec.gate))
      inputs.initial.m =
          uniformTensor(root, kStreamInitialM, {b, h}, spec.initialMMin,
                        spec.initialMMax, spec.stateRounding);
  }
  return inputs;
}

} // namespace flashgen::reference
