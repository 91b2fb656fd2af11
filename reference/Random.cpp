//===- Random.cpp - deterministic random numbers for test inputs ---------===//

#include "reference/Random.h"

#include "reference/ReferenceError.h"

#include <cmath>
#include <string>

namespace flashgen::reference {

namespace {

constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;
constexpr double kTwoPi = 6.283185307179586476925286766559;

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

} // namespace

uint64_t Rng::next() {
  state += kGoldenGamma;
  return mix64(state);
}

double Rng::uniform() {
  // The top 53 bits scaled by 2^-53: exactly representable, never 1.0.
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

double Rng::uniform(double low, double high) {
  return low + (high - low) * uniform();
}

double Rng::normal() {
  // 1 - u lies in (0, 1], so the logarithm is finite.
  const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform()));
  const double angle = kTwoPi * uniform();
  return radius * std::cos(angle);
}

int64_t Rng::uniformInt(int64_t low, int64_t high) {
  if (low > high)
    throw ReferenceError("Rng::uniformInt: empty range [" +
                         std::to_string(low) + ", " + std::to_string(high) +
                         "]");
  const uint64_t span = static_cast<uint64_t>(high) -
                        static_cast<uint64_t>(low) + 1; // 0 means 2^64
  if (span == 0)
    return static_cast<int64_t>(next());
  // Reject the top partial copy of [0, span) so every value is equally
  // likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t draw;
  do
    draw = next();
  while (draw >= limit);
  return static_cast<int64_t>(static_cast<uint64_t>(low) + draw % span);
}

Rng Rng::split(uint64_t stream) const {
  // Mixing state and stream through two rounds keeps nearby stream ids
  // (0, 1, 2, ...) far apart.
  return Rng(mix64(mix64(state) ^ mix64(stream + kGoldenGamma)));
}

} // namespace flashgen::reference
