//===- ReferenceCheck.h - bind flashgen-ref data to a kernel, compare -*- C++ -*-===//
//
// What the GPU correctness suite (test/gpu) and flashgen-run share: reading
// the meta.json flashgen-ref writes next to its .npy files, placing each
// reference tensor in the kernel's param order (an optional param the
// reference lacks is passed as null), and the one comparison of an output
// with its float64 reference: relative L2 error ||out - ref|| / ||ref||
// within a per-dtype tolerance, a NaN anywhere fails (outputs are poisoned
// with NaN bytes before launch, so an unwritten element is NaN), and an
// infinite value must be met exactly. Host code only, no CUDA: library
// flashgen_refcheck, unit-tested on the CPU (test/unit/runtime/
// ReferenceCheckTest.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_RUNTIME_TOOLS_REFERENCECHECK_H
#define FLASHGEN_RUNTIME_TOOLS_REFERENCECHECK_H

#include "flashgen/runtime.h"
#include "runtime/Json.h"
#include "runtime/tools/StridedLayout.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace flashgen::refcheck {

/// One tensor of a flashgen-ref directory, as meta.json lists it.
struct TensorFile {
  std::string name, role, dtype, file;
  std::vector<int64_t> shape;
  /// meta.json's "tolerance" of an output whose computation rounds an
  /// intermediate to 16 bits (the delta rule's state); 0: by dtype.
  double tolerance = 0;
};

/// The JSON document in file `path`; throws std::runtime_error naming the
/// file when it cannot be read or parsed (meta.json here, cases.json in
/// test/gpu).
json::Value readJsonFile(const std::string &path);

/// object[key] as a string; throws naming `where` and the key otherwise.
std::string stringField(const json::Value &object, const char *key,
                        const std::string &where);

/// The tensors of `dir`/meta.json. Throws std::runtime_error naming the file
/// on a missing or malformed meta.json.
std::vector<TensorFile> readReferenceMeta(const std::string &dir);

/// One run-time scalar of a flashgen-ref directory (meta.json "scalars":
/// an extra operand of rank 0, e.g. a prefix length).
struct ScalarValue {
  std::string name;
  double value = 0;
};

/// The scalars of `dir`/meta.json (none when it lists none). Throws
/// std::runtime_error naming the file on a malformed entry.
std::vector<ScalarValue> readReferenceScalars(const std::string &dir);

/// The kernel's scalars in its order from `values` (f32 ones as floats,
/// integers as ints); one the reference lacks keeps its default. False
/// with `error` when the reference lacks one without a default.
bool planScalars(const std::vector<ScalarValue> &values,
                 const std::vector<Kernel::ScalarInfo> &scalars,
                 std::vector<ScalarArg> &out, std::string &error);

/// Relative error allowed per output dtype: bf16 outputs carry about 2^-8
/// relative rounding per element; f32 outputs (states, log-sum-exp) are
/// accumulated in f32 from bf16 inputs.
double toleranceFor(const std::string &dtype);
/// The file's own tolerance where meta.json gives one, else by its dtype.
double toleranceFor(const TensorFile &file);

/// Every byte of an output buffer before launch and of an input buffer's
/// gaps: NaN in bf16 (0xFFFF) and f32 (0xFFFFFFFF) alike.
constexpr uint8_t kPoison = 0xFF;

/// Logical elements (bf16 or f32 bytes) as doubles.
std::vector<double> asDoubles(const std::vector<uint8_t> &bytes, DType dtype);

/// One output against its reference.
struct Comparison {
  double relError = 0;       ///< ||got - ref|| / ||ref|| over finite pairs
  double maxAbs = 0;         ///< largest |got - ref| over finite pairs
  size_t nans = 0;           ///< NaN results (unwritten, or invalid)
  size_t infMismatches = 0;  ///< infinite in one of result and reference only
  size_t sizeMismatch = 0;   ///< |elements of got - elements of ref|
  double tolerance = 0;
  bool passed() const {
    return nans == 0 && infMismatches == 0 && sizeMismatch == 0 &&
           relError < tolerance;
  }
  /// "rel_err 1.2e-03 (tolerance 1.0e-02) max_abs ... nan 0 inf_mismatch 0"
  std::string summary() const;
};

/// Compares element-wise. A NaN result never passes; an infinite expected
/// value (the log-sum-exp of a row without a visible key is -inf) must be
/// met exactly, and so must an infinite result. When ||ref|| is 0 the
/// error is the absolute ||got - ref||.
Comparison compare(const std::vector<double> &got,
                   const std::vector<double> &expected, double tolerance);

/// One kernel param bound to reference data, laid out for a launch.
struct Operand {
  const TensorFile *file = nullptr; ///< null: an absent optional param
  DType dtype = DType::None;
  size_t elementBytes = 0;
  TensorLayout layout;
  bool output = false;

  size_t bufferBytes() const {
    return size_t(layout.bufferElements) * elementBytes;
  }
  /// The launch argument for a buffer at `base` (the view starts
  /// layout.offset elements in); a null `base` for an absent param.
  TensorArg arg(void *base) const;
};

/// The reference tensors in the kernel's param order, each in `layout`. An
/// optional param the reference has no data for is left absent (file null,
/// rank-many zero sizes: passed as a null pointer). False with `error` when
/// the reference lacks a required param or has a dtype the runtime does not
/// know.
bool planOperands(const std::vector<TensorFile> &tensors,
                  const std::vector<Kernel::ParamInfo> &params, Layout layout,
                  std::vector<Operand> &out, std::string &error);

/// A fake device address per param for Kernel::validate() without a GPU:
/// 16-byte aligned (with a layout's offset added, still so) and 64 GiB
/// apart, so that no two views overlap and the aliasing check stays quiet.
/// validate() never touches the memory.
void *fakeDeviceAddress(size_t param);

/// The launch arguments of `operands` at fake addresses (null for absent
/// params), for Kernel::validate().
std::vector<TensorArg> fakeArgs(const std::vector<Operand> &operands);

} // namespace flashgen::refcheck

#endif // FLASHGEN_RUNTIME_TOOLS_REFERENCECHECK_H
