//===- GateTest.cpp - gate.cuh on the host emulator ----------------------===//
#include "kernel_prelude.h"
#include "kernels/gate_kernels.cu"

#include "test_support.h"

namespace {

using namespace emu_test;

class GateTest : public EmuTest {};

TEST_F(GateTest, DecayMaskAndRowScale) {
  std::mt19937 rng(21);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  DeviceVec<float> s(64 * 32, false), b(64, false), g(64, false), out(64 * 32, true);
  for (auto& x : s.v) x = nd(rng);
  float acc = 0;
  for (int i = 0; i < 64; ++i) b[i] = (acc -= std::fabs(nd(rng)) * 0.1f);  // cumulative log2 decay
  for (auto& x : g.v) x = nd(rng);
  emu::launch(emu::Dim3{1, 1, 1}, 64, 0, gate_test_decay, (const float*)s.data(), (const float*)b.data(),
              (const float*)g.data(), out.data());
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < 32; ++j) {
      const double want = j <= i ? s[i * 32 + j] * std::exp2(double(b[i]) - b[j]) * g[i] : 0.0;
      EXPECT_NEAR(out[i * 32 + j], want, 1e-5 * (1 + std::fabs(want))) << i << "," << j;
    }
}

}  // namespace
