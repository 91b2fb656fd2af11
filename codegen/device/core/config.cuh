//===- config.cuh - flashgen device library: macros, arch, no-host guard -===//
//
// Included first by every device header. Emitted kernels are compiled by NVRTC
// with no include path: the runtime hands these headers over by name, and no
// header here may include anything outside this folder. Offline builds (nvcc,
// the host emulator in test/unit/device/) may see the host standard headers.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_CONFIG_CUH
#define FLASHGEN_DEVICE_CONFIG_CUH

/// NVRTC has no standard library headers: under NVRTC the library never asks
/// for one. Define FLASHGEN_DEVICE_NO_HOST to get the same in other builds.
#if defined(__CUDACC_RTC__) && !defined(FLASHGEN_DEVICE_NO_HOST)
#define FLASHGEN_DEVICE_NO_HOST 1
#endif

/// FLASHGEN_DEVICE_EMULATION: the host emulator compiles the library as plain
/// C++ and supplies every hardware primitive itself (see ptx.cuh).
#if defined(FLASHGEN_DEVICE_EMULATION)
#define FG_DEVICE inline
#define FG_HOST_DEVICE inline
#define FG_UNROLL
#else
/// Every library function is a forced-inline device function.
#define FG_DEVICE __device__ __forceinline__
#define FG_HOST_DEVICE __host__ __device__ __forceinline__
#define FG_PRAGMA_(x) _Pragma(#x)
/// Full unroll of a loop with compile-time bounds (register arrays stay in registers).
#define FG_UNROLL FG_PRAGMA_(unroll)
#endif

/// Architecture of the current device pass: 0 in host passes.
#if defined(__CUDA_ARCH__)
#define FG_ARCH __CUDA_ARCH__
#else
#define FG_ARCH 0
#endif

/// sm_90a features (wgmma, setmaxnreg) are usable in this pass.
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define FG_ARCH_SM90A 1
#else
#define FG_ARCH_SM90A 0
#endif

#if !defined(FLASHGEN_DEVICE_EMULATION) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#error "flashgen device library: needs sm_80 or newer (cp.async, bf16 mma.sync)"
#endif

#endif  // FLASHGEN_DEVICE_CONFIG_CUH
