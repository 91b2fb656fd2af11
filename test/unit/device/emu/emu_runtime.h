//===- emu_runtime.h - host emulator for the flashgen device library -----===//
//
// Runs flashgen device code (the library and kernels written on it) on the
// CPU, one std::thread per CUDA thread, so that kernels can be checked for
// correctness on machines without a GPU. Only what the library uses is
// modelled, lane-accurately and from the PTX ISA's definitions:
//   - warp collectives (ldmatrix, mma.sync m16n8k16, shfl) exchange through
//     per-warp slots between two warp barriers;
//   - cp.async copies are deferred to the cp.async.wait that must complete
//     them, and their destinations are poisoned with NaNs when issued, so a
//     read before the wait (or a race with a later load into a stage) shows
//     up as NaNs or wrong numbers;
//   - global reads and writes are checked against registered allocations.
// Timing, memory ordering beyond barriers, and divergence are not modelled;
// collectives must be reached by all 32 lanes (as the hardware requires).
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_TEST_DEVICE_EMU_RUNTIME_H
#define FLASHGEN_TEST_DEVICE_EMU_RUNTIME_H

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace emu {

/// CUDA's dim3, as far as kernels read it.
struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

/// Reusable barrier over a fixed number of threads (generation counted);
/// waiters yield the CPU. A wait longer than a minute is reported as a deadlock.
class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  void wait();

 private:
  int n_;
  std::atomic<int> arrived_{0};
  std::atomic<unsigned> gen_{0};
};

/// Exchange slots of one warp's collectives. Collective n uses set n % 2, so
/// one barrier per collective suffices: a lane can refill set n % 2 only
/// after the barrier of collective n + 1, which every lane reaches after
/// reading collective n.
struct WarpSlots {
  Barrier bar{32};
  struct Set {
    uint32_t addr[32];
    uint32_t a[32][4];
    uint32_t b[32][2];
    float f[32];
  } set[2];
};

/// One pending 16-byte cp.async.
struct PendingCopy {
  uint32_t dst;
  const void* src;
  bool pred;
  uint32_t bytes = 16;
};

/// State of one CTA while it runs.
struct Cta {
  Cta(int threads, size_t smem_bytes);
  std::vector<uint8_t> smem;
  Barrier bar;
  std::vector<std::unique_ptr<WarpSlots>> warps;
};

/// Per-thread context (what threadIdx and the pending cp.async groups are).
struct ThreadCtx {
  Cta* cta = nullptr;
  int tid = 0;
  unsigned collectives = 0;  ///< warp collectives this thread has joined (slot-set parity)
  std::vector<PendingCopy> open_group;
  std::vector<std::vector<PendingCopy>> committed;
};

extern thread_local ThreadCtx tls;

/// Fails the current test run with a message (prints, records, aborts the process).
[[noreturn]] void fail(const std::string& msg);

/// Register [p, p + bytes) as device memory the kernel may read (and write if writable).
void register_global(const void* p, size_t bytes, bool writable);
/// Forget the allocation registered at p.
void unregister_global(const void* p);
/// Forget all registered allocations.
void clear_globals();
/// Abort unless [p, p + bytes) lies in a registered (writable, if asked) allocation.
void check_global(const void* p, size_t bytes, bool write);

/// Runs fn(args...) for every CTA of grid (one after another), threads threads each.
template <class... P, class... A>
void launch(Dim3 grid, int threads, size_t smem_bytes, void (*fn)(P...), A... args);

/// Implementation detail of launch: runs body on every thread of one CTA.
void run_cta(Dim3 block_idx, Dim3 grid, int threads, size_t smem_bytes, const std::function<void()>& body);

/// Rounding helpers shared with tests.
uint16_t float_to_bf16_bits(float f);
float bf16_bits_to_float(uint16_t b);
uint16_t float_to_half_bits(float f);
float half_bits_to_float(uint16_t h);

template <class... P, class... A>
void launch(Dim3 grid, int threads, size_t smem_bytes, void (*fn)(P...), A... args) {
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x)
        run_cta(Dim3{x, y, z}, grid, threads, smem_bytes, [&]() { fn(P(args)...); });
}

}  // namespace emu

// The kernel-visible built-in variables.
struct EmuThreadIdx {
  unsigned x, y, z;
};
extern thread_local EmuThreadIdx threadIdx;
extern thread_local emu::Dim3 blockIdx;
extern thread_local emu::Dim3 gridDim;
extern thread_local emu::Dim3 blockDim;

#endif  // FLASHGEN_TEST_DEVICE_EMU_RUNTIME_H
