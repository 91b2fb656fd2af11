//===- flashgen-run.cpp - Run a bundle kernel on reference data, check, time ===//
//
// flashgen-run BUNDLE KERNEL --reference DIR [--variant N|all] [--iters N]
//              [--warmup N] [--layout contiguous|bnhd|padded]
// flashgen-run --help | --version
//
// Binds every param of KERNEL to the data flashgen-ref wrote in DIR
// (meta.json + .npy): inputs from their files, outputs poisoned with NaN
// bytes, an optional param the reference lacks passed as null. Checks the
// arguments the way a launch does (Kernel::validate), then, on GPU 0,
// launches each chosen variant, compares every output with the reference
// (relative L2 error within the per-dtype tolerance, no NaN, infinities
// exact: runtime/tools/ReferenceCheck.h, the GPU tests' check), and times
// it (CUDA events, warm-up, median of --iters launches): milliseconds and,
// where the manifest gives the kernel's "flops", TFLOP/s.
//
// Without a GPU (no driver or no device) it says so after checking the
// arguments and exits 0, so that scripts run it everywhere. Exit status:
// 0 every output within tolerance (or no GPU), 1 a mismatch or a failure
// of the kernel on the GPU (compile, launch), 2 a usage, file, bundle or
// argument error.
//
//===----------------------------------------------------------------------===//

#include "flashgen/runtime.h"
#include "reference/Npy.h"
#include "runtime/DeviceImpl.h"
#include "runtime/KernelImpl.h"
#include "runtime/tools/ReferenceCheck.h"
#include "runtime/tools/ToolVersion.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

using namespace flashgen;
using namespace flashgen::refcheck;

namespace {

void usage(FILE *out) {
  std::fprintf(
      out,
      "usage: flashgen-run BUNDLE KERNEL --reference DIR [--variant N|all]\n"
      "                    [--iters N] [--warmup N] [--layout LAYOUT]\n"
      "       flashgen-run --help | --version\n"
      "  Runs KERNEL of BUNDLE on GPU 0 with the inputs flashgen-ref wrote in "
      "DIR,\n"
      "  checks every output against DIR's expected values (relative L2 "
      "error;\n"
      "  bf16 1e-2, f32 2e-3; NaN fails) and prints the median time and "
      "TFLOP/s.\n"
      "  --reference DIR  a flashgen-ref output folder (meta.json + .npy)\n"
      "  --variant N|all  the variant(s) to run (default 0, the scheduler's "
      "choice)\n"
      "  --iters N        timed launches per variant (default 20; 0: check "
      "only)\n"
      "  --warmup N       untimed launches first (default 3)\n"
      "  --layout LAYOUT  contiguous (default), bnhd (heads inner) or padded\n"
      "  Without a GPU it checks the arguments, says so and exits 0.\n"
      "Exit status: 0 all outputs within tolerance (or no GPU), 1 a mismatch "
      "or a\n"
      "kernel failure on the GPU, 2 a usage, file, bundle or argument "
      "error.\n");
}

int usageError(const std::string &message) {
  std::fprintf(stderr, "flashgen-run: %s\n", message.c_str());
  usage(stderr);
  return 2;
}

int error(const std::string &message) {
  std::fprintf(stderr, "flashgen-run: %s\n", message.c_str());
  return 2;
}

bool parseCount(const std::string &text, int &out) {
  if (text.empty() || text.size() > 9 ||
      text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::atoi(text.c_str());
  return true;
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

/// The kernel's symbols (and integer scalars at their defaults) as the
/// reference's shapes bind them; the slots the manifest's expressions read.
/// Names what it bound in `text`.
std::vector<int64_t> bindSlots(const KernelSpec &spec,
                               const std::vector<Operand> &operands,
                               std::string &text) {
  std::vector<int64_t> slots(size_t(spec.numSlots()), 0);
  std::vector<bool> bound(spec.symbols.size(), false);
  for (size_t p = 0; p < spec.params.size() && p < operands.size(); ++p) {
    const std::vector<int64_t> &sizes = operands[p].layout.sizes;
    if (!operands[p].file || sizes.size() != spec.params[p].shape.size())
      continue;
    for (size_t d = 0; d < sizes.size(); ++d) {
      const DimSpec &dim = spec.params[p].shape[d];
      if (dim.kind == DimSpec::Kind::Symbol && !bound[size_t(dim.slot)]) {
        slots[size_t(dim.slot)] = sizes[d];
        bound[size_t(dim.slot)] = true;
      }
    }
  }
  for (size_t s = 0; s < spec.symbols.size(); ++s)
    text += (s ? " " : "") + spec.symbols[s].name + "=" +
            std::to_string(slots[s]);
  for (size_t i = 0; i < spec.scalars.size(); ++i)
    if (spec.scalars[i].isInteger() && spec.scalars[i].hasDefault)
      slots[size_t(spec.scalarSlot(int(i)))] = spec.scalars[i].defaultInt;
  return slots;
}

/// Device memory through the driver the runtime loaded (no CUDA runtime
/// library: like the runtime, the tool starts where there is no driver).
class DeviceMemory {
public:
  explicit DeviceMemory(const Device::Impl &dev) : dev_(dev) {}
  ~DeviceMemory() {
    ContextScope scope(dev_);
    for (CUdeviceptr p : allocations_)
      dev_.driver->memFree(p);
  }
  Status allocate(size_t bytes, CUdeviceptr &out) {
    ContextScope scope(dev_);
    if (!scope.status())
      return scope.status();
    CUresult r = dev_.driver->memAlloc(&out, std::max<size_t>(bytes, 256));
    if (r != CUDA_SUCCESS)
      return dev_.driver->error("cuMemAlloc", r);
    allocations_.push_back(out);
    return Status::success();
  }

private:
  const Device::Impl &dev_;
  std::vector<CUdeviceptr> allocations_;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

} // namespace

int main(int argc, char **argv) {
  std::string bundlePath, kernelName, referenceDir, layoutArg = "contiguous";
  std::string variantArg = "0";
  int iters = 20, warmup = 3;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    }
    if (a == "--version") {
      std::printf("%s\n", toolVersion("flashgen-run").c_str());
      return 0;
    }
    // --opt VALUE and --opt=VALUE.
    auto value = [&](const char *name, std::string &out) {
      std::string flag = name;
      if (a == flag && i + 1 < argc) {
        out = argv[++i];
        return true;
      }
      if (a.compare(0, flag.size() + 1, flag + "=") == 0) {
        out = a.substr(flag.size() + 1);
        return true;
      }
      return false;
    };
    std::string v;
    if (value("--reference", referenceDir) || value("--variant", variantArg) ||
        value("--layout", layoutArg)) {
      continue;
    } else if (value("--iters", v)) {
      if (!parseCount(v, iters))
        return usageError("--iters takes a count, not '" + v + "'");
    } else if (value("--warmup", v)) {
      if (!parseCount(v, warmup))
        return usageError("--warmup takes a count, not '" + v + "'");
    } else if (!a.empty() && a[0] != '-' && positional.size() < 2) {
      positional.push_back(a);
    } else {
      return usageError("unexpected argument '" + a + "'");
    }
  }
  if (positional.size() != 2)
    return usageError("expected BUNDLE and KERNEL");
  if (referenceDir.empty())
    return usageError("--reference DIR is required (a flashgen-ref output "
                      "folder: flashgen-ref SPEC --dim ... -o DIR writes "
                      "DIR/<kernel>/)");
  bundlePath = positional[0];
  kernelName = positional[1];
  Layout layout = Layout::Contiguous;
  bool layoutKnown = false;
  for (Layout l : kAllLayouts)
    if (layoutArg == layoutName(l)) {
      layout = l;
      layoutKnown = true;
    }
  if (!layoutKnown)
    return usageError("--layout takes contiguous, bnhd or padded, not '" +
                      layoutArg + "'");

  // Everything that needs no GPU: the bundle, the kernel, the reference
  // data, and the arguments as a launch would check them.
  std::shared_ptr<Bundle> bundle;
  if (Status st = Bundle::load(bundlePath, bundle); !st)
    return error(st.toString());
  std::unique_ptr<Kernel> kernel;
  if (Status st = bundle->getKernel(kernelName, nullptr, kernel); !st) {
    std::string names;
    for (const std::string &n : bundle->kernelNames())
      names += (names.empty() ? "" : ", ") + n;
    return error(st.toString() + " (the bundle's kernels: " + names + ")");
  }
  const KernelSpec &spec = *kernel->impl().spec;
  int firstVariant = 0, lastVariant = 0;
  if (variantArg == "all") {
    lastVariant = kernel->numVariants() - 1;
  } else if (!parseCount(variantArg, firstVariant) ||
             firstVariant >= kernel->numVariants()) {
    return usageError("--variant takes all or an index below " +
                      std::to_string(kernel->numVariants()) + ", not '" +
                      variantArg + "'");
  } else {
    lastVariant = firstVariant;
  }

  std::vector<TensorFile> tensors;
  std::vector<ScalarValue> scalarValues;
  try {
    tensors = readReferenceMeta(referenceDir);
    scalarValues = readReferenceScalars(referenceDir);
  } catch (const std::exception &e) {
    return error(std::string(e.what()) +
                 " (--reference takes the folder holding meta.json)");
  }
  std::vector<Kernel::ParamInfo> params = kernel->params();
  std::vector<Operand> operands;
  std::string why;
  if (!planOperands(tensors, params, layout, operands, why))
    return error(referenceDir + ": " + why);
  std::vector<ScalarArg> scalars;
  if (!planScalars(scalarValues, kernel->scalars(), scalars, why))
    return error(referenceDir + ": " + why);

  std::printf("flashgen-run: kernel %s (%s) of %s, %d variant(s); reference "
              "%s, layout %s\n",
              kernelName.c_str(), spec.op.c_str(), bundle->path().c_str(),
              kernel->numVariants(), referenceDir.c_str(), layoutArg.c_str());
  for (size_t p = 0; p < params.size(); ++p) {
    const char *io = params[p].io == Kernel::ParamInfo::Io::In    ? "in"
                     : params[p].io == Kernel::ParamInfo::Io::Out ? "out"
                                                                  : "inout";
    if (operands[p].file)
      std::printf("  %-6s %-5s %-4s %-24s %s\n", params[p].name.c_str(), io,
                  operands[p].file->dtype.c_str(),
                  shapeText(operands[p].file->shape).c_str(),
                  operands[p].output ? "expected values: poisoned with NaN, "
                                       "then compared"
                                     : operands[p].file->file.c_str());
    else
      std::printf("  %-6s %-5s %-4s %-24s not in the reference: passed as "
                  "null (optional)\n",
                  params[p].name.c_str(), io, dtypeName(params[p].dtype), "-");
  }
  std::string sizesText;
  std::vector<int64_t> slots = bindSlots(spec, operands, sizesText);
  double flops = 0;
  if (spec.hasFlops) {
    int64_t value = 0;
    if (ExprError e = spec.flops.evaluate(slots.data(), value);
        e != ExprError::None)
      std::printf("  sizes %s; flops \"%s\" cannot be evaluated: %s\n",
                  sizesText.c_str(), spec.flops.text().c_str(),
                  exprErrorText(e));
    else
      flops = double(value);
  }
  if (flops > 0)
    std::printf("  sizes %s; %.4g FLOP per launch (manifest: %s)\n",
                sizesText.c_str(), flops, spec.flops.text().c_str());
  else if (!spec.hasFlops)
    std::printf("  sizes %s; the manifest gives no flop count: time only\n",
                sizesText.c_str());

  for (int variant = firstVariant; variant <= lastVariant; ++variant) {
    if (Status st = kernel->selectVariant(variant); !st)
      return error(st.toString());
    std::vector<TensorArg> fake = fakeArgs(operands);
    if (Status st = kernel->validate(fake.data(), fake.size(), scalars.data(),
                                      scalars.size()); !st)
      return error("variant " + std::to_string(variant) +
                   " refuses the reference's tensors: " + st.toString());
  }
  std::printf("flashgen-run: arguments checked for variant(s) %d..%d\n",
              firstVariant, lastVariant);

  std::shared_ptr<Device> device;
  if (Status st = Device::open(0, device); !st) {
    if (st.code() == StatusCode::NoDriver || st.code() == StatusCode::NoDevice) {
      std::printf("flashgen-run: no GPU (%s): nothing launched, nothing "
                  "timed\n",
                  st.toString().c_str());
      return 0;
    }
    return error(st.toString());
  }
  std::printf("flashgen-run: GPU 0: %s (%s, %d SMs)\n", device->name().c_str(),
              device->arch().c_str(), device->multiprocessorCount());
  const Device::Impl &dev = device->impl();
  const CudaDriver &d = *dev.driver;

  if (Status st = bundle->getKernel(kernelName, device, kernel); !st) {
    std::fprintf(stderr, "flashgen-run: %s\n", st.toString().c_str());
    return st.code() == StatusCode::UnsupportedArch ? 2 : 1;
  }

  // Buffers in param order; inputs hold the reference at the layout's
  // places and NaN in its gaps.
  DeviceMemory memory(dev);
  std::vector<CUdeviceptr> buffers(params.size(), 0);
  std::vector<TensorArg> args(params.size());
  std::vector<std::vector<double>> expected(params.size());
  try {
    for (size_t p = 0; p < params.size(); ++p) {
      const Operand &op = operands[p];
      if (!op.file) {
        args[p] = op.arg(nullptr);
        continue;
      }
      if (Status st = memory.allocate(op.bufferBytes(), buffers[p]); !st)
        return error(st.toString());
      const std::string path = referenceDir + "/" + op.file->file;
      if (op.output) {
        expected[p] = reference::readNpyAsDouble(path).values();
      } else {
        reference::NpyArray array = reference::readNpy(path);
        size_t logical = op.elementBytes;
        for (int64_t size : op.layout.sizes)
          logical *= size_t(size);
        if (array.bytes.size() != logical)
          return error(path + " holds " + std::to_string(array.bytes.size()) +
                       " bytes; " + params[p].name + " " +
                       shapeText(op.file->shape) + " of " + op.file->dtype +
                       " needs " + std::to_string(logical));
        std::vector<uint8_t> host =
            scatter(op.layout, array.bytes, op.elementBytes, kPoison);
        ContextScope scope(dev);
        if (CUresult r = d.memcpyHtoD(buffers[p], host.data(), host.size());
            r != CUDA_SUCCESS)
          return error(d.error("cuMemcpyHtoD", r).toString());
      }
      args[p] = op.arg(reinterpret_cast<void *>(buffers[p]));
    }
  } catch (const std::exception &e) {
    return error(e.what());
  }

  int mismatches = 0;
  for (int variant = firstVariant; variant <= lastVariant; ++variant) {
    if (Status st = kernel->selectVariant(variant); !st) {
      std::printf("variant %d: FAILED: %s\n", variant, st.toString().c_str());
      ++mismatches;
      continue;
    }
    ContextScope scope(dev);
    for (size_t p = 0; p < params.size(); ++p)
      if (operands[p].file && operands[p].output)
        d.memsetD8Async(buffers[p], kPoison, operands[p].bufferBytes(), nullptr);
    Status st = kernel->launch(args, scalars, LaunchOptions{});
    CUresult r = st ? d.ctxSynchronize() : CUDA_SUCCESS;
    if (!st || r != CUDA_SUCCESS) {
      std::printf("variant %d: FAILED: %s\n", variant,
                  (!st ? st : d.error("cuCtxSynchronize", r)).toString().c_str());
      ++mismatches;
      if (r != CUDA_SUCCESS)
        break; // the context is lost after a fault
      continue;
    }
    bool ok = true;
    for (size_t p = 0; p < params.size(); ++p) {
      const Operand &op = operands[p];
      if (!op.file || !op.output)
        continue;
      std::vector<uint8_t> buffer(op.bufferBytes());
      if (CUresult rr = d.memcpyDtoH(buffer.data(), buffers[p], buffer.size());
          rr != CUDA_SUCCESS)
        return error(d.error("cuMemcpyDtoH", rr).toString());
      std::vector<double> got =
          asDoubles(gather(op.layout, buffer, op.elementBytes), op.dtype);
      Comparison c = compare(got, expected[p], toleranceFor(*op.file));
      GapCheck gaps = checkGaps(op.layout, buffer, op.elementBytes, kPoison);
      bool passed = c.passed() && gaps.clobbered == 0;
      std::string gapText =
          gaps.clobbered ? " gap_writes " + std::to_string(gaps.clobbered) : "";
      std::printf("variant %d: output %s: %s%s: %s\n", variant,
                  params[p].name.c_str(), c.summary().c_str(), gapText.c_str(),
                  passed ? "ok" : "MISMATCH");
      ok &= passed;
    }
    mismatches += ok ? 0 : 1;

    if (iters == 0)
      continue;
    // Every launch between its own pair of events, all queued before the
    // first wait, so that the host's launch overhead hides behind the GPU.
    std::vector<CUevent> starts(size_t(warmup + iters)), ends(starts.size());
    bool events = true;
    for (size_t i = 0; i < starts.size(); ++i)
      events &= d.eventCreate(&starts[i], CU_EVENT_DEFAULT) == CUDA_SUCCESS &&
                d.eventCreate(&ends[i], CU_EVENT_DEFAULT) == CUDA_SUCCESS;
    for (size_t i = 0; i < starts.size() && st && events; ++i) {
      d.eventRecord(starts[i], nullptr);
      st = kernel->launch(args, scalars, LaunchOptions{});
      d.eventRecord(ends[i], nullptr);
    }
    std::vector<double> ms;
    if (st && events && d.ctxSynchronize() == CUDA_SUCCESS)
      for (size_t i = size_t(warmup); i < starts.size(); ++i) {
        float elapsed = 0;
        if (d.eventElapsedTime(&elapsed, starts[i], ends[i]) == CUDA_SUCCESS)
          ms.push_back(elapsed);
      }
    for (size_t i = 0; i < starts.size(); ++i) {
      if (starts[i])
        d.eventDestroy(starts[i]);
      if (ends[i])
        d.eventDestroy(ends[i]);
    }
    if (!st || ms.size() != size_t(iters)) {
      std::printf("variant %d: timing FAILED: %s\n", variant,
                  !st ? st.toString().c_str()
                      : "CUDA events failed (cuEventCreate/Record/ElapsedTime)");
      ++mismatches;
      continue;
    }
    double med = median(ms);
    std::printf("variant %d: time %.4f ms median of %d (min %.4f, %d warm-up)",
                variant, med, iters, *std::min_element(ms.begin(), ms.end()),
                warmup);
    if (flops > 0)
      std::printf("  %.1f TFLOP/s", flops / (med * 1e-3) / 1e12);
    std::printf("\n");
  }
  if (mismatches) {
    std::printf("flashgen-run: %d variant(s) FAILED\n", mismatches);
    return 1;
  }
  std::printf("flashgen-run: every output within tolerance\n");
  return 0;
}
