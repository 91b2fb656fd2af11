//===- AttentionWgmmaTest.cpp - flash3 attention kernels on the emulator --===//
//
// Runs the sm_90a warpgroup kernels (algorithm "flash3") on the host
// emulator, with the wgmma model of emu/wgmma_emulation.h, against float64
// references:
//  - kernels/attention_wgmma_causal_gqa.cu, the hand-written fixture: ragged
//    N and M (boundary tiles, zero-filled rows), N != M both ways, GQA, a
//    BNHD layout (strides), scores that force the lazy rescale, and a
//    warpgroup that skips fully masked tiles while the other one computes;
//  - sm90a/*.cu, the emitter's flash3 output for the example and benchmark
//    specs, generated at build time into the build tree (the schedules are
//    listed in CMakeLists.txt; absent from the runtime-only build, which has
//    no emitter): every variant of causal and plain MHA at d = 128 and
//    64 (1-3 warpgroups, key tiles 64-192, 2-3 stages, P V per slab),
//    softcap, ALiBi, sliding window, prefix-LM mask_mod, a KV-cache prefill
//    (N < M) and causal GQA; and the warp-specialized form (ws_*.cu: a
//    producer warpgroup, mbarrier-handed stages, ping-pong turns of 1-3
//    consumer warpgroups, optionally pipelined inside each warpgroup), whose
//    named barriers must balance at the end.
// Global accesses outside q, k, v, o abort the emulator; so do wgmma
// operands read before they landed or overwritten in flight, and
// accumulators touched while in flight.
//
//===----------------------------------------------------------------------===//
#define FLASHGEN_DEVICE_EMULATION_WGMMA "wgmma_emulation.h"
#include "kernel_prelude.h"
#include "kernels/attention_wgmma_causal_gqa.cu"
#ifdef FLASHGEN_EMITTED_KERNEL_DIR
#include "sm90a/alibi_causal.cu"
#include "sm90a/causal_gqa.cu"
#include "sm90a/kv_cache_causal.cu"
#include "sm90a/mha_d128.cu"
#include "sm90a/mha_d128_causal.cu"
#include "sm90a/mha_d64.cu"
#include "sm90a/mla_192_128.cu"
#include "sm90a/prefix_lm.cu"
#include "sm90a/sliding_window.cu"
#include "sm90a/softcap.cu"
#include "sm90a/ws_alibi_causal.cu"
#include "sm90a/ws_causal_gqa.cu"
#include "sm90a/ws_kv_cache_causal.cu"
#include "sm90a/ws_mha_d128.cu"
#include "sm90a/ws_mha_d128_causal.cu"
#include "sm90a/ws_mha_d64.cu"
#include "sm90a/ws_mla_192_128.cu"
#include "sm90a/ws_sliding_window.cu"
#include "sm90a/ws_softcap.cu"
#endif

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

struct Problem {
  int B, Hq, N, M;
  bool bnhd;
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

  {
    using namespace attn_fwd_wgmma_causal_gqa_k;
    emu::launch(emu::Dim3{unsigned((p.N + kTileQ - 1) / kTileQ), unsigned(p.Hq), unsigned(p.B)}, kThreads, kSmemBytes,
                attn_fwd_wgmma_causal_gqa, (const bf16*)q.mem.data(), q.sb, q.sh, q.sn, 1LL,
                (const bf16*)k.mem.data(), k.sb, k.sh, k.sn, 1LL, (const bf16*)v.mem.data(), v.sb, v.sh, v.sn, 1LL,
                o.mem.data(), o.sb, o.sh, o.sn, 1LL, p.B, p.N, p.M, scale_log2);
    emu_wgmma::check_and_reset();
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
          s[j] = acc * scale;
          mx = std::max(mx, s[j]);
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

class AttentionWgmmaTest : public EmuTest {};

TEST_F(AttentionWgmmaTest, CausalRaggedSquare) { run({1, 4, 200, 200, false}); }

// Three key tiles for the last query tile: the pipeline wraps its two stages.
TEST_F(AttentionWgmmaTest, CausalFewerQueriesThanKeysBnhd) { run({2, 4, 70, 300, true}); }

// Bottom-right alignment: the first N - M = 255 query rows see no key (O = 0);
// whole warpgroups skip every tile.
TEST_F(AttentionWgmmaTest, CausalMoreQueriesThanKeys) { run({1, 4, 300, 45, false}); }

TEST_F(AttentionWgmmaTest, CausalGrowingScoresForceRescales) {
  Problem p{1, 4, 260, 260, false};
  p.q_sigma = 4.0f;
  p.growing_keys = true;
  run(p);
}

// ---- the emitter's flash3 kernels ------------------------------------------
#ifdef FLASHGEN_EMITTED_KERNEL_DIR

enum class Mask { kNone, kCausal, kWindow, kPrefix };
enum class Mod { kNone, kSoftcap, kAlibi };

/// One emitted kernel and the problem it solves: Hq query heads over Hk
/// key/value heads, the heads the kernel was emitted with (heads= in
/// CMakeLists.txt: fewer than the spec's, to keep the emulator fast).
struct Emitted {
  int d, Hq, Hk;
  Mask mask;
  Mod mod;
  int window = 0;
  bool growing_keys = false;  ///< key norms grow along the sequence (forces rescales of a nonzero O)
  int dv = 0;                 ///< value head dim; 0: d
  int value_dim() const { return dv ? dv : d; }
};

/// Tensor [B, H, S, d], contiguous (BHSD) or BNHD strides.
using TensorD = Tensor4<bf16>;

using Kernel2 = void (*)(const bf16*, long long, long long, long long, long long, const bf16*, long long, long long,
                         long long, long long, const bf16*, long long, long long, long long, long long, bf16*,
                         long long, long long, long long, long long, float*, long long, long long, long long, int, int);
using Kernel3 = void (*)(const bf16*, long long, long long, long long, long long, const bf16*, long long, long long,
                         long long, long long, const bf16*, long long, long long, long long, long long, bf16*,
                         long long, long long, long long, long long, float*, long long, long long, long long, int, int,
                         int);
/// The warp-specialized kernels (flash-warp-specialize, copies=tma) first take
/// the tensor maps of q, k and v; the emulator passes zero maps (no copy
/// engine), so their cp.async fallback is what runs here.
using Kernel2T = void (*)(fg::tensor_map, fg::tensor_map, fg::tensor_map, const bf16*, long long, long long,
                          long long, long long, const bf16*, long long, long long, long long, long long, const bf16*,
                          long long, long long, long long, long long, bf16*, long long, long long, long long,
                          long long, float*, long long, long long, long long, int, int);
using Kernel3T = void (*)(fg::tensor_map, fg::tensor_map, fg::tensor_map, const bf16*, long long, long long,
                          long long, long long, const bf16*, long long, long long, long long, long long, const bf16*,
                          long long, long long, long long, long long, bf16*, long long, long long, long long,
                          long long, float*, long long, long long, long long, int, int, int);

/// The grid an emitted kernel is launched with at sizes B, N, M (the
/// launch_grid its .cu defines: what flash-print-cuda reported).
using LaunchGrid = void (*)(int, int, int, unsigned*);

/// Persistent kernels of causal specs claim their rounds' tiles from a
/// counter (tile_claims, one int and its stride) after lse.
using Kernel2TC = void (*)(fg::tensor_map, fg::tensor_map, fg::tensor_map, const bf16*, long long, long long,
                           long long, long long, const bf16*, long long, long long, long long, long long,
                           const bf16*, long long, long long, long long, long long, bf16*, long long, long long,
                           long long, long long, float*, long long, long long, long long, int*, long long, int,
                           int);
using Kernel3TC = void (*)(fg::tensor_map, fg::tensor_map, fg::tensor_map, const bf16*, long long, long long,
                           long long, long long, const bf16*, long long, long long, long long, long long,
                           const bf16*, long long, long long, long long, long long, bf16*, long long, long long,
                           long long, long long, float*, long long, long long, long long, int*, long long, int,
                           int, int);

/// Runs an emitted kernel (dims B, N[, M]) on its grid and compares with a
/// float64 reference.
template <class KernelT>
void run_emitted(KernelT kernel, LaunchGrid launch_grid, int threads, int smem, const Emitted& e, int B, int N,
                 int M, bool bnhd) {
  std::mt19937 rng(N * 131 + M * 7 + e.Hq + e.d);
  const int dv = e.value_dim();
  TensorD q(B, e.Hq, N, e.d, bnhd, false), k(B, e.Hk, M, e.d, bnhd, false), v(B, e.Hk, M, dv, bnhd, false);
  TensorD o(B, e.Hq, N, dv, bnhd, true);
  fill_normal_bf16(q.mem, rng, e.mod == Mod::kSoftcap || e.growing_keys ? 6.0f : 1.0f);
  fill_normal_bf16(k.mem, rng);
  fill_normal_bf16(v.mem, rng);
  if (e.growing_keys)
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < e.Hk; ++h)
        for (int j = 0; j < M; ++j)
          for (int x = 0; x < e.d; ++x)
            k.at(b, h, j, x) = bf16_from<bf16>(bf16_value(k.at(b, h, j, x)) * (1.0f + 0.02f * j));
  for (auto& x : o.mem.v) x.bits = 0x7fc1;
  // The rows' log-sum-exp [B, Hq, N], poisoned like o.
  std::vector<float> lse(size_t(B) * e.Hq * N, std::nanf(""));
  const long long lse_sh = N, lse_sb = (long long)e.Hq * N;
  unsigned extents[3];
  launch_grid(B, N, M, extents);
  const emu::Dim3 grid{extents[0], extents[1], extents[2]};
  const fg::tensor_map zero{};
  // The claims counter starts at zero, as the runtime's zero_init leaves it.
  DeviceVec<int> claims(1, true);
  claims[0] = 0;
  if constexpr (std::is_same<KernelT, Kernel2TC>::value)
    emu::launch(grid, threads, size_t(smem), kernel, zero, zero, zero, (const bf16*)q.mem.data(), q.sb, q.sh,
                q.sn, 1LL, (const bf16*)k.mem.data(), k.sb, k.sh, k.sn, 1LL, (const bf16*)v.mem.data(), v.sb, v.sh,
                v.sn, 1LL, o.mem.data(), o.sb, o.sh, o.sn, 1LL, lse.data(), lse_sb, lse_sh, 1LL, claims.data(), 1LL,
                B, N);
  else if constexpr (std::is_same<KernelT, Kernel3TC>::value)
    emu::launch(grid, threads, size_t(smem), kernel, zero, zero, zero, (const bf16*)q.mem.data(), q.sb, q.sh,
                q.sn, 1LL, (const bf16*)k.mem.data(), k.sb, k.sh, k.sn, 1LL, (const bf16*)v.mem.data(), v.sb, v.sh,
                v.sn, 1LL, o.mem.data(), o.sb, o.sh, o.sn, 1LL, lse.data(), lse_sb, lse_sh, 1LL, claims.data(), 1LL,
                B, N, M);
  else if constexpr (std::is_same<KernelT, Kernel3T>::value)
    emu::launch(grid, threads, size_t(smem), kernel, zero, zero, zero, (const bf16*)q.mem.data(), q.sb, q.sh,
                q.sn, 1LL, (const bf16*)k.mem.data(), k.sb, k.sh, k.sn, 1LL, (const bf16*)v.mem.data(), v.sb, v.sh,
                v.sn, 1LL, o.mem.data(), o.sb, o.sh, o.sn, 1LL, lse.data(), lse_sb, lse_sh, 1LL, B, N, M);
  else if constexpr (std::is_same<KernelT, Kernel2T>::value)
    emu::launch(grid, threads, size_t(smem), kernel, zero, zero, zero, (const bf16*)q.mem.data(), q.sb, q.sh,
                q.sn, 1LL, (const bf16*)k.mem.data(), k.sb, k.sh, k.sn, 1LL, (const bf16*)v.mem.data(), v.sb, v.sh,
                v.sn, 1LL, o.mem.data(), o.sb, o.sh, o.sn, 1LL, lse.data(), lse_sb, lse_sh, 1LL, B, N);
  else if constexpr (std::is_same<KernelT, Kernel3>::value)
    emu::launch(grid, threads, size_t(smem), kernel, (const bf16*)q.mem.data(), q.sb, q.sh, q.sn, 1LL,
                (const bf16*)k.mem.data(), k.sb, k.sh, k.sn, 1LL, (const bf16*)v.mem.data(), v.sb, v.sh, v.sn, 1LL,
                o.mem.data(), o.sb, o.sh, o.sn, 1LL, lse.data(), lse_sb, lse_sh, 1LL, B, N, M);
  else
    emu::launch(grid, threads, size_t(smem), kernel, (const bf16*)q.mem.data(), q.sb, q.sh, q.sn, 1LL,
                (const bf16*)k.mem.data(), k.sb, k.sh, k.sn, 1LL, (const bf16*)v.mem.data(), v.sb, v.sh, v.sn, 1LL,
                o.mem.data(), o.sb, o.sh, o.sn, 1LL, lse.data(), lse_sb, lse_sh, 1LL, B, N);
  emu_wgmma::check_and_reset();

  const double scale = 1.0 / std::sqrt(double(e.d));
  const int diag = M - N;
  int bad = 0;
  double max_err = 0;
  std::vector<double> s(M);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < e.Hq; ++h)
      for (int i = 0; i < N; ++i) {
        const int hk = h / (e.Hq / e.Hk);
        double mx = -INFINITY;
        for (int j = 0; j < M; ++j) {
          bool keep = true;
          if (e.mask == Mask::kCausal) keep = j <= i + diag;
          if (e.mask == Mask::kWindow) keep = j <= i + diag && i + diag - j < e.window;
          if (e.mask == Mask::kPrefix) keep = j < 256 || j <= i;
          if (!keep) {
            s[j] = -INFINITY;
            continue;
          }
          double acc = 0;
          for (int x = 0; x < e.d; ++x) acc += double(bf16_value(q.at(b, h, i, x))) * bf16_value(k.at(b, hk, j, x));
          acc *= scale;
          if (e.mod == Mod::kSoftcap) acc = 30.0 * std::tanh(acc / 30.0);
          if (e.mod == Mod::kAlibi) acc += std::exp2(-0.5 * (h + 1)) * double(j - i);
          s[j] = acc;
          mx = std::max(mx, acc);
        }
        double l = 0;
        for (int j = 0; j < M; ++j) {
          s[j] = std::isinf(s[j]) ? 0.0 : std::exp(s[j] - mx);
          l += s[j];
        }
        const double lse_ref = l > 0 ? mx + std::log(l) : -INFINITY;
        const double lse_got = lse[size_t(b) * lse_sb + size_t(h) * lse_sh + i];
        if (!(lse_got == lse_ref || std::fabs(lse_got - lse_ref) <= 1e-4 * (1.0 + std::fabs(lse_ref))) &&
            bad++ < 5)
          ADD_FAILURE() << "lse[" << b << "][" << h << "][" << i << "] = " << lse_got << ", want " << lse_ref;
        for (int x = 0; x < dv; ++x) {
          double acc = 0;
          for (int j = 0; j < M; ++j) acc += s[j] * bf16_value(v.at(b, hk, j, x));
          const double ref = l > 0 ? acc / l : 0.0;
          const double got = bf16_value(o.at(b, h, i, x));
          const double err = std::fabs(got - ref);
          max_err = std::max(max_err, std::isnan(err) ? INFINITY : err);
          if (!(err <= 1e-2 + 1e-2 * std::fabs(ref)) && bad++ < 5)
            ADD_FAILURE() << "o[" << b << "][" << h << "][" << i << "][" << x << "] = " << got << ", want " << ref;
        }
      }
  EXPECT_EQ(bad, 0) << "max error " << max_err;
}

#define RUN_EMITTED(KT, NAME, ...)                                                                                  \
  run_emitted<KT>(flashgen_##NAME, NAME##_k::launch_grid, NAME##_k::kThreads, NAME##_k::kSmemBytes, __VA_ARGS__)

const Emitted kMhaD128Causal{128, 2, 2, Mask::kCausal, Mod::kNone};
const Emitted kMhaD128{128, 2, 2, Mask::kNone, Mod::kNone};
const Emitted kMhaD64{64, 2, 2, Mask::kNone, Mod::kNone};
// ALiBi + causal: the lane's bias joins the softmax's row maxima
// (codegen/attention/PositionBias.h) and the key tiles run from the
// diagonal back; 3 heads of different slopes, ragged N, the diagonal tiles
// masked before the bias.
const Emitted kAlibi{128, 3, 3, Mask::kCausal, Mod::kAlibi};

TEST_F(AttentionWgmmaTest, EmittedCausalD128) { RUN_EMITTED(Kernel2, mha_d128_causal_v0, kMhaD128Causal, 1, 200, 200, false); }
TEST_F(AttentionWgmmaTest, EmittedCausalD128PvPerSlab) {
  RUN_EMITTED(Kernel2, mha_d128_causal_v1, kMhaD128Causal, 1, 200, 200, true);
}
TEST_F(AttentionWgmmaTest, EmittedCausalD128ThreeWarpgroups) {
  RUN_EMITTED(Kernel2, mha_d128_causal_v2, kMhaD128Causal, 1, 250, 250, false);
}
TEST_F(AttentionWgmmaTest, EmittedCausalD128ThreeStages) {
  RUN_EMITTED(Kernel2, mha_d128_causal_v3, kMhaD128Causal, 1, 300, 300, false);
}
TEST_F(AttentionWgmmaTest, EmittedD128) { RUN_EMITTED(Kernel2, mha_d128_v0, kMhaD128, 1, 300, 300, false); }
TEST_F(AttentionWgmmaTest, EmittedD128KeyTile176) { RUN_EMITTED(Kernel2, mha_d128_v1, kMhaD128, 1, 300, 300, false); }
TEST_F(AttentionWgmmaTest, EmittedD64) { RUN_EMITTED(Kernel2, mha_d64_v0, kMhaD64, 1, 200, 200, false); }
TEST_F(AttentionWgmmaTest, EmittedD64ThreeWarpgroups) { RUN_EMITTED(Kernel2, mha_d64_v1, kMhaD64, 1, 200, 200, false); }
TEST_F(AttentionWgmmaTest, EmittedD64KeyTile192) { RUN_EMITTED(Kernel2, mha_d64_v2, kMhaD64, 1, 200, 200, false); }
TEST_F(AttentionWgmmaTest, EmittedSoftcap) {
  RUN_EMITTED(Kernel2, softcap_v0, (Emitted{128, 2, 2, Mask::kNone, Mod::kSoftcap}), 1, 150, 150, false);
}
TEST_F(AttentionWgmmaTest, EmittedAlibiCausal) {
  RUN_EMITTED(Kernel2, alibi_causal_v0, kAlibi, 1, 180, 180, false);
}
TEST_F(AttentionWgmmaTest, EmittedSlidingWindow) {
  RUN_EMITTED(Kernel2, sliding_window_v0, (Emitted{128, 1, 1, Mask::kWindow, Mod::kNone, 256}), 1, 420, 420,
              false);
}
TEST_F(AttentionWgmmaTest, EmittedPrefixLmMaskMod) {
  RUN_EMITTED(Kernel2, prefix_lm_v0, (Emitted{128, 1, 1, Mask::kPrefix, Mod::kNone}), 1, 300, 300, false);
}
TEST_F(AttentionWgmmaTest, EmittedKvCachePrefill) {
  RUN_EMITTED(Kernel3, kv_cache_causal_v0, (Emitted{128, 8, 1, Mask::kCausal, Mod::kNone}), 1, 100, 300, true);
}
TEST_F(AttentionWgmmaTest, EmittedCausalGqaKeyTile176PvPerSlab) {
  RUN_EMITTED(Kernel2, causal_gqa_v0, (Emitted{128, 8, 2, Mask::kCausal, Mod::kNone}), 1, 200, 200, false);
}

// Warp-specialized (producer warpgroup) flash3 kernels.
TEST_F(AttentionWgmmaTest, EmittedWsCausalD128) {
  RUN_EMITTED(Kernel2T, ws_mha_d128_causal_v0, kMhaD128Causal, 1, 300, 300, false);
}
TEST_F(AttentionWgmmaTest, EmittedWsCausalD128ThreeStagesPvPerSlab) {
  RUN_EMITTED(Kernel2T, ws_mha_d128_causal_v1, kMhaD128Causal, 1, 300, 300, true);
}
TEST_F(AttentionWgmmaTest, EmittedWsCausalD128OneConsumer) {
  RUN_EMITTED(Kernel2T, ws_mha_d128_causal_v2, kMhaD128Causal, 1, 200, 200, false);
}
TEST_F(AttentionWgmmaTest, EmittedWsD128) { RUN_EMITTED(Kernel2T, ws_mha_d128_v0, kMhaD128, 1, 300, 300, false); }
TEST_F(AttentionWgmmaTest, EmittedWsD128KeyTile176) {
  RUN_EMITTED(Kernel2T, ws_mha_d128_v1, kMhaD128, 1, 400, 400, false);
}
TEST_F(AttentionWgmmaTest, EmittedWsD64) { RUN_EMITTED(Kernel2T, ws_mha_d64_v0, kMhaD64, 1, 300, 300, false); }
TEST_F(AttentionWgmmaTest, EmittedWsD64ThreeConsumers) {
  RUN_EMITTED(Kernel2T, ws_mha_d64_v1, kMhaD64, 1, 300, 300, false);
}
TEST_F(AttentionWgmmaTest, EmittedWsSoftcap) {
  RUN_EMITTED(Kernel2T, ws_softcap_v0, (Emitted{128, 2, 2, Mask::kNone, Mod::kSoftcap}), 1, 150, 150, false);
}
// ALiBi + causal (kAlibi) with a producer warpgroup, pipelined and in
// claimed persistent rounds.
TEST_F(AttentionWgmmaTest, EmittedWsAlibiCausal) { RUN_EMITTED(Kernel2T, ws_alibi_causal_v0, kAlibi, 1, 300, 300, false); }
TEST_F(AttentionWgmmaTest, EmittedWsPipelinedAlibiCausal) {
  RUN_EMITTED(Kernel2T, ws_alibi_causal_v1, kAlibi, 2, 250, 250, false);
}
TEST_F(AttentionWgmmaTest, EmittedWsClaimedAlibiCausalManyRounds) {
  RUN_EMITTED(Kernel2TC, ws_alibi_causal_v2, kAlibi, 2, 700, 700, true);
}
TEST_F(AttentionWgmmaTest, EmittedWsSlidingWindow) {
  RUN_EMITTED(Kernel2T, ws_sliding_window_v0, (Emitted{128, 1, 1, Mask::kWindow, Mod::kNone, 256}), 1, 420, 420,
              false);
}
TEST_F(AttentionWgmmaTest, EmittedWsKvCachePrefill) {
  RUN_EMITTED(Kernel3T, ws_kv_cache_causal_v0, (Emitted{128, 8, 1, Mask::kCausal, Mod::kNone}), 1, 100, 300, true);
}
// Rows with no visible key (N > M): CTAs whose key range is empty.
TEST_F(AttentionWgmmaTest, EmittedWsKvCacheMoreQueriesThanKeys) {
  RUN_EMITTED(Kernel3T, ws_kv_cache_causal_v0, (Emitted{128, 8, 1, Mask::kCausal, Mod::kNone}), 1, 300, 45, false);
}
TEST_F(AttentionWgmmaTest, EmittedWsCausalGqaKeyTile176PvPerSlab) {
  RUN_EMITTED(Kernel2T, ws_causal_gqa_v0, (Emitted{128, 8, 2, Mask::kCausal, Mod::kNone}), 1, 200, 200, false);
}

// D != Dv (MLA's prefill, 192 / 128): Q K^T over three 64-column slabs, O
// at 128 columns stored through the wider Q tile; every thread loading, a
// producer warpgroup, and claimed persistent rounds.
const Emitted kMla192{192, 2, 2, Mask::kCausal, Mod::kNone, 0, false, 128};
TEST_F(AttentionWgmmaTest, EmittedMlaCausal192By128) {
  RUN_EMITTED(Kernel2, mla_192_128_v0, kMla192, 1, 200, 200, false);
}
TEST_F(AttentionWgmmaTest, EmittedWsMlaCausal192By128) {
  RUN_EMITTED(Kernel2T, ws_mla_192_128_v0, kMla192, 1, 300, 300, true);
}
TEST_F(AttentionWgmmaTest, EmittedWsClaimedMlaCausal192By128) {
  RUN_EMITTED(Kernel2TC, ws_mla_192_128_v1, kMla192, 2, 250, 250, false);
}

// Persistent under a causal mask: one CTA per SM (here fewer, the grid is
// min(tiles, num_sms), 132 SMs emulated) claims query tiles from a counter until none are left;
// tiles of unequal cost, several rounds per CTA when tiles outnumber SMs.
TEST_F(AttentionWgmmaTest, EmittedWsClaimedCausalD128) {
  RUN_EMITTED(Kernel2TC, ws_mha_d128_causal_v4, kMhaD128Causal, 1, 300, 300, false);
}
TEST_F(AttentionWgmmaTest, EmittedWsClaimedCausalOneConsumerManyRounds) {
  // 2 sequences x 2 heads x 11 query tiles of 64 = 44 tiles.
  RUN_EMITTED(Kernel2TC, ws_mha_d128_causal_v5, kMhaD128Causal, 2, 700, 700, true);
}
TEST_F(AttentionWgmmaTest, EmittedWsClaimedKvCachePrefill) {
  RUN_EMITTED(Kernel3TC, ws_kv_cache_causal_v2, (Emitted{128, 8, 1, Mask::kCausal, Mod::kNone}), 1, 100, 300, true);
}

// Pipelined inside the warpgroup too (inner_q = 1): the softmax overlaps the
// warpgroup's own P V; the O rescale waits for it.
TEST_F(AttentionWgmmaTest, EmittedWsPipelinedCausalD128) {
  RUN_EMITTED(Kernel2T, ws_mha_d128_causal_v3, kMhaD128Causal, 1, 300, 300, false);
}
TEST_F(AttentionWgmmaTest, EmittedWsPipelinedGrowingScoresDeferRescales) {
  RUN_EMITTED(Kernel2T, ws_mha_d128_v2, (Emitted{128, 2, 2, Mask::kNone, Mod::kNone, 0, true}), 1, 500, 500, false);
}
TEST_F(AttentionWgmmaTest, EmittedWsGrowingScoresRescales) {
  RUN_EMITTED(Kernel2T, ws_mha_d128_v0, (Emitted{128, 2, 2, Mask::kNone, Mod::kNone, 0, true}), 1, 500, 500, false);
}
TEST_F(AttentionWgmmaTest, EmittedWsPipelinedD128KeyTile176) {
  RUN_EMITTED(Kernel2T, ws_mha_d128_v2, kMhaD128, 1, 400, 400, false);
}
TEST_F(AttentionWgmmaTest, EmittedWsPipelinedD64ThreeConsumers) {
  RUN_EMITTED(Kernel2T, ws_mha_d64_v2, kMhaD64, 1, 300, 300, false);
}
TEST_F(AttentionWgmmaTest, EmittedWsPipelinedSoftcap) {
  RUN_EMITTED(Kernel2T, ws_softcap_v1, (Emitted{128, 2, 2, Mask::kNone, Mod::kSoftcap}), 1, 300, 300, false);
}
TEST_F(AttentionWgmmaTest, EmittedWsPipelinedSlidingWindow) {
  RUN_EMITTED(Kernel2T, ws_sliding_window_v1, (Emitted{128, 1, 1, Mask::kWindow, Mod::kNone, 256}), 1, 420, 420,
              false);
}
TEST_F(AttentionWgmmaTest, EmittedWsPipelinedKvCacheThreeStages) {
  RUN_EMITTED(Kernel3T, ws_kv_cache_causal_v1, (Emitted{128, 8, 1, Mask::kCausal, Mod::kNone}), 1, 100, 500, true);
}
TEST_F(AttentionWgmmaTest, EmittedWsPipelinedCausalGqaPvPerSlab) {
  RUN_EMITTED(Kernel2T, ws_causal_gqa_v1, (Emitted{128, 8, 2, Mask::kCausal, Mod::kNone}), 1, 200, 200, false);
}

#endif  // FLASHGEN_EMITTED_KERNEL_DIR

}  // namespace
