//===- ptx_emulation.h - fg::ptx on the host emulator --------------------===//
//
// The same functions as codegen/device/core/ptx.cuh, with the semantics of the
// PTX instructions they wrap, for kernels compiled as host C++ with
// FLASHGEN_DEVICE_EMULATION. Fragment layouts are written here from the PTX
// ISA's figures, independently of the library's own index math, so that a
// kernel that is right here has its lanes and registers right.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_TEST_DEVICE_PTX_EMULATION_H
#define FLASHGEN_TEST_DEVICE_PTX_EMULATION_H

#include <cfloat>
#include <cmath>
#include <cstring>

#include "emu_runtime.h"

namespace fg {
namespace ptx {

inline int thread_id() { return emu::tls.tid; }
inline int lane_id() { return emu::tls.tid & 31; }
inline emu::WarpSlots& warp_slots() { return *emu::tls.cta->warps[emu::tls.tid >> 5]; }
/// Slot set of this thread's next warp collective.
inline emu::WarpSlots::Set& next_slots() { return warp_slots().set[emu::tls.collectives++ & 1]; }

inline void cta_sync() { emu::tls.cta->bar.wait(); }
inline void warp_sync() { warp_slots().bar.wait(); }

inline u8* dynamic_smem() { return emu::tls.cta->smem.data(); }

inline u32 smem_addr(const void* p) {
  auto& s = emu::tls.cta->smem;
  const u8* q = static_cast<const u8*>(p);
  if (q < s.data() || q > s.data() + s.size()) emu::fail("smem_addr: pointer outside shared memory");
  return u32(q - s.data());
}

inline u8* smem_ptr(u32 addr, u32 bytes) {
  auto& s = emu::tls.cta->smem;
  if (size_t(addr) + bytes > s.size()) emu::fail("shared access out of bounds at " + std::to_string(addr));
  return s.data() + addr;
}

// ---- programmatic dependent launch: the emulator runs launches in order ----

inline void launch_dependents() {}
inline void wait_previous_launch() {}

// ---- cp.async: deferred to the wait that must complete it ----

inline void cp_async_16(u32 dst, const void* src, bool pred) {
  if (dst % 16) emu::fail("cp.async: shared address not 16-byte aligned");
  if (pred) {
    if (reinterpret_cast<uintptr_t>(src) % 16) emu::fail("cp.async: global address not 16-byte aligned");
    emu::check_global(src, 16, false);
  }
  std::memset(smem_ptr(dst, 16), 0xff, 16);  // in flight: contents undefined (NaN poison)
  emu::tls.open_group.push_back(emu::PendingCopy{dst, src, pred});
}

inline void cp_async_4(u32 dst, const void* src) {
  if (dst % 4) emu::fail("cp.async: shared address not 4-byte aligned");
  if (reinterpret_cast<uintptr_t>(src) % 4) emu::fail("cp.async: global address not 4-byte aligned");
  emu::check_global(src, 4, false);
  std::memset(smem_ptr(dst, 4), 0xff, 4);  // in flight: contents undefined (NaN poison)
  emu::tls.open_group.push_back(emu::PendingCopy{dst, src, true, 4});
}

inline void cp_async_commit() {
  emu::tls.committed.push_back(std::move(emu::tls.open_group));
  emu::tls.open_group.clear();
}

template <int N> inline void cp_async_wait() {
  auto& c = emu::tls.committed;
  while (int(c.size()) > N) {
    for (const auto& p : c.front()) {
      u8* d = smem_ptr(p.dst, p.bytes);
      if (p.pred)
        std::memcpy(d, p.src, p.bytes);
      else
        std::memset(d, 0, p.bytes);
    }
    c.erase(c.begin());
  }
}

// ---- ldmatrix ----

inline u16 smem_u16(u32 addr) {
  u16 v;
  std::memcpy(&v, smem_ptr(addr, 2), 2);
  return v;
}

/// Shared body of the ldmatrix variants: nmat 8x8 matrices of b16.
template <int NMAT> inline void ldsm(u32* r, u32 addr, bool trans) {
  auto& w = next_slots();
  const int lane = lane_id();
  if (addr % 16) emu::fail("ldmatrix: row address not 16-byte aligned");
  w.addr[lane] = addr;
  warp_slots().bar.wait();
  for (int i = 0; i < NMAT; ++i) {
    const int g = lane >> 2, t = lane & 3;
    u16 lo, hi;
    if (!trans) {
      // row g of matrix i, elements 2t, 2t+1
      const u32 row = w.addr[8 * i + g];
      lo = smem_u16(row + 4 * t);
      hi = smem_u16(row + 4 * t + 2);
    } else {
      // column g of matrix i, rows 2t, 2t+1
      lo = smem_u16(w.addr[8 * i + 2 * t] + 2 * g);
      hi = smem_u16(w.addr[8 * i + 2 * t + 1] + 2 * g);
    }
    r[i] = u32(lo) | (u32(hi) << 16);
  }
}

inline void ldsm_x4(u32 (&r)[4], u32 addr) { ldsm<4>(r, addr, false); }
inline void ldsm_x4_t(u32 (&r)[4], u32 addr) { ldsm<4>(r, addr, true); }
inline void ldsm_x2(u32 (&r)[2], u32 addr) { ldsm<2>(r, addr, false); }
inline void ldsm_x2_t(u32 (&r)[2], u32 addr) { ldsm<2>(r, addr, true); }

// ---- mma.sync m16n8k16, f32 accumulate ----

inline float b16_value(u16 h, bool is_bf16) {
  return is_bf16 ? emu::bf16_bits_to_float(h) : emu::half_bits_to_float(h);
}

inline void mma_16816(float (&d)[4], const u32 (&a)[4], u32 b0, u32 b1, bool is_bf16) {
  auto& w = next_slots();
  const int lane = lane_id();
  for (int i = 0; i < 4; ++i) w.a[lane][i] = a[i];
  w.b[lane][0] = b0;
  w.b[lane][1] = b1;
  warp_slots().bar.wait();
  // A (16x16, row): element (r, k) is in lane (r%8)*4 + (k%8)/2, register
  // (k/8)*2 + r/8, half k%2.  B (16x8, col): element (k, n) is in lane
  // n*4 + (k%8)/2, register k/8, half k%2.  D (16x8): element (r, n) is in
  // lane (r%8)*4 + n/2, register (r/8)*2 + n%2.
  auto A = [&](int r, int k) {
    const u32 reg = w.a[(r % 8) * 4 + (k % 8) / 2][(k / 8) * 2 + r / 8];
    return b16_value(u16(k % 2 ? reg >> 16 : reg & 0xffff), is_bf16);
  };
  auto B = [&](int k, int n) {
    const u32 reg = w.b[n * 4 + (k % 8) / 2][k / 8];
    return b16_value(u16(k % 2 ? reg >> 16 : reg & 0xffff), is_bf16);
  };
  for (int e = 0; e < 4; ++e) {
    const int r = (lane >> 2) + 8 * (e >> 1), n = 2 * (lane & 3) + (e & 1);
    double acc = 0.0;
    for (int k = 0; k < 16; ++k) acc += double(A(r, k)) * double(B(k, n));
    d[e] = float(double(d[e]) + acc);
  }
}

inline void mma_16816_bf16(float (&d)[4], const u32 (&a)[4], u32 b0, u32 b1) { mma_16816(d, a, b0, b1, true); }
inline void mma_16816_f16(float (&d)[4], const u32 (&a)[4], u32 b0, u32 b1) { mma_16816(d, a, b0, b1, false); }

// ---- scalar math ----

inline float ftz(float x) { return std::fabs(x) < FLT_MIN ? std::copysign(0.0f, x) : x; }
inline float ex2(float x) { return ftz(std::exp2(ftz(x))); }
inline float tanh_approx(float x) { return std::tanh(x); }
inline float rcp_approx(float x) { return ftz(1.0f / ftz(x)); }
inline float lg2_approx(float x) { return std::log2(ftz(x)); }

inline u32 ballot(bool p) {
  auto& w = next_slots();
  w.addr[lane_id()] = p ? 1u : 0u;
  warp_slots().bar.wait();
  u32 bits = 0;
  for (int l = 0; l < 32; ++l) bits |= (w.addr[l] ? 1u : 0u) << l;
  return bits;
}

inline int popc(u32 x) { return __builtin_popcount(x); }

inline float shfl_xor(float x, int mask) {
  auto& w = next_slots();
  const int lane = lane_id();
  w.f[lane] = x;
  warp_slots().bar.wait();
  return w.f[lane ^ mask];
}

/// Emulated threads run concurrently: a compare-and-swap loop on the bits.
inline void red_add_f32(float* p, float v) {
  auto* bits = reinterpret_cast<uint32_t*>(p);
  uint32_t old = __atomic_load_n(bits, __ATOMIC_RELAXED);
  for (;;) {
    float f;
    std::memcpy(&f, &old, 4);
    f += v;
    uint32_t next;
    std::memcpy(&next, &f, 4);
    if (__atomic_compare_exchange_n(bits, &old, next, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return;
  }
}

inline int atomic_add_s32(int* p, int v) {
  if (reinterpret_cast<uintptr_t>(p) % 4) emu::fail("atom.global.add.s32: misaligned");
  emu::check_global(p, 4, true);
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

/// sm_90's vector reduction needs an 8-byte aligned address.
inline void red_add_f32x2(float* p, float a, float b) {
  if (reinterpret_cast<uintptr_t>(p) % 8) emu::fail("red.global.add.v2.f32: misaligned");
  red_add_f32(p, a);
  red_add_f32(p + 1, b);
}

inline bool vote_any(bool pred) {
  auto& w = next_slots();
  const int lane = lane_id();
  w.f[lane] = pred ? 1.0f : 0.0f;
  warp_slots().bar.wait();
  for (int i = 0; i < 32; ++i)
    if (w.f[i] != 0.0f) return true;
  return false;
}

inline float u32_as_float(u32 x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
inline u32 float_as_u32(float x) {
  u32 u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline float neg_inf() { return -INFINITY; }

inline u32 cvt_pack_bf16x2(float lo, float hi) {
  return u32(emu::float_to_bf16_bits(lo)) | (u32(emu::float_to_bf16_bits(hi)) << 16);
}
inline u32 cvt_pack_f16x2(float lo, float hi) {
  return u32(emu::float_to_half_bits(lo)) | (u32(emu::float_to_half_bits(hi)) << 16);
}
inline float half_bits_to_float(u16 h) { return emu::half_bits_to_float(h); }

// ---- plain loads/stores ----

inline void st_shared_b32(u32 addr, u32 v) {
  if (addr % 4) emu::fail("st.shared.b32: misaligned");
  std::memcpy(smem_ptr(addr, 4), &v, 4);
}
inline u32 ld_shared_b32(u32 addr) {
  if (addr % 4) emu::fail("ld.shared.b32: misaligned");
  u32 v;
  std::memcpy(&v, smem_ptr(addr, 4), 4);
  return v;
}
inline void ld_shared_v4(u32 (&r)[4], u32 addr) {
  if (addr % 16) emu::fail("ld.shared.v4: misaligned");
  std::memcpy(r, smem_ptr(addr, 16), 16);
}
inline void prefetch_l1(const void*) {}  // a hint: nothing to emulate
inline void ld_shared_v2(u32* r, u32 addr) {
  if (addr % 8) emu::fail("ld.shared.v2: misaligned");
  std::memcpy(r, smem_ptr(addr, 8), 8);
}
inline void st_shared_v2(u32 addr, const u32* v) {
  if (addr % 8) emu::fail("st.shared.v2: misaligned");
  std::memcpy(smem_ptr(addr, 8), v, 8);
}
inline void ld_global_nc_v2(float* r, const float* p) {
  if (reinterpret_cast<uintptr_t>(p) % 8) emu::fail("ld.global.nc.v2: misaligned");
  emu::check_global(p, 8, false);
  std::memcpy(r, p, 8);
}
inline void ld_global_nc_v4(float* r, const float* p) {
  if (reinterpret_cast<uintptr_t>(p) % 16) emu::fail("ld.global.nc.v4: misaligned");
  emu::check_global(p, 16, false);
  std::memcpy(r, p, 16);
}
inline void ld_global_nc_b128(u32 (&r)[4], const void* p) {
  if (reinterpret_cast<uintptr_t>(p) % 16) emu::fail("ld.global.nc.v4.b32: misaligned");
  emu::check_global(p, 16, false);
  std::memcpy(r, p, 16);
}
inline void ld_global_b128(u32 (&r)[4], const void* p) {
  if (reinterpret_cast<uintptr_t>(p) % 16) emu::fail("ld.global.v4.b32: misaligned");
  emu::check_global(p, 16, false);
  std::memcpy(r, p, 16);
}
inline void st_shared_v4(u32 addr, const u32 (&v)[4]) {
  if (addr % 16) emu::fail("st.shared.v4: misaligned");
  std::memcpy(smem_ptr(addr, 16), v, 16);
}
inline void st_global_v4(void* p, const u32 (&v)[4]) {
  if (reinterpret_cast<uintptr_t>(p) % 16) emu::fail("st.global.v4: misaligned");
  emu::check_global(p, 16, true);
  std::memcpy(p, v, 16);
}
inline void st_global_b32(void* p, u32 v) {
  if (reinterpret_cast<uintptr_t>(p) % 4) emu::fail("st.global.b32: misaligned");
  emu::check_global(p, 4, true);
  std::memcpy(p, &v, 4);
}

}  // namespace ptx
}  // namespace fg

#endif  // FLASHGEN_TEST_DEVICE_PTX_EMULATION_H
