//===- chunk_grad.cuh - flashgen device library: recurrence gradients ----===//
//
// The pieces of a linear_grad_chunk kernel (flash.chunk_grad,
// docs/semantics.md §4.5) that the chunk kernels do not already have: the
// CTA-wide dot product of two 16-bit states (the log-decays' gradient at a
// chunk's end), the
// per-row dot of an accumulator tile with a shared tile (q . dq, k . dk),
// and the reverse cumulative sum of a chunk's per-row terms.
//
// Vector gates (GLA, one log-decay per key dim d): q and k are gated in
// place relative to their 16-row tiles (chunk_gates.cuh: q^_rd = q_rd
// exp(b_rd - b_r0d), k^_sd = k_sd exp(b_s0d - b_sd)), and the factors
// between tiles are per key dim, so the products over the chunk's rows (dq
// over s, dk over r) run one 16-row block at a time, each block's product
// scaled by its columns' factor (mma_blocks). The gradients of the gated
// operands give the log-decays' gradient per element without undoing the
// gates: q . dq = q^ . dq^ and k . dk = k^ . dk^ (ungate_q_grad,
// ungate_k_grad); what is
// left is a reverse cumulative sum down each key dim (vector_gate_grad).
//
// mlstm_sig's normaliser (§4.6): its gradient kernels see the decay
// kernels' recurrence with a value column of ones (n) beside v; the rows'
// dO / den and normaliser gradient come from normalizer_grad_rows
// (linear_grad_rows, from the forward's o and norm), and the gates' gradients are the
// log-decay's chained through log sigmoid (sigmoid_gate_grads).
//
// mlstm_exp (§4.7) is mlstm_sig's form with iota = i and every row
// stabilised by its own m_r (the gate scan's rows): the rows' kernel also
// writes each row's stabiliser gradient (the eps term's), which
// stabilized_gate_grads routes to the step that sets m_r and
// carried_stabilizer_grad carries to the chunk before.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_CHUNK_GRAD_CUH
#define FLASHGEN_DEVICE_CHUNK_GRAD_CUH

#include "flashgen/device/core/math.cuh"
#include "flashgen/device/recurrence/chunk_io.cuh"
#include "flashgen/device/recurrence/chunk_mma.cuh"

namespace fg {
namespace chunk {

/// The f32 dot product of 16-byte chunk c of row r of two 16-bit tiles.
template <class T, int R, int C>
FG_DEVICE float chunk_dot(const smem_tile<T, R, C>& a, const smem_tile<T, R, C>& b, int r, int c) {
  u32 x[4], y[4];
  ptx::ld_shared_v4(x, a.chunk_addr(r, c));
  ptx::ld_shared_v4(y, b.chunk_addr(r, c));
  float acc = 0.0f;
  FG_UNROLL
  for (int e = 0; e < 4; ++e)
    acc += unpack<T>(x[e], 0) * unpack<T>(y[e], 0) + unpack<T>(x[e], 1) * unpack<T>(y[e], 1);
  return acc;
}

}  // namespace chunk

namespace cta {

/// The sum of every thread's `acc`, to every thread; `red` holds one float
/// per warp. Ends with a barrier of the whole CTA.
template <int NTHREADS> FG_DEVICE float sum_to_all(float acc, float* red) {
  acc = warp::warp_sum(acc);
  if (ptx::lane_id() == 0) red[ptx::thread_id() / 32] = acc;
  sync();
  float total = 0.0f;
  FG_UNROLL
  for (int w = 0; w < NTHREADS / 32; ++w) total += red[w];
  sync();
  return total;
}

/// sum_{r, c} a[r][c] b[r][c] over two 16-bit shared tiles (in f32), to
/// every thread; `red` holds one float per warp. Ends with a barrier of
/// the whole CTA.
template <int NTHREADS, class T, int R, int C>
FG_DEVICE float dot_tiles(const smem_tile<T, R, C>& a, const smem_tile<T, R, C>& b, float* red) {
  using Tile = smem_tile<T, R, C>;
  float acc = 0.0f;
  for (int i = ptx::thread_id(); i < R * Tile::kChunks; i += NTHREADS) {
    acc += chunk::chunk_dot(a, b, i / Tile::kChunks, i % Tile::kChunks);
  }
  return sum_to_all<NTHREADS>(acc, red);
}

}  // namespace cta

namespace warp {

/// dst[r] += sign * sum_c acc[r][c] * t[row0 + r][col0 + c] for the
/// lane's elements of the rows it holds (no quad sum).
template <int R, int C, class T, int TR, int TC>
FG_DEVICE void rows_dot_partial(row_vec<R>& dst, const acc_tile<R, C>& acc, const smem_tile<T, TR, TC>& t,
                                int row0, int col0, float sign) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int n = 0; n < C / 8; ++n)
      FG_UNROLL
      for (int e = 0; e < 4; ++e) {
        const float x =
            chunk::load_elem(chunk::elem_ptr(t, row0 + frag::row(m, e, lane), col0 + frag::col(n, e, lane)));
        dst.v[m][e >> 1] += sign * acc.v[m][n][e] * x;
      }
}

/// dst[row0 + r] = the quad sum of x[r] (one lane of each quad writes).
template <int R> FG_DEVICE void store_rows_to(float* dst, int row0, const row_vec<R>& x) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const float total = quad_sum(x.v[m][h]);
      if ((lane & 3) == 0) dst[row0 + m * 16 + (lane >> 2) + 8 * h] = total;
    }
}

/// The reverse cumulative sum of a chunk's L per-row terms on top of the
/// chunk end's: out(r, tail + sum_i ends[i] + sum_{u >= r} x_u) for every
/// row r < L, where x_u = sum_j terms[j * L + u] + extra(u) (terms given as
/// S column slices of L, ends as S L floats). One whole warp: lane l owns
/// the E = ceil(L / 32) rows from l E, sums its rows from the last, then a
/// butterfly over the lanes adds the totals of the lanes above: a chain of
/// about E + 5 adds rather than L, and the per-row loads and exponentials
/// of the mLSTM gates' `out` issue from every lane at once.
template <int L, int S, class X, class Out>
FG_DEVICE void reverse_cumsum(const float* terms, const float* ends, float tail, X&& extra, Out&& out) {
  constexpr int E = (L + 31) / 32;
  const int lane = ptx::lane_id();
  float base = lane == 0 ? tail : 0.0f;
  for (int i = lane; i < S * L; i += 32) base += ends[i];
  base = warp_sum(base);
  float suffix[E];
  float run = 0.0f;
  FG_UNROLL
  for (int e = E - 1; e >= 0; --e) {
    const int r = lane * E + e;
    if (r < L) {
      FG_UNROLL
      for (int j = 0; j < S; ++j) run += terms[j * L + r];
      run += extra(r);
    }
    suffix[e] = run;
  }
  // Exclusive suffix of the lane totals: at each level, a lane whose
  // partner block lies above adds that block's total.
  float above = 0.0f, blk = run;
  FG_UNROLL
  for (int off = 1; off < 32; off <<= 1) {
    const float o = ptx::shfl_xor(blk, off);
    if (!(lane & off)) above += o;
    blk += o;
  }
  FG_UNROLL
  for (int e = 0; e < E; ++e) {
    const int r = lane * E + e;
    if (r < L) out(r, base + (above + suffix[e]));
  }
}

/// out[t * stride] for t < rows_valid: reverse_cumsum of the rows' terms
/// (the log-decay's gradient). One whole warp.
template <int L, int S>
FG_DEVICE void reverse_cumsum_rows(float* out, i64 stride, int rows_valid, const float* terms,
                                   const float* ends, float tail) {
  reverse_cumsum<L, S>(terms, ends, tail, [](int) { return 0.0f; }, [&](int r, float acc) {
    if (r < rows_valid) out[i64(r) * stride] = acc;
  });
}

/// acc[r][c] *= f(col0 + c): one factor per column, each lane's two
/// columns of every 8-column tile computed once.
template <int R, int C, class F> FG_DEVICE void mul_cols(acc_tile<R, C>& acc, int col0, F&& f) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int n = 0; n < C / 8; ++n)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const float x = f(col0 + n * 8 + 2 * (lane & 3) + h);
      FG_UNROLL
      for (int m = 0; m < R / 16; ++m) {
        acc.v[m][n][h] *= x;
        acc.v[m][n][h + 2] *= x;
      }
    }
}

/// c += sum over 16-row blocks j in [j_lo, j_hi] of P_j .* f(j, col), P_j
/// the product over block j's 16 k rows (a runtime loop: the blocks a warp
/// needs depend on its rows). Not transposed (TA = false): P_j = A[a_row0..
/// +M, 16j..16j+16) B[16j.., b_col0..+N). Transposed: A^T's rows are a's
/// columns from a_col0: P_j = a[16j.., a_col0..+M)^T B[16j.., b_col0..+N).
template <bool TA, int M, int N, class T, int AR, int AC, int BR, int BC, class F>
FG_DEVICE void mma_blocks(acc_tile<M, N>& c, const smem_tile<T, AR, AC>& a, int a_off,
                          const smem_tile<T, BR, BC>& b, int b_col0, int j_lo, int j_hi, F&& f) {
  constexpr int MT = M / 16, NP = N / 16;
  FG_CHUNK_NO_UNROLL
  for (int j = j_lo; j <= j_hi; ++j) {
    acc_tile<M, N> part;
    zero(part);
    u32 af[MT][4];
    FG_UNROLL
    for (int m = 0; m < MT; ++m) {
      if constexpr (TA)
        load_a_t(af[m], a, j * 16, a_off + m * 16);
      else
        load_a(af[m], a, a_off + m * 16, j * 16);
    }
    FG_UNROLL
    for (int p = 0; p < NP; ++p) {
      u32 bf[4];
      load_b_kn(bf, b, j * 16, b_col0 + p * 16);
      FG_UNROLL
      for (int m = 0; m < MT; ++m) {
        mma_16816<T>(part.v[m][2 * p], af[m], bf[0], bf[1]);
        mma_16816<T>(part.v[m][2 * p + 1], af[m], bf[2], bf[3]);
      }
    }
    mul_cols(part, b_col0, [&](int col) { return f(j, col); });
    FG_UNROLL
    for (int m = 0; m < MT; ++m)
      FG_UNROLL
      for (int n = 0; n < N / 8; ++n)
        FG_UNROLL
        for (int e = 0; e < 4; ++e) c.v[m][n][e] += part.v[m][n][e];
  }
}

/// dst[col0 + c] = sum_r acc[r][c] * t[row0 + r][col0 + c] over the warp's
/// 16 rows (one lane of each column writes).
template <int C, class T, int TR, int TC>
FG_DEVICE void cols_dot_to(float* dst, const acc_tile<16, C>& acc, const smem_tile<T, TR, TC>& t, int row0,
                           int col0) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int n = 0; n < C / 8; ++n)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      float x = 0.0f;
      FG_UNROLL
      for (int e = h; e < 4; e += 2)
        x += acc.v[0][n][e] *
             chunk::load_elem(chunk::elem_ptr(t, row0 + frag::row(0, e, lane), col0 + frag::col(n, e, lane)));
      // The 8 lanes of a column pair differ in lane bits 2-4.
      FG_UNROLL
      for (int off = 4; off < 32; off <<= 1) x += ptx::shfl_xor(x, off);
      if (lane < 4) dst[col0 + n * 8 + 2 * lane + h] = x;
    }
}

/// The gradients of the vector-gated operands (q^ = q exp(rel), k^ = k
/// exp(-rel), rel the f32 exponents [L][GS] the gate scan kept,
/// chunk_gates.cuh's KEEP_REL, rows GS floats apart), element-wise over the
/// warp's 16 rows and column slice. ungate_q_grad: given dq^ in `dx`, dx = dq = dq^ exp(rel)
/// and terms = q^ . dq^ (= q . dq).
template <int GS, int C, class T, int TR, int TC>
FG_DEVICE void ungate_q_grad(acc_tile<16, C>& dx, acc_tile<16, C>& terms, const smem_tile<T, TR, TC>& q,
                             const float* rel, int row0, int col0) {
  for_each_at(dx, row0, col0, [&](int r, int c, int dr, int dc, float& x) {
    at(terms, dr, dc) = x * chunk::load_elem(chunk::elem_ptr(q, r, c));
    x *= exp_fast(rel[r * GS + c]);
  });
}

/// ungate_k_grad: given dk^ in `dx`, dx = dk = dk^ exp(-rel), and rel is
/// replaced by the log-decay term q . dq - k . dk (terms - k^ . dk^): the
/// warp's own elements, read and written by the same lanes (no barrier).
template <int GS, int C, class T, int TR, int TC>
FG_DEVICE void ungate_k_grad(acc_tile<16, C>& dx, const acc_tile<16, C>& terms, const smem_tile<T, TR, TC>& k,
                             float* rel, int row0, int col0) {
  for_each_at(dx, row0, col0, [&](int r, int c, int dr, int dc, float& x) {
    const float e_rel = rel[r * GS + c];
    rel[r * GS + c] = at(terms, dr, dc) - x * chunk::load_elem(chunk::elem_ptr(k, r, c));
    x *= exp_fast(-e_rel);
  });
}

}  // namespace warp

namespace cta {

/// The vector gates' gradient of one chunk: per key dim d (a thread each),
/// dg[r][d] = tail(d) + sum_{s >= r} terms[s][d] for r < rows_valid, the
/// reverse cumulative sum of the per-element terms (q . dq - k . dk,
/// [L][GS] f32) on top of the chunk end's term tail(d).
template <int NTHREADS, int L, int DK, int GS, class F>
FG_DEVICE void vector_gate_grad(float* dg, i64 row_stride, int rows_valid, const float* terms, F&& tail) {
  for (int d = ptx::thread_id(); d < DK; d += NTHREADS) {
    float acc = tail(d);
    FG_CHUNK_UNROLL_4  // one add chained, the loads and stores overlap
    for (int r = L - 1; r >= 0; --r) {
      acc += terms[r * GS + d];
      if (r < rows_valid) dg[i64(r) * row_stride + d] = acc;
    }
  }
}

/// out[r] = sum_c a[r][c] b[r][c] for every row of two 16-bit shared tiles
/// (in f32), the whole CTA: a row's 16-byte chunks over W lanes (the
/// largest power of two up to its chunk count and 32), then a butterfly
/// sum over them; `accumulate`: out[r] += that (the same thread writes a
/// row on every call, so passes over column slices need no barrier
/// between them for out). No barrier.
template <int NTHREADS, class T, int R, int C>
FG_DEVICE void row_dots(float* out, const smem_tile<T, R, C>& a, const smem_tile<T, R, C>& b,
                        bool accumulate = false) {
  using Tile = smem_tile<T, R, C>;
  constexpr int n = Tile::kChunks;
  constexpr int W = n >= 32 ? 32 : n >= 16 ? 16 : n >= 8 ? 8 : n >= 4 ? 4 : n >= 2 ? 2 : 1;
  static_assert(32 % W == 0 && NTHREADS % W == 0, "row_dots: whole rows per warp");
  constexpr int kRowsAtOnce = NTHREADS / W;
  const int tid = ptx::thread_id(), part = tid % W;
  FG_CHUNK_NO_UNROLL
  for (int r0 = 0; r0 < R; r0 += kRowsAtOnce) {
    const int r = r0 + tid / W;
    float acc = 0.0f;
    if (r < R)
      for (int c = part; c < Tile::kChunks; c += W) acc += chunk::chunk_dot(a, b, r, c);
    FG_UNROLL
    for (int off = W / 2; off > 0; off >>= 1) acc += ptx::shfl_xor(acc, off);
    if (r < R && part == 0) out[r] = accumulate ? out[r] + acc : acc;
  }
}

/// sum_d a[d] b[d] over two f32 shared vectors of D, to every thread;
/// `red` holds one float per warp. Ends with a barrier of the whole CTA.
template <int NTHREADS, int D>
FG_DEVICE float dot_vectors(const float* a, const float* b, float* red) {
  float acc = 0.0f;
  for (int d = ptx::thread_id(); d < D; d += NTHREADS) acc += a[d] * b[d];
  return sum_to_all<NTHREADS>(acc, red);
}

/// The normaliser kinds' row gradients (docs/semantics.md §4.6-4.7) for
/// the L rows of a chunk from the forward's o, dO and rows' normalisers
/// (norm: N_r, floor_r): den_r = max(|N_r|, floor_r) + eps and x_r =
/// -(dO_r . o_r) / den_r (= -(dO_r . h_r) / den_r^2 with h_r = o_r den_r);
/// gdo_r = dO_r / den_r for rows r < valid; dqn[r] = sign(N_r) x_r where
/// |N_r| > floor_r (else 0) and, with a stabiliser (STAB), dqn[r + 1
/// column] = eps x_r, every row (0 at or past valid). A warp a row,
/// two columns a lane (D even; rows 4-byte aligned).
template <int NTHREADS, int L, int D, bool STAB, class T>
FG_DEVICE void normalizer_grad_rows(const T* o, i64 o_stride, const T* dout, i64 dout_stride,
                                    const float* norm, i64 norm_stride, i64 norm_col,
                                    T* gdo, i64 gdo_stride, float* dqn, i64 dqn_stride,
                                    i64 dqn_col, int valid, float eps) {
  static_assert(D % 2 == 0, "whole column pairs");
  const int lane = ptx::lane_id(), warp = ptx::thread_id() / 32;
  for (int r = warp; r < L; r += NTHREADS / 32) {
    float dn = 0.0f, dm = 0.0f;
    if (r < valid) {
      const float n = norm[r * norm_stride], floor_r = norm[r * norm_stride + norm_col];
      const float inv = 1.0f / (fmaxf(fabsf(n), floor_r) + eps);
      const u32* o_row = reinterpret_cast<const u32*>(o + r * o_stride);
      const u32* d_row = reinterpret_cast<const u32*>(dout + r * dout_stride);
      u32* g_row = reinterpret_cast<u32*>(gdo + r * gdo_stride);
      float dot = 0.0f;
      for (int c = lane; c < D / 2; c += 32) {
        const u32 x = d_row[c], y = o_row[c];
        const float d0 = unpack<T>(x, 0), d1 = unpack<T>(x, 1);
        dot += d0 * unpack<T>(y, 0) + d1 * unpack<T>(y, 1);
        g_row[c] = pack2<T>(d0 * inv, d1 * inv);
      }
      dot = warp::warp_sum(dot);
      const float x = -dot * inv;
      dn = fabsf(n) > floor_r ? (n > 0.0f ? x : -x) : 0.0f;
      dm = eps * x;
    }
    if (lane == 0) {
      dqn[r * dqn_stride] = dn;
      if (STAB) dqn[r * dqn_stride + dqn_col] = dm;
    }
  }
}

/// dst[t] = rows[t * STRIDE] for the L rows of a chunk: one column of
/// linear_grad_rows' output (the rows' normaliser gradients, or mlstm_exp's
/// stabiliser gradients beside them, STRIDE = 2). No barrier.
template <int NTHREADS, int L, int STRIDE>
FG_DEVICE void copy_column(float* dst, const float* rows) {
  for (int t = ptx::thread_id(); t < L; t += NTHREADS) dst[t] = rows[t * STRIDE];
}

}  // namespace cta

namespace warp {

/// The mLSTM kinds' gate gradients of a chunk's rows t < rows_valid (one
/// whole warp): the log-forget gradient is reverse_cumsum's (terms, ends,
/// tail), the log-input gradient sum_j kdk[j * L + t] (k_t . dk_t over the
/// S column slices); df is the log-forget one times the derivative of log
/// sigmoid at its preactivation, sigmoid(-x) = 1 / (1 + exp(x)) (0, not
/// NaN, for large x). mlstm_sig (STAB = false): di likewise through log
/// sigmoid. mlstm_exp (STAB, docs/semantics.md §4.7): di is the log-input
/// one as it is (iota = i), and each row's stabiliser gradient dm[r] (the
/// chunk's last row's including what later chunks carry into it) goes to
/// the input weight of the step that sets m_r (src[r] >= 0: e[s] += dm[r])
/// and to the log-forgets after it, or, from the carried stabiliser
/// (src[r] < 0), to every log-forget of the chunk up to r: row r's
/// log-forget term gains dm[r] - e[r] and di_t gains e[t]. `e` is L floats
/// of scratch. The rows a step sets are a run from that step (src[r] is r
/// or src[r - 1], the scan's first maximum), so e[t] sums the run from t,
/// in the order one thread summed them.
template <int L, int S, bool STAB>
FG_DEVICE void mlstm_gate_grads(float* di, i64 di_stride, float* df, i64 df_stride, int rows_valid,
                                const float* terms, const float* ends, float tail, const float* kdk,
                                const float* ig, i64 ig_stride, const float* fgt, i64 fg_stride,
                                const float* dm, const float* src, float* e) {
  if (STAB) {
    for (int t = ptx::lane_id(); t < L; t += 32) {
      float acc = 0.0f;
      if (src[t] == float(t))
        for (int r = t; r < L && src[r] == float(t); ++r) acc += dm[r];
      e[t] = acc;
    }
    ptx::warp_sync();
  }
  reverse_cumsum<L, S>(
      terms, ends, tail, [&](int r) { return STAB ? dm[r] - e[r] : 0.0f; },
      [&](int r, float acc) {
        if (r >= rows_valid) return;
        float kd = 0.0f;
        FG_UNROLL
        for (int j = 0; j < S; ++j) kd += kdk[j * L + r];
        df[i64(r) * df_stride] = acc / (1.0f + expf(fgt[i64(r) * fg_stride]));
        di[i64(r) * di_stride] = STAB ? kd + e[r] : kd / (1.0f + expf(ig[i64(r) * ig_stride]));
      });
}

template <int L, int S>
FG_DEVICE void sigmoid_gate_grads(float* di, i64 di_stride, float* df, i64 df_stride, int rows_valid,
                                  const float* terms, const float* ends, float tail, const float* kdk,
                                  const float* ig, i64 ig_stride, const float* fgt, i64 fg_stride) {
  mlstm_gate_grads<L, S, false>(di, di_stride, df, df_stride, rows_valid, terms, ends, tail, kdk, ig,
                                ig_stride, fgt, fg_stride, nullptr, nullptr, nullptr);
}

template <int L, int S>
FG_DEVICE void stabilized_gate_grads(float* di, i64 di_stride, float* df, i64 df_stride, int rows_valid,
                                     const float* terms, const float* ends, float tail, const float* kdk,
                                     const float* dm, const float* src, float* e, const float* fgt,
                                     i64 fg_stride) {
  mlstm_gate_grads<L, S, true>(di, di_stride, df, df_stride, rows_valid, terms, ends, tail, kdk, nullptr,
                               0, fgt, fg_stride, dm, src, e);
}

/// The stabiliser's gradient that a chunk carries into the one before it
/// (into m_start, the previous chunk's last row): the sum of dm[r] over
/// the rows whose stabiliser is the carried one (src[r] < 0, a prefix of
/// the chunk). One whole warp, every lane gets the sum: the state-gradient
/// pass runs it once a chunk on its serial path, where one thread's walk
/// took up to L dependent shared loads.
template <int L> FG_DEVICE float carried_stabilizer_grad(const float* dm, const float* src) {
  float acc = 0.0f;
  for (int r = ptx::lane_id(); r < L; r += 32)
    if (src[r] < 0.0f) acc += dm[r];
  return warp_sum(acc);
}

}  // namespace warp

namespace cta {

/// An element of a 16-bit or f32 matrix, in f32.
template <class T> FG_DEVICE float value_at(const T* p) { return chunk::load_elem(p); }
FG_DEVICE float value_at(const float* p) { return *p; }

/// sum_{r < R, c < C} a[r * sa + c] b[r * sb + c] over an f32 and a 16-bit
/// (or f32) matrix in global memory, to every thread; `red` holds one
/// float per warp. Ends with a barrier of the whole CTA.
template <int NTHREADS, class T>
FG_DEVICE float dot_global(const float* a, i64 sa, const T* b, i64 sb, int R, int C, float* red) {
  float acc = 0.0f;
  for (int i = ptx::thread_id(); i < R * C; i += NTHREADS)
    acc += a[i64(i / C) * sa + i % C] * value_at(b + i64(i / C) * sb + i % C);
  return sum_to_all<NTHREADS>(acc, red);
}

}  // namespace cta
}  // namespace fg

#endif  // FLASHGEN_DEVICE_CHUNK_GRAD_CUH
