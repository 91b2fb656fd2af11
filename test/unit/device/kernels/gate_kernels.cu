//===- gate_kernels.cu - device functions under test for gate.cuh --------===//
//
// The intra-chunk decay mask of a gated recurrence on one 32 x 32 score tile
// per warp: s[i][j] *= (j <= i) ? 2^(b[i] - b[j]) : 0 (for_each_rc with
// per-row and per-column gate values), then rows scaled by g[i] (mul_rows).
//
//===----------------------------------------------------------------------===//
#include "flashgen/device/flashgen_device.cuh"

extern "C" __global__ void gate_test_decay(const float* s, const float* b, const float* g, float* out) {
  constexpr int kWarpRows = 32, kCols = 32;
  const int wrow0 = (fg::ptx::thread_id() / 32) * kWarpRows;
  fg::acc_tile<kWarpRows, kCols> t;
  fg::warp::for_each(t, wrow0, 0, [&](int i, int j, float& x) { x = s[i * kCols + j]; });
  fg::row_vec<kWarpRows> rb, rg;
  fg::col_vec<kCols> cb;
  fg::warp::load_rows(rb, b, wrow0, 64, 0.0f);
  fg::warp::load_rows(rg, g, wrow0, 64, 0.0f);
  fg::warp::load_cols(cb, b, 0, kCols, 0.0f);
  fg::warp::for_each_rc(t, rb, cb, wrow0, 0, [&](int i, int j, float& x, float bi, float bj) {
    x = j <= i ? x * fg::exp2_fast(bi - bj) : 0.0f;
  });
  fg::warp::mul_rows(t, t, rg);
  fg::warp::for_each(t, wrow0, 0, [&](int i, int j, float& x) { out[i * kCols + j] = x; });
}
