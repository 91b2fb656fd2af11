// Runtime test fixture: a kernel that compiles with a warning.
#warning "fixture warning: flashgen-nvrtc must fail on this"
extern "C" __global__ void warns_v0(float *x, long long s0, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    x[i * s0] += 1.0f;
}
