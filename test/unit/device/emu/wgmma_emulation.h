//===- wgmma_emulation.h - wgmma_ptx.cuh on the host emulator -------------===//
//
// The sm_90a warpgroup instructions of codegen/device/matmul/wgmma_ptx.cuh for
// kernels compiled as host C++ (define FLASHGEN_DEVICE_EMULATION_WGMMA as
// "wgmma_emulation.h" before kernel_prelude.h). Written from the PTX ISA
// (wgmma.mma_async, "Register Fragments", "Shared Memory Matrix Layout",
// "Matrix Descriptor Format"), independently of the library's own address
// math, so a kernel that is right here has its descriptors, swizzle and
// register layouts right as far as the ISA text goes:
//
//  - descriptors are decoded field by field (reserved bits must be 0; only
//    the 128-byte swizzle with base offset 0 is modelled) and each operand
//    element is read at the address of the canonical layout
//    (K-major ((8,m),(T,2k)):((8T,SBO),(1,T)), MN-major
//    ((T,8,m),(8,k)):((1,T,LBO),(8T,SBO)), T = 8 16-bit elements), XOR-
//    swizzled as Swizzle<3,4,3> on the byte address;
//  - A from registers and D use the warp-per-16-rows fragment layouts;
//  - asynchrony: an mma is issued by all 128 threads of the warpgroup (a
//    barrier), its product is read from shared memory at issue AND again
//    when the first thread waits for it: a difference means an operand was
//    not ready at issue or was overwritten in flight (both fail). The
//    accumulators are poisoned with NaNs from issue until the wait that
//    completes them, and must still hold the poison then (a write to them
//    while in flight fails; a read sees NaNs). Chained mmas on the same
//    accumulators (the K steps of one product) accumulate in order.
//  - mbarriers (init / arrive / try_wait.parity) and named barriers
//    (bar.sync / bar.arrive id, count) of the warp-specialized kernel, with a
//    one-minute deadlock timeout; check_and_reset() after a launch fails on
//    a named barrier left with arrivals or a wgmma never waited for.
//  - fence.proxy.async and wgmma.fence are not modelled (no-ops).
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_TEST_DEVICE_WGMMA_EMULATION_H
#define FLASHGEN_TEST_DEVICE_WGMMA_EMULATION_H

#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "emu_runtime.h"
#include "ptx_emulation.h"

namespace emu_wgmma {

/// One warpgroup-wide wgmma.mma_async.
struct Op {
  int n = 0;
  bool a_in_regs = false, is_bf16 = true;
  int trans_b = 0, trans_a = 0, scale_d = 0;
  unsigned long long desc_a = 0, desc_b = 0;
  uint32_t a[128][4] = {};
  int deposited = 0, consumed = 0;
  std::vector<double> at_issue, at_wait;  ///< 64 x n products
  bool have_wait = false;
  std::mutex mu;
};

/// Shared state of one warpgroup of the running CTA.
struct WarpgroupState {
  emu::Barrier bar{128};
  std::mutex mu;
  std::map<unsigned, std::shared_ptr<Op>> ops;  ///< by issue sequence number
};

inline std::mutex& states_mu() {
  static std::mutex m;
  return m;
}
inline std::map<std::pair<const void*, int>, std::unique_ptr<WarpgroupState>>& states() {
  static std::map<std::pair<const void*, int>, std::unique_ptr<WarpgroupState>> m;
  return m;
}
inline WarpgroupState& my_state() {
  std::lock_guard<std::mutex> lk(states_mu());
  auto& p = states()[{emu::tls.cta, emu::tls.tid / 128}];
  if (!p) p.reset(new WarpgroupState());
  return *p;
}

/// One issued mma as this thread sees it.
struct Pending {
  std::shared_ptr<Op> op;
  float* d;  ///< this thread's n/2 accumulators
};

/// Per-thread state (threads are created per CTA, so it starts empty).
/// One cp.reduce.async.bulk .add.f32: its shared source is read when the
/// bulk group is waited for, so a kernel that overwrote it earlier adds the
/// wrong values.
struct BulkReduce {
  float* dst;
  uint32_t src, bytes;
};

struct ThreadState {
  unsigned seq = 0;
  std::vector<Pending> open;
  std::deque<std::vector<Pending>> committed;
  std::vector<BulkReduce> bulk_open;
  std::deque<std::vector<BulkReduce>> bulk_committed;
  std::map<float*, std::vector<float>> shadow;  ///< in-flight accumulators: their running value
};
inline ThreadState& ts() {
  static thread_local ThreadState s;
  return s;
}

constexpr uint32_t kPoison = 0x7fbadbadu;  // a NaN: accumulator in flight

inline float poison_value() {
  float f;
  std::memcpy(&f, &kPoison, 4);
  return f;
}
inline bool is_poison(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u == kPoison;
}

inline double b16(uint16_t h, bool is_bf16) {
  return is_bf16 ? emu::bf16_bits_to_float(h) : emu::half_bits_to_float(h);
}

/// Decoded matrix descriptor (128-byte swizzle only).
struct Desc {
  uint32_t start, lbo, sbo;
};

inline Desc decode(unsigned long long d) {
  if (d & ((3ull << 14) | (3ull << 30) | (7ull << 46) | (0x3ffull << 52)))
    emu::fail("wgmma descriptor: reserved bits set");
  if (((d >> 49) & 7) != 0) emu::fail("wgmma descriptor: base offset != 0 is not modelled");
  if ((d >> 62) != 1) emu::fail("wgmma descriptor: only the 128-byte swizzle mode (1) is modelled");
  return Desc{uint32_t(d & 0x3fff) << 4, uint32_t((d >> 16) & 0x3fff) << 4, uint32_t((d >> 32) & 0x3fff) << 4};
}

/// Swizzle<3,4,3> on a shared byte address: bits 4-6 ^= bits 7-9.
inline uint32_t swizzle128(uint32_t addr) { return addr ^ (((addr >> 7) & 7u) << 4); }

/// Element (mn, k) of a K-major operand (mn: the M or N index, k < 16).
inline uint32_t k_major_addr(const Desc& d, int mn, int k) {
  return swizzle128(d.start + uint32_t((mn % 8) * 128 + (mn / 8) * d.sbo + k * 2));
}

/// Element (mn, k) of an MN-major operand.
inline uint32_t mn_major_addr(const Desc& d, int mn, int k) {
  return swizzle128(d.start + uint32_t((mn % 64) * 2 + (mn / 64) * d.lbo + (k % 8) * 128 + (k / 8) * d.sbo));
}

inline double smem_elem(uint32_t addr, bool is_bf16, const char* what) {
  if (addr % 2) emu::fail(std::string("wgmma: misaligned ") + what + " element");
  const double v = b16(fg::ptx::smem_u16(addr), is_bf16);
  if (std::isnan(v))
    emu::fail(std::string("wgmma: ") + what + " operand reads NaN-poisoned shared memory (a copy in flight, "
                                              "or never written) at " + std::to_string(addr));
  return v;
}

/// The 64 x n product A * B of op, read now.
inline std::vector<double> product(const Op& op) {
  std::vector<double> out(size_t(64) * op.n, 0.0);
  double A[64][16];
  const Desc db = decode(op.desc_b);
  for (int m = 0; m < 64; ++m)
    for (int k = 0; k < 16; ++k) {
      if (op.a_in_regs) {
        // m16n8k16 A fragment per warp: warp m/16, lane (m%8)*4 + (k%8)/2,
        // register (k/8)*2 + (m%16)/8, half k%2.
        const uint32_t reg = op.a[32 * (m / 16) + (m % 8) * 4 + (k % 8) / 2][(k / 8) * 2 + (m % 16) / 8];
        A[m][k] = b16(uint16_t(k % 2 ? reg >> 16 : reg & 0xffff), op.is_bf16);
      } else {
        const Desc da = decode(op.desc_a);
        A[m][k] = smem_elem(op.trans_a ? mn_major_addr(da, m, k) : k_major_addr(da, m, k), op.is_bf16, "A");
      }
    }
  std::vector<double> B(size_t(16) * op.n);
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < op.n; ++n)
      B[size_t(k) * op.n + n] =
          smem_elem(op.trans_b ? mn_major_addr(db, n, k) : k_major_addr(db, n, k), op.is_bf16, "B");
  for (int m = 0; m < 64; ++m)
    for (int n = 0; n < op.n; ++n) {
      double acc = 0;
      for (int k = 0; k < 16; ++k) acc += A[m][k] * B[size_t(k) * op.n + n];
      out[size_t(m) * op.n + n] = acc;
    }
  return out;
}

/// All 128 threads of the warpgroup issue the same mma.
inline void issue(int n, bool a_in_regs, bool is_bf16, int trans_b, unsigned long long desc_a,
                  unsigned long long desc_b, const uint32_t* a, int scale_d, float* d, int trans_a = 0) {
  WarpgroupState& ws = my_state();
  ThreadState& t = ts();
  const int me = emu::tls.tid % 128;
  const unsigned seq = t.seq++;
  std::shared_ptr<Op> op;
  {
    std::lock_guard<std::mutex> lk(ws.mu);
    auto& slot = ws.ops[seq];
    if (!slot) {
      slot = std::make_shared<Op>();
      slot->n = n;
      slot->a_in_regs = a_in_regs;
      slot->is_bf16 = is_bf16;
      slot->trans_b = trans_b;
      slot->trans_a = trans_a;
      slot->desc_a = desc_a;
      slot->desc_b = desc_b;
      slot->scale_d = scale_d;
    } else if (slot->n != n || slot->a_in_regs != a_in_regs || slot->is_bf16 != is_bf16 ||
               slot->trans_b != trans_b || slot->trans_a != trans_a || slot->desc_b != desc_b || slot->scale_d != scale_d ||
               (!a_in_regs && slot->desc_a != desc_a)) {
      emu::fail("wgmma: the threads of a warpgroup issued different mma operations (seq " + std::to_string(seq) +
                ")");
    }
    if (slot->deposited >= 128) emu::fail("wgmma: stale operation record (an mma never waited for?)");
    if (a_in_regs)
      for (int i = 0; i < 4; ++i) slot->a[me][i] = a[i];
    ++slot->deposited;
    op = slot;
  }
  ws.bar.wait();  // .sync.aligned over the warpgroup: every thread issued
  if (me == 0) op->at_issue = product(*op);
  ws.bar.wait();

  // Accumulators: the chain's running value moves to a shadow while in flight.
  auto it = t.shadow.find(d);
  if (it == t.shadow.end()) {
    std::vector<float> v(d, d + n / 2);
    t.shadow.emplace(d, std::move(v));
    for (int i = 0; i < n / 2; ++i) d[i] = poison_value();
  } else {
    if (int(it->second.size()) != n / 2) emu::fail("wgmma: accumulators reused with another N while in flight");
    for (int i = 0; i < n / 2; ++i)
      if (!is_poison(d[i])) emu::fail("wgmma: accumulator written while an mma on it was in flight");
  }
  t.open.push_back(Pending{op, d});
}

inline void commit() {
  ThreadState& t = ts();
  t.committed.push_back(std::move(t.open));
  t.open.clear();
}

inline void complete(Pending& p) {
  Op& op = *p.op;
  {
    std::lock_guard<std::mutex> lk(op.mu);
    if (!op.have_wait) {
      op.at_wait = product(op);
      op.have_wait = true;
      for (size_t i = 0; i < op.at_wait.size(); ++i)
        if (op.at_wait[i] != op.at_issue[i])
          emu::fail("wgmma: a shared-memory operand changed between issue and completion (not ready at issue, "
                    "or overwritten while the mma was in flight)");
    }
  }
  ThreadState& t = ts();
  std::vector<float>& acc = t.shadow.at(p.d);
  const int lane = emu::tls.tid % 32, w = (emu::tls.tid % 128) / 32;
  for (int j = 0; j < op.n / 8; ++j)
    for (int e = 0; e < 4; ++e) {
      const int row = 16 * w + lane / 4 + 8 * (e / 2), col = 8 * j + 2 * (lane % 4) + e % 2;
      float& x = acc[size_t(4 * j + e)];
      x = float((op.scale_d ? double(x) : 0.0) + op.at_wait[size_t(row) * op.n + col]);
    }
  WarpgroupState& ws = my_state();
  std::lock_guard<std::mutex> lk(ws.mu);
  if (++op.consumed == 128) {
    for (auto it = ws.ops.begin(); it != ws.ops.end(); ++it)
      if (it->second.get() == &op) {
        ws.ops.erase(it);
        break;
      }
  }
}

inline void wait(int n_pending) {
  ThreadState& t = ts();
  while (int(t.committed.size()) > n_pending) {
    for (Pending& p : t.committed.front()) complete(p);
    t.committed.pop_front();
  }
  // Accumulators no pending mma refers to any more get their values back.
  for (auto it = t.shadow.begin(); it != t.shadow.end();) {
    bool referenced = false;
    for (const auto& g : t.committed)
      for (const Pending& p : g) referenced |= p.d == it->first;
    for (const Pending& p : t.open) referenced |= p.d == it->first;
    if (referenced) {
      ++it;
      continue;
    }
    float* d = it->first;
    for (size_t i = 0; i < it->second.size(); ++i) {
      if (!is_poison(d[i])) emu::fail("wgmma: accumulator written while an mma on it was in flight");
      d[i] = it->second[i];
    }
    it = t.shadow.erase(it);
  }
}

// ---- mbarriers and named barriers -------------------------------------------

/// An mbarrier: arrivals expected per phase, arrivals still missing, phase.
struct MBar {
  int expected = 0, pending = 0;
  unsigned phase = 0;
};

/// A named barrier (bar.sync / bar.arrive id, count).
struct NamedBar {
  int count = 0, arrived = 0;
  unsigned gen = 0;
};

struct SyncState {
  std::mutex mu;
  std::map<std::pair<const void*, uint32_t>, MBar> mbars;
  std::map<std::pair<const void*, int>, NamedBar> named;
};
inline SyncState& sync_state() {
  static SyncState s;
  return s;
}

/// Fails after a minute of waiting (a deadlock on the hardware).
struct WaitClock {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  unsigned spins = 0;
  void tick(const char* what) {
    std::this_thread::yield();
    if ((++spins & 0xfff) == 0 && std::chrono::steady_clock::now() - start > std::chrono::seconds(60))
      emu::fail(std::string(what) + " timed out (deadlock)");
  }
};

inline void mbar_init(uint32_t bar, int count) {
  if (bar % 8) emu::fail("mbarrier.init: address not 8-byte aligned");
  fg::ptx::smem_ptr(bar, 8);  // bounds
  if (count <= 0) emu::fail("mbarrier.init: count must be positive");
  SyncState& ss = sync_state();
  std::lock_guard<std::mutex> lk(ss.mu);
  ss.mbars[{emu::tls.cta, bar}] = MBar{count, count, 0};
}

inline void mbar_arrive(uint32_t bar) {
  SyncState& ss = sync_state();
  std::lock_guard<std::mutex> lk(ss.mu);
  auto it = ss.mbars.find({emu::tls.cta, bar});
  if (it == ss.mbars.end()) emu::fail("mbarrier.arrive on an uninitialized barrier at " + std::to_string(bar));
  MBar& b = it->second;
  if (--b.pending == 0) {
    ++b.phase;
    b.pending = b.expected;
  }
}

inline bool mbar_try_wait(uint32_t bar, uint32_t parity) {
  bool done;
  {
    SyncState& ss = sync_state();
    std::lock_guard<std::mutex> lk(ss.mu);
    auto it = ss.mbars.find({emu::tls.cta, bar});
    if (it == ss.mbars.end()) emu::fail("mbarrier.try_wait on an uninitialized barrier at " + std::to_string(bar));
    // The phase of this parity has completed when the current phase's parity differs.
    done = (it->second.phase & 1u) != (parity & 1u);
  }
  // A wait is a run of false results; its clock starts with the first.
  static thread_local WaitClock clock;
  static thread_local bool waiting = false;
  if (!done) {
    if (!waiting) clock = WaitClock{};
    waiting = true;
    clock.tick("mbarrier wait");
  } else {
    waiting = false;
  }
  return done;
}

inline void named_bar(int id, int count, bool wait) {
  if (id < 1 || id > 15) emu::fail("named barrier id must be 1..15 (0 is __syncthreads)");
  if (count <= 0 || count % 32) emu::fail("named barrier count must be a positive multiple of 32");
  SyncState& ss = sync_state();
  unsigned gen;
  {
    std::lock_guard<std::mutex> lk(ss.mu);
    NamedBar& b = ss.named[{emu::tls.cta, id}];
    if (b.arrived == 0) b.count = count;
    if (b.count != count) emu::fail("named barrier " + std::to_string(id) + " used with different counts");
    gen = b.gen;
    if (++b.arrived == b.count) {
      b.arrived = 0;
      ++b.gen;
      return;
    }
  }
  if (!wait) return;
  WaitClock clock;
  for (;;) {
    {
      std::lock_guard<std::mutex> lk(ss.mu);
      if (ss.named[{emu::tls.cta, id}].gen != gen) return;
    }
    clock.tick("named barrier wait");
  }
}

/// After a launch: every named barrier must have been completed as often as
/// it was arrived at (no arrival left over), and every wgmma waited for.
/// Clears the state for the next launch.
inline void check_and_reset() {
  {
    SyncState& ss = sync_state();
    std::lock_guard<std::mutex> lk(ss.mu);
    for (auto& kv : ss.named)
      if (kv.second.arrived != 0)
        emu::fail("named barrier " + std::to_string(kv.first.second) + " left with " +
                  std::to_string(kv.second.arrived) + " arrivals at the end of a CTA");
    ss.named.clear();
    ss.mbars.clear();
  }
  std::lock_guard<std::mutex> lk(states_mu());
  for (auto& kv : states())
    if (!kv.second->ops.empty()) emu::fail("a wgmma was never waited for");
  states().clear();
}

}  // namespace emu_wgmma

namespace fg {
namespace ptx {

inline void mbar_init(u32 bar, int count) { emu_wgmma::mbar_init(bar, count); }
inline void mbar_arrive(u32 bar) { emu_wgmma::mbar_arrive(bar); }
inline bool mbar_try_wait(u32 bar, u32 parity) { return emu_wgmma::mbar_try_wait(bar, parity); }
inline void bar_sync_named(int id, int count) { emu_wgmma::named_bar(id, count, true); }
inline void bar_arrive_named(int id, int count) { emu_wgmma::named_bar(id, count, false); }
inline u64 clock64() { return 0; }  // the emulator's waits time out themselves
inline void trap() { emu::fail("trap (the mbarrier watchdog fired)"); }
template <int N> inline void setmaxnreg_dec() {}
template <int N> inline void setmaxnreg_inc() {}
// The emulator has no copy engine: its kernels get all-zero tensor maps
// (tma.cuh: the producer then copies with cp.async), so these never run.
inline void mbar_arrive_expect_tx(u32, u32) { emu::fail("TMA is not emulated (the kernel got a tensor map)"); }
inline void tma_load_4d(u32, const void*, int, int, int, int, u32) {
  emu::fail("TMA is not emulated (the kernel got a tensor map)");
}
inline void prefetch_tensor_map(const void*) {}

inline void wgmma_fence() {}
inline void wgmma_commit() { emu_wgmma::commit(); }
template <int N> inline void wgmma_wait() { emu_wgmma::wait(N); }
inline void fence_proxy_async_smem() {}

inline void bulk_reduce_add_f32(float* dst, u32 src, u32 bytes) {
  if (reinterpret_cast<uintptr_t>(dst) % 16 || src % 16 || bytes % 16 || bytes == 0)
    emu::fail("cp.reduce.async.bulk: addresses and size must be multiples of 16 bytes");
  emu::check_global(dst, bytes, true);
  smem_ptr(src, bytes);  // bounds
  emu_wgmma::ts().bulk_open.push_back(emu_wgmma::BulkReduce{dst, src, bytes});
}
inline void bulk_commit() {
  auto& t = emu_wgmma::ts();
  t.bulk_committed.push_back(std::move(t.bulk_open));
  t.bulk_open.clear();
}
template <int N> inline void bulk_wait_read() {
  auto& t = emu_wgmma::ts();
  while (int(t.bulk_committed.size()) > N) {
    for (const auto& r : t.bulk_committed.front()) {
      const u8* s = smem_ptr(r.src, r.bytes);
      for (u32 i = 0; i < r.bytes / 4; ++i) {
        float v;
        std::memcpy(&v, s + 4 * i, 4);
        red_add_f32(r.dst + i, v);
      }
    }
    t.bulk_committed.pop_front();
  }
}
template <int N> inline void bulk_wait() { bulk_wait_read<N>(); }
inline void reg_fence(float&) {}

template <class T, int N, int TRANS_B = 0, int TRANS_A = 0>
inline void wgmma_ss(float (&d)[N / 8][4], u64 desc_a, u64 desc_b, int scale_d) {
  static_assert(N % 16 == 0 && N >= 16 && N <= 256, "wgmma_ss: N = 16..256, a multiple of 16");
  emu_wgmma::issue(N, false, same_type<T, bf16>::value, TRANS_B, desc_a, desc_b, nullptr, scale_d ? 1 : 0,
                   &d[0][0], TRANS_A);
}

template <class T, int N, int TRANS_B = 0>
inline void wgmma_rs(float (&d)[N / 8][4], const u32 (&a)[4], u64 desc_b, int scale_d) {
  static_assert(N % 16 == 0 && N >= 16 && N <= 256, "wgmma_rs: N = 16..256, a multiple of 16");
  emu_wgmma::issue(N, true, same_type<T, bf16>::value, TRANS_B, 0, desc_b, a, scale_d ? 1 : 0, &d[0][0]);
}

}  // namespace ptx
}  // namespace fg

#endif  // FLASHGEN_TEST_DEVICE_WGMMA_EMULATION_H
