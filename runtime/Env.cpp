//===- Env.cpp - Registry of environment variables ------------------------===//

#include "runtime/Env.h"

#include "runtime/Log.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

namespace flashgen {
namespace env {

namespace {

constexpr ValueKind kFlag = ValueKind::Flag;
constexpr ValueKind kText = ValueKind::Text;

constexpr Variable kRegistry[] = {
    {kCacheDir, CacheEffect::Neutral, kText, "root of the on-disk cubin cache"},
    {kAlwaysCompile, CacheEffect::Neutral, kFlag,
     "1: ignore cache hits, recompile"},
    {kDump, CacheEffect::Neutral, kFlag,
     "1: compile and keep module.cu and module.ptx next to the cubin"},
    {kDisableDiskCache, CacheEffect::Neutral, kFlag, "1: memory cache only"},
    {kLaunchChecks, CacheEffect::Neutral, kFlag,
     "0: skip the driver check that pointers are device memory"},
    {kLog, CacheEffect::Neutral, kFlag,
     "1: log compiles and cache hits to stderr"},
    {kLineInfo, CacheEffect::Invalidating, kFlag, "1: compile with -lineinfo"},
    {kNvrtcOptions, CacheEffect::Invalidating, kText,
     "extra NVRTC options, space-separated"},
    {kCudaInclude, CacheEffect::Invalidating, kText,
     "CUDA include dir for NVRTC"},
    {kCudaHome, CacheEffect::Invalidating, kText,
     "CUDA toolkit root (include dir)"},
    {kCudaPath, CacheEffect::Invalidating, kText,
     "CUDA toolkit root (include dir)"},
    {kXdgCacheHome, CacheEffect::Neutral, kText, "default cache root"},
    {kHome, CacheEffect::Neutral, kText, "default cache root"},
    {kLib, CacheEffect::Neutral, kText,
     "Python: path of libflashgen_runtime.so"},
    // Neutral: tuning chooses which cached variant runs, never what a
    // variant compiles to.
    {kAutotune, CacheEffect::Neutral, kFlag,
     "1: the first launch of each shape bucket times the variants and keeps "
     "the fastest"},
    {kTuningDir, CacheEffect::Neutral, kText,
     "tuning files (default $FLASHGEN_CACHE_DIR/tuning-v1)"},
    // Neutral: the same cubin takes TMA maps or zero maps (cp.async).
    {kTma, CacheEffect::Neutral, kFlag,
     "0: pass zero tensor maps, so TMA kernels copy with cp.async"},
    // Neutral: the same cubin waits at griddepcontrol.wait either way.
    {kOverlapLaunches, CacheEffect::Neutral, kFlag,
     "0: launch overlaps_previous launches the ordinary way (no "
     "programmatic dependent launch)"},
    {nullptr, CacheEffect::Neutral, kText, nullptr},
};

std::mutex &overrideMutex() {
  static std::mutex m;
  return m;
}

/// name -> value (nullopt: reads as unset).
std::map<std::string, std::optional<std::string>> &overrides() {
  static std::map<std::string, std::optional<std::string>> m;
  return m;
}

const Variable &requireRegistered(const char *name) {
  const Variable *v = lookup(name);
  if (!v) {
    std::fprintf(stderr,
                 "flashgen: internal error: environment variable %s is read "
                 "but not registered in runtime/Env.cpp\n",
                 name);
    std::abort();
  }
  return *v;
}

} // namespace

const Variable *registry() { return kRegistry; }

const Variable *lookup(const std::string &name) {
  for (const Variable *v = kRegistry; v->name; ++v)
    if (name == v->name)
      return v;
  return nullptr;
}

std::optional<std::string> getStr(const char *name) {
  requireRegistered(name);
  {
    std::lock_guard<std::mutex> lock(overrideMutex());
    auto it = overrides().find(name);
    if (it != overrides().end())
      return it->second;
  }
  const char *value = std::getenv(name);
  if (!value)
    return std::nullopt;
  return std::string(value);
}

std::optional<bool> parseBool(const std::string &value) {
  std::string v = value;
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (v == "1" || v == "true" || v == "on" || v == "yes")
    return true;
  if (v == "0" || v == "false" || v == "off" || v == "no")
    return false;
  return std::nullopt;
}

bool getBool(const char *name, bool fallback) {
  if (requireRegistered(name).kind != ValueKind::Flag) {
    std::fprintf(stderr,
                 "flashgen: internal error: environment variable %s is read "
                 "as a flag but registered as text in runtime/Env.cpp\n",
                 name);
    std::abort();
  }
  std::optional<std::string> value = getStr(name);
  if (!value || value->empty())
    return fallback;
  if (std::optional<bool> flag = parseBool(*value))
    return *flag;
  // Not silently "off": say what was read and what it means.
  logLineOnce(std::string("env:") + name + "=" + *value,
              std::string("warning: ") + name + "=" + *value +
                  " is not a recognised value (accepted: " + kBoolSpellings +
                  "); read as " + (fallback ? "on" : "off") +
                  ", its default");
  return fallback;
}

std::string cacheInvalidatingFingerprint() {
  std::vector<std::string> lines;
  for (const Variable *v = kRegistry; v->name; ++v) {
    if (v->effect != CacheEffect::Invalidating)
      continue;
    if (std::optional<std::string> value = getStr(v->name))
      lines.push_back(std::string(v->name) + "=" + *value + "\n");
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto &l : lines)
    out += l;
  return out;
}

ScopedOverride::ScopedOverride(const char *name,
                               std::optional<std::string> value)
    : name_(name) {
  requireRegistered(name);
  std::lock_guard<std::mutex> lock(overrideMutex());
  auto it = overrides().find(name_);
  if (it != overrides().end()) {
    hadPrevious_ = true;
    previous_ = it->second;
  }
  overrides()[name_] = std::move(value);
}

ScopedOverride::~ScopedOverride() {
  std::lock_guard<std::mutex> lock(overrideMutex());
  if (hadPrevious_)
    overrides()[name_] = previous_;
  else
    overrides().erase(name_);
}

} // namespace env
} // namespace flashgen
