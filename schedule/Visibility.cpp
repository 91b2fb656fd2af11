//===- Visibility.cpp - which scores a mask leaves, and which tiles -------===//

#include "schedule/Visibility.h"

#include "schedule/Units.h"

#include <algorithm>
#include <cstdint>
#include <numeric>

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

namespace {

/// One query tile's share of a TileVisit, and the side of every clamp
/// against a constant that it took (see TileWalk).
struct TileStep {
  int64_t pairs = 0, masked = 0, keyRows = 0, rowLoads = 0;
  uint64_t regime = 0;

  TileStep &operator+=(const TileStep &o) {
    pairs += o.pairs;
    masked += o.masked;
    keyRows += o.keyRows;
    rowLoads += o.rowLoads;
    return *this;
  }
};

/// Walks the query tiles of one tiling. Every unclamped quantity of a tile
/// (its last visible key tile, first one, fully visible range) is
/// floor((qt * tileQ + c) / tileKv) + d: nondecreasing in qt, and exactly
/// tileQ * P / tileKv larger P = tileKv / gcd(tileQ, tileKv) tiles later.
/// The clamps against constants (0, 1, cdiv(M, tileKv), M / tileKv, the
/// ragged last tile) flip at most once each as qt grows, so the tiles split
/// into a few runs with one `regime` (which side of each clamp); within a
/// run every step is periodic-linear and the sum of R whole periods is
/// R * S0 + R (R - 1) / 2 * (S1 - S0) from the first two periods' sums.
/// Comparisons between two unclamped quantities (same slope) repeat with
/// period P, so they need no bit. This makes visitTiles O(P log N) instead
/// of O(N / tileQ).
struct TileWalk {
  const AttentionProblem &p;
  int64_t tileQ, tileKv, n, m, off, keyTiles, wholeKeyTiles;
  bool causalLike;

  TileStep step(int64_t qt) const {
    TileStep t;
    uint64_t bit = 1;
    auto side = [&](bool b) {
      if (b)
        t.regime |= bit;
      bit <<= 1;
    };
    // Each raw (unclamped) quantity against every constant it may meet.
    auto constants = [&](int64_t raw) {
      for (int64_t c : {int64_t(0), int64_t(1), keyTiles, wholeKeyTiles}) {
        side(raw < c);
        side(raw > c);
      }
    };
    int64_t q0 = qt * tileQ;
    side(q0 + tileQ > n);
    int64_t rows = std::min(tileQ, n - q0);
    int64_t lo = 0, hi = keyTiles;
    // [fullLo, fullHi): tiles every row of the tile sees entirely.
    int64_t fullLo = 0, fullHi = wholeKeyTiles;
    if (causalLike) {
      // passes/LowerAttention.cpp: the tile's last row sees keys up to its diagonal.
      int64_t lastKey = std::min(q0 + tileQ - 1, n - 1) + off;
      int64_t hiRaw = floorDiv(lastKey, tileKv) + 1;
      int64_t fullHiRaw = floorDiv(q0 + off + 1, tileKv);
      constants(hiRaw);
      constants(fullHiRaw);
      hi = std::clamp<int64_t>(hiRaw, 0, keyTiles);
      fullHi = std::min(fullHi, fullHiRaw);
    }
    if (p.mask == MaskKind::SlidingWindow) {
      int64_t firstKey = q0 + off + 1 - p.window;
      int64_t loRaw = floorDiv(firstKey, tileKv);
      int64_t fullLoRaw = ceilDivSigned(q0 + off + tileQ - p.window, tileKv);
      constants(loRaw);
      constants(fullLoRaw);
      lo = std::clamp<int64_t>(loRaw, 0, hi);
      fullLo = fullLoRaw;
    }
    if (p.hasMaskMod) {
      fullLo = hi;
      fullHi = hi;
    }
    if (hi <= lo)
      return t;
    fullLo = std::clamp(fullLo, lo, hi);
    fullHi = std::clamp(fullHi, fullLo, hi);
    t.pairs = hi - lo;
    t.masked = (hi - lo) - (fullHi - fullLo);
    t.keyRows = std::min(hi * tileKv, m) - lo * tileKv;
    t.rowLoads = rows * (hi - lo);
    return t;
  }

  /// The sum of steps [first, last).
  TileStep sum(int64_t first, int64_t last) const {
    TileStep total;
    for (int64_t qt = first; qt < last; ++qt)
      total += step(qt);
    return total;
  }
};

/// The counts every query tile shares.
TileVisit tileCounts(const AttentionProblem &p, int64_t tileQ, int64_t tileKv) {
  TileVisit t;
  t.queryTiles = ceilDiv(p.queryLen, tileQ);
  t.keyTiles = ceilDiv(p.keyLen, tileKv);
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

TileWalk walkOf(const AttentionProblem &p, const TileVisit &t, int64_t tileQ,
                int64_t tileKv) {
  const bool causalLike =
      p.mask == MaskKind::Causal || p.mask == MaskKind::SlidingWindow;
  return TileWalk{p,        tileQ,      tileKv,           p.queryLen,
                  p.keyLen, p.keyLen - p.queryLen, t.keyTiles,
                  p.keyLen / tileKv, causalLike};
}

void store(TileVisit &t, const TileStep &total) {
  t.tilePairs = total.pairs;
  t.maskedTilePairs = total.masked;
  t.keyRowsLoaded = total.keyRows;
  t.queryRowLoads = total.rowLoads;
}

} // namespace

TileVisit flashgen::schedule::visitTilesOneByOne(const AttentionProblem &p,
                                                 int64_t tileQ, int64_t tileKv) {
  TileVisit t = tileCounts(p, tileQ, tileKv);
  store(t, walkOf(p, t, tileQ, tileKv).sum(0, t.queryTiles));
  return t;
}

TileVisit flashgen::schedule::visitTiles(const AttentionProblem &p,
                                         int64_t tileQ, int64_t tileKv) {
  TileVisit t = tileCounts(p, tileQ, tileKv);
  const TileWalk walk = walkOf(p, t, tileQ, tileKv);
  const int64_t period = tileKv / std::gcd(tileQ, tileKv);
  TileStep total;
  int64_t qt = 0;
  while (qt < t.queryTiles) {
    // The run of tiles with qt's regime: a prefix of [qt, queryTiles),
    // since every regime bit flips at most once.
    const uint64_t regime = walk.step(qt).regime;
    int64_t lo = qt, hi = t.queryTiles - 1;
    while (lo < hi) {
      int64_t mid = lo + (hi - lo + 1) / 2;
      if (walk.step(mid).regime == regime)
        lo = mid;
      else
        hi = mid - 1;
    }
    const int64_t runEnd = lo + 1;
    const int64_t periods = (runEnd - qt) / period;
    if (periods >= 3) {
      TileStep first = walk.sum(qt, qt + period);
      TileStep second = walk.sum(qt + period, qt + 2 * period);
      const int64_t r = periods, triangle = periods * (periods - 1) / 2;
      total.pairs += r * first.pairs + triangle * (second.pairs - first.pairs);
      total.masked +=
          r * first.masked + triangle * (second.masked - first.masked);
      total.keyRows +=
          r * first.keyRows + triangle * (second.keyRows - first.keyRows);
      total.rowLoads +=
          r * first.rowLoads + triangle * (second.rowLoads - first.rowLoads);
      qt += periods * period;
    }
    total += walk.sum(qt, runEnd);
    qt = runEnd;
  }
  store(t, total);
  return t;
}
