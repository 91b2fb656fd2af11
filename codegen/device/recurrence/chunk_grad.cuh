//===- chunk_grad.cuh - flashgen device library: recurrence gradients ----===//
//
// The pieces of a linear_grad_chunk kernel (flash.chunk_grad,
// docs/semantics.md §4.5) that the chunk kernels do not already have: the
// CTA-wide dot product of two 16-bit states (the log-decays' gradient at a
// chunk's end), the
// per-row dot of an accumulator tile with a shared tile (q . dq, k . dk),
// and the reverse cumulative sum of a chunk's per-row terms.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_CHUNK_GRAD_CUH
#define FLASHGEN_DEVICE_CHUNK_GRAD_CUH

#include "flashgen/device/recurrence/chunk_io.cuh"
#include "flashgen/device/recurrence/chunk_mma.cuh"

namespace fg {
namespace cta {

/// sum_{r, c} a[r][c] b[r][c] over two 16-bit shared tiles (in f32), to
/// every thread; `red` holds one float per warp. Ends with a barrier of
/// the whole CTA.
template <int NTHREADS, class T, int R, int C>
FG_DEVICE float dot_tiles(const smem_tile<T, R, C>& a, const smem_tile<T, R, C>& b, float* red) {
  using Tile = smem_tile<T, R, C>;
  float acc = 0.0f;
  for (int i = ptx::thread_id(); i < R * Tile::kChunks; i += NTHREADS) {
    const int r = i / Tile::kChunks, c = i % Tile::kChunks;
    u32 x[4], y[4];
    ptx::ld_shared_v4(x, a.chunk_addr(r, c));
    ptx::ld_shared_v4(y, b.chunk_addr(r, c));
    FG_UNROLL
    for (int e = 0; e < 4; ++e)
      acc += unpack<T>(x[e], 0) * unpack<T>(y[e], 0) + unpack<T>(x[e], 1) * unpack<T>(y[e], 1);
  }
  FG_UNROLL
  for (int off = 16; off > 0; off >>= 1) acc += ptx::shfl_xor(acc, off);
  if (ptx::lane_id() == 0) red[ptx::thread_id() / 32] = acc;
  sync();
  float total = 0.0f;
  FG_UNROLL
  for (int w = 0; w < NTHREADS / 32; ++w) total += red[w];
  sync();
  return total;
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

/// out[t * stride] = tail + sum_r ends[r] + sum_{s >= t} terms[s] for t <
/// rows_valid: the reverse cumulative sum of a chunk's L per-row terms on
/// top of the chunk end's, each given as S slices of L (terms[j * L + r],
/// summed). One thread; L is a chunk, at most a few hundred rows, once per
/// CTA.
template <int L, int S>
FG_DEVICE void reverse_cumsum_rows(float* out, i64 stride, int rows_valid, const float* terms,
                                   const float* ends, float tail) {
  float acc = tail;
  for (int r = 0; r < S * L; ++r) acc += ends[r];
  for (int r = L - 1; r >= 0; --r) {
    FG_UNROLL
    for (int j = 0; j < S; ++j) acc += terms[j * L + r];
    if (r < rows_valid) out[i64(r) * stride] = acc;
  }
}

}  // namespace warp
}  // namespace fg

#endif  // FLASHGEN_DEVICE_CHUNK_GRAD_CUH
