//===- TuningFile.cpp - Tuning results on disk ----------------------------===//

#include "autotune/TuningFile.h"

#include "runtime/DiskCache.h"
#include "runtime/Env.h"
#include "runtime/Log.h"
#include "runtime/Sha256.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace flashgen {

namespace {

constexpr const char *kFormat = "flashgen-tuning";
constexpr int kVersion = 1;
/// Names the format version, so that an incompatible change moves to a new
/// directory instead of reading old files as damaged.
constexpr const char *kSubdir = "tuning-v1";

} // namespace

std::string TuningFile::defaultDir() {
  if (auto dir = env::getStr(env::kTuningDir))
    if (!dir->empty())
      return *dir;
  std::string root = DiskCache::defaultRoot();
  return root.empty() ? root : root + "/" + kSubdir;
}

TuningFile::TuningFile(std::string dir, std::string kernel, std::string key,
                       json::Value header, int numVariants)
    : dir_(std::move(dir)), kernel_(std::move(kernel)), key_(std::move(key)),
      header_(std::move(header)), numVariants_(numVariants) {
  // Kernel names are identifiers (the manifest checks), so they are safe
  // path components.
  path_ = dir_ + "/" + kernel_ + "/" + key_ + ".json";
}

bool TuningFile::parse(const std::string &text,
                       std::map<std::string, json::Value> &out,
                       std::string &why) const {
  out.clear();
  json::Value root;
  std::string err;
  if (!json::parse(text, root, err)) {
    why = "not valid JSON (" + err + "; truncated?)";
    return false;
  }
  const json::Value *format = root.find("format");
  const json::Value *version = root.find("version");
  const json::Value *key = root.find("key");
  if (!format || !format->isString() || format->asString() != kFormat ||
      !version || !version->isInteger() || version->asInt() != kVersion) {
    why = "not a version-1 flashgen tuning file";
    return false;
  }
  if (!key || !key->isString() || key->asString() != key_) {
    why = "its key does not match its name";
    return false;
  }
  const json::Value *entries = root.find("entries");
  const json::Value *sha = root.find("entries_sha256");
  if (!entries || !entries->isObject() || !sha || !sha->isString()) {
    why = "it has no entries or no checksum";
    return false;
  }
  // The writer hashed entries.dump(); dumping what we parsed reproduces
  // those bytes exactly (shortest round-trip numbers, kept key order).
  if (Sha256::hex(entries->dump()) != sha->asString()) {
    why = "its entries fail their sha256 check";
    return false;
  }
  for (const auto &m : entries->members()) {
    const json::Value *variant = m.second.find("variant");
    if (!m.second.isObject() || !variant || !variant->isInteger() ||
        variant->asInt() < 0 || variant->asInt() >= numVariants_) {
      why = "entry " + m.first + " names no variant of the " +
            std::to_string(numVariants_) + " this kernel has";
      out.clear();
      return false;
    }
    out.emplace(m.first, m.second);
  }
  return true;
}

TuningFile::State TuningFile::load(std::string *why) {
  entries_.clear();
  std::string text;
  if (!readWholeFile(path_, text))
    return State::Missing;
  std::string reason;
  if (!parse(text, entries_, reason)) {
    logLineOnce("tuning-damaged:" + path_,
                "damaged tuning file " + path_ + ": " + reason +
                    "; ignoring it, it is rebuilt on the next tuning");
    if (why)
      *why = reason;
    return State::Damaged;
  }
  return State::Loaded;
}

const json::Value *TuningFile::find(const std::string &bucket) const {
  auto it = entries_.find(bucket);
  return it == entries_.end() ? nullptr : &it->second;
}

Status TuningFile::store(const std::string &bucket, json::Value entry) {
  if (dir_.empty())
    return Status(StatusCode::FileError,
                  "no tuning directory: set FLASHGEN_TUNING_DIR, "
                  "FLASHGEN_CACHE_DIR or HOME");
  const json::Value *variant = entry.find("variant");
  if (!variant || !variant->isInteger() || variant->asInt() < 0 ||
      variant->asInt() >= numVariants_)
    return Status(StatusCode::Internal,
                  "tuning entry " + bucket + " names no valid variant");
  // Merge with what other processes wrote since we last read; a damaged
  // file contributes nothing and is replaced whole.
  load();
  entries_[bucket] = std::move(entry);

  json::Value entries = json::Value::object();
  for (const auto &e : entries_)
    entries.set(e.first, e.second);
  json::Value root = json::Value::object();
  root.set("format", json::Value::string(kFormat));
  root.set("version", json::Value::integer(kVersion));
  root.set("key", json::Value::string(key_));
  for (const auto &m : header_.members())
    if (!root.find(m.first))
      root.set(m.first, m.second);
  root.set("entries_sha256", json::Value::string(Sha256::hex(entries.dump())));
  root.set("entries", std::move(entries));

  const std::string kernelDir = dir_ + "/" + kernel_;
  std::error_code ec;
  fs::create_directories(kernelDir, ec);
  if (ec)
    return Status(StatusCode::FileError, "cannot create tuning directory " +
                                             kernelDir + ": " + ec.message());
  removeStaleTempFiles(kernelDir);
  return writeFileAtomically(kernelDir, key_ + ".json", root.dump() + "\n");
}

} // namespace flashgen
