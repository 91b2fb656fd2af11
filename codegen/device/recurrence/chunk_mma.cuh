//===- chunk_mma.cuh - flashgen device library: chunk GEMMs --------------===//
//
// The shared-memory tile GEMMs of the recurrence kernels (mma.cuh's shapes)
// with two differences. Their k loop is unrolled KU steps at a time, not
// fully: a recurrence kernel keeps its state slice in 64 registers through
// every product, and fully unrolled loops let the compiler hoist so many
// fragment loads that it spills. And their A operand may be weighted element
// by element on its way to the tensor cores: the fragment is loaded with
// ldmatrix, each of its eight 16-bit values multiplied in f32 by f(m, k) (m
// the row and k the reduction index of A) and rounded back.
// That is how gates enter the products of a chunk without another pass over
// shared memory:
//   state update   C += (K diag(w))^T V        f(d, s) = w_s (or per-dim)
//   inter-chunk    H += (Q diag(e)) C          f(r, d) = exp(b_r0d) (vector)
//   scores         S = (Q diag(x)) K^T         f(r, d) = exp(b_r0d - b_s0d)
// f is inlined; values it computes from its arguments are shared by the
// M/16 row tiles and recomputed per k step only.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_CHUNK_MMA_CUH
#define FLASHGEN_DEVICE_CHUNK_MMA_CUH

#include "flashgen/device/recurrence/chunk_gates.cuh"
#include "flashgen/device/matmul/mma.cuh"

namespace fg {
namespace chunk {

/// T with references removed (NVRTC has no <type_traits>).
template <class T> struct remove_ref {
  using type = T;
};
template <class T> struct remove_ref<T&> {
  using type = T;
};
template <class T> struct remove_ref<T&&> {
  using type = T;
};

}  // namespace chunk

namespace warp {

/// The f of an unweighted product.
struct unscaled {};

/// a (an A fragment of the 16x16 block with first row m0 and first k k0)
/// times f(m, k) element-wise. A-fragment register i holds row m0 + g +
/// 8 (i % 2) and k = k0 + 2t + 8 (i / 2) + {0, 1} (g = lane/4, t = lane%4).
template <class T, class F> FG_DEVICE void scale_a(u32 (&a)[4], int m0, int k0, F&& f) {
  if constexpr (!same_type<typename chunk::remove_ref<F>::type, unscaled>::value) {
    const int lane = ptx::lane_id();
    const int g = lane >> 2, t = lane & 3;
    FG_UNROLL
    for (int i = 0; i < 4; ++i) {
      const int m = m0 + g + 8 * (i & 1);
      const int k = k0 + 2 * t + 8 * (i >> 1);
      a[i] = pack2<T>(unpack<T>(a[i], 0) * f(m, k), unpack<T>(a[i], 1) * f(m, k + 1));
    }
  }
}

/// body(k) for k = 0 .. KT-1: KU steps unrolled inside a loop that is not.
/// The recurrence kernels keep a 64-register state slice live through every
/// product, so a fully unrolled k loop (whose fragment loads the compiler
/// hoists) would spill; KU = 2 still overlaps two steps' loads with MMAs.
template <int KT, int KU, class B> FG_DEVICE void k_steps(B&& body) {
  constexpr int kU = KT % KU == 0 ? KU : 1;
  FG_CHUNK_NO_UNROLL
  for (int k0 = 0; k0 < KT; k0 += kU) {
    FG_UNROLL
    for (int k = 0; k < kU; ++k) body(k0 + k);
  }
}

/// c += (A .* F) * B^T: A = rows [a_row0, a_row0+M) of a (K = its columns),
/// B^T = rows [b_row0, b_row0+N) of b; F(m, k) with m relative to a_row0.
template <int KU = 2, int M, int N, class T, int AR, int BR, int K, class F = unscaled>
FG_DEVICE void mma_ABt_chunk(acc_tile<M, N>& c, const smem_tile<T, AR, K>& a, int a_row0,
                             const smem_tile<T, BR, K>& b, int b_row0, F&& f = F{}) {
  static_assert(K % 16 == 0 && N % 16 == 0, "mma_ABt_chunk: K and N multiples of 16");
  constexpr int MT = M / 16, NP = N / 16;
  k_steps<K / 16, KU>([&](int k) {
    u32 af[MT][4];
    FG_UNROLL
    for (int m = 0; m < MT; ++m) {
      load_a(af[m], a, a_row0 + m * 16, k * 16);
      scale_a<T>(af[m], m * 16, k * 16, f);
    }
    FG_UNROLL
    for (int p = 0; p < NP; ++p) {
      u32 bf[4];
      load_b_nk(bf, b, b_row0 + p * 16, k * 16);
      FG_UNROLL
      for (int m = 0; m < MT; ++m) {
        mma_16816<T>(c.v[m][2 * p], af[m], bf[0], bf[1]);
        mma_16816<T>(c.v[m][2 * p + 1], af[m], bf[2], bf[3]);
      }
    }
  });
}

/// c += (A .* F) * B: A = rows [a_row0, a_row0+M), columns [0, K) of a;
/// B = rows [b_row0, b_row0+K), columns [b_col0, b_col0+N) of b.
template <int K, int KU = 2, int M, int N, class T, int AR, int AC, int BR, int BC, class F = unscaled>
FG_DEVICE void mma_AB_chunk(acc_tile<M, N>& c, const smem_tile<T, AR, AC>& a, int a_row0,
                            const smem_tile<T, BR, BC>& b, int b_row0, int b_col0, F&& f = F{}) {
  static_assert(K % 16 == 0 && N % 16 == 0, "mma_AB_chunk: K and N multiples of 16");
  constexpr int MT = M / 16, NP = N / 16;
  k_steps<K / 16, KU>([&](int k) {
    u32 af[MT][4];
    FG_UNROLL
    for (int m = 0; m < MT; ++m) {
      load_a(af[m], a, a_row0 + m * 16, k * 16);
      scale_a<T>(af[m], m * 16, k * 16, f);
    }
    FG_UNROLL
    for (int p = 0; p < NP; ++p) {
      u32 bf[4];
      load_b_kn(bf, b, b_row0 + k * 16, b_col0 + p * 16);
      FG_UNROLL
      for (int m = 0; m < MT; ++m) {
        mma_16816<T>(c.v[m][2 * p], af[m], bf[0], bf[1]);
        mma_16816<T>(c.v[m][2 * p + 1], af[m], bf[2], bf[3]);
      }
    }
  });
}

/// c += (A .* F) * B with A stored transposed: A^T = rows [a_row0, a_row0+K),
/// columns [a_col0, a_col0+M) of a; B = rows [b_row0, b_row0+K), columns
/// [b_col0, b_col0+N) of b. F(m, k): m relative to a_col0, k to a_row0.
template <int K, int KU = 2, int M, int N, class T, int AR, int AC, int BR, int BC, class F = unscaled>
FG_DEVICE void mma_AtB_chunk(acc_tile<M, N>& c, const smem_tile<T, AR, AC>& a, int a_row0, int a_col0,
                             const smem_tile<T, BR, BC>& b, int b_row0, int b_col0, F&& f = F{}) {
  static_assert(K % 16 == 0 && N % 16 == 0, "mma_AtB_chunk: K and N multiples of 16");
  constexpr int MT = M / 16, NP = N / 16;
  k_steps<K / 16, KU>([&](int k) {
    u32 af[MT][4];
    FG_UNROLL
    for (int m = 0; m < MT; ++m) {
      load_a_t(af[m], a, a_row0 + k * 16, a_col0 + m * 16);
      scale_a<T>(af[m], m * 16, k * 16, f);
    }
    FG_UNROLL
    for (int p = 0; p < NP; ++p) {
      u32 bf[4];
      load_b_kn(bf, b, b_row0 + k * 16, b_col0 + p * 16);
      FG_UNROLL
      for (int m = 0; m < MT; ++m) {
        mma_16816<T>(c.v[m][2 * p], af[m], bf[0], bf[1]);
        mma_16816<T>(c.v[m][2 * p + 1], af[m], bf[2], bf[3]);
      }
    }
  });
}

/// h += P V for rows [row0, row0+M) of a staged P tile (chunk_scored: the
/// scores pre-pass wrote each chunk's P gated and masked, 16-bit) and the
/// 16-key blocks [0, k_blocks) of it and of v's rows: P's A fragments come
/// straight from shared memory, no f32 score tile, no decay map. ROW_SUMS:
/// n (a lane's shares of the rows' normaliser sums) += the P elements
/// this lane's fragments hold (A register i: row g + 8 (i % 2), columns
/// 2t + 8 (i / 2) + {0, 1}).
template <bool ROW_SUMS, int M, int N, class T, int PR, int PC, int BR, int BC>
FG_DEVICE void mma_staged_scores(acc_tile<M, N>& h, row_vec<M>& n, const smem_tile<T, PR, PC>& p, int row0,
                                 const smem_tile<T, BR, BC>& v, int k_blocks) {
  static_assert(M % 16 == 0 && N % 16 == 0, "mma_staged_scores: whole 16 x 16 blocks");
  constexpr int MT = M / 16, NP = N / 16;
  FG_CHUNK_NO_UNROLL
  for (int k = 0; k < k_blocks; ++k) {
    u32 af[MT][4];
    FG_UNROLL
    for (int m = 0; m < MT; ++m) {
      load_a(af[m], p, row0 + m * 16, k * 16);
      if constexpr (ROW_SUMS) {
        n.v[m][0] += (unpack<T>(af[m][0], 0) + unpack<T>(af[m][0], 1)) +
                     (unpack<T>(af[m][2], 0) + unpack<T>(af[m][2], 1));
        n.v[m][1] += (unpack<T>(af[m][1], 0) + unpack<T>(af[m][1], 1)) +
                     (unpack<T>(af[m][3], 0) + unpack<T>(af[m][3], 1));
      }
    }
    FG_UNROLL
    for (int q = 0; q < NP; ++q) {
      u32 bf[4];
      load_b_kn(bf, v, k * 16, q * 16);
      FG_UNROLL
      for (int m = 0; m < MT; ++m) {
        mma_16816<T>(h.v[m][2 * q], af[m], bf[0], bf[1]);
        mma_16816<T>(h.v[m][2 * q + 1], af[m], bf[2], bf[3]);
      }
    }
  }
}

/// d0, d1 (the two 16x8 accumulators of one 16x16 block) += (A .* F) B^T
/// over all K: A = 16 rows from a_row0 of a, B^T = 16 rows from b_row0 of b.
template <int KU, class T, int AR, int BR, int K, class F>
FG_DEVICE void mma_block_ABt(float (&d0)[4], float (&d1)[4], const smem_tile<T, AR, K>& a, int a_row0,
                             const smem_tile<T, BR, K>& b, int b_row0, F&& f) {
  k_steps<K / 16, KU>([&](int k) {
    u32 af[4], bf[4];
    load_a(af, a, a_row0, k * 16);
    scale_a<T>(af, 0, k * 16, f);
    load_b_nk(bf, b, b_row0, k * 16);
    mma_16816<T>(d0, af, bf[0], bf[1]);
    mma_16816<T>(d1, af, bf[2], bf[3]);
  });
}

/// Scores of vector-gated (GLA) operands, gated in place by
/// cta::scan_vector_gates relative to their 16-row tiles: c += Q' K'^T for
/// A = rows [a_row0, a_row0+M) of a, B^T = rows [b_row0, b_row0+N) of b.
/// A 16-key block j before the query block i multiplies q's key dims by
/// exp(b_{16i} - b_{16j}) (from the tables, <= 1); blocks above the
/// diagonal (j > i) are skipped: every element there is masked. One 16 x 16
/// output block at a time, with the k loop innermost, so the branch on
/// (i, j) sits outside it and the loop body is straight-line.
template <int DK, int KU = 2, int M, int N, class T, int AR, int BR, int K>
FG_DEVICE void mma_ABt_vector(acc_tile<M, N>& c, const smem_tile<T, AR, K>& a, int a_row0,
                              const smem_tile<T, BR, K>& b, int b_row0, const float* tab_hi, const float* tab_lo) {
  static_assert(K % 16 == 0 && N % 16 == 0 && M % 16 == 0, "mma_ABt_vector: whole 16 x 16 blocks");
  constexpr int MT = M / 16, NP = N / 16;
  FG_UNROLL
  for (int p = 0; p < NP; ++p)
    FG_UNROLL
    for (int m = 0; m < MT; ++m) {
      const int i = a_row0 / 16 + m, j = b_row0 / 16 + p;
      if (j == i)
        mma_block_ABt<KU>(c.v[m][2 * p], c.v[m][2 * p + 1], a, a_row0 + m * 16, b, b_row0 + p * 16, unscaled{});
      else if (j < i)
        mma_block_ABt<KU>(c.v[m][2 * p], c.v[m][2 * p + 1], a, a_row0 + m * 16, b, b_row0 + p * 16,
                          [&](int, int d) { return chunk::table_decay<DK>(tab_hi, tab_lo, i, j, d); });
    }
}

}  // namespace warp
}  // namespace fg

#endif  // FLASHGEN_DEVICE_CHUNK_MMA_CUH
