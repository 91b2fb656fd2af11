//===- Manifest.h - Parsed and checked bundle manifest ----------*- C++ -*-===//
//
// The in-memory form of manifest.json (docs/bundle-format.md §1). Reading
// checks everything that can be checked without arguments: field types,
// unknown keys, names, expressions (parsed against the kernel's symbols and
// scalars), that every symbol is bound by some tensor dim, and the fixed
// limits below, so that launch-time code can rely on them.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_MANIFEST_H
#define FLASHGEN_RUNTIME_MANIFEST_H

#include "flashgen/runtime.h"
#include "runtime/Expr.h"
#include "runtime/Json.h"

#include <cstdint>
#include <string>
#include <vector>

namespace flashgen {

/// Fixed limits, so that launch-time validation works in stack storage.
constexpr int kMaxRank = 8;
constexpr int kMaxParams = 32;
constexpr int kMaxSlots = 64; // symbols + scalars of one kernel, and num_sms
/// The name expressions use for the launching device's SM count (a
/// persistent grid's "min(tiles,num_sms)"); no symbol or scalar takes it.
constexpr const char *kMultiprocessorsName = "num_sms";
constexpr int kMaxScratch = 16;
constexpr int kMaxLaunches = 16;
/// Bytes of kernel parameters cuLaunchKernel accepts on every supported arch.
constexpr int kMaxParamBytes = 4096;
/// Bounds on what one manifest may list, so that no manifest makes the
/// loader's work (or a kernel's launch checks) grow without bound.
constexpr int kMaxKernels = 1024;
constexpr int kMaxVariants = 256;
constexpr int kMaxVariantFiles = 256; // sources + headers
constexpr int kMaxNvrtcOptions = 64;
constexpr int kMaxConstraints = 64;
/// The longest file path a manifest may name.
constexpr size_t kMaxPathBytes = 1024;

constexpr int kBundleFormatVersion = 1;
constexpr const char kBundleFormatName[] = "flashgen-bundle";

enum class ParamIo { In, Out, InOut };

struct SymbolSpec {
  std::string name;
  int64_t min = 1;
  int64_t max = 2147483647;
};

struct ScalarSpec {
  std::string name;
  DType dtype = DType::F32; // F32, I32 or I64
  bool hasDefault = false;
  double defaultFloat = 0.0;
  int64_t defaultInt = 0;
  bool hasMin = false, hasMax = false;
  double minFloat = 0.0, maxFloat = 0.0;
  int64_t minInt = 0, maxInt = 0;
  bool isInteger() const { return dtype != DType::F32; }
};

struct DimSpec {
  enum class Kind { Static, Symbol, Derived };
  Kind kind = Kind::Static;
  int64_t value = 0; // Static
  int slot = -1;     // Symbol
  Expr expr;         // Derived
  std::string text;  // as written, for messages
};

struct ParamSpec {
  std::string name;
  ParamIo io = ParamIo::In;
  DType dtype = DType::None;
  std::vector<DimSpec> shape;
  bool optional = false;
  int64_t pointerAlign = 16;
  int64_t strideAlign = 1;
  /// The kernels read the last dim through its stride ("strided_last_dim"),
  /// so the binder takes any non-negative last-dim stride.
  bool stridedLastDim = false;
  /// An output that may be this input param itself (same pointer and
  /// strides; "may_alias"): the kernels read each element before they
  /// write it, from the thread that writes it (a recurrence's final state
  /// over its initial state, for in-place decoding). -1: none.
  int mayAlias = -1;
  std::string mayAliasName; ///< as the manifest spells it, until resolved
};

struct ScratchSpec {
  std::string name;
  DType dtype = DType::None;
  std::vector<Expr> shape;
  bool zeroInit = false;
};

struct ArgSpec {
  enum class Kind { Tensor, Scratch, Symbol, Scalar, Expr, Float, Int, TensorMap };
  Kind kind = Kind::Int;
  int index = -1; // param, scratch, symbol slot or scalar index
  Expr expr;
  double floatValue = 0.0;
  int64_t intValue = 0;
  // TensorMap: a TMA map of param `index` (runtime/TensorMaps.h), boxes of
  // boxRows x boxCols elements with a swizzleBytes swizzle.
  int boxRows = 0, boxCols = 0, swizzleBytes = 0;
  // TensorMap: `index` is a scratch buffer of the variant instead ("scratch"
  // in place of "tensor"), so a later launch can read with TMA what an
  // earlier one wrote to the workspace.
  bool mapsScratch = false;
};

struct LaunchSpec {
  std::string entry;
  Expr grid[3];
  unsigned block[3] = {1, 1, 1};
  Expr dynamicSmemBytes = Expr::constant(0);
  bool hasCluster = false;
  unsigned cluster[3] = {1, 1, 1};
  /// The kernel waits for the previous launch of its variant (PTX
  /// griddepcontrol.wait), so it may start while that one runs.
  bool overlapsPrevious = false;
  std::vector<ArgSpec> args;
};

struct VariantSpec {
  json::Value schedule;
  json::Value io;
  json::Value resources;
  std::vector<std::string> sources;
  std::vector<std::string> headers;
  std::vector<std::string> nvrtcOptions;
  std::vector<ScratchSpec> scratch;
  std::vector<LaunchSpec> launches;
};

/// Which variant runs by default at which size (the manifest's
/// "dispatch"): variants[k] for symbol values in (upperBounds[k-1],
/// upperBounds[k]], the last one above the last bound. The symbol is read
/// from dim `dim` of param `param` (a non-optional one that binds it).
struct DispatchSpec {
  int slot = -1;
  int param = -1, dim = -1;
  std::vector<int64_t> upperBounds;
  std::vector<int> variants;
  bool present() const { return slot >= 0; }
  /// The variant for symbol value `value`.
  int variantFor(int64_t value) const {
    size_t k = 0;
    while (k < upperBounds.size() && value > upperBounds[k])
      ++k;
    return variants[k];
  }
};

struct KernelSpec {
  std::string name;
  std::string op;
  std::vector<SymbolSpec> symbols;
  std::vector<ScalarSpec> scalars;
  std::vector<ParamSpec> params;
  std::vector<Constraint> constraints;
  std::vector<VariantSpec> variants;
  /// Informative: floating-point operations of one launch as an expression
  /// over symbols and integer scalars ("flops"), for tools that report
  /// TFLOP/s (flashgen-run); the launch path never evaluates it.
  bool hasFlops = false;
  Expr flops;
  DispatchSpec dispatch;

  /// Expression slots: symbols first, then scalars, then num_sms (the
  /// launching device's SM count, docs/bundle-format.md §1.8).
  int numSlots() const {
    return static_cast<int>(symbols.size() + scalars.size());
  }
  int multiprocessorsSlot() const { return numSlots(); }
  int scalarSlot(int scalarIndex) const {
    return static_cast<int>(symbols.size()) + scalarIndex;
  }
  /// Name of a slot, for messages.
  const std::string &slotName(int slot) const;
};

struct Manifest {
  int version = 0;
  std::string flashgenVersion;
  std::string target;
  std::vector<KernelSpec> kernels;

  const KernelSpec *findKernel(const std::string &name) const;
};

/// Reads and checks a parsed manifest.json. `error` names the field, e.g.
/// "kernels[0].params[2].shape[1]: unknown symbol 'Nq'".
bool readManifest(const json::Value &root, Manifest &out, std::string &error);

/// Parses JSON text and reads it; `error` is prefixed with "manifest.json".
bool parseManifest(const std::string &text, Manifest &out, std::string &error);

/// True for "sm_XY" / "sm_XYa" / "sm_XYf" (X, Y digits, X may be 2 digits).
bool parseArch(const std::string &arch, int &major, int &minor,
               bool &archSpecific);

/// True for a C identifier: [A-Za-z_][A-Za-z0-9_]*.
bool isIdentifier(const std::string &s);

/// A manifest file path must stay inside the bundle: relative, no "..",
/// no empty or "." components, only [A-Za-z0-9._+-/], at most
/// kMaxPathBytes with components of at most 255.
bool isSafeBundlePath(const std::string &path);

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_MANIFEST_H
