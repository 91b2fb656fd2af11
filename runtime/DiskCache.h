//===- DiskCache.h - On-disk cubin cache ------------------------*- C++ -*-===//
//
// One directory per cache key (docs/bundle-format.md §6):
//   <root>/cubin-v1/<key[0:2]>/<key>/{module.cubin, module.json, ...}
// Every file is written to a pid+random temp name in that directory and
// renamed over its final name; module.json (the metadata, with the cubin's
// size and sha256) is written last, so a reader that finds it finds a
// complete cubin, or a damaged one it can detect. No locks: two writers of
// one key both succeed, the last rename wins, and the contents are equal.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_DISKCACHE_H
#define FLASHGEN_RUNTIME_DISKCACHE_H

#include "flashgen/runtime.h"
#include "runtime/Json.h"

#include <string>

namespace flashgen {

class DiskCache {
public:
  /// FLASHGEN_CACHE_DIR, else $XDG_CACHE_HOME/flashgen, else
  /// ~/.cache/flashgen; empty when none can be determined.
  static std::string defaultRoot();

  explicit DiskCache(std::string root) : root_(std::move(root)) {}

  const std::string &root() const { return root_; }
  std::string entryDir(const std::string &key) const;

  enum class LookupResult { Hit, Miss, Damaged };

  /// On Hit fills `cubin` and `metadata`. Damaged means an entry exists but
  /// is unusable; `why` says how (truncated cubin, checksum mismatch, ...).
  LookupResult lookup(const std::string &key, std::string &cubin,
                      json::Value &metadata, std::string &why) const;

  /// Writes the entry. `metadata` gets the cubin's file name, size and
  /// sha256 added. `dumpSource`/`dumpPtx`, when non-null, are kept as
  /// module.cu / module.ptx.
  Status store(const std::string &key, const std::string &cubin,
               json::Value metadata, const std::string *dumpSource,
               const std::string *dumpPtx) const;

  static constexpr const char *kCubinFile = "module.cubin";
  static constexpr const char *kMetadataFile = "module.json";

private:
  std::string root_;
};

/// Reads a whole file; false if it cannot be opened or read.
bool readWholeFile(const std::string &path, std::string &out);

/// Writes `data` to `dir`/`name` atomically (temp file + rename).
Status writeFileAtomically(const std::string &dir, const std::string &name,
                           const std::string &data);

/// Removes `*.tmp.*` files in `dir` older than an hour: what a writer killed
/// between create and rename leaves behind (no lock files, so nothing else
/// is ever left).
void removeStaleTempFiles(const std::string &dir);

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_DISKCACHE_H
