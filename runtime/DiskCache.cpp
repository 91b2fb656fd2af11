//===- DiskCache.cpp - On-disk cubin cache --------------------------------===//

#include "runtime/DiskCache.h"

#include "runtime/Env.h"
#include "runtime/Sha256.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <unistd.h>

namespace fs = std::filesystem;

namespace flashgen {

namespace {

constexpr const char *kMetadataFormat = "flashgen-cubin-cache";
/// 2: the metadata carries a checksum of its own fields.
constexpr int kMetadataVersion = 2;
constexpr const char *kChecksumField = "checksum";
/// Temp files older than this were left by a killed writer.
constexpr auto kStaleTempAge = std::chrono::hours(1);

std::string randomSuffix() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t seed = [] {
    std::random_device rd;
    return (uint64_t(rd()) << 32) ^ rd();
  }();
  uint64_t v = seed ^ (counter.fetch_add(1) * 0x9e3779b97f4a7c15ull);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%d.%016llx", static_cast<int>(::getpid()),
                static_cast<unsigned long long>(v));
  return buf;
}

/// sha256 over every member of the metadata but the checksum, in order:
/// a changed log, arch or size is caught like a changed cubin.
std::string metadataChecksum(const json::Value &metadata) {
  Sha256 h;
  h.updateField("flashgen-cubin-metadata");
  for (const auto &m : metadata.members())
    if (m.first != kChecksumField) {
      h.updateField(m.first);
      h.updateField(m.second.dump());
    }
  return h.finishHex();
}

} // namespace

void removeStaleTempFiles(const std::string &dir) {
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.find(".tmp.") == std::string::npos)
      continue;
    std::error_code tec;
    auto when = fs::last_write_time(it->path(), tec);
    if (!tec && now - when > kStaleTempAge)
      fs::remove(it->path(), tec);
  }
}

bool readWholeFile(const std::string &path, std::string &out) {
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return false;
  out.clear();
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    out.append(buf, n);
  bool ok = !std::ferror(f);
  std::fclose(f);
  return ok;
}

Status writeFileAtomically(const std::string &dir, const std::string &name,
                           const std::string &data) {
  const std::string finalPath = dir + "/" + name;
  const std::string tempPath = finalPath + ".tmp." + randomSuffix();
  FILE *f = std::fopen(tempPath.c_str(), "wb");
  if (!f)
    return Status(StatusCode::FileError, "cannot create " + tempPath + ": " +
                                             std::strerror(errno));
  bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  ok &= std::fclose(f) == 0;
  if (!ok) {
    std::remove(tempPath.c_str());
    return Status(StatusCode::FileError, "cannot write " + tempPath);
  }
  // rename() is atomic on POSIX: readers see the old file or the new one,
  // never a partial write.
  if (std::rename(tempPath.c_str(), finalPath.c_str()) != 0) {
    int err = errno;
    std::remove(tempPath.c_str());
    return Status(StatusCode::FileError, "cannot rename " + tempPath + " to " +
                                             finalPath + ": " +
                                             std::strerror(err));
  }
  return Status::success();
}

std::string DiskCache::defaultRoot() {
  if (auto dir = env::getStr(env::kCacheDir))
    if (!dir->empty())
      return *dir;
  if (auto xdg = env::getStr(env::kXdgCacheHome))
    if (!xdg->empty())
      return *xdg + "/flashgen";
  if (auto home = env::getStr(env::kHome))
    if (!home->empty())
      return *home + "/.cache/flashgen";
  return "";
}

std::string DiskCache::entryDir(const std::string &key) const {
  return root_ + "/cubin-v1/" + key.substr(0, 2) + "/" + key;
}

DiskCache::LookupResult DiskCache::lookup(const std::string &key,
                                          std::string &cubin,
                                          json::Value &metadata,
                                          std::string &why) const {
  const std::string dir = entryDir(key);
  std::string metaText;
  if (!readWholeFile(dir + "/" + kMetadataFile, metaText)) {
    // No metadata: a miss, even if a cubin is there (a writer may still be
    // between the two renames).
    return LookupResult::Miss;
  }
  std::string err;
  if (!json::parse(metaText, metadata, err)) {
    why = "metadata " + dir + "/" + kMetadataFile + " is not valid JSON (" +
          err + ")";
    return LookupResult::Damaged;
  }
  const json::Value *format = metadata.find("format");
  const json::Value *version = metadata.find("version");
  // Entries of an older cache format are rewritten, not reported.
  if (format && format->isString() && format->asString() == kMetadataFormat &&
      version && version->isInteger() && version->asInt() < kMetadataVersion)
    return LookupResult::Miss;
  const json::Value *metaKey = metadata.find("key");
  const json::Value *file = metadata.find("cubin");
  if (!format || !format->isString() || format->asString() != kMetadataFormat ||
      !version || !version->isInteger() || version->asInt() != kMetadataVersion ||
      !metaKey || !metaKey->isString() || metaKey->asString() != key || !file ||
      !file->isObject()) {
    why = "metadata " + dir + "/" + kMetadataFile +
          " does not describe this entry";
    return LookupResult::Damaged;
  }
  const json::Value *checksum = metadata.find(kChecksumField);
  if (!checksum || !checksum->isString() ||
      checksum->asString() != metadataChecksum(metadata)) {
    why = "metadata " + dir + "/" + kMetadataFile +
          " fails its checksum (edited or damaged)";
    return LookupResult::Damaged;
  }
  const json::Value *name = file->find("file");
  const json::Value *bytes = file->find("bytes");
  const json::Value *sha = file->find("sha256");
  if (!name || !name->isString() || name->asString() != kCubinFile || !bytes ||
      !bytes->isInteger() || !sha || !sha->isString()) {
    why = "metadata " + dir + "/" + kMetadataFile + " lists no cubin";
    return LookupResult::Damaged;
  }
  if (!readWholeFile(dir + "/" + kCubinFile, cubin)) {
    why = "cubin " + dir + "/" + kCubinFile + " is missing";
    return LookupResult::Damaged;
  }
  if (static_cast<int64_t>(cubin.size()) != bytes->asInt()) {
    why = "cubin " + dir + "/" + kCubinFile + " has " +
          std::to_string(cubin.size()) + " bytes, metadata says " +
          std::to_string(bytes->asInt()) + " (truncated?)";
    return LookupResult::Damaged;
  }
  if (Sha256::hex(cubin) != sha->asString()) {
    why = "cubin " + dir + "/" + kCubinFile + " fails its sha256 check";
    return LookupResult::Damaged;
  }
  return LookupResult::Hit;
}

Status DiskCache::store(const std::string &key, const std::string &cubin,
                        json::Value metadata, const std::string *dumpSource,
                        const std::string *dumpPtx) const {
  const std::string dir = entryDir(key);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Status(StatusCode::FileError,
                  "cannot create cache directory " + dir + ": " + ec.message());
  removeStaleTempFiles(dir);
  if (dumpSource)
    if (Status st = writeFileAtomically(dir, "module.cu", *dumpSource); !st)
      return st;
  if (dumpPtx)
    if (Status st = writeFileAtomically(dir, "module.ptx", *dumpPtx); !st)
      return st;
  if (Status st = writeFileAtomically(dir, kCubinFile, cubin); !st)
    return st;
  json::Value file = json::Value::object();
  file.set("file", json::Value::string(kCubinFile));
  file.set("bytes", json::Value::integer(static_cast<int64_t>(cubin.size())));
  file.set("sha256", json::Value::string(Sha256::hex(cubin)));
  json::Value meta = json::Value::object();
  meta.set("format", json::Value::string(kMetadataFormat));
  meta.set("version", json::Value::integer(kMetadataVersion));
  meta.set("key", json::Value::string(key));
  meta.set("cubin", std::move(file));
  for (const auto &m : metadata.members())
    if (!meta.find(m.first) && m.first != kChecksumField) // the cache's own
      meta.set(m.first, m.second);
  meta.set(kChecksumField, json::Value::string(metadataChecksum(meta)));
  // Last: its presence is what makes the entry a hit.
  return writeFileAtomically(dir, kMetadataFile, meta.dump());
}

} // namespace flashgen
