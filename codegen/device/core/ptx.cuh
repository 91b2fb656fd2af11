//===- ptx.cuh - flashgen device library: hardware instruction wrappers --===//
//
// The only header with inline PTX. Everything above it (copy, mma, softmax,
// epilogue) is plain C++ over these functions, so the host emulator in
// test/unit/device/ can swap this set for lane-accurate host versions: with
// FLASHGEN_DEVICE_EMULATION defined, the header named by
// FLASHGEN_DEVICE_EMULATION_PTX provides namespace fg::ptx instead.
//
// Shared-memory operands are 32-bit shared-window addresses (smem_addr()),
// as the instructions take them; global operands are generic pointers.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_PTX_CUH
#define FLASHGEN_DEVICE_PTX_CUH

#include "flashgen/device/core/types.cuh"

#if defined(FLASHGEN_DEVICE_EMULATION)
#include FLASHGEN_DEVICE_EMULATION_PTX
#else

namespace fg {
namespace ptx {

// ---- threads, barriers ------------------------------------------------------

/// Thread index within the CTA (blocks are 1-D in flashgen kernels).
FG_DEVICE int thread_id() { return int(threadIdx.x); }

/// Lane index within the warp.
FG_DEVICE int lane_id() { return int(threadIdx.x) & 31; }

/// Barrier over all threads of the CTA (bar.sync 0).
FG_DEVICE void cta_sync() { __syncthreads(); }

/// Barrier over the lanes of this warp.
FG_DEVICE void warp_sync() { __syncwarp(); }

/// The CTA's dynamic shared memory (1024-byte aligned in practice; the
/// library needs 128).
FG_DEVICE u8* dynamic_smem() {
  extern __shared__ __align__(128) u8 fg_dynamic_smem[];
  return fg_dynamic_smem;
}

/// 32-bit shared-window address of a generic pointer into shared memory.
FG_DEVICE u32 smem_addr(const void* p) { return u32(__cvta_generic_to_shared(p)); }

// ---- programmatic dependent launch (sm_90) -----------------------------------

/// The grid's next launch (marked overlaps_previous) may become resident
/// once every CTA of this grid has executed this or exited.
FG_DEVICE void launch_dependents() {
#if FG_ARCH >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

/// Waits until the grids this one depends on completed and their writes
/// are visible; returns at once when it was launched the ordinary way.
FG_DEVICE void wait_previous_launch() {
#if FG_ARCH >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

// ---- async copies (sm_80) -------------------------------------------------

/// 16-byte global -> shared copy, cached in L2 only. pred false: the 16 bytes
/// are zero-filled and src is not read.
FG_DEVICE void cp_async_16(u32 dst, const void* src, bool pred) {
  asm volatile("cp.async.cg.shared.global.L2::128B [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
               "r"(pred ? 16 : 0)
               : "memory");
}

/// 4-byte global -> shared copy (cached in L1 and L2: cp.async.cg takes 16
/// bytes only), joining this thread's open group like cp_async_16.
FG_DEVICE void cp_async_4(u32 dst, const void* src) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(dst), "l"(src) : "memory");
}

/// Close the current group of cp.async copies of this thread.
FG_DEVICE void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

/// Wait until at most N of this thread's committed groups are in flight.
template <int N> FG_DEVICE void cp_async_wait() {
  static_assert(N >= 0 && N <= 7, "cp_async_wait: 0..7");
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// ---- shared-memory matrix loads ---------------------------------------------

/// ldmatrix x4: lanes 8i..8i+7 give the row addresses of 8x8 matrix i; r[i]
/// gets this lane's part of matrix i (row lane/4, columns 2*(lane%4) + 0,1).
FG_DEVICE void ldsm_x4(u32 (&r)[4], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

/// ldmatrix x4 .trans: as ldsm_x4, but r[i] gets the transposed part
/// (rows 2*(lane%4) + 0,1 of column lane/4 of matrix i).
FG_DEVICE void ldsm_x4_t(u32 (&r)[4], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

/// ldmatrix x2 (lanes 0..15 give the addresses).
FG_DEVICE void ldsm_x2(u32 (&r)[2], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(addr));
}

/// ldmatrix x2 .trans (lanes 0..15 give the addresses).
FG_DEVICE void ldsm_x2_t(u32 (&r)[2], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(addr));
}

// ---- tensor-core mma.sync ---------------------------------------------------

/// d += a * b, m16n8k16, bf16 inputs, f32 accumulators (row.col).
FG_DEVICE void mma_16816_bf16(float (&d)[4], const u32 (&a)[4], u32 b0, u32 b1) {
  asm(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/// d += a * b, m16n8k16, f16 inputs, f32 accumulators (row.col).
FG_DEVICE void mma_16816_f16(float (&d)[4], const u32 (&a)[4], u32 b0, u32 b1) {
  asm(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// ---- scalar math --------------------------------------------------------------

/// 2^x (MUFU.EX2; flushes denormals; 2^-inf = 0).
FG_DEVICE float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

/// tanh(x), hardware approximation (MUFU.TANH, about 2^-11 relative error).
FG_DEVICE float tanh_approx(float x) {
  float y;
  asm("tanh.approx.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

/// log2(x), hardware approximation.
FG_DEVICE float lg2_approx(float x) {
  float y;
  asm("lg2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

/// 1/x, hardware approximation.
FG_DEVICE float rcp_approx(float x) {
  float y;
  asm("rcp.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

/// Bit l set where lane l's `p` holds (full warp).
FG_DEVICE u32 ballot(bool p) { return __ballot_sync(0xffffffffu, p); }

/// Set bits of x.
FG_DEVICE int popc(u32 x) { return __popc(x); }

/// Value of x in the lane whose id is lane_id() ^ mask (full warp).
FG_DEVICE float shfl_xor(float x, int mask) { return __shfl_xor_sync(0xffffffffu, x, mask); }

/// *p += v in global memory, atomically, returning the old value.
FG_DEVICE int atomic_add_s32(int* p, int v) {
  int old;
  asm volatile("atom.global.add.s32 %0, [%1], %2;\n" : "=r"(old) : "l"(p), "r"(v) : "memory");
  return old;
}

/// *p += v in global memory, atomically, returning nothing (red.global.add).
FG_DEVICE void red_add_f32(float* p, float v) {
  asm volatile("red.global.add.f32 [%0], %1;\n" ::"l"(p), "f"(v) : "memory");
}

/// p[0] += a, p[1] += b in global memory (p 8-byte aligned): one vector
/// reduction on sm_90 (half the L2 reduction requests of two scalar ones),
/// two scalar ones before it.
FG_DEVICE void red_add_f32x2(float* p, float a, float b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("red.global.add.v2.f32 [%0], {%1, %2};\n" ::"l"(p), "f"(a), "f"(b) : "memory");
#else
  red_add_f32(p, a);
  red_add_f32(p + 1, b);
#endif
}

/// True in every lane if pred is true in any lane of the warp.
FG_DEVICE bool vote_any(bool pred) { return __any_sync(0xffffffffu, pred); }

/// Bits <-> f32.
FG_DEVICE float u32_as_float(u32 x) { return __uint_as_float(x); }
FG_DEVICE u32 float_as_u32(float x) { return __float_as_uint(x); }

/// -infinity.
FG_DEVICE float neg_inf() { return __uint_as_float(0xff800000u); }

/// Pack (lo, hi) as bf16x2, round to nearest even.
FG_DEVICE u32 cvt_pack_bf16x2(float lo, float hi) {
  u32 r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

/// Pack (lo, hi) as f16x2, round to nearest even.
FG_DEVICE u32 cvt_pack_f16x2(float lo, float hi) {
  u32 r;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

/// f32 value of f16 bits.
FG_DEVICE float half_bits_to_float(u16 h) {
  float f;
  asm("cvt.f32.f16 %0, %1;\n" : "=f"(f) : "h"(h));
  return f;
}

// ---- plain vector loads/stores ------------------------------------------------

/// 4-byte shared store.
FG_DEVICE void st_shared_b32(u32 addr, u32 v) {
  asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(addr), "r"(v) : "memory");
}

/// 4-byte shared load.
FG_DEVICE u32 ld_shared_b32(u32 addr) {
  u32 v;
  asm volatile("ld.shared.b32 %0, [%1];\n" : "=r"(v) : "r"(addr) : "memory");
  return v;
}

/// 16-byte shared load.
FG_DEVICE void ld_shared_v4(u32 (&r)[4], u32 addr) {
  asm volatile("ld.shared.v4.b32 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr)
               : "memory");
}

/// Brings the line holding p into L1 (a hint: no fault, no result).
FG_DEVICE void prefetch_l1(const void* p) { asm volatile("prefetch.global.L1 [%0];\n" ::"l"(p)); }

/// 8-byte shared load and store.
FG_DEVICE void ld_shared_v2(u32* r, u32 addr) {
  asm volatile("ld.shared.v2.b32 {%0, %1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(addr) : "memory");
}
FG_DEVICE void st_shared_v2(u32 addr, const u32* v) {
  asm volatile("st.shared.v2.b32 [%0], {%1, %2};\n" ::"r"(addr), "r"(v[0]), "r"(v[1]) : "memory");
}

/// 8-byte read-only global load of 2 f32 into r[0..1] (p 8-byte aligned).
FG_DEVICE void ld_global_nc_v2(float* r, const float* p) {
  asm volatile("ld.global.nc.v2.f32 {%0, %1}, [%2];\n" : "=f"(r[0]), "=f"(r[1]) : "l"(p));
}

/// 16-byte read-only global load of 4 f32 into r[0..3] (p 16-byte aligned).
FG_DEVICE void ld_global_nc_v4(float* r, const float* p) {
  asm volatile("ld.global.nc.v4.f32 {%0, %1, %2, %3}, [%4];\n"
               : "=f"(r[0]), "=f"(r[1]), "=f"(r[2]), "=f"(r[3])
               : "l"(p));
}

/// 16-byte read-only global load of 4 words (p 16-byte aligned).
FG_DEVICE void ld_global_nc_b128(u32 (&r)[4], const void* p) {
  asm volatile("ld.global.nc.v4.b32 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "l"(p));
}

/// 16-byte global load of 4 words (p 16-byte aligned), through the
/// coherent path: memory this kernel also writes.
FG_DEVICE void ld_global_b128(u32 (&r)[4], const void* p) {
  asm volatile("ld.global.v4.b32 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "l"(p)
               : "memory");
}

/// 16-byte shared store.
FG_DEVICE void st_shared_v4(u32 addr, const u32 (&v)[4]) {
  asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};\n" ::"r"(addr), "r"(v[0]), "r"(v[1]), "r"(v[2]),
               "r"(v[3])
               : "memory");
}

/// 16-byte global store (p 16-byte aligned).
FG_DEVICE void st_global_v4(void* p, const u32 (&v)[4]) {
  asm volatile("st.global.v4.b32 [%0], {%1, %2, %3, %4};\n" ::"l"(p), "r"(v[0]), "r"(v[1]), "r"(v[2]),
               "r"(v[3])
               : "memory");
}

/// 4-byte global store (p 4-byte aligned).
FG_DEVICE void st_global_b32(void* p, u32 v) {
  asm volatile("st.global.b32 [%0], %1;\n" ::"l"(p), "r"(v) : "memory");
}

}  // namespace ptx
}  // namespace fg

#endif  // FLASHGEN_DEVICE_EMULATION

#endif  // FLASHGEN_DEVICE_PTX_CUH
