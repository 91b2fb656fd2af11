//===- TuningFile.h - Tuning results on disk --------------------*- C++ -*-===//
//
// One JSON file per (kernel identity, device) (TuningKey.h), holding one
// entry per shape bucket:
//   <dir>/<kernel>/<file key>.json
//   {"format": "flashgen-tuning", "version": 1, "key": <file key>,
//    "kernel", "device", ... (informative),
//    "entries": {"B=2,N=8192": {"variant": 1, ...a TuneReport...}},
//    "entries_sha256": sha256 of the entries' JSON text}
// <dir> is FLASHGEN_TUNING_DIR, else $FLASHGEN_CACHE_DIR/tuning-v1 (the
// cubin cache's root, docs/bundle-format.md §6).
//
// Writes re-read the file, merge the entry and replace the file with a temp
// file + rename (DiskCache.h), so readers never see a partial file. Two
// processes storing different buckets at once may lose one of the two
// entries (the last rename wins); that costs a retune, never a wrong
// variant. No lock files: a killed process cannot block the directory.
// A file that fails to parse, names another key, fails its checksum or holds
// an impossible entry is damaged: reported once per process and path,
// treated as empty, and rewritten whole by the next store.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_AUTOTUNE_TUNINGFILE_H
#define FLASHGEN_AUTOTUNE_TUNINGFILE_H

#include "flashgen/runtime.h"
#include "runtime/Json.h"

#include <map>
#include <string>

namespace flashgen {

class TuningFile {
public:
  /// FLASHGEN_TUNING_DIR, else <cache root>/tuning-v1; empty when no
  /// directory can be determined (tuning then lasts for the process).
  static std::string defaultDir();

  /// `header` holds informative top-level fields (kernel, device, ...);
  /// `numVariants` bounds the variant an entry may name.
  TuningFile(std::string dir, std::string kernel, std::string key,
             json::Value header, int numVariants);

  const std::string &path() const { return path_; }

  enum class State { Missing, Loaded, Damaged };
  /// (Re)reads the file into memory. On Damaged, `why` says how, one log line
  /// reports it (once per path), and the entries are empty.
  State load(std::string *why = nullptr);

  /// The entry of `bucket`, or null.
  const json::Value *find(const std::string &bucket) const;
  size_t size() const { return entries_.size(); }

  /// Re-reads the file, sets the entry of `bucket` (which must name its
  /// variant as "variant") and writes the file atomically.
  Status store(const std::string &bucket, json::Value entry);

private:
  bool parse(const std::string &text, std::map<std::string, json::Value> &out,
             std::string &why) const;

  std::string dir_;
  std::string kernel_;
  std::string key_;
  std::string path_;
  json::Value header_;
  int numVariants_;
  std::map<std::string, json::Value> entries_;
};

} // namespace flashgen

#endif // FLASHGEN_AUTOTUNE_TUNINGFILE_H
