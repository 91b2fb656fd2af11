//===- Inputs.h - standard random operands for each op ----------*- C++ -*-===//
//
// One place that says what "random inputs" means for tests and benchmarks,
// so the CPU unit tests, the GPU tests and the examples draw the same
// distributions: q, k, v normal; log-decays uniform and negative; mLSTM
// gate preactivations uniform in a configurable range (+-30 for the
// large-gate test). Every tensor comes from its own RNG stream, so e.g.
// asking for an initial state does not change q.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_INPUTS_H
#define FLASHGEN_REFERENCE_INPUTS_H

#include "reference/LinearProblem.h"

#include <cstdint>

namespace flashgen::reference {

/// What each generated value is rounded to before anyone uses it: the
/// reference must see exactly what the device reads.
enum class Rounding { None, Float32, Bf16 };

double applyRounding(double value, Rounding rounding);
void applyRounding(Tensor<double> &tensor, Rounding rounding);

struct AttentionInputSpec {
  int64_t batch = 1;
  int64_t queryHeads = 1;
  int64_t kvHeads = 1;
  int64_t queries = 16;  // N
  int64_t keys = 16;     // M
  int64_t headDim = 16;  // D
  int64_t valueDim = 16; // Dv
  uint64_t seed = 0;
  /// Standard deviation of q, k and v.
  double stddev = 1.0;
  Rounding rounding = Rounding::None;
  /// Also draw `dout`, the output gradient a backward case needs (its own
  /// stream: q, k and v are the same with or without it).
  bool outputGradient = false;
};

struct AttentionInputs {
  Tensor<double> q;    // [B, Hq, N, D]
  Tensor<double> k;    // [B, Hkv, M, D]
  Tensor<double> v;    // [B, Hkv, M, Dv]
  Tensor<double> dout; // [B, Hq, N, Dv] with spec.outputGradient, else empty
};

AttentionInputs generateAttentionInputs(const AttentionInputSpec &spec);

/// What an extra operand of an attention op holds (dialect/ExtraOperands.h)
/// when a test draws it: integer tensors are segment ids (non-decreasing
/// along the last dimension from 0, about `segments` runs per row: the
/// document ids of packed sequences), an integer scalar or per-sequence
/// tensor is uniform in [1, scalarMax] (a length), f32 values are standard
/// normal in f32.
struct ExtraInputSpec {
  Shape shape; ///< empty: a scalar
  bool integer = true;
  int64_t segments = 4;
  int64_t scalarMax = 1;
  /// An integer tensor over the batch alone ([B]): one length per sequence
  /// (a serving batch's cache lengths), uniform in [0, scalarMax] instead
  /// of segment ids; with several sequences the first is 0 (an empty
  /// cache).
  bool perSequence = false;
  /// Uniformly random 32-bit words (as int32 values), for bit-packed masks
  /// (a speculative tree's ancestor bits, examples/tree_verify.mlir).
  bool randomBits = false;
  uint64_t seed = 0;
  /// Which extra of the op (its operand index): each has its own stream.
  uint64_t index = 0;
};

Tensor<double> generateExtraInput(const ExtraInputSpec &spec);

/// Ranges of the gate operands (all uniform).
struct GateRanges {
  /// log-decays of `decay` and `vector`; both bounds must be <= 0.
  double logDecayMin = -1.0;
  double logDecayMax = -0.01;
  /// mLSTM input and forget gate preactivations.
  double inputGateMin = -4.0;
  double inputGateMax = 4.0;
  double forgetGateMin = -2.0;
  double forgetGateMax = 6.0;
};

struct LinearInputSpec {
  GateKind gate = GateKind::None;
  int64_t batch = 1;
  int64_t heads = 1;
  int64_t steps = 64;    // T
  int64_t keyDim = 16;   // Dk
  int64_t valueDim = 16; // Dv
  bool initialState = false;
  uint64_t seed = 0;
  /// Standard deviation of q, k, v and of the initial C and n.
  double stddev = 1.0;
  GateRanges gates;
  /// Range of an initial mlstm_exp stabiliser m0.
  double initialMMin = -2.0;
  double initialMMax = 2.0;
  Rounding dataRounding = Rounding::None;  // q, k, v
  Rounding gateRounding = Rounding::None;  // logDecay, inputGate, forgetGate
  Rounding stateRounding = Rounding::None; // initial C, n, m (f32 on GPUs)
};

/// Throws ReferenceError for negative sizes, bad ranges or log-decay
/// bounds above 0.
LinearInputs<double> generateLinearInputs(const LinearInputSpec &spec);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_INPUTS_H
