//===- DocumentMaskEmuTest.cpp - a mask_mod's tile lists on the emulator --===//
//
// examples/document_mask.mlir (causal within packed documents, ids [B, N]
// read at i and j) under mask_lists schedules (generated at build time,
// never committed: test/unit/device/CMakeLists.txt), on the host emulator:
//   - the pre-pass (NAME_mask_lists) lists each query tile's key tiles;
//     the lists are checked against the ids element by element: a tile
//     listed whole is one the mask_mod keeps everywhere, a tile left out is
//     one the causal mask or the mask_mod hides everywhere, and with sorted
//     ids (packed documents) every tile that has both visible and hidden
//     pairs is listed partial (the interval form is exact there); unsorted
//     ids must still be sound;
//   - the attention kernel then walks those lists (every thread loading
//     96-key tiles, a producer warpgroup with 64-key tiles, a persistent
//     grid claiming query tiles) and its o and lse are checked against reference/'s
//     float64 attention with the same mask_mod, o poisoned first.
//
//===----------------------------------------------------------------------===//
#define FLASHGEN_DEVICE_EMULATION_WGMMA "wgmma_emulation.h"

#include "kernel_prelude.h"
#include "sm90a/mask_lists_document.cu"

#include "emitted_attention.h"
#include "reference_tensors.h"

#include "reference/Attention.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace {

using namespace emu_test;
namespace ref = flashgen::reference;
using LL = long long;

constexpr int kHq = 2, kHk = 2, kD = 128;

/// Document ids [B, N]: sorted runs of random lengths (packed documents,
/// a few longer than a tile), or, `shuffled`, the same ids in random order.
std::vector<int> documentIds(int B, int N, bool shuffled, std::mt19937& rng) {
  std::vector<int> ids(size_t(B) * N);
  std::uniform_int_distribution<int> length(1, 300);
  for (int b = 0; b < B; ++b) {
    int id = 0, left = length(rng);
    for (int i = 0; i < N; ++i) {
      if (left-- == 0) ++id, left = length(rng);
      ids[size_t(b) * N + i] = id;
    }
    if (shuffled)
      std::shuffle(ids.begin() + size_t(b) * N, ids.begin() + size_t(b + 1) * N, rng);
  }
  return ids;
}

/// One launch's lists as the pre-pass writes them: counts [B, 1, QB],
/// indices [B, 1, QB, KB] (the region reads no head), poisoned first.
struct Lists {
  int QB, KB;
  DeviceVec<int> count, index, full_count, full_index;
  Lists(int B, int QB, int KB)
      : QB(QB), KB(KB), count(size_t(B) * QB, true), index(size_t(B) * QB * KB, true),
        full_count(size_t(B) * QB, true), full_index(size_t(B) * QB * KB, true) {
    for (auto* l : {&count, &index, &full_count, &full_index}) std::fill(l->v.begin(), l->v.end(), -7);
  }
  /// 0 not listed, 1 partial, 2 whole; fails on a tile listed twice or out
  /// of order.
  std::vector<int> classes(int b, int qb) {
    std::vector<int> c(KB, 0);
    const size_t r = size_t(b) * QB + qb;
    auto walk = [&](DeviceVec<int>& n, DeviceVec<int>& idx, int cls) {
      EXPECT_GE(n[r], 0);
      EXPECT_LE(n[r], KB);
      for (int s = 0; s < std::clamp(n[r], 0, KB); ++s) {
        const int kb = idx[r * KB + s];
        EXPECT_TRUE(kb >= 0 && kb < KB) << "index " << kb;
        if (kb < 0 || kb >= KB) continue;
        EXPECT_EQ(c[kb], 0) << "key tile " << kb << " listed twice";
        if (s > 0) EXPECT_LT(idx[r * KB + s - 1], kb) << "lists ascend";
        c[kb] = cls;
      }
    };
    walk(count, index, 1);
    walk(full_count, full_index, 2);
    return c;
  }
};

template <bool kMaps, bool kClaims, class ListsT, class KernelT>
void run(ListsT listsKernel, void (*lists_grid)(int, int, int, unsigned*), KernelT kernel,
         void (*launch_grid)(int, int, int, unsigned*), int threads, int smem, int tileQ, int tileKv, int B,
         int N, bool shuffled, const char* what) {
  std::mt19937 rng(N * 31 + B + (shuffled ? 7 : 0));
  Bf16Tensor q(B, kHq, N, kD, false), k(B, kHk, N, kD, false), v(B, kHk, N, kD, false);
  fill_normal_bf16(q.mem, rng, 1.0f);
  fill_normal_bf16(k.mem, rng, 1.0f);
  fill_normal_bf16(v.mem, rng);
  std::vector<int> host = documentIds(B, N, shuffled, rng);
  DeviceVec<int> doc(host.size(), false);
  doc.v = host;
  const int QB = (N + tileQ - 1) / tileQ, KB = (N + tileKv - 1) / tileKv;
  Lists l(B, QB, KB);
  const LL cb = QB, ib = LL(QB) * KB;
  unsigned extents[3];
  lists_grid(B, N, N, extents);
  EXPECT_EQ(extents[0], unsigned(QB));
  EXPECT_EQ(extents[1], 1u);
  EXPECT_EQ(extents[2], unsigned(B));
  emu::launch(emu::Dim3{extents[0], extents[1], extents[2]}, mask_lists_document_v0_mask_lists_k::kThreads,
              fg::tile_lists::kSmemBytes<mask_lists_document_v0_mask_lists_k::kThreads>, listsKernel,
              l.count.data(), cb, cb, 1LL, l.index.data(), ib, ib, LL(KB), 1LL, l.full_count.data(), cb, cb,
              1LL, l.full_index.data(), ib, ib, LL(KB), 1LL, (const int*)doc.data(), LL(N), 1LL, B, N);

  // The lists against the ids, pair by pair.
  int hidden = 0, whole = 0, partial = 0;
  for (int b = 0; b < B; ++b)
    for (int qb = 0; qb < QB; ++qb) {
      std::vector<int> c = l.classes(b, qb);
      for (int kb = 0; kb < KB; ++kb) {
        bool anyKept = false, anyHidden = false, anyVisible = false;
        for (int i = qb * tileQ; i < std::min(N, (qb + 1) * tileQ); ++i)
          for (int j = kb * tileKv; j < std::min(N, (kb + 1) * tileKv); ++j) {
            const bool same = host[size_t(b) * N + i] == host[size_t(b) * N + j];
            anyKept |= same;
            anyHidden |= !same;
            anyVisible |= same && j <= i;
          }
        if (c[kb] == 2) EXPECT_FALSE(anyHidden) << what << ": tile (" << qb << ", " << kb << ") listed whole";
        if (c[kb] == 0) EXPECT_FALSE(anyVisible) << what << ": tile (" << qb << ", " << kb << ") left out";
        if (!shuffled && c[kb] == 1)
          EXPECT_TRUE(anyKept && anyHidden) << what << ": sorted ids, tile (" << qb << ", " << kb << ")";
        hidden += c[kb] == 0;
        whole += c[kb] == 2;
        partial += c[kb] == 1;
      }
    }
  if (!shuffled) {
    EXPECT_GT(whole, 0) << what;
    EXPECT_GT(hidden, 0) << what;
  }
  EXPECT_GT(partial, 0) << what;

  // The attention kernel over those lists.
  Tensor4<fg::bf16> q4(B, kHq, N, kD, false, false), k4(B, kHk, N, kD, false, false), v4(B, kHk, N, kD, false, false),
      o4(B, kHq, N, kD, false, true);
  q4.mem.v = q.mem.v;
  k4.mem.v = k.mem.v;
  v4.mem.v = v.mem.v;
  for (auto& x : o4.mem.v) x.bits = 0x7fc0;  // NaN
  std::vector<float> lse(size_t(B) * kHq * N, std::nanf(""));
  launch_grid(B, N, N, extents);
  DeviceVec<int> claims(1, true);
  claims[0] = 0;
  launch_emitted_attention<kMaps, kClaims>(
      emu::Dim3{extents[0], extents[1], extents[2]}, threads, smem, kernel, q4, k4, v4, o4, lse.data(), LL(kHq) * N,
      LL(N), claims.data(), (const int*)l.count.data(), cb, cb, 1LL, (const int*)l.index.data(), ib, ib, LL(KB), 1LL,
      (const int*)l.full_count.data(), cb, cb, 1LL, (const int*)l.full_index.data(), ib, ib, LL(KB), 1LL,
      (const int*)doc.data(), LL(N), 1LL, B, N);
  emu_wgmma::check_and_reset();

  ref::AttentionProblem problem;
  problem.mask = ref::MaskKind::Causal;
  problem.maskMod = [&](int64_t b, int64_t, int64_t i, int64_t j) {
    return host[size_t(b) * N + i] == host[size_t(b) * N + j];
  };
  ref::AttentionResult want = ref::referenceAttention(problem, q.values(), k.values(), v.values());
  Bf16Tensor o(B, kHq, N, kD, false);
  o.mem.v = o4.mem.v;
  std::printf("[document-emu] %s: %d hidden, %d partial, %d whole tiles\n", what, hidden, partial, whole);
  expectAttentionClose(o, lse, want.out, want.logSumExp, "document-emu", what);
}

#define RUN_LISTS(NAME, MAPS, CLAIMS, TQ, TKV, B, N, SHUFFLED)                                               \
  run<MAPS, CLAIMS>(flashgen_##NAME##_mask_lists, NAME##_mask_lists_k::launch_grid, flashgen_##NAME,       \
                    NAME##_k::launch_grid, NAME##_k::kThreads, NAME##_k::kSmemBytes, TQ, TKV, B, N, SHUFFLED, \
                    #NAME)

using DocumentMaskEmuTest = EmuTest;

// Ragged N (partial last tiles), two sequences, packed documents.
TEST_F(DocumentMaskEmuTest, EveryThreadLoads) {
  RUN_LISTS(mask_lists_document_v0, false, false, 128, 96, 2, 700, false);
}
TEST_F(DocumentMaskEmuTest, ProducerNarrowKeyTiles) {
  RUN_LISTS(mask_lists_document_v1, true, false, 128, 64, 2, 650, false);
}
TEST_F(DocumentMaskEmuTest, ProducerPersistentClaimedRounds) {
  RUN_LISTS(mask_lists_document_v2, true, true, 128, 96, 1, 900, false);
}
// Ids in random order: the lists stay sound (nothing hidden that a pair
// sees), though nearly every tile is partial.
TEST_F(DocumentMaskEmuTest, UnsortedIdsStaySound) {
  RUN_LISTS(mask_lists_document_v0, false, false, 128, 96, 1, 400, true);
}

}  // namespace
