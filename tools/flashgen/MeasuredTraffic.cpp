//===- MeasuredTraffic.cpp - measured DRAM bytes per kernel ---------------===//
//
// Parses and checks a measured-traffic file up front, entry by entry, so that
// a hand-edited or truncated file is reported with the entry and the key that
// are wrong instead of producing ratios from garbage.
//
//===----------------------------------------------------------------------===//

#include "tools/flashgen/MeasuredTraffic.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <optional>

using namespace flashgen::cli;

namespace {

constexpr llvm::StringLiteral kFormat = "flashgen-traffic";
constexpr int64_t kVersion = 1;

llvm::Error fileError(llvm::StringRef path, const llvm::Twine &what) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": " + what);
}

/// A non-negative integer (JSON numbers written as 1.0 count; 1.5 does not).
std::optional<int64_t> nonNegativeInteger(const llvm::json::Value *v) {
  if (!v)
    return std::nullopt;
  std::optional<int64_t> n = v->getAsInteger();
  if (!n || *n < 0)
    return std::nullopt;
  return n;
}

/// Entry `index` of "kernels", checked.
llvm::Expected<MeasuredKernel> parseKernel(llvm::StringRef path, size_t index,
                                           const llvm::json::Value &value) {
  std::string where = llvm::formatv("kernels[{0}]", index).str();
  const llvm::json::Object *entry = value.getAsObject();
  if (!entry)
    return fileError(path, where + " is not an object");
  MeasuredKernel k;
  std::optional<llvm::StringRef> name = entry->getString("kernel");
  if (!name || name->empty())
    return fileError(path, where + ".kernel: expected the kernel's name (a "
                                   "non-empty string)");
  k.kernel = name->str();
  where += " (" + k.kernel + ")";
  const llvm::json::Object *dims = entry->getObject("dims");
  if (!dims)
    return fileError(path, where + ".dims: expected an object of dynamic "
                                   "sizes, e.g. {\"B\": 2, \"N\": 8192}");
  for (const auto &[dim, size] : *dims) {
    std::optional<int64_t> n = nonNegativeInteger(&size);
    if (!n || *n == 0)
      return fileError(path, where + ".dims." + dim.str() +
                                 ": expected a positive integer");
    k.dims[dim.str()] = *n;
  }
  for (auto [key, field] : {std::pair{"dram_bytes_read", &k.bytesRead},
                            std::pair{"dram_bytes_write", &k.bytesWritten}}) {
    std::optional<int64_t> n = nonNegativeInteger(entry->get(key));
    if (!n)
      return fileError(path, where + "." + key +
                                 ": expected a non-negative integer (bytes)");
    *field = *n;
  }
  return k;
}

} // namespace

std::string flashgen::cli::formatDims(const std::map<std::string, int64_t> &dims) {
  std::string text;
  for (const auto &[name, size] : dims)
    text += (text.empty() ? "" : " ") + name + "=" + std::to_string(size);
  return text.empty() ? "no dynamic sizes" : text;
}

llvm::Expected<MeasuredTraffic> MeasuredTraffic::load(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return fileError(path, "cannot read it: " + buffer.getError().message());
  llvm::Expected<llvm::json::Value> root =
      llvm::json::parse((*buffer)->getBuffer());
  if (!root)
    return fileError(path, "not JSON: " + llvm::toString(root.takeError()));
  const llvm::json::Object *top = root->getAsObject();
  if (!top || top->getString("format") != kFormat)
    return fileError(path, "not a measured-traffic file (expected an object "
                           "with \"format\": \"" + kFormat +
                           "\", as bench/traffic/measure.py writes)");
  if (top->getInteger("version") != kVersion)
    return fileError(path, "\"version\" must be " + llvm::Twine(kVersion));
  const llvm::json::Array *kernels = top->getArray("kernels");
  if (!kernels)
    return fileError(path, "\"kernels\": expected an array");

  MeasuredTraffic traffic;
  traffic.path_ = path.str();
  for (auto [i, value] : llvm::enumerate(*kernels)) {
    llvm::Expected<MeasuredKernel> k = parseKernel(path, i, value);
    if (!k)
      return k.takeError();
    // Two measurements of one problem cannot both be the answer.
    for (auto [j, seen] : llvm::enumerate(traffic.kernels_))
      if (seen.kernel == k->kernel && seen.dims == k->dims)
        return fileError(path, llvm::formatv("kernels[{0}] measures {1} at {2} "
                                             "again (first in kernels[{3}])",
                                             i, k->kernel, formatDims(k->dims), j)
                                   .str());
    traffic.kernels_.push_back(std::move(*k));
  }
  return traffic;
}

llvm::Expected<const MeasuredKernel *>
MeasuredTraffic::find(llvm::StringRef kernel,
                      const llvm::StringMap<int64_t> &dims) const {
  std::map<std::string, int64_t> wanted;
  for (const auto &entry : dims)
    wanted[entry.getKey().str()] = entry.getValue();
  std::vector<std::string> elsewhere;
  for (const MeasuredKernel &k : kernels_) {
    if (k.kernel != kernel)
      continue;
    if (k.dims == wanted)
      return &k;
    elsewhere.push_back(formatDims(k.dims));
  }
  if (elsewhere.empty())
    return nullptr;
  return fileError(path_, "kernel " + kernel + " was measured at " +
                              llvm::join(elsewhere, "; ") +
                              ", not at the sizes explained (" +
                              formatDims(wanted) +
                              "); pass the same --dim values");
}

std::vector<std::string> MeasuredTraffic::kernelNames() const {
  std::vector<std::string> names;
  for (const MeasuredKernel &k : kernels_)
    names.push_back(k.kernel);
  return names;
}
