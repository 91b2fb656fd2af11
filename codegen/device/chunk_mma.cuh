//===- chunk_mma.cuh - flashgen device library: gated-operand GEMMs ------===//
//
// Tile GEMMs whose A operand is weighted element by element on its way from
// shared memory to the tensor cores: the fragment is loaded with ldmatrix,
// each of its eight 16-bit values multiplied in f32 by f(m, k) (m the row
// and k the reduction index of A) and rounded back, then fed to mma.sync.
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

#include "flashgen/device/chunk_gates.cuh"
#include "flashgen/device/mma.cuh"

namespace fg {
namespace warp {

/// a (an A fragment of the 16x16 block with first row m0 and first k k0)
/// times f(m, k) element-wise. A-fragment register i holds row m0 + g +
/// 8 (i % 2) and k = k0 + 2t + 8 (i / 2) + {0, 1} (g = lane/4, t = lane%4).
template <class T, class F> FG_DEVICE void scale_a(u32 (&a)[4], int m0, int k0, F&& f) {
  const int lane = ptx::lane_id();
  const int g = lane >> 2, t = lane & 3;
  FG_UNROLL
  for (int i = 0; i < 4; ++i) {
    const int m = m0 + g + 8 * (i & 1);
    const int k = k0 + 2 * t + 8 * (i >> 1);
    a[i] = pack2<T>(unpack<T>(a[i], 0) * f(m, k), unpack<T>(a[i], 1) * f(m, k + 1));
  }
}

/// c += (A .* F) * B^T: A = rows [a_row0, a_row0+M) of a (K = its columns),
/// B^T = rows [b_row0, b_row0+N) of b; F(m, k) with m relative to a_row0.
template <int M, int N, class T, int AR, int BR, int K, class F>
FG_DEVICE void mma_ABt_scaled(acc_tile<M, N>& c, const smem_tile<T, AR, K>& a, int a_row0,
                              const smem_tile<T, BR, K>& b, int b_row0, F&& f) {
  static_assert(K % 16 == 0 && N % 16 == 0, "mma_ABt_scaled: K and N multiples of 16");
  constexpr int MT = M / 16, NP = N / 16, KT = K / 16;
  FG_UNROLL
  for (int k = 0; k < KT; ++k) {
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
  }
}

/// c += (A .* F) * B: A = rows [a_row0, a_row0+M), columns [0, K) of a;
/// B = rows [b_row0, b_row0+K), columns [b_col0, b_col0+N) of b.
template <int K, int M, int N, class T, int AR, int AC, int BR, int BC, class F>
FG_DEVICE void mma_AB_scaled(acc_tile<M, N>& c, const smem_tile<T, AR, AC>& a, int a_row0,
                             const smem_tile<T, BR, BC>& b, int b_row0, int b_col0, F&& f) {
  static_assert(K % 16 == 0 && N % 16 == 0, "mma_AB_scaled: K and N multiples of 16");
  constexpr int MT = M / 16, NP = N / 16, KT = K / 16;
  FG_UNROLL
  for (int k = 0; k < KT; ++k) {
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
  }
}

/// c += (A .* F) * B with A stored transposed: A^T = rows [a_row0, a_row0+K),
/// columns [a_col0, a_col0+M) of a; B = rows [b_row0, b_row0+K), columns
/// [b_col0, b_col0+N) of b. F(m, k): m relative to a_col0, k to a_row0.
template <int K, int M, int N, class T, int AR, int AC, int BR, int BC, class F>
FG_DEVICE void mma_AtB_scaled(acc_tile<M, N>& c, const smem_tile<T, AR, AC>& a, int a_row0, int a_col0,
                              const smem_tile<T, BR, BC>& b, int b_row0, int b_col0, F&& f) {
  static_assert(K % 16 == 0 && N % 16 == 0, "mma_AtB_scaled: K and N multiples of 16");
  constexpr int MT = M / 16, NP = N / 16, KT = K / 16;
  FG_UNROLL
  for (int k = 0; k < KT; ++k) {
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
  }
}

/// Scores of vector-gated (GLA) operands, gated in place by
/// cta::scan_vector_gates relative to their 16-row tiles: c += Q' K'^T for
/// A = rows [a_row0, a_row0+M) of a, B^T = rows [b_row0, b_row0+N) of b.
/// A 16-key block j before the query block i multiplies q's key dims by
/// exp(b_{16i} - b_{16j}) (from the tables, <= 1); blocks above the
/// diagonal (j > i) are skipped: every element there is masked.
template <int DK, int M, int N, class T, int AR, int BR, int K>
FG_DEVICE void mma_ABt_vector(acc_tile<M, N>& c, const smem_tile<T, AR, K>& a, int a_row0,
                              const smem_tile<T, BR, K>& b, int b_row0, const float* tab_hi, const float* tab_lo) {
  static_assert(K % 16 == 0 && N % 16 == 0 && M % 16 == 0, "mma_ABt_vector: whole 16 x 16 blocks");
  constexpr int MT = M / 16, NP = N / 16, KT = K / 16;
  FG_UNROLL
  for (int k = 0; k < KT; ++k) {
    u32 af[MT][4];
    FG_UNROLL
    for (int m = 0; m < MT; ++m) load_a(af[m], a, a_row0 + m * 16, k * 16);
    FG_UNROLL
    for (int p = 0; p < NP; ++p) {
      const int j = b_row0 / 16 + p;
      if (j > (a_row0 + M - 1) / 16) continue;  // the whole slab is above every row's diagonal
      u32 bf[4];
      load_b_nk(bf, b, b_row0 + p * 16, k * 16);
      FG_UNROLL
      for (int m = 0; m < MT; ++m) {
        const int i = a_row0 / 16 + m;
        if (j > i) continue;
        u32 as[4] = {af[m][0], af[m][1], af[m][2], af[m][3]};
        if (j < i)
          scale_a<T>(as, 0, k * 16,
                     [&](int, int d) { return chunk::table_decay<DK>(tab_hi, tab_lo, i, j, d); });
        mma_16816<T>(c.v[m][2 * p], as, bf[0], bf[1]);
        mma_16816<T>(c.v[m][2 * p + 1], as, bf[2], bf[3]);
      }
    }
  }
}

}  // namespace warp
}  // namespace fg

#endif  // FLASHGEN_DEVICE_CHUNK_MMA_CUH
