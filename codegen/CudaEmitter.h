//===- CudaEmitter.h - print CUDA C++ from flash.kernel IR ------*- C++ -*-===//
//
// Prints one `flash.kernel` as a self-contained CUDA C++ translation unit
// that includes only the device tile library (codegen/device/). Everything
// variant-specific comes from the IR: the constants from #flash.schedule and
// the problem attributes, the grid mapping, the index arithmetic, the loops,
// the mask and score code of each flash.score_map, the tile ops.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_CODEGEN_CUDAEMITTER_H
#define FLASHGEN_CODEGEN_CUDAEMITTER_H

#include "dialect/FlashDialect.h"

#include "mlir/Support/LLVM.h"

#include <string>
#include <vector>

namespace mlir::flash {

/// One kernel parameter of the emitted entry point, in order; mirrors a
/// manifest `args` entry (docs/bundle-format.md §2).
struct KernelArgument {
  /// TensorMap: a tensor map of tensor `name` (a CUtensorMap the runtime
  /// encodes at launch, boxes of `boxRows` rows by 64 columns, 128-byte
  /// swizzle; codegen/device/memory/tma.cuh).
  /// Scalar: a run-time scalar (a rank-0 extra operand), passed by value.
  /// Scratch: a buffer of the kernel's workspace (f32, contiguous), a
  /// pointer and its strides. Expr: an int the launch evaluates from `expr`
  /// (flash.launch_value).
  enum class Kind { Tensor, Symbol, TensorMap, Scalar, Scratch, Expr };
  Kind kind;
  std::string name; ///< tensor, dimension or scalar name ("q", "N")
  int64_t boxRows = 0;
  std::string expr; ///< Expr: the manifest expression
  /// TensorMap: `name` is a scratch buffer of the variant, not a param.
  bool ofScratch = false;
};

/// The printed kernel and what the bundle writer needs to describe it.
struct EmittedKernel {
  std::string entry;  ///< extern "C" name of the __global__ function
  std::string source; ///< the whole .cu text
  std::vector<KernelArgument> arguments;
  std::vector<std::string> grid; ///< x, y, z extents as manifest expressions
  int64_t threads = 0;
  int64_t dynamicSmemBytes = 0;
  /// The kernel waits for the previous launch of its variant
  /// (flash.wait_previous_launch), so it may be launched overlapping it.
  bool overlapsPrevious = false;
  std::vector<std::string> headers; ///< device headers the source includes
};

/// Prints `kernel`. Fails with a diagnostic on the kernel when the IR holds an
/// op the emitter has no printing for.
FailureOr<EmittedKernel> emitCudaKernel(KernelOp kernel);

/// The scratch word a persistent kernel with claimed rounds counts its
/// claimed tiles in (i32 [1], zeroed before each launch).
constexpr const char *kTileClaimsScratch = "tile_claims";

/// The workspace copy of K that a rotary_prepass schedule's first kernel
/// writes rotated ([B, Hkv, M, D], K's element type, contiguous) and its
/// attention kernel reads in k's place (passes/LowerAttentionRotary.cpp).
constexpr const char *kRotatedKeysScratch = "k_rotated";

/// The workspace copy of q (q_rotated) or k (kRotatedKeysScratch) rotated
/// by a kernel of family attention_rotate.
std::string rotatedCopyScratch(TensorRole tensor);

/// `kernel` reads K from kRotatedKeysScratch: an attention kernel of a
/// rotary_prepass schedule.
bool readsRotatedKeys(KernelOp kernel);

/// `kernel` reads q and k from their rotated copies: a gradient kernel of
/// an attention with rotary embedding (the backward's first launches wrote
/// them).
bool readsRotatedInputs(KernelOp kernel);

/// The path under which the umbrella device header is included.
constexpr const char *kDeviceUmbrellaHeader = "flashgen/device/flashgen_device.cuh";
/// Signed floor/ceil division for emitted index arithmetic.
constexpr const char *kDeviceIndexMathHeader = "flashgen/device/core/index_math.cuh";

} // namespace mlir::flash

#endif // FLASHGEN_CODEGEN_CUDAEMITTER_H
