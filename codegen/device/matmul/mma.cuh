//===- mma.cuh - flashgen device library: warp-level tile GEMMs ----------===//
//
// C[M x N] += A[M x K] * B[K x N] for one warp, on mma.sync m16n8k16 with f32
// accumulators in an acc_tile. Operands come from swizzled shared tiles
// through ldmatrix (x4, or x4.trans where the tile stores the operand
// transposed), or, for A, from registers (an a_tile, e.g. P after softmax).
// Names say how each operand is stored:
//   mma_ABt   A row-major [M][K] in smem,   B stored as [N][K] (S = Q K^T)
//   mma_AB    A row-major [M][K] in smem,   B stored as [K][N] (O = Q S)
//   mma_AtB   A stored as [K][M] in smem,   B stored as [K][N] (S += K^T V)
//   mma_rABt  A in registers,               B stored as [N][K]
//   mma_rAB   A in registers,               B stored as [K][N] (O += P V)
// Offsets select a sub-block of a shared tile: (a_row0, a_col0) is the
// [0][0] element of the operand as stored, likewise (b_row0, b_col0); all are
// multiples of 16. B fragments are loaded once per 16x16 block
// and reused by all M/16 row tiles: more rows per warp, less smem traffic.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_MMA_CUH
#define FLASHGEN_DEVICE_MMA_CUH

#include "flashgen/device/matmul/fragment.cuh"
#include "flashgen/device/memory/smem_tile.cuh"

namespace fg {
namespace warp {

/// One m16n8k16 step: d += a * b (b0, b1 the two B registers).
template <class T> FG_DEVICE void mma_16816(float (&d)[4], const u32 (&a)[4], u32 b0, u32 b1) {
  static_assert(same_type<T, bf16>::value || same_type<T, f16>::value, "mma: bf16 or f16");
  if constexpr (same_type<T, bf16>::value)
    ptx::mma_16816_bf16(d, a, b0, b1);
  else
    ptx::mma_16816_f16(d, a, b0, b1);
}

// ---- fragment loads (one ldmatrix.x4 each) ---------------------------------

/// A fragment of the 16x16 block at (row r0, col k0) of a row-major A tile.
template <class Tile> FG_DEVICE void load_a(u32 (&a)[4], const Tile& t, int r0, int k0) {
  const int lane = ptx::lane_id(), mat = lane >> 3;
  // matrices: (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15)
  ptx::ldsm_x4(a, t.frag_addr(r0, k0 >> 3, (lane & 7) + ((mat & 1) << 3), mat >> 1));
}

/// A fragment of the 16x16 block of A whose transpose is stored at
/// (row k0, col m0) of the tile (the tile holds A^T, [K][M]).
template <class Tile> FG_DEVICE void load_a_t(u32 (&a)[4], const Tile& t, int k0, int m0) {
  const int lane = ptx::lane_id(), mat = lane >> 3;
  // A blocks (m 0-7,k 0-7), (m 8-15,k 0-7), (m 0-7,k 8-15), (m 8-15,k 8-15), stored transposed
  ptx::ldsm_x4_t(a, t.frag_addr(k0, m0 >> 3, (lane & 7) + ((mat >> 1) << 3), mat & 1));
}

/// B fragments of two 8-column tiles (n0..n0+15) over k0..k0+15, the tile
/// storing B as [N][K] (rows are n): b[0..1] for columns n0..n0+7, b[2..3] for n0+8..n0+15.
template <class Tile> FG_DEVICE void load_b_nk(u32 (&b)[4], const Tile& t, int n0, int k0) {
  const int lane = ptx::lane_id(), mat = lane >> 3;
  // matrices: (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15)
  ptx::ldsm_x4(b, t.frag_addr(n0, k0 >> 3, (lane & 7) + ((mat >> 1) << 3), mat & 1));
}

/// B fragments of two 8-column tiles (n0..n0+15) over k0..k0+15, the tile
/// storing B as [K][N] (rows are k), loaded with ldmatrix.trans.
template <class Tile> FG_DEVICE void load_b_kn(u32 (&b)[4], const Tile& t, int k0, int n0) {
  const int lane = ptx::lane_id(), mat = lane >> 3;
  // matrices: (k 0-7, n 0-7), (k 8-15, n 0-7), (k 0-7, n 8-15), (k 8-15, n 8-15)
  ptx::ldsm_x4_t(b, t.frag_addr(k0, n0 >> 3, (lane & 7) + ((mat & 1) << 3), mat >> 1));
}

// ---- GEMMs -----------------------------------------------------------------

/// c += A * B^T: A = rows [a_row0, a_row0+M) of a (all K = its columns), B^T =
/// rows [b_row0, b_row0+N) of b (columns = K). S = Q K^T.
template <int M, int N, class T, int AR, int BR, int K>
FG_DEVICE void mma_ABt(acc_tile<M, N>& c, const smem_tile<T, AR, K>& a, int a_row0,
                       const smem_tile<T, BR, K>& b, int b_row0) {
  static_assert(K % 16 == 0 && N % 16 == 0, "mma_ABt: K and N multiples of 16");
  static_assert(M <= AR && N <= BR, "mma_ABt: operand taller than its tile");
  constexpr int MT = M / 16, NP = N / 16, KT = K / 16;
  FG_UNROLL
  for (int k = 0; k < KT; ++k) {
    u32 af[MT][4];
    FG_UNROLL
    for (int m = 0; m < MT; ++m) load_a(af[m], a, a_row0 + m * 16, k * 16);
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

/// c += A * B: A = rows [a_row0, a_row0+M), columns [a_col0, a_col0+K) of a;
/// B = rows [b_row0, b_row0+K), columns [b_col0, b_col0+N) of b. O = Q S.
template <int K, int M, int N, class T, int AR, int AC, int BR, int BC>
FG_DEVICE void mma_AB(acc_tile<M, N>& c, const smem_tile<T, AR, AC>& a, int a_row0, int a_col0,
                      const smem_tile<T, BR, BC>& b, int b_row0, int b_col0) {
  static_assert(K % 16 == 0 && N % 16 == 0, "mma_AB: K and N multiples of 16");
  constexpr int MT = M / 16, NP = N / 16, KT = K / 16;
  FG_UNROLL
  for (int k = 0; k < KT; ++k) {
    u32 af[MT][4];
    FG_UNROLL
    for (int m = 0; m < MT; ++m) load_a(af[m], a, a_row0 + m * 16, a_col0 + k * 16);
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

/// c += A * B with A stored transposed: A^T = rows [a_row0, a_row0+K), columns
/// [a_col0, a_col0+M) of a; B = rows [b_row0, b_row0+K), columns [b_col0,
/// b_col0+N) of b. State update S += K^T V.
/// b may be any tile with smem_tile's frag_addr (a wg_tile: wgmma.cuh).
template <int K, int M, int N, class T, int AR, int AC, class BTile>
FG_DEVICE void mma_AtB(acc_tile<M, N>& c, const smem_tile<T, AR, AC>& a, int a_row0, int a_col0,
                       const BTile& b, int b_row0, int b_col0) {
  static_assert(K % 16 == 0 && N % 16 == 0, "mma_AtB: K and N multiples of 16");
  constexpr int MT = M / 16, NP = N / 16, KT = K / 16;
  FG_UNROLL
  for (int k = 0; k < KT; ++k) {
    u32 af[MT][4];
    FG_UNROLL
    for (int m = 0; m < MT; ++m) load_a_t(af[m], a, a_row0 + k * 16, a_col0 + m * 16);
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

/// c += A * B^T, A in registers (all K = its columns), B^T = rows [b_row0,
/// b_row0+N), columns [b_col0, b_col0+K) of b.
template <int M, int N, int K, class T, int BR, int BC>
FG_DEVICE void mma_rABt(acc_tile<M, N>& c, const a_tile<T, M, K>& a, const smem_tile<T, BR, BC>& b,
                        int b_row0, int b_col0) {
  static_assert(N % 16 == 0, "mma_rABt: N multiple of 16");
  constexpr int MT = M / 16, NP = N / 16, KT = K / 16;
  FG_UNROLL
  for (int k = 0; k < KT; ++k)
    FG_UNROLL
    for (int p = 0; p < NP; ++p) {
      u32 bf[4];
      load_b_nk(bf, b, b_row0 + p * 16, b_col0 + k * 16);
      FG_UNROLL
      for (int m = 0; m < MT; ++m) {
        mma_16816<T>(c.v[m][2 * p], a.v[m][k], bf[0], bf[1]);
        mma_16816<T>(c.v[m][2 * p + 1], a.v[m][k], bf[2], bf[3]);
      }
    }
}

/// c += A * B, A in registers (all K = its columns), B = rows [b_row0,
/// b_row0+K), columns [b_col0, b_col0+N) of b. O += P V.
template <int M, int N, int K, class T, int BR, int BC>
FG_DEVICE void mma_rAB(acc_tile<M, N>& c, const a_tile<T, M, K>& a, const smem_tile<T, BR, BC>& b,
                       int b_row0, int b_col0) {
  static_assert(N % 16 == 0, "mma_rAB: N multiple of 16");
  constexpr int MT = M / 16, NP = N / 16, KT = K / 16;
  FG_UNROLL
  for (int k = 0; k < KT; ++k)
    FG_UNROLL
    for (int p = 0; p < NP; ++p) {
      u32 bf[4];
      load_b_kn(bf, b, b_row0 + k * 16, b_col0 + p * 16);
      FG_UNROLL
      for (int m = 0; m < MT; ++m) {
        mma_16816<T>(c.v[m][2 * p], a.v[m][k], bf[0], bf[1]);
        mma_16816<T>(c.v[m][2 * p + 1], a.v[m][k], bf[2], bf[3]);
      }
    }
}

}  // namespace warp
}  // namespace fg

#endif  // FLASHGEN_DEVICE_MMA_CUH
