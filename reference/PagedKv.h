//===- PagedKv.h - paged KV caches for the reference ------------*- C++ -*-===//
//
// A paged cache keeps a sequence's keys in pages of P rows scattered over a
// pool (docs/semantics.md §2.8): row j of sequence b is row j % P of page
// table[b, j / P], an id outside [0, pages) reading the nearest page in
// range. Tests draw pools and tables here and compute the reference on the
// gathered [B, Hkv, M, D] view, the one definition of what a paged kernel
// reads.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_PAGEDKV_H
#define FLASHGEN_REFERENCE_PAGEDKV_H

#include "reference/Tensor.h"

#include <cstdint>

namespace flashgen::reference {

struct PagedCache {
  Tensor<double> kPool; ///< [pages, P, Hkv, D]
  Tensor<double> vPool; ///< [pages, P, Hkv, Dv]
  Tensor<double> table; ///< [B, M / P] page ids (integers)
};

/// Pages logical caches k [B, Hkv, M, D] and v [B, Hkv, M, Dv] (M a
/// multiple of pageSize) into pools whose pages are in an order drawn from
/// `seed`: every (sequence, page) gets a distinct page, and the pools hold
/// spare pages (the caches' values negated) no table entry names. With
/// `outOfRangeIds`, two entries (the last page of the first and last
/// sequences, when those are distinct and have more than one page) are
/// replaced by ids below 0 and past the pool, which read the first and last
/// pages; the gathered view then differs from k and v there.
PagedCache pageCaches(const Tensor<double> &k, const Tensor<double> &v,
                      int64_t pageSize, uint64_t seed, bool outOfRangeIds);

/// The [B, Hkv, M, D] view of `pool` [pages, P, Hkv, D] through `table`
/// [B, M / P]: view[b, h, j, d] = pool[clamp(table[b, j / P]), j % P, h, d].
Tensor<double> gatherPages(const Tensor<double> &pool,
                           const Tensor<double> &table);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_PAGEDKV_H
