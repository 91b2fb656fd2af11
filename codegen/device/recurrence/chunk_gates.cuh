//===- chunk_gates.cuh - flashgen device library: log-space chunk gates --===//
//
// docs/semantics.md §4.1 on the device. Per chunk, the cumulative log-forget
// b_r = sum_{u <= r} lambda_u is kept as an unevaluated pair hi_r + lo_r
// (TwoSum, error-free), so that every difference B(r, s) = (hi_r - hi_s) +
// (lo_r - lo_s) is accurate relative to itself even where b_r reaches the
// -1000s. These functions only add and subtract (no multiply, so FMA
// contraction cannot touch them) and NVRTC never reassociates.
//
// Scalar gates (decay, mlstm_exp, mlstm_sig): one warp scans the chunk's L
// steps (E = ceil(L / 32) rows per lane, a butterfly scan of double-float
// pairs over the lanes) into a gate buffer:
//     [0, L) hi   [L, 2L) lo   [2L, 3L) iota   [3L, 4L) w   4L decay,
//     4L+1 m_start, 4L+2 m_end
// with w_s = exp(A(s) + iota_s - m_end), A(s) = B(L-1, s), decay =
// exp(g + m_start - m_end), g = b_{L-1}; m is the mlstm_exp stabiliser
// (0 for the other kinds). Steps past the sequence end have lambda = 0 and
// iota = -inf, so g is the decay through the last real step and they carry
// no weight.
//
// Vector gates (one log-decay per key dim): each thread scans whole key-dim
// columns of the staged f32 g tile and gates the chunk's q and k tiles in
// place. Kernels that take scores gate relative to the first row r0 of
// each 16-row tile: q_rd *= exp(b_rd - b_r0d) <= 1, k_sd *= exp(b_s0d -
// b_sd) (at most 15 steps of growth); the tables keep b at every tile's
// first row and at the last row (hi and lo), from which the products
// derive the remaining factors. The state passes read one of the two
// only, so it takes its whole factor: k_sd *= exp(b_Ld - b_sd) (the
// forward's), q_rd *= exp(b_rd) (the gradient's), both <= 1.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_CHUNK_GATES_CUH
#define FLASHGEN_DEVICE_CHUNK_GATES_CUH

#include "flashgen/device/recurrence/chunk_io.cuh"
#include "flashgen/device/core/math.cuh"

namespace fg {
namespace chunk {

/// hi + lo += x, hi keeping the rounded sum and lo the running error (TwoSum).
FG_DEVICE void two_sum_add(float& hi, float& lo, float x) {
  const float s = hi + x;
  const float bv = s - hi;
  const float err = (hi - (s - bv)) + (x - bv);
  hi = s;
  lo += err;
}

/// (hi, lo) += (bh, bl): TwoSum of the leading parts, the errors summed.
/// Symmetric in its two operands, bit for bit.
FG_DEVICE void dd_add(float& hi, float& lo, float bh, float bl) {
  const float s = hi + bh;
  const float bv = s - hi;
  const float err = (hi - (s - bv)) + (bh - bv);
  hi = s;
  lo = (lo + bl) + err;
}

/// The gate buffer of one chunk (layout above).
template <int L> struct gate_buffer {
  static constexpr int kFloats = 4 * L + 4;
  float* p;
  FG_DEVICE float* hi() const { return p; }
  FG_DEVICE float* lo() const { return p + L; }
  FG_DEVICE float* iota() const { return p + 2 * L; }
  FG_DEVICE float* w() const { return p + 3 * L; }
  FG_DEVICE float& decay() const { return p[4 * L]; }
  FG_DEVICE float& m_start() const { return p[4 * L + 1]; }
  FG_DEVICE float& m_end() const { return p[4 * L + 2]; }
};

/// Buffer `index` (0 or 1) of the ring at `base`.
template <int L> FG_DEVICE gate_buffer<L> gate_ring(float* base, int index) {
  return gate_buffer<L>{base + index * ((gate_buffer<L>::kFloats + 31) / 32 * 32)};
}

}  // namespace chunk

namespace warp {

/// One warp: the gate buffer `buf` of a chunk of L steps, T - t0 of them
/// real, its stabiliser starting at m_start (STAB). raw[i][e] is raw gate
/// operand i of row lane*E + e (fetch_gate_rows); f(raw0, raw1, lambda&,
/// iota&) is the gate kind's per-step math (the emitted flash.chunk_gates
/// region). With `rows` (mlstm_exp's gradient kernels, docs/semantics.md
/// §4.7), the stabiliser of every row as well: rows[r] = mu_r = m_r - b_r
/// = max(m_start, P_r), P_r = max_{s <= r} (iota_s - b_s), and rows[L + r]
/// = the step s whose input weight sets m_r (the first on a tie), or -1
/// where the carried stabiliser does (max(lambda + m, iota) keeps the
/// carried value on a tie), as a float.
template <int L, int E, int NRAW, bool STAB, class F>
FG_DEVICE void scan_scalar_gates_from(const chunk::gate_buffer<L>& buf, float m_start,
                                      const float (&raw)[NRAW][E], int rows_valid, F&& f,
                                      float* rows = nullptr) {
  static_assert(E * 32 >= L, "scan_scalar_gates: E rows per lane must cover the chunk");
  const int lane = ptx::lane_id();
  float hi[E], lo[E], iota[E];
  float h = 0.0f, l = 0.0f;
  FG_UNROLL
  for (int e = 0; e < E; ++e) {
    const int r = lane * E + e;
    float lambda = 0.0f, input = 0.0f;
    f(raw[0][e], NRAW > 1 ? raw[NRAW > 1 ? 1 : 0][e] : 0.0f, lambda, input);
    const bool real = r < rows_valid;
    chunk::two_sum_add(h, l, real ? lambda : 0.0f);
    hi[e] = h;
    lo[e] = l;
    iota[e] = real ? input : ptx::neg_inf();
  }
  // Exclusive prefix of the lane totals: at each level, a lane whose
  // partner block lies below adds that block's total.
  float ex_h = 0.0f, ex_l = 0.0f, blk_h = h, blk_l = l;
  FG_UNROLL
  for (int off = 1; off < 32; off <<= 1) {
    const float oh = ptx::shfl_xor(blk_h, off), ol = ptx::shfl_xor(blk_l, off);
    if (lane & off) chunk::dd_add(ex_h, ex_l, oh, ol);
    chunk::dd_add(blk_h, blk_l, oh, ol);
  }
  ptx::warp_sync();  // the previous readers of buf (a chunk ago) are this warp
  FG_UNROLL
  for (int e = 0; e < E; ++e) {
    const int r = lane * E + e;
    float rh = ex_h, rl = ex_l;
    chunk::dd_add(rh, rl, hi[e], lo[e]);
    hi[e] = rh;
    lo[e] = rl;
    if (r < L) {
      buf.hi()[r] = rh;
      buf.lo()[r] = rl;
      buf.iota()[r] = iota[e];
    }
  }
  ptx::warp_sync();
  const float gh = buf.hi()[L - 1], gl = buf.lo()[L - 1];
  if (!STAB) m_start = 0.0f;
  if (STAB && rows != nullptr) {
    // The prefix maximum of iota_s - b_s with its step: each lane's rows in
    // order, then the lanes' exclusive prefix by the butterfly above (a
    // lower block wins a tie: the earlier step).
    float pv[E], ps[E];
    float run_v = ptx::neg_inf(), run_s = -1.0f;
    FG_UNROLL
    for (int e = 0; e < E; ++e) {
      const float v = (iota[e] - hi[e]) - lo[e];
      if (v > run_v) {
        run_v = v;
        run_s = float(lane * E + e);
      }
      pv[e] = run_v;
      ps[e] = run_s;
    }
    float ex_v = ptx::neg_inf(), ex_s = -1.0f, blk_v = run_v, blk_s = run_s;
    FG_UNROLL
    for (int off = 1; off < 32; off <<= 1) {
      const float ov = ptx::shfl_xor(blk_v, off), os = ptx::shfl_xor(blk_s, off);
      if (lane & off) {
        // The partner block lies below: it precedes this lane's prefix and block.
        if (!(ex_v > ov)) { ex_v = ov; ex_s = os; }
        if (!(blk_v > ov)) { blk_v = ov; blk_s = os; }
      } else if (ov > blk_v) {
        blk_v = ov;
        blk_s = os;
      }
    }
    FG_UNROLL
    for (int e = 0; e < E; ++e) {
      const int r = lane * E + e;
      const bool own = pv[e] > ex_v;  // this lane's rows set the prefix maximum
      const float p = own ? pv[e] : ex_v, ps_r = own ? ps[e] : ex_s;
      if (r < L) {
        rows[r] = p > m_start ? p : m_start;
        rows[L + r] = p > m_start ? ps_r : -1.0f;
      }
    }
  }
  // Log weight each key keeps through the chunk end: A(s) + iota_s.
  float a[E];
  float amax = ptx::neg_inf();
  FG_UNROLL
  for (int e = 0; e < E; ++e) {
    a[e] = ((gh - hi[e]) + (gl - lo[e])) + iota[e];
    if (lane * E + e < L) amax = fmaxf(amax, a[e]);
  }
  float m_end = 0.0f;
  const float carried = (gh + m_start) + gl;  // g + m_start, rounded once
  if constexpr (STAB) {
    FG_UNROLL
    for (int off = 1; off < 32; off <<= 1) amax = fmaxf(amax, ptx::shfl_xor(amax, off));
    m_end = fmaxf(carried, amax);
  }
  FG_UNROLL
  for (int e = 0; e < E; ++e) {
    const int r = lane * E + e;
    if (r < L) buf.w()[r] = expf(a[e] - m_end);
  }
  if (lane == 0) {
    buf.decay() = expf(carried - m_end);
    buf.m_start() = m_start;
    buf.m_end() = m_end;
  }
}

/// scan_scalar_gates_from with the stabiliser carried from the previous
/// chunk's buffer (prev.m_end), as the chunks run in order.
template <int L, int E, int NRAW, bool STAB, class F>
FG_DEVICE void scan_scalar_gates(const chunk::gate_buffer<L>& buf, const chunk::gate_buffer<L>& prev,
                                 const float (&raw)[NRAW][E], int rows_valid, F&& f) {
  scan_scalar_gates_from<L, E, NRAW, STAB>(buf, STAB ? prev.m_end() : 0.0f, raw, rows_valid, f);
}

}  // namespace warp

namespace cta {

/// How scan_vector_gates gates the staged tiles (see the file comment).
enum class vector_gating {
  /// q and k relative to their 16-row tiles (kernels with outputs, and the
  /// gradient's chunk kernel): q_rd *= exp(b_rd - b_r0d), k_sd *= exp(b_s0d
  /// - b_sd).
  tile_relative,
  /// k alone, to the chunk's end (the state pass): k_sd *= exp(b_Ld - b_sd)
  /// <= 1, so the state update needs no factor per element.
  k_to_chunk_end,
  /// q alone, from the chunk's start (the gradient's state pass, whose q
  /// sits in k's stage): q_rd *= exp(b_rd) <= 1.
  q_from_chunk_start,
};

/// The whole CTA: per key dim d, scan the f32 tile g (L x DK, row-major,
/// unswizzled) with f(raw) -> lambda (rows >= rows_valid: 0), write b at
/// each 16-row tile's first row and at row L-1 into tab_hi / tab_lo
/// ([L/16 + 1][DK]), and gate q and k in place as MODE says. KEEP_REL
/// (the gradient's chunk kernel, tile_relative) overwrites g with b_rd -
/// b_r0d, the exponent that gated q (f32: dq and dk need it per element).
/// g's rows are GS floats apart (load_async_f32's STRIDE).
template <int NTHREADS, int L, int DK, vector_gating MODE, bool KEEP_REL = false, int GS = DK, class T, class F>
FG_DEVICE void scan_vector_gates(float* g, float* tab_hi, float* tab_lo, const smem_tile<T, L, DK>& q,
                                 const smem_tile<T, L, DK>& k, int rows_valid, F&& f) {
  static_assert(L % 16 == 0, "scan_vector_gates: whole 16-row tiles");
  static_assert(!KEEP_REL || MODE == vector_gating::tile_relative, "scan_vector_gates: KEEP_REL is tile_relative's");
  constexpr bool kTile = MODE == vector_gating::tile_relative;
  constexpr int kCols = DK >= NTHREADS ? DK / NTHREADS : 1;
  const int tid = ptx::thread_id();
  if (DK < NTHREADS && tid >= DK) return;
  float h[kCols], l[kCols], h0[kCols], l0[kCols];
  FG_UNROLL
  for (int j = 0; j < kCols; ++j) h[j] = l[j] = h0[j] = l0[j] = 0.0f;
  // Four rows at a time where a thread scans one column: the TwoSum chain
  // is sequential, but the rows' loads, exponentials and stores overlap
  // (measured on the H100: one row at a time left the state passes
  // latency-bound, 1.35 ms at 16 heads 128/128, T = 4096). A thread with
  // several columns has that overlap already, and four rows of each held
  // at once spilled (sm_80, 2 warps over Dk = 128: 8 bytes at 128
  // registers); fully unrolled, the compiler would hoist every row's g
  // load into registers.
  constexpr int kRowsAtOnce = kCols == 1 ? 4 : 1;
  FG_CHUNK_UNROLL_BY(kRowsAtOnce)
  for (int r = 0; r < L; ++r) {
    FG_UNROLL
    for (int j = 0; j < kCols; ++j) {
      const int d = tid + j * NTHREADS;
      const float lambda = r < rows_valid ? f(g[r * GS + d]) : 0.0f;
      chunk::two_sum_add(h[j], l[j], lambda);
      if (r % 16 == 0) {
        h0[j] = h[j];
        l0[j] = l[j];
        tab_hi[(r / 16) * DK + d] = h[j];
        tab_lo[(r / 16) * DK + d] = l[j];
      }
      if constexpr (kTile) {
        const float dh = h[j] - h0[j], dl = l[j] - l0[j];
        if (KEEP_REL) g[r * GS + d] = dh + dl;  // this thread's own element, read above
        T* qp = chunk::elem_ptr(q, r, d);
        chunk::store_elem(qp, chunk::load_elem(qp) * exp_fast(dh + dl));
        T* kp = chunk::elem_ptr(k, r, d);
        chunk::store_elem(kp, chunk::load_elem(kp) * exp_fast(-dh - dl));
      } else if constexpr (MODE == vector_gating::q_from_chunk_start) {
        T* qp = chunk::elem_ptr(q, r, d);
        chunk::store_elem(qp, chunk::load_elem(qp) * exp_fast(h[j] + l[j]));
      }
    }
  }
  FG_UNROLL
  for (int j = 0; j < kCols; ++j) {
    const int d = tid + j * NTHREADS;
    tab_hi[(L / 16) * DK + d] = h[j];
    tab_lo[(L / 16) * DK + d] = l[j];
  }
  if constexpr (MODE == vector_gating::k_to_chunk_end) {
    // Backwards: c = b_L - b_s = sum_{u > s} lambda_u, a sum of
    // non-positive terms (accurate relative to itself, no TwoSum needed).
    FG_UNROLL
    for (int j = 0; j < kCols; ++j) {
      const int d = tid + j * NTHREADS;
      float c = 0.0f;
      FG_CHUNK_UNROLL_BY(kRowsAtOnce)
      for (int r = L - 1; r >= 0; --r) {
        T* kp = chunk::elem_ptr(k, r, d);
        chunk::store_elem(kp, chunk::load_elem(kp) * exp_fast(c));
        c += r < rows_valid ? f(g[r * GS + d]) : 0.0f;
      }
    }
  }
}

}  // namespace cta

namespace chunk {

/// exp(b[i] - b[j]) of key dim d from the vector tables (rows as
/// scan_vector_gates writes them; row L/16 is the chunk end), or exp(b[i])
/// with j < 0.
template <int DK>
FG_DEVICE float table_decay(const float* tab_hi, const float* tab_lo, int i, int j, int d) {
  const float hi = tab_hi[i * DK + d] - (j < 0 ? 0.0f : tab_hi[j * DK + d]);
  const float lo = tab_lo[i * DK + d] - (j < 0 ? 0.0f : tab_lo[j * DK + d]);
  return exp_fast(hi + lo);
}

}  // namespace chunk
}  // namespace fg

#endif  // FLASHGEN_DEVICE_CHUNK_GATES_CUH
