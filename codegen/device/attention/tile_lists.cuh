//===- tile_lists.cuh - flashgen device library: a tile's listed tiles ----===//
//
// The pre-pass of a mask_lists schedule (flash.tile_classify): for one
// tile (a query tile, or a key tile of the gradient's transposed lists),
// every tile of the other side in [first, last) (those the mask kind
// leaves; the others are hidden) gets a class from a functor the kernel
// defines (0 hidden, 1 partial, 2 whole: the mask_mod's interval form over
// the two tiles), and the partial and whole tiles are written, ascending,
// as a block mask's lists: indices to `partial_idx` / `whole_idx` (element
// strides `partial_stride`, `whole_stride`), their counts to
// `*partial_count` / `*whole_count`.
// The CTA's threads classify one tile each per round; a round's
// partial and whole tiles are compacted in order by warp ballots and a
// prefix over the warps' counts, which pass through kSmemBytes of the
// CTA's dynamic shared memory.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_DEVICE_TILE_LISTS_CUH
#define FLASHGEN_DEVICE_TILE_LISTS_CUH

#include "flashgen/device/core/core.cuh"

namespace fg {
namespace tile_lists {

constexpr int kHidden = 0, kPartial = 1, kWhole = 2;

/// Dynamic shared memory build<THREADS> uses.
template <int THREADS>
constexpr int kSmemBytes = 2 * (THREADS / 32) * int(sizeof(int));

/// Every thread of a CTA of THREADS threads (a multiple of 32, at most
/// 1024) calls it with the same arguments.
template <int THREADS, typename Classify>
FG_DEVICE void build(int first, int last, int* partial_count, int* partial_idx,
                     long long partial_stride, int* whole_count, int* whole_idx,
                     long long whole_stride, Classify classify) {
  constexpr int kWarps = THREADS / 32;
  static_assert(THREADS % 32 == 0 && kWarps <= 32, "a CTA of whole warps");
  int* s_counts = reinterpret_cast<int*>(ptx::dynamic_smem()); // [2][kWarps]
  const int lane = ptx::lane_id(), warp = ptx::thread_id() >> 5;
  const u32 below = (1u << lane) - 1u;
  int partial_base = 0, whole_base = 0; // tiles listed before this round
  for (int round = first; round < last; round += THREADS) {
    const int tile = round + ptx::thread_id();
    const int cls = tile < last ? classify(tile) : kHidden;
    const u32 partial = ptx::ballot(cls == kPartial);
    const u32 whole = ptx::ballot(cls == kWhole);
    if (lane == 0) {
      s_counts[warp] = ptx::popc(partial);
      s_counts[kWarps + warp] = ptx::popc(whole);
    }
    ptx::cta_sync();
    int partial_at = partial_base + ptx::popc(partial & below);
    int whole_at = whole_base + ptx::popc(whole & below);
    int partial_round = 0, whole_round = 0;
    for (int w = 0; w < kWarps; ++w) {
      partial_at += w < warp ? s_counts[w] : 0;
      whole_at += w < warp ? s_counts[kWarps + w] : 0;
      partial_round += s_counts[w];
      whole_round += s_counts[kWarps + w];
    }
    if (cls == kPartial)
      partial_idx[(long long)partial_at * partial_stride] = tile;
    else if (cls == kWhole)
      whole_idx[(long long)whole_at * whole_stride] = tile;
    partial_base += partial_round;
    whole_base += whole_round;
    ptx::cta_sync(); // the counts are rewritten by the next round
  }
  if (ptx::thread_id() == 0) {
    *partial_count = partial_base;
    *whole_count = whole_base;
  }
}

}  // namespace tile_lists
}  // namespace fg

#endif  // FLASHGEN_DEVICE_TILE_LISTS_CUH
