//===- Env.h - Registry of environment variables ----------------*- C++ -*-===//
//
// Every environment variable the runtime reads is declared once here, as
// cache-invalidating (its value changes the compiled code, so it is part of
// the cache key) or cache-neutral (it changes where or whether we cache, or
// what we print). Reads go through getStr/getBool, which abort on an
// unregistered name: a variable that silently changes code generation but
// not the cache key is how stale cubins get reused.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_ENV_H
#define FLASHGEN_RUNTIME_ENV_H

#include <optional>
#include <string>

namespace flashgen {
namespace env {

enum class CacheEffect { Invalidating, Neutral };

/// How a value is read: a flag (getBool) or text (getStr: a path, options).
enum class ValueKind { Flag, Text };

struct Variable {
  const char *name;
  CacheEffect effect;
  ValueKind kind;
  const char *meaning;
};

// Names, so that call sites cannot misspell them.
inline constexpr const char kCacheDir[] = "FLASHGEN_CACHE_DIR";
inline constexpr const char kAlwaysCompile[] = "FLASHGEN_ALWAYS_COMPILE";
inline constexpr const char kDump[] = "FLASHGEN_DUMP";
inline constexpr const char kDisableDiskCache[] = "FLASHGEN_DISABLE_DISK_CACHE";
inline constexpr const char kLaunchChecks[] = "FLASHGEN_LAUNCH_CHECKS";
inline constexpr const char kLog[] = "FLASHGEN_LOG";
inline constexpr const char kLineInfo[] = "FLASHGEN_LINEINFO";
inline constexpr const char kNvrtcOptions[] = "FLASHGEN_NVRTC_OPTIONS";
inline constexpr const char kCudaInclude[] = "FLASHGEN_CUDA_INCLUDE";
inline constexpr const char kCudaHome[] = "CUDA_HOME";
inline constexpr const char kCudaPath[] = "CUDA_PATH";
inline constexpr const char kXdgCacheHome[] = "XDG_CACHE_HOME";
inline constexpr const char kHome[] = "HOME";
inline constexpr const char kLib[] = "FLASHGEN_LIB";
inline constexpr const char kAutotune[] = "FLASHGEN_AUTOTUNE";
inline constexpr const char kTuningDir[] = "FLASHGEN_TUNING_DIR";
inline constexpr const char kTma[] = "FLASHGEN_TMA";
inline constexpr const char kOverlapLaunches[] = "FLASHGEN_OVERLAP_LAUNCHES";

/// All registered variables (docs/bundle-format.md §7), terminated by a
/// null name.
const Variable *registry();

/// The variable's registration, or null.
const Variable *lookup(const std::string &name);

/// Value of a registered variable (an active ScopedOverride first, then the
/// process environment); nullopt when unset. Aborts on an unregistered name.
std::optional<std::string> getStr(const char *name);

/// "1", "true", "on", "yes" are true, "0", "false", "off", "no" false (any
/// case); any other text is nullopt.
std::optional<bool> parseBool(const std::string &value);

/// The spellings parseBool accepts, for messages and docs.
inline constexpr const char kBoolSpellings[] =
    "1, true, on, yes or 0, false, off, no (any case)";

/// A registered flag's value: unset or empty gives `fallback`; so does a
/// value parseBool does not accept, which also logs (once per variable and
/// value) a warning naming the variable, the value and kBoolSpellings.
/// Aborts on an unregistered name or one registered as text.
bool getBool(const char *name, bool fallback = false);

/// "NAME=value\n" for every set cache-invalidating variable, sorted by name;
/// hashed into cache keys.
std::string cacheInvalidatingFingerprint();

/// Overrides one variable for the lifetime of the object (tests). A nullopt
/// value makes the variable read as unset. Nests; not for concurrent use with
/// other overrides of the same name.
class ScopedOverride {
public:
  ScopedOverride(const char *name, std::optional<std::string> value);
  ~ScopedOverride();
  ScopedOverride(const ScopedOverride &) = delete;
  ScopedOverride &operator=(const ScopedOverride &) = delete;

private:
  std::string name_;
  bool hadPrevious_ = false;
  std::optional<std::string> previous_;
};

} // namespace env
} // namespace flashgen

#endif // FLASHGEN_RUNTIME_ENV_H
