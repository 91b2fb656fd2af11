//===- decode_loop.cpp - a serving decode loop over a paged KV cache ------===//
//
// What an inference engine does with the bundle of examples/decode_paged.mlir
// (GQA 32/8, d=128, bf16, pages of 16 tokens), from C++ through the runtime:
//
//   - a pool of pages and an allocator that hands them out in a shuffled
//     order, a page table per sequence, sequences of different prompt
//     lengths (one starts empty);
//   - each step appends every sequence's new key and value to its last page
//     (taking a fresh page when it is full) and attends its new query to
//     its cache through the page table;
//   - the step is captured once as a CUDA graph (a workspace sized ahead of
//     time, no allocation or synchronisation at launch) and replayed every
//     token: lengths and tables change in device memory, never the graph;
//   - every step's output is checked against a float64 host reference over
//     the same cache, and the replayed steps are timed.
//
//   flashgen-decode-loop BUNDLE [--batch B] [--steps S] [--max-len L]
//
// BUNDLE is `flashgen compile examples/decode_paged.mlir --dim B=8 --dim N=1
// --dim M=32768 -o BUNDLE`. Exit 0 when every step matched.
//
//===----------------------------------------------------------------------===//

#include "HostSupport.h"
#include "flashgen/runtime.h"
#include "reference/Bf16.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

// The shapes of examples/decode_paged.mlir.
constexpr int kHeads = 32, kKvHeads = 8, kDim = 128, kPage = 16;
constexpr int kGroup = kHeads / kKvHeads;

using flashgen::DType;
using flashgen::TensorArg;
namespace ref = flashgen::reference;
using host::check;
using host::DeviceArray;
using host::intFlag;

/// The serving state on the host: what each sequence holds, its pages, and
/// a float mirror of its keys and values for the reference.
struct Sequence {
  int length = 0;                     ///< cached tokens
  std::vector<int> pages;             ///< page ids in order
  std::vector<float> keys, values;    ///< [length][kKvHeads][kDim], bf16-exact
};

class PageAllocator {
public:
  PageAllocator(int pages, std::mt19937 &rng) : free_(pages) {
    std::iota(free_.begin(), free_.end(), 0);
    std::shuffle(free_.begin(), free_.end(), rng); // as a busy engine leaves them
  }
  int take() {
    if (free_.empty()) {
      std::fprintf(stderr, "decode loop: the page pool is exhausted\n");
      std::exit(1);
    }
    int page = free_.back();
    free_.pop_back();
    return page;
  }

private:
  std::vector<int> free_;
};

/// o = softmax(q k^T / sqrt(D)) v for one query head of one sequence, over
/// its keys 0..len-1, in double.
void referenceHead(const Sequence &s, int len, const float *q, int kvHead, double *o) {
  std::vector<double> scores(len);
  double mx = -INFINITY;
  for (int j = 0; j < len; ++j) {
    const float *k = &s.keys[(size_t(j) * kKvHeads + kvHead) * kDim];
    double dot = 0;
    for (int d = 0; d < kDim; ++d)
      dot += double(q[d]) * k[d];
    scores[j] = dot / std::sqrt(double(kDim));
    mx = std::max(mx, scores[j]);
  }
  double sum = 0;
  for (double &x : scores)
    sum += (x = std::exp(x - mx));
  for (int d = 0; d < kDim; ++d)
    o[d] = 0;
  for (int j = 0; j < len; ++j) {
    const float *v = &s.values[(size_t(j) * kKvHeads + kvHead) * kDim];
    for (int d = 0; d < kDim; ++d)
      o[d] += scores[j] / sum * v[d];
  }
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help")) {
    std::printf("usage: %s BUNDLE [--batch B] [--steps S] [--max-len L]\n"
                "  a decode loop over a paged KV cache with the bundle of "
                "examples/decode_paged.mlir, captured as a CUDA graph and "
                "checked against a float64 reference\n", argv[0]);
    return argc < 2 ? 2 : 0;
  }
  const std::string bundlePath = argv[1];
  int batch = 4, steps = 24, maxLen = 2048;
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--batch")) batch = intFlag(i, argc, argv);
    else if (!std::strcmp(argv[i], "--steps")) steps = intFlag(i, argc, argv);
    else if (!std::strcmp(argv[i], "--max-len")) maxLen = intFlag(i, argc, argv);
    else { std::fprintf(stderr, "unknown flag %s\n", argv[i]); return 2; }
  }
  if (batch < 1 || steps < 1 || maxLen < steps + 1) {
    std::fprintf(stderr, "need --batch >= 1, --steps >= 1, --max-len > steps\n");
    return 2;
  }

  std::shared_ptr<flashgen::Device> device;
  check(flashgen::Device::open(0, device), "Device::open");
  std::shared_ptr<flashgen::Bundle> bundle;
  check(flashgen::Bundle::load(bundlePath, bundle), "Bundle::load");
  std::unique_ptr<flashgen::Kernel> kernel;
  check(bundle->getKernel("decode_paged", device, kernel), "getKernel");

  // Capacity: every sequence may grow to maxLen tokens; the table is that
  // wide and the pool holds every sequence's pages at full length.
  const int seqPages = (maxLen + kPage - 1) / kPage;
  const int poolPages = batch * seqPages + 7;
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.f, 1.f);
  PageAllocator allocator(poolPages, rng);
  std::vector<Sequence> seqs(batch);
  std::uniform_int_distribution<int> promptLen(1, maxLen - steps - 1);
  for (int b = 0; b < batch; ++b)
    seqs[b].length = b == 0 ? 0 : promptLen(rng); // sequence 0 starts empty

  const size_t rowElems = size_t(kKvHeads) * kDim; // one token's K (or V) in a page row
  DeviceArray<uint16_t> kPool(size_t(poolPages) * kPage * rowElems),
      vPool(size_t(poolPages) * kPage * rowElems);
  DeviceArray<int> table(size_t(batch) * seqPages), cacheLen(batch);
  DeviceArray<uint16_t> q(size_t(batch) * kHeads * kDim), o(size_t(batch) * kHeads * kDim);
  std::vector<int> hostTable(size_t(batch) * seqPages, 0);

  // Appends one token's key and value (drawn, rounded to bf16) to sequence b.
  std::vector<uint16_t> row(rowElems);
  auto append = [&](int b) {
    Sequence &s = seqs[b];
    if (s.length % kPage == 0) {
      s.pages.push_back(allocator.take());
      hostTable[size_t(b) * seqPages + s.pages.size() - 1] = s.pages.back();
    }
    const size_t slot = size_t(s.pages.back()) * kPage + s.length % kPage;
    for (auto [pool, mirror] : {std::make_pair(kPool.ptr, &s.keys), std::make_pair(vPool.ptr, &s.values)}) {
      for (size_t e = 0; e < rowElems; ++e) {
        row[e] = ref::bf16BitsFromFloat(normal(rng));
        mirror->push_back(ref::floatFromBf16Bits(row[e]));
      }
      CHECK_CUDA(cudaMemcpy(pool + slot * rowElems, row.data(), rowElems * 2, cudaMemcpyHostToDevice));
    }
    ++s.length;
  };
  for (int b = 0; b < batch; ++b) { // the prompts
    const int prompt = seqs[b].length;
    seqs[b].length = 0;
    for (int t = 0; t < prompt; ++t)
      append(b);
  }

  // The launch's tensors: sizes never change between steps.
  const int64_t qSizes[4] = {batch, kHeads, 1, kDim};
  const int64_t poolSizes[4] = {poolPages, kPage, kKvHeads, kDim};
  const int64_t tableSizes[2] = {batch, seqPages};
  const int64_t lenSizes[1] = {batch};
  std::vector<TensorArg> args = {
      {q.ptr, DType::BF16, 4, qSizes, nullptr},         {kPool.ptr, DType::BF16, 4, poolSizes, nullptr},
      {vPool.ptr, DType::BF16, 4, poolSizes, nullptr},  {table.ptr, DType::I32, 2, tableSizes, nullptr},
      {cacheLen.ptr, DType::I32, 1, lenSizes, nullptr}, {o.ptr, DType::BF16, 4, qSizes, nullptr},
      {nullptr, DType::F32, 3, qSizes, nullptr}, // lse: not wanted
  };
  host::CapturedLaunch launch(*kernel, args, "launch under graph capture");
  cudaStream_t stream = launch.stream;
  std::printf("decode loop: %d sequences, pages of %d tokens, pool of %d pages (%.1f MiB each for K and V), "
              "table width %d, workspace %zu bytes, one CUDA graph replayed per step\n",
              batch, kPage, poolPages, double(poolPages) * kPage * rowElems * 2 / (1 << 20), seqPages,
              launch.workspaceBytes);

  std::vector<uint16_t> hostQ(size_t(batch) * kHeads * kDim), hostO(hostQ.size());
  std::vector<float> qf(hostQ.size());
  std::vector<int> lens(batch);
  double worst = 0, gpuMs = 0;
  for (int step = 0; step < steps; ++step) {
    // The new token: its key and value join the cache, its query attends.
    for (int b = 0; b < batch; ++b) {
      lens[b] = seqs[b].length; // keys before this step (cache_len)
      append(b);
    }
    for (size_t e = 0; e < hostQ.size(); ++e) {
      hostQ[e] = ref::bf16BitsFromFloat(normal(rng));
      qf[e] = ref::floatFromBf16Bits(hostQ[e]);
    }
    CHECK_CUDA(cudaMemcpyAsync(q.ptr, hostQ.data(), hostQ.size() * 2, cudaMemcpyHostToDevice, stream));
    CHECK_CUDA(cudaMemcpyAsync(table.ptr, hostTable.data(), hostTable.size() * 4, cudaMemcpyHostToDevice, stream));
    CHECK_CUDA(cudaMemcpyAsync(cacheLen.ptr, lens.data(), lens.size() * 4, cudaMemcpyHostToDevice, stream));
    CHECK_CUDA(cudaMemsetAsync(o.ptr, 0xff, hostO.size() * 2, stream)); // NaN until written
    launch.replay();
    CHECK_CUDA(cudaMemcpyAsync(hostO.data(), o.ptr, hostO.size() * 2, cudaMemcpyDeviceToHost, stream));
    CHECK_CUDA(cudaStreamSynchronize(stream));
    const float ms = launch.elapsedMs();
    gpuMs += ms;

    // Every head of every sequence against the float64 reference.
    double num = 0, den = 0;
    std::vector<double> want(kDim);
    for (int b = 0; b < batch; ++b)
      for (int h = 0; h < kHeads; ++h) {
        const size_t at = (size_t(b) * kHeads + h) * kDim;
        referenceHead(seqs[b], seqs[b].length, &qf[at], h / kGroup, want.data());
        for (int d = 0; d < kDim; ++d) {
          const double got = ref::floatFromBf16Bits(hostO[at + d]);
          num += (got - want[d]) * (got - want[d]);
          den += want[d] * want[d];
        }
      }
    const double rel = std::sqrt(num / den);
    worst = std::isnan(rel) ? rel : std::max(worst, rel);
    if (step < 3 || step == steps - 1)
      std::printf("step %3d: lengths %d..%d keys, %.1f us, rel_err %.2e\n", step,
                  *std::min_element(lens.begin(), lens.end()) + 1,
                  *std::max_element(lens.begin(), lens.end()) + 1, ms * 1e3, rel);
  }
  const bool ok = worst < 2e-2; // bf16 output rounding, f32 accumulation
  std::printf("decode loop: %d steps, mean %.1f us a step, worst rel_err %.2e: %s\n", steps,
              gpuMs * 1e3 / steps, worst, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
