//===- Units.h - bytes and seconds for people ---------------------*- C++ -*-===//
//
// How diagnostics, `flashgen explain` and test messages print sizes and
// times: binary prefixes for bytes (shared memory is quoted in KiB by the
// CUDA documentation), SI prefixes for seconds.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_UNITS_H
#define FLASHGEN_SCHEDULE_UNITS_H

#include <cstdint>
#include <string>

namespace flashgen::schedule {

/// "512 B", "132 KiB", "1.50 MiB", "3.25 GiB": exact integers stay integers.
std::string formatBytes(int64_t bytes);

/// "850 ns", "12.3 us", "4.56 ms", "1.23 s".
std::string formatSeconds(double seconds);

/// Ceiling division for non-negative numerators and positive divisors.
inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Rounds `x` up to a multiple of `unit` (> 0).
inline int64_t roundUp(int64_t x, int64_t unit) { return ceilDiv(x, unit) * unit; }

inline bool isPowerOfTwo(int64_t x) { return x > 0 && (x & (x - 1)) == 0; }

/// Whether a rows x cols tile of `bytes`-byte elements splits into whole
/// 16-byte cp.async copies, the same count for each of `threads` threads
/// (the device library's cta::load_async static_asserts it).
inline bool splitsIntoCopies(int64_t rows, int64_t cols, int64_t bytes,
                             int64_t threads) {
  return (rows * cols * bytes) % 16 == 0 &&
         (rows * cols * bytes / 16) % threads == 0;
}

/// The smallest power of two >= x (1 for x <= 1; 2^62 for x > 2^62).
int64_t nextPowerOfTwo(int64_t x);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_UNITS_H
