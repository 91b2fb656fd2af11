//===- Bundle.cpp - Loading bundles and compiling their variants ----------===//

#include "flashgen/runtime.h"

#include "runtime/BundleData.h"
#include "runtime/DiskCache.h"
#include "runtime/KernelImpl.h"
#include "runtime/ParamPacking.h"
#include "runtime/Sandbox.h"

#include <set>
#include <sys/stat.h>

namespace flashgen {

ModuleSource BundleData::moduleSource(const VariantSpec &variant,
                                      size_t sourceIndex) const {
  ModuleSource src;
  src.name = variant.sources[sourceIndex];
  src.label = path + "/" + src.name;
  src.text = &files.at(src.name);
  for (const std::string &h : variant.headers)
    src.headers.emplace_back(h, &files.at(h));
  src.manifestOptions = variant.nvrtcOptions;
  src.bundleFlashgenVersion = manifest.flashgenVersion;
  return src;
}

Status checkArchCompatible(const std::string &target,
                           const std::string &deviceArch) {
  int tMajor, tMinor, dMajor, dMinor;
  bool tSpecific, dSpecific;
  if (!parseArch(target, tMajor, tMinor, tSpecific) ||
      !parseArch(deviceArch, dMajor, dMinor, dSpecific))
    return Status(StatusCode::UnsupportedArch,
                  "cannot compare arch " + target + " with " + deviceArch);
  bool ok = tSpecific ? (tMajor == dMajor && tMinor == dMinor)
                      : (dMajor > tMajor || (dMajor == tMajor && dMinor >= tMinor));
  if (ok)
    return Status::success();
  return Status(StatusCode::UnsupportedArch,
                "the bundle targets " + target + ", which does not run on this " +
                    deviceArch + " device" +
                    (tSpecific ? " (arch-specific code runs only on exactly "
                                 "that compute capability)"
                               : " (it needs a newer GPU)") +
                    "; compile the spec for " + deviceArch);
}

int findEntryModule(const std::vector<CompiledModule> &modules,
                    const std::string &entry) {
  for (size_t m = 0; m < modules.size(); ++m)
    if (findCubinFunction(modules[m].functions, entry))
      return static_cast<int>(m);
  return -1;
}

bool launchParamLayout(const KernelSpec &kernel, const VariantSpec &variant,
                       const LaunchSpec &launch, const CubinFunction &entry,
                       ParamLayout &layout, std::string &error) {
  layout = layoutLaunchParams(kernel, variant, launch);
  return !entry.hasParamInfo ||
         checkLayoutAgainstCubin(layout, entry.params, launch.entry, error);
}

Status compileVariantModules(const BundleData &bundle, const KernelSpec &kernel,
                             int variantIndex, const std::string &arch,
                             CompileReport &report,
                             std::vector<CompiledModule> &modules) {
  const VariantSpec &variant = kernel.variants[variantIndex];
  report = CompileReport();
  report.kernel = kernel.name;
  report.variant = variantIndex;
  report.arch = arch;
  modules.clear();
  for (size_t s = 0; s < variant.sources.size(); ++s) {
    CompiledModule m;
    if (Status st = compileModule(bundle.moduleSource(variant, s), arch, m); !st)
      return st;
    report.modules.push_back(m.report);
    modules.push_back(std::move(m));
  }
  const std::string where = bundle.path + ": kernel " + kernel.name +
                            " variant " + std::to_string(variantIndex);
  for (size_t li = 0; li < variant.launches.size(); ++li) {
    const LaunchSpec &l = variant.launches[li];
    int m = findEntryModule(modules, l.entry);
    if (m < 0) {
      std::string list;
      for (const auto &s : variant.sources)
        list += (list.empty() ? "" : ", ") + s;
      return Status(StatusCode::NotFound,
                    where + " launch " + std::to_string(li) + ": entry " +
                        l.entry + " is not defined by " + list +
                        " (is it declared extern \"C\" __global__?)");
    }
    const CubinFunction &fn = *findCubinFunction(modules[m].functions, l.entry);
    ParamLayout layout;
    std::string err;
    if (!launchParamLayout(kernel, variant, l, fn, layout, err))
      return Status(StatusCode::BundleFormat,
                    where + " launch " + std::to_string(li) + ": " + err +
                        "; the manifest's args expect (" +
                        describeLayout(kernel, variant, l, layout) + ")");
    int64_t bounds =
        int64_t(fn.maxThreads[0]) * fn.maxThreads[1] * fn.maxThreads[2];
    int64_t block = int64_t(l.block[0]) * l.block[1] * l.block[2];
    if (bounds > 0 && block > bounds)
      return Status(StatusCode::OutOfResources,
                    where + " launch " + std::to_string(li) + ": block of " +
                        std::to_string(block) + " threads exceeds the " +
                        std::to_string(bounds) + " threads of " + l.entry +
                        "'s __launch_bounds__");
  }
  return Status::success();
}

Bundle::Bundle(std::shared_ptr<const BundleData> data) : data_(std::move(data)) {}
Bundle::~Bundle() = default;

const std::string &Bundle::path() const { return data_->path; }
const std::string &Bundle::target() const { return data_->manifest.target; }

std::vector<std::string> Bundle::kernelNames() const {
  std::vector<std::string> names;
  for (const KernelSpec &k : data_->manifest.kernels)
    names.push_back(k.name);
  return names;
}

namespace {

/// Reads every file the manifest names, from `lookup` (disk or memory).
template <class Lookup>
Status collectFiles(const std::string &label, const Manifest &m,
                    Lookup lookup, std::map<std::string, std::string> &files) {
  for (size_t ki = 0; ki < m.kernels.size(); ++ki) {
    const KernelSpec &k = m.kernels[ki];
    for (size_t vi = 0; vi < k.variants.size(); ++vi) {
      const VariantSpec &v = k.variants[vi];
      for (const auto *list : {&v.sources, &v.headers})
        for (size_t i = 0; i < list->size(); ++i) {
          const std::string &file = (*list)[i];
          if (files.count(file))
            continue;
          std::string text;
          if (!lookup(file, text))
            return Status(
                StatusCode::FileError,
                label + ": kernels[" + std::to_string(ki) + "].variants[" +
                    std::to_string(vi) +
                    (list == &v.sources ? "].sources[" : "].headers[") +
                    std::to_string(i) + "]: file " + file +
                    " is missing or unreadable (" + label + "/" + file + ")");
          files.emplace(file, std::move(text));
        }
    }
  }
  return Status::success();
}

/// Every #include of every file of a variant names one of the variant's
/// headers or an allowed toolkit header, and no `#include MACRO` uses a
/// macro the variant's files #define: so NVRTC reads nothing but what the
/// bundle lists (and the toolkit's own headers).
Status checkIncludes(const std::string &label, const Manifest &m,
                     const std::map<std::string, std::string> &files) {
  std::map<std::string, IncludeScan> scans;
  for (size_t ki = 0; ki < m.kernels.size(); ++ki) {
    const KernelSpec &k = m.kernels[ki];
    for (size_t vi = 0; vi < k.variants.size(); ++vi) {
      const VariantSpec &v = k.variants[vi];
      const std::string where = label + ": kernels[" + std::to_string(ki) +
                                "].variants[" + std::to_string(vi) + "]: ";
      std::set<std::string> listed(v.headers.begin(), v.headers.end());
      std::set<std::string> defined;
      std::vector<const std::string *> names;
      for (const auto *list : {&v.sources, &v.headers})
        for (const std::string &file : *list)
          names.push_back(&file);
      for (const std::string *file : names) {
        auto it = scans.find(*file);
        if (it == scans.end())
          it = scans.emplace(*file, scanIncludes(files.at(*file))).first;
        if (!it->second.error.empty())
          return Status(StatusCode::BundleFormat,
                        where + *file + ": " + it->second.error);
        defined.insert(it->second.defines.begin(), it->second.defines.end());
      }
      for (const std::string *file : names) {
        const IncludeScan &scan = scans.at(*file);
        for (const std::string &inc : scan.includes)
          if (!listed.count(inc) && !isAllowedToolkitInclude(inc))
            return Status(StatusCode::BundleFormat,
                          where + *file + " includes \"" + inc +
                              "\", which is not one of the variant's "
                              "headers (a bundle reads only the files it "
                              "lists)");
        for (const std::string &macro : scan.macroIncludes)
          if (defined.count(macro))
            return Status(StatusCode::BundleFormat,
                          where + *file + ": #include " + macro + " names a "
                              "macro the bundle defines (refused: the file "
                              "it names is not checked)");
      }
    }
  }
  return Status::success();
}

} // namespace

Status Bundle::load(const std::string &dir, std::shared_ptr<Bundle> &out) {
  out.reset();
  struct stat st;
  if (dir.empty() || ::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status(StatusCode::FileError,
                  "bundle directory " + (dir.empty() ? std::string("\"\"") : dir) +
                      " does not exist");
  std::string manifestText, err;
  if (!readBundleFile(dir, "manifest.json", manifestText, err))
    return Status(StatusCode::FileError,
                  "manifest.json is missing or unreadable: " + err);
  auto data = std::make_shared<BundleData>();
  data->path = dir;
  if (!parseManifest(manifestText, data->manifest, err))
    return Status(StatusCode::BundleFormat, dir + "/" + err);
  std::string why;
  Status s = collectFiles(
      dir, data->manifest,
      [&](const std::string &file, std::string &text) {
        return readBundleFile(dir, file, text, why);
      },
      data->files);
  if (!s)
    return Status(s.code(), s.message() + (why.empty() ? "" : ": " + why));
  if (Status st = checkIncludes(dir, data->manifest, data->files); !st)
    return st;
  out.reset(new Bundle(std::move(data)));
  return Status::success();
}

Status Bundle::fromMemory(const std::string &manifestJson,
                          const std::map<std::string, std::string> &files,
                          const std::string &label,
                          std::shared_ptr<Bundle> &out) {
  out.reset();
  auto data = std::make_shared<BundleData>();
  data->path = label;
  std::string err;
  if (!parseManifest(manifestJson, data->manifest, err))
    return Status(StatusCode::BundleFormat, label + "/" + err);
  Status s = collectFiles(
      label, data->manifest,
      [&](const std::string &file, std::string &text) {
        auto it = files.find(file);
        if (it == files.end())
          return false;
        text = it->second;
        return true;
      },
      data->files);
  if (!s)
    return s;
  if (Status st = checkIncludes(label, data->manifest, data->files); !st)
    return st;
  out.reset(new Bundle(std::move(data)));
  return Status::success();
}

Status Bundle::compileVariant(const std::string &kernel, int variant,
                              const std::string &arch,
                              CompileReport &out) const {
  const KernelSpec *k = data_->manifest.findKernel(kernel);
  if (!k)
    return Status(StatusCode::NotFound,
                  data_->path + " has no kernel named " + kernel);
  if (variant < 0 || variant >= static_cast<int>(k->variants.size()))
    return Status(StatusCode::NotFound,
                  "kernel " + kernel + " has " +
                      std::to_string(k->variants.size()) +
                      " variants; there is no variant " +
                      std::to_string(variant));
  int major, minor;
  bool specific;
  if (!parseArch(arch, major, minor, specific))
    return Status(StatusCode::InvalidArgument,
                  "arch: \"" + arch + "\" is not an arch like sm_80 or sm_90a");
  std::vector<CompiledModule> modules;
  return compileVariantModules(*data_, *k, variant, arch, out, modules);
}

Status Bundle::getKernel(const std::string &name,
                         std::shared_ptr<Device> device,
                         std::unique_ptr<Kernel> &out) const {
  out.reset();
  const KernelSpec *k = data_->manifest.findKernel(name);
  if (!k) {
    std::string list;
    for (const KernelSpec &other : data_->manifest.kernels)
      list += (list.empty() ? "" : ", ") + other.name;
    return Status(StatusCode::NotFound, data_->path + " has no kernel named " +
                                            name + " (it has: " + list + ")");
  }
  auto impl = std::make_unique<KernelImpl>();
  impl->bundle = data_;
  impl->spec = k;
  impl->device = std::move(device);
  impl->variants.resize(k->variants.size());
  if (Status st = impl->prepareVariant(0); !st)
    return st;
  impl->current = 0;
  out.reset(new Kernel(std::move(impl)));
  // A registered factory (the autotuner's, which reads FLASHGEN_AUTOTUNE
  // here, once per kernel object) may give the kernel a chooser.
  if (VariantChooserFactory factory = variantChooserFactory())
    out->setVariantChooser(factory(*out));
  return Status::success();
}

} // namespace flashgen
