//===- softmax_kernels.cu - device functions under test for softmax.cuh --===//
//
// Attention with the scores given: s is [64 rows][T*32 keys] f32 (-inf =
// masked), v is [T*32][64] bf16. Two warps of 32 rows stream T key tiles of
// 32 through online_softmax + P V, then finalize and write o [64][64] and
// the per-row log-sum-exp. every: one in every `every` exponentials on the
// FMA pipe (online_softmax<EVERY>; 0, 2 or 3). lane_bias, when given
// ([T][64], one per tile and thread): the tile holds s minus the thread's
// bias, which online_softmax (deferred: online_softmax_deferred, then the
// rescale) adds back, as a score_mod's bias linear in the positions does
// (codegen/attention/PositionBias.h).
//
//===----------------------------------------------------------------------===//
#include "flashgen/device/flashgen_device.cuh"

extern "C" __global__ void softmax_test_attend(const float* s, int n_tiles, const fg::bf16* v, float c,
                                               int every, const float* lane_bias, int deferred,
                                               float* o, float* lse) {
  constexpr int kThreads = 64, kWarpRows = 32, kTileK = 32, kD = 64;
  using VTile = fg::smem_tile<fg::bf16, kTileK, kD>;
  const fg::u32 smem = fg::ptx::smem_addr(fg::ptx::dynamic_smem());
  const VTile sv{smem};
  const int wrow0 = (fg::ptx::thread_id() / 32) * kWarpRows;
  const int ld = n_tiles * kTileK;
  fg::acc_tile<kWarpRows, kD> acc_o;
  fg::warp::zero(acc_o);
  fg::softmax_state<kWarpRows> sm;
  fg::warp::init(sm);
  for (int t = 0; t < n_tiles; ++t) {
    fg::cta::sync();  // the previous tile's readers are done
    fg::cta::load_async<kThreads>(sv, v + t * kTileK * kD, kD, kTileK);
    fg::cta::commit();
    fg::cta::wait<0>();
    fg::cta::sync();
    fg::acc_tile<kWarpRows, kTileK> st;
    const float bias = lane_bias ? lane_bias[t * kThreads + fg::ptx::thread_id()] : 0.0f;
    fg::warp::for_each(st, wrow0, t * kTileK, [&](int i, int j, float& x) { x = s[i * ld + j] - bias; });
    if (lane_bias && deferred) {
      fg::softmax_rescale<kWarpRows> rescale;
      fg::warp::online_softmax_deferred(sm, st, c, rescale, bias);
      fg::warp::apply_rescale(acc_o, rescale);
    } else if (lane_bias)
      fg::warp::online_softmax(sm, st, acc_o, c, bias);
    else if (every == 2)
      fg::warp::online_softmax<2>(sm, st, acc_o, c);
    else if (every == 3)
      fg::warp::online_softmax<3>(sm, st, acc_o, c);
    else
      fg::warp::online_softmax(sm, st, acc_o, c);
    fg::a_tile<fg::bf16, kWarpRows, kTileK> p;
    fg::warp::convert(p, st);
    fg::warp::mma_rAB(acc_o, p, sv, 0, 0);
  }
  fg::warp::finalize(sm, acc_o);
  fg::warp::for_each(acc_o, wrow0, 0, [&](int i, int j, float& x) { o[i * kD + j] = x; });
  fg::warp::store_lse(lse + wrow0, 1, 64 - wrow0, sm, c);
}
