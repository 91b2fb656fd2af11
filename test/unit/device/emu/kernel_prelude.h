//===- kernel_prelude.h - compile a flashgen kernel .cu as host C++ ------===//
//
// Include first, then the kernel source: CUDA keywords become plain C++, the
// library takes its fg::ptx from ptx_emulation.h, and threadIdx / blockIdx /
// gridDim come from emu_runtime.h.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_TEST_DEVICE_KERNEL_PRELUDE_H
#define FLASHGEN_TEST_DEVICE_KERNEL_PRELUDE_H

#define FLASHGEN_DEVICE_EMULATION 1
#define FLASHGEN_DEVICE_EMULATION_PTX "ptx_emulation.h"
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __grid_constant__

#include <cmath>

#include "emu_runtime.h"

// CUDA's fast-math intrinsics that printed scalar code may use.
inline float __logf(float x) { return std::log(x); }
inline float __log2f(float x) { return std::log2(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
// The read-only load printed for an extra operand's element (a block
// list, a per-sequence length): checked like every global access.
template <class T> inline T __ldg(const T* p) {
  emu::check_global(p, sizeof(T), false);
  return *p;
}

#endif  // FLASHGEN_TEST_DEVICE_KERNEL_PRELUDE_H
