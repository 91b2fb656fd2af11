//===- PagedKv.cpp - paged KV caches for the reference --------------------===//

#include "reference/PagedKv.h"

#include "reference/Random.h"
#include "reference/ReferenceError.h"

#include <algorithm>
#include <numeric>
#include <vector>

namespace flashgen::reference {

namespace {

/// Copies page `p` of sequence b of `cache` [B, H, M, D] into page `page` of
/// `pool` [pages, P, H, D], times `sign`.
void copyPage(const Tensor<double> &cache, int64_t b, int64_t p,
              Tensor<double> &pool, int64_t page, double sign) {
  const int64_t heads = cache.dim(1), keys = cache.dim(2), d = cache.dim(3),
                pageSize = pool.dim(1);
  for (int64_t r = 0; r < pageSize; ++r)
    for (int64_t h = 0; h < heads; ++h) {
      const double *src = cache.data() + ((b * heads + h) * keys + p * pageSize + r) * d;
      double *dst = pool.data() + ((page * pageSize + r) * heads + h) * d;
      for (int64_t c = 0; c < d; ++c)
        dst[c] = sign * src[c];
    }
}

} // namespace

PagedCache pageCaches(const Tensor<double> &k, const Tensor<double> &v,
                      int64_t pageSize, uint64_t seed, bool outOfRangeIds) {
  if (k.rank() != 4 || v.rank() != 4 || k.dim(0) != v.dim(0) ||
      k.dim(1) != v.dim(1) || k.dim(2) != v.dim(2))
    throw ReferenceError("pageCaches: k " + shapeToString(k.shape()) +
                         " and v " + shapeToString(v.shape()) +
                         " must be [B, Hkv, M, D] of one B, Hkv and M");
  if (pageSize < 1 || k.dim(2) % pageSize != 0)
    throw ReferenceError("pageCaches: M = " + std::to_string(k.dim(2)) +
                         " is not a whole number of pages of " +
                         std::to_string(pageSize));
  const int64_t batch = k.dim(0), heads = k.dim(1),
                seqPages = k.dim(2) / pageSize, used = batch * seqPages,
                spare = batch + 1, pages = used + spare;
  std::vector<int64_t> order(pages);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed);
  for (int64_t i = pages - 1; i > 0; --i) // Fisher-Yates
    std::swap(order[i], order[rng.uniformInt(0, i)]);

  PagedCache out;
  out.kPool = Tensor<double>({pages, pageSize, heads, k.dim(3)});
  out.vPool = Tensor<double>({pages, pageSize, heads, v.dim(3)});
  out.table = Tensor<double>({batch, seqPages});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t p = 0; p < seqPages; ++p) {
      const int64_t page = order[b * seqPages + p];
      out.table.data()[b * seqPages + p] = double(page);
      copyPage(k, b, p, out.kPool, page, 1.0);
      copyPage(v, b, p, out.vPool, page, 1.0);
    }
  // Spare pages: values a wrong lookup would read instead.
  for (int64_t s = 0; s < spare; ++s) {
    const int64_t source = s % used;
    copyPage(k, source / seqPages, source % seqPages, out.kPool, order[used + s], -1.0);
    copyPage(v, source / seqPages, source % seqPages, out.vPool, order[used + s], -1.0);
  }
  if (outOfRangeIds && batch > 1 && seqPages > 1) {
    out.table.data()[seqPages - 1] = -3.0;
    out.table.data()[batch * seqPages - 1] = double(pages + 5);
  }
  return out;
}

Tensor<double> gatherPages(const Tensor<double> &pool,
                           const Tensor<double> &table) {
  if (pool.rank() != 4 || table.rank() != 2)
    throw ReferenceError("gatherPages: pool " + shapeToString(pool.shape()) +
                         " must be [pages, P, H, D] and table " +
                         shapeToString(table.shape()) + " [B, pages per sequence]");
  const int64_t pages = pool.dim(0), pageSize = pool.dim(1), heads = pool.dim(2),
                d = pool.dim(3), batch = table.dim(0), seqPages = table.dim(1),
                keys = seqPages * pageSize;
  Tensor<double> view({batch, heads, keys, d});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < keys; ++j) {
      const int64_t id = int64_t(table.data()[b * seqPages + j / pageSize]);
      const int64_t page = std::clamp<int64_t>(id, 0, pages - 1);
      for (int64_t h = 0; h < heads; ++h) {
        const double *src = pool.data() + ((page * pageSize + j % pageSize) * heads + h) * d;
        double *dst = view.data() + ((b * heads + h) * keys + j) * d;
        std::copy(src, src + d, dst);
      }
    }
  return view;
}

} // namespace flashgen::reference
