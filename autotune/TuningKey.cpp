//===- TuningKey.cpp - What a tuning result depends on --------------------===//

#include "autotune/TuningKey.h"

#include "runtime/CudaDriver.h"
#include "runtime/DeviceImpl.h"
#include "runtime/Env.h"
#include "runtime/NvrtcCompiler.h"
#include "runtime/Sha256.h"

namespace flashgen {

std::string DeviceIdentity::describe() const {
  std::string out = name + " (" + arch + ", CC " + std::to_string(ccMajor) +
                    "." + std::to_string(ccMinor) + ", driver " +
                    std::to_string(driverVersion / 1000) + "." +
                    std::to_string((driverVersion % 1000) / 10) + ")";
  return out;
}

Status deviceIdentityOf(const Device &device, DeviceIdentity &out) {
  const Device::Impl &dev = device.impl();
  out = DeviceIdentity();
  out.name = dev.name;
  out.arch = dev.arch;
  out.ccMajor = dev.major;
  out.ccMinor = dev.minor;
  CUresult r = dev.driver->driverGetVersion(&out.driverVersion);
  if (r != CUDA_SUCCESS)
    return dev.driver->error("cuDriverGetVersion", r);
  out.nvrtcVersion = nvrtcVersionString();
  out.flashgenVersion = runtimeVersion();
  return Status::success();
}

namespace {

void hashExprText(Sha256 &h, const Expr &e) { h.updateField(e.text()); }

} // namespace

std::string kernelIdentityHash(const BundleData &bundle,
                               const KernelSpec &kernel) {
  Sha256 h;
  // Length-prefixed fields (updateField): no two descriptions can run into
  // the same byte stream.
  h.updateField("flashgen-tuning-identity-v1");
  h.updateField(bundle.manifest.flashgenVersion);
  h.updateField(bundle.manifest.target);
  h.updateField(kernel.name);
  h.updateField(kernel.op);
  h.updateField(std::to_string(kernel.symbols.size()));
  for (const SymbolSpec &s : kernel.symbols) {
    h.updateField(s.name);
    h.updateField(std::to_string(s.min) + ":" + std::to_string(s.max));
  }
  h.updateField(std::to_string(kernel.scalars.size()));
  for (const ScalarSpec &s : kernel.scalars) {
    h.updateField(s.name);
    h.updateField(dtypeName(s.dtype));
  }
  h.updateField(std::to_string(kernel.params.size()));
  for (const ParamSpec &p : kernel.params) {
    h.updateField(p.name);
    h.updateField(std::to_string(int(p.io)) + ":" + dtypeName(p.dtype) + ":" +
                  (p.optional ? "opt" : "req") + ":" +
                  std::to_string(p.pointerAlign) + ":" +
                  std::to_string(p.strideAlign));
    h.updateField(std::to_string(p.shape.size()));
    for (const DimSpec &d : p.shape)
      h.updateField(d.text);
  }
  h.updateField(std::to_string(kernel.constraints.size()));
  for (const Constraint &c : kernel.constraints)
    h.updateField(c.text);
  h.updateField(std::to_string(kernel.variants.size()));
  for (const VariantSpec &v : kernel.variants) {
    h.updateField(v.schedule.dump());
    h.updateField(std::to_string(v.sources.size()));
    for (const std::string &src : v.sources) {
      h.updateField(src);
      h.updateField(Sha256::hex(bundle.files.at(src)));
    }
    h.updateField(std::to_string(v.headers.size()));
    for (const std::string &hdr : v.headers) {
      h.updateField(hdr);
      h.updateField(Sha256::hex(bundle.files.at(hdr)));
    }
    h.updateField(std::to_string(v.nvrtcOptions.size()));
    for (const std::string &o : v.nvrtcOptions)
      h.updateField(o);
    h.updateField(std::to_string(v.scratch.size()));
    for (const ScratchSpec &s : v.scratch) {
      h.updateField(s.name + ":" + dtypeName(s.dtype) +
                    (s.zeroInit ? ":zero" : ":raw"));
      for (const Expr &e : s.shape)
        hashExprText(h, e);
    }
    h.updateField(std::to_string(v.launches.size()));
    for (const LaunchSpec &l : v.launches) {
      h.updateField(l.entry);
      for (const Expr &g : l.grid)
        hashExprText(h, g);
      h.updateField(std::to_string(l.block[0]) + "," +
                    std::to_string(l.block[1]) + "," +
                    std::to_string(l.block[2]));
      hashExprText(h, l.dynamicSmemBytes);
      h.updateField(l.hasCluster ? std::to_string(l.cluster[0]) + "," +
                                       std::to_string(l.cluster[1]) + "," +
                                       std::to_string(l.cluster[2])
                                 : "");
      h.updateField(std::to_string(l.args.size()));
      for (const ArgSpec &a : l.args) {
        h.updateField(
            std::to_string(int(a.kind)) + ":" + std::to_string(a.index) + ":" +
            std::to_string(a.intValue) + ":" + std::to_string(a.floatValue));
        hashExprText(h, a.expr);
      }
    }
  }
  h.updateField(env::cacheInvalidatingFingerprint());
  return h.finishHex();
}

std::string tuningFileKey(const std::string &kernelIdentity,
                          const DeviceIdentity &device) {
  Sha256 h;
  h.updateField("flashgen-tuning-key-v1");
  h.updateField(kernelIdentity);
  h.updateField(device.name);
  h.updateField(std::to_string(device.ccMajor) + "." +
                std::to_string(device.ccMinor));
  h.updateField(std::to_string(device.driverVersion));
  h.updateField(device.nvrtcVersion);
  h.updateField(device.flashgenVersion);
  return h.finishHex();
}

} // namespace flashgen
