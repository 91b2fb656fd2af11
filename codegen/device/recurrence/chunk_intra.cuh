//===- chunk_intra.cuh - flashgen device library: intra-chunk tiles ------===//
//
// The per-row accumulators of an inner query tile (docs/semantics.md
// §4.3-4.4) and the element-wise passes over its score tiles:
//   H   f32 acc_tile, the output numerator;
//   N   row_vec, this lane's share of the normaliser (lane t of a quad holds
//       the inter-chunk term in t == 0 and its own columns' row sums; the
//       quad is summed once, at the end);
//   mu  row_vec, the running maximum of the log weights (mlstm_exp).
// for_each_gated hands the emitted flash.decay_map code each score element
// with the gate-buffer values of its row and column; stabilized_rescale
// moves mu online, as FlashAttention's softmax moves its row maximum.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_CHUNK_INTRA_CUH
#define FLASHGEN_DEVICE_CHUNK_INTRA_CUH

#include "flashgen/device/recurrence/chunk_gates.cuh"

namespace fg {
namespace warp {

/// Calls f(r, s, x&, row&, hi_r, lo_r, hi_s, lo_s, iota_s) for every
/// element x of the score tile s_tile this lane holds: r = row0 + its row,
/// s = col0 + its column, row the entry of rv for that row (a per-row
/// reduction or a per-row value), the gate values from buf.
template <int L, int R, int C, class F>
FG_DEVICE void for_each_gated(acc_tile<R, C>& s_tile, row_vec<R>& rv, const chunk::gate_buffer<L>& buf, int row0,
                              int col0, F&& f) {
  const int lane = ptx::lane_id();
  const int r_lane = row0 + (lane >> 2);
  const int c_lane = col0 + ((lane & 3) << 1);
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int r = r_lane + m * 16 + 8 * h;
      const float hr = buf.hi()[r], lr = buf.lo()[r];
      FG_UNROLL
      for (int n = 0; n < C / 8; ++n)
        FG_UNROLL
        for (int i = 0; i < 2; ++i) {
          const int s = c_lane + n * 8 + i;
          f(r, s, s_tile.v[m][n][2 * h + i], rv.v[m][h], hr, lr, buf.hi()[s], buf.lo()[s], buf.iota()[s]);
        }
    }
}

/// dst[r] = f(row0 + r) for the rows this lane holds.
template <int R, class F> FG_DEVICE void rows_of(row_vec<R>& dst, int row0, F&& f) {
  const int r_lane = row0 + (ptx::lane_id() >> 2);
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) dst.v[m][h] = f(r_lane + m * 16 + 8 * h);
}

/// x[r] *= y[r].
template <int R> FG_DEVICE void mul_rv(row_vec<R>& x, const row_vec<R>& y) {
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) x.v[m][h] *= y.v[m][h];
}

/// x[r] *= c.
template <int R> FG_DEVICE void mul_rv(row_vec<R>& x, float c) {
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) x.v[m][h] *= c;
}

/// dst[r] += the sum of this lane's elements of row r of t (no quad sum).
template <int R, int C> FG_DEVICE void row_partial_sum(row_vec<R>& dst, const acc_tile<R, C>& t) {
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      float x = 0.0f;
      FG_UNROLL
      for (int n = 0; n < C / 8; ++n) x += t.v[m][n][2 * h] + t.v[m][n][2 * h + 1];
      dst.v[m][h] += x;
    }
}

/// The online maximum of mlstm_exp (§4.3) for one key tile: mu_tile holds
/// this lane's maxima of the tile's log weights, started from mu. After the
/// quad max, rows whose maximum grew rescale H and N by exp(mu - mu') and
/// mu becomes mu'. mu starts finite (the inter-chunk log weight), so no
/// -inf - -inf arises.
template <int R, int D>
FG_DEVICE void stabilized_rescale(row_vec<R>& mu, const row_vec<R>& mu_tile, acc_tile<R, D>& h_acc,
                                  row_vec<R>& n_acc) {
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const float mn = quad_max(mu_tile.v[m][h]);
      if (mn != mu.v[m][h]) {
        const float alpha = exp_fast(mu.v[m][h] - mn);
        n_acc.v[m][h] *= alpha;
        FG_UNROLL
        for (int n = 0; n < D / 8; ++n) {
          h_acc.v[m][n][2 * h] *= alpha;
          h_acc.v[m][n][2 * h + 1] *= alpha;
        }
      }
      mu.v[m][h] = mn;
    }
}

/// H[r] /= max(|N_r|, floor_r) + eps, N quad-summed first; floor_r =
/// exp(-mu_r) with a stabiliser, else 1.
template <bool STAB, int R, int D>
FG_DEVICE void normalize_rows(acc_tile<R, D>& h_acc, const row_vec<R>& n_acc, const row_vec<R>& mu, float eps) {
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const float n = quad_sum(n_acc.v[m][h]);
      const float floor = STAB ? expf(-mu.v[m][h]) : 1.0f;
      const float inv = 1.0f / (fmaxf(fabsf(n), floor) + eps);
      FG_UNROLL
      for (int j = 0; j < D / 8; ++j) {
        h_acc.v[m][j][2 * h] *= inv;
        h_acc.v[m][j][2 * h + 1] *= inv;
      }
    }
}

/// The rows' normalisers for the gradient (docs/semantics.md §4.6):
/// dst[r * stride] = N_r (quad-summed) and dst[r * stride + col] = floor_r
/// (exp(-mu_r) with a stabiliser, else 1) for the R rows r < valid (lane 0
/// of each quad writes).
template <bool STAB, int R>
FG_DEVICE void store_normalizer_rows(float* dst, i64 stride, i64 col, int valid,
                                     const row_vec<R>& n_acc, const row_vec<R>& mu) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const float n = quad_sum(n_acc.v[m][h]);
      const int r = m * 16 + (lane >> 2) + 8 * h;
      if ((lane & 3) == 0 && r < valid) {
        dst[i64(r) * stride] = n;
        dst[i64(r) * stride + col] = STAB ? expf(-mu.v[m][h]) : 1.0f;
      }
    }
}

/// dst[r] = sum_d q[row0 + r][d] * vec[d] for the rows this lane holds (the
/// whole quad gets the sum): q . n for the normaliser's inter-chunk term.
template <int R, class T, int TR, int DK>
FG_DEVICE void rows_dot(row_vec<R>& dst, const smem_tile<T, TR, DK>& q, int row0, const float* vec) {
  using Tile = smem_tile<T, TR, DK>;
  const int lane = ptx::lane_id();
  const int g = lane >> 2, t = lane & 3;
  const u32 vec_addr = ptx::smem_addr(vec);
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int r = row0 + m * 16 + g + 8 * h;
      float acc = 0.0f;
      FG_UNROLL
      for (int c = t; c < Tile::kChunks; c += 4) {
        u32 v[4];
        ptx::ld_shared_v4(v, q.chunk_addr(r, c));
        // vec's 8 values of chunk c as two 16-byte loads (vec is a shared
        // buffer of the kernel's plan, 128-byte aligned).
        u32 n_lo[4], n_hi[4];
        ptx::ld_shared_v4(n_lo, vec_addr + u32(c * 32));
        ptx::ld_shared_v4(n_hi, vec_addr + u32(c * 32 + 16));
        FG_UNROLL
        for (int i = 0; i < 4; ++i) {
          const u32* n = i < 2 ? n_lo : n_hi;
          acc += unpack<T>(v[i], 0) * ptx::u32_as_float(n[(2 * i) % 4]);
          acc += unpack<T>(v[i], 1) * ptx::u32_as_float(n[(2 * i) % 4 + 1]);
        }
      }
      dst.v[m][h] = quad_sum(acc);
    }
}

/// Keeps x[r] in lane t == 0 of each quad and 0 in the others: a full row
/// value becomes a per-lane share whose quad sum is x.
template <int R> FG_DEVICE void to_quad_share(row_vec<R>& x) {
  const bool keep = (ptx::lane_id() & 3) == 0;
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) x.v[m][h] = keep ? x.v[m][h] : 0.0f;
}

}  // namespace warp

namespace cta {

/// sum_s w(s) * k[s][d] over the L rows of k. Four partial sums over s,
/// unrolled: one sum was a chain of L dependent FMAs, each waiting on its
/// shared load, that the CTA's next barrier waited out.
template <int L, int DK, class T, class W>
FG_DEVICE float weighted_key_sum(const smem_tile<T, L, DK>& k, int d, W&& w) {
  constexpr int kParts = 4;
  static_assert(L % kParts == 0, "weighted_key_sum: L a multiple of 4");
  float acc[kParts] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int s = 0; s < L; s += kParts) {
    FG_UNROLL
    for (int j = 0; j < kParts; ++j) acc[j] += w(s + j) * chunk::load_elem(chunk::elem_ptr(k, s + j, d));
  }
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

/// n[d] = decay * n[d] + sum_s w(s) * k[s][d] over the L rows of k (all
/// threads, one key dim each): the normaliser's state update.
template <int NTHREADS, int L, int DK, class T, class W>
FG_DEVICE void update_normalizer(float* n, const smem_tile<T, L, DK>& k, float decay, W&& w) {
  for (int d = ptx::thread_id(); d < DK; d += NTHREADS) n[d] = decay * n[d] + weighted_key_sum(k, d, w);
}

/// chunk_scored's pre-pass: dst[d] = sum_s w(s) * k[s][d] (global f32), the
/// chunk's part of the normaliser's update, once for every value slice.
template <int NTHREADS, int L, int DK, class T, class W>
FG_DEVICE void store_key_sums(float* dst, const smem_tile<T, L, DK>& k, W&& w) {
  for (int d = ptx::thread_id(); d < DK; d += NTHREADS) dst[d] = weighted_key_sum(k, d, w);
}

/// n[d] = decay * n[d] + sums[d]: the normaliser's update from the staged
/// key sums of store_key_sums.
template <int NTHREADS, int DK> FG_DEVICE void update_normalizer_from(float* n, const float* sums, float decay) {
  for (int d = ptx::thread_id(); d < DK; d += NTHREADS) n[d] = decay * n[d] + sums[d];
}

/// dst[0, N) = src[0, N) (all threads; global f32 from shared): a scanned
/// gate buffer into chunk_scored's scratch.
template <int NTHREADS, int N> FG_DEVICE void store_floats(float* dst, const float* src) {
  for (int i = ptx::thread_id(); i < N; i += NTHREADS) dst[i] = src[i];
}

}  // namespace cta
}  // namespace fg

#endif  // FLASHGEN_DEVICE_CHUNK_INTRA_CUH
