//===- BlockMaskEmuTest.cpp - block-sparse attention on the emulator ------===//
//
// The emitter's flash3 kernels of examples/block_sparse.mlir (causal GQA
// under a block mask of 128 x 128 blocks, partial and full lists;
// generated at build time, CMakeLists.txt) on the host emulator, against a
// float64 reference of docs/semantics.md §2.10 written here from the rule
// itself: with and without a producer warpgroup, key tiles of a whole block
// and of half a block, and a persistent grid claiming its rounds' tiles. The lists are drawn per (batch, query head, query
// block) in a random order, with a query block that lists nothing (its
// rows give zero and lse -inf), one that lists every block, a listed index
// outside the keys (names no block), a count past the list's length
// (clamped) and stale indices after the counts (never read). Global reads
// outside q, k, v, the lists and o abort the emulator.
//
//===----------------------------------------------------------------------===//
#define FLASHGEN_DEVICE_EMULATION_WGMMA "wgmma_emulation.h"

#include "kernel_prelude.h"
#include "sm90a/block_sparse.cu"
#include "sm90a/ws_block_sparse.cu"

#include "emitted_attention.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace {

using namespace emu_test;
using fg::bf16;
constexpr int kD = 128, kBlock = 128, kHq = 4, kHk = 2;

/// [B, H, S, kD], BHSD strides.
struct Tensor : Tensor4<bf16> {
  Tensor(int B, int H, int S, bool writable) : Tensor4<bf16>(B, H, S, kD, false, writable) {}
};

/// The lists of one launch: counts [B, Hq, QB] and indices [B, Hq, QB, KB].
struct Lists {
  int B, QB, KB;
  DeviceVec<int> count, index, full_count, full_index;
  Lists(int B, int QB, int KB)
      : B(B), QB(QB), KB(KB), count(size_t(B) * kHq * QB, false), index(size_t(B) * kHq * QB * KB, false),
        full_count(size_t(B) * kHq * QB, false), full_index(size_t(B) * kHq * QB * KB, false) {}
  size_t row(int b, int h, int qb) const { return (size_t(b) * kHq + h) * QB + qb; }
};

/// Draws the lists: each query block lists a random subset of the key
/// blocks in random order, each block partial or full (a block the causal
/// diagonal cuts is listed either way: the mask kind still applies to a
/// full one). Edge rows: (0, 0, last) lists nothing, (0, 1, last) every
/// block as partial; one row lists an index past the keys, one a count
/// past the key blocks.
void draw(Lists& l, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  for (int b = 0; b < l.B; ++b)
    for (int h = 0; h < kHq; ++h)
      for (int qb = 0; qb < l.QB; ++qb) {
        std::vector<int> blocks(l.KB);
        for (int kb = 0; kb < l.KB; ++kb) blocks[kb] = kb;
        std::shuffle(blocks.begin(), blocks.end(), rng);
        std::vector<int> partial, full;
        for (int kb : blocks) {
          const double r = u(rng);
          if (r < 0.35) partial.push_back(kb);
          else if (r < 0.7) full.push_back(kb);
        }
        const bool none = b == 0 && h == 0 && qb == l.QB - 1;
        const bool all = b == 0 && h == 1 && qb == l.QB - 1;
        if (none) partial.clear(), full.clear();
        if (all) partial = blocks, full.clear();
        const size_t r = l.row(b, h, qb);
        // Stale entries after the counts: never read.
        for (int s = 0; s < l.KB; ++s) l.index[r * l.KB + s] = l.full_index[r * l.KB + s] = 1 << 20;
        for (size_t s = 0; s < partial.size(); ++s) l.index[r * l.KB + s] = partial[s];
        for (size_t s = 0; s < full.size(); ++s) l.full_index[r * l.KB + s] = full[s];
        l.count[r] = int(partial.size());
        l.full_count[r] = int(full.size());
      }
  // An index outside [0, KB) names no block; a count past KB reads KB.
  if (l.QB > 1) {
    const size_t r = l.row(l.B - 1, kHq - 1, 0);
    if (l.count[r] < l.KB) l.index[r * l.KB + l.count[r]++] = l.KB;
    const size_t s = l.row(l.B - 1, 0, 1);
    l.count[s] = 0;  // block 0 is listed once, as full
    l.full_count[s] = l.KB + 5;
    for (int x = 0; x < l.KB; ++x) l.full_index[s * l.KB + x] = -1;
    l.full_index[s * l.KB] = 0;
  }
}

/// 0: not listed, 1: partial, 2: full (docs/semantics.md §2.10).
int listed(const Lists& l, int b, int h, int qb, int kb) {
  const size_t r = l.row(b, h, qb);
  auto in = [&](const DeviceVec<int>& count, const DeviceVec<int>& index) {
    const int n = std::min(std::max(count.v[r], 0), l.KB);
    for (int s = 0; s < n; ++s)
      if (index.v[r * l.KB + s] == kb) return true;
    return false;
  };
  if (in(l.full_count, l.full_index)) return 2;
  return in(l.count, l.index) ? 1 : 0;
}

/// kMaps: the kernel first takes q, k and v's tensor maps (a producer
/// warpgroup's TMA copies; zero maps here, so its cp.async fallback runs);
/// kClaims: a persistent grid under the causal mask, whose rounds claim
/// query tiles from a counter (tile_claims, after lse).
template <bool kMaps, bool kClaims, class KernelT>
void run(KernelT kernel, void (*launch_grid)(int, int, int, unsigned*), int threads, int smem, int B, int N) {
  std::mt19937 rng(N * 977 + B);
  Tensor q(B, kHq, N, false), k(B, kHk, N, false), v(B, kHk, N, false), o(B, kHq, N, true);
  fill_normal_bf16(q.mem, rng);
  fill_normal_bf16(k.mem, rng);
  fill_normal_bf16(v.mem, rng);
  for (auto& x : o.mem.v) x.bits = 0x7fc1;  // NaN poison
  std::vector<float> lse(size_t(B) * kHq * N, std::nanf(""));
  const int QB = (N + kBlock - 1) / kBlock, KB = QB;
  Lists l(B, QB, KB);
  draw(l, rng);
  const long long cb = (long long)kHq * QB, ch = QB, ib = (long long)kHq * QB * KB, ih = (long long)QB * KB;
  unsigned extents[3];
  launch_grid(B, N, N, extents);
  const emu::Dim3 grid{extents[0], extents[1], extents[2]};
  // The claims counter starts at zero, as the runtime's zero_init leaves it.
  DeviceVec<int> claims(1, true);
  claims[0] = 0;
  launch_emitted_attention<kMaps, kClaims>(
      grid, threads, smem, kernel, q, k, v, o, lse.data(), (long long)kHq * N, (long long)N, claims.data(),
      (const int*)l.count.data(), cb, ch, 1LL, (const int*)l.index.data(), ib, ih, (long long)KB, 1LL,
      (const int*)l.full_count.data(), cb, ch, 1LL, (const int*)l.full_index.data(), ib, ih, (long long)KB, 1LL, B, N);
  emu_wgmma::check_and_reset();

  const double scale = 1.0 / std::sqrt(double(kD));
  int bad = 0, empty_rows = 0;
  std::vector<double> s(N);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < kHq; ++h)
      for (int i = 0; i < N; ++i) {
        const int hk = h / (kHq / kHk);
        double mx = -INFINITY;
        for (int j = 0; j < N; ++j) {
          s[j] = -INFINITY;
          if (j > i || listed(l, b, h, i / kBlock, j / kBlock) == 0) continue;
          double acc = 0;
          for (int x = 0; x < kD; ++x) acc += double(bf16_value(q.at(b, h, i, x))) * bf16_value(k.at(b, hk, j, x));
          s[j] = acc * scale;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int j = 0; j < N; ++j) {
          s[j] = std::isinf(s[j]) ? 0.0 : std::exp(s[j] - mx);
          sum += s[j];
        }
        empty_rows += sum == 0;
        const double lse_ref = sum > 0 ? mx + std::log(sum) : -INFINITY;
        const double lse_got = lse[(size_t(b) * kHq + h) * N + i];
        if (!(lse_got == lse_ref || std::fabs(lse_got - lse_ref) <= 1e-4 * (1.0 + std::fabs(lse_ref))) && bad++ < 5)
          ADD_FAILURE() << "lse[" << b << "][" << h << "][" << i << "] = " << lse_got << ", want " << lse_ref;
        for (int x = 0; x < kD; ++x) {
          double acc = 0;
          for (int j = 0; j < N; ++j) acc += s[j] * bf16_value(v.at(b, hk, j, x));
          const double ref = sum > 0 ? acc / sum : 0.0;
          const double got = bf16_value(o.at(b, h, i, x));
          if (!(std::fabs(got - ref) <= 1e-2 + 1e-2 * std::fabs(ref)) && bad++ < 5)
            ADD_FAILURE() << "o[" << b << "][" << h << "][" << i << "][" << x << "] = " << got << ", want " << ref;
        }
      }
  EXPECT_EQ(bad, 0);
  // The list that names nothing leaves a whole query block without keys.
  EXPECT_GE(empty_rows, std::min(N - (QB - 1) * kBlock, kBlock));
}

#define RUN_BLOCK(NAME, MAPS, CLAIMS, B, N)                                                                     \
  run<MAPS, CLAIMS>(flashgen_##NAME, NAME##_k::launch_grid, NAME##_k::kThreads, NAME##_k::kSmemBytes, B, N)

TEST(BlockMaskEmuTest, WholeBlockTiles) { RUN_BLOCK(block_sparse_v0, false, false, 1, 300); }
TEST(BlockMaskEmuTest, HalfBlockTiles) { RUN_BLOCK(block_sparse_v1, false, false, 2, 260); }
TEST(BlockMaskEmuTest, ProducerWholeBlockTiles) { RUN_BLOCK(ws_block_sparse_v0, true, false, 2, 300); }
TEST(BlockMaskEmuTest, ProducerHalfBlockTilesThreeStages) { RUN_BLOCK(ws_block_sparse_v1, true, false, 1, 390); }
// One CTA a (small) SM count loops over claimed query tiles: the lists are
// read per round, and the ring runs on across rounds of uneven lists.
TEST(BlockMaskEmuTest, ProducerPersistentClaimedRounds) { RUN_BLOCK(ws_block_sparse_v2, true, true, 2, 700); }

}  // namespace
