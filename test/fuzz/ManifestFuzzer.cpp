//===- ManifestFuzzer.cpp - fuzz target: manifest loader and launch checks ===//
//
// One input is a manifest, optionally followed by a line "--8<--" and the
// text every file the manifest lists gets (so the include scan sees it too).
// A bundle that loads has each kernel validated, without a device, against
// tensors whose sizes, strides and pointers come from a hash of the input:
// the checks of docs/bundle-format.md §3 must answer, never crash.
//
//===----------------------------------------------------------------------===//

#include "flashgen/runtime.h"
#include "runtime/Manifest.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

using namespace flashgen;

namespace {

/// A small deterministic stream of numbers from the input.
struct Numbers {
  uint64_t state;
  uint64_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
  /// Mostly small sizes, sometimes 0 and sometimes huge.
  int64_t size() {
    uint64_t r = next() % 16;
    if (r == 0)
      return 0;
    if (r == 1)
      return int64_t(next() >> 1);
    return int64_t(1 + next() % 300);
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string input(reinterpret_cast<const char *>(data), size);
  std::string manifest = input, fileText = "extern \"C\" __global__ void k() {}\n";
  const std::string cut = "\n--8<--\n";
  if (size_t at = input.find(cut); at != std::string::npos) {
    manifest = input.substr(0, at);
    fileText = input.substr(at + cut.size());
  }
  Manifest parsed;
  std::string error;
  if (!parseManifest(manifest, parsed, error))
    return 0;
  std::map<std::string, std::string> files;
  for (const KernelSpec &k : parsed.kernels)
    for (const VariantSpec &v : k.variants) {
      for (const std::string &f : v.sources)
        files[f] = fileText;
      for (const std::string &f : v.headers)
        files[f] = fileText;
    }
  std::shared_ptr<Bundle> bundle;
  if (!Bundle::fromMemory(manifest, files, "fuzz", bundle).ok())
    return 0;

  Numbers numbers{0x9e3779b97f4a7c15ull ^ size};
  for (unsigned char c : input)
    numbers.state = numbers.state * 131 + c + 1;
  for (const KernelSpec &k : parsed.kernels) {
    std::unique_ptr<Kernel> kernel;
    if (!bundle->getKernel(k.name, nullptr, kernel).ok())
      continue;
    for (int round = 0; round < 4; ++round) {
      // Sizes: the manifest's static dims, or numbers from the stream.
      std::vector<std::vector<int64_t>> sizes(k.params.size()),
          strides(k.params.size());
      std::vector<TensorArg> tensors(k.params.size());
      for (size_t i = 0; i < k.params.size(); ++i) {
        const ParamSpec &p = k.params[i];
        for (const DimSpec &d : p.shape)
          sizes[i].push_back(d.kind == DimSpec::Kind::Static && numbers.next() % 4
                                 ? d.value
                                 : numbers.size());
        int64_t stride = 1;
        strides[i].resize(p.shape.size());
        for (int d = int(p.shape.size()) - 1; d >= 0; --d) {
          strides[i][d] = numbers.next() % 8 ? stride : numbers.size();
          // Saturating: huge sizes make huge (not wrapped) strides.
          if (__builtin_mul_overflow(stride, sizes[i][d] > 0 ? sizes[i][d] : 1,
                                     &stride))
            stride = INT64_MAX;
        }
        uint64_t ptr = (uint64_t(i + 1) << 40) + (numbers.next() % 4) * 8;
        tensors[i].data = numbers.next() % 16 ? reinterpret_cast<void *>(ptr)
                                              : nullptr;
        tensors[i].dtype = numbers.next() % 16 ? p.dtype : DType::F32;
        tensors[i].rank = int(p.shape.size());
        tensors[i].sizes = sizes[i].data();
        tensors[i].strides = numbers.next() % 2 ? strides[i].data() : nullptr;
      }
      std::vector<ScalarArg> scalars(k.scalars.size(), ScalarArg::useDefault());
      (void)kernel->validate(tensors.data(), tensors.size(), scalars.data(),
                             scalars.size());
      size_t bytes = 0;
      (void)kernel->workspaceBytes(tensors.data(), tensors.size(),
                                   scalars.data(), scalars.size(), bytes);
    }
  }
  return 0;
}
