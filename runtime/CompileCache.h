//===- CompileCache.h - NVRTC compiles through the disk cache ---*- C++ -*-===//
//
// Computes the cache key of a module (docs/bundle-format.md §6), serves it
// from the disk cache when a verified entry exists, and otherwise compiles it
// with NVRTC and stores it. A damaged entry is reported once and replaced.
// Loaded modules are cached per device on top of this (Device.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_COMPILECACHE_H
#define FLASHGEN_RUNTIME_COMPILECACHE_H

#include "flashgen/runtime.h"
#include "runtime/CubinInfo.h"

#include <string>
#include <utility>
#include <vector>

namespace flashgen {

struct ModuleSource {
  std::string name;       ///< bundle-relative path of the .cu
  std::string label;      ///< for messages: "<bundle>/<name>"
  const std::string *text = nullptr;
  std::vector<std::pair<std::string, const std::string *>> headers;
  std::vector<std::string> manifestOptions;
  std::string bundleFlashgenVersion;
};

struct CompiledModule {
  std::string cubin;
  std::vector<CubinFunction> functions;
  ModuleReport report;
};

/// sha256 (hex) over everything that determines the cubin.
std::string moduleCacheKey(const ModuleSource &source, const std::string &arch,
                           const std::vector<std::string> &options);

/// Compiles `source` for `arch` (e.g. "sm_90a") through the disk cache.
Status compileModule(const ModuleSource &source, const std::string &arch,
                     CompiledModule &out);

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_COMPILECACHE_H
