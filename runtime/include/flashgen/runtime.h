//===- runtime.h - flashgen runtime C++ API ---------------------*- C++ -*-===//
//
// Loads a bundle written by the flashgen compiler (docs/bundle-format.md),
// JIT-compiles its kernels with NVRTC for the device's own arch (with a memory
// and disk cache), checks every launch argument against the manifest, and
// launches with cuLaunchKernel. The CUDA driver is loaded with dlopen, so a
// program linking this library starts, loads bundles, validates arguments and
// compiles on machines without a GPU; only Device::open then fails, cleanly.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_H
#define FLASHGEN_RUNTIME_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace flashgen {

/// Version of this runtime; part of every cache key.
const char *runtimeVersion();

//===----------------------------------------------------------------------===//
// Status
//===----------------------------------------------------------------------===//

/// Numeric values are shared with flashgen_status_t in runtime_c.h.
enum class StatusCode : int {
  Ok = 0,
  InvalidArgument = 1, ///< A launch or API argument is wrong; the message names it.
  BundleFormat = 2,    ///< manifest.json is malformed or of an unknown format/version.
  FileError = 3,       ///< A file is missing or unreadable; the message names it.
  NotFound = 4,        ///< No kernel of that name, no variant of that index.
  NoDriver = 5,        ///< libcuda.so.1 could not be loaded or initialised.
  NoDevice = 6,        ///< No GPU (or not that ordinal), or a kernel without a device.
  UnsupportedArch = 7, ///< The bundle's target does not run on this device.
  CompileError = 8,    ///< NVRTC failed; the message holds the full log.
  OutOfResources = 9,  ///< Shared memory, threads, ... above the device's limit.
  CudaError = 10,      ///< A driver call failed; the message names it.
  OutOfMemory = 11,    ///< Workspace allocation failed.
  Internal = 12,
};

const char *statusCodeName(StatusCode code);

/// Result of every fallible call. Success carries no message and allocates
/// nothing, so returning Status on the launch path is free.
class [[nodiscard]] Status {
public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}
  static Status success() { return Status(); }

  bool ok() const { return code_ == StatusCode::Ok; }
  explicit operator bool() const { return ok(); }
  StatusCode code() const { return code_; }
  const std::string &message() const { return message_; }
  /// "InvalidArgument: q: dim 2 ..." for logs.
  std::string toString() const;

private:
  StatusCode code_ = StatusCode::Ok;
  std::string message_;
};

//===----------------------------------------------------------------------===//
// Arguments
//===----------------------------------------------------------------------===//

/// Element types (docs/bundle-format.md §1.7). Values shared with the C API.
enum class DType : int32_t {
  None = 0,
  BF16 = 1,
  F16 = 2,
  F32 = 3,
  F64 = 4,
  I8 = 5,
  U8 = 6,
  I32 = 7,
  I64 = 8,
};

/// Manifest spelling ("bf16"), or "none".
const char *dtypeName(DType dtype);
/// Bytes per element; 0 for None.
size_t dtypeSize(DType dtype);
/// Parses a manifest spelling; false if unknown.
bool parseDType(const std::string &text, DType &out);

/// A device tensor passed by the caller. `sizes` and `strides` (in elements)
/// have `rank` entries; a null `strides` means contiguous row-major. Both
/// arrays are read during the call only.
struct TensorArg {
  void *data = nullptr;
  DType dtype = DType::None;
  int32_t rank = 0;
  const int64_t *sizes = nullptr;
  const int64_t *strides = nullptr;
};

/// A run-time scalar (the manifest's "scalars"). `dtype` None means "use the
/// manifest's default"; F32/F64 read `f`, I32/I64 read `i`.
struct ScalarArg {
  DType dtype = DType::None;
  double f = 0.0;
  int64_t i = 0;

  static ScalarArg ofFloat(double value) { return {DType::F32, value, 0}; }
  static ScalarArg ofInt(int64_t value) { return {DType::I64, 0.0, value}; }
  static ScalarArg useDefault() { return {}; }
};

struct LaunchOptions {
  /// CUstream; null is the legacy default stream.
  void *stream = nullptr;
  /// Caller-owned workspace (device memory). When given, the launch never
  /// allocates; it must hold at least Kernel::workspaceBytes().
  void *workspace = nullptr;
  size_t workspaceBytes = 0;
};

//===----------------------------------------------------------------------===//
// Compile reports
//===----------------------------------------------------------------------===//

/// What ptxas reported for one entry point. -1 where not reported.
struct ResourceUsage {
  int registers = -1;
  int64_t sharedBytes = -1; ///< static shared memory
  int64_t stackBytes = -1;  ///< stack frame (local memory)
  int64_t spillStoreBytes = -1;
  int64_t spillLoadBytes = -1;
  int64_t spillBytes() const {
    return (spillStoreBytes > 0 ? spillStoreBytes : 0) +
           (spillLoadBytes > 0 ? spillLoadBytes : 0);
  }
};

struct FunctionReport {
  std::string entry;
  ResourceUsage usage;
};

struct ModuleReport {
  std::string source;   ///< path of the .cu inside the bundle
  std::string cacheKey; ///< sha256 hex
  bool cacheHit = false;
  double compileSeconds = 0.0; ///< 0 on a cache hit
  size_t cubinBytes = 0;
  std::string log; ///< NVRTC + ptxas log
  std::vector<std::string> warnings; ///< warning lines of the log
  std::vector<FunctionReport> functions;
};

struct CompileReport {
  std::string kernel;
  int variant = 0;
  std::string arch;
  std::vector<ModuleReport> modules;
};

/// The report as JSON: {"kernel","variant","arch","modules":[{"source",
/// "cache_key","cache_hit","compile_seconds","cubin_bytes","warnings":[...],
/// "functions":[{"entry","registers","shared_bytes","stack_bytes",
/// "spill_store_bytes","spill_load_bytes"}],"log"}]}.
std::string toJson(const CompileReport &report);

/// Receives one line per notable runtime event (damaged cache entry
/// recompiled, compile times with FLASHGEN_LOG=1). Default: stderr.
using LogCallback = void (*)(const char *message, void *user);
void setLogCallback(LogCallback callback, void *user);

//===----------------------------------------------------------------------===//
// Device, Bundle, Kernel
//===----------------------------------------------------------------------===//

class Device {
public:
  /// Opens GPU `ordinal` (its primary context). Fails with NoDriver when
  /// libcuda cannot be loaded and NoDevice when there is no such GPU. Opening
  /// one ordinal twice returns the same object, so the module cache is shared.
  static Status open(int ordinal, std::shared_ptr<Device> &out);
  /// Number of GPUs; fails like open() when there is no driver.
  static Status count(int &out);

  ~Device();
  Device(const Device &) = delete;
  Device &operator=(const Device &) = delete;

  int ordinal() const;
  const std::string &name() const;
  /// NVRTC arch compiled for: "sm_90a" on CC 9.0, "sm_86" on CC 8.6.
  const std::string &arch() const;
  int computeCapabilityMajor() const;
  int computeCapabilityMinor() const;
  /// Opt-in maximum of dynamic shared memory per block.
  int64_t maxDynamicSharedBytes() const;
  int multiprocessorCount() const;

  struct Impl;
  Impl &impl() const { return *impl_; }

private:
  explicit Device(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Maps compute capability to the NVRTC arch: sm_XYa for 9.0 and 10.x,
/// sm_XY otherwise.
std::string archForComputeCapability(int major, int minor);

class Kernel;
struct BundleData;

/// Picks which of a kernel's variants a launch runs. Variants are the
/// scheduler's ranked candidates (docs/bundle-format.md §1.4); without a
/// chooser a kernel runs variant() (0, the first choice, unless
/// selectVariant says otherwise). The runtime calls choose() on every
/// launch of a kernel that has a chooser and prepares (compiles and loads)
/// the variant it returns on first use, so a chooser only decides. The
/// autotuner (autotune/, flashgen/autotune.h) is one: it times the variants
/// per shape bucket. The runtime itself knows nothing of it.
class VariantChooser {
public:
  virtual ~VariantChooser();
  /// The variant this launch runs. On the launch path: keep the common case
  /// free of locks and allocation. May block (e.g. to time variants) and
  /// may return kernel.variant(). An index out of range fails the launch
  /// with Internal.
  virtual int choose(Kernel &kernel, const TensorArg *tensors,
                     size_t numTensors, const ScalarArg *scalars,
                     size_t numScalars, const LaunchOptions &options) = 0;
  /// The variant choose() would return for these tensors now, without side
  /// effects (no tuning, no compiling); `fallback` when it has not decided.
  virtual int peek(const Kernel &kernel, const TensorArg *tensors,
                   size_t numTensors, int fallback) const = 0;
};

/// Gives each kernel a chooser as Bundle::getKernel creates it, or null to
/// leave it without one. One process-wide factory, so that a library that
/// is linked or loaded (libflashgen_autotune registers one that honours
/// FLASHGEN_AUTOTUNE) changes every kernel without the caller's help.
using VariantChooserFactory =
    std::unique_ptr<VariantChooser> (*)(Kernel &kernel);
/// Replaces the factory (null: none, the default). Kernels created before
/// keep their chooser.
void setVariantChooserFactory(VariantChooserFactory factory);
VariantChooserFactory variantChooserFactory();

class Bundle {
public:
  /// Reads `dir`/manifest.json and every source and header it names. Fails
  /// with BundleFormat (naming the field) or FileError (naming the file).
  static Status load(const std::string &dir, std::shared_ptr<Bundle> &out);
  /// The same from memory: `files` maps bundle-relative paths to contents
  /// (tests, and compilers handing a bundle over without touching disk).
  static Status fromMemory(const std::string &manifestJson,
                           const std::map<std::string, std::string> &files,
                           const std::string &label,
                           std::shared_ptr<Bundle> &out);

  ~Bundle();
  const std::string &path() const; ///< dir or label
  const std::string &target() const;
  std::vector<std::string> kernelNames() const;

  /// Prepares a kernel: with a device, compiles (through the cache) and loads
  /// variant 0 and precomputes its launches; with a null device, the kernel
  /// validates arguments and compiles but cannot launch.
  Status getKernel(const std::string &name, std::shared_ptr<Device> device,
                   std::unique_ptr<Kernel> &out) const;

  /// Compiles one variant for `arch` (e.g. "sm_80", "sm_90a") without a GPU,
  /// through the disk cache, and checks each launch's packed arguments
  /// against the compiled entry's parameter table.
  Status compileVariant(const std::string &kernel, int variant,
                        const std::string &arch, CompileReport &out) const;

  const BundleData &data() const { return *data_; }

private:
  explicit Bundle(std::shared_ptr<const BundleData> data);
  std::shared_ptr<const BundleData> data_;
};

struct KernelImpl;

class Kernel {
public:
  ~Kernel();
  Kernel(const Kernel &) = delete;
  Kernel &operator=(const Kernel &) = delete;

  const std::string &name() const;
  int numVariants() const;
  int variant() const;
  /// Switches to candidate `index` (compiling it on first use) and drops
  /// the kernel's chooser: an explicit choice wins. Not to be called
  /// concurrently with launch().
  Status selectVariant(int index);

  /// Installs (or with null, removes) the chooser that picks each launch's
  /// variant. Not to be called concurrently with launch().
  void setVariantChooser(std::unique_ptr<VariantChooser> chooser);
  /// The installed chooser, or null.
  VariantChooser *variantChooser() const;
  /// The variant a launch with these tensors would run now, without side
  /// effects: the chooser's peek() while one is installed, else variant().
  int variantFor(const TensorArg *tensors, size_t numTensors) const;

  /// A param as the manifest declares it (launch() takes tensors in this
  /// order).
  struct ParamInfo {
    std::string name;
    DType dtype = DType::None;
    int rank = 0;
    enum class Io { In = 0, Out = 1, InOut = 2 } io = Io::In;
    bool optional = false;
    /// Every stride but the last must be a multiple of this many elements
    /// (16-byte row copies: 8 for 16-bit rows); 1 where the kernel reads
    /// the tensor element by element.
    int64_t strideAlign = 1;
    /// The kernels index the last dim through its stride too, so any
    /// non-negative last-dim stride is taken (the manifest's
    /// strided_last_dim: a recurrence's [B, H, T] gates stored time-major,
    /// [B, T, H], as flash-linear-attention keeps them). Otherwise the last
    /// dim must be contiguous.
    bool stridedLastDim = false;
    /// An output that may be one input itself (same pointer and strides):
    /// that input's index, else -1 (the manifest's may_alias; a
    /// recurrence's final state over its initial state).
    int mayAlias = -1;
  };
  struct ScalarInfo {
    std::string name;
    DType dtype = DType::None;
    bool hasDefault = false;
  };
  std::vector<ParamInfo> params() const;
  std::vector<ScalarInfo> scalars() const;
  std::vector<std::string> paramNames() const;
  std::vector<std::string> scalarNames() const;
  /// Report of the current variant's compile (empty without a device).
  const CompileReport &compileReport() const;

  /// All CPU-side checks of launch() (docs/bundle-format.md §3 steps 1-5),
  /// without a device.
  Status validate(const TensorArg *tensors, size_t numTensors,
                  const ScalarArg *scalars, size_t numScalars) const;
  /// Workspace bytes the current variant needs for these arguments; while
  /// a chooser is installed, the most any variant needs, so that a
  /// workspace sized from it fits whichever variant is chosen.
  Status workspaceBytes(const TensorArg *tensors, size_t numTensors,
                        const ScalarArg *scalars, size_t numScalars,
                        size_t &bytes) const;
  /// Grows the kernel-owned workspace to at least `bytes` now (e.g. before
  /// CUDA-graph capture) so that launches without a workspace never allocate.
  Status reserveWorkspace(size_t bytes);

  /// Validates, then issues the variant's launches on options.stream.
  Status launch(const TensorArg *tensors, size_t numTensors,
                const ScalarArg *scalars, size_t numScalars,
                const LaunchOptions &options);
  Status launch(const std::vector<TensorArg> &tensors,
                const std::vector<ScalarArg> &scalars,
                const LaunchOptions &options) {
    return launch(tensors.data(), tensors.size(), scalars.data(),
                  scalars.size(), options);
  }

  /// The prepared state, for libraries layered on the runtime (the
  /// autotuner); like Device::impl().
  KernelImpl &impl() const { return *impl_; }

private:
  friend class Bundle;
  explicit Kernel(std::unique_ptr<KernelImpl> impl);
  std::unique_ptr<KernelImpl> impl_;
};

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_H
