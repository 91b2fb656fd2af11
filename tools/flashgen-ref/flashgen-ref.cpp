//===- flashgen-ref.cpp - reference outputs for a spec on random inputs ---===//
//
// `flashgen-ref spec.mlir --dim NAME=VALUE... --seed S -o DIR` draws random
// inputs for every flash op of the spec, rounds them to the op's element type,
// runs the float64 reference (reference/), evaluating score_mod and mask_mod
// with the region interpreter, and writes DIR/<function>/:
//   <input>.npy (bf16 as raw bits, '<u2'; f32 as '<f4'), o.expected.npy (and
//   lse.expected.npy for attention) and any final state (cf, nf, mf: the
//   names of the bundle params; the float64 results rounded to float32), and
//   meta.json naming every file, dtype and shape.
// A flash.attention_grad (a `<name>_backward` function of
// flash-derive-backward, run first with --backward) gets inputs q, k, v, o,
// do, lse and expected outputs dq, dk, dv, plus each gradient's
// rounding-error scale (dq_scale, ...; role "error_scale").
// A flash.linear_attention_grad gets q, k, v, the gates, do (c0, dcf) and
// expected dq, dk, dv, the gates' gradients (dg) and dc0.
// A flash.delta_rule gets q, k, v, beta (g, s0) and o (sf) (docs/semantics.md
// §7). An attention whose k is a flash.block_mask also gets the lists drawn
// (kv_num_blocks, kv_indices, and the full ones where the op has them; §2.10).
// GPU tests, built without LLVM, read these files.
//
//===----------------------------------------------------------------------===//

#include "dialect/BlockMask.h"
#include "dialect/DimBindings.h"
#include "dialect/PagedKv.h"
#include "dialect/Rotary.h"
#include "dialect/Varlen.h"
#include "reference/Attention.h"
#include "reference/AttentionGrad.h"
#include "reference/Bf16.h"
#include "reference/BlockMask.h"
#include "reference/DeltaRule.h"
#include "reference/Inputs.h"
#include "reference/Npy.h"
#include "reference/PagedKv.h"
#include "reference/Random.h"
#include "reference/Varlen.h"
#include "reference/Recurrence.h"
#include "reference/Rotary.h"
#include "reference/RecurrenceGrad.h"
#include "reference/ReferenceError.h"
#include "runtime/tools/ToolVersion.h"
#include "passes/Passes.h"
#include "tools/flashgen-ref/RegionInterpreter.h"
#include "tools/flashgen/SpecLoader.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>

using namespace mlir;
using namespace mlir::flash;
namespace ref = flashgen::reference;

namespace {

struct Options {
  std::string spec, output;
  uint64_t seed = 0;
  DimValues dims;
  double gateMin = 0, gateMax = 0; ///< mLSTM preactivation range override
  bool gateRangeGiven = false;
  bool initialState = false;
};

namespace cl = llvm::cl;
cl::OptionCategory category("flashgen-ref options");
cl::opt<std::string> specArg(cl::Positional, cl::Required, cl::desc("<spec.mlir>"),
                             cl::cat(category));
cl::opt<std::string> outputArg("o", cl::Required, cl::value_desc("dir"),
                               cl::desc("writes <dir>/<function>/ per flash op"),
                               cl::cat(category));
cl::alias outputAlias("output", cl::desc("alias for -o"), cl::aliasopt(outputArg));
cl::list<std::string> dimArgs("dim", cl::value_desc("NAME=VALUE"),
                              cl::desc("a dynamic size (repeatable; every one "
                                       "needs one)"),
                              cl::cat(category));
cl::opt<uint64_t> seedArg("seed", cl::init(0), cl::value_desc("S"),
                          cl::desc("the inputs' random seed (default 0)"),
                          cl::cat(category));
cl::opt<std::string> gateRangeArg(
    "gate-range", cl::value_desc("LO,HI"),
    cl::desc("mLSTM gate preactivations drawn from [LO, HI] (LO may be "
             "negative)"),
    cl::cat(category));
cl::list<std::string> bitExtrasArg(
    "bit-extras", cl::CommaSeparated, cl::value_desc("NAME,..."),
    cl::desc("integer extras drawn as uniformly random 32-bit words "
             "(bit-packed masks, e.g. a tree's ancestor bits) instead of "
             "segment ids"),
    cl::cat(category));
cl::opt<bool> initialStateArg("initial-state",
                              cl::desc("recurrences: a random initial state too"),
                              cl::cat(category));
cl::opt<bool> backwardArg(
    "backward",
    cl::desc("run flash-derive-backward on the spec first, so each function "
             "<name> with one flash.attention also gets <dir>/<name>_backward/ "
             "(inputs q, k, v, o, do, lse; expected dq, dk, dv and their "
             "error scales dq_scale, dk_scale, dv_scale). Without it, "
             "flash.attention_grad ops already in the spec are still "
             "evaluated"),
    cl::cat(category));

/// The tensor's element type as stored in files and passed to kernels.
std::string dtypeOf(Type type) {
  if (type.isBF16())
    return "bf16";
  if (type.isF16())
    return "f16";
  if (type.isInteger(32))
    return "i32";
  if (type.isInteger(64))
    return "i64";
  return "f32";
}

ref::Rounding roundingOf(Type type) {
  if (type.isBF16())
    return ref::Rounding::Bf16;
  return ref::Rounding::Float32;
}

class Writer {
public:
  Writer(std::string dir) : dir(std::move(dir)) {}

  /// Writes an input in its element type; the values must already be
  /// representable (rounded).
  void input(const std::string &name, const ref::Tensor<double> &t, Type elem) {
    std::string dtype = dtypeOf(elem);
    std::string file = name + (dtype == "bf16" ? ".bf16.npy" : ".npy");
    if (dtype == "bf16")
      ref::writeNpy(path(file), ref::bf16BitsFromTensor(t));
    else
      ref::writeNpy(path(file), ref::castTensor<float>(t));
    record(name, "input", dtype, t.shape(), file);
  }
  /// Writes an extra operand's tensor (i32, i64 or f32; its values are
  /// already representable).
  void extra(const std::string &name, const ref::Tensor<double> &t, Type elem) {
    std::string dtype = dtypeOf(elem), file = name + ".npy";
    if (elem.isInteger(32))
      ref::writeNpy(path(file), ref::castTensor<int32_t>(t));
    else if (elem.isInteger(64))
      ref::writeNpy(path(file), ref::castTensor<int64_t>(t));
    else
      ref::writeNpy(path(file), ref::castTensor<float>(t));
    record(name, "input", dtype, t.shape(), file);
  }
  /// Writes the rounding-error scale of output `of` (reference/ErrorScale.h,
  /// AttentionGrad.h) as float32 `<of>.error_scale.npy`, tensor
  /// `<of>_scale` with role "error_scale": a harness may require
  /// |actual - expected| <= tol * scale element-wise. No kernel param has
  /// such a name, so harnesses that match params by name skip it.
  void errorScale(const std::string &of, const ref::Tensor<double> &t) {
    std::string file = of + ".error_scale.npy";
    ref::writeNpy(path(file), ref::castTensor<float>(t));
    record(of + "_scale", "error_scale", "f32", t.shape(), file);
  }
  /// Writes an expected output: the float64 reference rounded to float32,
  /// which keeps files small enough to carry to a GPU machine and is far
  /// below the 1e-2 / 2e-3 tolerances of the checks.
  /// `tolerance` > 0: the relative error a kernel may have on this output
  /// (meta.json "tolerance"), where its dtype's default is too tight.
  void output(const std::string &name, const ref::Tensor<double> &t,
              const std::string &dtype, double tolerance = 0) {
    std::string file = name + ".expected.npy";
    ref::writeNpy(path(file), ref::castTensor<float>(t));
    record(name, "output", dtype, t.shape(), file);
    if (tolerance > 0)
      tensors.back().getAsObject()->insert({"tolerance", tolerance});
  }
  llvm::json::Array tensors;

private:
  std::string dir;
  std::string path(const std::string &file) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, file);
    return std::string(p);
  }
  void record(const std::string &name, const char *role,
              const std::string &dtype, const ref::Shape &shape,
              const std::string &file) {
    llvm::json::Array dims;
    for (int64_t d : shape)
      dims.push_back(d);
    tensors.push_back(llvm::json::Object{{"name", name},
                                         {"role", role},
                                         {"dtype", dtype},
                                         {"shape", std::move(dims)},
                                         {"file", file}});
  }
};

ref::MaskKind maskOf(MaskKind kind) {
  switch (kind) {
  case MaskKind::causal:
    return ref::MaskKind::Causal;
  case MaskKind::sliding_window:
    return ref::MaskKind::SlidingWindow;
  default:
    return ref::MaskKind::None;
  }
}

ref::GateKind gateOf(GateKind kind) {
  switch (kind) {
  case GateKind::decay:
    return ref::GateKind::Decay;
  case GateKind::vector:
    return ref::GateKind::Vector;
  case GateKind::mlstm_exp:
    return ref::GateKind::MlstmExp;
  case GateKind::mlstm_sig:
    return ref::GateKind::MlstmSig;
  default:
    return ref::GateKind::None;
  }
}

/// The float64 reference is quadratic (attention) or O(T Dk Dv): sizes past
/// these would take minutes or more memory than the machine has, so they
/// are refused at once (issue #20: no input makes a tool run for long).
constexpr double kMaxReferenceWork = 8589934592.0;     // 2^33 multiply-adds
constexpr double kMaxReferenceElements = 268435456.0; // 2^28 doubles per tensor

llvm::Error checkReferenceSize(double work, double elements) {
  if (work <= kMaxReferenceWork && elements <= kMaxReferenceElements)
    return llvm::Error::success();
  return llvm::createStringError(llvm::formatv(
      "sizes too large for the float64 reference ({0:e2} multiply-adds, "
      "{1:e2} elements in the largest tensor; at most 2^33 and 2^28): pass "
      "smaller --dim values",
      work, elements).str());
}

/// The values of an op's extra operands, shared by its region hooks.
using Extras = std::shared_ptr<const std::vector<flashgen::cli::ExtraData>>;

/// A score_mod-shaped region (score_mod, score_grad) as a reference hook.
ref::ScoreMod scoreRegion(Region &region, Extras extras) {
  if (region.empty())
    return {};
  Region *r = &region;
  return [r, extras](double s, int64_t b, int64_t h, int64_t i, int64_t j) {
    using flashgen::cli::Scalar;
    return flashgen::cli::interpretRegion(
               *r,
               {Scalar::ofFloat(float(s)), Scalar::ofInt(b), Scalar::ofInt(h),
                Scalar::ofInt(i), Scalar::ofInt(j)},
               *extras)
        .f;
  };
}

ref::MaskMod maskRegion(Region &region, Extras extras) {
  if (region.empty())
    return {};
  Region *r = &region;
  return [r, extras](int64_t b, int64_t h, int64_t i, int64_t j) {
    using flashgen::cli::Scalar;
    return flashgen::cli::interpretRegion(
               *r,
               {Scalar::ofInt(b), Scalar::ofInt(h), Scalar::ofInt(i),
                Scalar::ofInt(j)},
               *extras)
               .i != 0;
  };
}

/// The reference problem of a flash.attention or flash.attention_grad
/// whose extras hold `extras`.
template <typename Op> ref::AttentionProblem problemOf(Op op, Extras extras) {
  ref::AttentionProblem problem;
  problem.mask = maskOf(op.getMask());
  problem.window = op.getWindow().value_or(0);
  problem.scale = op.getEffectiveScale();
  problem.scoreMod = scoreRegion(op.getScoreMod(), extras);
  problem.maskMod = maskRegion(op.getMaskMod(), extras);
  if constexpr (std::is_same_v<Op, AttentionOp>)
    // output_mod has score_mod's signature, (o: f32, b, h, i, d).
    problem.outputMod = scoreRegion(op.getOutputMod(), extras);
  return problem;
}

/// What an op's extras are drawn at: the size each of its dims names
/// bind, which of them is the batch (a rank-1 extra over it holds one value
/// per sequence), and the largest position (a scalar extra's range).
struct ExtraSizes {
  llvm::SmallVector<std::pair<std::string, int64_t>> dims;
  std::string batchDim;
  int64_t scalarMax = 0;
};

/// flash.attention and flash.attention_grad: batch, queries, keys.
template <typename Op> ExtraSizes extraSizesOf(Op op, const AttentionSizes &sizes) {
  return {{{op.getBatchDimName(), sizes.batch},
           {op.getQueryDimName(), sizes.queryLen},
           {op.getKeyDimName(), sizes.keyLen}},
          op.getBatchDimName(),
          std::max(sizes.queryLen, sizes.keyLen)};
}
ExtraSizes extraSizesOf(LinearAttentionOp op, const LinearAttentionSizes &sizes) {
  return {{{op.getBatchDimName(), sizes.batch}, {op.getLengthDimName(), sizes.length}},
          op.getBatchDimName(),
          sizes.length};
}

/// Draws the op's extra operands at these sizes (ref::ExtraInputSpec says
/// what each kind holds), writes the tensors as inputs and the scalars into
/// meta.json's "scalars", and returns them for the region hooks.
template <typename Op>
llvm::Expected<Extras> drawExtras(Op op, const ExtraSizes &sizes, uint64_t seed,
                                  Writer &writer, llvm::json::Object &meta) {
  auto data = std::make_shared<std::vector<flashgen::cli::ExtraData>>();
  llvm::json::Array scalars;
  for (const std::string &name : bitExtrasArg)
    if (llvm::none_of(op.getExtraOperands(),
                      [&](const ExtraOperand &e) { return e.name == name; }))
      return llvm::createStringError("--bit-extras names '" + name +
                                     "', which is not an extra of the op");
  for (auto [index, extra] : llvm::enumerate(op.getExtraOperands())) {
    ref::ExtraInputSpec spec;
    for (auto [d, dim] : llvm::enumerate(extra.dimNames)) {
      int64_t size = extra.type.getDimSize(d);
      for (const auto &[name, value] : sizes.dims)
        if (dim == name) {
          size = value;
          break;
        }
      spec.shape.push_back(size);
    }
    Type elem = extra.type.getElementType();
    spec.integer = elem.isInteger();
    spec.scalarMax = sizes.scalarMax;
    spec.perSequence =
        extra.dimNames.size() == 1 && extra.dimNames.front() == sizes.batchDim;
    if (llvm::is_contained(bitExtrasArg, extra.name)) {
      if (!elem.isInteger(32) || extra.isScalar())
        return llvm::createStringError(
            "--bit-extras names '" + extra.name +
            "', which is not an i32 tensor extra (bits are drawn 32 to a word)");
      spec.randomBits = true;
    }
    spec.seed = seed;
    spec.index = index;
    ref::Tensor<double> values = ref::generateExtraInput(spec);
    // Rotary tables (dialect/Rotary.h) hold real cos and sin: positions
    // p * 10000^(-2f/R), one table per sequence shifted by 13 b.
    std::optional<Rotary> rotary = rotaryOf(op.getOperation());
    if (rotary && (extra.name == rotary->cosName || extra.name == rotary->sinName)) {
      int64_t rank = int64_t(spec.shape.size());
      std::vector<int64_t> shift;
      for (int64_t b = 0; rank == 3 && b < spec.shape[0]; ++b)
        shift.push_back(13 * b);
      ref::RotaryEmbedding tables = ref::rotaryTables(
          ref::RotaryStyle::Half, spec.shape[rank - 2], 2 * spec.shape[rank - 1],
          10000.0, {}, rank == 3 ? spec.shape[0] : 0, shift);
      values = extra.name == rotary->cosName ? tables.cos : tables.sin;
      ref::applyRounding(values, ref::Rounding::Float32); // as the .npy holds it
    }
    data->push_back({std::vector<int64_t>(spec.shape.begin(), spec.shape.end()),
                     values.values()});
    if (extra.isScalar())
      scalars.push_back(llvm::json::Object{{"name", extra.name},
                                           {"dtype", dtypeOf(elem)},
                                           {"value", values.values()[0]}});
    else
      writer.extra(extra.name, values, elem);
  }
  if (!scalars.empty())
    meta["scalars"] = std::move(scalars);
  return data;
}

/// Refuses sizes the quadratic reference cannot do quickly; `passes` is
/// how many sweeps over the score matrix (1 forward, 3 backward).
llvm::Error checkAttentionSize(const AttentionSizes &sizes, double passes) {
  const double heads = double(sizes.batch) * double(sizes.queryHeads);
  return checkReferenceSize(
      passes * heads * double(sizes.queryLen) * double(sizes.keyLen) *
          double(sizes.headDim + sizes.valueDim),
      heads * double(std::max(sizes.queryLen, sizes.keyLen)) *
          double(std::max(sizes.headDim, sizes.valueDim)));
}

/// The inputs an attention op of these sizes and element type is drawn from
/// (the forward's and the backward's alike).
ref::AttentionInputSpec inputSpecOf(const AttentionSizes &sizes, uint64_t seed,
                                    Type elem) {
  ref::AttentionInputSpec spec;
  spec.batch = sizes.batch;
  spec.queryHeads = sizes.queryHeads;
  spec.kvHeads = sizes.keyHeads;
  spec.queries = sizes.queryLen;
  spec.keys = sizes.keyLen;
  spec.headDim = sizes.headDim;
  spec.valueDim = sizes.valueDim;
  spec.seed = seed;
  spec.rounding = roundingOf(elem);
  return spec;
}

/// Mixed into the seed for the page order of paged caches, so that it
/// does not repeat the inputs' streams.
constexpr uint64_t kPageOrderSeed = 0x9a6e5b1d3c7f2e01ull;
/// The same for a block mask's lists.
constexpr uint64_t kBlockListSeed = 0x0ea0d3f392a98b5aull;
/// The same for packed sequences' lengths (queries, keys).
constexpr uint64_t kQueryLengthSeed = 0x5d1f3a7c9e2b4086ull;
constexpr uint64_t kKeyLengthSeed = 0x2c8e6a4f1b3d5079ull;

/// The rotary embedding of `op` (a flash.attention or its gradient) over
/// its drawn tables (drawExtras' real cos and sin), nullopt without one.
std::optional<ref::RotaryEmbedding> drawnRotary(Operation *op, const Extras &extras) {
  std::optional<Rotary> rotary = rotaryOf(op);
  if (!rotary)
    return std::nullopt;
  ref::RotaryEmbedding embedding;
  embedding.style = rotary->style == RotaryStyle::half ? ref::RotaryStyle::Half
                                                       : ref::RotaryStyle::Interleaved;
  embedding.cos = ref::Tensor<double>(ref::Shape((*extras)[rotary->cosIndex].shape),
                                      (*extras)[rotary->cosIndex].values);
  embedding.sin = ref::Tensor<double>(ref::Shape((*extras)[rotary->sinIndex].shape),
                                      (*extras)[rotary->sinIndex].values);
  return embedding;
}

/// The lists of the block mask `mask` drawn at these sizes, each pair
/// [B, Hq] or 1 where its type says 1 (reference/BlockMask.h has the edge
/// cases), written under the manifest's names.
ref::BlockMask drawBlockLists(const BlockMask &mask, const AttentionSizes &sizes,
                              uint64_t seed, Writer &writer) {
  auto dims = [&](Value counts) {
    auto type = llvm::cast<RankedTensorType>(counts.getType());
    // The verifier allows B or 1 (dynamic: B) and static heads Hq or 1.
    return ref::BlockListDims{type.getDimSize(0) == 1 ? 1 : sizes.batch,
                              type.getDimSize(1)};
  };
  std::optional<ref::BlockListDims> full;
  if (mask.hasFull())
    full = dims(mask.fullCounts);
  ref::BlockMask lists =
      ref::drawBlockMask(dims(mask.counts), full, sizes.queryLen, sizes.keyLen,
                         mask.queryBlock, mask.keyBlock, seed ^ kBlockListSeed);
  auto write = [&](StringRef name, const ref::Tensor<int32_t> &list, Value of) {
    writer.extra(name.str(), ref::castTensor<double>(list),
                 llvm::cast<RankedTensorType>(of.getType()).getElementType());
  };
  write(kKvNumBlocksName, lists.counts, mask.counts);
  write(kKvIndicesName, lists.indices, mask.indices);
  if (mask.hasFull()) {
    write(kFullKvNumBlocksName, lists.fullCounts, mask.fullCounts);
    write(kFullKvIndicesName, lists.fullIndices, mask.fullIndices);
  }
  return lists;
}

llvm::Error runAttention(AttentionOp op, const Options &options,
                         uint64_t seed, Writer &writer,
                         llvm::json::Object &meta) {
  auto sizes = resolveSizes(op, options.dims);
  if (!sizes)
    return sizes.takeError();
  if (llvm::Error e = checkAttentionSize(*sizes, 1))
    return e;
  Type elem = op.getQ().getType().getElementType();
  ref::AttentionInputSpec spec = inputSpecOf(*sizes, seed, elem);
  ref::AttentionInputs inputs = ref::generateAttentionInputs(spec);

  llvm::Expected<Extras> drawn =
      drawExtras(op, extraSizesOf(op, *sizes), seed, writer, meta);
  if (!drawn)
    return drawn.takeError();
  Extras extras = std::move(*drawn);
  ref::AttentionProblem problem = problemOf(op, extras);
  // Packed sequences (dialect/Varlen.h): lengths drawn per sequence (one
  // empty, one of a single row, the last the longest), the padded inputs
  // packed, the reference told each sequence's counts.
  std::optional<Varlen> varlen = varlenOf(op.getOperation());
  bool packedQueries = varlen && varlen->packedQueries(),
       packedKeys = varlen && varlen->packedKeys();
  if (packedQueries)
    problem.queryLengths =
        ref::drawSequenceLengths(sizes->batch, sizes->queryLen, seed ^ kQueryLengthSeed);
  if (packedKeys)
    problem.keyLengths =
        varlen->cuK == varlen->cuQ
            ? problem.queryLengths
            : ref::drawSequenceLengths(sizes->batch, sizes->keyLen, seed ^ kKeyLengthSeed);
  if (varlen) {
    llvm::json::Array scalars;
    if (llvm::json::Array *drawn = meta.getArray("scalars"))
      scalars = std::move(*drawn);
    Type i32 = IntegerType::get(op.getContext(), 32);
    auto side = [&](bool packed, StringRef cu, StringRef max,
                    const std::vector<int64_t> &lengths, int64_t longest) {
      if (!packed)
        return;
      writer.extra(cu.str(), ref::sequenceOffsets(lengths), i32);
      scalars.push_back(llvm::json::Object{
          {"name", max}, {"dtype", "i32"}, {"value", double(longest)}});
    };
    side(packedQueries, kCuSeqlensQ, kMaxSeqlenQ, problem.queryLengths, sizes->queryLen);
    side(packedKeys, kCuSeqlensK, kMaxSeqlenK, problem.keyLengths, sizes->keyLen);
    meta["scalars"] = std::move(scalars);
  }
  if (packedQueries)
    writer.input("q", ref::packRows(inputs.q, problem.queryLengths), elem);
  else
    writer.input("q", inputs.q, elem);
  if (packedKeys) {
    writer.input("k", ref::packRows(inputs.k, problem.keyLengths), elem);
    writer.input("v", ref::packRows(inputs.v, problem.keyLengths), elem);
  } else if (std::optional<PagedKv> paged = pagedKvOf(op.getOperation())) {
    // The caches in pages of a random order, two ids out of range; the
    // reference reads what the kernels read through the table.
    ref::PagedCache cache = ref::pageCaches(inputs.k, inputs.v, paged->pageSize,
                                            seed ^ kPageOrderSeed,
                                            /*outOfRangeIds=*/true);
    inputs.k = ref::gatherPages(cache.kPool, cache.table);
    inputs.v = ref::gatherPages(cache.vPool, cache.table);
    writer.input("k", cache.kPool, elem);
    writer.input("v", cache.vPool, elem);
    writer.extra(kPageTableName.str(), cache.table, paged->tableType.getElementType());
  } else {
    writer.input("k", inputs.k, elem);
    writer.input("v", inputs.v, elem);
  }
  // A block mask (dialect/BlockMask.h): lists drawn with empty and full
  // query blocks and out-of-range entries; the reference reads them as the
  // kernels must.
  if (std::optional<BlockMask> mask = blockMaskOf(op.getOperation()))
    problem.blockMask = drawBlockLists(*mask, *sizes, seed, writer);
  // Rotary embedding: the reference rotates what the kernels read (the
  // written inputs stay unrotated) and rounds it as their tiles do.
  std::optional<ref::RotaryEmbedding> rotary = drawnRotary(op.getOperation(), extras);
  if (rotary) {
    std::vector<int64_t> queryOffsets, keyOffsets(sizes->batch, 0);
    for (int64_t b = 0; b < sizes->batch; ++b) {
      int64_t n = packedQueries ? problem.queryLengths[b] : sizes->queryLen;
      int64_t m = packedKeys ? problem.keyLengths[b] : sizes->keyLen;
      queryOffsets.push_back(m - n);
    }
    inputs.q = ref::applyRotary(*rotary, inputs.q, queryOffsets);
    inputs.k = ref::applyRotary(*rotary, inputs.k, keyOffsets);
    ref::applyRounding(inputs.q, spec.rounding);
    ref::applyRounding(inputs.k, spec.rounding);
  }
  ref::AttentionResult result =
      ref::referenceAttention(problem, inputs.q, inputs.k, inputs.v);
  if (packedQueries) {
    writer.output("o", ref::packRows(result.out, problem.queryLengths), dtypeOf(elem));
    writer.output("lse", ref::packRowStatistics(result.logSumExp, problem.queryLengths), "f32");
  } else {
    writer.output("o", result.out, dtypeOf(elem));
    writer.output("lse", result.logSumExp, "f32");
  }
  meta["op"] = "attention";
  return llvm::Error::success();
}

/// A backward case: q, k, v and do drawn as the forward draws its inputs,
/// o and lse from the forward reference rounded to what the kernel reads
/// (o in the element type, lse in f32), and the gradients of exactly those
/// inputs.
llvm::Error runAttentionGrad(AttentionGradOp op, const Options &options,
                             uint64_t seed, Writer &writer,
                             llvm::json::Object &meta) {
  auto sizes = resolveSizes(op, options.dims);
  if (!sizes)
    return sizes.takeError();
  if (llvm::Error e = checkAttentionSize(*sizes, 3))
    return e;
  Type elem = op.getQ().getType().getElementType();
  ref::AttentionInputSpec spec = inputSpecOf(*sizes, seed, elem);
  spec.outputGradient = true;
  ref::AttentionInputs inputs = ref::generateAttentionInputs(spec);

  llvm::Expected<Extras> drawn =
      drawExtras(op, extraSizesOf(op, *sizes), seed, writer, meta);
  if (!drawn)
    return drawn.takeError();
  Extras extras = std::move(*drawn);
  ref::AttentionProblem problem = problemOf(op, extras);
  // A block mask: the forward's lists drawn as the forward's case draws
  // them, and their transposes (what the kv kernel walks) written beside.
  if (std::optional<BlockMask> mask = blockMaskOf(op.getOperation())) {
    problem.blockMask = drawBlockLists(*mask, *sizes, seed, writer);
    ref::TransposedBlockLists transposed = ref::transposeBlockMask(*problem.blockMask);
    auto write = [&](StringRef name, const ref::Tensor<int32_t> &list, Value of) {
      writer.extra(name.str(), ref::castTensor<double>(list),
                   llvm::cast<RankedTensorType>(of.getType()).getElementType());
    };
    write(kQNumBlocksName, transposed.counts, mask->queryCounts);
    write(kQIndicesName, transposed.indices, mask->queryIndices);
    if (mask->hasFull()) {
      write(kFullQNumBlocksName, transposed.fullCounts, mask->fullQueryCounts);
      write(kFullQIndicesName, transposed.fullIndices, mask->fullQueryIndices);
    }
  }
  // Rotary embedding: the gradients of attention on the rotated inputs
  // (rounded as the kernels' copies hold them), dq and dk turned back by
  // the inverse rotation (sin negated); the written q and k stay unrotated.
  ref::Tensor<double> q = inputs.q, k = inputs.k;
  std::optional<ref::RotaryEmbedding> rotary = drawnRotary(op.getOperation(), extras);
  std::vector<int64_t> queryOffsets(sizes->batch, sizes->keyLen - sizes->queryLen),
      keyOffsets(sizes->batch, 0);
  if (rotary) {
    q = ref::applyRotary(*rotary, q, queryOffsets);
    k = ref::applyRotary(*rotary, k, keyOffsets);
    ref::applyRounding(q, spec.rounding);
    ref::applyRounding(k, spec.rounding);
  }
  ref::AttentionResult forward = ref::referenceAttention(problem, q, k, inputs.v);
  ref::applyRounding(forward.out, spec.rounding);
  ref::applyRounding(forward.logSumExp, ref::Rounding::Float32);
  ref::AttentionGradResult grad = ref::attentionGradGivenForward(
      problem, scoreRegion(op.getScoreGrad(), extras), q, k, inputs.v, forward.out,
      forward.logSumExp, inputs.dout);
  if (rotary) {
    ref::RotaryEmbedding inverse = *rotary;
    for (double &s : inverse.sin.values())
      s = -s;
    grad.dq = ref::applyRotary(inverse, grad.dq, queryOffsets);
    grad.dk = ref::applyRotary(inverse, grad.dk, keyOffsets);
  }

  Type f32 = Float32Type::get(op.getContext());
  writer.input("q", inputs.q, elem);
  writer.input("k", inputs.k, elem);
  writer.input("v", inputs.v, elem);
  writer.input("o", forward.out, elem);
  writer.input("do", inputs.dout, elem);
  writer.input("lse", forward.logSumExp, f32);
  writer.output("dq", grad.dq, dtypeOf(elem));
  writer.output("dk", grad.dk, dtypeOf(elem));
  writer.output("dv", grad.dv, dtypeOf(elem));
  writer.errorScale("dq", grad.dqScale);
  writer.errorScale("dk", grad.dkScale);
  writer.errorScale("dv", grad.dvScale);
  meta["op"] = "attention_grad";
  meta["deterministic"] = op.getDeterministic();
  return llvm::Error::success();
}

/// A recurrence's reference work (three products of Dk x Dv per step and
/// head) and elements, checked as checkReferenceSize does.
llvm::Error checkRecurrenceSize(const LinearAttentionSizes &sizes) {
  const double heads = double(sizes.batch) * double(sizes.heads);
  return checkReferenceSize(
      heads * double(sizes.length) * double(sizes.keyDim) *
          double(sizes.valueDim) * 3,
      heads * std::max(double(sizes.length), double(sizes.keyDim)) *
          double(std::max(sizes.keyDim, sizes.valueDim)));
}

/// The gate operands' element type (q's where there are none).
template <typename OpT> Type gateElementOf(OpT op) {
  return op.getGates().empty()
             ? op.getQ().getType().getElementType()
             : cast<RankedTensorType>(op.getGates()[0].getType()).getElementType();
}

/// The inputs of a recurrence op (flash.linear_attention or its gradient):
/// the standard random inputs (reference/Inputs.h) of its sizes and gate
/// kind, rounded to its element types; the initial state only where the op
/// takes one.
template <typename OpT>
ref::LinearInputs<double> drawLinearInputs(OpT op, const LinearAttentionSizes &sizes,
                                           const Options &options, uint64_t seed) {
  ref::LinearInputSpec spec;
  spec.gate = gateOf(op.getGate());
  spec.batch = sizes.batch;
  spec.heads = sizes.heads;
  spec.steps = sizes.length;
  spec.keyDim = sizes.keyDim;
  spec.valueDim = sizes.valueDim;
  spec.initialState = !op.getInitialState().empty() || options.initialState;
  spec.seed = seed;
  spec.dataRounding = roundingOf(op.getQ().getType().getElementType());
  spec.gateRounding = roundingOf(gateElementOf(op));
  spec.stateRounding = ref::Rounding::Float32;
  if (options.gateRangeGiven) {
    spec.gates.inputGateMin = spec.gates.forgetGateMin = options.gateMin;
    spec.gates.inputGateMax = spec.gates.forgetGateMax = options.gateMax;
  }
  ref::LinearInputs<double> inputs = ref::generateLinearInputs(spec);
  if (op.getInitialState().empty())
    inputs.initial = {};
  return inputs;
}

/// Writes a recurrence's gate operands under their bundle names.
void writeLinearGates(Writer &writer, GateKind gate, const ref::LinearInputs<double> &inputs,
                      Type gateElem) {
  switch (gate) {
  case GateKind::decay:
  case GateKind::vector:
    writer.input("g", inputs.logDecay, gateElem);
    break;
  case GateKind::mlstm_exp:
  case GateKind::mlstm_sig:
    writer.input("igate", inputs.inputGate, gateElem);
    writer.input("fgate", inputs.forgetGate, gateElem);
    break;
  default:
    break;
  }
}

/// The op's initial states (c0, n0, m0 where the kind has them) as inputs
/// and, where it returns them, the final states as outputs.
void writeLinearStates(Writer &writer, LinearAttentionOp op,
                       const ref::RecurrentState<double> &initial,
                       const ref::RecurrentState<double> &finals) {
  Type f32 = Float32Type::get(op.getContext());
  if (!op.getInitialState().empty())
    for (auto [name, t] : {std::pair{"c0", &initial.c}, {"n0", &initial.n}, {"m0", &initial.m}})
      if (!t->empty())
        writer.input(name, *t, f32);
  if (op.getReturnFinalState())
    for (auto [name, t] : {std::pair{"cf", &finals.c}, {"nf", &finals.n}, {"mf", &finals.m}})
      if (!t->empty())
        writer.output(name, *t, "f32");
}

/// Entry s of each of a batch's state tensors (empty ones stay empty).
ref::RecurrentState<double> sequenceState(const ref::RecurrentState<double> &state, int64_t s) {
  auto entry = [&](const ref::Tensor<double> &x) {
    return x.empty() ? x : ref::sequenceEntry(x, s);
  };
  return {entry(state.c), entry(state.n), entry(state.m)};
}

/// Sequence s of a padded batch alone, as a batch of one: its first
/// `length` rows of q, k, v and the gates, entry s of the initial states.
ref::LinearInputs<double> sequenceInputs(const ref::LinearInputs<double> &inputs, int64_t s,
                                         int64_t length) {
  auto rows = [&](const ref::Tensor<double> &x) {
    return x.empty() ? x : ref::sequenceRows(x, s, length);
  };
  ref::LinearInputs<double> one;
  one.q = rows(inputs.q);
  one.k = rows(inputs.k);
  one.v = rows(inputs.v);
  one.logDecay = rows(inputs.logDecay);
  one.inputGate = rows(inputs.inputGate);
  one.forgetGate = rows(inputs.forgetGate);
  one.initial = sequenceState(inputs.initial, s);
  return one;
}

/// A packed case's row inputs: q, k, v and the gates of the padded batch
/// packed by `lengths`, and the offsets cu_seqlens_q.
void writePackedRows(Writer &writer, GateKind gate, const ref::LinearInputs<double> &inputs,
                     const std::vector<int64_t> &lengths, Type elem, Type gateElem,
                     MLIRContext *context) {
  writer.input("q", ref::packRows(inputs.q, lengths), elem);
  writer.input("k", ref::packRows(inputs.k, lengths), elem);
  writer.input("v", ref::packRows(inputs.v, lengths), elem);
  ref::LinearInputs<double> packedGates;
  for (auto [packed, padded] : {std::pair{&packedGates.logDecay, &inputs.logDecay},
                                {&packedGates.inputGate, &inputs.inputGate},
                                {&packedGates.forgetGate, &inputs.forgetGate}})
    if (!padded->empty())
      *packed = ref::packRows(*padded, lengths);
  writeLinearGates(writer, gate, packedGates, gateElem);
  writer.extra(kCuSeqlensQ.str(), ref::sequenceOffsets(lengths), IntegerType::get(context, 32));
}

/// Sequence s's rows `from` [1, H, length(, ...)] into the first rows of
/// its entry of the padded `to` [B, H, T(, ...)] (nothing when `from` is
/// empty).
void placeSequenceRows(ref::Tensor<double> &to, const ref::Tensor<double> &from, int64_t s,
                       int64_t length) {
  if (from.empty())
    return;
  const int64_t heads = to.shape()[1], steps = to.shape()[2],
                row = to.size() / (to.shape()[0] * heads * steps);
  for (int64_t h = 0; h < heads; ++h)
    std::copy(from.data() + h * length * row, from.data() + (h + 1) * length * row,
              to.data() + ((s * heads + h) * steps) * row);
}

/// The definition run on each sequence of a packed batch alone (from its
/// own initial state): the results, and their outputs and (normaliser
/// kinds) rows' normalisers placed in padded [B, H, T, ...] tensors, each
/// sequence's first rows filled.
struct PaddedForward {
  std::vector<ref::LinearResult<double>> sequences;
  ref::Tensor<double> out, rowNorm;
};

PaddedForward paddedForward(const ref::LinearProblem &problem,
                            const ref::LinearInputs<double> &inputs,
                            const std::vector<int64_t> &lengths,
                            const LinearAttentionSizes &sizes) {
  const int64_t b = sizes.batch, h = sizes.heads;
  PaddedForward forward;
  forward.out = ref::Tensor<double>({b, h, sizes.length, sizes.valueDim});
  for (int64_t s = 0; s < b; ++s) {
    forward.sequences.push_back(
        ref::referenceRecurrence(problem, sequenceInputs(inputs, s, lengths[s])));
    const ref::LinearResult<double> &r = forward.sequences.back();
    placeSequenceRows(forward.out, r.out, s, lengths[s]);
    if (!r.rowNorm.empty()) {
      if (forward.rowNorm.empty())
        forward.rowNorm = ref::Tensor<double>({b, h, sizes.length, 2});
      placeSequenceRows(forward.rowNorm, r.rowNorm, s, lengths[s]);
    }
  }
  return forward;
}

/// A packed (varlen) recurrence case: B lengths in [0, T] drawn as
/// attention's packed cases draw them (one empty, one of a single step,
/// the last T long), the padded inputs' first rows of each sequence packed
/// back to back with cu_seqlens_q, and each sequence's outputs and final
/// state from the definition run on that sequence alone from its own
/// initial state.
llvm::Error runPackedLinear(LinearAttentionOp op, const ref::LinearProblem &problem,
                            ref::LinearInputs<double> inputs, const LinearAttentionSizes &sizes,
                            uint64_t seed, Writer &writer, llvm::json::Object &meta) {
  Type elem = op.getQ().getType().getElementType();
  Type gateElem = gateElementOf(op);
  Type f32 = Float32Type::get(op.getContext());
  const std::vector<int64_t> lengths =
      ref::drawSequenceLengths(sizes.batch, sizes.length, seed ^ kQueryLengthSeed);
  const int64_t b = sizes.batch, h = sizes.heads, dk = sizes.keyDim, dv = sizes.valueDim;
  ref::RecurrentState<double> finals;
  PaddedForward forward = paddedForward(problem, inputs, lengths, sizes);
  for (int64_t s = 0; s < b; ++s) {
    const ref::LinearResult<double> &r = forward.sequences[s];
    auto append = [&](ref::Tensor<double> &all, const ref::Tensor<double> &x) {
      if (x.empty())
        return;
      if (all.empty()) {
        ref::Shape shape = x.shape();
        shape[0] = b;
        all = ref::Tensor<double>(shape);
      }
      std::copy(x.data(), x.data() + x.size(), all.data() + s * x.size());
    };
    append(finals.c, r.finalState.c);
    append(finals.n, r.finalState.n);
    append(finals.m, r.finalState.m);
  }
  writePackedRows(writer, op.getGate(), inputs, lengths, elem, gateElem, op.getContext());
  writer.output("o", ref::packRows(forward.out, lengths), dtypeOf(elem));
  if (!forward.rowNorm.empty())
    writer.output("norm", ref::packRows(forward.rowNorm, lengths), "f32", 1e-2);
  writeLinearStates(writer, op, inputs.initial, finals);
  meta["op"] = "linear_attention";
  meta["gate"] = stringifyGateKind(op.getGate()).str();
  meta["packed"] = true;
  return llvm::Error::success();
}

llvm::Error runLinear(LinearAttentionOp op, const Options &options,
                      uint64_t seed, Writer &writer, llvm::json::Object &meta) {
  auto sizes = resolveSizes(op, options.dims);
  if (!sizes)
    return sizes.takeError();
  if (llvm::Error e = checkRecurrenceSize(*sizes))
    return e;
  Type elem = op.getQ().getType().getElementType();
  Type gateElem = gateElementOf(op);
  ref::LinearInputs<double> inputs = drawLinearInputs(op, *sizes, options, seed);

  ref::LinearProblem problem;
  problem.gate = gateOf(op.getGate());
  problem.scale = op.getEffectiveScale();
  if (linearVarlenOf(op.getOperation()))
    return runPackedLinear(op, problem, std::move(inputs), *sizes, seed, writer, meta);
  llvm::Expected<Extras> extras =
      drawExtras(op, extraSizesOf(op, *sizes), seed, writer, meta);
  if (!extras)
    return extras.takeError();
  // output_mod and feature_map have score_mod's signature, (x: f32, b,
  // h, t, d).
  problem.outputMod = scoreRegion(op.getOutputMod(), *extras);
  problem.featureMap = scoreRegion(op.getFeatureMap(), *extras);
  ref::LinearResult<double> result = ref::referenceRecurrence(problem, inputs);

  writer.input("q", inputs.q, elem);
  writer.input("k", inputs.k, elem);
  writer.input("v", inputs.v, elem);
  writeLinearGates(writer, op.getGate(), inputs, gateElem);
  writer.output("o", result.out, dtypeOf(elem));
  // The normaliser kinds' rows' normalisers (N_t, floor_t), which the
  // kernels write where given.
  if (!result.rowNorm.empty())
    writer.output("norm", result.rowNorm, "f32", 1e-2);
  writeLinearStates(writer, op, inputs.initial, result.finalState);
  meta["op"] = "linear_attention";
  meta["gate"] = stringifyGateKind(op.getGate()).str();
  return llvm::Error::success();
}

/// A packed (varlen) recurrence's gradient case: the lengths, packing and
/// per-sequence slices of runPackedLinear, each sequence's gradients the
/// definition's on that sequence alone (its own initial state and
/// final-state gradient); the row gradients packed back, the initial
/// states' one per sequence.
llvm::Error runPackedLinearGrad(LinearAttentionGradOp op, const ref::LinearProblem &problem,
                                const ref::LinearInputs<double> &inputs,
                                const ref::Tensor<double> &dout,
                                const ref::RecurrentState<double> *dFinal,
                                const LinearAttentionSizes &sizes, uint64_t seed, Writer &writer,
                                llvm::json::Object &meta) {
  Type elem = op.getQ().getType().getElementType();
  Type gateElem = gateElementOf(op);
  Type f32 = Float32Type::get(op.getContext());
  const std::vector<int64_t> lengths =
      ref::drawSequenceLengths(sizes.batch, sizes.length, seed ^ kQueryLengthSeed);
  const int64_t b = sizes.batch;
  // The padded gradients [B, H, T(, D)], each sequence's first rows filled.
  ref::LinearGradResult all = ref::zeroLinearGrad(problem, inputs, ref::linearShape(problem, inputs));
  for (int64_t s = 0; s < b; ++s) {
    ref::RecurrentState<double> dFinalOne;
    if (dFinal)
      dFinalOne = sequenceState(*dFinal, s);
    ref::LinearGradResult g = ref::referenceRecurrenceGrad(
        problem, sequenceInputs(inputs, s, lengths[s]), ref::sequenceRows(dout, s, lengths[s]),
        dFinal ? &dFinalOne : nullptr);
    // Sequence s's rows into the padded tensors; its state's gradient into
    // entry s.
    auto place = [&](ref::Tensor<double> &to, const ref::Tensor<double> &from) {
      placeSequenceRows(to, from, s, lengths[s]);
    };
    place(all.dq, g.dq);
    place(all.dk, g.dk);
    place(all.dv, g.dv);
    place(all.dLogDecay, g.dLogDecay);
    place(all.dInputGate, g.dInputGate);
    place(all.dForgetGate, g.dForgetGate);
    for (auto [to, from] : {std::pair{&all.dInitial.c, &g.dInitial.c},
                            {&all.dInitial.n, &g.dInitial.n}})
      if (!from->empty())
        std::copy(from->data(), from->data() + from->size(), to->data() + s * from->size());
  }
  writePackedRows(writer, op.getGate(), inputs, lengths, elem, gateElem, op.getContext());
  // The normaliser kinds read the forward's o and rows' normalisers.
  const bool saved =
      op.getGate() == GateKind::mlstm_sig || op.getGate() == GateKind::mlstm_exp;
  PaddedForward forward;
  if (saved) {
    forward = paddedForward(problem, inputs, lengths, sizes);
    writer.input("o", ref::packRows(forward.out, lengths), elem);
  }
  writer.input("do", ref::packRows(dout, lengths), elem);
  if (saved)
    writer.input("norm", ref::packRows(forward.rowNorm, lengths), f32);
  // The grid's longest sequence: the planned T bounds every drawn length.
  meta["scalars"] = llvm::json::Array{llvm::json::Object{
      {"name", kMaxSeqlenQ}, {"dtype", "i32"}, {"value", double(sizes.length)}}};
  // mlstm_sig: n beside C in the states and their gradients.
  const bool normalizer = op.getGate() == GateKind::mlstm_sig;
  if (!op.getInitialState().empty()) {
    writer.input("c0", inputs.initial.c, f32);
    if (normalizer)
      writer.input("n0", inputs.initial.n, f32);
  }
  if (dFinal) {
    writer.input("dcf", dFinal->c, f32);
    if (normalizer)
      writer.input("dnf", dFinal->n, f32);
  }
  writer.output("dq", ref::packRows(all.dq, lengths), dtypeOf(elem));
  writer.output("dk", ref::packRows(all.dk, lengths), dtypeOf(elem));
  writer.output("dv", ref::packRows(all.dv, lengths), dtypeOf(elem));
  if (!all.dLogDecay.empty())
    writer.output("dg", ref::packRows(all.dLogDecay, lengths), dtypeOf(gateElem), 1e-2);
  if (normalizer) {
    writer.output("digate", ref::packRows(all.dInputGate, lengths), dtypeOf(gateElem), 1e-2);
    writer.output("dfgate", ref::packRows(all.dForgetGate, lengths), dtypeOf(gateElem), 1e-2);
  }
  if (!op.getInitialState().empty()) {
    writer.output("dc0", all.dInitial.c, "f32", 1e-2);
    if (normalizer)
      writer.output("dn0", all.dInitial.n, "f32", 1e-2);
  }
  meta["op"] = "linear_attention_grad";
  meta["gate"] = stringifyGateKind(op.getGate()).str();
  meta["packed"] = true;
  return llvm::Error::success();
}

/// A recurrence gradient case (a `<name>_backward` of flash-derive-backward):
/// the forward's inputs drawn as its case draws them, do ~ N(0, 1) in the
/// element type and, where the op reads it, the final state's gradient ~
/// N(0, 1) in f32; the float64 gradients of exactly those inputs
/// (reference/RecurrenceGrad.h). The gates' and the initial state's
/// gradients come from 16-bit products in the kernels: they get a 16-bit
/// output's tolerance.
llvm::Error runLinearGrad(LinearAttentionGradOp op, const Options &options,
                          uint64_t seed, Writer &writer, llvm::json::Object &meta) {
  auto sizes = resolveSizes(op, options.dims);
  if (!sizes)
    return sizes.takeError();
  if (llvm::Error e = checkRecurrenceSize(*sizes))
    return e;
  Type elem = op.getQ().getType().getElementType();
  Type gateElem = gateElementOf(op);
  Type f32 = Float32Type::get(op.getContext());
  ref::LinearInputs<double> inputs = drawLinearInputs(op, *sizes, options, seed);
  ref::Rng rng = ref::Rng(seed).split(7);
  auto normal = [&](ref::Shape shape, Type type) {
    ref::Tensor<double> x(std::move(shape));
    for (int64_t i = 0; i < x.size(); ++i)
      x[i] = rng.normal();
    ref::applyRounding(x, roundingOf(type));
    return x;
  };
  const int64_t b = sizes->batch, h = sizes->heads, t = sizes->length,
                dk = sizes->keyDim, dv = sizes->valueDim;
  ref::Tensor<double> dout = normal({b, h, t, dv}, elem);
  // The mLSTM kinds: n's part of the states and gradients beside C's;
  // mlstm_exp m's too.
  const bool normalizer =
      op.getGate() == GateKind::mlstm_sig || op.getGate() == GateKind::mlstm_exp;
  const bool stabilizer = op.getGate() == GateKind::mlstm_exp;
  ref::RecurrentState<double> dFinal;
  if (!op.getFinalGrad().empty()) {
    dFinal.c = normal({b, h, dk, dv}, f32);
    if (normalizer)
      dFinal.n = normal({b, h, dk}, f32);
    if (stabilizer)
      dFinal.m = normal({b, h}, f32);
  }
  ref::LinearProblem problem;
  problem.gate = gateOf(op.getGate());
  problem.scale = op.getEffectiveScale();
  if (linearVarlenOf(op.getOperation()))
    return runPackedLinearGrad(op, problem, inputs, dout,
                               op.getFinalGrad().empty() ? nullptr : &dFinal, *sizes, seed,
                               writer, meta);
  ref::LinearGradResult grad = ref::referenceRecurrenceGrad(
      problem, inputs, dout, op.getFinalGrad().empty() ? nullptr : &dFinal);

  writer.input("q", inputs.q, elem);
  writer.input("k", inputs.k, elem);
  writer.input("v", inputs.v, elem);
  writeLinearGates(writer, op.getGate(), inputs, gateElem);
  // The normaliser kinds read the forward's o and rows' normalisers.
  ref::LinearResult<double> forward;
  if (normalizer) {
    forward = ref::referenceRecurrence(problem, inputs);
    writer.input("o", forward.out, elem);
  }
  writer.input("do", dout, elem);
  if (normalizer)
    writer.input("norm", forward.rowNorm, f32);
  if (!op.getInitialState().empty()) {
    writer.input("c0", inputs.initial.c, f32);
    if (normalizer)
      writer.input("n0", inputs.initial.n, f32);
    if (stabilizer)
      writer.input("m0", inputs.initial.m, f32);
  }
  if (!op.getFinalGrad().empty()) {
    writer.input("dcf", dFinal.c, f32);
    if (normalizer)
      writer.input("dnf", dFinal.n, f32);
    if (stabilizer)
      writer.input("dmf", dFinal.m, f32);
  }
  writer.output("dq", grad.dq, dtypeOf(elem));
  writer.output("dk", grad.dk, dtypeOf(elem));
  writer.output("dv", grad.dv, dtypeOf(elem));
  if (op.getGate() == GateKind::decay || op.getGate() == GateKind::vector)
    writer.output("dg", grad.dLogDecay, dtypeOf(gateElem), 1e-2);
  if (normalizer) {
    // mlstm_exp's gate gradients hold differences of the state's and the
    // stabiliser's terms (docs/semantics.md §4.7), each read through 16-bit
    // chunk states: with a final-state gradient and a few steps the
    // difference is a small part of either (a single step: 1.4e-2 to
    // 1.7e-2 on the emulator and an H100), so they get twice a 16-bit
    // output's tolerance.
    const double gateTolerance = stabilizer ? 2e-2 : 1e-2;
    writer.output("digate", grad.dInputGate, dtypeOf(gateElem), gateTolerance);
    writer.output("dfgate", grad.dForgetGate, dtypeOf(gateElem), gateTolerance);
  }
  if (!op.getInitialState().empty()) {
    writer.output("dc0", grad.dInitial.c, "f32", 1e-2);
    if (normalizer)
      writer.output("dn0", grad.dInitial.n, "f32", 1e-2);
    if (stabilizer)
      writer.output("dm0", grad.dInitial.m, "f32", 1e-2);
  }
  meta["op"] = "linear_attention_grad";
  meta["gate"] = stringifyGateKind(op.getGate()).str();
  return llvm::Error::success();
}

/// A packed (varlen) delta-rule case: the lengths runPackedLinear draws,
/// the padded inputs' first rows of each sequence packed back to back with
/// cu_seqlens_q, each sequence's outputs and final state from the step
/// recurrence on that sequence alone from its own initial state; the
/// longest sequence (max_seqlen_q, the prepare kernel's grid) as a scalar.
llvm::Error runPackedDeltaRule(DeltaRuleOp op, const ref::DeltaProblem &problem,
                               const ref::DeltaInputs<double> &inputs,
                               const LinearAttentionSizes &sizes, uint64_t seed, Writer &writer,
                               llvm::json::Object &meta) {
  Type elem = op.getQ().getType().getElementType();
  Type betaElem = op.getBeta().getType().getElementType();
  Type f32 = Float32Type::get(op.getContext());
  const std::vector<int64_t> lengths =
      ref::drawSequenceLengths(sizes.batch, sizes.length, seed ^ kQueryLengthSeed);
  const int64_t b = sizes.batch, h = sizes.heads, dv = sizes.valueDim;
  ref::Tensor<double> out({b, h, sizes.length, dv});
  ref::Tensor<double> finals({b, h, sizes.keyDim, dv});
  for (int64_t s = 0; s < b; ++s) {
    const int64_t n = lengths[s];
    ref::DeltaResult<double> r =
        ref::referenceDeltaRule(problem, ref::sequenceDeltaInputs(inputs, s, n));
    for (int64_t hh = 0; hh < h; ++hh)
      std::copy(r.out.data() + hh * n * dv, r.out.data() + (hh + 1) * n * dv,
                out.data() + ((s * h + hh) * sizes.length) * dv);
    std::copy(r.finalState.data(), r.finalState.data() + r.finalState.size(),
              finals.data() + s * r.finalState.size());
  }
  writer.input("q", ref::packRows(inputs.q, lengths), elem);
  writer.input("k", ref::packRows(inputs.k, lengths), elem);
  writer.input("v", ref::packRows(inputs.v, lengths), elem);
  writer.input("beta", ref::packRows(inputs.beta, lengths), betaElem);
  if (problem.gated)
    writer.input("g", ref::packRows(inputs.logDecay, lengths),
                 cast<RankedTensorType>(op.getLogDecay().getType()).getElementType());
  if (op.getInitialState())
    writer.input("c0", inputs.initial, f32);
  writer.extra(kCuSeqlensQ.str(), ref::sequenceOffsets(lengths),
               IntegerType::get(op.getContext(), 32));
  // The prepare kernel's grid: the planned T bounds every drawn length.
  meta["scalars"] = llvm::json::Array{llvm::json::Object{
      {"name", kMaxSeqlenQ}, {"dtype", "i32"}, {"value", double(sizes.length)}}};
  writer.output("o", ref::packRows(out, lengths), dtypeOf(elem));
  if (op.getReturnFinalState())
    writer.output("cf", finals, "f32", 1e-2);  // (runDeltaRule says why 1e-2)
  meta["op"] = "delta_rule";
  meta["gated"] = problem.gated;
  meta["l2norm_qk"] = problem.l2NormQK;
  meta["packed"] = true;
  return llvm::Error::success();
}

/// A delta-rule case (docs/semantics.md §7): q, v ~ N(0, 1); k ~ N(0, 1 /
/// Dk) so that |k| is about 1 and I - beta k k^T stays a contraction
/// without l2norm_qk; beta uniform in (0, 1) with every seventh exactly 0
/// and every seventh after it exactly 1; log-decays uniform in [-1, -0.01];
/// S_0 ~ N(0, 1). Each tensor draws from its own stream of the seed.
llvm::Error runDeltaRule(DeltaRuleOp op, const Options &options, uint64_t seed,
                         Writer &writer, llvm::json::Object &meta) {
  auto sizes = resolveSizes(op, options.dims);
  if (!sizes)
    return sizes.takeError();
  if (llvm::Error e = checkRecurrenceSize(*sizes))
    return e;
  const int64_t b = sizes->batch, h = sizes->heads, t = sizes->length,
                dk = sizes->keyDim, dv = sizes->valueDim;
  ref::Rng rng(seed);
  auto draw = [&](uint64_t stream, ref::Shape shape, auto value, Type type) {
    ref::Rng local = rng.split(stream);
    ref::Tensor<double> x(std::move(shape));
    for (int64_t i = 0; i < x.size(); ++i)
      x[i] = value(local, i);
    ref::applyRounding(x, roundingOf(type));
    return x;
  };
  Type elem = op.getQ().getType().getElementType();
  Type betaElem = op.getBeta().getType().getElementType();
  Type f32 = Float32Type::get(op.getContext());
  const double keyScale = 1.0 / std::sqrt(double(dk));
  ref::DeltaInputs<double> inputs;
  inputs.q = draw(1, {b, h, t, dk}, [](ref::Rng &r, int64_t) { return r.normal(); }, elem);
  inputs.k = draw(2, {b, h, t, dk},
                  [&](ref::Rng &r, int64_t) { return keyScale * r.normal(); }, elem);
  inputs.v = draw(3, {b, h, t, dv}, [](ref::Rng &r, int64_t) { return r.normal(); }, elem);
  inputs.beta = draw(4, {b, h, t}, [](ref::Rng &r, int64_t i) {
    const double u = r.uniform();
    return i % 7 == 0 ? 0.0 : i % 7 == 1 ? 1.0 : u;
  }, betaElem);
  ref::DeltaProblem problem;
  problem.gated = bool(op.getLogDecay());
  problem.l2NormQK = op.getL2normQk();
  problem.scale = op.getEffectiveScale();
  Type gateElem = f32;
  if (Value g = op.getLogDecay()) {
    gateElem = cast<RankedTensorType>(g.getType()).getElementType();
    inputs.logDecay = draw(5, {b, h, t},
                           [](ref::Rng &r, int64_t) { return r.uniform(-1.0, -0.01); },
                           gateElem);
  }
  if (op.getInitialState() || options.initialState)
    inputs.initial = draw(6, {b, h, dk, dv},
                          [](ref::Rng &r, int64_t) { return r.normal(); }, f32);
  if (!op.getInitialState())
    inputs.initial = {};
  if (linearVarlenOf(op.getOperation()))
    return runPackedDeltaRule(op, problem, inputs, *sizes, seed, writer, meta);
  ref::DeltaResult<double> result = ref::referenceDeltaRule(problem, inputs);

  writer.input("q", inputs.q, elem);
  writer.input("k", inputs.k, elem);
  writer.input("v", inputs.v, elem);
  writer.input("beta", inputs.beta, betaElem);
  if (problem.gated)
    writer.input("g", inputs.logDecay, gateElem);
  if (op.getInitialState())
    writer.input("c0", inputs.initial, f32);
  writer.output("o", result.out, dtypeOf(elem));
  if (op.getReturnFinalState())
    // The f32 state is a sum over the corrected values, which the chunk
    // kernels round to the element type (docs/semantics.md §7.3) as fla's
    // do: it is as accurate as a 16-bit output, so it gets that tolerance.
    writer.output("cf", result.finalState, "f32", 1e-2);
  meta["op"] = "delta_rule";
  meta["gated"] = problem.gated;
  meta["l2norm_qk"] = problem.l2NormQK;
  return llvm::Error::success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << flashgen::toolVersion("flashgen-ref") << "\n";
  });
  // Only flashgen-ref's options in --help, not the libraries'.
  cl::HideUnrelatedOptions(category);
  if (!cl::ParseCommandLineOptions(
          argc, argv,
          "flashgen-ref: float64 reference outputs of a spec's flash ops on "
          "random inputs\n",
          &llvm::errs(), /*VFS=*/nullptr, /*EnvVar=*/nullptr,
          /*LongOptionsUseDoubleDash=*/true))
    return 2;
  Options options;
  options.spec = specArg;
  options.output = outputArg;
  options.seed = seedArg;
  options.initialState = initialStateArg;
  for (const std::string &binding : dimArgs)
    if (llvm::Error e = parseDimBinding(binding, options.dims)) {
      llvm::errs() << "flashgen-ref: " << llvm::toString(std::move(e)) << "\n";
      return 2;
    }
  if (gateRangeArg.getNumOccurrences()) {
    auto [lo, hi] = llvm::StringRef(gateRangeArg).split(',');
    if (lo.getAsDouble(options.gateMin) || hi.getAsDouble(options.gateMax) ||
        options.gateMin >= options.gateMax) {
      llvm::errs() << "flashgen-ref: --gate-range takes LO,HI with LO < HI, not '"
                   << gateRangeArg << "'\n";
      return 2;
    }
    options.gateRangeGiven = true;
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module = flashgen::cli::loadSpec(context, options.spec);
  if (!module)
    return 1;
  if (backwardArg) {
    PassManager pm(&context);
    pm.addPass(createFlashDeriveBackward());
    if (failed(pm.run(*module)))
      return 1;
  }

  int written = 0;
  uint64_t opIndex = 0;
  llvm::Error failure = llvm::Error::success();
  module->walk([&](Operation *op) {
    if (failure ||
        !isa<AttentionOp, AttentionGradOp, LinearAttentionOp, DeltaRuleOp,
             LinearAttentionGradOp>(op))
      return;
    auto func = op->getParentOfType<func::FuncOp>();
    std::string name = func ? func.getName().str() : "op" + std::to_string(opIndex);
    llvm::SmallString<256> dir(options.output);
    llvm::sys::path::append(dir, name);
    if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
      failure = llvm::createStringError("cannot create " + std::string(dir) +
                                        ": " + ec.message());
      return;
    }
    Writer writer{std::string(dir)};
    llvm::json::Object meta{{"name", name}, {"seed", (int64_t)options.seed}};
    llvm::json::Object dims;
    for (const auto &entry : options.dims)
      dims[entry.getKey()] = entry.getValue();
    meta["dims"] = std::move(dims);
    // Each op draws from its own stream of the seed.
    uint64_t seed = options.seed * 1000003ull + opIndex++;
    try {
      if (auto attention = dyn_cast<AttentionOp>(op))
        failure = runAttention(attention, options, seed, writer, meta);
      else if (auto grad = dyn_cast<AttentionGradOp>(op))
        failure = runAttentionGrad(grad, options, seed, writer, meta);
      else if (auto delta = dyn_cast<DeltaRuleOp>(op))
        failure = runDeltaRule(delta, options, seed, writer, meta);
      else if (auto linearGrad = dyn_cast<LinearAttentionGradOp>(op))
        failure = runLinearGrad(linearGrad, options, seed, writer, meta);
      else
        failure = runLinear(cast<LinearAttentionOp>(op), options, seed, writer, meta);
    } catch (const ref::ReferenceError &error) {
      failure = llvm::createStringError(std::string("reference: ") + error.what());
    }
    if (failure)
      return;
    meta["tensors"] = std::move(writer.tensors);
    llvm::SmallString<256> metaPath(dir);
    llvm::sys::path::append(metaPath, "meta.json");
    std::error_code ec;
    llvm::raw_fd_ostream out(metaPath, ec);
    if (ec) {
      failure = llvm::createStringError("cannot write " + std::string(metaPath));
      return;
    }
    out << llvm::formatv("{0:2}", llvm::json::Value(std::move(meta))) << "\n";
    ++written;
  });
  if (failure) {
    llvm::errs() << "flashgen-ref: " << llvm::toString(std::move(failure)) << "\n";
    return 1;
  }
  llvm::outs() << "flashgen-ref: wrote reference data for " << written
               << " op(s) under " << options.output << "\n";
  return written ? 0 : 1;
}
