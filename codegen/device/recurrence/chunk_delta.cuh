//===- chunk_delta.cuh - flashgen device library: delta-rule chunk pieces -===//
//
// docs/semantics.md §7 on the device: what a chunk of the delta rule needs
// beyond the linear-attention pieces, split as the two kernels of
// delta_fused split it (passes/LowerChunkwise.cpp).
//
// delta_wy (the delta_prepare kernel, every chunk in parallel) computes the
// chunk's WY factors W = T diag(beta Gamma) K and U = T diag(beta) V with
// T = (I + A)^-1 and writes them to global scratch. A is built on the
// tensor cores (delta_a) and T solved in f32 in shared memory: the solve
// multiplies every row of A into every later row, so A rounded to 16 bits
// would compound its rounding through the substitution. T is then rounded
// to the element type for the two products, as fla's kernels round it.
//
// delta_correct (in the recurrent loop of delta_fused) turns them into the
// values each step writes given the chunk's start state, U~ = U - W S: one
// tensor-core product per chunk against the 16-bit copy of the state that
// the output product reads anyway. Everything that does not depend on the
// state stays out of the sequential loop.
//
// The solve (invert_unit_lower) is blocked by 16 rows: the 16 x 16
// unit-lower diagonal block is solved by one thread per column, its 16 rows
// sequential in registers, and its rows are then subtracted from all later
// rows by every thread at once (a rank-16 update): 2 L/16 - 1 barriers per
// chunk instead of one per row.
//
// The decay ratios exp(gamma_r - gamma_s) take their exponent from the
// compensated cumulative sums of chunk_gates.cuh (hi + lo, §4.1), as
// differences of the parts: accurate relative to themselves even where
// gamma reaches the -1000s.
//
// delta_row_norms is fla's l2norm (use_qk_l2norm_in_kernel, §7.1), once per
// chunk in delta_prepare: the staged k rows normalised in place, and every
// row's 1/|q_r| and 1/|k_r| written for delta_fused, which applies them as
// row scales (output rows, corrected values) instead of reducing q and k
// rows in each value tile's CTA.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_CHUNK_DELTA_CUH
#define FLASHGEN_DEVICE_CHUNK_DELTA_CUH

#include "flashgen/device/recurrence/chunk_io.cuh"
#include "flashgen/device/recurrence/chunk_mma.cuh"

namespace fg {
namespace chunk {

/// f32 value of a per-step operand (beta) stored as f32, bf16 or f16.
template <class T> FG_DEVICE float to_f32(T x) {
  if constexpr (same_type<T, float>::value)
    return x;
  else
    return to_float(x);
}

}  // namespace chunk

namespace cta {

/// A of §7.3 into s_a (L x L f32, row-major): the strictly lower part of
/// diag(beta) (K K^T .* D), D_rs = exp(gamma_r - gamma_s), gamma = hi + lo
/// (hi == nullptr: no decay). s_beta holds beta (0 at rows >= valid).
/// Warp w computes rows [w R, (w + 1) R); no barrier.
template <int kThreads, int L, int DK, class Elem>
FG_DEVICE void delta_a(const smem_tile<Elem, L, DK>& k, int valid, const float* hi, const float* lo,
                       const float* s_beta, float* s_a) {
  constexpr int R = L / (kThreads / 32);
  static_assert(R % 16 == 0, "delta_a: each warp needs whole 16-row mma tiles");
  constexpr int kBlocks = L / 16;
  const int lane = ptx::lane_id();
  const int row0 = (ptx::thread_id() / 32) * R;
  const int g = lane >> 2, t = lane & 3;
  const bool decay = hi != nullptr;
  // D_rs <= 1 for log-decays <= 0, so nothing overflows. One 16 x 16 block
  // of K K^T at a time (mma_block_ABt): 8 accumulators live instead of
  // R L / 32, and the blocks above the diagonal, all zero, cost no MMAs
  // (warp-uniform branch). Their zeros are written all the same: the whole
  // L x L is defined.
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m) {
    const int ib = row0 / 16 + m;  // this tile's 16-row block of the chunk
    float b[2], hr[2], lr[2];
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int r = ib * 16 + g + 8 * h;
      b[h] = r < valid ? s_beta[r] : 0.0f;
      hr[h] = decay ? hi[r] : 0.0f;
      lr[h] = decay ? lo[r] : 0.0f;
    }
    FG_CHUNK_NO_UNROLL
    for (int jb = 0; jb < kBlocks; ++jb) {
      float d[2][4] = {};
      if (jb <= ib) warp::mma_block_ABt<2>(d[0], d[1], k, ib * 16, k, jb * 16, warp::unscaled{});
      FG_UNROLL
      for (int n = 0; n < 2; ++n)
        FG_UNROLL
        for (int e = 0; e < 4; ++e) {
          const int h = e >> 1;
          const int r = ib * 16 + g + 8 * h, s = jb * 16 + n * 8 + 2 * t + (e & 1);
          float a = 0.0f;
          if (s < r) {
            const float dec = decay ? exp_fast((hr[h] - hi[s]) + (lr[h] - lo[s])) : 1.0f;
            a = b[h] * dec * d[n][e];
          }
          s_a[r * L + s] = a;
        }
    }
  }
}

/// T = (I + A)^-1 in place in s_t (L x L f32, row-major, the identity on
/// entry), A the unit strictly-lower s_a (L x L): the solve of (I + A) T = I.
/// T is lower triangular, so the columns past each 16-row block are never
/// touched. Every thread calls it; ends with a barrier.
template <int kThreads, int L> FG_DEVICE void invert_unit_lower(const float* s_a, float* s_t) {
  constexpr int kBlocks = L / 16;
  const int tid = ptx::thread_id();
  // 16-row block by block: block b's rows already hold I minus the
  // contributions of all earlier blocks; (i) removes those of the block's
  // own earlier rows, (ii) subtracts the finished block from every later row.
  // Unrolled: each block's column count is a constant (no divisions).
  FG_UNROLL
  for (int blk = 0; blk < kBlocks; ++blk) {
    const int r0 = blk * 16;
    // (i) One thread per column: the block's 16 rows in registers, solved
    // right-looking (each finished row is subtracted from the later ones at
    // once), so the dependent chain is 16 FMAs deep, not the 120 of a
    // row-by-row dot product. A's diagonal block is read as broadcasts (all
    // threads read the same entry). Column j of T is zero above row j:
    // the columns past the block stay zero and are skipped.
    for (int j = tid; j < r0 + 16; j += kThreads) {
      float x[16];
      FG_UNROLL
      for (int i = 0; i < 16; ++i) x[i] = s_t[(r0 + i) * L + j];
      FG_UNROLL
      for (int s = 0; s < 16; ++s)
        FG_UNROLL
        for (int i = s + 1; i < 16; ++i) x[i] -= s_a[(r0 + i) * L + r0 + s] * x[s];
      FG_UNROLL
      for (int i = 0; i < 16; ++i) s_t[(r0 + i) * L + j] = x[i];
    }
    ptx::cta_sync();
    // (ii) Every later element at once (its nonzero columns); consecutive
    // threads take consecutive columns, so the reads of the block's rows
    // are conflict-free and A's entries are broadcasts. Two partial sums
    // halve the dependent chain.
    if (blk + 1 < kBlocks) {
      const int first = r0 + 16;
      const int cols = r0 + 16;
      const int count = (L - first) * cols;
      for (int idx = tid; idx < count; idx += kThreads) {
        const int r = first + idx / cols, j = idx % cols;
        const float* a_row = s_a + r * L + r0;
        float x0 = s_t[r * L + j], x1 = 0.0f;
        FG_UNROLL
        for (int s = 0; s < 16; s += 2) {
          x0 -= a_row[s] * s_t[(r0 + s) * L + j];
          x1 -= a_row[s + 1] * s_t[(r0 + s + 1) * L + j];
        }
        s_t[r * L + j] = x0 + x1;
      }
      ptx::cta_sync();
    }
  }
}

/// out[rows r < valid of this warp's R] = (T .* column weights) x src in
/// the element type, 64 columns at a time (the accumulator stays R x 64
/// whatever the width), stored from the accumulator's fragments.
template <int kThreads, int L, int N, class Elem>
FG_DEVICE void wy_product(const smem_tile<Elem, L, L>& t, const smem_tile<Elem, L, N>& src, const float* weights,
                          int valid, Elem* out, i64 stride) {
  constexpr int R = L / (kThreads / 32);
  constexpr int kStep = N < 64 ? N : 64;
  static_assert(N % kStep == 0, "wy_product: whole column steps");
  const int lane = ptx::lane_id();
  const int row0 = (ptx::thread_id() / 32) * R;
  const int g = lane >> 2, tq = lane & 3;
  FG_CHUNK_NO_UNROLL
  for (int c0 = 0; c0 < N; c0 += kStep) {
    acc_tile<R, kStep> acc;
    warp::zero(acc);
    warp::mma_AB_chunk<L>(acc, t, row0, src, 0, c0, [&](int, int s) { return weights[s]; });
    FG_UNROLL
    for (int m = 0; m < R / 16; ++m)
      FG_UNROLL
      for (int h = 0; h < 2; ++h) {
        const int r = row0 + m * 16 + g + 8 * h;
        if (r >= valid) continue;
        FG_UNROLL
        for (int n = 0; n < kStep / 8; ++n) {
          const int j = c0 + n * 8 + 2 * tq;
          *reinterpret_cast<u32*>(out + r * stride + j) = pack2<Elem>(acc.v[m][n][2 * h], acc.v[m][n][2 * h + 1]);
        }
      }
  }
}

/// The chunk's WY factors (§7.3), written to global memory:
///   W = (I + A)^-1 diag(beta Gamma) K,   U = (I + A)^-1 diag(beta) V,
/// A_rs = beta_r exp(gamma_r - gamma_s) (k_r . k_s) for s < r, Gamma_r =
/// exp(gamma_r), gamma_r = hi[r] + lo[r] (hi == nullptr: no decay; else lo
/// too). beta_r = beta[r * beta_stride] for r < valid, 0 at rows past the
/// sequence (whose k and v rows are zero in shared memory), so W and U rows
/// there are 0; rows [0, valid) of w_out and u_out are written.
/// T = (I + A)^-1 is solved in f32 (s_a: A, s_t: T, L x L floats each) and
/// rounded into t (an L x L tile) for the two tensor-core products, as the
/// peers do; s_beta takes L floats. Every thread of the CTA calls it; warp
/// w computes rows [w R, (w + 1) R), R = L / (kThreads / 32), of W and U,
/// 64 columns at a time.
template <int kThreads, int L, int DK, int DV, class Elem, class BetaT>
FG_DEVICE void delta_wy(const smem_tile<Elem, L, DK>& k, const smem_tile<Elem, L, DV>& v,
                        const smem_tile<Elem, L, L>& t, const BetaT* beta, i64 beta_stride, int valid,
                        const float* hi, const float* lo, float* s_beta, float* s_a, float* s_t, Elem* w_out,
                        i64 w_stride, Elem* u_out, i64 u_stride) {
  constexpr int kWarps = kThreads / 32;
  static_assert(kThreads % 32 == 0 && L % kWarps == 0, "delta_wy: whole warps, equal row shares");
  constexpr int R = L / kWarps;
  static_assert(R % 16 == 0, "delta_wy: each warp needs whole 16-row mma tiles");
  static_assert(DK % 16 == 0 && DV % 16 == 0, "delta_wy: DK and DV multiples of 16");
  const int tid = ptx::thread_id();

  for (int r = tid; r < L; r += kThreads) s_beta[r] = r < valid ? chunk::to_f32(beta[r * beta_stride]) : 0.0f;
  ptx::cta_sync();
  delta_a<kThreads, L, DK>(k, valid, hi, lo, s_beta, s_a);
  // (I + A) T = I: T starts as the identity.
  for (int i = tid; i < L * L; i += kThreads) s_t[i] = (i / L == i % L) ? 1.0f : 0.0f;
  ptx::cta_sync();
  invert_unit_lower<kThreads, L>(s_a, s_t);
  for (int p = tid; p < L * L / 2; p += kThreads) {
    const int r = p / (L / 2), j = 2 * (p % (L / 2));
    ptx::st_shared_b32(t.elem_addr(r, j), pack2<Elem>(s_t[r * L + j], s_t[r * L + j + 1]));
  }
  // A is solved: its first row holds the weights beta_s Gamma_s of W's
  // columns of T from here on.
  for (int r = tid; r < L; r += kThreads)
    s_a[r] = hi != nullptr ? s_beta[r] * exp_fast(hi[r] + lo[r]) : s_beta[r];
  ptx::cta_sync();

  wy_product<kThreads>(t, k, s_a, valid, w_out, w_stride);
  wy_product<kThreads>(t, v, s_beta, valid, u_out, u_stride);
}

/// The values each step of the chunk writes given its start state S (c, the
/// 16-bit copy of the carried state): U~ = U - W S, in place of the staged
/// U tile u (L x DV) from the staged W tile w (L x DK), each row r times
/// row_scale[r * scale_stride] when given (1 / |k_r| with l2norm_qk: the
/// state update and the intra-chunk product then read raw k, see
/// delta_row_norms). Warp w corrects its own rows [w R, (w + 1) R); ends
/// with a barrier (the outputs and the state update read every row).
template <int kThreads, int L, int DK, int DV, class Elem>
FG_DEVICE void delta_correct(const smem_tile<Elem, L, DK>& w, const smem_tile<Elem, L, DV>& u,
                             const smem_tile<Elem, DK, DV>& c, const float* row_scale,
                             int scale_stride) {
  constexpr int R = L / (kThreads / 32);
  static_assert(R % 16 == 0, "delta_correct: each warp needs whole 16-row mma tiles");
  const int lane = ptx::lane_id();
  const int row0 = (ptx::thread_id() / 32) * R;
  const int g = lane >> 2, t = lane & 3;
  acc_tile<R, DV> ws;
  warp::zero(ws);
  warp::mma_AB_chunk<DK>(ws, w, row0, c, 0, 0);
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int r = row0 + m * 16 + g + 8 * h;
      const float scale = row_scale != nullptr ? row_scale[r * scale_stride] : 1.0f;
      FG_UNROLL
      for (int n = 0; n < DV / 8; ++n) {
        const int j = n * 8 + 2 * t;
        const u32 addr = u.elem_addr(r, j);
        const u32 up = ptx::ld_shared_b32(addr);
        ptx::st_shared_b32(addr, pack2<Elem>((unpack<Elem>(up, 0) - ws.v[m][n][2 * h]) * scale,
                                             (unpack<Elem>(up, 1) - ws.v[m][n][2 * h + 1]) * scale));
      }
    }
  ptx::cta_sync();
}

/// The chunk's q rows as delta_row_norms reads them from global memory:
/// lanes split a row in 16-byte pieces, a warp covers 32 / (D / 8) rows per
/// pass and holds its passes' pieces in registers (every load in flight at
/// once), so the copies overlap whatever the CTA does before reducing them.
template <int kThreads, int L, int D, class Elem> struct global_rows {
  static constexpr int kPieces = D / 8;  // 16-byte pieces per row
  static_assert(D % 8 == 0 && (kPieces <= 32 ? 32 % kPieces == 0 : kPieces % 32 == 0),
                "global_rows: rows of whole 16-byte pieces that tile a warp");
  static constexpr int kLanesPerRow = kPieces < 32 ? kPieces : 32;
  static constexpr int kRowsPerPass = 32 / kLanesPerRow;
  static constexpr int kPerLane = kPieces / kLanesPerRow;
  static constexpr int kWarps = kThreads / 32;
  static_assert(L % (kRowsPerPass * kWarps) == 0, "global_rows: equal passes per warp");
  static constexpr int kPasses = L / (kRowsPerPass * kWarps);

  struct alignas(16) piece {
    u32 w[4];
  };
  u32 x[kPasses][kPerLane][4];  // words of the lane's pieces, 0 past valid

  FG_DEVICE static int lane_piece() { return ptx::lane_id() % kLanesPerRow; }
  FG_DEVICE static int row(int pass) {
    return (ptx::thread_id() / 32) * kPasses * kRowsPerPass + ptx::lane_id() / kLanesPerRow + pass * kRowsPerPass;
  }

  /// Loads rows [0, valid) (rows 16-byte aligned, as the chunk loads
  /// need); 0 past valid.
  FG_DEVICE void load(const Elem* src, i64 row_stride, int valid) {
    FG_UNROLL
    for (int p = 0; p < kPasses; ++p)
      FG_UNROLL
      for (int i = 0; i < kPerLane; ++i) {
        if (row(p) < valid) {
          const piece v =
              *reinterpret_cast<const piece*>(src + row(p) * row_stride + (lane_piece() + i * kLanesPerRow) * 8);
          FG_UNROLL
          for (int w = 0; w < 4; ++w) x[p][i][w] = v.w[w];
        } else {
          FG_UNROLL
          for (int w = 0; w < 4; ++w) x[p][i][w] = 0;
        }
      }
  }

  /// scales[r * stride] = 1 / sqrt(|row r|^2 + 1e-6) for r < valid, 0 past
  /// it. No barrier.
  FG_DEVICE void inv_norms(int valid, float* scales, int stride) const {
    float ss[kPasses];
    FG_UNROLL
    for (int p = 0; p < kPasses; ++p) {
      ss[p] = 0.0f;
      FG_UNROLL
      for (int i = 0; i < kPerLane; ++i)
        FG_UNROLL
        for (int w = 0; w < 4; ++w) {
          const float a = unpack<Elem>(x[p][i][w], 0), b = unpack<Elem>(x[p][i][w], 1);
          ss[p] += a * a + b * b;
        }
    }
    FG_UNROLL
    for (int off = kLanesPerRow / 2; off > 0; off >>= 1)
      FG_UNROLL
      for (int p = 0; p < kPasses; ++p) ss[p] += ptx::shfl_xor(ss[p], off);
    if (lane_piece() == 0)
      FG_UNROLL
      for (int p = 0; p < kPasses; ++p) scales[row(p) * stride] = row(p) < valid ? rsqrtf(ss[p] + 1e-6f) : 0.0f;
  }
};

/// Multiplies each row of the staged tile t by 1 / sqrt(|row|^2 + 1e-6)
/// (f32, rounded back to Elem) and writes that factor to scales[r *
/// stride]: fla's l2norm of the rows, in place. A warp takes kRows rows at
/// a time, each lane D/32 elements of each as column pairs (conflict-free
/// in the swizzled row); the rows' shuffle reductions are independent
/// chains that overlap. No barrier.
template <int kThreads, int L, int D, class Elem>
FG_DEVICE void l2norm_rows(const smem_tile<Elem, L, D>& t, float* scales, int stride) {
  static_assert(kThreads % 32 == 0, "l2norm_rows: whole warps");
  constexpr int kWarps = kThreads / 32;
  constexpr int kPairs = D / 2;
  constexpr int kPerLane = (kPairs + 31) / 32;
  constexpr int kRows = 4;
  const int lane = ptx::lane_id();
  // Warp-uniform loop: every lane of a warp reaches the shuffles.
  for (int r0 = (ptx::thread_id() / 32) * kRows; r0 < L; r0 += kWarps * kRows) {
    float x[kRows][kPerLane][2];
    float ss[kRows];
    FG_UNROLL
    for (int j = 0; j < kRows; ++j) {
      ss[j] = 0.0f;
      FG_UNROLL
      for (int i = 0; i < kPerLane; ++i) {
        const int p = lane + 32 * i;
        x[j][i][0] = x[j][i][1] = 0.0f;
        if (r0 + j < L && (kPairs % 32 == 0 || p < kPairs)) {
          const u32 w = ptx::ld_shared_b32(t.elem_addr(r0 + j, 2 * p));
          x[j][i][0] = unpack<Elem>(w, 0);
          x[j][i][1] = unpack<Elem>(w, 1);
        }
        ss[j] += x[j][i][0] * x[j][i][0] + x[j][i][1] * x[j][i][1];
      }
    }
    FG_UNROLL
    for (int off = 16; off > 0; off >>= 1)
      FG_UNROLL
      for (int j = 0; j < kRows; ++j) ss[j] += ptx::shfl_xor(ss[j], off);
    FG_UNROLL
    for (int j = 0; j < kRows; ++j) {
      const float inv = rsqrtf(ss[j] + 1e-6f);
      if (lane == 0 && r0 + j < L) scales[(r0 + j) * stride] = inv;
      FG_UNROLL
      for (int i = 0; i < kPerLane; ++i) {
        const int p = lane + 32 * i;
        if (r0 + j < L && (kPairs % 32 == 0 || p < kPairs))
          ptx::st_shared_b32(t.elem_addr(r0 + j, 2 * p), pack2<Elem>(x[j][i][0] * inv, x[j][i][1] * inv));
      }
    }
  }
}

/// delta_prepare's l2norm_qk (docs/semantics.md §7.1) of one chunk: the
/// rows' 1/|q_r| (q read from global memory, rows < valid) and 1/|k_r| (the
/// staged k tile) into s_norm ([L][2] f32) and on to norm_out (the chunk's
/// [L][2] rows of delta_norm, contiguous; 0 past valid), and the staged k
/// rows multiplied by theirs, rounded to Elem (A and W are built from
/// them). q's loads are issued first and land while k is normalised.
/// Every thread calls it; ends with a barrier.
template <int kThreads, int L, int DK, class Elem>
FG_DEVICE void delta_row_norms(const smem_tile<Elem, L, DK>& k, const Elem* q, i64 q_stride, int valid,
                               float* s_norm, float* norm_out) {
  global_rows<kThreads, L, DK, Elem> q_rows;
  q_rows.load(q, q_stride, valid);
  l2norm_rows<kThreads>(k, s_norm + 1, 2);
  q_rows.inv_norms(valid, s_norm, 2);
  ptx::cta_sync();
  // Rows past valid are zero in the k tile (scale 1000); 0 in the scratch.
  for (int i = ptx::thread_id(); i < 2 * L; i += kThreads) norm_out[i] = (i / 2) < valid ? s_norm[i] : 0.0f;
}

}  // namespace cta
}  // namespace fg

#endif  // FLASHGEN_DEVICE_CHUNK_DELTA_CUH
