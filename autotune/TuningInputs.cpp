//===- TuningInputs.cpp - The buffers a tuning run allocates --------------===//

#include "autotune/TuningInputs.h"

#include "autotune/OutputCompare.h"
#include "runtime/ArgBinder.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>

namespace flashgen {

InputDistribution inputDistribution(const KernelSpec &kernel,
                                    const ParamSpec &param) {
  InputDistribution d;
  switch (param.dtype) {
  case DType::I8:
  case DType::I32:
  case DType::I64:
    d.kind = InputDistribution::Kind::Zero;
    return d;
  case DType::U8:
    d.kind = InputDistribution::Kind::Bits01;
    return d;
  default:
    break;
  }
  // The gate operands of docs/semantics.md §3.1, drawn as the reference
  // library's standard inputs are (§6).
  // Names as codegen/BundleWriter.cpp writes them.
  if (kernel.op == "linear_attention") {
    if (param.name == "g")
      d.lo = -1.0, d.hi = -0.01;
    else if (param.name == "igate" || param.name == "i")
      d.lo = -4.0, d.hi = 4.0;
    else if (param.name == "fgate" || param.name == "f")
      d.lo = -2.0, d.hi = 6.0;
    else if (param.name == "m0") // initial stabiliser state
      d.lo = -2.0, d.hi = 2.0;
  }
  // The delta rule (§7): beta in [0, 1] and keys of about unit norm keep
  // every step's (I - beta k k^T) a contraction, with l2norm_qk or without;
  // log-decays as for the decay gate.
  if (kernel.op == "delta_rule") {
    if (param.name == "beta")
      d.lo = 0.0, d.hi = 1.0;
    else if (param.name == "g")
      d.lo = -1.0, d.hi = -0.01;
    else if (param.name == "k" && !param.shape.empty() &&
             param.shape.back().kind == DimSpec::Kind::Static &&
             param.shape.back().value > 0) {
      // Uniform on +-a has variance a^2 / 3: |k|^2 about 1 over Dk dims.
      double a = std::sqrt(3.0 / static_cast<double>(param.shape.back().value));
      d.lo = -a, d.hi = a;
    }
  }
  return d;
}

uint64_t TuningInputs::setBytes() const {
  uint64_t total = 0;
  for (const PlannedTensor &t : tensors)
    if (!t.absent)
      total += (t.bytes + 255) / 256 * 256;
  return total;
}

std::vector<TensorArg>
TuningInputs::args(const std::vector<void *> &data) const {
  std::vector<TensorArg> out(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const PlannedTensor &t = tensors[i];
    out[i].data = t.absent ? nullptr : data[i];
    out[i].dtype = t.dtype;
    out[i].rank = static_cast<int32_t>(t.sizes.size());
    out[i].sizes = t.sizes.data();
    out[i].strides = t.strides.data();
  }
  return out;
}

namespace {

Status invalid(std::string message) {
  return Status(StatusCode::InvalidArgument, std::move(message));
}

} // namespace

Status planInputs(const KernelSpec &kernel, std::vector<int64_t> symbols,
                  std::vector<ScalarArg> scalars, uint64_t absent,
                  TuningInputs &out) {
  out = TuningInputs();
  if (symbols.size() != kernel.symbols.size())
    return invalid("kernel " + kernel.name + " has " +
                   std::to_string(kernel.symbols.size()) + " symbols, got " +
                   std::to_string(symbols.size()) + " values");
  if (scalars.size() > kernel.scalars.size())
    return invalid("kernel " + kernel.name + " takes " +
                   std::to_string(kernel.scalars.size()) + " scalars, got " +
                   std::to_string(scalars.size()));
  scalars.resize(kernel.scalars.size(), ScalarArg::useDefault());

  // Slot values for derived dims: symbols, then integer scalars.
  int64_t slots[kMaxSlots] = {};
  for (size_t i = 0; i < symbols.size(); ++i)
    slots[i] = symbols[i];
  for (size_t i = 0; i < kernel.scalars.size(); ++i) {
    const ScalarSpec &s = kernel.scalars[i];
    if (!s.isInteger())
      continue;
    slots[kernel.scalarSlot(int(i))] =
        scalars[i].dtype != DType::None ? scalars[i].i : s.defaultInt;
  }

  for (size_t p = 0; p < kernel.params.size(); ++p) {
    const ParamSpec &param = kernel.params[p];
    PlannedTensor t;
    t.name = param.name;
    t.dtype = param.dtype;
    t.io = param.io;
    t.absent = param.optional && p < 64 && (absent & (uint64_t(1) << p));
    t.distribution = inputDistribution(kernel, param);
    const size_t rank = param.shape.size();
    t.sizes.resize(rank);
    for (size_t d = 0; d < rank; ++d) {
      const DimSpec &dim = param.shape[d];
      switch (dim.kind) {
      case DimSpec::Kind::Static:
        t.sizes[d] = dim.value;
        break;
      case DimSpec::Kind::Symbol:
        t.sizes[d] = slots[dim.slot];
        break;
      case DimSpec::Kind::Derived:
        if (ExprError e = dim.expr.evaluate(slots, t.sizes[d]);
            e != ExprError::None)
          return invalid(param.name + ": dim " + std::to_string(d) + " (" +
                         dim.text + "): " + exprErrorText(e));
        break;
      }
      if (t.sizes[d] < 0)
        return invalid(param.name + ": dim " + std::to_string(d) + " (" +
                       dim.text + ") is " + std::to_string(t.sizes[d]));
    }
    // Contiguous, with each row padded to stride_align elements (a kernel
    // reading rows with 16-byte vector loads requires it).
    t.strides.assign(rank, 1);
    for (size_t d = rank; d-- > 1;) {
      int64_t inner = t.sizes[d] * t.strides[d];
      if (d == rank - 1 && param.strideAlign > 1)
        inner = (inner + param.strideAlign - 1) / param.strideAlign *
                param.strideAlign;
      t.strides[d - 1] = std::max<int64_t>(inner, 1);
    }
    int64_t last = 0;
    bool empty = false;
    for (size_t d = 0; d < rank; ++d) {
      empty |= t.sizes[d] == 0;
      last += (t.sizes[d] - 1) * t.strides[d];
    }
    t.bytes = empty ? 0 : uint64_t(last + 1) * dtypeSize(param.dtype);
    out.tensors.push_back(std::move(t));
  }
  out.symbols = std::move(symbols);
  out.scalars = std::move(scalars);
  out.absent = absent;

  // Check as a launch would, with stand-in pointers that satisfy any
  // alignment: sizes, ranges, constraints and launch geometry are all known
  // now, and the launch's messages name what is wrong.
  std::vector<TensorArg> args = out.args(out.standInPointers());
  BoundArgs bound;
  return bindArguments(kernel, kernel.variants[0], args.data(), args.size(),
                       out.scalars.data(), out.scalars.size(), DeviceLimits(),
                       bound);
}

std::vector<void *> TuningInputs::standInPointers() const {
  // From 1 GiB up, each tensor 4 KiB-aligned after the one before.
  uintptr_t at = uintptr_t(1) << 30;
  std::vector<void *> out;
  for (const PlannedTensor &t : tensors) {
    out.push_back(reinterpret_cast<void *>(at));
    at += (t.bytes + 4095) / 4096 * 4096 + 4096;
  }
  return out;
}

Status planInputs(const KernelSpec &kernel, const TuneProblem &problem,
                  TuningInputs &out) {
  std::vector<int64_t> symbols(kernel.symbols.size(), 0);
  std::string missing;
  for (size_t i = 0; i < kernel.symbols.size(); ++i) {
    auto it = problem.sizes.find(kernel.symbols[i].name);
    if (it == problem.sizes.end())
      missing += (missing.empty() ? "" : ", ") + kernel.symbols[i].name;
    else
      symbols[i] = it->second;
  }
  if (!missing.empty())
    return invalid("kernel " + kernel.name + ": no size given for symbol " +
                   missing);
  for (const auto &s : problem.sizes) {
    bool known = false;
    for (const SymbolSpec &sym : kernel.symbols)
      known |= sym.name == s.first;
    if (!known) {
      std::string list;
      for (const SymbolSpec &sym : kernel.symbols)
        list += (list.empty() ? "" : ", ") + sym.name;
      return invalid("kernel " + kernel.name + " has no symbol " + s.first +
                     " (its symbols: " + list + ")");
    }
  }
  std::vector<ScalarArg> scalars(kernel.scalars.size(),
                                 ScalarArg::useDefault());
  for (const auto &s : problem.scalars) {
    size_t i = 0;
    while (i < kernel.scalars.size() && kernel.scalars[i].name != s.first)
      ++i;
    if (i == kernel.scalars.size())
      return invalid("kernel " + kernel.name + " has no scalar " + s.first);
    scalars[i] = s.second;
  }
  uint64_t absent = 0;
  for (const std::string &name : problem.omitOptional) {
    size_t p = 0;
    while (p < kernel.params.size() && kernel.params[p].name != name)
      ++p;
    if (p == kernel.params.size())
      return invalid("kernel " + kernel.name + " has no param " + name);
    if (!kernel.params[p].optional)
      return invalid("kernel " + kernel.name + ": param " + name +
                     " is not optional and cannot be omitted");
    absent |= uint64_t(1) << p;
  }
  return planInputs(kernel, std::move(symbols), std::move(scalars), absent,
                    out);
}

Status planInputs(const KernelSpec &kernel, const TensorArg *tensors,
                  size_t numTensors, const ScalarArg *scalars,
                  size_t numScalars, TuningInputs &out) {
  // Only sizes and omissions count here, never the data: the caller's
  // pointers (which may all be one placeholder) become disjoint stand-ins.
  std::vector<TensorArg> sized(tensors, tensors + (tensors ? numTensors : 0));
  for (size_t i = 0; i < sized.size(); ++i)
    if (sized[i].data)
      sized[i].data = reinterpret_cast<void *>(uintptr_t(i + 1) << 44);
  BoundArgs bound;
  if (Status st = bindArguments(kernel, kernel.variants[0],
                                tensors ? sized.data() : nullptr, numTensors,
                                scalars, numScalars, DeviceLimits(), bound);
      !st)
    return st;
  std::vector<int64_t> symbols(bound.slots,
                               bound.slots + kernel.symbols.size());
  uint64_t absent = 0;
  for (size_t p = 0; p < numTensors && p < kernel.params.size(); ++p)
    if (kernel.params[p].optional && !tensors[p].data)
      absent |= uint64_t(1) << p;
  std::vector<ScalarArg> s(scalars, scalars + (scalars ? numScalars : 0));
  return planInputs(kernel, std::move(symbols), std::move(s), absent, out);
}

namespace {

/// splitmix64, as reference/Random.h draws (docs/semantics.md §6).
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }
};

} // namespace

namespace {

/// Fills elements [begin, end) of `out`.
void fillRange(DType dtype, const InputDistribution &distribution, size_t begin,
               size_t end, SplitMix64 rng, uint8_t *out) {
  const size_t elem = dtypeSize(dtype);
  uint8_t *p = out + begin * elem;
  for (size_t i = begin; i < end; ++i, p += elem) {
    if (distribution.kind == InputDistribution::Kind::Bits01) {
      const uint64_t bit = rng.next() >> 63;
      std::memcpy(p, &bit, 1); // little-endian low byte; u8 only
      continue;
    }
    const double v =
        distribution.lo + (distribution.hi - distribution.lo) * rng.uniform();
    switch (dtype) {
    case DType::BF16: {
      uint16_t b = floatToBf16(static_cast<float>(v));
      std::memcpy(p, &b, 2);
      break;
    }
    case DType::F16: {
      uint16_t h = floatToHalf(static_cast<float>(v));
      std::memcpy(p, &h, 2);
      break;
    }
    case DType::F32: {
      float f = static_cast<float>(v);
      std::memcpy(p, &f, 4);
      break;
    }
    case DType::F64:
      std::memcpy(p, &v, 8);
      break;
    default:
      break; // integer dtypes are Zero or Bits01
    }
  }
}

} // namespace

void fillRandom(DType dtype, const InputDistribution &distribution,
                size_t count, uint64_t seed, std::vector<uint8_t> &out) {
  out.assign(count * dtypeSize(dtype), 0);
  if (distribution.kind == InputDistribution::Kind::Zero)
    return;
  // Fixed chunks with their own streams: the bytes do not depend on how
  // many threads fill them. Threads matter for the large inputs of linear
  // recurrences (hundreds of millions of elements per tensor).
  constexpr size_t kChunk = size_t(1) << 20;
  const size_t chunks = (count + kChunk - 1) / kChunk;
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t c; (c = next.fetch_add(1)) < chunks;)
      fillRange(dtype, distribution, c * kChunk,
                std::min(count, (c + 1) * kChunk),
                SplitMix64{seed ^ (c * 0xd1b54a32d192ed03ull)}, out.data());
  };
  const size_t threads = std::min<size_t>(
      chunks, std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  try {
    for (size_t t = 1; t < threads; ++t)
      pool.emplace_back(work);
  } catch (...) {
    // Fewer threads: the rest of the chunks fall to the ones running.
  }
  work();
  for (std::thread &t : pool)
    t.join();
}

int chooseInputSets(uint64_t setBytes, uint64_t l2Bytes, uint64_t freeBytes,
                    int maxSets) {
  if (setBytes == 0)
    return 1;
  // Leave room for the workspace, the runtime and whatever else shares the
  // device.
  const uint64_t budget = freeBytes / 2;
  if (setBytes > budget)
    return setBytes <= freeBytes - freeBytes / 10 ? 1 : 0;
  // Between two uses of one set the others are touched; they should flush
  // it from L2 with room to spare.
  uint64_t wanted = 1 + (2 * l2Bytes + setBytes - 1) / setBytes;
  wanted = std::max<uint64_t>(wanted, 2);
  wanted = std::min<uint64_t>(wanted, uint64_t(std::max(maxSets, 1)));
  wanted = std::min<uint64_t>(wanted, budget / setBytes);
  return static_cast<int>(std::max<uint64_t>(wanted, 1));
}

} // namespace flashgen
