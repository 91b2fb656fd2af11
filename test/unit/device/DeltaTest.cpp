//===- DeltaTest.cpp - chunk_delta.cuh on the host emulator --------------===//
//
// delta_wy then delta_correct (the chunk's WY factors through global
// memory, as delta_prepare hands them to delta_fused) against a float64
// solve of U~ = (I + A)^-1 diag(beta) (V - diag(Gamma) K S) from the same
// rounded inputs (bf16 K, V and state copy, f32 or bf16 beta, f32 hi/lo),
// itself checked against the delta rule's step form (docs/semantics.md
// §7.1, §7.3); delta_row_norms against the definition. One CTA of 4 warps over
// a chunk of L = 64 rows, as the kernels call them. The scratch buffers,
// the W and U buffers and the outputs start as NaN, and rows past `valid`
// hold garbage in global memory (and beta NaN), so a read of anything the
// functions must not read shows up.
//
//===----------------------------------------------------------------------===//
#include "kernel_prelude.h"

#include <cstdio>
#include <limits>

#include "flashgen/device/flashgen_device.cuh"
#include "flashgen/device/recurrence/chunk_delta.cuh"

#include "test_support.h"

namespace delta_test {

constexpr int kThreads = 128;
constexpr int kL = 64;

/// Byte offsets in dynamic shared memory: the tiles (k, v then U, the
/// state copy, W, T), then the f32 scratch (beta, A, T) and the gate pair.
template <int DK, int DV> struct Layout {
  using KTile = fg::smem_tile<fg::bf16, kL, DK>;
  using VTile = fg::smem_tile<fg::bf16, kL, DV>;
  using CTile = fg::smem_tile<fg::bf16, DK, DV>;
  using TTile = fg::smem_tile<fg::bf16, kL, kL>;
  static constexpr int k = 0, v = k + KTile::kBytes, c = v + VTile::kBytes, w = c + CTile::kBytes,
                       tt = w + KTile::kBytes, beta = tt + TTile::kBytes, a = beta + kL * 4,
                       t32 = a + kL * kL * 4, hi = t32 + kL * kL * 4, lo = hi + kL * 4, total = lo + kL * 4;
};

FG_DEVICE void land() {
  fg::cta::commit();
  fg::cta::wait<0>();
  fg::cta::sync();
}

/// out[r][j] = U~ of the chunk (k, v rows >= valid zero-filled by the load,
/// as a kernel stages a sequence's last chunk), row r times row_scale[2 r]
/// unless null (every other float, as delta_fused's [L][2] row norms).
/// hi == nullptr: no decay.
template <int DK, int DV, class BetaT>
__global__ void wy_correct_kernel(const fg::bf16* k, const fg::bf16* v, const fg::bf16* c, const BetaT* beta,
                                    long long beta_stride, const float* hi, const float* lo, int valid,
                                    const float* row_scale, fg::bf16* w_g, fg::bf16* u_g, float* out) {
  using L = Layout<DK, DV>;
  fg::u8* smem = fg::ptx::dynamic_smem();
  const fg::u32 base = fg::ptx::smem_addr(smem);
  const typename L::KTile sk{base + L::k};
  const typename L::VTile sv{base + L::v};
  const typename L::CTile sc{base + L::c};
  const typename L::KTile sw{base + L::w};
  const typename L::TTile tt{base + L::tt};
  float* s_beta = reinterpret_cast<float*>(smem + L::beta);
  float* s_a = reinterpret_cast<float*>(smem + L::a);
  float* s_t = reinterpret_cast<float*>(smem + L::t32);
  float* s_hi = reinterpret_cast<float*>(smem + L::hi);
  float* s_lo = reinterpret_cast<float*>(smem + L::lo);
  const int tid = fg::ptx::thread_id();
  fg::cta::load_async<kThreads>(sk, k, DK, valid);
  fg::cta::load_async<kThreads>(sv, v, DV, valid);
  fg::cta::load_async<kThreads>(sc, c, DV, DK);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int i = tid; i < kL; i += kThreads) s_beta[i] = nan;
  for (int i = tid; i < kL * kL; i += kThreads) s_a[i] = nan;
  for (int i = tid; i < kL * kL; i += kThreads) s_t[i] = nan;
  // The gates as a kernel holds them: in the chunk's gate buffer.
  for (int i = tid; i < kL; i += kThreads) {
    s_hi[i] = hi ? hi[i] : nan;
    s_lo[i] = hi ? lo[i] : nan;
  }
  land();
  fg::cta::delta_wy<kThreads>(sk, sv, tt, beta, beta_stride, valid, hi ? s_hi : nullptr, hi ? s_lo : nullptr,
                              s_beta, s_a, s_t, w_g, DK, u_g, DV);
  fg::cta::sync();
  // W and U come back as delta_fused stages them: rows past valid zero.
  fg::cta::load_async<kThreads>(sw, w_g, DK, valid);
  fg::cta::load_async<kThreads>(sv, u_g, DV, valid);
  land();
  fg::cta::delta_correct<kThreads>(sw, sv, sc, row_scale, 2);
  for (int i = tid; i < kL * DV; i += kThreads)
    out[i] = fg::chunk::load_elem(fg::chunk::elem_ptr(sv, i / DV, i % DV));
}

/// delta_row_norms over k (staged, 64 x D) and q (global): k_out = the
/// normalised k tile, norms = the [64][2] rows written to global memory.
template <int D>
__global__ void row_norms_kernel(const fg::bf16* q, const fg::bf16* k, int valid, float* k_out, float* norms) {
  using Tile = fg::smem_tile<fg::bf16, kL, D>;
  fg::u8* smem = fg::ptx::dynamic_smem();
  const Tile t{fg::ptx::smem_addr(smem)};
  float* s_norm = reinterpret_cast<float*>(smem + Tile::kBytes);
  fg::cta::load_async<kThreads>(t, k, D, valid);
  land();
  fg::cta::delta_row_norms<kThreads>(t, q, D, valid, s_norm, norms);
  for (int i = fg::ptx::thread_id(); i < kL * D; i += kThreads)
    k_out[i] = fg::chunk::load_elem(fg::chunk::elem_ptr(t, i / D, i % D));
}

}  // namespace delta_test

namespace {

using namespace emu_test;
using delta_test::kL;
using fg::bf16;

enum class Beta { kUniform, kZeroOne };

struct Options {
  bool decay = false;
  bool two_sum = false;  ///< hi/lo by TwoSum as chunk_gates.cuh; else hi = f32 cumsum, lo = 0
  int valid = kL;
  Beta beta = Beta::kUniform;
  bool unit_keys = false;  ///< l2-normalised k rows (then rounded); else N(0, 1/DK)
  bool row_scales = false;  ///< delta_correct scales row r by 0.25 + r / 16 (as 1/|k_r|)
  long long beta_stride = 1;
  unsigned seed = 1;
};

/// The inputs as the device reads them and as doubles (rows >= valid: zero
/// k, v and beta, as the kernel sees them).
struct Inputs {
  std::vector<double> k, v, s, beta, gamma_hi, gamma_lo;
};

/// U~ = (I + A)^-1 diag(beta) (V - diag(Gamma) K S) by forward
/// substitution, row by row, in double (docs/semantics.md §7.3).
std::vector<double> solve_reference(const Inputs& in, int dk, int dv) {
  auto gamma_diff = [&](int r, int s) {
    return (in.gamma_hi[r] - in.gamma_hi[s]) + (in.gamma_lo[r] - in.gamma_lo[s]);
  };
  std::vector<double> u(size_t(kL) * dv);
  for (int r = 0; r < kL; ++r) {
    const double gam = std::exp(in.gamma_hi[r] + in.gamma_lo[r]);
    for (int j = 0; j < dv; ++j) {
      double ks = 0;
      for (int d = 0; d < dk; ++d) ks += in.k[r * dk + d] * in.s[d * dv + j];
      u[r * dv + j] = in.beta[r] * (in.v[r * dv + j] - gam * ks);
    }
    for (int s = 0; s < r; ++s) {
      double kk = 0;
      for (int d = 0; d < dk; ++d) kk += in.k[r * dk + d] * in.k[s * dk + d];
      const double a = in.beta[r] * std::exp(gamma_diff(r, s)) * kk;
      for (int j = 0; j < dv; ++j) u[r * dv + j] -= a * u[s * dv + j];
    }
  }
  return u;
}

/// The values the step form writes: u_t = beta_t (v_t - alpha_t S_{t-1}^T
/// k_t), S_t = alpha_t S_{t-1} + k_t u_t^T (§7.1), from S_0 = the state copy.
std::vector<double> step_reference(const Inputs& in, int dk, int dv) {
  std::vector<double> st = in.s, u(size_t(kL) * dv);
  for (int t = 0; t < kL; ++t) {
    const double g_prev = t ? in.gamma_hi[t - 1] + in.gamma_lo[t - 1] : 0.0;
    const double alpha = std::exp((in.gamma_hi[t] + in.gamma_lo[t]) - g_prev);
    for (double& x : st) x *= alpha;
    for (int j = 0; j < dv; ++j) {
      double read = 0;
      for (int d = 0; d < dk; ++d) read += st[d * dv + j] * in.k[t * dk + d];
      u[t * dv + j] = in.beta[t] * (in.v[t * dv + j] - read);
    }
    for (int d = 0; d < dk; ++d)
      for (int j = 0; j < dv; ++j) st[d * dv + j] += in.k[t * dk + d] * u[t * dv + j];
  }
  return u;
}

template <class BetaT> BetaT beta_from(float x);
template <> float beta_from<float>(float x) { return x; }
template <> bf16 beta_from<bf16>(float x) { return bf16_from<bf16>(x); }
double beta_value(float x) { return x; }
double beta_value(bf16 x) { return bf16_value(x); }

/// Runs delta_wy and delta_correct on one chunk and returns max |U~ - U~_ref| / max |U~_ref|
/// after checking that nothing is NaN and rows >= valid are exactly 0.
template <int DK, int DV, class BetaT> double run_delta(const Options& o) {
  std::mt19937 rng(o.seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::uniform_real_distribution<double> ud(0.0, 1.0);
  const int valid = o.valid;
  DeviceVec<bf16> k(kL * DK, false), v(kL * DV, false), c(DK * DV, false);
  DeviceVec<BetaT> beta(size_t(kL) * o.beta_stride, false);
  DeviceVec<float> hi(kL, false), lo(kL, false), out(kL * DV, true);
  Inputs in;
  in.k.assign(kL * DK, 0.0);
  in.v.assign(kL * DV, 0.0);
  in.beta.assign(kL, 0.0);
  in.gamma_hi.assign(kL, 0.0);
  in.gamma_lo.assign(kL, 0.0);

  // Keys of norm about 1 (or exactly 1 before rounding): the regime the
  // delta rule runs in; the triangular system is then well conditioned.
  for (int r = 0; r < kL; ++r) {
    std::vector<double> row(DK);
    double nn = 0;
    for (double& x : row) {
      x = nd(rng) / std::sqrt(double(DK));
      nn += x * x;
    }
    for (int d = 0; d < DK; ++d) {
      const double x = o.unit_keys ? row[d] / std::sqrt(nn) : row[d];
      k[r * DK + d] = bf16_from<bf16>(r < valid ? float(x) : 7.0f);  // garbage past valid
      if (r < valid) in.k[r * DK + d] = bf16_value(k[r * DK + d]);
    }
  }
  for (int i = 0; i < kL * DV; ++i) {
    v[i] = bf16_from<bf16>(i / DV < valid ? float(nd(rng)) : -5.0f);
    if (i / DV < valid) in.v[i] = bf16_value(v[i]);
  }
  for (int i = 0; i < DK * DV; ++i) c[i] = bf16_from<bf16>(float(nd(rng)));
  in.s.resize(DK * DV);
  for (int i = 0; i < DK * DV; ++i) in.s[i] = bf16_value(c[i]);
  for (auto& b : beta.v) b = beta_from<BetaT>(std::numeric_limits<float>::quiet_NaN());
  for (int r = 0; r < valid; ++r) {
    float b = float(ud(rng));
    if (o.beta == Beta::kZeroOne) b = r % 3 == 0 ? 0.0f : r % 3 == 1 ? 1.0f : b;
    beta[r * o.beta_stride] = beta_from<BetaT>(b);
    in.beta[r] = beta_value(beta[r * o.beta_stride]);
  }
  // Cumulative log-decays of the chunk: per-step g in [-0.5, 0], 0 past
  // valid (chunk_gates.cuh's convention).
  float h = 0.0f, l = 0.0f;
  for (int r = 0; r < kL; ++r) {
    const float g = r < valid ? float(-0.5 * ud(rng)) : 0.0f;
    if (o.two_sum) {
      const float s = h + g, bv = s - h, err = (h - (s - bv)) + (g - bv);
      h = s;
      l += err;
    } else {
      h += g;
    }
    hi[r] = h;
    lo[r] = l;
    if (o.decay) {
      in.gamma_hi[r] = hi[r];
      in.gamma_lo[r] = lo[r];
    }
  }
  for (auto& x : out.v) x = std::numeric_limits<float>::quiet_NaN();

  std::vector<double> ref = solve_reference(in, DK, DV);
  // The reference is the step form's values (a check of the test itself).
  const std::vector<double> step = step_reference(in, DK, DV);
  double ref_max = 0, step_diff = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    ref_max = std::max(ref_max, std::fabs(ref[i]));
    step_diff = std::max(step_diff, std::fabs(ref[i] - step[i]));
  }
  EXPECT_LT(step_diff, 1e-10 * std::max(ref_max, 1.0)) << "reference solve != step form";
  EXPECT_GT(ref_max, 0.1);
  DeviceVec<float> row_scale(2 * kL, false);  // [L][2], the scale in column 0
  for (int r = 0; r < kL; ++r) {
    row_scale[2 * r] = 0.25f + float(r) / 16.0f;  // exact in f32
    row_scale[2 * r + 1] = std::numeric_limits<float>::quiet_NaN();
  }
  if (o.row_scales) {
    ref_max = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      ref[i] *= row_scale[2 * (i / DV)];
      ref_max = std::max(ref_max, std::fabs(ref[i]));
    }
  }

  using Lay = delta_test::Layout<DK, DV>;
  DeviceVec<bf16> w_g(kL * DK, true), u_g(kL * DV, true);
  for (auto& x : w_g.v) x.bits = 0x7fc1;  // NaN: rows delta_wy leaves unwritten
  for (auto& x : u_g.v) x.bits = 0x7fc1;
  emu::launch(emu::Dim3{1, 1, 1}, delta_test::kThreads, Lay::total, delta_test::wy_correct_kernel<DK, DV, BetaT>,
              k.data(), v.data(), c.data(), beta.data(), o.beta_stride, o.decay ? hi.data() : nullptr,
              o.decay ? lo.data() : nullptr, valid, o.row_scales ? row_scale.data() : nullptr, w_g.data(),
              u_g.data(), out.data());

  double err = 0;
  int nans = 0, nonzero_past_valid = 0;
  for (int r = 0; r < kL; ++r)
    for (int j = 0; j < DV; ++j) {
      const float got = out[r * DV + j];
      if (std::isnan(got)) {
        if (nans++ < 3) ADD_FAILURE() << "NaN at row " << r << ", column " << j;
        continue;
      }
      if (r >= valid && got != 0.0f && nonzero_past_valid++ < 3)
        ADD_FAILURE() << "row " << r << " >= valid = " << valid << " is " << got << " at column " << j;
      err = std::max(err, std::fabs(got - ref[r * DV + j]));
    }
  EXPECT_EQ(nans, 0);
  EXPECT_EQ(nonzero_past_valid, 0);
  const double rel = err / ref_max;
  std::printf("[delta] DK=%d DV=%d decay=%d two_sum=%d valid=%d beta=%s%s%s stride=%lld: max|U - ref| / max|ref| = "
              "%.3g (max|ref| = %.3g)\n",
              DK, DV, int(o.decay), int(o.two_sum), valid, o.beta == Beta::kZeroOne ? "{0,1,u}" : "u(0,1)",
              o.unit_keys ? " unit-keys" : "", o.row_scales ? " row-scales" : "", o.beta_stride, rel, ref_max);
  return rel;
}

/// bf16 output: up to 2^-8 relative rounding per element plus f32 error
/// through the solve (~2e-3 of max |U| measured); a wrong term of the
/// system is off by far more.
constexpr double kTol = 2e-2;

class DeltaTest : public EmuTest {};

TEST_F(DeltaTest, ValuesNoDecayDk64Dv64) {
  Options o;
  o.seed = 11;
  EXPECT_LT((run_delta<64, 64, float>(o)), kTol);
}

TEST_F(DeltaTest, ValuesDecayDk128Dv64) {
  Options o;
  o.decay = true;
  o.seed = 12;
  EXPECT_LT((run_delta<128, 64, float>(o)), kTol);
}

TEST_F(DeltaTest, ValuesDecayTwoSumDk64Dv32PartialChunk) {
  Options o;
  o.decay = true;
  o.two_sum = true;
  o.valid = 37;
  o.seed = 13;
  EXPECT_LT((run_delta<64, 32, float>(o)), kTol);
}

TEST_F(DeltaTest, ValuesNoDecayDk128Dv32PartialChunk) {
  Options o;
  o.valid = 37;
  o.seed = 14;
  EXPECT_LT((run_delta<128, 32, float>(o)), kTol);
}

TEST_F(DeltaTest, ValuesUnitKeysBetaZeroOne) {
  // |k| = 1 and beta = 1: the write replaces what the key read; beta = 0
  // rows write nothing (their U~ row is 0) and do not disturb later rows.
  Options o;
  o.decay = true;
  o.two_sum = true;
  o.beta = Beta::kZeroOne;
  o.unit_keys = true;
  o.seed = 15;
  EXPECT_LT((run_delta<128, 64, float>(o)), kTol);
  o.decay = false;
  o.valid = 37;
  o.seed = 16;
  EXPECT_LT((run_delta<64, 32, float>(o)), kTol);
}

TEST_F(DeltaTest, ValuesRowScaled) {
  // delta_fused's 1/|k_r| on the corrected rows (l2norm_qk as row scales).
  Options o;
  o.decay = true;
  o.two_sum = true;
  o.valid = 45;
  o.row_scales = true;
  o.seed = 18;
  EXPECT_LT((run_delta<128, 64, float>(o)), kTol);
}

TEST_F(DeltaTest, ValuesBf16BetaStrided) {
  // beta as a [T, H] view (stride H = 3), in bf16 like the other inputs.
  Options o;
  o.decay = true;
  o.two_sum = true;
  o.valid = 37;
  o.beta_stride = 3;
  o.seed = 17;
  EXPECT_LT((run_delta<64, 64, bf16>(o)), kTol);
}

/// delta_row_norms against the definition: 1/sqrt(|x|^2 + 1e-6) of every
/// q and k row below valid (0 past it) and the k rows normalised in place.
template <int D> void run_row_norms(int valid, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  DeviceVec<bf16> q(kL * D, false), k(kL * D, false);
  DeviceVec<float> k_out(kL * D, true), norms(2 * kL, true);
  for (int r = 0; r < kL; ++r) {
    const float scale = r % 5 == 0 ? 1e-2f : r % 5 == 1 ? 30.0f : 1.0f;  // norms far from 1 both ways
    for (int d = 0; d < D; ++d) {
      q[r * D + d] = bf16_from<bf16>(r % 7 == 3 ? 0.0f : scale * nd(rng));
      k[r * D + d] = bf16_from<bf16>(r % 11 == 4 ? 0.0f : nd(rng) / scale);
    }
  }
  for (auto& y : k_out.v) y = std::numeric_limits<float>::quiet_NaN();
  for (auto& y : norms.v) y = std::numeric_limits<float>::quiet_NaN();
  emu::launch(emu::Dim3{1, 1, 1}, delta_test::kThreads, kL * D * 2 + 2 * kL * 4, delta_test::row_norms_kernel<D>,
              q.data(), k.data(), valid, k_out.data(), norms.data());
  auto inv_norm = [&](DeviceVec<bf16>& x, int r) {
    double ss = 0;
    for (int d = 0; d < D; ++d) ss += double(bf16_value(x[r * D + d])) * bf16_value(x[r * D + d]);
    return 1.0 / std::sqrt(ss + 1e-6);  // 1000 for a zero row
  };
  double worst_scale = 0, worst_elem = 0;
  for (int r = 0; r < kL; ++r) {
    for (int j = 0; j < 2; ++j) {
      const float got = norms[2 * r + j];
      ASSERT_FALSE(std::isnan(got)) << "row " << r << ", column " << j;
      if (r >= valid) {
        EXPECT_EQ(got, 0.0f) << "row " << r << " past valid = " << valid;
        continue;
      }
      const double want = inv_norm(j == 0 ? q : k, r);
      worst_scale = std::max(worst_scale, std::fabs(got - want) / want);
    }
    const double inv = inv_norm(k, r);
    for (int d = 0; d < D; ++d) {
      const float got = k_out[r * D + d];
      ASSERT_FALSE(std::isnan(got)) << r << "," << d;
      // Rows past valid are zero-filled by the load and stay zero.
      const double want = r < valid ? bf16_value(k[r * D + d]) * inv : 0.0;
      // One bf16 rounding of an f32 value: half an ulp, at most 2^-8 relative.
      if (want == 0.0)
        EXPECT_EQ(got, 0.0f) << r << "," << d;
      else
        worst_elem = std::max(worst_elem, std::fabs(got - want) / std::fabs(want));
    }
  }
  std::printf("[row norms] D=%d valid=%d: max relative error of 1/|x| %.3g, of normalised k %.3g\n", D, valid,
              worst_scale, worst_elem);
  EXPECT_LT(worst_scale, 1e-5);  // f32 sums of squares and one reciprocal square root
  EXPECT_LE(worst_elem, 1.0 / 256 + 1e-5);
}

TEST_F(DeltaTest, RowNorms) {
  run_row_norms<128>(kL, 21);
  run_row_norms<128>(37, 22);  // a sequence's last chunk
  run_row_norms<64>(50, 23);
  run_row_norms<32>(kL, 24);  // 4 lanes a row, 8 rows a pass
}

}  // namespace
