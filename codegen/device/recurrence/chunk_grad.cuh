//===- chunk_grad.cuh - flashgen device library: recurrence gradients ----===//
//
// The pieces of a linear_grad_chunk kernel (flash.chunk_grad,
// docs/semantics.md §4.6) that the chunk kernels do not already have: the
// f32 scratch states staged as 16-bit MMA operands (with their CTA-wide
// dot product: the log-decays' gradient at a chunk's end), the
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

/// dst (16-bit) = the f32 [R][C] rows of src, `stride` apart: all NTHREADS
/// threads, two columns a step.
template <int NTHREADS, class T, int R, int C>
FG_DEVICE void stage_f32_rows(const smem_tile<T, R, C>& dst, const float* src, i64 stride) {
  for (int i = ptx::thread_id(); i < R * C / 2; i += NTHREADS) {
    const int r = (2 * i) / C, c = (2 * i) % C;
    const float* row = src + i64(r) * stride + c;
    ptx::st_shared_b32(dst.elem_addr(r, c), pack2<T>(row[0], row[1]));
  }
}

/// stage_f32_rows of both a (into sa) and b (into sb), and the sum of
/// their elementwise product (in f32, before rounding) to every thread;
/// `red` holds one float per warp. Ends with a barrier of the whole CTA.
template <int NTHREADS, class T, int R, int C>
FG_DEVICE float stage_f32_rows_dot(const smem_tile<T, R, C>& sa, const float* a, i64 as,
                                   const smem_tile<T, R, C>& sb, const float* b, i64 bs, float* red) {
  float acc = 0.0f;
  for (int i = ptx::thread_id(); i < R * C / 2; i += NTHREADS) {
    const int r = (2 * i) / C, c = (2 * i) % C;
    const float* ra = a + i64(r) * as + c;
    const float* rb = b + i64(r) * bs + c;
    const float a0 = ra[0], a1 = ra[1], b0 = rb[0], b1 = rb[1];
    ptx::st_shared_b32(sa.elem_addr(r, c), pack2<T>(a0, a1));
    ptx::st_shared_b32(sb.elem_addr(r, c), pack2<T>(b0, b1));
    acc += a0 * b0 + a1 * b1;
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

/// dst[r] += sum_c acc[r][c] * t[row0 + r][c] for the lane's elements of
/// the rows it holds (no quad sum).
template <int R, int C, class T, int TR>
FG_DEVICE void rows_dot_partial(row_vec<R>& dst, const acc_tile<R, C>& acc, const smem_tile<T, TR, C>& t,
                                int row0, float sign) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int n = 0; n < C / 8; ++n)
      FG_UNROLL
      for (int e = 0; e < 4; ++e) {
        const float x = chunk::load_elem(chunk::elem_ptr(t, row0 + frag::row(m, e, lane), frag::col(n, e, lane)));
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
/// top of the chunk end's (one thread; L is a chunk, at most a few hundred
/// rows, once per CTA).
template <int L>
FG_DEVICE void reverse_cumsum_rows(float* out, i64 stride, int rows_valid, const float* terms,
                                   const float* ends, float tail) {
  float acc = tail;
  for (int r = 0; r < L; ++r) acc += ends[r];
  for (int r = L - 1; r >= 0; --r) {
    acc += terms[r];
    if (r < rows_valid) out[i64(r) * stride] = acc;
  }
}

}  // namespace warp
}  // namespace fg

#endif  // FLASHGEN_DEVICE_CHUNK_GRAD_CUH
