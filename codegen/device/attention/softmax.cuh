//===- softmax.cuh - flashgen device library: online softmax -------------===//
//
// Streaming softmax over key tiles for the ROWS query rows of one warp, all in
// registers. Scores arrive raw (S = Q K^T after the emitter's score_mod and
// mask, masked = -inf) and are exponentiated in base 2 with one FFMA + EX2
// per element: p = 2^(s*c - m*c) with c = scale*log2(e) (or log2(e) alone
// when score_mod already applied the scale), m a reference row max of raw
// scores (c > 0 keeps the order) that moves lazily (online_softmax). The row
// sum stays a per-lane partial until finalize, so the loop spends shuffles
// on the max only.
// Rows that saw only -inf keep m = -inf: they use 0 as the offset, p = 0,
// and finalize writes 0 (never NaN) for them.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_SOFTMAX_CUH
#define FLASHGEN_DEVICE_SOFTMAX_CUH

#include "flashgen/device/attention/epilogue.cuh"
#include "flashgen/device/core/math.cuh"
#include "flashgen/device/matmul/fragment.cuh"

namespace fg {

/// Running max (raw score units) and this lane's partial sum, per row it holds.
template <int ROWS> struct softmax_state {
  row_vec<ROWS> m;  ///< running row max, same in all 4 lanes of a quad
  row_vec<ROWS> l;  ///< this lane's share of the row sum (quad-summed at the end)
};

/// The O rescale an online softmax step decided on, applied later
/// (warp::online_softmax_deferred, warp::apply_rescale).
template <int R> struct softmax_rescale {
  row_vec<R> alpha;
  bool any;
};

namespace warp {

/// 2^y for the e-th score of a lane's row: on the FMA pipe (ex2_fma) for one
/// in every EVERY of them, on the MUFU otherwise (EVERY = 0: always). e is a
/// constant once the row loop is unrolled, so the choice costs nothing.
template <int EVERY> FG_DEVICE float softmax_exp2(float y, int e) {
  if constexpr (EVERY > 0) {
    if (e % EVERY == EVERY - 1) return ex2_fma(y);
  }
  return ptx::ex2(y);
}

/// m = -inf, l = 0.
template <int R> FG_DEVICE void init(softmax_state<R>& st) {
  fill(st.m, ptx::neg_inf());
  fill(st.l, 0.0f);
}

/// The new row maxima of tile s over the reference st.m: with BIASED, the
/// lane's scores are s + lane_bias (flash.score_map's bias linear in the
/// positions, codegen/attention/PositionBias.h), the bias added once per row
/// before the quad reduces the lanes' maxima. -inf + bias stays -inf.
template <bool BIASED, int R, int N>
FG_DEVICE void biased_row_max(row_vec<R>& m_new, const acc_tile<R, N>& s, const softmax_state<R>& st,
                              float lane_bias) {
  if constexpr (!BIASED) {
    row_max(m_new, s, st.m);
  } else {
    FG_UNROLL
    for (int m = 0; m < acc_tile<R, N>::kMT; ++m)
      FG_UNROLL
      for (int h = 0; h < 2; ++h) {
        float x = ptx::neg_inf();
        FG_UNROLL
        for (int n = 0; n < acc_tile<R, N>::kNT; ++n) x = fmaxf(x, fmaxf(s.v[m][n][2 * h], s.v[m][n][2 * h + 1]));
        m_new.v[m][h] = quad_max(fmaxf(st.m.v[m][h], x + lane_bias));
      }
  }
}

/// Moves the reference maxima to m_new where one exceeds its reference by
/// more than kRescaleLog2 (whole warp at once, see online_softmax) and
/// returns whether it did; alpha[r] = 2^((m_old - m_new)*c) of the rows,
/// l rescaled by it.
template <int R>
FG_DEVICE bool move_reference(softmax_state<R>& st, const row_vec<R>& m_new, float c, row_vec<R>& alpha) {
  constexpr int MT = R / 16;
  constexpr float kRescaleLog2 = 8.0f;
  bool grow = false;
  FG_UNROLL
  for (int m = 0; m < MT; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h)  // -inf reference: grows on any finite max; NaN (both -inf) compares false
      grow |= (m_new.v[m][h] - st.m.v[m][h]) * c > kRescaleLog2;
  if (!ptx::vote_any(grow)) return false;
  FG_UNROLL
  for (int m = 0; m < MT; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const float mn = m_new.v[m][h];
      // A row with no finite score yet: offset 0, so exp2(-inf - 0) = 0, not NaN.
      alpha.v[m][h] = ptx::ex2(st.m.v[m][h] * c - (mn == ptx::neg_inf() ? 0.0f : mn * c));
      st.m.v[m][h] = mn;
      st.l.v[m][h] *= alpha.v[m][h];
    }
  return true;
}

/// s becomes p = 2^((s + lane_bias)*c - m*c) against the reference maxima;
/// l accumulates the row sums of p. BIASED false: no lane bias.
template <int EVERY, bool BIASED, int R, int N>
FG_DEVICE void exponentiate(softmax_state<R>& st, acc_tile<R, N>& s, float c, float lane_bias) {
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const float mr = st.m.v[m][h];
      float off = mr == ptx::neg_inf() ? 0.0f : mr * c;
      if constexpr (BIASED) off -= lane_bias * c;
      float sum = 0.0f;
      FG_UNROLL
      for (int n = 0; n < acc_tile<R, N>::kNT; ++n)
        FG_UNROLL
        for (int i = 0; i < 2; ++i) {
          float& x = s.v[m][n][2 * h + i];
          x = softmax_exp2<EVERY>(fmaf(x, c, -off), 2 * n + i);
          sum += x;
        }
      st.l.v[m][h] += sum;
    }
}

/// One key tile: s (raw scores, R x N) becomes p = 2^(s*c - m*c) in place,
/// m the row's reference max; l accumulates the row sums of p.
/// The reference moves up to the new row max only when that max exceeds it
/// by more than kRescaleLog2 (in log2 units, so p <= 2^kRescaleLog2): then,
/// for the whole warp at once, o and l are rescaled by 2^((m_old - m_new)*c).
/// Late tiles seldom raise a row max that much, so the O rescale (one FMUL
/// per accumulator) mostly disappears. The result is exact either way.
/// EVERY: one in every EVERY exponentials on the FMA pipe (softmax_exp2).
template <int EVERY = 0, int R, int N, int D>
FG_DEVICE void online_softmax(softmax_state<R>& st, acc_tile<R, N>& s, acc_tile<R, D>& o, float c) {
  row_vec<R> m_new, alpha;
  biased_row_max<false>(m_new, s, st, 0.0f);
  if (move_reference(st, m_new, c, alpha)) mul_rows(o, o, alpha);
  exponentiate<EVERY, false>(st, s, c, 0.0f);
}

/// online_softmax of the scores s + lane_bias, one number for every
/// element of the lane (PositionBias.h): the tile holds s, the bias joins
/// the row maxima and the exp2's offsets.
template <int EVERY = 0, int R, int N, int D>
FG_DEVICE void online_softmax(softmax_state<R>& st, acc_tile<R, N>& s, acc_tile<R, D>& o, float c,
                              float lane_bias) {
  row_vec<R> m_new, alpha;
  biased_row_max<true>(m_new, s, st, lane_bias);
  if (move_reference(st, m_new, c, alpha)) mul_rows(o, o, alpha);
  exponentiate<EVERY, true>(st, s, c, lane_bias);
}

/// online_softmax for when O cannot be touched yet (a tensor-core product
/// still writes it, flash.softmax_update deferred): s becomes p, m and l move
/// as there, and rs records the factor O must be multiplied by (rs.any
/// false: none) once that product completed. Same arithmetic step for step.
template <int EVERY = 0, int R, int N>
FG_DEVICE void online_softmax_deferred(softmax_state<R>& st, acc_tile<R, N>& s, float c, softmax_rescale<R>& rs) {
  row_vec<R> m_new;
  biased_row_max<false>(m_new, s, st, 0.0f);
  rs.any = move_reference(st, m_new, c, rs.alpha);
  exponentiate<EVERY, false>(st, s, c, 0.0f);
}

/// online_softmax_deferred of s + lane_bias (see online_softmax).
template <int EVERY = 0, int R, int N>
FG_DEVICE void online_softmax_deferred(softmax_state<R>& st, acc_tile<R, N>& s, float c, softmax_rescale<R>& rs,
                                       float lane_bias) {
  row_vec<R> m_new;
  biased_row_max<true>(m_new, s, st, lane_bias);
  rs.any = move_reference(st, m_new, c, rs.alpha);
  exponentiate<EVERY, true>(st, s, c, lane_bias);
}

/// Applies a deferred rescale to O (flash.output_rescale).
template <int R, int D> FG_DEVICE void apply_rescale(acc_tile<R, D>& o, const softmax_rescale<R>& rs) {
  if (rs.any) mul_rows(o, o, rs.alpha);
}

/// o /= row sum; rows whose sum is 0 (fully masked) become 0. Leaves the
/// full row sums in st.l.
template <int R, int D> FG_DEVICE void finalize(softmax_state<R>& st, acc_tile<R, D>& o) {
  constexpr int MT = R / 16;
  FG_UNROLL
  for (int m = 0; m < MT; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const float l = quad_sum(st.l.v[m][h]);
      st.l.v[m][h] = l;
      const float inv = l > 0.0f ? 1.0f / l : 0.0f;
      FG_UNROLL
      for (int n = 0; n < acc_tile<R, D>::kNT; ++n) {
        o.v[m][n][2 * h] *= inv;
        o.v[m][n][2 * h + 1] *= inv;
      }
    }
}

/// Natural-log log-sum-exp of the scaled scores per row (after finalize):
/// lse = (m*c + log2(l)) * ln 2; -inf for fully masked rows.
template <int R> FG_DEVICE void lse(row_vec<R>& dst, const softmax_state<R>& st, float c) {
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const float l = st.l.v[m][h];
      dst.v[m][h] = l > 0.0f ? (st.m.v[m][h] * c + ptx::lg2_approx(l)) * 0.6931471805599453f : ptx::neg_inf();
    }
}

/// Writes this warp's rows' log-sum-exp (after finalize) to dst[r * stride],
/// rows r < rows_valid (flash.output_store with an lse tensor).
template <int R>
FG_DEVICE void store_lse(float* dst, i64 stride, int rows_valid, const softmax_state<R>& st, float c) {
  row_vec<R> v;
  lse(v, st, c);
  store_row_vec(dst, stride, rows_valid, v);
}

}  // namespace warp
}  // namespace fg

#endif  // FLASHGEN_DEVICE_SOFTMAX_CUH
