//===- chunk_delta.cuh - flashgen device library: delta-rule chunk pieces -===//
//
// docs/semantics.md §7 on the device: what a chunk of the delta rule needs
// beyond the linear-attention pieces.
//
// delta_values computes the values each step of the chunk writes, given the
// chunk's start state S,
//     U~ = (I + A)^-1 diag(beta) (V - diag(Gamma) K S),
// in place of the staged value tile. §7.3 defines it as U - W S with two
// triangular solves (U from V, W from K); folding W S into the right-hand
// side first leaves one solve with DV right-hand sides, and W (L x DK) is
// never formed. K S is a tensor-core product against the 16-bit copy of the
// state that the output product reads anyway. Everything after the products
// stays in f32 in shared memory: the solve multiplies every row of A into
// every later row, so A rounded to 16 bits would compound its rounding
// through the substitution.
//
// The solve is blocked by 16 rows: the 16 x 16 unit-lower diagonal block is
// solved by one thread per value column, its 16 rows sequential in
// registers, and its rows are then subtracted from all later rows by every
// thread at once (a rank-16 update). That is 2 L/16 - 1 barriers per chunk
// instead of one per row, and all but the 120 dependent FMAs per block and
// column run in parallel.
//
// The decay ratios exp(gamma_r - gamma_s) take their exponent from the
// compensated cumulative sums of chunk_gates.cuh (hi + lo, §4.1), as
// differences of the parts: accurate relative to themselves even where
// gamma reaches the -1000s.
//
// l2norm_rows is fla's l2norm (use_qk_l2norm_in_kernel, §7.1) of the staged
// q or k rows, in place.
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

/// Overwrites the staged value tile v (L rows x DV columns) with
///   U~ = (I + A)^-1 diag(beta) (V - diag(Gamma) K S)
/// where K = k (L x DK), S = c (DK x DV, a 16-bit copy of the carried f32
/// state), A_rs = beta_r exp(gamma_r - gamma_s) (k_r . k_s) for s < r and 0
/// otherwise, Gamma_r = exp(gamma_r), gamma_r = hi[r] + lo[r] (hi == nullptr:
/// no decay, gamma = 0; otherwise lo must be given too), and
/// gamma_r - gamma_s = (hi[r] - hi[s]) + (lo[r] - lo[s]).
/// beta_r = beta[r * beta_stride] for r < valid and 0 for r >= valid (rows
/// at or past `valid` are outside the sequence; k and v rows there are
/// already zero in shared memory): those rows of v come out exactly 0, and
/// beta is not read there.
/// Shared scratch from the caller: s_beta L floats, s_a L x L, s_r L x DV.
/// hi and lo may be in shared or global memory. Every thread of the CTA
/// calls it; warp w computes the products of rows [w R, (w + 1) R),
/// R = L / (kThreads / 32). Ends with a barrier: v is complete, and the
/// scratch may be reused.
template <int kThreads, int L, int DK, int DV, class Elem, class BetaT>
FG_DEVICE void delta_values(const smem_tile<Elem, L, DK>& k, const smem_tile<Elem, L, DV>& v,
                            const smem_tile<Elem, DK, DV>& c, const BetaT* beta, i64 beta_stride, int valid,
                            const float* hi, const float* lo, float* s_beta, float* s_a, float* s_r) {
  constexpr int kWarps = kThreads / 32;
  static_assert(kThreads % 32 == 0 && L % kWarps == 0, "delta_values: whole warps, equal row shares");
  constexpr int R = L / kWarps;
  static_assert(R % 16 == 0, "delta_values: each warp needs whole 16-row mma tiles");
  static_assert(DK % 16 == 0 && DV % 16 == 0, "delta_values: DK and DV multiples of 16");
  constexpr int kBlocks = L / 16;
  const int tid = ptx::thread_id();
  const int lane = ptx::lane_id();
  const int row0 = (tid / 32) * R;
  const int g = lane >> 2, t = lane & 3;
  const bool decay = hi != nullptr;

  // a. beta, once per row: every element of row r reads it in b and c.
  for (int r = tid; r < L; r += kThreads) s_beta[r] = r < valid ? chunk::to_f32(beta[r * beta_stride]) : 0.0f;
  ptx::cta_sync();

  // b. The right-hand side diag(beta) (V - diag(Gamma) K S), row by row of
  // this warp's K S accumulator. V is read as the pairs the accumulator
  // holds (columns 2t, 2t + 1 of each 8-column tile).
  {
    acc_tile<R, DV> ks;
    warp::zero(ks);
    warp::mma_AB_chunk<DK>(ks, k, row0, c, 0, 0);
    FG_UNROLL
    for (int m = 0; m < R / 16; ++m)
      FG_UNROLL
      for (int h = 0; h < 2; ++h) {
        const int r = row0 + m * 16 + g + 8 * h;
        const bool in = r < valid;
        const float b = s_beta[r];
        const float gam = decay ? exp_fast(hi[r] + lo[r]) : 1.0f;
        FG_UNROLL
        for (int n = 0; n < DV / 8; ++n) {
          const int j = n * 8 + 2 * t;
          const u32 vp = ptx::ld_shared_b32(v.elem_addr(r, j));
          // Rows past the sequence are exactly 0 whatever the products hold.
          s_r[r * DV + j] = in ? b * (unpack<Elem>(vp, 0) - gam * ks.v[m][n][2 * h]) : 0.0f;
          s_r[r * DV + j + 1] = in ? b * (unpack<Elem>(vp, 1) - gam * ks.v[m][n][2 * h + 1]) : 0.0f;
        }
      }
  }

  // c. A = strictly lower part of diag(beta) (K K^T .* D), D_rs = exp(gamma_r
  // - gamma_s) (<= 1 for log-decays <= 0, so nothing overflows). One 16 x 16
  // block of K K^T at a time (mma_block_ABt): 8 accumulators live instead
  // of R L / 32, next to the state slice the kernel keeps in registers, and
  // the blocks above the diagonal, all zero, cost no MMAs (warp-uniform
  // branch). Their zeros are written all the same: the whole L x L is defined.
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
  ptx::cta_sync();

  // d. (I + A) U = rhs in place in s_r, 16-row block by block. Block b's
  // rows already hold rhs minus the contributions of all earlier blocks;
  // (i) removes those of the block's own earlier rows, (ii) subtracts the
  // finished block from every later row.
  FG_CHUNK_NO_UNROLL
  for (int blk = 0; blk < kBlocks; ++blk) {
    const int r0 = blk * 16;
    // (i) One thread per column: 16 sequential rows in registers, A's
    // diagonal block read as broadcasts (all threads read the same row).
    for (int j = tid; j < DV; j += kThreads) {
      float u[16];
      FG_UNROLL
      for (int i = 0; i < 16; ++i) {
        const float* a_row = s_a + (r0 + i) * L + r0;
        float x = s_r[(r0 + i) * DV + j];
        FG_UNROLL
        for (int s = 0; s < i; ++s) x -= a_row[s] * u[s];
        u[i] = x;
        s_r[(r0 + i) * DV + j] = x;
      }
    }
    ptx::cta_sync();
    // (ii) Every later element at once; consecutive threads take
    // consecutive columns, so the reads of the block's rows are
    // conflict-free and A's entries are broadcasts.
    if (blk + 1 < kBlocks) {
      const int first = r0 + 16;
      const int count = (L - first) * DV;
      for (int idx = tid; idx < count; idx += kThreads) {
        const int r = first + idx / DV, j = idx % DV;
        const float* a_row = s_a + r * L + r0;
        float x = s_r[r * DV + j];
        FG_UNROLL
        for (int s = 0; s < 16; ++s) x -= a_row[s] * s_r[(r0 + s) * DV + j];
        s_r[r * DV + j] = x;
      }
      ptx::cta_sync();
    }
  }

  // e. U~ rounded into the value tile (nothing reads v after b), a pair of
  // columns per 32-bit store.
  for (int p = tid; p < L * DV / 2; p += kThreads) {
    const int r = p / (DV / 2), j = 2 * (p % (DV / 2));
    ptx::st_shared_b32(v.elem_addr(r, j), pack2<Elem>(s_r[r * DV + j], s_r[r * DV + j + 1]));
  }
  ptx::cta_sync();
}

/// Divides each row of t (rows [0, L), D columns) by sqrt(|row|^2 + 1e-6)
/// in f32, rounded back to Elem (fla's l2norm, docs/semantics.md §7.1).
/// Rows of zeros (past the sequence end) stay zero. One warp per row, rows
/// strided by the warp count; each lane reads D/32 elements as column pairs
/// (a warp's reads of a row are 128 contiguous bytes, conflict-free in the
/// swizzled row). Every thread of the CTA calls it; ends with a barrier.
template <int kThreads, int L, int D, class Elem> FG_DEVICE void l2norm_rows(const smem_tile<Elem, L, D>& t) {
  static_assert(kThreads % 32 == 0, "l2norm_rows: whole warps");
  constexpr int kWarps = kThreads / 32;
  constexpr int kPairs = D / 2;
  constexpr int kPerLane = (kPairs + 31) / 32;
  const int lane = ptx::lane_id();
  // Warp-uniform loop: every lane of a warp reaches the shuffles.
  for (int r = ptx::thread_id() / 32; r < L; r += kWarps) {
    float x[kPerLane][2];
    float ss = 0.0f;
    FG_UNROLL
    for (int i = 0; i < kPerLane; ++i) {
      const int p = lane + 32 * i;
      x[i][0] = x[i][1] = 0.0f;
      if (kPairs % 32 == 0 || p < kPairs) {
        const u32 w = ptx::ld_shared_b32(t.elem_addr(r, 2 * p));
        x[i][0] = unpack<Elem>(w, 0);
        x[i][1] = unpack<Elem>(w, 1);
      }
      ss += x[i][0] * x[i][0] + x[i][1] * x[i][1];
    }
    FG_UNROLL
    for (int off = 16; off > 0; off >>= 1) ss += ptx::shfl_xor(ss, off);
    const float inv = 1.0f / sqrtf(ss + 1e-6f);
    FG_UNROLL
    for (int i = 0; i < kPerLane; ++i) {
      const int p = lane + 32 * i;
      if (kPairs % 32 == 0 || p < kPairs)
        ptx::st_shared_b32(t.elem_addr(r, 2 * p), pack2<Elem>(x[i][0] * inv, x[i][1] * inv));
    }
  }
  ptx::cta_sync();
}

}  // namespace cta
}  // namespace fg

#endif  // FLASHGEN_DEVICE_CHUNK_DELTA_CUH
