//===- wgmma_pipe.cuh - flashgen device library: warp-specialized flash3 --===//
//
// The primitives of the producer / consumer form of the flash3 kernel
// (sm_90a), one per op of dialect/FlashPipelineOps.td; the order in which a
// kernel calls them is what flash-warp-specialize built, printed by the
// emitter. A producer warpgroup (the CTA's last; setmaxnreg gives its
// registers to the others) copies tiles with cp.async into rings of slots in
// shared memory (Q: one slot, two when persistent; K and V: the schedule's
// stages); consumer warpgroups compute. There is no CTA-wide barrier after
// the start: slots change hands through mbarriers (pipe):
//
//   full[slot]   with cp.async, count 128: each producer thread arrives once
//                its own copies of that slot landed (cp.async wait_group)
//                and it fenced them for the async proxy (fence.proxy.async),
//                so wgmma may read them after the consumer's wait; with TMA
//                (memory/tma.cuh), count 1: the producer's first thread
//                arrives with the slot's byte count and the copy engine
//                completes the phase when the bytes landed;
//   empty[slot]  count = consumer warps: lane 0 of each warp arrives once
//                the wgmma that read the slot completed in its warp;
//   ready[slot]  rotary embedding only (pipe's ROTARY form), Q and K: the
//                tile rotated in its slot (rotary.cuh) and fenced, which
//                the consumers wait on instead of full. With TMA the
//                producer's warps 1-3 wait on full, rotate and arrive
//                (count 96); with cp.async every producer thread does
//                (count 128).
//
// A persistent pipe (two Q slots) also hands rounds' tiles over (claims):
// the producer's first thread writes round r's tile into claim word r % 2
// and arrives on claim_full (count 1); each reading thread (the consumers';
// the producer's too when every producer thread copies) arrives on
// claim_empty once it has read it. Claimed rounds (flash.tile_rounds
// `claimed`) take round 0's tile from blockIdx and later ones from a global
// counter, so the rounds of a CTA that finishes early take more tiles.
//
// Tile number it of a ring (0-based, counted across a persistent CTA's
// rounds) uses slot it % slots and phase it / slots of those barriers. The
// producer keeps one cp.async group in flight beyond the one it publishes
// (producer_state).
//
// Turns (turns_start, turn_begin, turn_end) serialise the consumer
// warpgroups' tensor-core issue ("ping-pong"): while one warpgroup is in its
// softmax the next one's products run. Named barrier b (1 + g) counts 256
// threads: warpgroup g's 128 waiting for its turn plus the previous
// warpgroup's 128 arriving when its turn is issued. Every warpgroup takes the
// same number of turns, warpgroup kGroups-1 makes the opening arrival for
// warpgroup 0 and skips its arrival in the CTA's last turn, so every
// barrier's arrivals match its waits when the kernel ends. An mbarrier wait
// that lasts ~10 s traps (the launch fails instead of hanging).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_DEVICE_WGMMA_PIPE_CUH
#define FLASHGEN_DEVICE_WGMMA_PIPE_CUH

#include "flashgen/device/matmul/wgmma.cuh"

#if defined(FG_HAVE_WGMMA)

#include "flashgen/device/attention/rotary.cuh"
#include "flashgen/device/attention/softmax.cuh"
#include "flashgen/device/memory/tma.cuh"

namespace fg {
namespace wg {

/// Threads of the producer warpgroup.
constexpr int kProducerThreads = 128;

/// The mbarriers of the pipeline: 8 bytes each, in shared memory. Q_BUFFERS
/// = 2 is the persistent form (flash.tile_rounds): Q double-buffered, with
/// q_empty barriers the consumers arrive on when a tile's Q (and the output
/// staged through it) is done, and two claim words with their full and
/// empty barriers. schedule/Flash3Layout.cpp counts the same words.
template <int STAGES, int CONSUMER_WARPS, int Q_BUFFERS = 1, bool ROTARY = false> struct pipe {
  static_assert(STAGES >= 2, "pipe: at least 2 stages");
  static_assert(CONSUMER_WARPS % 4 == 0 && CONSUMER_WARPS >= 4, "pipe: whole consumer warpgroups");
  static_assert(Q_BUFFERS == 1 || Q_BUFFERS == 2, "pipe: one Q buffer, or two (persistent)");
  static constexpr int kStages = STAGES;
  static constexpr int kConsumerWarps = CONSUMER_WARPS;
  static constexpr int kGroups = CONSUMER_WARPS / 4;
  static constexpr int kQBuffers = Q_BUFFERS;
  static constexpr int kClaims = Q_BUFFERS > 1 ? 2 : 0;
  static constexpr bool kRotary = ROTARY;
  static constexpr int kBaseBarriers = Q_BUFFERS + 4 * STAGES + (Q_BUFFERS > 1 ? Q_BUFFERS : 0) + 2 * kClaims;
  static constexpr int kBarriers = kBaseBarriers + (ROTARY ? Q_BUFFERS + STAGES : 0);
  static constexpr int kBytes = ((kBarriers + kClaims) * 8 + 127) / 128 * 128;
  /// Shared address of the first barrier (8-byte aligned).
  u32 base;
  FG_DEVICE u32 q_full(int b = 0) const { return base + 8u * u32(b); }
  FG_DEVICE u32 k_full(int s) const { return base + 8u * u32(Q_BUFFERS + s); }
  FG_DEVICE u32 v_full(int s) const { return base + 8u * u32(Q_BUFFERS + STAGES + s); }
  FG_DEVICE u32 k_empty(int s) const { return base + 8u * u32(Q_BUFFERS + 2 * STAGES + s); }
  FG_DEVICE u32 v_empty(int s) const { return base + 8u * u32(Q_BUFFERS + 3 * STAGES + s); }
  FG_DEVICE u32 q_empty(int b) const { return base + 8u * u32(Q_BUFFERS + 4 * STAGES + b); }
  FG_DEVICE u32 claim_full(int c) const { return base + 8u * u32(2 * Q_BUFFERS + 4 * STAGES + c); }
  FG_DEVICE u32 claim_empty(int c) const { return base + 8u * u32(2 * Q_BUFFERS + 4 * STAGES + kClaims + c); }
  /// Rotary embedding: a Q or K slot's tile rotated in place, ready for
  /// the consumers (the consumers of a rotated ring wait on these, not on
  /// full).
  FG_DEVICE u32 q_ready(int b) const { return base + 8u * u32(kBaseBarriers + b); }
  FG_DEVICE u32 k_ready(int s) const { return base + 8u * u32(kBaseBarriers + Q_BUFFERS + s); }
  /// The claim word c (a tile index), after the barriers.
  FG_DEVICE u32 claim_word(int c) const { return base + 8u * u32(kBarriers + c); }
};

/// The rings of a pipe (the dialect names them by TensorRole: q, k, v).
enum class ring { q, k, v };

/// Slots of ring R.
template <ring R, class P> constexpr int slots = R == ring::q ? P::kQBuffers : P::kStages;

/// Full barrier of ring R's slot for tile number it.
template <ring R, class P> FG_DEVICE u32 full_bar(const P& p, int it) {
  constexpr int S = slots<R, P>;
  return R == ring::q ? p.q_full(it % S) : R == ring::k ? p.k_full(it % S) : p.v_full(it % S);
}

/// Empty barrier of ring R's slot for tile number it. Q with one slot has
/// none: its slot is never refilled (the flash3 verifier and
/// flash-warp-specialize never release or reuse it).
template <ring R, class P> FG_DEVICE u32 empty_bar(const P& p, int it) {
  constexpr int S = slots<R, P>;
  static_assert(R != ring::q || S > 1, "Q's single slot has no empty barrier");
  return R == ring::q ? p.q_empty(it % S) : R == ring::k ? p.k_empty(it % S) : p.v_empty(it % S);
}

/// Ready barrier of rotated ring R's slot for tile number it.
template <ring R, class P> FG_DEVICE u32 ready_bar(const P& p, int it) {
  static_assert(P::kRotary && R != ring::v, "ready barriers: Q and K of a rotary pipe");
  constexpr int S = slots<R, P>;
  return R == ring::q ? p.q_ready(it % S) : p.k_ready(it % S);
}

/// Initializes the barriers (thread 0) and syncs the CTA: every thread calls
/// it once, before the roles split (no CTA-wide barrier may follow). tma:
/// the producer copies with TMA (one arrival per slot fill) instead of
/// cp.async (one per producer thread).
/// Threads of the producer warpgroup that rotate Q and K tiles the TMA
/// copied (rotary embedding): its warps 1 to 3; warp 0's first thread
/// issues the copies.
constexpr int kRotatorThreads = 96;

template <int S, int CW, int QB, bool RO> FG_DEVICE void init(const pipe<S, CW, QB, RO>& p, bool tma) {
  const int fill_arrivals = tma ? 1 : kProducerThreads;
  if (ptx::thread_id() == 0) {
    for (int b = 0; b < QB; ++b) ptx::mbar_init(p.q_full(b), fill_arrivals);
    for (int s = 0; s < S; ++s) {
      ptx::mbar_init(p.k_full(s), fill_arrivals);
      ptx::mbar_init(p.v_full(s), fill_arrivals);
      ptx::mbar_init(p.k_empty(s), CW);
      ptx::mbar_init(p.v_empty(s), CW);
    }
    if (QB > 1)
      for (int b = 0; b < QB; ++b) ptx::mbar_init(p.q_empty(b), CW);
    // Rotated slots are handed on by the threads that rotate them: the
    // rotating warps after TMA copies, every producer thread with cp.async.
    if (RO) {
      const int rotators = tma ? kRotatorThreads : kProducerThreads;
      for (int b = 0; b < QB; ++b) ptx::mbar_init(p.q_ready(b), rotators);
      for (int s = 0; s < S; ++s) ptx::mbar_init(p.k_ready(s), rotators);
    }
    // Claim readers: every consumer thread, and every producer thread when
    // all of them copy (cp.async), or the rotating ones.
    for (int c = 0; c < pipe<S, CW, QB, RO>::kClaims; ++c) {
      ptx::mbar_init(p.claim_full(c), 1);
      ptx::mbar_init(p.claim_empty(c), 32 * CW + (tma ? (RO ? kRotatorThreads : 0) : kProducerThreads));
    }
  }
  ptx::cta_sync();
}

/// Cycles an mbarrier wait may take before the kernel traps (about 10 s): a
/// pipeline bug then fails the launch with an error instead of hanging.
constexpr u64 kWatchdogCycles = u64(1) << 34;

/// Waits until the phase of barrier bar with the given parity has completed.
FG_DEVICE void mbar_wait(u32 bar, u32 parity) {
  if (ptx::mbar_try_wait(bar, parity)) return;
  const u64 start = ptx::clock64();
  while (!ptx::mbar_try_wait(bar, parity))
    if (ptx::clock64() - start > kWatchdogCycles) ptx::trap();
}

// ---- producer warpgroup -------------------------------------------------------

/// True in the producer warpgroup (the one after the CONSUMER_WARPS consumer warps).
template <int CONSUMER_WARPS> FG_DEVICE bool is_producer() { return ptx::thread_id() >= CONSUMER_WARPS * 32; }

/// This thread's index in the producer warpgroup.
template <int CONSUMER_WARPS> FG_DEVICE int producer_thread() { return ptx::thread_id() - CONSUMER_WARPS * 32; }

/// The producer warpgroup gives registers back (first thing in its branch):
/// REGS per thread, 0 to keep the launch's. The roles' budgets must fit the
/// CTA's pool, which is what __launch_bounds__(128 * (G + 1), 1) gave (168
/// per thread for G = 2 consumer warpgroups, 128 for G = 3): e.g. G = 2:
/// 48 + 2 x 224 (or 40 + 2 x 232) <= 3 x 168; G = 3: 24 + 3 x 160 <= 4 x 128.
template <int REGS> FG_DEVICE void producer_registers() {
  if constexpr (REGS > 0) ptx::setmaxnreg_dec<REGS>();
}

/// The consumer warpgroups take them (first thing in their branch).
template <int REGS> FG_DEVICE void consumer_registers() {
  if constexpr (REGS > 0) ptx::setmaxnreg_inc<REGS>();
}

/// Producer: the barrier the newest committed group will be published on.
struct producer_state {
  u32 pending = 0;
  bool any = false;
};

/// Producer: commits the copies just issued as a group published on bar, and
/// publishes the group before it (landed, fenced for the async proxy).
FG_DEVICE void producer_commit(producer_state& ps, u32 bar) {
  ptx::cp_async_commit();
  if (ps.any) {
    ptx::cp_async_wait<1>();
    ptx::fence_proxy_async_smem();
    ptx::mbar_arrive(ps.pending);
  }
  ps.pending = bar;
  ps.any = true;
}

/// Producer, after its last group: publishes it (flash.pipe_drain).
FG_DEVICE void producer_drain(producer_state& ps) {
  if (!ps.any) return;
  ptx::cp_async_wait<0>();
  ptx::fence_proxy_async_smem();
  ptx::mbar_arrive(ps.pending);
  ps.any = false;
}

/// Producer (every thread): tile number it of ring R into its slot with
/// cp.async, rows from src (row_stride apart, rows >= rows_valid zero), once
/// the consumers released the slot's previous tile; commits the copies as a
/// group and publishes the group before it (flash.pipe_produce).
template <ring R, class P, class Ring, class T>
FG_DEVICE void produce(const P& p, const Ring& tiles, int it, const T* src, i64 row_stride, int rows_valid,
                       producer_state& ps) {
  constexpr int S = slots<R, P>;
  static_assert(Ring::kStages == S, "produce: the ring's tiles and barriers disagree on its slots");
  if constexpr (S > 1 || R != ring::q)
    if (it >= S) mbar_wait(empty_bar<R>(p, it), u32((it / S - 1) & 1));
  load_async_by<kProducerThreads>(tiles.stage(it % S), src, row_stride, rows_valid,
                                  producer_thread<P::kConsumerWarps>());
  producer_commit(ps, full_bar<R>(p, it));
}

/// Named barrier of the producer warpgroup's own syncs (the turns' take
/// 1..kGroups).
constexpr int kProducerBarrier = 8;

/// Producer (every thread), rotary embedding (flash.pipe_produce rotate):
/// produce's copies, then, once every producer thread's copies of the tile
/// landed, the tile rotated in its slot (rotary.cuh: rows at tensor row
/// row0 on, position + offset), fenced for the async proxy and published
/// on its ready barrier. The copy is waited for before the rotation: no
/// group stays in flight.
template <ring R, bool HALF, int DIMS, class P, class Ring, class T>
FG_DEVICE void produce_rotated(const P& p, const Ring& tiles, int it, const T* src, i64 row_stride,
                               int rows_valid, producer_state& ps, const rotary::tables& t, int row0,
                               int offset) {
  constexpr int S = slots<R, P>;
  static_assert(Ring::kStages == S, "produce_rotated: the ring's tiles and barriers disagree on its slots");
  static_assert(R != ring::v, "produce_rotated: rotary embedding turns q and k only");
  if constexpr (S > 1 || R != ring::q)
    if (it >= S) mbar_wait(empty_bar<R>(p, it), u32((it / S - 1) & 1));
  const int me = producer_thread<P::kConsumerWarps>();
  load_async_by<kProducerThreads>(tiles.stage(it % S), src, row_stride, rows_valid, me);
  ptx::cp_async_commit();
  ptx::cp_async_wait<0>();  // this tile's copies and the group before them
  ptx::fence_proxy_async_smem();
  if (ps.any) ptx::mbar_arrive(ps.pending);
  ps.any = false;
  ptx::bar_sync_named(kProducerBarrier, kProducerThreads);  // every thread's copies landed
  rotary::rotate_rows<HALF, DIMS, 1, 4>(tiles.stage(it % S), me, kProducerThreads, t, row0, offset, rows_valid);
  ptx::fence_proxy_async_smem();
  ptx::mbar_arrive(ready_bar<R>(p, it));
}

/// True in the producer's rotating warps (rotary embedding, TMA copies).
template <int CONSUMER_WARPS> FG_DEVICE bool is_rotator() { return producer_thread<CONSUMER_WARPS>() >= 32; }

/// Rotating warp (rotary embedding with TMA copies; flash.pipe_produce
/// rotate): once the copy engine landed tile number it of ring R, rotate it
/// in its slot with the other rotating threads (rows at tensor row row0 on,
/// position + offset), fence it for the async proxy and arrive on its ready
/// barrier, which the consumers wait on.
template <ring R, bool HALF, int DIMS, class P, class Ring>
FG_DEVICE void rotate_slot(const P& p, const Ring& tiles, int it, const rotary::tables& t, int row0, int offset,
                           int rows_valid) {
  constexpr int S = slots<R, P>;
  static_assert(Ring::kStages == S, "rotate_slot: the ring's tiles and barriers disagree on its slots");
  mbar_wait(full_bar<R>(p, it), u32((it / S) & 1));
  rotary::rotate_rows<HALF, DIMS, 1, 4>(tiles.stage(it % S), producer_thread<P::kConsumerWarps>() - 32,
                                        kRotatorThreads, t, row0, offset, rows_valid);
  ptx::fence_proxy_async_smem();
  ptx::mbar_arrive(ready_bar<R>(p, it));
}

/// Named barrier of consumer warpgroup g's own sync (rotate_own_rows):
/// after the turns' 1..kGroups and the producer's.
FG_DEVICE int own_rows_barrier(int g) { return kProducerBarrier + 1 + g; }

/// Consumer warpgroup, rotary embedding with K rotated by a pre-pass
/// (flash.pipe_rotate), after wait_full of Q slot it: turns the group's
/// own 64 rows of the tile (tensor rows row0 on, position + offset; rows
/// from rows_valid on left alone), fences them for the async proxy and
/// syncs the warpgroup before its products read them.
template <bool HALF, int DIMS, class Ring>
FG_DEVICE void rotate_own_rows(const Ring& tiles, int it, const rotary::tables& t, int row0, int offset,
                               int rows_valid) {
  const int g = warpgroup(), first = g * 64;
  rotary::rotate_row_range<HALF, DIMS, 128>(tiles.stage(it % Ring::kStages), ptx::thread_id() % 128, t, row0, offset,
                                            first, imin(64, rows_valid - first));
  ptx::fence_proxy_async_smem();
  ptx::bar_sync_named(own_rows_barrier(g), 128);
}

/// Producer (one thread): the same with TMA, one box per 64-column slab of
/// the tile at (column, row0, head, batch) of the tensor map, the tile's
/// bytes expected on the slot's full barrier (rows past the tensor arrive
/// as zeros).
template <ring R, class P, class Ring>
FG_DEVICE void produce_tma(const P& p, const Ring& tiles, int it, const tensor_map* map, int row0, int head,
                           int batch) {
  constexpr int S = slots<R, P>;
  static_assert(Ring::kStages == S, "produce_tma: the ring's tiles and barriers disagree on its slots");
  if constexpr (S > 1 || R != ring::q)
    if (it >= S) mbar_wait(empty_bar<R>(p, it), u32((it / S - 1) & 1));
  using Tile = decltype(tiles.stage(0));
  const u32 dst = tiles.stage(it % S).base;
  const u32 bar = full_bar<R>(p, it);
  ptx::mbar_arrive_expect_tx(bar, u32(Tile::kBytes));
  FG_UNROLL
  for (int slab = 0; slab < Tile::kSlabs; ++slab)
    ptx::tma_load_4d(dst + u32(slab * Tile::kSlabBytes), map, slab * 64, row0, head, batch, bar);
}

/// Consumer, or producer thread that copies: the tile of round r (waits
/// until it is claimed); then this thread is done with round r's word.
/// Every reader arrives itself, as an arrival releases only the arriving
/// thread's own reads (a warp's one arrival after __syncwarp left
/// compute-sanitizer's racecheck reporting the word's next write as a
/// hazard).
template <class P> FG_DEVICE int claim_take(const P& p, int r) {
  mbar_wait(p.claim_full(r % 2), u32((r / 2) & 1));
  const int tile = int(ptx::ld_shared_b32(p.claim_word(r % 2)));
  ptx::mbar_arrive(p.claim_empty(r % 2));
  return tile;
}

/// Producer: claims round r's tile (round 0: blockIdx.x; then the next of
/// *claims, counted from gridDim.x) and hands it over; every producer
/// thread calls it when all of them copy (every_thread), else the first
/// one alone. A tile >= the launch's tiles ends the rounds.
template <class P> FG_DEVICE int claim_next(const P& p, int r, int* claims, bool every_thread) {
  int tile = 0;
  if (producer_thread<P::kConsumerWarps>() == 0) {
    tile = r == 0 ? int(blockIdx.x) : ptx::atomic_add_s32(claims, 1) + int(gridDim.x);
    if (r >= 2) mbar_wait(p.claim_empty(r % 2), u32((r / 2 - 1) & 1));
    ptx::st_shared_b32(p.claim_word(r % 2), u32(tile));
    ptx::mbar_arrive(p.claim_full(r % 2));
  }
  if (every_thread) tile = claim_take(p, r);
  return tile;
}

// ---- consumer warpgroups -------------------------------------------------------

/// Consumer: waits until tile number it of ring R has landed (flash.pipe_wait).
template <ring R, class P> FG_DEVICE void wait_full(const P& p, int it) {
  mbar_wait(full_bar<R>(p, it), u32((it / slots<R, P>) & 1));
}

/// Consumer: waits until tile number it of rotated ring R has landed and
/// been rotated (flash.pipe_wait rotated).
template <ring R, class P> FG_DEVICE void wait_ready(const P& p, int it) {
  mbar_wait(ready_bar<R>(p, it), u32((it / slots<R, P>) & 1));
}

/// Named barrier of warpgroup g's turn.
FG_DEVICE int turn_barrier(int g) { return 1 + g; }

/// Consumer: warpgroup G-1 lets warpgroup 0 take the first turn.
template <int G> FG_DEVICE void turns_start() {
  if constexpr (G > 1)
    if (warpgroup() == G - 1) ptx::bar_arrive_named(turn_barrier(0), 256);
}

/// Consumer: waits for this warpgroup's turn.
template <int G> FG_DEVICE void turn_begin() {
  if constexpr (G > 1) ptx::bar_sync_named(turn_barrier(warpgroup()), 256);
}

/// Consumer: this warpgroup's GEMMs are issued; the next warpgroup's turn.
/// In the last turn warpgroup G-1 does not pass it on (warpgroup 0 is done).
template <int G> FG_DEVICE void turn_end(bool last) {
  if constexpr (G > 1) {
    const int g = warpgroup();
    if (!(last && g == G - 1)) ptx::bar_arrive_named(turn_barrier((g + 1) % G), 256);
  }
}

/// Consumer, after claimed rounds (every turn passed on): warpgroup 0 takes
/// the last warpgroup's final pass, so the turn barriers end balanced.
template <int G> FG_DEVICE void turns_close() {
  if constexpr (G > 1)
    if (warpgroup() == 0) ptx::bar_sync_named(turn_barrier(0), 256);
}

/// Consumer: this warp has finished reading a slot: one arrival (lane 0)
/// on the slot's empty barrier bar.
FG_DEVICE void release(u32 bar) {
  ptx::warp_sync();
  if (ptx::lane_id() == 0) ptx::mbar_arrive(bar);
}

/// Consumer: this warp is done with tile number it of ring R (flash.pipe_release).
template <ring R, class P> FG_DEVICE void release_slot(const P& p, int it) { release(empty_bar<R>(p, it)); }

}  // namespace wg
}  // namespace fg

#endif  // FG_HAVE_WGMMA

#endif  // FLASHGEN_DEVICE_WGMMA_PIPE_CUH
