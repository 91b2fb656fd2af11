//===- ShapeBucket.cpp - Shape classes that share a tuning result ---------===//

#include "autotune/ShapeBucket.h"

#include <algorithm>

namespace flashgen {

int64_t roundUpToPowerOfTwo(int64_t value) {
  if (value <= 0)
    return 0;
  int64_t p = 1;
  // Symbols fit in int32 (the runtime checks), so this cannot overflow for
  // any size that passes validation; stop at 2^62 for the rest.
  while (p < value && p < (int64_t(1) << 62))
    p <<= 1;
  return p;
}

bool BucketCode::operator==(const BucketCode &other) const {
  if (hash != other.hash || numSymbols != other.numSymbols ||
      absent != other.absent)
    return false;
  for (int i = 0; i < numSymbols; ++i)
    if (log2[i] != other.log2[i])
      return false;
  return true;
}

namespace {

/// Folds one symbol's code into a bucket hash (any mixing will do: equality
/// is decided by the full compare).
uint64_t mix(uint64_t hash, uint8_t code) {
  return (hash ^ code) * 0x100000001b3ull;
}

/// ceil(log2(value)) for value >= 1 (the exponent of roundUpToPowerOfTwo):
/// one instruction, since it runs on every launch while autotuning.
uint8_t log2Code(int64_t value) {
  if (value <= 0)
    return 0xff;
  if (value == 1)
    return 0;
  return static_cast<uint8_t>(64 - __builtin_clzll(uint64_t(value - 1)));
}

} // namespace

BucketCode bucketOf(const std::vector<int64_t> &symbols, uint64_t absent) {
  BucketCode code;
  code.numSymbols =
      static_cast<int>(std::min<size_t>(symbols.size(), size_t(kMaxSlots)));
  uint64_t hash = 0xcbf29ce484222325ull;
  for (int i = 0; i < code.numSymbols; ++i)
    hash = mix(hash, code.log2[i] = log2Code(symbols[i]));
  code.absent = absent;
  code.hash = hash ^ absent;
  return code;
}

std::string bucketLabel(const KernelSpec &kernel, const BucketCode &code) {
  std::string out;
  for (int i = 0; i < code.numSymbols && i < int(kernel.symbols.size()); ++i) {
    out += (out.empty() ? "" : ",") + kernel.symbols[i].name + "=";
    out +=
        code.log2[i] == 0xff ? "0" : std::to_string(int64_t(1) << code.log2[i]);
  }
  for (size_t p = 0; p < kernel.params.size() && p < 64; ++p)
    if (code.absent & (uint64_t(1) << p))
      out += (out.empty() ? "-" : ",-") + kernel.params[p].name;
  return out;
}

std::string sizesLabel(const KernelSpec &kernel,
                       const std::vector<int64_t> &symbols) {
  std::string out;
  for (size_t i = 0; i < symbols.size() && i < kernel.symbols.size(); ++i)
    out += (out.empty() ? "" : ",") + kernel.symbols[i].name + "=" +
           std::to_string(symbols[i]);
  return out;
}

SymbolSites SymbolSites::of(const KernelSpec &kernel) {
  SymbolSites s;
  s.sites.resize(kernel.symbols.size());
  for (size_t p = 0; p < kernel.params.size(); ++p) {
    const ParamSpec &param = kernel.params[p];
    if (param.optional) {
      s.optionalParams.push_back(static_cast<int>(p));
      continue;
    }
    for (size_t d = 0; d < param.shape.size(); ++d) {
      const DimSpec &dim = param.shape[d];
      if (dim.kind != DimSpec::Kind::Symbol || dim.slot < 0 ||
          dim.slot >= int(s.sites.size()) || s.sites[dim.slot].param >= 0)
        continue;
      s.sites[dim.slot] = {static_cast<int>(p), static_cast<int>(d)};
    }
  }
  return s;
}

bool SymbolSites::codeOf(const TensorArg *tensors, size_t numTensors,
                         BucketCode &out) const {
  out.numSymbols = static_cast<int>(sites.size());
  out.absent = 0;
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < sites.size(); ++i) {
    const Site &site = sites[i];
    if (site.param < 0 || size_t(site.param) >= numTensors || !tensors)
      return false;
    const TensorArg &t = tensors[site.param];
    if (!t.sizes || site.dim >= t.rank)
      return false;
    hash = mix(hash, out.log2[i] = log2Code(t.sizes[site.dim]));
  }
  for (int p : optionalParams)
    if (size_t(p) < numTensors && !tensors[p].data && p < 64)
      out.absent |= uint64_t(1) << p;
  out.hash = hash ^ out.absent;
  return true;
}

int BucketTable::find(const BucketCode &code) const {
  const int n = size_.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i)
    if (entries_[i].code == code)
      return entries_[i].variant.load(std::memory_order_acquire);
  return -1;
}

bool BucketTable::record(const BucketCode &code, int variant) {
  const int n = size_.load(std::memory_order_relaxed);
  for (int i = 0; i < n; ++i)
    if (entries_[i].code == code) {
      entries_[i].variant.store(variant, std::memory_order_release);
      return true;
    }
  if (n == kCapacity)
    return false;
  // Fill the entry first; the release store of the count publishes it.
  entries_[n].code = code;
  entries_[n].variant.store(variant, std::memory_order_relaxed);
  size_.store(n + 1, std::memory_order_release);
  return true;
}

} // namespace flashgen
