// Runtime test fixture: device helpers shared by the fixture kernels.
#pragma once
#include "flashgen/device/fixture_types.cuh"

__device__ inline float fixture_axpy(float alpha, float x, float y) {
  return alpha * x + y;
}

__device__ inline fixture_index_t fixture_offset(fixture_index_t b,
                                                 fixture_index_t h,
                                                 fixture_index_t n,
                                                 fixture_index_t s0,
                                                 fixture_index_t s1,
                                                 fixture_index_t s2) {
  return b * s0 + h * s1 + n * s2;
}
