//===- tma.cuh - flashgen device library: tensor-memory-accelerator copies -===//
//
// sm_90a bulk tensor copies (TMA): one thread asks the copy engine for a
// whole box of a tensor described by a tensor map (a CUtensorMap the
// runtime encodes at launch, runtime/TensorMaps.cpp); the bytes land in
// shared memory in the 128-byte swizzled layout wg_tile uses, rows past the
// tensor's extent filled with zeros, and an mbarrier counts them in
// (complete_tx), so no copying thread waits and no generic-proxy fence is
// needed before wgmma reads them.
//
// A tensor map is passed as a `const __grid_constant__ fg::tensor_map`
// kernel parameter. The runtime passes all-zero maps when it cannot encode
// one for the tensors of a launch (strides not multiples of 16 bytes, a
// driver without cuTensorMapEncodeTiled, FLASHGEN_TMA=0): tensor_map_valid
// is then false and the kernel copies with cp.async instead.
//
// Under FLASHGEN_DEVICE_EMULATION the header named by
// FLASHGEN_DEVICE_EMULATION_WGMMA provides the ptx functions (the emulator
// has no copy engine: its kernels get zero maps).
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_TMA_CUH
#define FLASHGEN_DEVICE_TMA_CUH

#include "flashgen/device/matmul/wgmma_ptx.cuh"

#if defined(FG_HAVE_WGMMA)

namespace fg {

/// The 128 opaque bytes of a CUtensorMap (64-byte aligned, as the driver
/// and the kernel parameter need).
struct alignas(64) tensor_map {
  unsigned long long opaque[16];
};

/// False for the all-zero map the runtime passes when TMA is off.
FG_DEVICE bool tensor_map_valid(const tensor_map& m) {
  unsigned long long any = 0;
  FG_UNROLL
  for (int i = 0; i < 16; ++i) any |= m.opaque[i];
  return any != 0;
}

#if !defined(FLASHGEN_DEVICE_EMULATION)
namespace ptx {

/// mbarrier.arrive.expect_tx: one arrival, and bytes more to come from
/// bulk copies before the phase can complete.
FG_DEVICE void mbar_arrive_expect_tx(u32 bar, u32 bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}

/// Box of the 4-d tensor `map` at coordinates (c0 innermost .. c3) into
/// shared memory at dst, counted in on the mbarrier bar.
FG_DEVICE void tma_load_4d(u32 dst, const tensor_map* map, int c0, int c1, int c2, int c3, u32 bar) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%2, %3, %4, %5}], [%6];\n" ::"r"(dst),
      "l"(reinterpret_cast<unsigned long long>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(bar)
      : "memory");
}

/// Brings a tensor map into the cache before its first copy.
FG_DEVICE void prefetch_tensor_map(const tensor_map* map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<unsigned long long>(map)) : "memory");
}

}  // namespace ptx
#endif  // !FLASHGEN_DEVICE_EMULATION

}  // namespace fg

#endif  // FG_HAVE_WGMMA

#endif  // FLASHGEN_DEVICE_TMA_CUH
