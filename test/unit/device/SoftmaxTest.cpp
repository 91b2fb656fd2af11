//===- SoftmaxTest.cpp - softmax.cuh on the host emulator ----------------===//
//
// Streams given scores through online_softmax + P V and compares O and the
// log-sum-exp with a float64 softmax: masked elements, fully masked rows
// (O = 0, lse = -inf, never NaN), rows masked in early tiles only, and
// scores that grow by far more than the lazy-rescale threshold; each with
// every exponential on the MUFU and with one in 2 or 3 on the FMA pipe
// (fg::ex2_fma); and a lane's bias handed to the softmax beside its tile
// (a score_mod's bias linear in the positions), immediately and deferred.
//
//===----------------------------------------------------------------------===//
#include "kernel_prelude.h"
#include "kernels/softmax_kernels.cu"

#include "test_support.h"

namespace {

using namespace emu_test;
using fg::bf16;

constexpr int kRows = 64, kD = 64;

struct Case {
  int n_tiles;
  std::vector<float> s;  // [64][n_tiles*32], raw scores
  float c;
  std::vector<float> lane_bias;  // [n_tiles][64 threads], or empty
  bool deferred = false;
};

void run_and_check(Case& cs, std::mt19937& rng, int every);

void run_and_check(Case& cs, std::mt19937& rng) {
  for (int every : {0, 2, 3}) {
    SCOPED_TRACE("one in every " + std::to_string(every) + " exp2 on the FMA pipe");
    run_and_check(cs, rng, every);
  }
}

void run_and_check(Case& cs, std::mt19937& rng, int every) {
  const int n = cs.n_tiles * 32;
  DeviceVec<float> s(size_t(kRows) * n, false), o(kRows * kD, true), lse(kRows, true);
  DeviceVec<bf16> v(size_t(n) * kD, false);
  DeviceVec<float> bias(std::max<size_t>(cs.lane_bias.size(), 1), false);
  std::copy(cs.s.begin(), cs.s.end(), s.v.begin());
  std::copy(cs.lane_bias.begin(), cs.lane_bias.end(), bias.v.begin());
  fill_normal_bf16(v, rng);
  emu::launch(emu::Dim3{1, 1, 1}, 64, 32 * kD * 2, softmax_test_attend, (const float*)s.data(), cs.n_tiles,
              (const bf16*)v.data(), cs.c, every,
              cs.lane_bias.empty() ? (const float*)nullptr : (const float*)bias.data(),
              int(cs.deferred), o.data(), lse.data());
  int bad = 0;
  for (int i = 0; i < kRows; ++i) {
    double mx = -INFINITY;
    for (int j = 0; j < n; ++j) mx = std::max(mx, double(cs.s[size_t(i) * n + j]) * cs.c);
    std::vector<double> p(n, 0.0);
    double l = 0;
    if (std::isfinite(mx))
      for (int j = 0; j < n; ++j) {
        p[j] = std::exp2(double(cs.s[size_t(i) * n + j]) * cs.c - mx);
        l += p[j];
      }
    const double ref_lse = l > 0 ? (mx + std::log2(l)) * std::log(2.0) : -INFINITY;
    if (std::isinf(ref_lse)) {
      EXPECT_TRUE(std::isinf(lse.v[i]) && lse.v[i] < 0) << "row " << i;
    } else {
      EXPECT_NEAR(lse.v[i], ref_lse, 1e-3 * (1 + std::fabs(ref_lse))) << "row " << i;
    }
    for (int d = 0; d < kD; ++d) {
      double acc = 0;
      for (int j = 0; j < n; ++j) acc += p[j] * bf16_value(v[size_t(j) * kD + d]);
      const double ref = l > 0 ? acc / l : 0.0;
      const float got = o.v[i * kD + d];
      // P is rounded to bf16 before P V: about 2^-9 relative per term.
      if (!(std::fabs(got - ref) <= 1e-2 * (1 + std::fabs(ref))) && bad++ < 5)
        ADD_FAILURE() << "o[" << i << "][" << d << "] = " << got << ", want " << ref;
    }
  }
  EXPECT_EQ(bad, 0);
}

class SoftmaxTest : public EmuTest {};

TEST_F(SoftmaxTest, MaskedAndFullyMaskedRows) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  Case cs{3, {}, 1.4426950408889634f * 0.125f};
  const int n = 96;
  cs.s.resize(size_t(kRows) * n);
  for (int i = 0; i < kRows; ++i)
    for (int j = 0; j < n; ++j) {
      float x = nd(rng);
      if (i == 5 || i == 40) x = -INFINITY;       // fully masked rows
      if (i >= 16 && i < 24 && j < 64) x = -INFINITY;  // masked in the first two tiles only
      if ((i * 7 + j) % 5 == 0) x = -INFINITY;    // scattered mask
      cs.s[size_t(i) * n + j] = x;
    }
  run_and_check(cs, rng);
}

TEST_F(SoftmaxTest, GrowingScoresTriggerRescale) {
  // Row maxima jump by ~40 (log2 units) per tile, far past the lazy threshold;
  // some rows instead decrease, so their reference never moves.
  std::mt19937 rng(12);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Case cs{4, {}, 1.0f};
  const int n = 128;
  cs.s.resize(size_t(kRows) * n);
  for (int i = 0; i < kRows; ++i)
    for (int j = 0; j < n; ++j) {
      const int t = j / 32;
      const float trend = (i % 3 == 0) ? -10.0f * t : 40.0f * t;
      cs.s[size_t(i) * n + j] = trend + 4.0f * nd(rng);
    }
  run_and_check(cs, rng);
}

TEST_F(SoftmaxTest, SmallGrowthBelowThreshold) {
  // Maxima grow by less than the threshold per tile: p exceeds 1 (up to
  // 2^8) between rescales and the result must not change.
  std::mt19937 rng(13);
  std::normal_distribution<float> nd(0.0f, 0.5f);
  Case cs{5, {}, 1.0f};
  const int n = 160;
  cs.s.resize(size_t(kRows) * n);
  for (int i = 0; i < kRows; ++i)
    for (int j = 0; j < n; ++j) cs.s[size_t(i) * n + j] = 1.7f * (j / 32) + nd(rng);
  run_and_check(cs, rng);
}

// Each thread's bias, the same for all of its elements of a tile, moves by
// 50 log2 units from tile to tile (ALiBi's steep heads rise toward the
// diagonal; here some lanes rise, some fall): the row maxima the quad
// reduces must include it, and so must the exponentials (a reference
// without it overflows 2^128 by the last tile). Masked elements stay
// masked under it.
TEST_F(SoftmaxTest, LaneBiasJoinsRowMaximaAndExponentials) {
  for (bool deferred : {false, true}) {
    SCOPED_TRACE(deferred ? "deferred rescale" : "immediate rescale");
    std::mt19937 rng(14);
    std::normal_distribution<float> nd(0.0f, 2.0f);
    Case cs{4, {}, 1.0f};
    cs.deferred = deferred;
    const int n = 128;
    cs.s.resize(size_t(kRows) * n);
    cs.lane_bias.resize(size_t(cs.n_tiles) * 64);
    for (int t = 0; t < cs.n_tiles; ++t)
      for (int thread = 0; thread < 64; ++thread)
        cs.lane_bias[size_t(t) * 64 + thread] = (thread % 5 == 0 ? -12.0f : 50.0f) * t + nd(rng);
    // The thread holding row i, column j of the fragment (fg::warp::for_each:
    // lanes of a quad hold pairs of columns of rows lane / 4 + 8k).
    auto thread_of = [](int i, int j) { return (i / 32) * 32 + (i % 8) * 4 + (j % 8) / 2; };
    for (int i = 0; i < kRows; ++i)
      for (int j = 0; j < n; ++j) {
        float x = nd(rng) + cs.lane_bias[size_t(j / 32) * 64 + thread_of(i, j)];
        if (i == 9 || (i * 3 + j) % 7 == 0) x = -INFINITY;
        cs.s[size_t(i) * n + j] = x;
      }
    run_and_check(cs, rng, 0);
  }
}

}  // namespace
