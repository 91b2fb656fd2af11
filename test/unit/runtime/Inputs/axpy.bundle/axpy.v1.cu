// Runtime test fixture, variant 1: two launches through a zero-initialised
// scratch buffer (the first accumulates into it, so it relies on the
// runtime's zero_init).
#include "flashgen/device/fixture_math.cuh"
#include <cuda_bf16.h>

extern "C" __global__ void __launch_bounds__(32)
fixture_axpy_v1_scale(const __nv_bfloat16 *__restrict__ x, long long xs0,
                      long long xs1, long long xs2, long long xs3,
                      float *__restrict__ tmp, long long ts0, long long ts1,
                      long long ts2, long long ts3, int N, float alpha) {
  const int n = blockIdx.x * blockDim.x + threadIdx.x;
  const int h = blockIdx.y, b = blockIdx.z;
  if (n >= N)
    return;
  const fixture_index_t xr = fixture_offset(b, h, n, xs0, xs1, xs2);
  const fixture_index_t tr = fixture_offset(b, h, n, ts0, ts1, ts2);
  for (int d = 0; d < 16; ++d)
    tmp[tr + d * ts3] += alpha * __bfloat162float(x[xr + d * xs3]);
}

extern "C" __global__ void __launch_bounds__(32)
fixture_axpy_v1_add(const float *__restrict__ tmp, long long ts0,
                    long long ts1, long long ts2, long long ts3,
                    const float *__restrict__ y, long long ys0, long long ys1,
                    long long ys2, long long ys3, float *__restrict__ o,
                    long long os0, long long os1, long long os2, long long os3,
                    float *__restrict__ rowsum, long long rs0, long long rs1,
                    long long rs2, int N, int numRowBlocks) {
  extern __shared__ float partial[]; // one per thread: exercises dynamic smem
  const int n = blockIdx.x * blockDim.x + threadIdx.x;
  const int h = blockIdx.y, b = blockIdx.z;
  if (blockIdx.x >= numRowBlocks || n >= N)
    return;
  const fixture_index_t tr = fixture_offset(b, h, n, ts0, ts1, ts2);
  const fixture_index_t yr = fixture_offset(b, h, n, ys0, ys1, ys2);
  const fixture_index_t orow = fixture_offset(b, h, n, os0, os1, os2);
  partial[threadIdx.x] = 0.0f;
  for (int d = 0; d < 16; ++d) {
    float v = tmp[tr + d * ts3] + y[yr + d * ys3];
    o[orow + d * os3] = v;
    partial[threadIdx.x] += v;
  }
  if (rowsum)
    rowsum[fixture_offset(b, h, n, rs0, rs1, rs2)] = partial[threadIdx.x];
}
