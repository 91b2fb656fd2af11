//===- RotaryEmuTest.cpp - rotary embedding's kernels on the emulator ------===//
//
// The kernels the compiler writes for attention with rotary position
// embedding (docs/semantics.md §2.12; generated at build time, never
// committed: test/unit/device/CMakeLists.txt) on the host emulator against
// reference/'s float64 rotation and attention:
//   - examples/rope_attention.mlir (half pairs over all 128 dims, one table
//     for the batch) as flash3 kernels: every thread rotating the landed
//     tiles, and a producer warpgroup rotating each Q and K tile in its
//     slot before it hands it on (also persistent, with claimed rounds);
//     and with the key pre-pass (rotary_prepass): a first kernel rotates K,
//     read through strides of a [B, M, Hkv, D] layout, into the contiguous
//     workspace copy the attention kernel reads in k's place, which then
//     rotates only its Q tiles;
//   - kernels/rope_partial_gqa.mlir (interleaved pairs over the first 32 of
//     64 dims, one table per sequence) as flash_decode's packed rows (a
//     row's position is its token's) and flash2's tiles, N < M (query i at
//     position i + M - N), the tables also as a strided view (read a word
//     at a time), and the gradient through the rotation (flash2_grad's
//     kernels on q and k rotated into copies, dq and dk turned back in
//     place) against the float64 gradients on the rotated inputs turned
//     back by the inverse rotation.
// The tables hold real cos and sin, of positions past any used (a clamp
// would show); q and k are random, o and lse poisoned with NaN.
//
//===----------------------------------------------------------------------===//
#define FLASHGEN_DEVICE_EMULATION_WGMMA "wgmma_emulation.h"

#include "kernel_prelude.h"
#include "sm90a/rope_attention.cu"
#include "sm90a/ws_rope_attention.cu"
#include "sm90a/prepass_rope_attention.cu"
#ifdef FLASHGEN_EMITTED_KERNEL_DIR
#include "decode/decode_rope.cu"
#include "flash2/flash2_rope.cu"
#include "grad/grad_rope.cu"
#endif

#include "emitted_attention.h"
#include "reference_tensors.h"

#include "reference/Attention.h"
#include "reference/AttentionGrad.h"
#include "reference/Inputs.h"
#include "reference/Rotary.h"

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

namespace {

using namespace emu_test;
namespace ref = flashgen::reference;
using LL = long long;

/// f32 tables as device memory: [P, R/2] or [B, P, R/2], contiguous.
struct Tables {
  ref::RotaryEmbedding embedding;
  DeviceVec<float> cos, sin;
  explicit Tables(ref::RotaryEmbedding e)
      : embedding(std::move(e)), cos(embedding.cos.values().size(), false),
        sin(embedding.sin.values().size(), false) {
    // The kernels read f32: the reference uses the same rounded values.
    for (size_t i = 0; i < cos.size(); ++i) {
      cos[i] = float(embedding.cos.values()[i]);
      sin[i] = float(embedding.sin.values()[i]);
      embedding.cos.data()[i] = cos[i];
      embedding.sin.data()[i] = sin[i];
    }
  }
  LL half() const { return embedding.cos.dim(embedding.cos.rank() - 1); }
  LL positions() const { return embedding.cos.dim(embedding.cos.rank() - 2); }
};

/// The reference of a causal attention whose q and k the kernels rotate:
/// the inputs turned at their positions and rounded to bf16 as the
/// kernels' tiles hold them, then attention.
/// q and k turned at their positions (query i at i + M - N, key j at j)
/// and rounded to bf16, as the kernels' tiles and copies hold them.
std::pair<ref::Tensor<double>, ref::Tensor<double>> rotatedInputs(const Tables& tables, Bf16Tensor& q,
                                                                  Bf16Tensor& k) {
  const int B = q.B, N = q.S, M = k.S;
  ref::Tensor<double> qr = ref::applyRotary(tables.embedding, q.values(), std::vector<int64_t>(B, M - N));
  ref::Tensor<double> kr = ref::applyRotary(tables.embedding, k.values(), std::vector<int64_t>(B, 0));
  ref::applyRounding(qr, ref::Rounding::Bf16);
  ref::applyRounding(kr, ref::Rounding::Bf16);
  return {std::move(qr), std::move(kr)};
}

/// The specs' attention: causal, bottom-right aligned.
ref::AttentionProblem causal() {
  ref::AttentionProblem problem;
  problem.mask = ref::MaskKind::Causal;
  return problem;
}

/// Causal attention on those inputs.
ref::AttentionResult causalOf(const ref::Tensor<double>& q, const ref::Tensor<double>& k,
                              const ref::Tensor<double>& v) {
  return ref::referenceAttention(causal(), q, k, v);
}

ref::AttentionResult rotatedReference(const Tables& tables, Bf16Tensor& q, Bf16Tensor& k, Bf16Tensor& v) {
  auto [qr, kr] = rotatedInputs(tables, q, k);
  return causalOf(qr, kr, v.values());
}

void expectClose(Bf16Tensor& o, const std::vector<float>& lse, const ref::AttentionResult& want,
                 const char* what) {
  expectAttentionClose(o, lse, want.out, want.logSumExp, "rotary-emu", what);
}

/// Random inputs of unit scale.
void fill(std::mt19937& rng, Bf16Tensor& q, Bf16Tensor& k, Bf16Tensor& v) {
  fill_normal_bf16(q.mem, rng, 1.0f);
  fill_normal_bf16(k.mem, rng, 1.0f);
  fill_normal_bf16(v.mem, rng);
}

// ---- flash3: examples/rope_attention.mlir, 4 query heads over 2 kv heads ----

constexpr int kHq = 4, kHk = 2, kD = 128;

/// `rotate` (a rotary_prepass schedule's first kernel, or null): launched
/// first over K in a [B, N, Hkv, D] layout, writing the contiguous copy that
/// the attention kernel then reads as k (poisoned first: a row it left
/// unwritten shows).
template <bool kMaps, bool kClaims, class KernelT, class RotateT = std::nullptr_t>
void runFlash3(KernelT kernel, void (*launch_grid)(int, int, int, unsigned*), int threads, int smem, int B,
               int N, const char* what, RotateT rotate = nullptr, int rotateThreads = 0) {
  std::mt19937 rng(N * 17 + B);
  Bf16Tensor q(B, kHq, N, kD, false), k(B, kHk, N, kD, false), v(B, kHk, N, kD, false), o(B, kHq, N, kD, true);
  fill(rng, q, k, v);
  o.poison();
  // [N + 5, 64]: a few positions past the last key.
  Tables tables(ref::rotaryTables(ref::RotaryStyle::Half, N + 5, kD, 10000.0));
  std::vector<float> lse(size_t(B) * kHq * N, std::nanf(""));
  unsigned extents[3];
  launch_grid(B, N, N, extents);
  DeviceVec<int> claims(1, true);
  claims[0] = 0;
  // The launch helper takes Tensor4s (BHSD): copies of the same data.
  Tensor4<fg::bf16> q4(B, kHq, N, kD, false, false), k4(B, kHk, N, kD, false, false),
      v4(B, kHk, N, kD, false, false), o4(B, kHq, N, kD, false, true);
  q4.mem.v = q.mem.v;
  k4.mem.v = k.mem.v;
  v4.mem.v = v.mem.v;
  if constexpr (!std::is_same_v<RotateT, std::nullptr_t>) {
    Tensor4<fg::bf16> strided(B, kHk, N, kD, /*bnhd=*/true, false);
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < kHk; ++h)
        for (int s = 0; s < N; ++s)
          for (int x = 0; x < kD; ++x) strided.at(b, h, s, x) = k4.at(b, h, s, x);
    Tensor4<fg::bf16> copy(B, kHk, N, kD, false, true);
    for (auto& x : copy.mem.v) x.bits = 0x7fc0;  // NaN
    const unsigned keyTiles = unsigned((N + 63) / 64);
    emu::launch(emu::Dim3{keyTiles, unsigned(kHk), unsigned(B)}, rotateThreads, 0, rotate,
                (const fg::bf16*)strided.mem.data(), strided.sb, strided.sh, strided.sn, 1LL, copy.mem.data(), copy.sb,
                copy.sh, copy.sn, 1LL, (const float*)tables.cos.data(), tables.half(), 1LL,
                (const float*)tables.sin.data(), tables.half(), 1LL, B, N);
    k4.mem.v = copy.mem.v;
  }
  launch_emitted_attention<kMaps, kClaims>(emu::Dim3{extents[0], extents[1], extents[2]}, threads, smem, kernel,
                                           q4, k4, v4, o4, lse.data(), LL(kHq) * N, LL(N), claims.data(),
                                           (const float*)tables.cos.data(), tables.half(), 1LL,
                                           (const float*)tables.sin.data(), tables.half(), 1LL, B, N);
  emu_wgmma::check_and_reset();
  o.mem.v = o4.mem.v;
  expectClose(o, lse, rotatedReference(tables, q, k, v), what);
}

#define RUN_FLASH3(NAME, MAPS, CLAIMS, B, N)                                                               \
  runFlash3<MAPS, CLAIMS>(flashgen_##NAME, NAME##_k::launch_grid, NAME##_k::kThreads, NAME##_k::kSmemBytes, \
                          B, N, #NAME)

#define RUN_PREPASS(NAME, MAPS, CLAIMS, B, N)                                                               \
  runFlash3<MAPS, CLAIMS>(flashgen_##NAME, NAME##_k::launch_grid, NAME##_k::kThreads, NAME##_k::kSmemBytes,  \
                          B, N, #NAME, flashgen_##NAME##_rotate_keys, NAME##_rotate_keys_k::kThreads)

using RotaryEmuTest = EmuTest;

TEST_F(RotaryEmuTest, Flash3EveryThreadRotates) { RUN_FLASH3(rope_attention_v0, false, false, 2, 200); }
TEST_F(RotaryEmuTest, Flash3ProducerRotates) { RUN_FLASH3(ws_rope_attention_v0, true, false, 1, 300); }
TEST_F(RotaryEmuTest, Flash3ProducerPersistentClaimedRounds) {
  RUN_FLASH3(ws_rope_attention_v1, true, true, 2, 150);
}
// Ragged N (a partial last 64-row tile of the pre-pass, a partial key tile).
TEST_F(RotaryEmuTest, KeyPrepassProducerRotatesQ) { RUN_PREPASS(prepass_rope_attention_v0, true, false, 1, 300); }
TEST_F(RotaryEmuTest, KeyPrepassProducerPersistentClaimedRounds) {
  RUN_PREPASS(prepass_rope_attention_v1, true, true, 2, 150);
}
TEST_F(RotaryEmuTest, KeyPrepassEveryThreadRotatesQ) { RUN_PREPASS(prepass_rope_attention_v2, false, false, 2, 200); }

#ifdef FLASHGEN_EMITTED_KERNEL_DIR
// ---- kernels/rope_partial_gqa.mlir: GQA 8/2, D = 64, R = 32 interleaved ----

constexpr int kPq = 8, kPk = 2, kPd = 64;

/// Per-sequence tables [B, M + 3, 16], sequence b's positions shifted by
/// 29 b (a cache that starts elsewhere): one table for the batch would
/// not pass.
Tables partialTables(int B, int M) {
  std::vector<int64_t> shift;
  for (int b = 0; b < B; ++b) shift.push_back(29 * b);
  return Tables(ref::rotaryTables(ref::RotaryStyle::Interleaved, M + 3, 32, 500.0, {}, B, shift));
}

#define FG_T4(x) x.mem.data(), x.s0(), x.s1(), x.s2(), 1LL
#define FG_TABLES(t)                                                                          \
  (const float*)t.cos.data(), t.positions() * t.half(), t.half(), 1LL, (const float*)t.sin.data(), \
      t.positions() * t.half(), t.half(), 1LL

/// A case of kernels/rope_partial_gqa.mlir: random q, k, v (seeded), o
/// poisoned, per-sequence tables.
struct PartialCase {
  std::mt19937 rng;
  Bf16Tensor q, k, v, o;
  Tables tables;
  PartialCase(int B, int N, int M, unsigned seed)
      : rng(seed), q(B, kPq, N, kPd, false), k(B, kPk, M, kPd, false), v(B, kPk, M, kPd, false),
        o(B, kPq, N, kPd, true), tables(partialTables(B, M)) {
    fill(rng, q, k, v);
    o.poison();
  }
};

void runDecode(int B, int N, int M, int splits) {
  PartialCase c(B, N, M, unsigned(N * 131 + M));
  Bf16Tensor &q = c.q, &k = c.k, &v = c.v, &o = c.o;
  Tables& tables = c.tables;
  DeviceVec<float> lse(size_t(B) * kPq * N, true);
  const int G = kPq / kPk, tileQ = decode_rope_v0_k::kTileQ;
  const int tiles = (G * N + tileQ - 1) / tileQ;
  const size_t rows = size_t(splits) * B * kPk * tiles * tileQ;
  DeviceVec<float> oSplit(rows * kPd, true), lseSplit(rows, true);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (auto* buf : {&lse, &oSplit, &lseSplit})
    for (auto& x : buf->v) x = nan;
  emu::launch(emu::Dim3{unsigned(splits * tiles), unsigned(kPk), unsigned(B)}, decode_rope_v0_k::kThreads,
              decode_rope_v0_k::kSmemBytes, flashgen_decode_rope_v0, FG_T4(q), FG_T4(k), FG_T4(v), FG_T4(o),
              lse.data(), LL(kPq) * N, LL(N), 1LL, oSplit.data(), LL(kPd), 1LL, lseSplit.data(), 1LL,
              FG_TABLES(tables), B, N, M, splits);
  emu::launch(emu::Dim3{unsigned(tiles), unsigned(kPk), unsigned(B)}, decode_rope_v0_merge_k::kThreads, 0,
              flashgen_decode_rope_v0_merge, FG_T4(o), lse.data(), LL(kPq) * N, LL(N), 1LL, oSplit.data(),
              LL(kPd), 1LL, lseSplit.data(), 1LL, B, N, M, splits);
  expectClose(o, lse.v, rotatedReference(tables, q, k, v), "flash_decode");
}

/// `transposed`: the tables passed as a view of [B, R/2, P] storage
/// (angle stride P, position stride 1), which the kernels read a word at
/// a time instead of 16 bytes.
void runFlash2(int B, int N, int M, bool transposed) {
  PartialCase c(B, N, M, unsigned(N * 7 + M));
  Bf16Tensor &q = c.q, &k = c.k, &v = c.v, &o = c.o;
  Tables& tables = c.tables;
  const LL P = tables.positions(), H = tables.half();
  DeviceVec<float> cosT(tables.cos.size(), false), sinT(tables.sin.size(), false);
  for (LL b = 0; b < B; ++b)
    for (LL p = 0; p < P; ++p)
      for (LL f = 0; f < H; ++f) {
        cosT[size_t((b * H + f) * P + p)] = tables.cos[size_t((b * P + p) * H + f)];
        sinT[size_t((b * H + f) * P + p)] = tables.sin[size_t((b * P + p) * H + f)];
      }
  DeviceVec<float> lseMem(size_t(B) * kPq * N, true);
  for (auto& x : lseMem.v) x = std::nanf("");
  const int tileQ = flash2_rope_v0_k::kTileQ;
  const unsigned grid = unsigned((N + tileQ - 1) / tileQ * kPq * B);
  if (transposed)
    emu::launch(emu::Dim3{grid, 1, 1}, flash2_rope_v0_k::kThreads, flash2_rope_v0_k::kSmemBytes,
                flashgen_flash2_rope_v0, FG_T4(q), FG_T4(k), FG_T4(v), FG_T4(o), lseMem.data(), LL(kPq) * N,
                LL(N), 1LL, (const float*)cosT.data(), P * H, 1LL, P, (const float*)sinT.data(), P * H, 1LL, P, B,
                N, M);
  else
    emu::launch(emu::Dim3{grid, 1, 1}, flash2_rope_v0_k::kThreads, flash2_rope_v0_k::kSmemBytes,
                flashgen_flash2_rope_v0, FG_T4(q), FG_T4(k), FG_T4(v), FG_T4(o), lseMem.data(), LL(kPq) * N,
                LL(N), 1LL, FG_TABLES(tables), B, N, M);
  expectClose(o, lseMem.v, rotatedReference(tables, q, k, v), "flash2");
}

/// The gradient through the rotation (grad/grad_rope: flash2_grad): q and
/// k rotated into copies, prep, kv (dq by f32 atomics) and convert on
/// them, dq and dk turned back in place. Against the float64 gradients of
/// attention on the rotated inputs (rounded to bf16 as the copies hold
/// them), dq and dk turned back by the inverse rotation (sin negated).
void runGrad(int B, int N, int M) {
  PartialCase c(B, N, M, unsigned(N * 3 + M));
  Bf16Tensor &q = c.q, &k = c.k, &v = c.v;
  Tables& tables = c.tables;
  Bf16Tensor o(B, kPq, N, kPd, false), dout(B, kPq, N, kPd, false), dq(B, kPq, N, kPd, true),
      dk(B, kPk, M, kPd, true), dv(B, kPk, M, kPd, true), qRot(B, kPq, N, kPd, true), kRot(B, kPk, M, kPd, true);
  fill_normal_bf16(dout.mem, c.rng);
  auto [qr, kr] = rotatedInputs(tables, q, k);
  ref::AttentionResult fwd = causalOf(qr, kr, v.values());
  o.set(fwd.out);
  DeviceVec<float> lse(size_t(B) * kPq * N, false), delta(size_t(B) * kPq * N, true),
      accum(size_t(B) * kPq * N * kPd, true);
  ref::Tensor<double> lseRef = fwd.logSumExp;
  for (size_t i = 0; i < lse.size(); ++i) lseRef.values()[i] = lse[i] = float(lseRef.values()[i]);
  ref::AttentionGradResult want =
      ref::attentionGradGivenForward(causal(), {}, qr, kr, v.values(), o.values(), lseRef, dout.values());
  ref::RotaryEmbedding inverse = tables.embedding;
  for (double& s : inverse.sin.values()) s = -s;
  ref::Tensor<double> wantDq = ref::applyRotary(inverse, want.dq, std::vector<int64_t>(B, M - N));
  ref::Tensor<double> wantDk = ref::applyRotary(inverse, want.dk, std::vector<int64_t>(B, 0));

  for (Bf16Tensor* out : {&dq, &dk, &dv, &qRot, &kRot}) out->poison();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (auto* buf : {&delta, &accum})
    for (auto& x : buf->v) x = nan;
  auto tiles = [](int rows, int tile) { return unsigned((rows + tile - 1) / tile); };
  auto rotate = [&](auto kernel, int threads, Bf16Tensor& from, Bf16Tensor& to, int heads, int rows) {
    emu::launch(emu::Dim3{tiles(rows, 64), unsigned(heads), unsigned(B)}, threads, 0, kernel, FG_T4(from),
                FG_T4(to), FG_TABLES(tables), B, N, M);
  };
  auto turnBack = [&](auto kernel, int threads, Bf16Tensor& grad, int heads, int rows) {
    emu::launch(emu::Dim3{tiles(rows, 64), unsigned(heads), unsigned(B)}, threads, 0, kernel, FG_T4(grad),
                FG_TABLES(tables), B, N, M);
  };
  namespace kv = grad_rope_backward_v0_kv_k;
  rotate(flashgen_grad_rope_backward_v0_rotate_q, grad_rope_backward_v0_rotate_q_k::kThreads, q, qRot, kPq, N);
  rotate(flashgen_grad_rope_backward_v0_rotate_k, grad_rope_backward_v0_rotate_k_k::kThreads, k, kRot, kPk, M);
  const LL dS[3] = {LL(kPq) * N, LL(N), 1LL};
  const LL aS[4] = {LL(kPq) * N * kPd, LL(N) * kPd, LL(kPd), 1LL};
  emu::launch(emu::Dim3{tiles(N, kv::kTileQ), unsigned(kPq), unsigned(B)}, grad_rope_backward_v0_prep_k::kThreads,
              0, flashgen_grad_rope_backward_v0_prep, FG_T4(o), FG_T4(dout), delta.data(), dS[0], dS[1], dS[2],
              accum.data(), aS[0], aS[1], aS[2], aS[3], B, N, M);
  emu::launch(emu::Dim3{tiles(M, kv::kTileK), unsigned(kPk), unsigned(B)}, kv::kThreads, kv::kSmemBytes,
              flashgen_grad_rope_backward_v0_kv, FG_T4(qRot), FG_T4(kRot), FG_T4(v), FG_T4(dout), lse.data(), dS[0],
              dS[1], dS[2], FG_T4(dk), FG_T4(dv), delta.data(), dS[0], dS[1], dS[2], accum.data(), aS[0], aS[1],
              aS[2], aS[3], B, N, M);
  emu::launch(emu::Dim3{tiles(N, kv::kTileQ), unsigned(kPq), unsigned(B)},
              grad_rope_backward_v0_convert_k::kThreads, 0, flashgen_grad_rope_backward_v0_convert, FG_T4(dq),
              accum.data(), aS[0], aS[1], aS[2], aS[3], B, N, M);
  turnBack(flashgen_grad_rope_backward_v0_unrotate_dq, grad_rope_backward_v0_unrotate_dq_k::kThreads, dq, kPq, N);
  turnBack(flashgen_grad_rope_backward_v0_unrotate_dk, grad_rope_backward_v0_unrotate_dk_k::kThreads, dk, kPk, M);

  for (auto [name, got, expected] :
       {std::tuple<const char*, Bf16Tensor*, const ref::Tensor<double>*>{"dq", &dq, &wantDq},
        {"dk", &dk, &wantDk},
        {"dv", &dv, &want.dv}}) {
    size_t nans = 0;
    const double rel = relError(*got, *expected, nans);
    EXPECT_EQ(nans, 0u) << name << ": elements left unwritten (NaN)";
    EXPECT_LT(rel, 1e-2) << name;
    std::printf("[rotary-emu] gradient %s rel_err %.3e\n", name, rel);
  }
}

// One new token and four (causal among themselves), keys split 3 ways,
// ragged M; packed rows of 4 heads share a token's position.
TEST_F(RotaryEmuTest, DecodeOneTokenThreeSplits) { runDecode(2, 1, 300, 3); }
TEST_F(RotaryEmuTest, DecodeFourTokens) { runDecode(3, 4, 157, 2); }
// Query tiles of 32 rows, N < M: query i at position i + M - N.
TEST_F(RotaryEmuTest, Flash2RaggedQueriesBehindKeys) { runFlash2(2, 45, 77, false); }
TEST_F(RotaryEmuTest, Flash2TablesAsStridedViews) { runFlash2(2, 45, 77, true); }
// N < M, ragged: the rotation and its transpose at query i + M - N, key j.
TEST_F(RotaryEmuTest, GradientThroughTheRotation) { runGrad(2, 45, 77); }
#endif

}  // namespace
