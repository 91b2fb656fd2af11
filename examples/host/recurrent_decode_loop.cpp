//===- recurrent_decode_loop.cpp - decoding a recurrence with one state buffer ===//
//
// What an inference engine does with the step bundle of
// examples/gated_delta_rule.mlir (gated DeltaNet, 8 heads, Dk = 128,
// Dv = 256, l2norm_qk, bf16 q, k, v and beta, f32 log-decay g), from C++
// through the runtime:
//
//   - one f32 state per sequence and head, [B, 8, 128, 256], kept in one
//     device buffer that the kernel reads as its initial state and writes
//     as its final state (the bundle's may_alias: cf over c0);
//   - each step uploads every sequence's new token (q, k, v, beta, g) and
//     replays one CUDA graph, captured once, that advances every state by
//     that token and writes its output;
//   - every step's output, and the states after the last step, are checked
//     against a float64 host recurrence (docs/semantics.md §7.1) fed the
//     same bf16-rounded tokens, and the replayed steps are timed.
//
//   flashgen-recurrent-decode-loop BUNDLE [--batch B] [--steps S]
//
// BUNDLE is `flashgen compile examples/gated_delta_rule.mlir --dim B=64
// --dim T=1 -o BUNDLE` (its first choice is a recurrent_step schedule).
// Exit 0 when every step matched.
//
//===----------------------------------------------------------------------===//

#include "HostSupport.h"
#include "flashgen/runtime.h"
#include "reference/Bf16.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

// The shapes of examples/gated_delta_rule.mlir.
constexpr int kHeads = 8, kKeyDim = 128, kValueDim = 256;

using flashgen::DType;
using flashgen::TensorArg;
namespace ref = flashgen::reference;
using host::check;
using host::DeviceArray;
using host::intFlag;

/// n bf16 values drawn by `draw`, as device bits and as the floats they hold.
template <class Draw> void drawBf16(std::vector<uint16_t> &bits, std::vector<double> &values, Draw draw) {
  for (size_t i = 0; i < bits.size(); ++i) {
    bits[i] = ref::bf16BitsFromFloat(draw());
    values[i] = ref::floatFromBf16Bits(bits[i]);
  }
}

/// x / sqrt(|x|^2 + 1e-6) (l2norm_qk).
void l2normalize(double *x, int n) {
  double sum = 0;
  for (int i = 0; i < n; ++i)
    sum += x[i] * x[i];
  const double inv = 1.0 / std::sqrt(sum + 1e-6);
  for (int i = 0; i < n; ++i)
    x[i] *= inv;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BUNDLE [--batch B] [--steps S]\n", argv[0]);
    return 2;
  }
  const std::string bundlePath = argv[1];
  int batch = 64, steps = 16;
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--batch")) batch = intFlag(i, argc, argv);
    else if (!std::strcmp(argv[i], "--steps")) steps = intFlag(i, argc, argv);
    else { std::fprintf(stderr, "unknown flag %s\n", argv[i]); return 2; }
  }
  if (batch < 1 || steps < 1) {
    std::fprintf(stderr, "need --batch >= 1 and --steps >= 1\n");
    return 2;
  }

  std::shared_ptr<flashgen::Device> device;
  check(flashgen::Device::open(0, device), "Device::open");
  std::shared_ptr<flashgen::Bundle> bundle;
  check(flashgen::Bundle::load(bundlePath, bundle), "Bundle::load");
  std::unique_ptr<flashgen::Kernel> kernel;
  check(bundle->getKernel("gated_delta_rule", device, kernel), "getKernel");

  const size_t heads = size_t(batch) * kHeads;
  const size_t stateElems = heads * kKeyDim * kValueDim;
  DeviceArray<uint16_t> q(heads * kKeyDim), k(heads * kKeyDim), v(heads * kValueDim),
      beta(heads), o(heads * kValueDim);
  DeviceArray<float> g(heads), state(stateElems);

  // The states: random, the host's float64 copy beside them.
  std::mt19937 rng(4321);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  std::vector<float> hostState(stateElems);
  for (float &x : hostState)
    x = 0.1f * normal(rng);
  std::vector<double> refState(hostState.begin(), hostState.end());
  CHECK_CUDA(cudaMemcpy(state.ptr, hostState.data(), stateElems * 4, cudaMemcpyHostToDevice));

  // The launch's tensors by the manifest's names; c0 and cf are the one
  // state buffer.
  const int64_t kSizes[4] = {batch, kHeads, 1, kKeyDim};
  const int64_t vSizes[4] = {batch, kHeads, 1, kValueDim};
  const int64_t gateSizes[3] = {batch, kHeads, 1};
  const int64_t stateSizes[4] = {batch, kHeads, kKeyDim, kValueDim};
  std::vector<TensorArg> args;
  for (const auto &p : kernel->params()) {
    const std::string &n = p.name;
    if (n == "q") args.push_back({q.ptr, DType::BF16, 4, kSizes, nullptr});
    else if (n == "k") args.push_back({k.ptr, DType::BF16, 4, kSizes, nullptr});
    else if (n == "v") args.push_back({v.ptr, DType::BF16, 4, vSizes, nullptr});
    else if (n == "beta") args.push_back({beta.ptr, DType::BF16, 3, gateSizes, nullptr});
    else if (n == "g") args.push_back({g.ptr, DType::F32, 3, gateSizes, nullptr});
    else if (n == "c0" || n == "cf") args.push_back({state.ptr, DType::F32, 4, stateSizes, nullptr});
    else if (n == "o") args.push_back({o.ptr, DType::BF16, 4, vSizes, nullptr});
    else {
      std::fprintf(stderr, "%s: unexpected param %s (not examples/gated_delta_rule.mlir's bundle?)\n",
                   bundlePath.c_str(), n.c_str());
      return 2;
    }
  }
  host::CapturedLaunch launch(*kernel, args, "launch under graph capture (c0 and cf one buffer)");
  cudaStream_t stream = launch.stream;
  std::printf("recurrent decode loop: %d sequences x %d heads, state %.1f MiB in one buffer (read and "
              "written in place), one CUDA graph replayed per token\n",
              batch, kHeads, double(stateElems) * 4 / (1 << 20));

  std::vector<uint16_t> qBits(heads * kKeyDim), kBits(qBits.size()), vBits(heads * kValueDim),
      betaBits(heads), oBits(vBits.size());
  std::vector<double> qv(qBits.size()), kv(kBits.size()), vv(vBits.size()), betav(heads);
  std::vector<float> gHost(heads);
  std::vector<double> write(kValueDim), out(kValueDim);
  const double scale = 1.0 / std::sqrt(double(kKeyDim));
  double worst = 0, gpuMs = 0;
  for (int step = 0; step < steps; ++step) {
    drawBf16(qBits, qv, [&] { return normal(rng); });
    drawBf16(kBits, kv, [&] { return normal(rng); });
    drawBf16(vBits, vv, [&] { return normal(rng); });
    drawBf16(betaBits, betav, [&] { return 1.f / (1.f + std::exp(-normal(rng))); });
    for (float &x : gHost)
      x = -0.3f * unit(rng); // per-step decays exp(g) between 0.74 and 1
    CHECK_CUDA(cudaMemcpyAsync(q.ptr, qBits.data(), qBits.size() * 2, cudaMemcpyHostToDevice, stream));
    CHECK_CUDA(cudaMemcpyAsync(k.ptr, kBits.data(), kBits.size() * 2, cudaMemcpyHostToDevice, stream));
    CHECK_CUDA(cudaMemcpyAsync(v.ptr, vBits.data(), vBits.size() * 2, cudaMemcpyHostToDevice, stream));
    CHECK_CUDA(cudaMemcpyAsync(beta.ptr, betaBits.data(), heads * 2, cudaMemcpyHostToDevice, stream));
    CHECK_CUDA(cudaMemcpyAsync(g.ptr, gHost.data(), heads * 4, cudaMemcpyHostToDevice, stream));
    CHECK_CUDA(cudaMemsetAsync(o.ptr, 0xff, oBits.size() * 2, stream)); // NaN until written
    launch.replay();
    CHECK_CUDA(cudaMemcpyAsync(oBits.data(), o.ptr, oBits.size() * 2, cudaMemcpyDeviceToHost, stream));
    CHECK_CUDA(cudaStreamSynchronize(stream));
    const float ms = launch.elapsedMs();
    gpuMs += ms;

    // The step on the host: S = a S; w = beta (v - S^T k); S += k w^T;
    // o = S^T (scale q), q and k l2-normalised.
    double num = 0, den = 0;
    for (size_t bh = 0; bh < heads; ++bh) {
      double *qh = &qv[bh * kKeyDim], *kh = &kv[bh * kKeyDim];
      const double *vh = &vv[bh * kValueDim];
      double *s = &refState[bh * kKeyDim * kValueDim];
      l2normalize(qh, kKeyDim);
      l2normalize(kh, kKeyDim);
      const double a = std::exp(double(gHost[bh]));
      std::fill(out.begin(), out.end(), 0.0);
      for (int j = 0; j < kValueDim; ++j) {
        double read = 0;
        for (int i = 0; i < kKeyDim; ++i)
          read += a * s[i * kValueDim + j] * kh[i];
        write[j] = betav[bh] * (vh[j] - read);
      }
      for (int i = 0; i < kKeyDim; ++i)
        for (int j = 0; j < kValueDim; ++j) {
          double &x = s[i * kValueDim + j];
          x = a * x + kh[i] * write[j];
          out[j] += x * scale * qh[i];
        }
      for (int j = 0; j < kValueDim; ++j) {
        const double got = ref::floatFromBf16Bits(oBits[bh * kValueDim + j]);
        num += (got - out[j]) * (got - out[j]);
        den += out[j] * out[j];
      }
    }
    const double rel = std::sqrt(num / den);
    worst = std::isnan(rel) ? rel : std::max(worst, rel);
    if (step < 3 || step == steps - 1)
      std::printf("step %3d: %.1f us, output rel_err %.2e\n", step, ms * 1e3, rel);
  }
  // The states the kernel left in place against the host's.
  CHECK_CUDA(cudaMemcpy(hostState.data(), state.ptr, stateElems * 4, cudaMemcpyDeviceToHost));
  double num = 0, den = 0;
  for (size_t i = 0; i < stateElems; ++i) {
    num += (hostState[i] - refState[i]) * (hostState[i] - refState[i]);
    den += refState[i] * refState[i];
  }
  const double stateRel = std::sqrt(num / den);
  // bf16 outputs; the state stays f32 from the bf16 inputs on.
  const bool ok = worst < 2e-2 && stateRel < 1e-4;
  std::printf("recurrent decode loop: %d steps, mean %.1f us a step (%.0f GB/s of state read and "
              "written), worst output rel_err %.2e, state rel_err %.2e: %s\n",
              steps, gpuMs * 1e3 / steps, 2.0 * stateElems * 4 / (gpuMs / steps * 1e-3) / 1e9, worst,
              stateRel, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
