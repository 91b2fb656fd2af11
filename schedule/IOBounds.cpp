//===- IOBounds.cpp - lower bounds on the bytes an op must move -----------===//
//
// Attention: the constant. Saha & Ye prove Theta bounds; flashgen needs a
// number that is never above what a real schedule moves, so it uses a
// Hong-Kung / Irony-Toledo-Tiskin segment argument whose constant we can
// check line by line (not the paper's own constant, which their Theta
// hides).
//
// Model: a red-blue pebble game with a fast memory of M elements over the
// standard attention DAG (every visible pair (i, j) needs the d products
// q_ik k_jk, summed into S_ij). Cut the schedule into segments of exactly M
// I/Os. In one segment at most 2M elements of Q are available (M in fast
// memory at its start, at most M loaded), likewise 2M of K. Split the
// products done in the segment by their pair (i, j):
//  - pairs whose partial sum S_ij lives across a segment boundary: each is
//    in fast memory at the start or end (<= 2M) or is loaded/stored (<= M),
//    so at most 3M such pairs, and by Loomis-Whitney their products number
//    at most sqrt(2M * 2M * 3M) <= 4 M^1.5;
//  - pairs started and finished in the segment: all d elements of row i of
//    Q and row j of K were available, so at most (2M/d)^2 pairs, 4 M^2 / d
//    products.
// A segment therefore does at most 4 M^1.5 + 4 M^2/d of the P d products,
// there are at least P d / (4 M^1.5 + 4 M^2 / d) segments, all but the last
// full, and
//
//     IO >= M (P d / (4 M^1.5 + 4 M^2/d) - 1) = P d^2 / (4 (d sqrt(M) + M)) - M.
//
// For M >= d^2 the denominator is at most 8M: IO >= P d^2 / (8M) - M, the
// N^2 d^2 / M regime with constant 1/8 (P = N^2 without a mask). For
// M < d^2 it is at most 8 d sqrt(M): IO >= P d / (8 sqrt(M)) - M, the
// N^2 d / sqrt(M) regime with constant 1/8. Only the Q K^T products are
// counted (the P V half would need a finer argument), so the bound is
// conservative. Elements are counted at the input element size; a larger M
// only lowers the bound, so counting registers holding f32 as two 16-bit
// elements of capacity keeps it valid. The result is never below the
// compulsory traffic: each used input element read once, each output
// element written once.
//
// GQA shares a K/V head among Hq / Hkv query heads: the products are per
// query head (P counts all B Hq heads), the compulsory K/V reads per KV head.
//
// Recurrences: the compulsory traffic (q, k, v, gates once, o once, the
// initial and final states when present). When the f32 state C (Dk x Dv)
// does not fit in M, every chunkwise schedule flashgen emits holds a slice
// Dk x tile_dv of it per CTA, so splits Dv into at least
// s = ceil(Dk Dv 4 / M) slices, and the pass that carries the state
// (chunk_fused, or chunk_two_pass's state pass) reads k once per slice:
// (s - 1) T Dk extra element reads. This is a bound over that schedule
// family, not over every algorithm (a quadratic, attention-like form of a
// recurrence needs no state at all).
//
//===----------------------------------------------------------------------===//

#include "schedule/IOBounds.h"

#include "schedule/Units.h"
#include "schedule/Visibility.h"

#include <algorithm>
#include <cmath>

using namespace flashgen::schedule;

namespace {

/// Products per segment of M I/Os (see the file comment): Loomis-Whitney
/// for pairs alive across segment boundaries, and whole rows for pairs
/// started and finished inside one.
constexpr long double kCrossingProductsPerM15 = 4.0L; // x M^1.5
constexpr long double kInsideProductsPerM2OverD = 4.0L; // x M^2 / d

} // namespace

int64_t flashgen::schedule::attentionSegmentWords(long double pairs, int64_t d,
                                                  int64_t m) {
  if (pairs <= 0 || d <= 0 || m <= 0)
    return 0;
  long double M = static_cast<long double>(m), D = static_cast<long double>(d);
  long double perSegment = kCrossingProductsPerM15 * M * std::sqrt(M) +
                           kInsideProductsPerM2OverD * M * M / D;
  long double words = pairs * D * M / perSegment - M;
  if (words <= 0)
    return 0;
  return static_cast<int64_t>(std::floor(words));
}

LevelBound flashgen::schedule::attentionLevelBound(const AttentionProblem &p,
                                                   int64_t capacityBytes,
                                                   const std::string &level) {
  LevelBound b;
  b.level = level;
  b.capacityBytes = capacityBytes;
  const int64_t e = p.elementBytes;
  const int64_t words = capacityBytes / e;
  b.smallCache = words < p.headDim * p.headDim;

  Visibility v = attentionVisibility(p);
  int64_t perQueryHead = v.queryRows * p.headDim + p.queryLen * p.valueDim;
  int64_t perKeyHead = v.keyRows * (p.headDim + p.valueDim);
  b.compulsoryBytes = (p.batch * p.queryHeads * perQueryHead +
                       p.batch * p.keyHeads * perKeyHead) *
                      e;
  // A mask_mod can make the visible pairs arbitrarily sparse: no quadratic
  // term can be claimed for it.
  if (!p.hasMaskMod) {
    long double pairs = static_cast<long double>(v.pairs) * p.batch * p.queryHeads;
    b.extraBytes = attentionSegmentWords(pairs, p.headDim, words) * e;
  }
  b.boundBytes = std::max(b.compulsoryBytes, b.extraBytes);
  return b;
}

IOBound flashgen::schedule::attentionIOBound(const AttentionProblem &p,
                                             const Target &t) {
  IOBound bound;
  bound.onChip = attentionLevelBound(p, t.onChipBytesPerCTA(), "on-chip");
  bound.l2 = attentionLevelBound(p, t.l2Bytes, "L2");
  bound.visiblePairs = attentionVisibility(p).pairs * p.batch * p.queryHeads;
  return bound;
}

LevelBound flashgen::schedule::linearLevelBound(const LinearProblem &p,
                                                int64_t capacityBytes,
                                                const std::string &level) {
  LevelBound b;
  b.level = level;
  b.capacityBytes = capacityBytes;
  const int64_t e = p.elementBytes, T = p.length;
  int64_t perHead = T * (2 * p.keyDim + p.valueDim) * e // q, k, v
                    + T * p.valueDim * e                // o
                    + T * p.gateBytesPerStep();         // gates
  if (p.hasInitialState)
    perHead += p.stateBytes();
  if (p.returnsFinalState)
    perHead += p.stateBytes();
  b.compulsoryBytes = p.batch * p.heads * perHead;

  int64_t stateC = p.keyDim * p.valueDim * 4;
  b.smallCache = stateC > capacityBytes;
  int64_t slices = std::max<int64_t>(1, ceilDiv(stateC, capacityBytes));
  b.extraBytes = p.batch * p.heads * (slices - 1) * T * p.keyDim * e;
  b.boundBytes = b.compulsoryBytes + b.extraBytes;
  return b;
}

IOBound flashgen::schedule::linearIOBound(const LinearProblem &p,
                                          const Target &t) {
  IOBound bound;
  bound.onChip = linearLevelBound(p, t.onChipBytesPerCTA(), "on-chip");
  bound.l2 = linearLevelBound(p, t.l2Bytes, "L2");
  bound.minValueSlices = std::max<int64_t>(
      1, ceilDiv(p.keyDim * p.valueDim * 4, t.onChipBytesPerCTA()));
  return bound;
}
