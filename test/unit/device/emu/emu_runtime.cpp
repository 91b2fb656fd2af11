//===- emu_runtime.cpp - host emulator for the flashgen device library ---===//
#include "emu_runtime.h"

#include <algorithm>
#include <cmath>
#include <atomic>

thread_local EmuThreadIdx threadIdx;
thread_local emu::Dim3 blockIdx;
thread_local emu::Dim3 gridDim;
thread_local emu::Dim3 blockDim;

namespace emu {

thread_local ThreadCtx tls;

namespace {

struct Range {
  const uint8_t* begin;
  const uint8_t* end;
  bool writable;
};
std::mutex g_ranges_mu;
std::vector<Range> g_ranges;

}  // namespace

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "emu: FAILURE (thread %d): %s\n", tls.tid, msg.c_str());
  std::fflush(stderr);
  std::abort();
}

void Barrier::wait() {
  const unsigned gen = gen_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) {
    arrived_.store(0, std::memory_order_relaxed);
    gen_.store(gen + 1, std::memory_order_release);
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  for (unsigned spins = 0; gen_.load(std::memory_order_acquire) == gen; ++spins) {
    std::this_thread::yield();
    if ((spins & 0xffff) == 0xffff && std::chrono::steady_clock::now() - start > std::chrono::seconds(60))
      fail("barrier wait timed out (deadlock: not all threads reach the barrier)");
  }
}

Cta::Cta(int threads, size_t smem_bytes) : smem(smem_bytes), bar(threads) {
  // Shared memory starts as NaN poison: reads of never-written bytes show.
  std::fill(smem.begin(), smem.end(), uint8_t(0xff));
  for (int w = 0; w < (threads + 31) / 32; ++w) warps.emplace_back(new WarpSlots());
}

void register_global(const void* p, size_t bytes, bool writable) {
  std::lock_guard<std::mutex> lk(g_ranges_mu);
  const auto* b = static_cast<const uint8_t*>(p);
  g_ranges.push_back(Range{b, b + bytes, writable});
}

void unregister_global(const void* p) {
  std::lock_guard<std::mutex> lk(g_ranges_mu);
  for (size_t i = 0; i < g_ranges.size(); ++i)
    if (g_ranges[i].begin == p) {
      g_ranges.erase(g_ranges.begin() + i);
      return;
    }
}

void clear_globals() {
  std::lock_guard<std::mutex> lk(g_ranges_mu);
  g_ranges.clear();
}

void check_global(const void* p, size_t bytes, bool write) {
  std::lock_guard<std::mutex> lk(g_ranges_mu);
  const auto* b = static_cast<const uint8_t*>(p);
  for (const Range& r : g_ranges)
    if (b >= r.begin && b + bytes <= r.end && (!write || r.writable)) return;
  char buf[128];
  std::snprintf(buf, sizeof buf, "global %s of %zu bytes at %p outside every allocation", write ? "write" : "read",
                bytes, p);
  fail(buf);
}

void run_cta(Dim3 block_idx, Dim3 grid, int threads, size_t smem_bytes, const std::function<void()>& body) {
  if (threads % 32 != 0) fail("block size must be whole warps");
  Cta cta(threads, smem_bytes);
  std::vector<std::thread> ts;
  ts.reserve(threads);
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t]() {
      tls = ThreadCtx{};
      tls.cta = &cta;
      tls.tid = t;
      threadIdx = EmuThreadIdx{unsigned(t), 0u, 0u};
      blockIdx = block_idx;
      gridDim = grid;
      blockDim = Dim3{unsigned(threads), 1u, 1u};
      body();
      if (!tls.open_group.empty()) fail("kernel returned with uncommitted cp.async copies");
    });
  for (auto& t : ts) t.join();
}

uint16_t float_to_bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
  const uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return uint16_t((u + rounding) >> 16);
}

float bf16_bits_to_float(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t float_to_half_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u);
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (a < 0x38800000u) {                                   // subnormal half (or zero)
    float af;
    std::memcpy(&af, &a, 4);
    const float scaled = af * 16777216.0f;  // 2^24: units of the smallest subnormal
    const uint32_t m = uint32_t(std::nearbyint(scaled));
    return uint16_t(sign | m);
  }
  const uint32_t exp = ((a >> 23) - 112u) << 10;
  const uint32_t mant = (a >> 13) & 0x3ffu;
  uint32_t h = exp | mant;
  const uint32_t rest = a & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return uint16_t(sign | h);
}

float half_bits_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    const float f = float(mant) * (1.0f / 16777216.0f);
    std::memcpy(&u, &f, 4);
    u |= sign;
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (mant << 13);
  } else {
    u = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace emu
