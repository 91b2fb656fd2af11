//===- Units.cpp - bytes and seconds for people ---------------------------===//

#include "schedule/Units.h"

#include <cmath>
#include <cstdio>

using namespace flashgen::schedule;

std::string flashgen::schedule::formatBytes(int64_t bytes) {
  static const char *const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (std::fabs(value) >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  char text[48];
  if (unit == 0 || value == std::floor(value))
    std::snprintf(text, sizeof(text), "%.0f %s", value, kUnits[unit]);
  else
    std::snprintf(text, sizeof(text), "%.2f %s", value, kUnits[unit]);
  return text;
}

std::string flashgen::schedule::formatSeconds(double seconds) {
  char text[48];
  double a = std::fabs(seconds);
  if (a < 1e-6)
    std::snprintf(text, sizeof(text), "%.0f ns", seconds * 1e9);
  else if (a < 1e-3)
    std::snprintf(text, sizeof(text), "%.3g us", seconds * 1e6);
  else if (a < 1.0)
    std::snprintf(text, sizeof(text), "%.3g ms", seconds * 1e3);
  else
    std::snprintf(text, sizeof(text), "%.3g s", seconds);
  return text;
}

int64_t flashgen::schedule::nextPowerOfTwo(int64_t x) {
  // 2^62 is the largest power of two an int64_t holds; doubling past it
  // would overflow (and loop forever), so larger inputs saturate there.
  constexpr int64_t kLargest = int64_t(1) << 62;
  if (x > kLargest)
    return kLargest;
  int64_t p = 1;
  while (p < x)
    p <<= 1;
  return p;
}
