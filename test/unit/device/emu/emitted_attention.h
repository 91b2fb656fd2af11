//===- emitted_attention.h - launch an emitted attention kernel ----------===//
//
// The parameter order flash-print-cuda gives an attention kernel: q, k and
// v's tensor maps (a producer warpgroup's TMA copies), q, k, v, o and lse
// with their strides, a persistent causal grid's tile counter, then the
// op's extras and the dims. Include after kernel_prelude.h and
// test_support.h.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_TEST_DEVICE_EMITTED_ATTENTION_H
#define FLASHGEN_TEST_DEVICE_EMITTED_ATTENTION_H

#include <tuple>

#include "test_support.h"

namespace emu_test {

/// Launches `kernel` on `grid`: kMaps passes zero tensor maps first (no copy
/// engine here, so the kernel's cp.async fallback runs), kClaims the
/// counter `claims` (zeroed by the caller, as the runtime's zero_init
/// leaves it) after lse; `tail` are the extras' arguments and the dims.
template <bool kMaps, bool kClaims, class KernelT, class... Tail>
void launch_emitted_attention(const emu::Dim3& grid, int threads, int smem, KernelT kernel,
                              Tensor4<fg::bf16>& q, Tensor4<fg::bf16>& k, Tensor4<fg::bf16>& v,
                              Tensor4<fg::bf16>& o, float* lse, long long lse_sb, long long lse_sh, int* claims,
                              Tail... tail) {
  const fg::tensor_map zero{};
  auto maps = [&] {
    if constexpr (kMaps)
      return std::make_tuple(zero, zero, zero);
    else
      return std::tuple<>();
  }();
  auto counter = [&] {
    if constexpr (kClaims)
      return std::make_tuple(claims, 1LL);
    else
      return std::tuple<>();
  }();
  auto args = std::tuple_cat(
      maps,
      std::make_tuple((const fg::bf16*)q.mem.data(), q.sb, q.sh, q.sn, 1LL, (const fg::bf16*)k.mem.data(), k.sb,
                      k.sh, k.sn, 1LL, (const fg::bf16*)v.mem.data(), v.sb, v.sh, v.sn, 1LL, o.mem.data(), o.sb, o.sh,
                      o.sn, 1LL, lse, lse_sb, lse_sh, 1LL),
      counter, std::make_tuple(tail...));
  std::apply([&](auto... a) { emu::launch(grid, threads, size_t(smem), kernel, a...); }, args);
}

}  // namespace emu_test

#endif  // FLASHGEN_TEST_DEVICE_EMITTED_ATTENTION_H
