//===- step.cuh - flashgen device library: recurrent step kernels --------===//
//
// The pieces of the `recurrent_step` kernels (passes/LowerChunkwise.cpp
// builds them, codegen/recurrence/StepEmitter.cpp prints them): decoding
// runs a recurrence one token at a time, so there is no chunk to put on the
// tensor cores and the kernel is the state's round trip through HBM. A CTA
// keeps a Dk x C slice of the f32 state in registers, four adjacent value
// columns per thread (16-byte loads and stores) and Dk / kRowGroups key
// rows, and for each token:
//
//   1. one pass over the old state gives the column dots S^T x for one or
//      two vectors x (the query, and the key for the delta rule's read),
//      reduced over the key rows by shuffles within a warp and a [warps][C]
//      scratch across warps;
//   2. every column's write value w_j (b v_j, or the delta rule's
//      beta (v_j - alpha (S^T k)_j)) and output follow from the dots, since
//      o = S'^T q = decay (S^T q) + w (k . q);
//   3. the rank-one update S = decay S + k w^T, in registers.
//
// The state is read before it is written by the same thread, element by
// element, so the final state may be the initial state's memory (in-place
// decoding).
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_STEP_CUH
#define FLASHGEN_DEVICE_STEP_CUH

#include "flashgen/device/core/core.cuh"
#include "flashgen/device/memory/copy.cuh"

namespace fg {
namespace step {

/// Thread layout of a Dk x C state slice over `Threads` threads.
template <int Dk, int C, int Threads> struct layout {
  static constexpr int kVec = 4;                        ///< adjacent columns per thread
  static constexpr int kColThreads = C / kVec;          ///< threads across one row
  static constexpr int kRowGroups = Threads / kColThreads; ///< rows covered at once
  static constexpr int kRows = Dk / kRowGroups;         ///< rows per thread
  static constexpr int kWarps = Threads / 32;
  static_assert(C % kVec == 0 && kColThreads <= 32 && 32 % kColThreads == 0,
                "value columns: 4 per thread, a warp holds whole rows");
  static_assert(Threads % 32 == 0 && Dk % kRowGroups == 0 && kRows >= 1,
                "every thread holds the same number of key rows");

  /// First value column (of the slice) and first key row of this thread;
  /// its rows are row0() + i * kRowGroups.
  FG_DEVICE static int col0() { return (int(threadIdx.x) % kColThreads) * kVec; }
  FG_DEVICE static int row0() { return int(threadIdx.x) / kColThreads; }
  FG_DEVICE static int row(int i) { return row0() + i * kRowGroups; }
  /// The threads of row group 0 hold each column's reduced values once.
  FG_DEVICE static bool writes_columns() { return int(threadIdx.x) < kColThreads; }
};

/// This thread's part of the state slice: s[i][c] is row row(i), column
/// col0() + c.
template <class L> struct state {
  float s[L::kRows][L::kVec];
};

/// Four adjacent f32 values at p: one 16-byte access where p is aligned.
FG_DEVICE void load4(float (&dst)[4], const float* p, bool aligned) {
#if !defined(FLASHGEN_DEVICE_EMULATION)
  if (aligned) {
    const float4 v = *reinterpret_cast<const float4*>(p);
    dst[0] = v.x, dst[1] = v.y, dst[2] = v.z, dst[3] = v.w;
    return;
  }
#endif
  (void)aligned;
  FG_UNROLL
  for (int c = 0; c < 4; ++c) dst[c] = p[c];
}

FG_DEVICE void store4(float* p, const float (&src)[4], bool aligned) {
#if !defined(FLASHGEN_DEVICE_EMULATION)
  if (aligned) {
    *reinterpret_cast<float4*>(p) = make_float4(src[0], src[1], src[2], src[3]);
    return;
  }
#endif
  (void)aligned;
  FG_UNROLL
  for (int c = 0; c < 4; ++c) p[c] = src[c];
}

/// Whether row starts base + r * row_stride are all 16-byte aligned.
FG_DEVICE bool rows_aligned(const float* base, long long row_stride) {
  return ((reinterpret_cast<unsigned long long>(base) | (unsigned long long)(row_stride * 4)) & 15) == 0;
}

/// st = the slice at base (its column 0, row 0), rows row_stride apart.
template <class L> FG_DEVICE void load(state<L>& st, const float* base, long long row_stride) {
  const bool aligned = rows_aligned(base, row_stride);
  FG_UNROLL
  for (int i = 0; i < L::kRows; ++i)
    load4(st.s[i], base + (long long)L::row(i) * row_stride + L::col0(), aligned);
}

template <class L> FG_DEVICE void store(float* base, long long row_stride, const state<L>& st) {
  const bool aligned = rows_aligned(base, row_stride);
  FG_UNROLL
  for (int i = 0; i < L::kRows; ++i)
    store4(base + (long long)L::row(i) * row_stride + L::col0(), st.s[i], aligned);
}

template <class L> FG_DEVICE void zero(state<L>& st) {
  FG_UNROLL
  for (int i = 0; i < L::kRows; ++i)
    FG_UNROLL
    for (int c = 0; c < L::kVec; ++c) st.s[i][c] = 0.0f;
}

/// out[n][c] = sum over all Dk rows r of S[r][col0() + c] * x[n][r], for
/// the N vectors x[n] (f32, shared memory), in every thread. scratch holds
/// N * kWarps * C floats; the call ends with the CTA synchronised.
template <class L, int N>
FG_DEVICE void column_dots(const state<L>& st, const float* const (&x)[N], float (&out)[N][L::kVec],
                           float* scratch) {
  constexpr int C = L::kColThreads * L::kVec;
  FG_UNROLL
  for (int n = 0; n < N; ++n) {
    FG_UNROLL
    for (int c = 0; c < L::kVec; ++c) out[n][c] = 0.0f;
    FG_UNROLL
    for (int i = 0; i < L::kRows; ++i) {
      const float xi = x[n][L::row(i)];
      FG_UNROLL
      for (int c = 0; c < L::kVec; ++c) out[n][c] += st.s[i][c] * xi;
    }
    // Lanes kColThreads apart hold the same columns of other rows.
    FG_UNROLL
    for (int mask = L::kColThreads; mask < 32; mask <<= 1)
      FG_UNROLL
      for (int c = 0; c < L::kVec; ++c) out[n][c] += ptx::shfl_xor(out[n][c], mask);
  }
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  if (lane < L::kColThreads)
    FG_UNROLL
    for (int n = 0; n < N; ++n)
      FG_UNROLL
      for (int c = 0; c < L::kVec; ++c) scratch[(n * L::kWarps + warp) * C + L::col0() + c] = out[n][c];
  cta::sync();
  FG_UNROLL
  for (int n = 0; n < N; ++n)
    FG_UNROLL
    for (int c = 0; c < L::kVec; ++c) {
      float sum = 0.0f;
      FG_UNROLL
      for (int w = 0; w < L::kWarps; ++w) sum += scratch[(n * L::kWarps + w) * C + L::col0() + c];
      out[n][c] = sum;
    }
}

/// S[r][c] = decay(r) * S[r][c] + k[r] * w[c]: the token's rank-one write
/// (decay per key row for per-key-dim gates, one value otherwise).
template <class L, class Decay>
FG_DEVICE void rank_one_update(state<L>& st, Decay&& decay, const float* k, const float (&w)[L::kVec]) {
  FG_UNROLL
  for (int i = 0; i < L::kRows; ++i) {
    const int r = L::row(i);
    const float a = decay(r), kr = k[r];
    FG_UNROLL
    for (int c = 0; c < L::kVec; ++c) st.s[i][c] = a * st.s[i][c] + kr * w[c];
  }
}

/// sum_r x[r] * y[r] over n shared-memory values, in one warp (every lane
/// gets it).
FG_DEVICE float warp_dot(const float* x, const float* y, int n) {
  const int lane = ptx::lane_id();
  float sum = 0.0f;
  for (int r = lane; r < n; r += 32) sum += x[r] * y[r];
  FG_UNROLL
  for (int mask = 16; mask > 0; mask >>= 1) sum += ptx::shfl_xor(sum, mask);
  return sum;
}

/// One token's row of an input (q, k, a value tile, per-key-dim gates; a
/// scalar gate is a row of one), loaded into registers a token ahead: each
/// thread holds elements tid, tid + Threads, ... in the input's own type,
/// so the loads stay in flight until `commit` converts and stores them
/// into a step buffer, behind the current token's work.
template <int Threads, int N, class T> struct row_prefetch {
  static constexpr int kPerThread = (N + Threads - 1) / Threads;
  T v[kPerThread];

  FG_DEVICE void fetch(const T* src) {
    FG_UNROLL
    for (int i = 0; i < kPerThread; ++i) {
      const int r = int(threadIdx.x) + i * Threads;
      if (r < N) v[i] = src[r];
    }
  }
  FG_DEVICE void commit(float* dst) const;
  /// commit, element r stored as f(x, r): a recurrence's feature map on
  /// q and k (docs/semantics.md §3.7).
  template <class F> FG_DEVICE void commit(float* dst, F&& f) const;
};

/// The f32 value of an input element (16-bit rows, f32 or 16-bit beta).
FG_DEVICE float value(float x) { return x; }
FG_DEVICE float value(bf16 x) { return to_float(x); }
FG_DEVICE float value(f16 x) { return to_float(x); }

template <int Threads, int N, class T>
FG_DEVICE void row_prefetch<Threads, N, T>::commit(float* dst) const {
  FG_UNROLL
  for (int i = 0; i < kPerThread; ++i) {
    const int r = int(threadIdx.x) + i * Threads;
    if (r < N) dst[r] = value(v[i]);
  }
}

template <int Threads, int N, class T>
template <class F>
FG_DEVICE void row_prefetch<Threads, N, T>::commit(float* dst, F&& f) const {
  FG_UNROLL
  for (int i = 0; i < kPerThread; ++i) {
    const int r = int(threadIdx.x) + i * Threads;
    if (r < N) dst[r] = f(value(v[i]), r);
  }
}

}  // namespace step
}  // namespace fg

#endif  // FLASHGEN_DEVICE_STEP_CUH
