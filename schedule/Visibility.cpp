//===- Visibility.cpp - which scores a mask leaves, and which tiles -------===//

#include "schedule/Visibility.h"

#include "schedule/Units.h"

#include <algorithm>

using namespace flashgen::schedule;

namespace {

/// Floor division for a possibly negative numerator (b > 0), as
/// arith.floordivsi.
int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/// Ceiling division for a possibly negative numerator (b > 0).
int64_t ceilDivSigned(int64_t a, int64_t b) { return -floorDiv(-a, b); }

/// sum_{x = lo}^{hi} x for lo <= hi.
int64_t sumRange(int64_t lo, int64_t hi) {
  if (lo > hi)
    return 0;
  return (lo + hi) * (hi - lo + 1) / 2;
}

} // namespace

int64_t flashgen::schedule::sumClamped(int64_t a, int64_t n, int64_t hi) {
  if (n <= 0)
    return 0;
  int64_t last = a + n - 1;
  // x < 0 contributes 0; 0 <= x <= hi contributes x; x > hi contributes hi.
  int64_t midLo = std::max<int64_t>(a, 0), midHi = std::min(last, hi);
  int64_t total = sumRange(midLo, midHi);
  int64_t above = last - std::max(a, hi + 1) + 1;
  if (above > 0)
    total += above * hi;
  return total;
}

Visibility flashgen::schedule::attentionVisibility(const AttentionProblem &p) {
  const int64_t n = p.queryLen, m = p.keyLen, off = p.keyLen - p.queryLen;
  Visibility v;
  switch (p.mask) {
  case MaskKind::None:
    v.pairs = n * m;
    v.queryRows = n;
    v.keyRows = m;
    break;
  case MaskKind::Causal:
    // Row i sees keys [0, i + off] within [0, M): clamp(i + off + 1, 0, M).
    v.pairs = sumClamped(off + 1, n, m);
    v.queryRows = n - std::clamp<int64_t>(-off, 0, n);
    // The last row sees keys up to M - 1, so every key is seen when any
    // row sees one.
    v.keyRows = v.queryRows > 0 ? m : 0;
    break;
  case MaskKind::SlidingWindow: {
    // Row i sees [i + off - w + 1, i + off] within [0, M): the keys up to
    // i + off minus those up to i + off - w.
    const int64_t w = p.window;
    v.pairs = sumClamped(off + 1, n, m) - sumClamped(off - w + 1, n, m);
    v.queryRows = n - std::clamp<int64_t>(-off, 0, n);
    int64_t firstKey = std::max<int64_t>(0, off - w + 1);
    v.keyRows = v.queryRows > 0 ? std::max<int64_t>(0, m - firstKey) : 0;
    break;
  }
  }
  return v;
}

TileVisit flashgen::schedule::visitTiles(const AttentionProblem &p,
                                         int64_t tileQ, int64_t tileKv) {
  const int64_t n = p.queryLen, m = p.keyLen, off = p.keyLen - p.queryLen;
  TileVisit t;
  t.queryTiles = ceilDiv(n, tileQ);
  t.keyTiles = ceilDiv(m, tileKv);
  const bool causalLike =
      p.mask == MaskKind::Causal || p.mask == MaskKind::SlidingWindow;
  for (int64_t qt = 0; qt < t.queryTiles; ++qt) {
    int64_t q0 = qt * tileQ;
    int64_t rows = std::min(tileQ, n - q0);
    int64_t lo = 0, hi = t.keyTiles;
    // [fullLo, fullHi): tiles every row of the tile sees entirely.
    int64_t fullLo = 0, fullHi = m / tileKv;
    if (causalLike) {
      // passes/LowerAttention.cpp: the tile's last row sees keys up to its diagonal.
      int64_t lastKey = std::min(q0 + tileQ - 1, n - 1) + off;
      hi = std::clamp<int64_t>(floorDiv(lastKey, tileKv) + 1, 0, t.keyTiles);
      fullHi = std::min(fullHi, floorDiv(q0 + off + 1, tileKv));
    }
    if (p.mask == MaskKind::SlidingWindow) {
      int64_t firstKey = q0 + off + 1 - p.window;
      lo = std::clamp<int64_t>(floorDiv(firstKey, tileKv), 0, hi);
      fullLo = ceilDivSigned(q0 + off + tileQ - p.window, tileKv);
    }
    if (p.hasMaskMod) {
      fullLo = hi;
      fullHi = hi;
    }
    if (hi <= lo)
      continue;
    fullLo = std::clamp(fullLo, lo, hi);
    fullHi = std::clamp(fullHi, fullLo, hi);
    t.tilePairs += hi - lo;
    t.maskedTilePairs += (hi - lo) - (fullHi - fullLo);
    t.keyRowsLoaded += std::min(hi * tileKv, m) - lo * tileKv;
    t.queryRowLoads += rows * (hi - lo);
  }
  if (p.mask == MaskKind::SlidingWindow) {
    // A key is seen by w consecutive rows; widened by one key tile on each
    // side of the tile-granular ranges.
    t.queryTilesPerKeyRow = std::min(
        t.queryTiles, ceilDiv(p.window + 2 * tileKv - 1, tileQ) + 1);
  } else {
    t.queryTilesPerKeyRow = t.queryTiles;
  }
  return t;
}
