//===- TuningInputs.h - The buffers a tuning run allocates ------*- C++ -*-===//
//
// Tuning never touches the caller's tensors: from the manifest's params and
// the bound sizes it plans its own buffers (contiguous, rows padded to the
// param's stride_align), fills inputs with random data in each param's
// manifest dtype, and poisons outputs. The data is drawn so that every
// kernel flashgen writes computes finite results on it (docs/semantics.md
// §6): floats uniform in [-1, 1]; the log-decay gate `g` of a linear
// recurrence in [-1, -0.01] (a positive log-decay grows the state by e^T);
// mLSTM preactivations `igate` in [-4, 4] and `fgate` in [-2, 6], the
// initial stabiliser `m0` in [-2, 2]. Integer inputs
// (indices, offsets) are zero, in range for any kernel; u8 masks are random
// 0/1.
//
// Several copies of the inputs ("sets") are rotated through while timing, so
// that a run does not find the previous run's inputs in L2 (METHOD.md).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_AUTOTUNE_TUNINGINPUTS_H
#define FLASHGEN_AUTOTUNE_TUNINGINPUTS_H

#include "flashgen/autotune.h"
#include "flashgen/runtime.h"
#include "runtime/Manifest.h"

#include <cstdint>
#include <string>
#include <vector>

namespace flashgen {

struct InputDistribution {
  enum class Kind { Uniform, Zero, Bits01 };
  Kind kind = Kind::Uniform;
  double lo = -1.0, hi = 1.0;
};

/// How param `param` of `kernel` is filled (see the file comment).
InputDistribution inputDistribution(const KernelSpec &kernel,
                                    const ParamSpec &param);

struct PlannedTensor {
  std::string name;
  DType dtype = DType::None;
  ParamIo io = ParamIo::In;
  bool absent = false; ///< optional, passed as null
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  uint64_t bytes = 0; ///< from the data pointer to one past the last element
  InputDistribution distribution;
};

struct TuningInputs {
  std::vector<int64_t> symbols;       ///< in the kernel's symbol order
  std::vector<ScalarArg> scalars;     ///< one per manifest scalar
  uint64_t absent = 0;                ///< bit p: optional param p is null
  std::vector<PlannedTensor> tensors; ///< one per param

  /// Bytes of one set: every present tensor, each rounded up to 256.
  uint64_t setBytes() const;
  /// Launch arguments over `data` (one pointer per param; ignored for
  /// absent params). The sizes and strides point into this object.
  std::vector<TensorArg> args(const std::vector<void *> &data) const;
  /// Pointers for checking launches without memory: disjoint (outputs may
  /// not overlap other arguments) and aligned for any param.
  std::vector<void *> standInPointers() const;
};

/// Plans buffers for these symbol values and scalars (`scalars` shorter than
/// the manifest's list, or with dtype None, use the defaults) and checks them
/// as a launch would, so a bad size fails here with the launch's message.
Status planInputs(const KernelSpec &kernel, std::vector<int64_t> symbols,
                  std::vector<ScalarArg> scalars, uint64_t absent,
                  TuningInputs &out);

/// The same from sizes by name; names every missing or unknown one.
Status planInputs(const KernelSpec &kernel, const TuneProblem &problem,
                  TuningInputs &out);

/// The same from a launch's arguments (their sizes; never their data).
Status planInputs(const KernelSpec &kernel, const TensorArg *tensors,
                  size_t numTensors, const ScalarArg *scalars,
                  size_t numScalars, TuningInputs &out);

/// Fills `out` with `count` elements of `dtype` drawn from `distribution`
/// (splitmix64 from `seed`: the same bytes on every machine).
void fillRandom(DType dtype, const InputDistribution &distribution,
                size_t count, uint64_t seed, std::vector<uint8_t> &out);

/// How many input sets to rotate through: enough that the other sets
/// (touched between two uses of one) exceed twice the L2, at least 2 and at
/// most `maxSets`, and together within half the free device memory; 1 when
/// only one fits. 0 when not even one set fits.
int chooseInputSets(uint64_t setBytes, uint64_t l2Bytes, uint64_t freeBytes,
                    int maxSets);

} // namespace flashgen

#endif // FLASHGEN_AUTOTUNE_TUNINGINPUTS_H
