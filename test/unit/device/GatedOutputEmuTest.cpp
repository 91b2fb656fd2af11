//===- GatedOutputEmuTest.cpp - output_mod on the emulator -----------------===//
//
// The emitter's flash3 kernels of examples/gated_output.mlir (causal GQA
// whose output_mod multiplies each element by sigmoid(gate[b, i, h, d]),
// the gate an f32 extra; docs/semantics.md §2.11; generated at build time,
// CMakeLists.txt) on the host emulator, with and without a producer
// warpgroup, against a float64 reference written here from the rule: the
// normalised output, then the gate; the log-sum-exp unmodified. Ragged N
// (rows of the last tile past N are never written), batch > 1.
//
//===----------------------------------------------------------------------===//
#define FLASHGEN_DEVICE_EMULATION_WGMMA "wgmma_emulation.h"

#include "kernel_prelude.h"
#include "sm90a/gated_output.cu"
#include "sm90a/ws_gated_output.cu"

#include "emitted_attention.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace {

using namespace emu_test;
using fg::bf16;
// The emitted kernels' heads (heads= in CMakeLists.txt); the gate keeps
// the spec's 16 heads (a kernel reads the first kHq).
constexpr int kD = 128, kHq = 4, kHk = 2, kGateHeads = 16;

/// [B, H, S, kD], BHSD strides.
struct Tensor : Tensor4<bf16> {
  Tensor(int B, int H, int S, bool writable) : Tensor4<bf16>(B, H, S, kD, false, writable) {}
};

/// kMaps: q, k, v's tensor maps first (zero: the cp.async fallback runs);
/// kClaims: a persistent causal grid's tile counter after lse.
template <bool kMaps, bool kClaims, class KernelT>
void run(KernelT kernel, void (*launch_grid)(int, int, int, unsigned*), int threads, int smem, int B, int N) {
  std::mt19937 rng(N * 31 + B);
  Tensor q(B, kHq, N, false), k(B, kHk, N, false), v(B, kHk, N, false), o(B, kHq, N, true);
  fill_normal_bf16(q.mem, rng);
  fill_normal_bf16(k.mem, rng);
  fill_normal_bf16(v.mem, rng);
  for (auto& x : o.mem.v) x.bits = 0x7fc1;  // NaN poison
  // gate [B, N, 16, 128], f32.
  DeviceVec<float> gate(size_t(B) * N * kGateHeads * kD, false);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (auto& g : gate.v) g = normal(rng);
  const long long gn = (long long)kGateHeads * kD, gb = (long long)N * gn;
  std::vector<float> lse(size_t(B) * kHq * N, std::nanf(""));
  unsigned extents[3];
  launch_grid(B, N, N, extents);
  const emu::Dim3 grid{extents[0], extents[1], extents[2]};
  DeviceVec<int> claims(1, true);  // zeroed, as the runtime's zero_init leaves it
  claims[0] = 0;
  launch_emitted_attention<kMaps, kClaims>(grid, threads, smem, kernel, q, k, v, o, lse.data(),
                                           (long long)kHq * N, (long long)N, claims.data(),
                                           (const float*)gate.data(), gb, gn, (long long)kD, 1LL, B, N);
  emu_wgmma::check_and_reset();

  const double scale = 1.0 / std::sqrt(double(kD));
  int bad = 0;
  std::vector<double> s(N);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < kHq; ++h)
      for (int i = 0; i < N; ++i) {
        const int hk = h / (kHq / kHk);
        double mx = -INFINITY;
        for (int j = 0; j <= i; ++j) {
          double acc = 0;
          for (int x = 0; x < kD; ++x) acc += double(bf16_value(q.at(b, h, i, x))) * bf16_value(k.at(b, hk, j, x));
          s[j] = acc * scale;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int j = 0; j <= i; ++j) sum += (s[j] = std::exp(s[j] - mx));
        const double lse_ref = mx + std::log(sum);
        const double lse_got = lse[(size_t(b) * kHq + h) * N + i];
        if (!(std::fabs(lse_got - lse_ref) <= 1e-4 * (1.0 + std::fabs(lse_ref))) && bad++ < 5)
          ADD_FAILURE() << "lse[" << b << "][" << h << "][" << i << "] = " << lse_got << ", want " << lse_ref;
        for (int x = 0; x < kD; ++x) {
          double acc = 0;
          for (int j = 0; j <= i; ++j) acc += s[j] * bf16_value(v.at(b, hk, j, x));
          const double g = gate[size_t(b * gb + i * gn + h * kD + x)];
          const double ref = acc / sum / (1.0 + std::exp(-g));
          const double got = bf16_value(o.at(b, h, i, x));
          if (!(std::fabs(got - ref) <= 1e-2 + 1e-2 * std::fabs(ref)) && bad++ < 5)
            ADD_FAILURE() << "o[" << b << "][" << h << "][" << i << "][" << x << "] = " << got << ", want " << ref;
        }
      }
  EXPECT_EQ(bad, 0);
}

#define RUN_GATED(NAME, MAPS, CLAIMS, B, N) \
  run<MAPS, CLAIMS>(flashgen_##NAME, NAME##_k::launch_grid, NAME##_k::kThreads, NAME##_k::kSmemBytes, B, N)

TEST(GatedOutputEmuTest, EveryThreadCopies) { RUN_GATED(gated_output_v0, false, false, 2, 200); }
TEST(GatedOutputEmuTest, ProducerWarpgroup) { RUN_GATED(ws_gated_output_v0, true, false, 1, 300); }
TEST(GatedOutputEmuTest, ProducerPersistentClaimedRounds) { RUN_GATED(ws_gated_output_v1, true, true, 2, 150); }

}  // namespace
