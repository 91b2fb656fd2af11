//===- ShapeBucket.h - Shape classes that share a tuning result -*- C++ -*-===//
//
// A tuning result holds for a shape bucket: every symbol rounded up to a
// power of two, plus which optional params were passed as null (a kernel
// that also writes `lse` is a different problem). Training steps whose B*T
// moves by a few tokens, or a server whose batch grows by one, then reuse one
// result instead of retuning (USERS.md item 3).
//
// BucketTable is the per-kernel-object map bucket -> variant read on every
// launch while autotuning: fixed storage, entries published with a release
// store of the count, so a launch that finds its bucket takes no lock and
// allocates nothing.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_AUTOTUNE_SHAPEBUCKET_H
#define FLASHGEN_AUTOTUNE_SHAPEBUCKET_H

#include "flashgen/runtime.h"
#include "runtime/Manifest.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace flashgen {

/// Smallest power of two >= `value`; 0 for values <= 0 (never a valid size,
/// so such launches fail validation before any bucket matters).
int64_t roundUpToPowerOfTwo(int64_t value);

/// A bucket in compact form: log2 of each rounded symbol, and a bit per
/// param passed as null; `hash` folds both, so that a table lookup mostly
/// compares one word per entry.
struct BucketCode {
  /// 0xff for a value <= 0. Entries past numSymbols are not part of the
  /// bucket (and left unset on the launch path).
  uint8_t log2[kMaxSlots];
  uint64_t absent = 0;
  uint64_t hash = 0;
  int numSymbols = 0;

  bool operator==(const BucketCode &other) const;
  bool operator!=(const BucketCode &other) const { return !(*this == other); }
};

/// The bucket of symbol values `symbols` (in the kernel's symbol order).
BucketCode bucketOf(const std::vector<int64_t> &symbols, uint64_t absent);

/// "B=2,N=8192", then ",-lse" for each optional param passed as null.
std::string bucketLabel(const KernelSpec &kernel, const BucketCode &code);

/// "B=2,N=8000": exact sizes, same order and format.
std::string sizesLabel(const KernelSpec &kernel,
                       const std::vector<int64_t> &symbols);

/// Where each symbol can be read from the caller's tensors without binding:
/// its first bare occurrence in a non-optional param (the manifest
/// guarantees one).
struct SymbolSites {
  struct Site {
    int param = -1;
    int dim = -1;
  };
  std::vector<Site> sites; // one per symbol
  std::vector<int> optionalParams;

  static SymbolSites of(const KernelSpec &kernel);

  /// The bucket of a launch's tensors; false when the tensors are too few or
  /// too short to read (the launch then fails validation anyway). Reads no
  /// more than the sizes; allocation-free.
  bool codeOf(const TensorArg *tensors, size_t numTensors,
              BucketCode &out) const;
};

/// bucket -> variant, read lock-free. One writer at a time (the owner holds
/// a mutex); readers may run concurrently with it.
class BucketTable {
public:
  static constexpr int kCapacity = 64;

  /// The recorded variant, or -1.
  int find(const BucketCode &code) const;
  /// Records or updates `code`. False when the table is full (the owner
  /// then keeps the bucket elsewhere, behind its lock).
  bool record(const BucketCode &code, int variant);
  int size() const { return size_.load(std::memory_order_acquire); }

private:
  struct Entry {
    BucketCode code;
    std::atomic<int> variant{0};
  };
  Entry entries_[kCapacity];
  std::atomic<int> size_{0};
};

} // namespace flashgen

#endif // FLASHGEN_AUTOTUNE_SHAPEBUCKET_H
