// Runtime test fixture, variant 0: one launch; one thread per row of 16.
#include "flashgen/device/fixture_math.cuh"
#include <cuda_bf16.h>

extern "C" __global__ void __launch_bounds__(64)
fixture_axpy_v0(const __nv_bfloat16 *__restrict__ x, long long xs0,
                long long xs1, long long xs2, long long xs3,
                const float *__restrict__ y, long long ys0, long long ys1,
                long long ys2, long long ys3, float *__restrict__ o,
                long long os0, long long os1, long long os2, long long os3,
                float *__restrict__ rowsum, long long rs0, long long rs1,
                long long rs2, int N, float alpha) {
  const int n = blockIdx.x * blockDim.x + threadIdx.x;
  const int h = blockIdx.y, b = blockIdx.z;
  if (n >= N)
    return;
  const fixture_index_t xr = fixture_offset(b, h, n, xs0, xs1, xs2);
  const fixture_index_t yr = fixture_offset(b, h, n, ys0, ys1, ys2);
  const fixture_index_t orow = fixture_offset(b, h, n, os0, os1, os2);
  float sum = 0.0f;
  for (int d = 0; d < 16; ++d) {
    float v = fixture_axpy(alpha, __bfloat162float(x[xr + d * xs3]),
                           y[yr + d * ys3]);
    o[orow + d * os3] = v;
    sum += v;
  }
  if (rowsum)
    rowsum[fixture_offset(b, h, n, rs0, rs1, rs2)] = sum;
}
