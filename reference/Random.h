//===- Random.h - deterministic random numbers for test inputs --*- C++ -*-===//
//
// The same seed must give the same inputs on every machine and compiler, so
// the CPU side and a GPU test built elsewhere agree without exchanging files.
// <random>'s distributions are implementation-defined; this generator
// (splitmix64, with our own uniform/normal transforms) is not. Raw and
// uniform values are bit-exact everywhere; normal() goes through libm's log
// and cos, which may differ by an ulp between C libraries.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_RANDOM_H
#define FLASHGEN_REFERENCE_RANDOM_H

#include <cstdint>

namespace flashgen::reference {

/// splitmix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
/// generators", 2014): a 64-bit counter passed through a bijective mixer.
class Rng {
public:
  explicit Rng(uint64_t seed) : state(seed) {}

  /// Next raw 64-bit value.
  uint64_t next();
  /// Uniform in [0, 1), 53 random bits.
  double uniform();
  /// Uniform in [low, high).
  double uniform(double low, double high);
  /// Standard normal (Box-Muller; consumes two draws per value).
  double normal();
  /// Uniform integer in [low, high], both inclusive, without modulo bias.
  int64_t uniformInt(int64_t low, int64_t high);

  /// An independent generator for sub-stream `stream` (e.g. one per
  /// tensor), so that adding a tensor does not shift the values of others.
  Rng split(uint64_t stream) const;

private:
  uint64_t state;
};

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_RANDOM_H
