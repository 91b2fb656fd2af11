//===- wgmma_pipe.cuh - flashgen device library: warp-specialized flash3 --===//
//
// The producer / consumer form of the flash3 kernel (sm_90a). A producer
// warpgroup (the CTA's last; setmaxnreg gives its registers to the others)
// copies Q once and then K and V tile by tile into two rings of kStages
// wg_tiles with cp.async; kGroups consumer warpgroups compute. There is no
// CTA-wide barrier after the start: stages change hands through mbarriers in
// shared memory (pipe):
//
//   q_full, k_full[s], v_full[s]  count 128: each producer thread arrives once
//                                 its own copies of that tile landed
//                                 (cp.async wait_group) and it fenced them
//                                 for the async proxy (fence.proxy.async), so
//                                 wgmma may read them after the consumer's
//                                 wait;
//   k_empty[s], v_empty[s]        count = consumer warps: lane 0 of each warp
//                                 arrives once the wgmma that read the tile
//                                 completed (wgmma.wait_group) in its warp.
//
// Tile number it (0-based in the CTA's key range) uses stage it % kStages and
// phase it / kStages of those barriers (waits test its parity). The producer
// keeps one cp.async group in flight beyond the one it completes; it waits
// for k_empty / v_empty before reusing a stage.
//
// Consumer loop, rotated so that a warpgroup's two GEMMs are issued back to
// back: in tile it's turn the warpgroup issues O += P(it-1) V(it-1) and then
// S = Q K(it)^T, waits for both, releases K(it) and V(it-1), and runs the
// mask and the online softmax on S (O is no longer in flight, so the
// rescale is immediate), leaving P(it) in registers for the next turn; a
// last turn after the loop issues P V of the last tile. Turns go round the
// warpgroups in order (named barriers 1..kGroups, "ping-pong"): while one
// warpgroup is in its softmax the next one's GEMMs run. With inner_q = 1 the
// turn is also pipelined inside the warpgroup (end of this file). An
// mbarrier wait that lasts ~10 s traps (the launch fails instead of hanging).
//
// Named barrier b (1 + g) counts 256 threads: warpgroup g's 128 waiting for
// its turn plus the previous warpgroup's 128 arriving when its turn is
// issued. Every warpgroup takes the same number of turns (one per tile plus
// the last), warpgroup kGroups-1 makes the opening arrival for warpgroup 0
// and skips its arrival in the last turn, so every barrier's arrivals match
// its waits when the kernel ends.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_WGMMA_PIPE_CUH
#define FLASHGEN_DEVICE_WGMMA_PIPE_CUH

#include "flashgen/device/matmul/wgmma.cuh"

#if defined(FG_HAVE_WGMMA)

#include "flashgen/device/attention/softmax.cuh"

namespace fg {
namespace wg {

/// Threads of the producer warpgroup.
constexpr int kProducerThreads = 128;

/// The mbarriers of the pipeline: 8 bytes each, in shared memory. Q_BUFFERS
/// = 2 is the persistent form (end of this file): Q double-buffered, with
/// q_empty barriers the consumers arrive on when a tile's Q (and the output
/// staged through it) is done.
template <int STAGES, int CONSUMER_WARPS, int Q_BUFFERS = 1> struct pipe {
  static_assert(STAGES >= 2, "pipe: at least 2 stages");
  static_assert(CONSUMER_WARPS % 4 == 0 && CONSUMER_WARPS >= 4, "pipe: whole consumer warpgroups");
  static_assert(Q_BUFFERS == 1 || Q_BUFFERS == 2, "pipe: one Q buffer, or two (persistent)");
  static constexpr int kStages = STAGES;
  static constexpr int kConsumerWarps = CONSUMER_WARPS;
  static constexpr int kGroups = CONSUMER_WARPS / 4;
  static constexpr int kQBuffers = Q_BUFFERS;
  static constexpr int kBarriers = Q_BUFFERS + 4 * STAGES + (Q_BUFFERS > 1 ? Q_BUFFERS : 0);
  static constexpr int kBytes = (kBarriers * 8 + 127) / 128 * 128;
  /// Shared address of the first barrier (8-byte aligned).
  u32 base;
  FG_DEVICE u32 q_full(int b = 0) const { return base + 8u * u32(b); }
  FG_DEVICE u32 k_full(int s) const { return base + 8u * u32(Q_BUFFERS + s); }
  FG_DEVICE u32 v_full(int s) const { return base + 8u * u32(Q_BUFFERS + STAGES + s); }
  FG_DEVICE u32 k_empty(int s) const { return base + 8u * u32(Q_BUFFERS + 2 * STAGES + s); }
  FG_DEVICE u32 v_empty(int s) const { return base + 8u * u32(Q_BUFFERS + 3 * STAGES + s); }
  FG_DEVICE u32 q_empty(int b) const { return base + 8u * u32(Q_BUFFERS + 4 * STAGES + b); }
};

/// Initializes the barriers (thread 0) and syncs the CTA: every thread calls
/// it once, before the roles split (no CTA-wide barrier may follow).
template <int S, int CW, int QB> FG_DEVICE void init(const pipe<S, CW, QB>& p) {
  if (ptx::thread_id() == 0) {
    for (int b = 0; b < QB; ++b) ptx::mbar_init(p.q_full(b), kProducerThreads);
    for (int s = 0; s < S; ++s) {
      ptx::mbar_init(p.k_full(s), kProducerThreads);
      ptx::mbar_init(p.v_full(s), kProducerThreads);
      ptx::mbar_init(p.k_empty(s), CW);
      ptx::mbar_init(p.v_empty(s), CW);
    }
    if (QB > 1)
      for (int b = 0; b < QB; ++b) ptx::mbar_init(p.q_empty(b), CW);
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

/// Producer: issues the copies of Q (rows >= rows_valid zero-filled) as one group.
template <int CW, class T, int R, int C>
FG_DEVICE void producer_q(const wg_tile<T, R, C>& q, const T* src, i64 row_stride, int rows_valid) {
  load_async_by<kProducerThreads>(q, src, row_stride, rows_valid, producer_thread<CW>());
  ptx::cp_async_commit();
}

/// Producer: the group before the one just committed has landed (this lane's
/// copies): fence it for wgmma and publish it on full_bar.
FG_DEVICE void producer_publish_previous(u32 full_bar) {
  ptx::cp_async_wait<1>();
  ptx::fence_proxy_async_smem();
  ptx::mbar_arrive(full_bar);
}

/// Producer: K of tile number it (rows from src, rows >= rows_valid zero) into
/// stage it % S, once the consumers released that stage; publishes the
/// previous group (Q for it == 0, else V of tile it - 1).
template <int S, int CW, class Ring, class T>
FG_DEVICE void producer_k(const pipe<S, CW>& p, const Ring& ring, int it, const T* src, i64 row_stride,
                          int rows_valid) {
  const int s = it % S;
  if (it >= S) mbar_wait(p.k_empty(s), u32((it / S - 1) & 1));
  load_async_by<kProducerThreads>(ring.stage(s), src, row_stride, rows_valid, producer_thread<CW>());
  ptx::cp_async_commit();
  producer_publish_previous(it == 0 ? p.q_full() : p.v_full((it - 1) % S));
}

/// Producer: V of tile number it into stage it % S; publishes K of tile it.
template <int S, int CW, class Ring, class T>
FG_DEVICE void producer_v(const pipe<S, CW>& p, const Ring& ring, int it, const T* src, i64 row_stride,
                          int rows_valid) {
  const int s = it % S;
  if (it >= S) mbar_wait(p.v_empty(s), u32((it / S - 1) & 1));
  load_async_by<kProducerThreads>(ring.stage(s), src, row_stride, rows_valid, producer_thread<CW>());
  ptx::cp_async_commit();
  producer_publish_previous(p.k_full(s));
}

/// Producer, after n tiles: publishes the last group (Q when n == 0).
template <int S, int CW> FG_DEVICE void producer_flush(const pipe<S, CW>& p, int n) {
  ptx::cp_async_wait<0>();
  ptx::fence_proxy_async_smem();
  ptx::mbar_arrive(n == 0 ? p.q_full() : p.v_full((n - 1) % S));
}

// ---- consumer warpgroups -------------------------------------------------------

/// Consumer: waits for Q.
template <int S, int CW> FG_DEVICE void wait_q(const pipe<S, CW>& p) { mbar_wait(p.q_full(), 0u); }

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

/// Consumer: this warp has finished reading stage s of a ring: one arrival
/// (lane 0) on its empty barrier.
FG_DEVICE void release(u32 empty_bar) {
  ptx::warp_sync();
  if (ptx::lane_id() == 0) ptx::mbar_arrive(empty_bar);
}

/// Consumer turn of tile number it: O += P(it-1) V(it-1) (it > 0), S = Q K(it)^T,
/// both waited; K(it) and V(it-1) released. s is the warp's 16 x N share of
/// S, o of O, p the bf16 P(it-1) of the previous turn; grow0 the warpgroup's
/// first query row.
/// (has_prev: the query tile's key tile it - 1 exists, i.e. it is not the
/// tile's first; by default it > 0, the one-tile-per-CTA form.)
template <int G, int PV_N, int S, int CW, int QB, int N, int D, class T, class QTile, class KRing, class VRing>
FG_DEVICE void consumer_turn(acc_tile<16, N>& s, acc_tile<16, D>& o, const a_tile<T, 16, N>& p, const QTile& sq,
                             int grow0, const KRing& sk, const VRing& sv, const pipe<S, CW, QB>& pp, int it,
                             bool has_prev) {
  const int st = it % S, prev = (it + S - 1) % S;
  mbar_wait(pp.k_full(st), u32((it / S) & 1));
  if (has_prev) mbar_wait(pp.v_full(prev), u32(((it - 1) / S) & 1));
  turn_begin<G>();
  if (has_prev) issue_rAB<PV_N>(o, p, sv.stage(prev));
  issue_ABt(s, sq, grow0, sk.stage(st));
  turn_end<G>(false);
  mma_wait<0>(s, o);
  release(pp.k_empty(st));
  if (has_prev) release(pp.v_empty(prev));
}
template <int G, int PV_N, int S, int CW, int N, int D, class T, class QTile, class KRing, class VRing>
FG_DEVICE void consumer_turn(acc_tile<16, N>& s, acc_tile<16, D>& o, const a_tile<T, 16, N>& p, const QTile& sq,
                             int grow0, const KRing& sk, const VRing& sv, const pipe<S, CW>& pp, int it) {
  consumer_turn<G, PV_N>(s, o, p, sq, grow0, sk, sv, pp, it, it > 0);
}

/// Consumer, after n tiles: the last turn, O += P(n-1) V(n-1) (has_prev:
/// the query tile had a key tile; by default n > 0), waited. last: the CTA's
/// last turn (warpgroup G-1 then passes no turn on).
template <int G, int PV_N, int S, int CW, int QB, int N, int D, class T, class VRing>
FG_DEVICE void consumer_last_turn(acc_tile<16, D>& o, const a_tile<T, 16, N>& p, const VRing& sv,
                                  const pipe<S, CW, QB>& pp, int n, bool has_prev, bool last) {
  const int prev = (n + S - 1) % S;
  if (has_prev) mbar_wait(pp.v_full(prev), u32(((n - 1) / S) & 1));
  turn_begin<G>();
  if (has_prev) issue_rAB<PV_N>(o, p, sv.stage(prev));
  turn_end<G>(last);
  mma_wait<0>(o);
  if (has_prev && QB > 1) release(pp.v_empty(prev));
}
template <int G, int PV_N, int S, int CW, int N, int D, class T, class VRing>
FG_DEVICE void consumer_last_turn(acc_tile<16, D>& o, const a_tile<T, 16, N>& p, const VRing& sv,
                                  const pipe<S, CW>& pp, int n) {
  consumer_last_turn<G, PV_N>(o, p, sv, pp, n, n > 0, true);
}

// ---- intra-warpgroup pipelining (schedule inner_q = 1) -------------------------
//
// The turn of tile it issues S = Q K(it)^T first and O += P(it-1) V(it-1)
// second, and waits for S alone: the mask and the softmax of tile it run
// while this warpgroup's P V is still on the tensor cores. The softmax may
// then not rescale O (in flight): online_softmax_deferred leaves the factor
// in a softmax_rescale, and consumer_finish_turn applies it once the P V has
// completed (O then holds P(it-1) V(it-1) in the old reference max, which is
// exactly what the factor converts), and turns S into P(it).

/// The O rescale an online softmax step decided on, applied later.
template <int R> struct softmax_rescale {
  row_vec<R> alpha;
  bool any;
};

/// warp::online_softmax without touching O: s becomes p, m and l move as
/// there, and rs records the factor O must be multiplied by (rs.any false:
/// none). Same arithmetic as softmax.cuh, step for step.
template <int R, int N>
FG_DEVICE void online_softmax_deferred(softmax_state<R>& st, acc_tile<R, N>& s, float c, softmax_rescale<R>& rs) {
  constexpr int MT = R / 16;
  constexpr float kRescaleLog2 = 8.0f;
  row_vec<R> m_new;
  warp::row_max(m_new, s, st.m);
  bool grow = false;
  FG_UNROLL
  for (int m = 0; m < MT; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) grow |= (m_new.v[m][h] - st.m.v[m][h]) * c > kRescaleLog2;
  rs.any = ptx::vote_any(grow);
  if (rs.any) {
    FG_UNROLL
    for (int m = 0; m < MT; ++m)
      FG_UNROLL
      for (int h = 0; h < 2; ++h) {
        const float mn = m_new.v[m][h];
        const float alpha = ptx::ex2(st.m.v[m][h] * c - (mn == ptx::neg_inf() ? 0.0f : mn * c));
        st.m.v[m][h] = mn;
        st.l.v[m][h] *= alpha;
        rs.alpha.v[m][h] = alpha;
      }
  }
  FG_UNROLL
  for (int m = 0; m < MT; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const float mr = st.m.v[m][h];
      const float off = mr == ptx::neg_inf() ? 0.0f : mr * c;
      float sum = 0.0f;
      FG_UNROLL
      for (int n = 0; n < acc_tile<R, N>::kNT; ++n)
        FG_UNROLL
        for (int i = 0; i < 2; ++i) {
          float& x = s.v[m][n][2 * h + i];
          x = ptx::ex2(fmaf(x, c, -off));
          sum += x;
        }
      st.l.v[m][h] += sum;
    }
}

/// Consumer turn of tile number it, pipelined: S = Q K(it)^T and (it > 0)
/// O += P(it-1) V(it-1) issued in that order, S waited for (O may still be
/// in flight), K(it) released.
template <int G, int PV_N, int S, int CW, int N, int D, class T, class QTile, class KRing, class VRing>
FG_DEVICE void consumer_turn_pipelined(acc_tile<16, N>& s, acc_tile<16, D>& o, const a_tile<T, 16, N>& p,
                                       const QTile& sq, int grow0, const KRing& sk, const VRing& sv,
                                       const pipe<S, CW>& pp, int it) {
  const int st = it % S, prev = (it + S - 1) % S;
  mbar_wait(pp.k_full(st), u32((it / S) & 1));
  if (it > 0) mbar_wait(pp.v_full(prev), u32(((it - 1) / S) & 1));
  turn_begin<G>();
  issue_ABt(s, sq, grow0, sk.stage(st));
  if (it > 0)
    issue_rAB<PV_N>(o, p, sv.stage(prev));
  else
    ptx::wgmma_commit();  // an empty group: "all but the newest" is S below either way
  turn_end<G>(false);
  mma_wait<1>(s);
  release(pp.k_empty(st));
}

/// Consumer, after the softmax of tile it (pipelined): waits for P(it-1) V(it-1),
/// releases V(it-1), applies the deferred rescale to O and makes P(it) from s.
template <int S, int CW, int N, int D, class T>
FG_DEVICE void consumer_finish_turn(acc_tile<16, D>& o, a_tile<T, 16, N>& p, const acc_tile<16, N>& s,
                                    const softmax_rescale<16>& rs, const pipe<S, CW>& pp, int it) {
  mma_wait<0>(o);
  if (it > 0) release(pp.v_empty((it + S - 1) % S));
  if (rs.any) warp::mul_rows(o, o, rs.alpha);
  warp::convert(p, s);
}

// ---- persistent grid (schedule persistent = 1) ----------------------------------
//
// One CTA per SM loops over query tiles (round r = the CTA's r-th tile). Q is
// double-buffered: round r reads buffer r % 2 (phase (r / 2) & 1 of its
// q_full / q_empty), so the producer loads the next tile's Q, K and V while
// the consumers finish this one; the consumers arrive on q_empty once their
// output, staged through Q's rows, is stored. Key tiles are numbered across
// rounds (tile_it keeps counting), so the K/V rings and their phases run on
// without a drain; the turns go round the warpgroups across rounds too. In
// this form the last turn of a round also releases V of the round's last key
// tile (the one-tile form never reuses it). The producer publishes each copy
// group once the next is committed (producer_state): Q, K, V of any round
// in the order issued.

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

/// Producer, after its last group: publishes it.
FG_DEVICE void producer_drain(producer_state& ps) {
  if (!ps.any) return;
  ptx::cp_async_wait<0>();
  ptx::fence_proxy_async_smem();
  ptx::mbar_arrive(ps.pending);
  ps.any = false;
}

/// Producer: Q of round r into buffer r % 2, once the consumers released the
/// round r - 2 that used it.
template <int S, int CW, class QRing, class T>
FG_DEVICE void producer_q_round(const pipe<S, CW, 2>& p, const QRing& qs, int r, const T* src, i64 row_stride,
                                int rows_valid, producer_state& ps) {
  const int b = r % 2;
  if (r >= 2) mbar_wait(p.q_empty(b), u32((r / 2 - 1) & 1));
  load_async_by<kProducerThreads>(qs.stage(b), src, row_stride, rows_valid, producer_thread<CW>());
  producer_commit(ps, p.q_full(b));
}

/// Producer: one K or V tile of key tile number it (counted across rounds)
/// into stage it % S of its ring, once the consumers released the stage.
template <int S, class Ring, class T>
FG_DEVICE void producer_stage_it(u32 full_bar, u32 empty_bar, const Ring& ring, int it, const T* src,
                                 i64 row_stride, int rows_valid, int producer_lane, producer_state& ps) {
  if (it >= S) mbar_wait(empty_bar, u32((it / S - 1) & 1));
  load_async_by<kProducerThreads>(ring.stage(it % S), src, row_stride, rows_valid, producer_lane);
  producer_commit(ps, full_bar);
}

/// Producer: K of key tile number it into stage it % S.
template <int S, int CW, class Ring, class T>
FG_DEVICE void producer_k_it(const pipe<S, CW, 2>& p, const Ring& ring, int it, const T* src, i64 row_stride,
                             int rows_valid, producer_state& ps) {
  producer_stage_it<S>(p.k_full(it % S), p.k_empty(it % S), ring, it, src, row_stride, rows_valid,
                       producer_thread<CW>(), ps);
}

/// Producer: V of key tile number it into stage it % S.
template <int S, int CW, class Ring, class T>
FG_DEVICE void producer_v_it(const pipe<S, CW, 2>& p, const Ring& ring, int it, const T* src, i64 row_stride,
                             int rows_valid, producer_state& ps) {
  producer_stage_it<S>(p.v_full(it % S), p.v_empty(it % S), ring, it, src, row_stride, rows_valid,
                       producer_thread<CW>(), ps);
}

/// Consumer: waits for round r's Q.
template <int S, int CW> FG_DEVICE void wait_q_round(const pipe<S, CW, 2>& p, int r) {
  mbar_wait(p.q_full(r % 2), u32((r / 2) & 1));
}

/// Consumer: this warp is done with round r's Q buffer (its output rows are
/// stored): one arrival (lane 0) on q_empty.
template <int S, int CW> FG_DEVICE void release_q_round(const pipe<S, CW, 2>& p, int r) {
  release(p.q_empty(r % 2));
}

}  // namespace wg
}  // namespace fg

#endif  // FG_HAVE_WGMMA

#endif  // FLASHGEN_DEVICE_WGMMA_PIPE_CUH
