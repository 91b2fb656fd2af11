//===- ScalarPrinter.h - print scalar IR and control flow as C --*- C++ -*-===//
//
// The part of the CUDA emitter every kernel family shares: SSA value names,
// `arith`/`math` ops as C expressions, `scf.for`/`scf.if` as loops and
// branches, `flash.grid_map`, `flash.dim`, and a packed batch's
// `flash.sequence` and `flash.exit_if` (dialect/Varlen.h). A family printer
// derives from it and prints its own tile ops in `printKernelOp`.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_CODEGEN_SCALARPRINTER_H
#define FLASHGEN_CODEGEN_SCALARPRINTER_H

#include "codegen/CudaEmitter.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mlir::flash {

/// Prints a float so that the CUDA compiler reads back the same f32 value.
std::string floatLiteral(double value);

/// The device library's element type name ("fg::bf16", ...).
std::string elementTypeName(Type type);

/// A [B, H, ...] tensor parameter at (batch, head), as C over the pointer
/// and its strides: `<tensor> + (long long)(<batch>) * <tensor>_s0 +
/// (long long)(<head>) * <tensor>_s1` (unparenthesised).
std::string batchHeadOffset(llvm::StringRef tensor, llvm::StringRef batch,
                            llvm::StringRef head);

/// The C terms of an int-to-float conversion of `value` (C expression), an
/// integer a*i + b*j + c (`coefficients` (a, b)) inside
/// fg::warp::for_each_at, split at the lane's first element (see
/// ScalarPrinter::positions): `lane`, float(value - (a*di + b*dj)), the
/// same for every element of the lane, and `offset`, float(a*di + b*dj),
/// a constant once the fragment loop is unrolled. C type `cType`; di, dj
/// spelled `rowOffset`, `colOffset`.
struct SplitConversion {
  std::string lane, offset;
};
SplitConversion splitConversionTerms(llvm::StringRef cType, llvm::StringRef value,
                                     std::pair<int64_t, int64_t> coefficients,
                                     llvm::StringRef rowOffset,
                                     llvm::StringRef colOffset);

/// The `extern "C"` __global__ definition of a printed kernel: entry,
/// parameter list and body, under `__launch_bounds__(<bounds>)` ("256" or
/// "256, 1").
std::string kernelDefinition(llvm::StringRef bounds, llvm::StringRef entry,
                             llvm::StringRef params, llvm::StringRef body);

/// A kernel's parameter list as a printer writes it: each call starts the
/// next parameter (after ",\n    ") and returns the stream to write it to;
/// the print*Parameters helpers below take one as their `sep`.
class ParameterList {
public:
  llvm::raw_ostream &operator()() {
    if (!first)
      os << ",\n    ";
    first = false;
    return os;
  }
  std::string text() { return os.str(); }

private:
  std::string buffer;
  llvm::raw_string_ostream os{buffer};
  bool first = true;
};

class ScalarPrinter {
public:
  explicit ScalarPrinter(KernelOp kernel) : kernel(kernel) {}
  virtual ~ScalarPrinter() = default;

protected:
  KernelOp kernel;
  EmittedKernel result;
  std::string body;
  llvm::raw_string_ostream os{body};
  llvm::DenseMap<Value, std::string> names;
  unsigned nextName = 0;
  /// How often resultName gave each kValueNameAttr name.
  llvm::StringMap<int> valueNameUses;
  unsigned indent = 1;

  /// Element positions of the region being printed (score_mod's i and j)
  /// and the C names of their compile-time offsets within the lane's
  /// fragment ("di", "dj"; fg::warp::for_each_at). When set, an int-to-float
  /// conversion of an expression affine in the positions, a*i + b*j + c, is
  /// printed as float(value - (a*di + b*dj)) + float(a*di + b*dj): the
  /// first term is the same for every element of the lane and the second a
  /// constant once the fragment loop is unrolled, so the per-element I2F
  /// (a quarter-rate instruction, as costly as the softmax's exp2) becomes
  /// an FADD. Equal to float(value) while |value| and |a*di + b*dj| stay
  /// below 2^24, the range in which float(value) is itself exact.
  struct PositionOffsets {
    Value row, col;
    std::string rowOffset, colOffset;
  };
  std::optional<PositionOffsets> positions;
  /// The conversions printed in that split form, as their two C terms (the
  /// lane's, the compile-time offset's). A product of one of them with a
  /// factor the positions do not reach (ALiBi's slope) prints as
  /// fmaf(factor, offset, factor * lane): the lane's product is computed
  /// once per key tile and the fragment's offsets repeat across its rows,
  /// so the per-element FADD and FMUL of factor * float(value) become one
  /// FFMA shared by the lane's rows. The distributed product is rounded
  /// twice instead of once (within 2 ulp of the bias, far below the bf16
  /// rounding of the scores that follow).
  llvm::DenseMap<Value, std::pair<std::string, std::string>> splitConversions;

  /// Packed (varlen) sides of the kernel's flash.sequence (dialect/Varlen.h;
  /// findSequence) and, once it is printed, the C names of its sequence's
  /// first packed query and key rows (TMA copies add them to their rows).
  bool packedQueries = false, packedKeys = false;
  std::string queryRow0, keyRow0;
  /// The tensors of each side the kernel addresses (flash.sequence
  /// re-declares the packed ones): q and o, k and v by default; lse goes
  /// with the queries.
  std::vector<std::string> queryTensors = {"q", "o"}, keyTensors = {"k", "v"};
  /// A packed tensor's C element type and packed rank where they are not
  /// Elem and [T, H, D] (a recurrence's f32 gates: [T, H] or [T, H, Dk]).
  llvm::StringMap<std::pair<std::string, int>> packedForms;
  /// The queries' side carries the rows' lse (attention; not a recurrence).
  bool lseWithQueries = true;
  /// Every scalar printed is marked [[maybe_unused]]: a block printed for
  /// a role that reads only part of it (the rotating warps' copy of the
  /// producer's region).
  bool partialReader = false;
  /// The packed row tensors the kernel writes (the others are read-only).
  std::vector<std::string> outputRowTensors = {"o"};
  /// The packed row tensors that may be null (optional outputs): their
  /// per-sequence pointer stays null.
  std::vector<std::string> optionalRowTensors;
  /// Called once flash.sequence's rows and lengths are printed, with the
  /// sequence index: a family's own per-sequence addressing (none by
  /// default).
  virtual void printSequenceScratch(Value batch) {}

  /// Prints the family's own ops; called for every op the base does not
  /// know.
  virtual LogicalResult printKernelOp(Operation *op) = 0;

  LogicalResult printBlock(Block &block);
  /// The scalar ops of a recurrence gate region's body (not its
  /// terminator); math.log1p, which printOp leaves out, as libdevice's
  /// log1pf.
  LogicalResult printRegionOps(Block &block);
  /// Prints the ops of a per-element region (flash.score_map,
  /// flash.grad_scores, an output_mod: block arguments score, batch, head,
  /// row i, column j) where C names i and j are in scope: inside
  /// fg::warp::for_each_at's lambda, whose parameters are i, j and their
  /// offsets di, dj (`fragmentOffsets`, which lets position conversions be
  /// split: `positions`), or any loop that declares i and j. The score is
  /// the C expression `score`. The terminator is the caller's.
  /// Ops in `skipped` are left out (the caller prints what they compute
  /// in another form: PositionBias.h).
  LogicalResult printElementRegion(Block &block, StringRef score, Value batch,
                                   Value head, bool fragmentOffsets = true,
                                   llvm::ArrayRef<Operation *> skipped = {});
  /// An output_mod region (block arguments o, batch, head, row, column)
  /// over every element of the accumulator tile `tile` (C name) in place:
  /// fg::warp::for_each_at from the lane's (`row0`, `col0`) C expressions.
  LogicalResult printOutputModOver(Block &block, StringRef tile, StringRef row0,
                                   StringRef col0, Value batch, Value head);
  LogicalResult printOp(Operation *op);
  /// Reads the packed sides off the kernel's flash.sequence, if any.
  void findSequence();
  /// flash.sequence: the sequence's lengths, and each packed tensor's
  /// pointer and [B, H, N, D] strides re-declared at the sequence's first
  /// row, so every copy and store prints as it does for a batch entry.
  LogicalResult printSequence(SequenceOp op);
  /// A [B, H, N, D] tensor parameter of the queries' side (q, o) or the
  /// keys' (k, v): its pointer and 4 strides, or, packed, `<t>_packed` and
  /// the 3 strides of [T, H, D]; recorded in result.arguments. `scratch`
  /// given: the same parameter bound to that scratch buffer of the variant
  /// (kRotatedKeysScratch in k's place).
  void printRowsParameter(llvm::function_ref<llvm::raw_ostream &()> sep,
                          llvm::StringRef tensor, bool output,
                          llvm::StringRef scratch = {});
  /// The rows' log-sum-exp `lse` [B, Hq, N] (f32), or with packed queries
  /// `lse_packed` [Hq, Tq].
  void printLseParameter(llvm::function_ref<llvm::raw_ostream &()> sep);
  /// Each packed side's offsets [B + 1] and its packed row count, which
  /// bounds them (dialect/Varlen.h).
  void printSequenceParameters(llvm::function_ref<llvm::raw_ostream &()> sep);
  /// The kernel parameters of the op's extra operands that the kernel reads
  /// (flash.extra; dialect/ExtraOperands.h), each after `sep()`: a tensor
  /// as `const T* __restrict__ x_<name>` and its strides, a scalar as
  /// `T x_<name>`; recorded in result.arguments.
  void printExtraParameters(llvm::function_ref<llvm::raw_ostream &()> sep);
  /// Where the kernel reads a paged cache (flash.tile_load page_size): the
  /// page table `page_table` and its two strides, then the pools' page
  /// count (dialect/PagedKv.h), each after `sep()`.
  void printPageTableParameters(llvm::function_ref<llvm::raw_ostream &()> sep);
  /// `tensor` at (batch, the first query head of kv head `kvHead`'s group of
  /// `group`): where flash_decode's packed rows of that group start.
  std::string packedGroupBase(StringRef tensor, Value batch, Value kvHead,
                              int64_t group);
  /// flash_decode's scratch (both of its kernels): the key splits' f32
  /// partial rows `o_split` [rows, Dv] and their log-sum-exp `lse_split`
  /// [rows], each a pointer and its strides.
  void printSplitScratchParameters(llvm::function_ref<llvm::raw_ostream &()> sep);
  /// `int dim_<name>` for every distinct dynamic-size name of the problem's
  /// `dims`, in that order (batch, queries, keys); recorded as symbols.
  void printDimParameters(llvm::function_ref<llvm::raw_ostream &()> sep);
  /// The kernel parameters of its flash.launch_value ops: `int lv_<name>`
  /// each, evaluated by the launch from the op's expression.
  void printLaunchValueParameters(llvm::function_ref<llvm::raw_ostream &()> sep);
  /// tensor.extract of an extra: a read-only load with every index clamped
  /// into its dimension, or the scalar parameter itself.
  LogicalResult printExtract(Operation *op);
  /// Extent of dim d of a flash.extra: its static size, or the C name of
  /// the flash.dim value of its dynamic size.
  std::string extraExtent(ExtraOp extra, int64_t d);
  /// The element offset of C index `index` along dim d of a flash.extra,
  /// the index clamped into the dim (docs/semantics.md §2.7):
  /// `(long long)fg::imin(fg::imax(index, 0), extent - 1) * x_<name>_s<d>`.
  std::string clampedExtraOffset(ExtraOp extra, int64_t d, StringRef index);
  /// fg::rotary::tables of the rotary tables cos and sin (flash.extra
  /// values, [P, R/2] or [B, P, R/2]) for sequence `batch`.
  std::string rotaryTables(Value cos, Value sin, Value batch);
  /// The calls that rotate rows (flash.tile_rotate, a rotating
  /// flash.pipe_produce's rotation, flash.rows_rotate): their template
  /// arguments HALF, DIMS.
  static std::string rotaryTemplate(RotaryStyle style, int64_t dims);
  LogicalResult printScalar(Operation *op);
  /// (a, b) when `value` is a*row + b*col + (something without them) under
  /// `positions`; nothing when it depends on them otherwise.
  std::optional<std::pair<int64_t, int64_t>> positionCoefficients(Value value);
  /// Whether `value` is computed from the element positions at all.
  bool dependsOnPositions(Value value);
  /// Whether `user` prints as the distributed product of the split
  /// `conversion` (see splitConversions): an f32 mulf whose other factor
  /// the positions do not reach.
  bool distributesOver(Operation *user, Value conversion);

  int64_t problemInt(StringRef key);
  std::string problemString(StringRef key);
  llvm::raw_ostream &line();
  std::string fresh() { return "v" + std::to_string(nextName++); }
  /// The name of op's result: its kValueNameAttr (numbered after its
  /// first use: a region cloned twice in one scope), else fresh().
  std::string resultName(Operation *op);
  std::string name(Value value) { return names.lookup(value); }
};

/// A grid extent of the manifest's expression language ("cdiv(N,128)",
/// "16", "B") as C++ over the kernel's size arguments
/// ("fg::ceildiv(dim_N, 128)", "16", "dim_B").
std::string extentToCpp(llvm::StringRef extent);

/// A persistent kernel's tiles over grid roles (flash.tile_rounds,
/// flash.chunk_rounds): each extent as C++ ("(dim_B)"), the launch's tile
/// count (their product), and its grid, min(tiles, num_sms) x 1 x 1 (the
/// launching device's SMs, docs/bundle-format.md §1.8).
struct PersistentTiles {
  llvm::SmallVector<std::string> extents;
  std::string tiles;
  llvm::SmallVector<std::string> grid;
  /// `tile`'s id along role i (the first role fastest), as C++.
  std::string id(llvm::StringRef tile, size_t i) const;
};
PersistentTiles persistentTiles(mlir::ArrayAttr extents);

} // namespace mlir::flash

#endif // FLASHGEN_CODEGEN_SCALARPRINTER_H
