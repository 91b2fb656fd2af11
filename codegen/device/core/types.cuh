//===- types.cuh - flashgen device library: scalar and storage types ------===//
//
// Fixed-width integers (NVRTC has no <cstdint>), 16-bit float storage types
// (layout-compatible with __nv_bfloat16 / __half, so host code may pass those
// buffers) and a few compile-time type facts. Conversions live in convert.cuh.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_TYPES_CUH
#define FLASHGEN_DEVICE_TYPES_CUH

#include "flashgen/device/core/config.cuh"

namespace fg {

using i8 = signed char;
using u8 = unsigned char;
using i16 = short;
using u16 = unsigned short;
using i32 = int;
using u32 = unsigned int;
using i64 = long long;
using u64 = unsigned long long;

static_assert(sizeof(i16) == 2 && sizeof(i32) == 4 && sizeof(i64) == 8, "int widths");

/// bfloat16 storage (raw bits); arithmetic happens in f32.
struct alignas(2) bf16 {
  u16 bits;
};
/// IEEE half storage (raw bits); arithmetic happens in f32.
struct alignas(2) f16 {
  u16 bits;
};

/// Compile-time facts about an element type of a tile.
template <class T> struct dtype;
template <> struct dtype<bf16> {
  static constexpr int bytes = 2;
  static constexpr bool is_bf16 = true;
};
template <> struct dtype<f16> {
  static constexpr int bytes = 2;
  static constexpr bool is_bf16 = false;
};
template <> struct dtype<float> {
  static constexpr int bytes = 4;
  static constexpr bool is_bf16 = false;
};

/// Compile-time equality of types (NVRTC has no <type_traits>).
template <class A, class B> struct same_type {
  static constexpr bool value = false;
};
template <class A> struct same_type<A, A> {
  static constexpr bool value = true;
};

}  // namespace fg

// Offline builds (nvcc, host tools, the emulator) check the widths against
// the host's own types; NVRTC (FLASHGEN_DEVICE_NO_HOST) has no <cstdint>.
#if !defined(FLASHGEN_DEVICE_NO_HOST)
#include <cstdint>
static_assert(sizeof(fg::u16) == sizeof(std::uint16_t) && sizeof(fg::u32) == sizeof(std::uint32_t) &&
                  sizeof(fg::u64) == sizeof(std::uint64_t),
              "fg int types");
#endif

#endif  // FLASHGEN_DEVICE_TYPES_CUH
