//===- reference_tensors.h - emulated bf16 tensors beside float64 ---------===//
//
// The emulator tests of emitted kernels (AttentionGradEmuTest.cpp,
// AttentionDSplitEmuTest.cpp) hold each tensor twice: as bf16 device memory
// the kernel reads or writes, and as the doubles reference/ computes with.
// This header converts between the two and measures a result's error (the
// output's relative L2 error, the log-sum-exp's largest; both checked
// together for an attention kernel by expectAttentionClose).
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_TEST_DEVICE_REFERENCE_TENSORS_H
#define FLASHGEN_TEST_DEVICE_REFERENCE_TENSORS_H

#include "test_support.h"

#include "reference/Tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

namespace emu_test {

/// [B, H, S, X] bf16, contiguous, as device memory and as the doubles the
/// reference reads.
struct Bf16Tensor {
  int B, H, S, X;
  DeviceVec<fg::bf16> mem;
  Bf16Tensor(int B, int H, int S, int X, bool writable)
      : B(B), H(H), S(S), X(X), mem(size_t(B) * H * S * X, writable) {}
  long long s0() const { return (long long)H * S * X; }
  long long s1() const { return (long long)S * X; }
  long long s2() const { return X; }
  flashgen::reference::Tensor<double> values() {
    std::vector<double> v(mem.size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = bf16_value(mem[i]);
    return flashgen::reference::Tensor<double>({B, H, S, X}, std::move(v));
  }
  void set(const flashgen::reference::Tensor<double>& t) {
    for (size_t i = 0; i < mem.size(); ++i) mem[i] = bf16_from<fg::bf16>(float(t.values()[i]));
  }
  /// NaN everywhere, so an element the kernel leaves unwritten fails.
  void poison() {
    for (auto& x : mem.v) x.bits = 0x7fc1;
  }
};

/// Relative L2 error of a bf16 result against the reference; NaNs are
/// counted in `nans` and left out of the error.
inline double relError(Bf16Tensor& got, const flashgen::reference::Tensor<double>& want, size_t& nans) {
  double diff = 0, norm = 0;
  nans = 0;
  for (size_t i = 0; i < got.mem.size(); ++i) {
    const double g = bf16_value(got.mem[i]), w = want.values()[i];
    if (std::isnan(g)) {
      ++nans;
      continue;
    }
    diff += (g - w) * (g - w);
    norm += w * w;
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

/// The largest error of an f32 log-sum-exp against the reference, relative
/// to 1 + |reference|; NaNs are counted in `nans` and left out. A row that
/// sees no key must hold -inf exactly (`infMismatches` counts those that do
/// not).
inline double lseError(const std::vector<float>& got, const flashgen::reference::Tensor<double>& want,
                       size_t& nans, size_t& infMismatches) {
  double err = 0;
  nans = infMismatches = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double w = want.values()[i];
    if (std::isnan(got[i])) {
      ++nans;
    } else if (std::isinf(w)) {
      infMismatches += got[i] != float(w);
    } else {
      err = std::max(err, std::fabs(got[i] - w) / (1.0 + std::fabs(w)));
    }
  }
  return err;
}

/// An attention kernel's o and lse against the reference's (`wantOut`,
/// `wantLse`): nothing left unwritten, o within 1e-2 (relative L2), lse
/// within 1e-4 and -inf exactly where no key is seen; prints the errors
/// under `tag` ("[tag] what: ...").
inline void expectAttentionClose(Bf16Tensor& o, const std::vector<float>& lse,
                                 const flashgen::reference::Tensor<double>& wantOut,
                                 const flashgen::reference::Tensor<double>& wantLse, const char* tag,
                                 const char* what) {
  size_t nans = 0;
  const double rel = relError(o, wantOut, nans);
  EXPECT_EQ(nans, 0u) << what << ": o elements left unwritten (NaN)";
  EXPECT_LT(rel, 1e-2) << what << ": o";
  size_t lseNans = 0, infMismatches = 0;
  const double lseErr = lseError(lse, wantLse, lseNans, infMismatches);
  EXPECT_EQ(lseNans, 0u) << what << ": lse rows left unwritten (NaN)";
  EXPECT_EQ(infMismatches, 0u) << what;
  EXPECT_LT(lseErr, 1e-4) << what << ": lse";
  std::printf("[%s] %s: o rel_err %.3e, lse max rel err %.3e\n", tag, what, rel, lseErr);
}

}  // namespace emu_test

#endif  // FLASHGEN_TEST_DEVICE_REFERENCE_TENSORS_H
