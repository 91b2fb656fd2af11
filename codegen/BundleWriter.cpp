//===- BundleWriter.cpp - write a bundle: sources + manifest.json ---------===//

#include "codegen/BundleWriter.h"

#include "codegen/CudaEmitter.h"
#include "codegen/EmbeddedFiles.h"
#include "dialect/FlashDialect.h"
#include "dialect/BlockMask.h"
#include "dialect/PagedKv.h"
#include "dialect/Rotary.h"
#include "dialect/Varlen.h"
#include "dialect/ScheduleConversion.h"
#include "schedule/AttentionGrad.h"
#include "schedule/ChunkLayout.h"
#include "schedule/DecodeSplit.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <tuple>

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;

namespace {

/// Writes `text` to `path` (relative to `root`), creating folders.
LogicalResult writeFile(Operation *anchor, StringRef root, StringRef path,
                        StringRef text) {
  // Every name comes from the writer or a checked kernel name; this keeps
  // any other from reaching outside the bundle.
  if (path.empty() || path.starts_with("/") || path.contains('\\') ||
      llvm::any_of(llvm::make_range(llvm::sys::path::begin(path),
                                    llvm::sys::path::end(path)),
                   [](StringRef part) { return part == ".." || part == "."; }))
    return anchor->emitError() << "bundle file name '" << path
                               << "' would leave the bundle folder";
  llvm::SmallString<256> full(root);
  llvm::sys::path::append(full, path);
  if (std::error_code ec =
          llvm::sys::fs::create_directories(llvm::sys::path::parent_path(full)))
    return anchor->emitError() << "cannot create the folder of " << full
                               << ": " << ec.message();
  std::error_code ec;
  llvm::raw_fd_ostream out(full, ec);
  if (ec)
    return anchor->emitError() << "cannot write " << full << ": "
                               << ec.message();
  out << text;
  return success();
}

std::string dtypeName(Type type) {
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

/// The named batch and sequence sizes of one op. A name whose size is
/// static in any of the op's tensors is fixed: the manifest writes the
/// number wherever the name would appear (shapes, grids, kernel arguments),
/// so that every tensor is checked against it and no symbol is left that no
/// tensor binds.
struct SizeNames {
  std::map<std::string, int64_t> fixed;
  /// Sizes no tensor has as a dim, computed from others: a paged cache's
  /// key length, its pages per sequence times the page size
  /// (dialect/PagedKv.h). The manifest writes the expression wherever the
  /// name would appear.
  std::map<std::string, std::string> derived;

  /// Records dim `index` of `value`'s type as the size called `name`.
  void note(Value value, unsigned index, const std::string &name) {
    auto type = cast<RankedTensorType>(value.getType());
    if (!type.isDynamicDim(index))
      fixed.emplace(name, type.getDimSize(index));
  }
  /// A manifest dim: the number of a fixed name, else the name.
  llvm::json::Value dim(const std::string &name) const {
    auto it = fixed.find(name);
    if (it != fixed.end())
      return it->second;
    if (derived.count(name))
      return expr(name);
    return name;
  }
  /// A manifest shape: static sizes as integers, dynamic ones by name.
  llvm::json::Array shape(RankedTensorType type,
                          ArrayRef<std::string> dynamicNames) const {
    llvm::json::Array out;
    for (int64_t i = 0; i < type.getRank(); ++i) {
      if (type.isDynamicDim(i))
        out.push_back(dim(dynamicNames[i]));
      else
        out.push_back(type.getDimSize(i));
    }
    return out;
  }
  /// `text` (a manifest expression) with every fixed name replaced by its
  /// number; an integer when nothing else is left.
  llvm::json::Value expr(StringRef text) const {
    std::string out;
    for (size_t i = 0; i < text.size();) {
      if (llvm::isAlpha(text[i]) || text[i] == '_') {
        size_t j = i;
        while (j < text.size() && (llvm::isAlnum(text[j]) || text[j] == '_'))
          ++j;
        std::string word = text.substr(i, j - i).str();
        auto it = fixed.find(word);
        auto formula = derived.find(word);
        if (it != fixed.end())
          out += std::to_string(it->second);
        else if (formula != derived.end())
          out += "(" + formula->second + ")";
        else
          out += word;
        i = j;
      } else {
        out += text[i++];
      }
    }
    int64_t value = 0;
    if (!StringRef(out).getAsInteger(10, value))
      return value;
    return out;
  }
  /// A kernel argument carrying size `name`: an int when it is fixed.
  llvm::json::Object arg(const std::string &name,
                         std::vector<std::string> &symbolsUsed) const {
    auto it = fixed.find(name);
    if (it != fixed.end())
      return llvm::json::Object{{"int", it->second}};
    if (derived.count(name))
      return llvm::json::Object{{"expr", expr(name)}};
    if (!llvm::is_contained(symbolsUsed, name))
      symbolsUsed.push_back(name);
    return llvm::json::Object{{"symbol", name}};
  }
};


/// The IO figures the scheduling passes recorded on the op (variant 0).
llvm::json::Object ioJson(Operation *op) {
  llvm::json::Object io;
  if (auto bound = op->getAttrOfType<IntegerAttr>("flash.io_lower_bound"))
    io["lower_bound_bytes"] = bound.getInt();
  if (auto modeled = op->getAttrOfType<IntegerAttr>("flash.modeled_io"))
    io["modeled_io_bytes"] = modeled.getInt();
  if (auto ratio = op->getAttrOfType<FloatAttr>("flash.io_ratio"))
    io["ratio"] = ratio.getValueAsDouble();
  return io;
}

/// The manifest's informative "flops" (docs/bundle-format.md §1.2): `text`
/// with fixed sizes substituted, or null when it names a size that is not
/// one of the kernel's symbols (the runtime would reject the name).
llvm::json::Value flopsJson(const SizeNames &sizes, const std::string &text,
                            const std::vector<std::string> &symbolsUsed) {
  llvm::json::Value value = sizes.expr(text);
  if (auto expr = value.getAsString()) {
    StringRef rest = *expr;
    while (!rest.empty()) {
      if (!llvm::isAlpha(rest.front()) && rest.front() != '_') {
        rest = rest.drop_front();
        continue;
      }
      StringRef word = rest.take_while(
          [](char c) { return llvm::isAlnum(c) || c == '_'; });
      rest = rest.drop_front(word.size());
      if (word != "min" && word != "max" && word != "cdiv" &&
          !llvm::is_contained(symbolsUsed, word.str()))
        return nullptr;
    }
  }
  return value;
}

/// Attention's floating-point operations: 2*(D+Dv) per visible (query, key)
/// pair per query head, i.e. the QK^T and PV products (softmax and
/// score_mod not counted). Visible pairs per head, masks aligned
/// bottom-right (docs/semantics.md §2.3): N*M without a mask; for causal
/// sum over rows of min(M, i+M-N+1)^+ = min(N,M)*M - min(N,M)*(min(N,M)-1)/2
/// (N*(N+1)/2 when N and M are one size); for sliding_window(w)
/// S(M) - S(max(M-N,0)) with S(x) = r*(r+1)/2 + (x-r)*w, r = min(x,w), the
/// pairs of keys 0..x-1 each seeing at most w. A mask_mod, or a score_mod
/// returning -inf, hides pairs not subtracted here: an upper bound then.
/// `flopsPerPair` is what one query head spends per visible pair.
std::string attentionFlops(int64_t flopsPerPair, MaskKind mask,
                           std::optional<int64_t> window,
                           const std::string &batch,
                           const std::string &queryDim,
                           const std::string &keyDim) {
  const std::string &n = queryDim, &m = keyDim;
  std::string pairs;
  switch (mask) {
  case MaskKind::none:
    pairs = n + "*" + m;
    break;
  case MaskKind::causal:
    if (n == m) {
      pairs = n + "*(" + n + "+1)/2";
    } else {
      std::string r = "min(" + n + "," + m + ")";
      pairs = "(" + r + "*" + m + "-" + r + "*(" + r + "-1)/2)";
    }
    break;
  case MaskKind::sliding_window: {
    std::string w = std::to_string(window.value_or(1));
    auto s = [&](const std::string &x) {
      std::string r = "min(" + x + "," + w + ")";
      return "(" + r + "*(" + r + "+1)/2+(" + x + "-" + r + ")*" + w + ")";
    };
    pairs = n == m ? s(n)
                   : "(" + s(m) + "-" + s("max(" + m + "-" + n + ",0)") + ")";
    break;
  }
  }
  return batch + "*" + std::to_string(flopsPerPair) + "*" + pairs;
}

/// Rows read or written in 16-byte pieces (cp.async, TMA, vector stores)
/// need strides in whole 16-byte units: the manifest's stride_align.
int64_t rowAlignOf(Type elem) {
  return 16 / std::max<int64_t>(1, elem.getIntOrFloatBitWidth() / 8);
}

/// The op's extra operands (dialect/ExtraOperands.h): tensors as `in`
/// params, read element by element (so aligned to their element only),
/// rank-0 extras as scalars without a default (given at every launch).
void addExtraOperands(ArrayRef<ExtraOperand> extras, const SizeNames &sizes,
                      llvm::json::Array &params, llvm::json::Array &scalars) {
  for (const ExtraOperand &extra : extras) {
    Type elem = extra.type.getElementType();
    if (extra.isScalar()) {
      scalars.push_back(llvm::json::Object{{"name", extra.name},
                                           {"dtype", dtypeName(elem)}});
      continue;
    }
    std::vector<std::string> dims(extra.dimNames.begin(), extra.dimNames.end());
    params.push_back(llvm::json::Object{
        {"name", extra.name},
        {"io", "in"},
        {"dtype", dtypeName(elem)},
        {"shape", sizes.shape(extra.type, dims)},
        {"pointer_align", elem.getIntOrFloatBitWidth() / 8}});
  }
}

/// The manifest entry of one op's kernel (docs/bundle-format.md §1.2): its
/// name, op, the size symbols its launches use, params and variants.
llvm::json::Object kernelEntry(const std::string &name, StringRef op,
                               const std::vector<std::string> &symbolsUsed,
                               llvm::json::Array params, llvm::json::Array variants) {
  llvm::json::Array symbolList;
  for (const std::string &symbol : symbolsUsed)
    symbolList.push_back(symbol);
  return llvm::json::Object{{"name", name},
                            {"op", op.str()},
                            {"symbols", std::move(symbolList)},
                            {"params", std::move(params)},
                            {"variants", std::move(variants)}};
}

/// The kernels of `first`'s variant among `op`'s `flash.kernels`, in launch
/// order (what a variant's scratch serves: a rotary pre-pass's copy of K
/// is the attention kernel's to read, the first kernel's to write).
SmallVector<KernelOp> variantKernels(Operation *op, SymbolTable &symbols, KernelOp first) {
  SmallVector<KernelOp> kernels;
  auto variantOf = [](KernelOp kernel) {
    return cast<IntegerAttr>(kernel.getProblem().get("variant")).getInt();
  };
  if (auto refs = op->getAttrOfType<ArrayAttr>("flash.kernels"))
    for (Attribute ref : refs)
      if (auto kernel = symbols.lookup<KernelOp>(cast<FlatSymbolRefAttr>(ref).getValue()))
        if (variantOf(kernel) == variantOf(first))
          kernels.push_back(kernel);
  return kernels;
}

/// A kernel's source with its own name taken out and without its header
/// comment (which names its variant and schedule): two kernels with the
/// same result compute the same thing.
std::string codeWithoutName(StringRef source, StringRef name) {
  std::string out;
  llvm::SmallVector<StringRef> lines;
  source.split(lines, '\n');
  for (StringRef line : lines) {
    if (line.starts_with("// Generated by flashgen from") || line.starts_with("// Schedule:"))
      continue;
    for (size_t at; (at = line.find(name)) != StringRef::npos; line = line.drop_front(at + name.size()))
      out += line.take_front(at).str() + "@";
    out += line.str() + "\n";
  }
  return out;
}

/// The manifest variants of an op whose `flash.kernels` lists each
/// variant's kernels consecutively, in launch order (the kernels' problem
/// `variant` says which): every kernel is emitted and its source written;
/// a variant gets its schedule, sources, the device headers, its launches
/// and, where `scratchOf` is given, the scratch buffers it returns for the
/// variant's first kernel; variant 0 also the op's IO figures. Kernel
/// arguments named in `scratchNames` bind those buffers.
LogicalResult writeVariants(Operation *op, SymbolTable &symbols,
                            const BundleOptions &options,
                            const SizeNames &sizes,
                            ArrayRef<StringRef> scratchNames,
                            llvm::function_ref<llvm::json::Array(KernelOp)> scratchOf,
                            std::vector<std::string> &symbolsUsed,
                            llvm::json::Array &variants) {
  auto refs = op->getAttrOfType<ArrayAttr>("flash.kernels");
  if (!refs || refs.empty())
    return op->emitError() << "has no flash.kernels: run flash-lower-kernels "
                              "before writing a bundle";
  llvm::json::Array headers;
  for (unsigned i = 0; i < flashgen::embedded::kFileCount; ++i)
    headers.push_back(flashgen::embedded::kFiles[i].path);

  std::optional<int64_t> current;
  llvm::json::Object variant;
  llvm::json::Array sources, launches;
  // A kernel whose code equals an earlier variant's but for its name (a
  // parameter that only another of the variant's kernels reads, e.g. a
  // state pass's tile_dv beside an identical chunk kernel) reuses that
  // file and entry: one file to compile, which the runtime's cache and
  // flashgen-nvrtc then compile once.
  std::map<std::string, std::pair<std::string, std::string>> written;
  auto flush = [&]() {
    if (!current)
      return;
    variant["sources"] = std::move(sources);
    variant["headers"] = llvm::json::Array(headers);
    variant["nvrtc_options"] = llvm::json::Array{"-std=c++17"};
    variant["launches"] = std::move(launches);
    if (*current == 0)
      variant["io"] = ioJson(op);
    variants.push_back(std::move(variant));
    variant = llvm::json::Object();
    sources = llvm::json::Array();
    launches = llvm::json::Array();
  };
  for (Attribute ref : refs) {
    auto kernel = symbols.lookup<KernelOp>(cast<FlatSymbolRefAttr>(ref).getValue());
    if (!kernel)
      return op->emitError() << "names kernel " << ref << ", which is missing";
    int64_t index = cast<IntegerAttr>(kernel.getProblem().get("variant")).getInt();
    if (current != index) {
      flush();
      current = index;
      variant["schedule"] = scheduleJson(kernel.getSchedule());
      if (scratchOf)
        variant["scratch"] = scratchOf(kernel);
    }
    FailureOr<EmittedKernel> emitted = emitCudaKernel(kernel);
    if (failed(emitted))
      return failure();
    std::string source = kernel.getSymName().str() + ".cu", entry = emitted->entry;
    auto [at, fresh] = written.try_emplace(codeWithoutName(emitted->source, kernel.getSymName()),
                                           source, entry);
    if (fresh) {
      if (failed(writeFile(kernel, options.directory, source, emitted->source)))
        return failure();
    } else {
      std::tie(source, entry) = at->second;
    }
    if (!llvm::is_contained(sources, llvm::json::Value(source)))
      sources.push_back(source);

    llvm::json::Array args;
    for (const KernelArgument &arg : emitted->arguments) {
      if (arg.kind == KernelArgument::Kind::Symbol)
        args.push_back(sizes.arg(arg.name, symbolsUsed));
      else if (arg.kind == KernelArgument::Kind::TensorMap)
        args.push_back(llvm::json::Object{
            {"tensor_map", llvm::json::Object{{arg.ofScratch ? "scratch" : "tensor", arg.name},
                                              {"box_rows", arg.boxRows},
                                              {"box_cols", 64},
                                              {"swizzle", 128}}}});
      else if (arg.kind == KernelArgument::Kind::Scalar)
        args.push_back(llvm::json::Object{{"scalar", arg.name}});
      else if (arg.kind == KernelArgument::Kind::Scratch)
        args.push_back(llvm::json::Object{{"scratch", arg.name}});
      else if (arg.kind == KernelArgument::Kind::Expr)
        args.push_back(llvm::json::Object{{"expr", sizes.expr(arg.expr)}});
      else if (llvm::is_contained(scratchNames, arg.name))
        args.push_back(llvm::json::Object{{"scratch", arg.name}});
      else
        args.push_back(llvm::json::Object{{"tensor", arg.name}});
    }
    llvm::json::Array grid;
    for (const std::string &extent : emitted->grid)
      grid.push_back(sizes.expr(extent));
    llvm::json::Object launch{
        {"entry", entry},
        {"grid", std::move(grid)},
        {"block", llvm::json::Array{emitted->threads, 1, 1}},
        {"dynamic_smem_bytes", emitted->dynamicSmemBytes},
        {"args", std::move(args)}};
    if (emitted->overlapsPrevious)
      launch["overlaps_previous"] = true;
    launches.push_back(std::move(launch));
  }
  flush();
  return success();
}

/// The lists a mask_lists pre-pass writes to the workspace (scratch), by
/// the names the kernels read them: the kv lists (a query tile's key
/// tiles), then their transposes (a key tile's query tiles, the gradient's).
const StringRef kMaskListNames[] = {kKvNumBlocksName,    kKvIndicesName,
                                    kFullKvNumBlocksName, kFullKvIndicesName,
                                    kQNumBlocksName,     kQIndicesName,
                                    kFullQNumBlocksName,  kFullQIndicesName};

/// The manifest shape of a block-mask list of type `type` (a count list
/// [B|1, Hq|1, rows] or an index list [.., listed]): static dims as they
/// are, the batch by name, the row and listed block counts as expressions.
llvm::json::Array listShape(RankedTensorType type, SizeNames &sizes,
                            const std::string &batchDim, const std::string &rows,
                            const std::string &listed) {
  llvm::json::Array shape;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (!type.isDynamicDim(d))
      shape.push_back(type.getDimSize(d));
    else if (d == 0)
      shape.push_back(sizes.dim(batchDim));
    else
      shape.push_back(sizes.expr(d == 2 ? rows : listed));
  }
  return shape;
}

/// A mask_lists pre-pass's lists (passes/LowerAttentionMaskLists.cpp) as
/// `kernel`'s variant's scratch, shaped as its kernels read them (their
/// flash.extra types): the kv lists [B|1, Hq|1, cdiv(N, tile_q)] counts and
/// [.., cdiv(M, tile_kv)] indices, the transposed ones the other way round.
/// Nothing where the schedule has no mask_lists or the op walks its own
/// block mask.
void addMaskListScratch(Operation *op, SymbolTable &symbols, KernelOp kernel,
                        SizeNames &sizes, const std::string &batchDim,
                        const std::string &queryDim, const std::string &keyDim,
                        llvm::json::Array &scratch) {
  ScheduleAttr s = kernel.getSchedule();
  if (!s.getMaskLists() || blockMaskOf(op))
    return;
  std::string queryTiles = "cdiv(" + queryDim + "," + std::to_string(s.getTileQ()) + ")";
  std::string keyTiles = "cdiv(" + keyDim + "," + std::to_string(s.getTileKv()) + ")";
  std::map<std::string, RankedTensorType> lists;
  for (KernelOp launched : variantKernels(op, symbols, kernel))
    launched.walk([&](ExtraOp extra) {
      if (llvm::is_contained(kMaskListNames, extra.getName()))
        lists[extra.getName().str()] = extra.getTensor().getType();
    });
  for (bool transposed : {false, true})
    for (StringRef name : transposed ? ArrayRef(kQListNames) : ArrayRef(kKvListNames))
      if (auto it = lists.find(name.str()); it != lists.end())
        scratch.push_back(llvm::json::Object{
            {"name", name},
            {"dtype", "i32"},
            {"shape", listShape(it->second, sizes, batchDim,
                                transposed ? keyTiles : queryTiles,
                                transposed ? queryTiles : keyTiles)}});
}

/// A block mask's lists as params, FlexAttention's BlockMask fields by its
/// names (dialect/BlockMask.h): the kv lists, [B|1, Hq|1, cdiv(N, Qb)]
/// counts and [.., cdiv(M, Kb)] indices, or their transposes, [B|1, Hq|1,
/// cdiv(M, Kb)] and [.., cdiv(N, Qb)].
void addBlockListParams(const BlockMask &mask, SizeNames &sizes,
                        const std::string &batchDim, const std::string &queryDim,
                        const std::string &keyDim, bool transposed,
                        llvm::json::Array &params) {
  std::string rows = transposed ? keyBlocksExpr(keyDim, mask)
                                : queryBlocksExpr(queryDim, mask);
  std::string listed = transposed ? queryBlocksExpr(queryDim, mask)
                                  : keyBlocksExpr(keyDim, mask);
  auto list = [&](StringRef name, Value value) {
    params.push_back(llvm::json::Object{
        {"name", name},
        {"io", "in"},
        {"dtype", "i32"},
        {"shape", listShape(llvm::cast<RankedTensorType>(value.getType()), sizes,
                            batchDim, rows, listed)},
        {"pointer_align", 4}});
  };
  if (transposed) {
    list(kQNumBlocksName, mask.queryCounts);
    list(kQIndicesName, mask.queryIndices);
    if (mask.fullQueryCounts) {
      list(kFullQNumBlocksName, mask.fullQueryCounts);
      list(kFullQIndicesName, mask.fullQueryIndices);
    }
    return;
  }
  list(kKvNumBlocksName, mask.counts);
  list(kKvIndicesName, mask.indices);
  if (mask.hasFull()) {
    list(kFullKvNumBlocksName, mask.fullCounts);
    list(kFullKvIndicesName, mask.fullIndices);
  }
}

LogicalResult writeAttentionKernel(AttentionOp op, const std::string &name,
                                   SymbolTable &symbols,
                                   const BundleOptions &options,
                                   llvm::json::Array &kernels) {

  std::string batchDim = op.getBatchDimName(), queryDim = op.getQueryDimName(),
              keyDim = op.getKeyDimName();
  std::optional<PagedKv> paged = pagedKvOf(op.getOperation());
  std::optional<Varlen> varlen = varlenOf(op.getOperation());
  bool packedQueries = varlen && varlen->packedQueries(),
       packedKeys = varlen && varlen->packedKeys();
  SizeNames sizes;
  if (!packedQueries) {
    for (Value value : {op.getQ(), op.getO()})
      sizes.note(value, 0, batchDim);
    for (Value value : {op.getQ(), op.getO()})
      sizes.note(value, 2, queryDim);
  }
  std::vector<std::string> qNames = {batchDim, "", queryDim, ""};
  std::vector<std::string> kNames = {batchDim, "", keyDim, ""};
  // Packed sides (dialect/Varlen.h): [<dim>_total, H, D] params, offsets
  // [B + 1], and the longest sequence a launch scalar (max_seqlen_q/_k)
  // that stands for the sequence dim wherever it appears (grid, sizes).
  // With every side packed no tensor has B itself: the offsets' count
  // binds "<B>_offsets" and B is that minus one.
  std::string offsetsDim = batchDim + "_offsets";
  bool batchFromOffsets = packedQueries && packedKeys;
  llvm::json::Array scalars;
  if (packedQueries) {
    sizes.derived.emplace(queryDim, kMaxSeqlenQ.str());
    scalars.push_back(llvm::json::Object{{"name", kMaxSeqlenQ}, {"dtype", "i32"}});
  }
  if (packedKeys) {
    sizes.derived.emplace(keyDim, kMaxSeqlenK.str());
    scalars.push_back(llvm::json::Object{{"name", kMaxSeqlenK}, {"dtype", "i32"}});
  }
  if (batchFromOffsets)
    sizes.derived.emplace(batchDim, offsetsDim + "-1");
  // A paged cache's k and v params are its pools [pool_pages, P, Hkv, D];
  // the page table [B, <M>_pages] binds the pages per sequence, and the key
  // length is derived from them (dialect/PagedKv.h).
  std::string seqPages = paged ? seqPagesDimName(keyDim) : std::string();
  if (paged) {
    for (Value pool : {paged->kPool, paged->vPool})
      sizes.note(pool, 0, kPoolPagesDim.str());
    sizes.note(paged->table, 0, batchDim);
    sizes.note(paged->table, 1, seqPages);
    auto pages = sizes.fixed.find(seqPages);
    if (pages != sizes.fixed.end())
      sizes.fixed.emplace(keyDim, pages->second * paged->pageSize);
    else
      sizes.derived.emplace(keyDim, seqPages + "*" + std::to_string(paged->pageSize));
    kNames = {kPoolPagesDim.str(), "", "", ""};
  } else if (!packedKeys) {
    for (Value value : {op.getK(), op.getV()}) {
      sizes.note(value, 0, batchDim);
      sizes.note(value, 2, keyDim);
    }
  }
  llvm::json::Array params;
  auto param = [&](StringRef tensor, StringRef io, RankedTensorType type,
                   ArrayRef<std::string> dynamicNames) {
    params.push_back(llvm::json::Object{
        {"name", tensor},
        {"io", io},
        {"dtype", dtypeName(type.getElementType())},
        {"shape", sizes.shape(type, dynamicNames)},
        {"stride_align", rowAlignOf(type.getElementType())}});
  };
  auto typeOf = [](Value value) { return cast<RankedTensorType>(value.getType()); };
  std::vector<std::string> qPackedNames = {packedRowsDimName(queryDim), "", ""};
  std::vector<std::string> kPackedNames = {packedRowsDimName(keyDim), "", ""};
  auto offsets = [&](StringRef cu) {
    llvm::json::Value shape = batchFromOffsets
                                  ? llvm::json::Value(offsetsDim)
                                  : sizes.expr(batchDim + "+1");
    params.push_back(llvm::json::Object{{"name", cu},
                                        {"io", "in"},
                                        {"dtype", "i32"},
                                        {"shape", llvm::json::Array{std::move(shape)}},
                                        {"pointer_align", 4}});
  };
  if (packedQueries)
    param("q", "in", typeOf(varlen->qPacked), qPackedNames);
  else
    param("q", "in", op.getQ().getType(), qNames);
  if (packedKeys) {
    param("k", "in", typeOf(varlen->kPacked), kPackedNames);
    param("v", "in", typeOf(varlen->vPacked), kPackedNames);
  } else {
    param("k", "in", paged ? paged->kPoolType : op.getK().getType(), kNames);
    param("v", "in", paged ? paged->vPoolType : op.getV().getType(), kNames);
  }
  if (packedQueries)
    offsets(kCuSeqlensQ);
  if (packedKeys)
    offsets(kCuSeqlensK);
  if (paged)
    params.push_back(llvm::json::Object{
        {"name", kPageTableName},
        {"io", "in"},
        {"dtype", "i32"},
        {"shape", sizes.shape(paged->tableType, {batchDim, seqPages})},
        {"pointer_align", 4}});
  if (std::optional<BlockMask> mask = blockMaskOf(op.getOperation()))
    addBlockListParams(*mask, sizes, batchDim, queryDim, keyDim,
                       /*transposed=*/false, params);
  addExtraOperands(op.getExtraOperands(), sizes, params, scalars);
  if (packedQueries)
    param("o", "out", typeOf(varlen->oPacked), qPackedNames);
  else
    param("o", "out", op.getO().getType(), qNames);
  // The rows' log-sum-exp (docs/semantics.md §2.4): optional, written when
  // the caller passes it (a backward pass, a log-sum-exp merge); packed
  // queries' as [Hq, Tq], FlashAttention's varlen layout.
  int64_t queryHeads = op.getQ().getType().getDimSize(1);
  llvm::json::Array lseShape =
      packedQueries
          ? llvm::json::Array{queryHeads, sizes.dim(packedRowsDimName(queryDim))}
          : llvm::json::Array{sizes.dim(batchDim), queryHeads, sizes.dim(queryDim)};
  params.push_back(llvm::json::Object{
      {"name", "lse"},
      {"io", "out"},
      {"dtype", "f32"},
      {"shape", std::move(lseShape)},
      {"optional", true}});

  // flash_decode's scratch: the key splits' partial rows and their
  // log-sum-exp, one row per (split, batch, kv head, padded packed row); the
  // split kernel's launch value says how many splits (DecodeSplit.h).
  auto scratchOf = [&](KernelOp kernel) {
    llvm::json::Array scratch;
    // Claimed persistent rounds count their tiles in one zeroed word.
    bool claimed = false, keysRotated = false;
    for (KernelOp launched : variantKernels(op, symbols, kernel)) {
      launched.walk([&](TileRoundsOp rounds) { claimed |= rounds.getClaimed(); });
      keysRotated |= readsRotatedKeys(launched);
    }
    if (claimed)
      scratch.push_back(llvm::json::Object{{"name", kTileClaimsScratch},
                                           {"dtype", "i32"},
                                           {"shape", llvm::json::Array{1}},
                                           {"zero_init", true}});
    addMaskListScratch(op.getOperation(), symbols, kernel, sizes, batchDim,
                       queryDim, keyDim, scratch);
    // A rotary pre-pass's copy of K, whole rows of every (batch, kv head).
    if (keysRotated) {
      RankedTensorType k = op.getK().getType();
      scratch.push_back(llvm::json::Object{
          {"name", kRotatedKeysScratch},
          {"dtype", dtypeName(k.getElementType())},
          {"shape", llvm::json::Array{sizes.dim(batchDim), k.getDimSize(1),
                                      sizes.dim(keyDim), k.getDimSize(3)}}});
    }
    if (!splitsKeys(kernel.getSchedule().getAlgorithm()))
      return scratch;
    std::string splits;
    kernel.walk([&](LaunchValueOp value) { splits = value.getExpr().str(); });
    int64_t kvHeads = op.getK().getType().getDimSize(1);
    std::string rows = flashgen::schedule::decodeScratchRowsExpr(
        splits, kvHeads, op.getQ().getType().getDimSize(1) / kvHeads,
        kernel.getSchedule().getTileQ(), batchDim, queryDim);
    scratch.push_back(llvm::json::Object{
        {"name", "o_split"},
        {"dtype", "f32"},
        {"shape", llvm::json::Array{sizes.expr(rows),
                                    op.getV().getType().getDimSize(3)}}});
    scratch.push_back(llvm::json::Object{
        {"name", "lse_split"}, {"dtype", "f32"}, {"shape", llvm::json::Array{sizes.expr(rows)}}});
    return scratch;
  };
  llvm::json::Array variants;
  std::vector<std::string> symbolsUsed;
  // Without a block mask of the op's own, its kernels' lists are a
  // mask_lists pre-pass's, in the workspace.
  ArrayRef<StringRef> listScratch;
  if (!blockMaskOf(op.getOperation()))
    listScratch = kMaskListNames;
  if (failed(writeVariants(op, symbols, options, sizes, listScratch,
                           scratchOf, symbolsUsed, variants)))
    return failure();

  // Expressions name the pages per sequence where the derived key length
  // was written.
  if (paged && sizes.derived.count(keyDim) &&
      !llvm::is_contained(symbolsUsed, seqPages))
    symbolsUsed.push_back(seqPages);
  if (batchFromOffsets && !llvm::is_contained(symbolsUsed, offsetsDim))
    symbolsUsed.push_back(offsetsDim);
  llvm::json::Object entry =
      kernelEntry(name, "attention", symbolsUsed, std::move(params), std::move(variants));
  if (!scalars.empty())
    entry["scalars"] = std::move(scalars);
  // flash-schedule's size rule: which variant the model ranks first at
  // which query lengths (schedule/SizeRule.h), the runtime's default.
  if (auto rule = op->getAttrOfType<DictionaryAttr>("flash.size_rule")) {
    auto ints = [&](StringRef key) {
      llvm::json::Array out;
      if (auto values = rule.getAs<ArrayAttr>(key))
        for (Attribute value : values)
          out.push_back(cast<IntegerAttr>(value).getInt());
      return out;
    };
    entry["dispatch"] = llvm::json::Object{
        {"by", rule.getAs<StringAttr>("dim").getValue().str()},
        {"upper_bounds", ints("upper_bounds")},
        {"variants", ints("variants")}};
  }
  int64_t heads = op.getQ().getType().getDimSize(1),
          d = op.getQ().getType().getDimSize(3),
          dv = op.getV().getType().getDimSize(3);
  llvm::json::Value flops = flopsJson(
      sizes,
      attentionFlops(heads * 2 * (d + dv), op.getMask(), op.getWindow(),
                     batchDim, queryDim, keyDim),
      symbolsUsed);
  if (flops.kind() != llvm::json::Value::Null)
    entry["flops"] = std::move(flops);
  kernels.push_back(std::move(entry));
  return success();
}

/// Bundle entry of a flash.attention_grad lowered by flash-lower-kernels
/// (`<forward>_backward`): params q, k, v, o, do, lse in and dq, dk, dv out
/// (what flashgen.torch's backward passes), one variant per schedule with
/// its three launches in order and its scratch: the row dots D and, for
/// flash2_grad, the f32 dQ accumulator (docs/bundle-format.md §1.5).
LogicalResult writeAttentionGradKernel(AttentionGradOp op,
                                       const std::string &name,
                                       SymbolTable &symbols,
                                       const BundleOptions &options,
                                       llvm::json::Array &kernels) {
  std::string batchDim = op.getBatchDimName(), queryDim = op.getQueryDimName(),
              keyDim = op.getKeyDimName();
  SizeNames sizes;
  for (Value value : {op.getQ(), op.getK(), op.getV(), op.getO(), op.getDout()})
    sizes.note(value, 0, batchDim);
  for (Value value : {op.getQ(), op.getO(), op.getDout()})
    sizes.note(value, 2, queryDim);
  for (Value value : {op.getK(), op.getV()})
    sizes.note(value, 2, keyDim);
  sizes.note(op.getLse(), 0, batchDim);
  sizes.note(op.getLse(), 2, queryDim);
  std::vector<std::string> qNames = {batchDim, "", queryDim, ""};
  std::vector<std::string> kNames = {batchDim, "", keyDim, ""};
  llvm::json::Array params;
  auto param = [&](StringRef tensor, StringRef io, RankedTensorType type,
                   ArrayRef<std::string> dynamicNames) {
    llvm::json::Object entry{{"name", tensor.str()},
                             {"io", io.str()},
                             {"dtype", dtypeName(type.getElementType())},
                             {"shape", sizes.shape(type, dynamicNames)}};
    if (!type.getElementType().isF32())
      entry["stride_align"] = rowAlignOf(type.getElementType());
    params.push_back(std::move(entry));
  };
  param("q", "in", op.getQ().getType(), qNames);
  param("k", "in", op.getK().getType(), kNames);
  param("v", "in", op.getV().getType(), kNames);
  param("o", "in", op.getO().getType(), qNames);
  param("do", "in", op.getDout().getType(), qNames);
  param("lse", "in", op.getLse().getType(), {batchDim, "", queryDim});
  // A block mask: the kv lists (the dq kernel's) and their transposes (the
  // kv kernel's), as the backward function takes them.
  if (std::optional<BlockMask> mask = blockMaskOf(op.getOperation())) {
    addBlockListParams(*mask, sizes, batchDim, queryDim, keyDim,
                       /*transposed=*/false, params);
    addBlockListParams(*mask, sizes, batchDim, queryDim, keyDim,
                       /*transposed=*/true, params);
  }
  llvm::json::Array scalars;
  addExtraOperands(op.getExtraOperands(), sizes, params, scalars);
  param("dq", "out", op.getDq().getType(), qNames);
  param("dk", "out", op.getDk().getType(), kNames);
  param("dv", "out", op.getDv().getType(), kNames);

  const llvm::json::Value batch = sizes.dim(batchDim), length = sizes.dim(queryDim);
  int64_t heads = op.getQ().getType().getDimSize(1),
          d = op.getQ().getType().getDimSize(3),
          dv = op.getV().getType().getDimSize(3);
  // Scratch: the row dots D, and the atomic schedules' f32 dQ accumulator
  // (flash3_grad's blocked: schedule/AttentionGrad.h).
  auto scratchOf = [&](KernelOp kernel) {
    llvm::json::Array scratch{llvm::json::Object{
        {"name", "delta"},
        {"dtype", "f32"},
        {"shape", llvm::json::Array{batch, heads, length}}}};
    ScheduleAttr s = kernel.getSchedule();
    addMaskListScratch(op.getOperation(), symbols, kernel, sizes, batchDim,
                       queryDim, keyDim, scratch);
    if (sched::gradDqBlocked(toLibrary(s))) {
      llvm::json::Value rows = sizes.expr(
          "cdiv(" + queryDim + "," + std::to_string(sched::kGradDqBlockRows) +
          ")*" + std::to_string(sched::kGradDqBlockRows));
      scratch.push_back(llvm::json::Object{
          {"name", "dq_accum"},
          {"dtype", "f32"},
          {"shape", llvm::json::Array{batch, heads, d / sched::kGradDqBlockColumns,
                                      rows, sched::kGradDqBlockColumns}}});
    } else if (gradAtomicDq(s.getAlgorithm())) {
      scratch.push_back(llvm::json::Object{
          {"name", "dq_accum"},
          {"dtype", "f32"},
          {"shape", llvm::json::Array{batch, heads, length, d}}});
    }
    // Rotary embedding: q and k rotated, which the kernels read in their
    // place (LowerAttentionRotary.cpp).
    if (rotaryOf(op.getOperation())) {
      std::string elem = dtypeName(op.getQ().getType().getElementType());
      scratch.push_back(llvm::json::Object{
          {"name", rotatedCopyScratch(TensorRole::q)},
          {"dtype", elem},
          {"shape", llvm::json::Array{batch, heads, length, d}}});
      scratch.push_back(llvm::json::Object{
          {"name", rotatedCopyScratch(TensorRole::k)},
          {"dtype", elem},
          {"shape", llvm::json::Array{batch, op.getK().getType().getDimSize(1),
                                      sizes.dim(keyDim), d}}});
    }
    return scratch;
  };
  llvm::json::Array variants;
  std::vector<std::string> symbolsUsed;
  // The kernels' arguments bound to scratch: D, the accumulator, and
  // without a block mask of the op's own, a mask_lists pre-pass's lists.
  SmallVector<StringRef> gradScratch = {"delta", "dq_accum"};
  if (!blockMaskOf(op.getOperation()))
    gradScratch.append(std::begin(kMaskListNames), std::end(kMaskListNames));
  if (failed(writeVariants(op, symbols, options, sizes, gradScratch, scratchOf,
                           symbolsUsed, variants)))
    return failure();

  llvm::json::Object entry =
      kernelEntry(name, "attention_grad", symbolsUsed, std::move(params), std::move(variants));
  if (!scalars.empty())
    entry["scalars"] = std::move(scalars);
  // The five products per visible pair: S = q k^T and dK (2 D each), dP and
  // dV (2 Dv each), dQ (2 D); 2.5x the forward's with D = Dv. The
  // deterministic form computes S and dP twice but is counted the same.
  llvm::json::Value flops = flopsJson(
      sizes,
      attentionFlops(heads * 2 * (3 * d + 2 * dv), op.getMask(), op.getWindow(),
                     batchDim, queryDim, keyDim),
      symbolsUsed);
  if (flops.kind() != llvm::json::Value::Null)
    entry["flops"] = std::move(flops);
  kernels.push_back(std::move(entry));
  return success();
}

/// A recurrence entry's param (docs/bundle-format.md §1.3): name, io,
/// dtype, shape, optional where a null pointer is allowed, stride_align
/// where rows are read or written in 16-byte pieces.
llvm::json::Object recurrenceParam(StringRef tensor, StringRef io, Type type,
                                   std::initializer_list<llvm::json::Value> shape,
                                   bool optional, int64_t strideAlign) {
  // json::Value keeps a StringRef without copying: own the strings.
  llvm::json::Object entry{{"name", tensor.str()},
                           {"io", io.str()},
                           {"dtype", dtypeName(type)},
                           {"shape", llvm::json::Array(shape)}};
  if (optional)
    entry["optional"] = true;
  if (strideAlign > 1)
    entry["stride_align"] = strideAlign;
  return entry;
}

/// A per-step input of a recurrence ([B, H, T] or packed [T, H]: beta, a
/// decay, the mLSTM gates) is read one element at a time through every
/// stride, its last too (chunk_io.cuh's fetch_gate_rows, chunk_delta.cuh's
/// delta_wy, the gradients' gate reads, the step kernels' fetch), so the
/// manifest lets its last dim be strided: flash-linear-attention's
/// time-major [B, T, H] gates bind as they are.
void markStridedSteps(llvm::json::Object &param, StringRef io, bool hasColumns) {
  if (!hasColumns && io == "in")
    param["strided_last_dim"] = true;
}

/// What the bundle entry of a recurrence op reads from it: flash.linear_attention
/// and flash.delta_rule share their tensors' layout and state handling.
struct RecurrenceEntry {
  Operation *op;
  StringRef opName;               ///< the manifest's "op"
  Value q, k, v, o;
  std::string batchDim, lengthDim;
  GateKind gate;
  Type betaType;                  ///< flash.delta_rule's beta; null otherwise
  bool initialState, finalState;
  bool l2normQk = false;          ///< flash.delta_rule's row norms in scratch
  /// Packed sequences (flash.linear_attention over flash.varlen_view).
  bool packed = false;
  /// The tensors and scalars an output_mod reads (flash.linear_attention).
  SmallVector<ExtraOperand> extras;
};

RecurrenceEntry recurrenceEntry(LinearAttentionOp op) {
  RecurrenceEntry r{op, "linear_attention", op.getQ(), op.getK(), op.getV(), op.getO(),
                    op.getBatchDimName(), op.getLengthDimName(), op.getGate(),
                    Type(), !op.getInitialState().empty(), op.getReturnFinalState()};
  r.packed = linearVarlenOf(op.getOperation()).has_value();
  r.extras = op.getExtraOperands();
  return r;
}

RecurrenceEntry recurrenceEntry(DeltaRuleOp op) {
  Value g = op.getLogDecay();
  return {op,
          "delta_rule",
          op.getQ(),
          op.getK(),
          op.getV(),
          op.getO(),
          op.getBatchDimName(),
          op.getLengthDimName(),
          g ? GateKind::decay : GateKind::none,
          cast<TensorType>(op.getBeta().getType()).getElementType(),
          bool(op.getInitialState()),
          op.getReturnFinalState(),
          op.getL2normQk(),
          linearVarlenOf(op.getOperation()).has_value(),
          {}};
}

/// Bundle entry of a recurrence lowered by flash-lower-kernels: one variant
/// per schedule, with one launch (chunk_fused) or two in order
/// (chunk_two_pass: chunk states into scratch, then the outputs;
/// chunk_scored: every chunk's P into scratch, then the fused loop).
LogicalResult writeLinearKernel(const RecurrenceEntry &r, const std::string &name,
                                SymbolTable &symbols,
                                const BundleOptions &options,
                                llvm::json::Array &kernels) {
  Operation *op = r.op;
  const std::string &batchDim = r.batchDim, &lengthDim = r.lengthDim;
  SizeNames sizes;
  // Packed sequences (dialect/Varlen.h): the rows' tensors are [<T>_total,
  // H(, D)], the offsets [<B>_offsets] and B their count minus one. The
  // fused kernel reads each sequence's length; the delta rule's
  // delta_prepare (one chunk per CTA) launches over the longest
  // sequence's chunks, a launch scalar (max_seqlen_q).
  const std::string offsetsDim = batchDim + "_offsets", totalDim = packedRowsDimName(lengthDim);
  llvm::json::Array scalars;
  if (r.packed) {
    sizes.derived.emplace(batchDim, offsetsDim + "-1");
    if (r.betaType) {
      sizes.derived.emplace(lengthDim, kMaxSeqlenQ.str());
      scalars.push_back(llvm::json::Object{{"name", kMaxSeqlenQ}, {"dtype", "i32"}});
    }
  } else {
    for (Value value : {r.q, r.k, r.v, r.o}) {
      sizes.note(value, 0, batchDim);
      sizes.note(value, 2, lengthDim);
    }
  }
  const llvm::json::Value batch = sizes.dim(batchDim),
                          length = sizes.dim(lengthDim);
  GateKind gate = r.gate;
  bool normalizer = gate == GateKind::mlstm_exp || gate == GateKind::mlstm_sig;
  bool stabilizer = gate == GateKind::mlstm_exp;
  auto qType = cast<RankedTensorType>(r.q.getType());
  int64_t heads = qType.getDimSize(1), keyDim = qType.getDimSize(3),
          valueDim = cast<RankedTensorType>(r.v.getType()).getDimSize(3);

  // Params in the kernels' order (docs/bundle-format.md §1.3): q, k, v, the
  // gates, the initial state, o, the final state. Rows read or written in
  // 16-byte pieces need strides in whole 16-byte units.
  llvm::json::Array params;
  auto param = [&](StringRef tensor, StringRef io, Type type,
                   std::initializer_list<llvm::json::Value> shape, bool optional,
                   int64_t strideAlign) {
    params.push_back(recurrenceParam(tensor, io, type, shape, optional, strideAlign));
  };
  Type elem = qType.getElementType();
  Type f32 = Float32Type::get(op->getContext());
  int64_t rowAlign = rowAlignOf(elem);
  // A row tensor: [B, H, T(, cols)], or packed [<T>_total, H(, cols)].
  auto rows = [&](StringRef tensor, StringRef io, Type type, std::optional<int64_t> cols,
                  int64_t strideAlign) {
    llvm::json::Array shape = r.packed ? llvm::json::Array{llvm::json::Value(totalDim), heads}
                                       : llvm::json::Array{batch, heads, length};
    if (cols)
      shape.push_back(*cols);
    params.push_back(recurrenceParam(tensor, io, type, {}, false, strideAlign));
    (*params.back().getAsObject())["shape"] = std::move(shape);
    markStridedSteps(*params.back().getAsObject(), io, cols.has_value());
  };
  rows("q", "in", elem, keyDim, rowAlign);
  rows("k", "in", elem, keyDim, rowAlign);
  rows("v", "in", elem, valueDim, rowAlign);
  if (r.betaType)
    rows("beta", "in", r.betaType, std::nullopt, 1);
  if (gate == GateKind::decay)
    rows("g", "in", f32, std::nullopt, 1);
  if (gate == GateKind::vector)
    rows("g", "in", f32, keyDim, 4);
  if (normalizer) {
    rows("igate", "in", f32, std::nullopt, 1);
    rows("fgate", "in", f32, std::nullopt, 1);
  }
  // A null initial state means zeros, a null final state is not written.
  auto states = [&](StringRef prefix, StringRef io) {
    param(("c" + prefix).str(), io, f32, {batch, heads, keyDim, valueDim}, true, 1);
    // Every recurrence kernel reads its C slice before it writes it, in
    // the CTA that writes it: decoding may keep one state buffer (n and m
    // are shared by the value slices' CTAs and may not).
    if (io == "out" && r.initialState)
      params.back().getAsObject()->try_emplace("may_alias", "c0");
    if (normalizer)
      param(("n" + prefix).str(), io, f32, {batch, heads, keyDim}, true, 1);
    if (stabilizer)
      param(("m" + prefix).str(), io, f32, {batch, heads}, true, 1);
  };
  if (r.initialState)
    states("0", "in");
  rows("o", "out", elem, valueDim, rowAlign);
  // The normaliser kinds' rows' N_r and floor_r (docs/semantics.md §4.6),
  // written where given: the gradient (<name>_backward) reads them.
  if (normalizer) {
    rows("norm", "out", f32, 2, 1);
    (*params.back().getAsObject())["optional"] = true;
  }
  if (r.finalState)
    states("f", "out");
  if (r.packed)
    params.push_back(llvm::json::Object{{"name", kCuSeqlensQ},
                                        {"io", "in"},
                                        {"dtype", "i32"},
                                        {"shape", llvm::json::Array{offsetsDim}},
                                        {"pointer_align", 4}});
  addExtraOperands(r.extras, sizes, params, scalars);

  // chunk_two_pass: the boundary states (index c = before chunk c, NC =
  // final), contiguous.
  auto scratchOf = [&](KernelOp kernel) {
    llvm::json::Array scratch;
    // A step kernel keeps everything between tokens in registers: it has no
    // chunk, so no chunk-sized buffer (and no cdiv by a chunk of 0).
    if (kernel.getSchedule().getAlgorithm() == Algorithm::recurrent_step)
      return scratch;
    if (r.betaType) {
      // The delta rule's WY factors of every chunk (delta_prepare writes,
      // delta_fused reads), whole chunks of rows, contiguous. Packed: one
      // [1, H, rows, ...] buffer, sequence b's chunks from floor(cu[b] / L)
      // + 2 b on (ChunkwiseEmitter's printSequenceScratch), so that no
      // sequence's last, partial chunk reaches the next one's rows.
      const std::string chunk = std::to_string(kernel.getSchedule().getChunk());
      llvm::json::Value rows =
          r.packed ? sizes.expr("(cdiv(" + totalDim + "," + chunk + ")+2*" + offsetsDim +
                                ")*" + chunk)
                   : sizes.expr("cdiv(" + lengthDim + "," + chunk + ")*" + chunk);
      llvm::json::Value scratchBatch = r.packed ? llvm::json::Value(1) : batch;
      std::string dtype = dtypeName(elem);
      scratch.push_back(llvm::json::Object{
          {"name", "delta_w"},
          {"dtype", dtype},
          {"shape", llvm::json::Array{scratchBatch, heads, rows, keyDim}}});
      scratch.push_back(llvm::json::Object{
          {"name", "delta_u"},
          {"dtype", dtype},
          {"shape", llvm::json::Array{scratchBatch, heads, rows, valueDim}}});
      // l2norm_qk: each row's 1/|q|, 1/|k| (delta_prepare's, once a chunk).
      if (r.l2normQk)
        scratch.push_back(llvm::json::Object{
            {"name", "delta_norm"},
            {"dtype", "f32"},
            {"shape", llvm::json::Array{scratchBatch, heads, rows, 2}}});
      return scratch;
    }
    if (kernel.getSchedule().getAlgorithm() == Algorithm::chunk_scored) {
      // Each chunk's gated P (linear_scores writes, linear_fused stages):
      // whole chunks of rows, L columns.
      const int64_t L = kernel.getSchedule().getChunk();
      const std::string chunk = std::to_string(L);
      scratch.push_back(llvm::json::Object{
          {"name", "scores"},
          {"dtype", dtypeName(elem)},
          {"shape", llvm::json::Array{batch, heads,
                                      sizes.expr("cdiv(" + lengthDim + "," + chunk + ")*" +
                                                 chunk),
                                      L}}});
      // The scalar gates' scanned buffers and the normaliser's key sums,
      // one row per chunk.
      llvm::json::Value chunks = sizes.expr("cdiv(" + lengthDim + "," + chunk + ")");
      if (gate == GateKind::decay || gate == GateKind::mlstm_sig)
        scratch.push_back(llvm::json::Object{
            {"name", "score_gates"},
            {"dtype", "f32"},
            {"shape", llvm::json::Array{batch, heads, chunks, scalarGateBufferFloats(L)}}});
      if (gate == GateKind::mlstm_sig)
        scratch.push_back(llvm::json::Object{
            {"name", "score_key_sums"},
            {"dtype", "f32"},
            {"shape", llvm::json::Array{batch, heads, chunks, keyDim}}});
      return scratch;
    }
    if (kernel.getSchedule().getAlgorithm() != Algorithm::chunk_two_pass)
      return scratch;
    llvm::json::Value boundaries = sizes.expr(
        "cdiv(" + lengthDim + "," +
        std::to_string(kernel.getSchedule().getChunk()) + ")+1");
    scratch.push_back(llvm::json::Object{
        {"name", "chunk_c"},
        {"dtype", "f32"},
        {"shape", llvm::json::Array{batch, heads, boundaries, keyDim, valueDim}}});
    if (normalizer)
      scratch.push_back(llvm::json::Object{
          {"name", "chunk_n"},
          {"dtype", "f32"},
          {"shape", llvm::json::Array{batch, heads, boundaries, keyDim}}});
    if (stabilizer)
      scratch.push_back(llvm::json::Object{
          {"name", "chunk_m"},
          {"dtype", "f32"},
          {"shape", llvm::json::Array{batch, heads, boundaries}}});
    return scratch;
  };
  llvm::json::Array variants;
  std::vector<std::string> symbolsUsed;
  static const StringRef kScratch[] = {"chunk_c",    "chunk_n",     "chunk_m",
                                       "delta_w",    "delta_u",     "delta_norm",
                                       "scores",     "score_gates", "score_key_sums"};
  if (failed(writeVariants(op, symbols, options, sizes, kScratch, scratchOf,
                           symbolsUsed, variants)))
    return failure();
  // Packed: the offsets' count binds B (B_offsets - 1 in the states' shapes).
  if (r.packed && !llvm::is_contained(symbolsUsed, offsetsDim))
    symbolsUsed.push_back(offsetsDim);

  llvm::json::Object entry =
      kernelEntry(name, r.opName, symbolsUsed, std::move(params), std::move(variants));
  if (!scalars.empty())
    entry["scalars"] = std::move(scalars);
  // The recurrent form's state products per token and head: the update
  // k^T v and the read-out q S, 2*K*V each. Gates, normalisers, the delta
  // rule's read of the state at k and the chunkwise form's intra-chunk
  // products are not counted, so the figure is the same for every schedule
  // and chunk size (and the delta rule's matches its peers' convention).
  llvm::json::Value flops =
      flopsJson(sizes,
                (r.packed ? totalDim : batchDim + "*" + lengthDim) + "*" +
                    std::to_string(heads * 4 * keyDim * valueDim),
                symbolsUsed);
  if (flops.kind() != llvm::json::Value::Null)
    entry["flops"] = std::move(flops);
  kernels.push_back(std::move(entry));
  return success();
}

/// Bundle entry of a flash.linear_attention_grad lowered by
/// flash-lower-kernels (`<forward>_backward`): params q, k, v, the gates,
/// do, the initial state and the final state's gradient (both optional
/// where the op has them) in; dq, dk, dv, the gates' gradients and the
/// initial state's out. One variant per chunk_grad schedule, its three
/// launches in order (states, grad_states, grad_chunk) and its scratch: the
/// states and the state gradients at every chunk boundary.
LogicalResult writeLinearGradKernel(LinearAttentionGradOp op, const std::string &name,
                                    SymbolTable &symbols, const BundleOptions &options,
                                    llvm::json::Array &kernels) {
  std::string batchDim = op.getBatchDimName(), lengthDim = op.getLengthDimName();
  SizeNames sizes;
  // Packed sequences (dialect/Varlen.h): the row tensors are [<T>_total,
  // H(, D)], the offsets [<B>_offsets], B their count minus one, and T the
  // longest sequence, a launch scalar (max_seqlen_q) the chunk kernel's
  // grid reads.
  const bool packed = linearVarlenOf(op.getOperation()).has_value();
  const std::string offsetsDim = batchDim + "_offsets", totalDim = packedRowsDimName(lengthDim);
  llvm::json::Array scalars;
  if (packed) {
    sizes.derived.emplace(batchDim, offsetsDim + "-1");
    sizes.derived.emplace(lengthDim, kMaxSeqlenQ.str());
    scalars.push_back(llvm::json::Object{{"name", kMaxSeqlenQ}, {"dtype", "i32"}});
  } else {
    for (Value value : {op.getQ(), op.getK(), op.getV(), op.getDout()}) {
      sizes.note(value, 0, batchDim);
      sizes.note(value, 2, lengthDim);
    }
  }
  const llvm::json::Value batch = sizes.dim(batchDim), length = sizes.dim(lengthDim);
  auto qType = op.getQ().getType();
  int64_t heads = qType.getDimSize(1), keyDim = qType.getDimSize(3),
          valueDim = op.getV().getType().getDimSize(3);
  Type elem = qType.getElementType();
  Type f32 = Float32Type::get(op.getContext());
  int64_t rowAlign = rowAlignOf(elem);
  llvm::json::Array params;
  auto param = [&](StringRef tensor, StringRef io, Type type,
                   std::initializer_list<llvm::json::Value> shape, bool optional,
                   int64_t strideAlign) {
    params.push_back(recurrenceParam(tensor, io, type, shape, optional, strideAlign));
  };
  // A row tensor: [B, H, T(, cols)], or packed [<T>_total, H(, cols)].
  auto rows = [&](StringRef tensor, StringRef io, Type type, std::optional<int64_t> cols,
                  int64_t strideAlign) {
    llvm::json::Array shape = packed ? llvm::json::Array{llvm::json::Value(totalDim), heads}
                                     : llvm::json::Array{batch, heads, length};
    if (cols)
      shape.push_back(*cols);
    params.push_back(recurrenceParam(tensor, io, type, {}, false, strideAlign));
    (*params.back().getAsObject())["shape"] = std::move(shape);
    markStridedSteps(*params.back().getAsObject(), io, cols.has_value());
  };
  GateKind gate = op.getGate();
  rows("q", "in", elem, keyDim, rowAlign);
  rows("k", "in", elem, keyDim, rowAlign);
  rows("v", "in", elem, valueDim, rowAlign);
  if (gate == GateKind::decay)
    rows("g", "in", f32, std::nullopt, 1);
  if (gate == GateKind::vector)
    rows("g", "in", f32, keyDim, 4);
  // The mLSTM kinds: the input and forget preactivations, and n beside C
  // in the states and their gradients; mlstm_exp m beside them.
  const bool normalizer = gate == GateKind::mlstm_sig || gate == GateKind::mlstm_exp;
  const bool stabilizer = gate == GateKind::mlstm_exp;
  if (normalizer) {
    rows("igate", "in", f32, std::nullopt, 1);
    rows("fgate", "in", f32, std::nullopt, 1);
  }
  // The normaliser kinds: the forward's o and rows' normalisers (its
  // `norm` output) around dO.
  if (normalizer)
    rows("o", "in", elem, valueDim, rowAlign);
  rows("do", "in", elem, valueDim, rowAlign);
  if (normalizer)
    rows("norm", "in", f32, 2, 1);
  // A null initial state means zeros (its gradient is then not written), a
  // null final-state gradient zeros.
  if (!op.getInitialState().empty()) {
    param("c0", "in", f32, {batch, heads, keyDim, valueDim}, true, 1);
    if (normalizer)
      param("n0", "in", f32, {batch, heads, keyDim}, true, 1);
    if (stabilizer)
      param("m0", "in", f32, {batch, heads}, true, 1);
  }
  if (!op.getFinalGrad().empty()) {
    param("dcf", "in", f32, {batch, heads, keyDim, valueDim}, true, 1);
    if (normalizer)
      param("dnf", "in", f32, {batch, heads, keyDim}, true, 1);
    if (stabilizer)
      param("dmf", "in", f32, {batch, heads}, true, 1);
  }
  rows("dq", "out", elem, keyDim, rowAlign);
  rows("dk", "out", elem, keyDim, rowAlign);
  rows("dv", "out", elem, valueDim, rowAlign);
  if (gate == GateKind::decay)
    rows("dg", "out", f32, std::nullopt, 1);
  if (gate == GateKind::vector)
    rows("dg", "out", f32, keyDim, 1);
  if (normalizer) {
    rows("digate", "out", f32, std::nullopt, 1);
    rows("dfgate", "out", f32, std::nullopt, 1);
  }
  if (!op.getInitialState().empty()) {
    param("dc0", "out", f32, {batch, heads, keyDim, valueDim}, true, 1);
    if (normalizer)
      param("dn0", "out", f32, {batch, heads, keyDim}, true, 1);
    if (stabilizer)
      param("dm0", "out", f32, {batch, heads}, true, 1);
  }
  if (packed)
    params.push_back(llvm::json::Object{{"name", kCuSeqlensQ},
                                        {"io", "in"},
                                        {"dtype", "i32"},
                                        {"shape", llvm::json::Array{offsetsDim}},
                                        {"pointer_align", 4}});

  // Boundary c holds the state before chunk c (chunk_c) and the gradient of
  // the state after chunk c - 1 (chunk_dc), 16-bit; an empty sequence still has one
  // chunk's CTAs, which read boundaries 0 and 1.
  // Packed: every sequence's boundaries in one [1, H, NB, ...] buffer,
  // sequence b's from floor(cu[b] / L) + 2 b (ChunkwiseEmitter's
  // printSequenceScratch), so NB = cdiv(<T>_total, L) + 2 B covers them.
  auto scratchOf = [&](KernelOp kernel) {
    const std::string chunk = std::to_string(kernel.getSchedule().getChunk());
    llvm::json::Value boundaries =
        packed ? sizes.expr("cdiv(" + totalDim + "," + chunk + ")+2*" + offsetsDim)
               : sizes.expr("max(cdiv(" + lengthDim + "," + chunk + "),1)+1");
    llvm::json::Value scratchBatch = packed ? llvm::json::Value(1) : batch;
    llvm::json::Array scratch;
    // In the element type: the chunk kernel reads them as 16-bit operands.
    for (const char *scratchName : {"chunk_c", "chunk_dc"})
      scratch.push_back(llvm::json::Object{
          {"name", scratchName},
          {"dtype", dtypeName(elem)},
          {"shape", llvm::json::Array{scratchBatch, heads, boundaries, keyDim, valueDim}}});
    if (normalizer) {
      // n and its gradient at every boundary (f32); dO / den; each row's
      // normaliser gradient (grad_rows'), whole chunks of rows (0 past the
      // sequence).
      // Packed: n's like C's; dO / den as the packed rows; the gradients'
      // whole chunks of rows from each sequence's first boundary on.
      for (const char *scratchName : {"chunk_n", "chunk_dn"})
        scratch.push_back(llvm::json::Object{
            {"name", scratchName},
            {"dtype", "f32"},
            {"shape", llvm::json::Array{scratchBatch, heads, boundaries, keyDim}}});
      scratch.push_back(llvm::json::Object{
          {"name", "grad_do"},
          {"dtype", dtypeName(elem)},
          {"shape", packed ? llvm::json::Array{llvm::json::Value(totalDim), heads, valueDim}
                           : llvm::json::Array{batch, heads, length, valueDim}}});
      llvm::json::Value shareRows =
          packed ? sizes.expr("(cdiv(" + totalDim + "," + chunk + ")+2*" + offsetsDim + ")*" +
                              chunk)
                 : sizes.expr("max(cdiv(" + lengthDim + "," + chunk + "),1)*" + chunk);
      // mlstm_exp: the stabiliser's gradient beside the normaliser's.
      scratch.push_back(llvm::json::Object{
          {"name", "grad_dqn"},
          {"dtype", "f32"},
          {"shape", llvm::json::Array{scratchBatch, heads, shareRows, normalizerGradColumns(stabilizer)}}});
    }
    if (stabilizer)
      // The state pass's stabiliser at every boundary, and what the chunks
      // after a boundary carry into its stabiliser's gradient.
      for (const char *scratchName : {"chunk_m", "chunk_dm"})
        scratch.push_back(llvm::json::Object{
            {"name", scratchName},
            {"dtype", "f32"},
            {"shape", llvm::json::Array{scratchBatch, heads, boundaries}}});
    return scratch;
  };
  llvm::json::Array variants;
  std::vector<std::string> symbolsUsed;
  static const StringRef kScratch[] = {"chunk_c", "chunk_dc", "chunk_n", "chunk_dn",
                                       "grad_do", "grad_dqn", "chunk_m", "chunk_dm"};
  if (failed(writeVariants(op, symbols, options, sizes, kScratch, scratchOf,
                           symbolsUsed, variants)))
    return failure();
  // Packed: the offsets' count binds B (B_offsets - 1 in the states' shapes).
  if (packed && !llvm::is_contained(symbolsUsed, offsetsDim))
    symbolsUsed.push_back(offsetsDim);
  llvm::json::Object entry =
      kernelEntry(name, "linear_attention_grad", symbolsUsed, std::move(params), std::move(variants));
  if (packed)
    entry["scalars"] = std::move(scalars);
  // Counted as the forward's recurrent form, three times over (the state
  // pass again, the state gradients, dq, dk and dv): 12 K V per token and
  // head.
  llvm::json::Value flops = flopsJson(
      sizes,
      (packed ? totalDim : batchDim + "*" + lengthDim) + "*" +
          std::to_string(heads * 12 * keyDim * valueDim),
      symbolsUsed);
  if (flops.kind() != llvm::json::Value::Null)
    entry["flops"] = std::move(flops);
  kernels.push_back(std::move(entry));
  return success();
}

} // namespace

llvm::json::Object mlir::flash::scheduleJson(ScheduleAttr s) {
  llvm::json::Object json{{"algorithm", stringifyAlgorithm(s.getAlgorithm())},
                            {"tile_q", s.getTileQ()},
                            {"tile_kv", s.getTileKv()},
                            {"tile_d", s.getTileD()},
                            {"stages", s.getStages()},
                            {"warps", s.getWarps()},
                            {"chunk", s.getChunk()},
                            {"inner_q", s.getInnerQ()},
                            {"inner_kv", s.getInnerKv()},
                            {"tile_dv", s.getTileDv()},
                            {"smem_bytes", s.getSmemBytes()},
                            {"persistent", s.getPersistent()}};
  // Written where set: manifests of kernels without it stay as they were.
  if (s.getRotaryPrepass() != 0)
    json["rotary_prepass"] = s.getRotaryPrepass();
  if (s.getMaskLists() != 0)
    json["mask_lists"] = s.getMaskLists();
  if (s.getValueSlice() != 0)
    json["value_slice"] = s.getValueSlice();
  return json;
}

LogicalResult mlir::flash::writeBundle(ModuleOp module,
                                       const BundleOptions &options) {
  SymbolTable symbols(module);
  // Bundle kernels are named after their functions, and a function with
  // several flash ops gets one kernel per op, <function>_<i>. Names are
  // checked before anything is written: they become manifest names and file
  // names, so one like "../../x" must not reach the file system.
  std::vector<std::pair<Operation *, std::string>> named;
  std::map<Operation *, unsigned> opsPerFunction;
  module.walk([&](Operation *op) {
    if (isa<AttentionOp, AttentionGradOp, LinearAttentionOp, DeltaRuleOp,
            LinearAttentionGradOp>(op))
      ++opsPerFunction[op->getParentOfType<func::FuncOp>()];
  });
  std::map<Operation *, unsigned> seen;
  std::map<std::string, Operation *> taken;
  bool badName = false;
  module.walk([&](Operation *op) {
    if (!isa<AttentionOp, AttentionGradOp, LinearAttentionOp, DeltaRuleOp,
             LinearAttentionGradOp>(op))
      return;
    auto func = op->getParentOfType<func::FuncOp>();
    std::string name = func                        ? func.getName().str()
                       : isa<AttentionOp>(op)       ? "attention"
                       : isa<AttentionGradOp>(op)   ? "attention_grad"
                       : isa<LinearAttentionOp>(op) ? "linear_attention"
                       : isa<LinearAttentionGradOp>(op) ? "linear_attention_grad"
                                                    : "delta_rule";
    if (!isIdentifier(name)) {
      op->emitError() << "function name \"" << name
                      << "\" cannot name a bundle kernel: use a C identifier "
                         "([A-Za-z_][A-Za-z0-9_]*), it names the kernel and "
                         "its files";
      badName = true;
      return;
    }
    if (opsPerFunction[func] > 1)
      name += "_" + std::to_string(seen[func]++);
    auto [it, fresh] = taken.emplace(name, op);
    if (!fresh) {
      op->emitError() << "bundle kernel name \"" << name
                      << "\" is already taken by the op at "
                      << it->second->getLoc()
                      << " (a function with several flash ops names its "
                         "kernels <function>_<i>): rename a function";
      badName = true;
      return;
    }
    named.emplace_back(op, name);
  });
  if (badName)
    return failure();

  llvm::json::Array kernels;
  for (auto &[op, name] : named) {
    LogicalResult written = failure();
    if (auto attention = dyn_cast<AttentionOp>(op))
      written = writeAttentionKernel(attention, name, symbols, options, kernels);
    else if (auto grad = dyn_cast<AttentionGradOp>(op))
      written = writeAttentionGradKernel(grad, name, symbols, options, kernels);
    else if (auto linear = dyn_cast<LinearAttentionOp>(op))
      written = writeLinearKernel(recurrenceEntry(linear), name, symbols,
                                  options, kernels);
    else if (auto linearGrad = dyn_cast<LinearAttentionGradOp>(op))
      written = writeLinearGradKernel(linearGrad, name, symbols, options, kernels);
    else
      written = writeLinearKernel(recurrenceEntry(cast<DeltaRuleOp>(op)), name,
                                  symbols, options, kernels);
    if (failed(written))
      return failure();
  }
  if (kernels.empty())
    return module.emitError() << "has no lowered flash op to write a bundle for";

  for (unsigned i = 0; i < flashgen::embedded::kFileCount; ++i)
    if (failed(writeFile(module, options.directory,
                         flashgen::embedded::kFiles[i].path,
                         flashgen::embedded::kFiles[i].text)))
      return failure();

  // wgmma kernels run only on the arch-specific target (sm_90a): the
  // runtime then refuses the bundle on other devices instead of failing in
  // NVRTC.
  std::string target = options.target;
  bool archSpecific = false;
  module.walk([&](KernelOp kernel) {
    if (usesWgmma(kernel.getSchedule().getAlgorithm()))
      archSpecific = true;
  });
  if (archSpecific && !target.empty() && target.back() != 'a')
    target += "a";
  llvm::json::Object manifest{{"format", "flashgen-bundle"},
                              {"version", 1},
                              {"flashgen_version", options.flashgenVersion},
                              {"target", target},
                              {"kernels", std::move(kernels)}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest))) << "\n";
  return writeFile(module, options.directory, "manifest.json", text);
}
