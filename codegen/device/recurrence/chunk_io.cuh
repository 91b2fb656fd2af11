//===- chunk_io.cuh - flashgen device library: chunkwise recurrence I/O --===//
//
// Global-memory traffic of the chunkwise recurrence kernels that the
// attention pieces do not cover: f32 tiles (vector log-decays), the raw
// per-step gates a chunk ahead in registers, output rows of a value tile
// staged through a wider 16-bit tile, and the f32 state slice. Also the
// generic pointer of a 16-bit shared tile element, for the few places that
// update single elements (in-place gating, feature maps, the normaliser).
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_CHUNK_IO_CUH
#define FLASHGEN_DEVICE_CHUNK_IO_CUH

#include "flashgen/device/matmul/fragment.cuh"
#include "flashgen/device/memory/smem_tile.cuh"

/// `#pragma unroll 1` where the compiler reads pragmas (not in emulation):
/// loops the recurrence kernels keep rolled to bound register pressure.
/// FG_CHUNK_UNROLL_4: four iterations at a time, where a loop's iterations
/// are chained (the gate scans' running sums) but their loads, exponentials
/// and stores can overlap. FG_CHUNK_UNROLL_BY(n): n at a time, n a
/// constant expression.
#if defined(FLASHGEN_DEVICE_EMULATION)
#define FG_CHUNK_NO_UNROLL
#define FG_CHUNK_UNROLL_4
#define FG_CHUNK_UNROLL_BY(n)
#else
#define FG_CHUNK_NO_UNROLL FG_PRAGMA_(unroll 1)
#define FG_CHUNK_UNROLL_4 FG_PRAGMA_(unroll 4)
#define FG_CHUNK_UNROLL_BY(n) FG_PRAGMA_(unroll n)
#endif

namespace fg {
namespace chunk {

/// Generic pointer to shared-window address `addr` (inside dynamic shared
/// memory): plain C++ loads and stores through it compile to LDS/STS.
FG_DEVICE u8* smem_generic(u32 addr) {
  u8* base = ptx::dynamic_smem();
  return base + (addr - ptx::smem_addr(base));
}

/// Generic pointer to element (r, c) of a 16-bit shared tile.
template <class T, int R, int C> FG_DEVICE T* elem_ptr(const smem_tile<T, R, C>& t, int r, int c) {
  return reinterpret_cast<T*>(smem_generic(t.elem_addr(r, c)));
}

/// f32 value of a 16-bit element.
template <class T> FG_DEVICE float load_elem(const T* p) {
  const u32 bits = u32(p->bits);
  if constexpr (same_type<T, bf16>::value)
    return ptx::u32_as_float(bits << 16);
  else
    return ptx::half_bits_to_float(u16(bits));
}

/// Round x into a 16-bit element.
template <class T> FG_DEVICE void store_elem(T* p, float x) {
  p->bits = u16(pack2<T>(x, 0.0f) & 0xffffu);
}

}  // namespace chunk

namespace cta {

/// The whole CTA: each element x at (r, c) of rows r < rows_valid of a
/// 16-bit shared tile becomes f(x, row0 + r, c), rounded to the element
/// type (a recurrence's feature map on a staged q or k tile); rows at or
/// past rows_valid keep the zeros they were loaded as. Consecutive
/// threads take consecutive columns of a row. Kept rolled: the CTA's state
/// slice and the next chunk's gates are live across it, and unrolled
/// (several elements' extras and exponentials in flight) it pushed a
/// chunk-128 kernel into spills on sm_90a.
template <int NTHREADS, class T, int R, int C, class F>
FG_DEVICE void map_rows(const smem_tile<T, R, C>& t, int rows_valid, int row0, F&& f) {
  const int rows = rows_valid < R ? rows_valid : R;
  FG_CHUNK_NO_UNROLL
  for (int e = ptx::thread_id(); e < rows * C; e += NTHREADS) {
    const int r = e / C, c = e % C;
    T* p = chunk::elem_ptr(t, r, c);
    chunk::store_elem(p, f(chunk::load_elem(p), row0 + r, c));
  }
}

/// Copies kBytes contiguous bytes (16-byte aligned at both ends) from
/// global src to shared dst asynchronously, 16 bytes per thread and copy
/// (the delta rule's [L][2] f32 row norms of a chunk).
template <int NTHREADS, int kBytes> FG_DEVICE void load_async_bytes(u32 dst, const void* src) {
  static_assert(kBytes % 16 == 0, "load_async_bytes: whole 16-byte copies");
  const char* bytes = static_cast<const char*>(src);
  for (int i = ptx::thread_id(); i < kBytes / 16; i += NTHREADS)
    ptx::cp_async_16(dst + u32(16 * i), bytes + 16 * i, true);
}

/// Async copy of ROWS x COLS f32 (global rows row_stride floats apart, unit
/// stride inside a row, 16-byte aligned) into the unswizzled row-major f32
/// tile at shared address dst, its rows STRIDE floats apart; rows >=
/// rows_valid become zeros. Thread d of a later per-column pass reads row r
/// at dst + 4 (r STRIDE + d): consecutive threads hit consecutive banks, so
/// no swizzle is needed (a STRIDE past COLS keeps the rows of an MMA
/// fragment's elements, 8 rows x 8 columns, off each other's banks).
template <int NTHREADS, int ROWS, int COLS, int STRIDE = COLS>
FG_DEVICE void load_async_f32(u32 dst, const float* src, i64 row_stride, int rows_valid) {
  static_assert(STRIDE >= COLS && STRIDE % 4 == 0, "load_async_f32: 16-byte aligned rows");
  static_assert(COLS % 4 == 0, "load_async_f32: whole 16-byte chunks per row");
  constexpr int kChunks = COLS / 4;
  constexpr int kTotal = ROWS * kChunks;
  static_assert(kTotal % NTHREADS == 0, "load_async_f32: chunks must divide among the threads");
  const int tid = ptx::thread_id();
  // Rolled: a g tile is up to 32 copies per thread, and an unrolled loop
  // keeps every copy's 64-bit source address live at once.
  FG_CHUNK_NO_UNROLL
  for (int i = 0; i < kTotal / NTHREADS; ++i) {
    const int idx = tid + i * NTHREADS;
    const int r = idx / kChunks, c = idx % kChunks;
    const bool ok = r < rows_valid;
    ptx::cp_async_16(dst + u32((r * STRIDE + c * 4) * 4), ok ? src + r * row_stride + c * 4 : src, ok);
  }
}

/// The whole CTA: the f32 tile R x C of src, element (r, c) at src[r *
/// row_stride + c * col_stride] (any strides: an extra's own layout), into
/// R rows of STRIDE floats at shared address dst, by 4-byte async copies
/// that join this thread's open group; rows >= rows_valid get 0 by an
/// ordinary store. Consecutive threads take consecutive columns, so a
/// row-major source reads whole lines. Rolled, as load_async_f32.
template <int NTHREADS, int R, int C, int STRIDE>
FG_DEVICE void load_async_f32_strided(u32 dst, const float* src, i64 row_stride, i64 col_stride,
                                      int rows_valid) {
  static_assert(STRIDE >= C, "load_async_f32_strided: rows overlap");
  FG_CHUNK_NO_UNROLL
  for (int e = ptx::thread_id(); e < R * C; e += NTHREADS) {
    const int r = e / C, c = e % C;
    const u32 at = dst + u32(r * STRIDE + c) * 4u;
    if (r < rows_valid)
      ptx::cp_async_4(at, src + r * row_stride + c * col_stride);
    else
      ptx::st_shared_b32(at, 0u);
  }
}

}  // namespace cta

namespace warp {

/// dst[e] = src[(t0 + lane*E + e) * stride] for the E chunk rows this lane
/// owns (rows < L), 0 past T. A chunk's raw gates, fetched a chunk early.
template <int L, int E>
FG_DEVICE void fetch_gate_rows(float (&dst)[E], const float* src, i64 stride, int t0, int T) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int e = 0; e < E; ++e) {
    const int r = lane * E + e;
    const int t = t0 + r;
    dst[e] = (r < L && t < T) ? src[i64(t) * stride] : 0.0f;
  }
}

/// Store acc (R x C) to global rows 0..R-1, columns 0..C-1 of dst (rows
/// row_stride elements apart), skipping rows >= rows_valid: rounded into
/// columns [0, C) of rows [row0, row0+R) of stage, a shared tile at least C
/// wide that only this warp touches meanwhile, then written as whole
/// 16-byte chunks.
template <class T, int R, int C, int TR, int TC>
FG_DEVICE void store_rows_staged(T* dst, i64 row_stride, int rows_valid, const acc_tile<R, C>& acc,
                                 const smem_tile<T, TR, TC>& stage, int row0) {
  static_assert(C <= TC, "store_rows_staged: stage tile narrower than the rows");
  constexpr int kChunks = C / smem_tile<T, TR, TC>::kChunkElems;
  constexpr int kTotal = R * kChunks;
  static_assert(kTotal % 32 == 0, "store_rows_staged: R x chunks must divide among 32 lanes");
  ptx::warp_sync();  // this warp's earlier ldmatrix reads of the stage rows are done
  store(stage, row0, 0, acc);
  ptx::warp_sync();
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int i = 0; i < kTotal / 32; ++i) {
    const int idx = lane + i * 32;
    const int r = idx / kChunks, c = idx % kChunks;
    if (r < rows_valid) {
      u32 v[4];
      ptx::ld_shared_v4(v, stage.chunk_addr(row0 + r, c));
      ptx::st_global_v4(dst + r * row_stride + c * smem_tile<T, TR, TC>::kChunkElems, v);
    }
  }
}

/// acc = global f32 rows 0..R-1, columns 0..C-1 of src (the lane's elements).
template <int R, int C> FG_DEVICE void load_f32(acc_tile<R, C>& acc, const float* src, i64 row_stride) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int m = 0; m < acc_tile<R, C>::kMT; ++m)
    FG_UNROLL
    for (int n = 0; n < acc_tile<R, C>::kNT; ++n)
      FG_UNROLL
      for (int e = 0; e < 4; ++e)
        acc.v[m][n][e] = src[i64(frag::row(m, e, lane)) * row_stride + frag::col(n, e, lane)];
}

/// Global f32 rows 0..R-1, columns 0..C-1 of dst = acc.
template <int R, int C> FG_DEVICE void store_f32(float* dst, i64 row_stride, const acc_tile<R, C>& acc) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int m = 0; m < acc_tile<R, C>::kMT; ++m)
    FG_UNROLL
    for (int n = 0; n < acc_tile<R, C>::kNT; ++n)
      FG_UNROLL
      for (int e = 0; e < 4; ++e)
        ptx::st_global_b32(dst + i64(frag::row(m, e, lane)) * row_stride + frag::col(n, e, lane),
                           ptx::float_as_u32(acc.v[m][n][e]));
}

/// Global 16-bit rows r < rows_valid (of 0..R-1), columns 0..C-1 of dst =
/// acc rounded to T: pairs of columns, 4-byte stores straight from the
/// registers (the gradient's chunk states in scratch, its dq, dk, dv rows).
template <class T, int R, int C>
FG_DEVICE void store_16bit(T* dst, i64 row_stride, int rows_valid, const acc_tile<R, C>& acc) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int m = 0; m < acc_tile<R, C>::kMT; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int r = frag::row(m, 2 * h, lane);
      if (r >= rows_valid) continue;
      FG_UNROLL
      for (int n = 0; n < acc_tile<R, C>::kNT; ++n)
        ptx::st_global_b32(dst + i64(r) * row_stride + frag::col(n, 2 * h, lane),
                           pack2<T>(acc.v[m][n][2 * h], acc.v[m][n][2 * h + 1]));
    }
}

}  // namespace warp
}  // namespace fg

#endif  // FLASHGEN_DEVICE_CHUNK_IO_CUH
