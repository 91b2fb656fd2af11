//===- AttentionFixtureTest.cpp - the example kernels on the host emulator ===//
//
// Runs attention_causal_gqa.cu and attention_softcap_causal_gqa.cu (the
// emitter's target shape) on the host emulator against a float64 reference:
// ragged N and M (boundary tiles), N != M both ways, GQA, a BNHD layout
// (strides), scores that force the lazy rescale, and the softcap mod.
// Global accesses outside q, k, v, o abort the emulator.
//
//===----------------------------------------------------------------------===//
#include "kernel_prelude.h"
#include "attention_causal_gqa.cu"
#include "attention_softcap_causal_gqa.cu"

#include "test_support.h"

namespace {

using namespace emu_test;
using fg::bf16;

constexpr int kD = 128, kGroup = 4;

/// Tensor [B, H, S, D] stored with the given element strides.
struct Tensor {
  DeviceVec<bf16> mem;
  long long sb, sh, sn;
  Tensor(int B, int H, int S, bool bnhd, bool writable)
      : mem(size_t(B) * H * S * kD, writable),
        sb((long long)H * S * kD),
        sh(bnhd ? kD : (long long)S * kD),
        sn(bnhd ? (long long)H * kD : kD) {}
  bf16& at(int b, int h, int s, int d) { return mem[size_t(b * sb + h * sh + s * sn + d)]; }
};

enum class Mod { kNone, kSoftcap };

struct Problem {
  int B, Hq, N, M;
  bool bnhd;
  Mod mod;
  float q_sigma = 1.0f;
  bool growing_keys = false;  ///< key norms grow along the sequence (forces rescales)
};

void run(const Problem& p) {
  const int Hk = p.Hq / kGroup;
  std::mt19937 rng(p.N * 7919 + p.M * 31 + p.Hq);
  Tensor q(p.B, p.Hq, p.N, p.bnhd, false), k(p.B, Hk, p.M, p.bnhd, false), v(p.B, Hk, p.M, p.bnhd, false);
  Tensor o(p.B, p.Hq, p.N, p.bnhd, true);
  fill_normal_bf16(q.mem, rng, p.q_sigma);
  fill_normal_bf16(k.mem, rng);
  fill_normal_bf16(v.mem, rng);
  if (p.growing_keys)
    for (int b = 0; b < p.B; ++b)
      for (int h = 0; h < Hk; ++h)
        for (int j = 0; j < p.M; ++j)
          for (int d = 0; d < kD; ++d)
            k.at(b, h, j, d) = bf16_from<bf16>(bf16_value(k.at(b, h, j, d)) * (1.0f + 0.05f * j));
  for (auto& x : o.mem.v) x.bits = 0x7fc1;  // NaN poison: every output must be written
  const float scale = 1.0f / std::sqrt(float(kD));
  const float scale_log2 = scale * 1.4426950408889634f;

  if (p.mod == Mod::kNone) {
    using namespace attn_fwd_causal_gqa_k;
    emu::launch(emu::Dim3{unsigned((p.N + kTileQ - 1) / kTileQ), unsigned(p.Hq), unsigned(p.B)}, kThreads, kSmemBytes,
                attn_fwd_causal_gqa, (const bf16*)q.mem.data(), q.sb, q.sh, q.sn, 1LL, (const bf16*)k.mem.data(), k.sb,
                k.sh, k.sn, 1LL, (const bf16*)v.mem.data(), v.sb, v.sh, v.sn, 1LL, o.mem.data(), o.sb, o.sh, o.sn, 1LL,
                p.B, p.N, p.M, scale_log2);
  } else {
    using namespace attn_fwd_softcap_causal_gqa_k;
    emu::launch(emu::Dim3{unsigned((p.N + kTileQ - 1) / kTileQ), unsigned(p.Hq), unsigned(p.B)}, kThreads, kSmemBytes,
                attn_fwd_softcap_causal_gqa, (const bf16*)q.mem.data(), q.sb, q.sh, q.sn, 1LL,
                (const bf16*)k.mem.data(), k.sb, k.sh, k.sn, 1LL, (const bf16*)v.mem.data(), v.sb, v.sh, v.sn, 1LL,
                o.mem.data(), o.sb, o.sh, o.sn, 1LL, p.B, p.N, p.M, scale_log2);
  }

  int bad = 0;
  double max_err = 0;
  std::vector<double> s(p.M);
  for (int b = 0; b < p.B; ++b)
    for (int h = 0; h < p.Hq; ++h)
      for (int i = 0; i < p.N; ++i) {
        const int hk = h / kGroup;
        double mx = -INFINITY;
        for (int j = 0; j < p.M; ++j) {
          if (j > i + p.M - p.N) {  // causal, bottom-right aligned
            s[j] = -INFINITY;
            continue;
          }
          double acc = 0;
          for (int d = 0; d < kD; ++d) acc += double(bf16_value(q.at(b, h, i, d))) * bf16_value(k.at(b, hk, j, d));
          acc *= scale;
          if (p.mod == Mod::kSoftcap) acc = 30.0 * std::tanh(acc / 30.0);
          s[j] = acc;
          mx = std::max(mx, acc);
        }
        double l = 0;
        for (int j = 0; j < p.M; ++j) {
          s[j] = std::isinf(s[j]) ? 0.0 : std::exp(s[j] - mx);
          l += s[j];
        }
        for (int d = 0; d < kD; ++d) {
          double acc = 0;
          for (int j = 0; j < p.M; ++j) acc += s[j] * bf16_value(v.at(b, hk, j, d));
          const double ref = l > 0 ? acc / l : 0.0;
          const double got = bf16_value(o.at(b, h, i, d));
          const double err = std::fabs(got - ref);
          max_err = std::max(max_err, std::isnan(err) ? INFINITY : err);
          // bf16 output (2^-9 relative) plus bf16 P in P V.
          if (!(err <= 1e-2 + 1e-2 * std::fabs(ref)) && bad++ < 5)
            ADD_FAILURE() << "o[" << b << "][" << h << "][" << i << "][" << d << "] = " << got << ", want " << ref;
        }
      }
  EXPECT_EQ(bad, 0) << "max error " << max_err;
}

class AttentionFixtureTest : public EmuTest {};

TEST_F(AttentionFixtureTest, CausalRaggedSquare) { run({1, 4, 200, 200, false, Mod::kNone}); }

TEST_F(AttentionFixtureTest, CausalFewerQueriesThanKeysBnhd) { run({2, 8, 70, 300, true, Mod::kNone}); }

// Bottom-right alignment: the first N - M = 255 query rows see no key (O = 0).
TEST_F(AttentionFixtureTest, CausalMoreQueriesThanKeys) { run({1, 4, 300, 45, false, Mod::kNone}); }

TEST_F(AttentionFixtureTest, CausalGrowingScoresForceRescales) {
  Problem p{1, 4, 160, 160, false, Mod::kNone};
  p.q_sigma = 4.0f;
  p.growing_keys = true;
  run(p);
}

TEST_F(AttentionFixtureTest, SoftcapCausal) {
  Problem p{1, 4, 150, 150, false, Mod::kSoftcap};
  p.q_sigma = 6.0f;  // scores well into tanh's curved range
  run(p);
}

TEST_F(AttentionFixtureTest, SoftcapCausalBnhdRagged) { run({2, 4, 33, 97, true, Mod::kSoftcap}); }

}  // namespace
