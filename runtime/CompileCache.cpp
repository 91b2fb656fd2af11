//===- CompileCache.cpp - NVRTC compiles through the disk cache -----------===//

#include "runtime/CompileCache.h"

#include "runtime/DiskCache.h"
#include "runtime/Env.h"
#include "runtime/Log.h"
#include "runtime/NvrtcCompiler.h"
#include "runtime/Sha256.h"

#include <cstdio>
#include <ctime>

namespace flashgen {

std::string moduleCacheKey(const ModuleSource &source, const std::string &arch,
                           const std::vector<std::string> &options) {
  Sha256 h;
  // Every field is length-prefixed (updateField), so no two different inputs
  // can concatenate to the same byte stream.
  h.updateField("flashgen-cubin-key-v1");
  h.updateField(runtimeVersion());
  h.updateField(source.bundleFlashgenVersion);
  h.updateField(arch);
  h.updateField(nvrtcVersionString());
  h.updateField(source.name);
  h.updateField(*source.text);
  h.updateField(std::to_string(source.headers.size()));
  for (const auto &hdr : source.headers) {
    h.updateField(hdr.first);
    h.updateField(*hdr.second);
  }
  h.updateField(std::to_string(options.size()));
  for (const auto &o : options)
    h.updateField(o);
  h.updateField(env::cacheInvalidatingFingerprint());
  // The toolkit headers the options' -I folder holds (cuda_bf16.h, ...).
  h.updateField(toolkitHeadersFingerprint(cudaIncludeDir()));
  return h.finishHex();
}

namespace {

/// Fills report.functions from the ptxas log, completed from the cubin.
void buildReport(const std::string &log,
                 const std::vector<CubinFunction> &functions,
                 ModuleReport &report) {
  report.functions.clear();
  report.warnings.clear();
  parsePtxasLog(log, report.functions, report.warnings);
  for (const CubinFunction &f : functions) {
    bool found = false;
    for (FunctionReport &r : report.functions)
      if (r.entry == f.name) {
        found = true;
        if (r.usage.registers < 0)
          r.usage.registers = f.registers;
      }
    if (!found) {
      FunctionReport r;
      r.entry = f.name;
      r.usage.registers = f.registers;
      report.functions.push_back(r);
    }
  }
}

} // namespace

Status compileModule(const ModuleSource &source, const std::string &arch,
                     CompiledModule &out) {
  const std::vector<std::string> options =
      nvrtcOptionsFor(arch, source.manifestOptions);
  const std::string key = moduleCacheKey(source, arch, options);
  out = CompiledModule();
  out.report.source = source.name;
  out.report.cacheKey = key;

  const bool dump = env::getBool(env::kDump);
  const bool forceCompile = env::getBool(env::kAlwaysCompile) || dump;
  std::string root = env::getBool(env::kDisableDiskCache)
                         ? std::string()
                         : DiskCache::defaultRoot();
  DiskCache cache(root);

  if (!root.empty() && !forceCompile) {
    json::Value meta;
    std::string why;
    switch (cache.lookup(key, out.cubin, meta, why)) {
    case DiskCache::LookupResult::Hit: {
      std::string err;
      if (readCubin(out.cubin, out.functions, err)) {
        const json::Value *log = meta.find("log");
        out.report.log = log && log->isString() ? log->asString() : "";
        out.report.cacheHit = true;
        out.report.cubinBytes = out.cubin.size();
        buildReport(out.report.log, out.functions, out.report);
        if (verboseLogging())
          logLine("cache hit " + source.label + " for " + arch + " (" +
                  cache.entryDir(key) + ")");
        return Status::success();
      }
      why = "cubin " + cache.entryDir(key) + "/module.cubin is not a valid "
                                             "cubin (" + err + ")";
      [[fallthrough]];
    }
    case DiskCache::LookupResult::Damaged:
      // Once per distinct damage, so that a read-only cache holding a bad
      // entry does not log on every kernel load.
      logLineOnce("damaged:" + key + why, "damaged cache entry: " + why +
                                              "; recompiling " + source.label);
      break;
    case DiskCache::LookupResult::Miss:
      break;
    }
  }

  NvrtcInput input;
  input.sourceName = source.label;
  input.sourceText = *source.text;
  for (const auto &hdr : source.headers)
    input.headers.emplace_back(hdr.first, *hdr.second);
  input.options = options;
  NvrtcOutput compiled;
  if (Status st = nvrtcCompile(input, dump, compiled); !st)
    return st;
  std::string err;
  if (!readCubin(compiled.cubin, out.functions, err))
    return Status(StatusCode::Internal, "NVRTC returned an unreadable cubin "
                                        "for " +
                                            source.label + ": " + err);
  out.cubin = std::move(compiled.cubin);
  out.report.log = compiled.log;
  out.report.compileSeconds = compiled.seconds;
  out.report.cubinBytes = out.cubin.size();
  buildReport(out.report.log, out.functions, out.report);
  if (verboseLogging()) {
    char secs[32];
    std::snprintf(secs, sizeof(secs), "%.3f", compiled.seconds);
    logLine("compiled " + source.label + " for " + arch + " in " + secs + " s");
  }

  if (!root.empty()) {
    json::Value meta = json::Value::object();
    meta.set("arch", json::Value::string(arch));
    meta.set("source", json::Value::string(source.label));
    meta.set("nvrtc_version", json::Value::string(nvrtcVersionString()));
    meta.set("flashgen_version", json::Value::string(runtimeVersion()));
    meta.set("compile_seconds", json::Value::number(compiled.seconds));
    meta.set("created_unix", json::Value::integer(std::time(nullptr)));
    meta.set("log", json::Value::string(out.report.log));
    Status st = cache.store(key, out.cubin, std::move(meta),
                            dump ? source.text : nullptr,
                            dump ? &compiled.ptx : nullptr);
    // A read-only or full cache costs compile time, not correctness.
    if (!st)
      logLineOnce("store:" + root, "cannot write the cubin cache: " +
                                       st.message());
  }
  return Status::success();
}

} // namespace flashgen
