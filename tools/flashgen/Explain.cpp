//===- Explain.cpp - `flashgen explain`: bounds, schedules, ratios --------===//
//
// Runs the scheduling half of the pipeline (flash-io-bounds, flash-schedule)
// on a spec and reports what the passes recorded on each op, so a user sees
// how far the chosen schedule is from the IO lower bound and why:
//
//   @causal_gqa  flash.attention  B=4 Hq=32 Hkv=8 N=8192 M=8192 D=128 Dv=128
//     lower bound   on chip 640 MiB, HBM 640 MiB
//     schedule      flash2 tile_q=64 tile_kv=32 ... (smem 48 KiB)
//     modeled IO    32.75 GiB = 52.40 x bound; HBM 640 MiB = 1.00 x bound
//     modeled time  6.46 ms, bound by math
//
// Unbound dynamic dimensions get the planning sizes `flashgen compile`
// uses, with a note. With --measured FILE (bench/traffic/measure.py's
// Nsight Compute counts) each op also shows the DRAM bytes its kernel moved
// beside the modeled HBM bytes and the bound, and is marked where the
// measurement exceeds the model by more than issue #16's 1.3x.
//
//===----------------------------------------------------------------------===//

#include "tools/flashgen/Explain.h"

#include "codegen/BundleWriter.h"
#include "dialect/DimBindings.h"
#include "dialect/BlockMask.h"
#include "dialect/PagedKv.h"
#include "dialect/Rotary.h"
#include "dialect/ScoreBias.h"
#include "dialect/Varlen.h"
#include "dialect/ScheduleConversion.h"
#include "passes/LowerAttention.h"
#include "passes/MaskModBounds.h"
#include "passes/MaskModTiles.h"
#include "passes/OpProblems.h"
#include "schedule/AttentionCost.h"
#include "schedule/AttentionGrad.h"
#include "schedule/DecodeSplit.h"
#include "schedule/Flash3Layout.h"
#include "schedule/Target.h"
#include "schedule/Units.h"
#include "tools/flashgen/MeasuredTraffic.h"
#include "tools/flashgen/SpecLoader.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <optional>
#include <string>

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;
namespace cl = llvm::cl;

cl::SubCommand flashgen::cli::explainCommand(
    "explain", "IO lower bounds, the chosen schedule, modeled IO and time, "
               "ranked candidates");
cl::OptionCategory flashgen::cli::explainCategory("flashgen explain options");

namespace {
using flashgen::cli::explainCategory;
using flashgen::cli::explainCommand;

cl::opt<std::string> specArg(cl::Positional, cl::Required,
                             cl::desc("<spec.mlir>"), cl::sub(explainCommand),
                             cl::cat(explainCategory));
cl::opt<std::string> targetArg("target", cl::init("sm_90"), cl::value_desc("target"),
                               cl::desc("sm_90 (default), h200, sm_80 or "
                                        "sm_test_small"),
                               cl::sub(explainCommand), cl::cat(explainCategory));
cl::list<std::string> dimArgs("dim", cl::value_desc("NAME=VALUE"),
                              cl::desc("a dynamic size to plan for (repeatable)"),
                              cl::sub(explainCommand), cl::cat(explainCategory));
cl::opt<unsigned> topKArg("top-k", cl::init(4), cl::value_desc("K"),
                          cl::desc("ranked candidates to show (default 4)"),
                          cl::sub(explainCommand), cl::cat(explainCategory));
cl::opt<bool> backwardArg(
    "backward",
    cl::desc("also explain each attention's gradient op <name>_backward "
             "(flashgen compile --backward): its own bound, schedule, "
             "modeled IO and candidates"),
    cl::sub(explainCommand), cl::cat(explainCategory));
cl::opt<bool> deterministicArg(
    "deterministic",
    cl::desc("with --backward: gradient kernels without float atomics"),
    cl::sub(explainCommand), cl::cat(explainCategory));
cl::opt<bool> jsonArg("json", cl::desc("one JSON array on stdout"),
                      cl::sub(explainCommand), cl::cat(explainCategory));
cl::opt<std::string> measuredArg(
    "measured", cl::value_desc("FILE"),
    cl::desc("measured DRAM bytes per kernel (bench/traffic/measure.py's "
             "JSON): shown beside the modeled HBM bytes and the bound, with "
             "measured/modeled and modeled/bound"),
    cl::sub(explainCommand), cl::cat(explainCategory));

/// Measured over modeled HBM bytes above this marks a kernel whose traffic
/// the model does not explain (issue #16's acceptance threshold).
constexpr double kMeasuredOverModeledLimit = 1.3;

/// What explain reports about one flash op.
struct OpReport {
  std::string name; ///< the enclosing function's name
  std::string kind; ///< "flash.attention"
  llvm::json::Object shapes;
  std::string shapeText;
  Operation *op = nullptr;
  std::string error; ///< the pass's error, when it has no schedule
  /// The kernel's measured traffic, when --measured's file has it.
  const flashgen::cli::MeasuredKernel *measured = nullptr;
};

int64_t intAttr(Operation *op, StringRef name) {
  auto attr = op->getAttrOfType<IntegerAttr>(name);
  return attr ? attr.getInt() : 0;
}

double floatAttr(Operation *op, StringRef name) {
  auto attr = op->getAttrOfType<FloatAttr>(name);
  return attr ? attr.getValueAsDouble() : 0.0;
}

/// The measurement of an op beside its model: DRAM bytes measured, modeled
/// HBM bytes, the HBM lower bound and the two ratios that say which of them
/// is off.
struct MeasuredComparison {
  int64_t measured, modeled, bound;
  double measuredOverModeled() const {
    return modeled ? double(measured) / double(modeled) : 0.0;
  }
  double modeledOverBound() const {
    return bound ? double(modeled) / double(bound) : 0.0;
  }
  bool overLimit() const {
    return measuredOverModeled() > kMeasuredOverModeledLimit;
  }
};

MeasuredComparison compare(const OpReport &r) {
  return {r.measured->bytes(), intAttr(r.op, "flash.modeled_hbm"),
          intAttr(r.op, "flash.hbm_lower_bound")};
}

std::string elementName(Value v) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << cast<RankedTensorType>(v.getType()).getElementType();
  return text;
}

/// "flash2 tile_q=64 tile_kv=32 tile_d=128 tile_dv=128 stages=2 warps=2".
std::string scheduleText(ScheduleAttr s) {
  // The library's one spelling of a schedule.
  return toLibrary(s).str();
}

/// Whether `op`'s small-cache schedule keeps its query tile resident
/// (schedule::dsplitQueryResident).
bool keepsQueryResident(Operation *op, ScheduleAttr s) {
  auto attention = dyn_cast<AttentionOp>(op);
  return attention && s &&
         sched::dsplitQueryResident(attentionKernelProblem(attention), toLibrary(s));
}

/// How the kernel of `s` copies its tiles into shared memory, and why
/// (flash-warp-specialize gives a producer warpgroup TMA copies by default).
std::string copiesText(ScheduleAttr s, bool rotary = false, bool residentQuery = false) {
  switch (s.getAlgorithm()) {
  case Algorithm::flash3:
    if (sched::flash3Shape(toLibrary(s)).producer && rotary && s.getRotaryPrepass())
      return "TMA by the producer warpgroup, K from the key pre-pass's rotated "
             "copy (a tensor map of the workspace); each consumer warpgroup "
             "turns its own rows of every Q tile once it landed; the same "
             "kernel copies with cp.async where the runtime cannot encode "
             "tensor maps";
    if (sched::flash3Shape(toLibrary(s)).producer && rotary)
      return "TMA by the producer warpgroup's first thread, its warps 1-3 "
             "rotate each Q and K tile in its slot once it landed and hand it "
             "on (ready barriers); where the runtime cannot encode tensor maps "
             "every producer thread copies with cp.async and rotates";
    if (sched::flash3Shape(toLibrary(s)).producer)
      return "TMA by the producer warpgroup (tensor maps encoded at launch); "
             "the same kernel copies with cp.async where the runtime cannot "
             "encode them (a stride not a multiple of 16 bytes, a last dim "
             "not contiguous, FLASHGEN_TMA=0)";
    return "cp.async by every thread (TMA needs a producer warpgroup: "
           "warps = tile_q / 16 + 4)";
  case Algorithm::flash2:
  case Algorithm::flash2_dsplit:
    return "cp.async by every thread (mma.sync kernels run on sm_80 too)";
  case Algorithm::flash_decode:
    return "cp.async by every thread; the query heads of a GQA group share "
           "a tile's rows, so K and V are read once per tile of packed rows "
           "(once per group where one tile holds them all)";
  case Algorithm::flash3_dsplit:
    if (residentQuery)
      return "cp.async by every thread into wgmma's swizzled tiles (Q's chunks "
             "once, resident for the CTA's life; K chunks through the ring, V "
             "slices double buffered)";
    return "cp.async by every thread into wgmma's swizzled tiles (Q and K "
           "chunks through the ring, V slices double buffered)";
  case Algorithm::chunk_fused:
  case Algorithm::chunk_two_pass:
    return "cp.async by every thread";
  case Algorithm::chunk_scored:
    return "cp.async by every thread; each chunk's gated intra-chunk matrix P "
           "(16-bit, L x L) written once by the scores pre-pass and staged by "
           "every value slice's CTA beside q, k and v";
  case Algorithm::recurrent_step:
    return "the state slice in 16-byte f32 loads straight into registers "
           "(read once, written once); each token's rows into shared memory";
  case Algorithm::flash2_grad:
    return "cp.async by every thread (K, V once per key tile; Q, dO through "
           "the ring); dQ added with red.global.add into an f32 accumulator";
  case Algorithm::flash2_grad_deterministic:
    return "cp.async by every thread; dQ by its own kernel (no float "
           "atomics)";
  case Algorithm::flash3_grad:
    return "into wgmma's swizzled tiles: K, V once per key tile (cp.async); "
           "the ring's Q and dO by TMA, one thread asking for both tiles of a "
           "round (cp.async where the runtime cannot encode tensor maps, and "
           "for rotary embedding's rotated copies), lse and D by cp.async; dQ "
           "added row by row into an f32 accumulator by the copy engine's "
           "bulk reductions (cp.reduce.async.bulk)";
  case Algorithm::flash3_grad_deterministic:
    return "into wgmma's swizzled tiles, the kv kernel's Q and dO ring by TMA "
           "as flash3_grad's, the dq kernel's K and V ring by cp.async; dQ by "
           "its own kernel (no float atomics)";
  case Algorithm::chunk_grad:
    return "cp.async by every thread; the chunk states and their gradients "
           "go through scratch in the element type (written by the two state "
           "passes, read by the chunk kernel as 16-bit MMA operands, no float "
           "atomics)";
  }
  return "";
}

/// A gradient's kernels in launch order (schedule::attentionGradKernels),
/// and why the kv kernel is two where it is; "" for other ops.
std::string gradKernelsText(Operation *op, ScheduleAttr s) {
  auto grad = dyn_cast<AttentionGradOp>(op);
  if (!grad)
    return "";
  sched::AttentionProblem p = attentionKernelProblem(grad);
  std::string text;
  for (sched::GradKernel k : sched::attentionGradKernels(p, toLibrary(s)))
    text += (text.empty() ? "" : ", ") + std::string(sched::gradKernelName(k));
  if (sched::gradSplitsKv(p))
    text += " (head dim past " + std::to_string(sched::kMaxGradHeadDim) +
            ": the kv kernel is two, each holding one of dV and dK in "
            "registers; both compute S)";
  return text;
}

/// flash_decode's key splits at the planned sizes (schedule/DecodeSplit.h,
/// the rule the launch evaluates), or none for other schedules.
std::optional<int64_t> decodeSplitsAt(const OpReport &r, const sched::Target &t) {
  auto attention = dyn_cast<AttentionOp>(r.op);
  auto schedule = r.op->getAttrOfType<ScheduleAttr>("flash.schedule");
  if (!attention || !schedule || !splitsKeys(schedule.getAlgorithm()))
    return std::nullopt;
  auto size = [&](StringRef key) { return r.shapes.getInteger(key).value_or(1); };
  sched::DecodeSplitRule rule = sched::decodeSplitRule(
      attentionKernelProblem(attention), t, toLibrary(schedule));
  return sched::decodeSplits(rule, size("B"), size("N"), size("M"));
}

/// Sizes of one op, as text and JSON; false (with `error` set) when a
/// dimension is unbound.
/// The ops explain reports on (and keeps the passes' errors for).
bool isReported(Operation *op) {
  return isa<AttentionOp, AttentionGradOp, LinearAttentionOp, DeltaRuleOp,
             LinearAttentionGradOp>(op);
}

bool describeSizes(OpReport &r, const DimValues &dims) {
  std::string text;
  llvm::raw_string_ostream os(text);
  auto describeAttention = [&](auto attention) {
    llvm::Expected<AttentionSizes> s = resolveSizes(attention, dims);
    if (!s) {
      r.error = llvm::toString(s.takeError());
      return false;
    }
    os << "B=" << s->batch << " Hq=" << s->queryHeads << " Hkv=" << s->keyHeads
       << " N=" << s->queryLen << " M=" << s->keyLen << " D=" << s->headDim
       << " Dv=" << s->valueDim << " mask " << stringifyMaskKind(attention.getMask());
    if (auto w = attention.getWindow())
      os << "(" << *w << ")";
    if (attention.hasScoreMod())
      os << " +score_mod";
    if (attention.hasMaskMod())
      os << " +mask_mod";
    os << " " << elementName(attention.getQ());
    r.shapes = llvm::json::Object{
        {"B", s->batch},      {"Hq", s->queryHeads}, {"Hkv", s->keyHeads},
        {"N", s->queryLen},   {"M", s->keyLen},      {"D", s->headDim},
        {"Dv", s->valueDim},  {"mask", stringifyMaskKind(attention.getMask())},
        {"element", elementName(attention.getQ())}};
    return true;
  };
  if (auto attention = dyn_cast<AttentionOp>(r.op)) {
    if (!describeAttention(attention))
      return false;
  } else if (auto grad = dyn_cast<AttentionGradOp>(r.op)) {
    if (!describeAttention(grad))
      return false;
  } else if (auto delta = dyn_cast<DeltaRuleOp>(r.op)) {
    llvm::Expected<LinearAttentionSizes> s = resolveSizes(delta, dims);
    if (!s) {
      r.error = llvm::toString(s.takeError());
      return false;
    }
    const char *form = delta.getLogDecay() ? "gated" : "plain";
    os << "B=" << s->batch << " H=" << s->heads << " T=" << s->length
       << " Dk=" << s->keyDim << " Dv=" << s->valueDim << " " << form << " "
       << elementName(delta.getQ());
    r.shapes = llvm::json::Object{
        {"B", s->batch},   {"H", s->heads},      {"T", s->length},
        {"Dk", s->keyDim}, {"Dv", s->valueDim},  {"form", form},
        {"element", elementName(delta.getQ())}};
  } else {
    // flash.linear_attention and its gradient.
    auto describeLinear = [&](auto linear) {
      llvm::Expected<LinearAttentionSizes> s = resolveSizes(linear, dims);
      if (!s) {
        r.error = llvm::toString(s.takeError());
        return false;
      }
      os << "B=" << s->batch << " H=" << s->heads << " T=" << s->length
         << " Dk=" << s->keyDim << " Dv=" << s->valueDim << " gate "
         << stringifyGateKind(linear.getGate()) << " " << elementName(linear.getQ());
      r.shapes = llvm::json::Object{
          {"B", s->batch},     {"H", s->heads},        {"T", s->length},
          {"Dk", s->keyDim},   {"Dv", s->valueDim},
          {"gate", stringifyGateKind(linear.getGate())},
          {"element", elementName(linear.getQ())}};
      return true;
    };
    bool described = isa<LinearAttentionGradOp>(r.op)
                         ? describeLinear(cast<LinearAttentionGradOp>(r.op))
                         : describeLinear(cast<LinearAttentionOp>(r.op));
    if (!described)
      return false;
  }
  r.shapeText = text;
  return true;
}

/// What an attention's rotary embedding does (dialect/Rotary.h) under
/// schedule `s`.
std::string rotaryText(const Rotary &rotary, ScheduleAttr s) {
  const char *where =
      s.getRotaryPrepass()
          ? "K rotated once by a first kernel into a workspace copy (B x Hkv x M x D) "
            "that the attention kernel reads; each q tile rotated on chip once it landed"
          : "each tile rotated on chip once it landed, no rotated copy written";
  return llvm::formatv("{0}, {1} dims of q and k turned by tables {2}, {3} ({4}); {5}",
                       stringifyRotaryStyle(rotary.style), rotary.dims, rotary.cosName,
                       rotary.sinName,
                       rotary.perSequence() ? "one per sequence" : "shared by the batch",
                       where)
      .str();
}

/// "measured      DRAM 300 MiB (...) = 1.12 x modeled HBM; modeled HBM =
/// 1.00 x bound", marked where measured/modeled passes the limit.
void printMeasured(llvm::raw_ostream &os, const OpReport &r,
                   const flashgen::cli::MeasuredTraffic &traffic) {
  if (!r.measured) {
    os << "  measured      not in " << traffic.path() << "\n";
    return;
  }
  MeasuredComparison c = compare(r);
  os << "  measured      DRAM " << sched::formatBytes(c.measured) << " ("
     << c.measured << " B; read " << sched::formatBytes(r.measured->bytesRead)
     << ", written " << sched::formatBytes(r.measured->bytesWritten) << ") = "
     << llvm::formatv("{0:F2}", c.measuredOverModeled())
     << " x modeled HBM; modeled HBM = "
     << llvm::formatv("{0:F2}", c.modeledOverBound()) << " x bound";
  if (c.overLimit())
    os << "  [measured > " << llvm::formatv("{0:F1}", kMeasuredOverModeledLimit)
       << " x modeled]";
  os << "\n";
}

/// Where an attention's operands live when not as [B, H, N, D] tensors:
/// paged caches (dialect/PagedKv.h), packed sequences (dialect/Varlen.h).
std::string layoutText(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (std::optional<PagedKv> paged = pagedKvOf(op))
    os << "k and v in pages of " << paged->pageSize
       << " keys, read through page_table (one lookup a "
       << "tile where a page holds whole key tiles, one a row otherwise)";
  if (std::optional<Varlen> varlen = varlenOf(op)) {
    if (!text.empty())
      os << "; ";
    bool both = varlen->packedQueries() && varlen->packedKeys();
    os << (both ? "queries and keys" : varlen->packedQueries() ? "queries" : "keys")
       << " packed by cu_seqlens (each CTA reads its sequence's rows and "
          "lengths); the planned "
       << (both ? "N and M are" : varlen->packedQueries() ? "N is" : "M is")
       << " the longest sequence, given at launch as "
       << (both ? "max_seqlen_q, max_seqlen_k"
                : varlen->packedQueries() ? "max_seqlen_q" : "max_seqlen_k");
  }
  if (std::optional<BlockMask> mask = blockMaskOf(op)) {
    if (!text.empty())
      os << "; ";
    os << "block-sparse mask of " << mask->queryBlock << " x " << mask->keyBlock
       << " blocks: ";
    if (isa<AttentionGradOp>(op))
      os << "the kv kernel's key tiles visit only the query tiles their "
            "block's transposed lists name, for each query head of the group "
            "(q_indices"
         << (mask->hasFull() ? ", full_q_indices" : "")
         << "), a dq kernel's query tiles their kv lists";
    else
      os << "each query tile visits only its block's listed key tiles "
            "(kv_indices"
         << (mask->hasFull() ? ", then full_kv_indices without the mask_mod" : "")
         << ")";
    os << "; the lists are launch values, so the bound and the model "
          "count every block (time and traffic scale with the listed share)";
  }
  if (auto linear = dyn_cast<LinearAttentionOp>(op); linear && linear.hasFeatureMap()) {
    if (!text.empty())
      os << "; ";
    os << "q and k pass through the feature_map where they are staged, in shared "
          "memory once per chunk and value tile (the step kernel as it stores "
          "them), rounded to the element type (docs/semantics.md §3.7)";
  }
  if (linearVarlenOf(op)) {
    if (!text.empty())
      os << "; ";
    os << "sequences packed by cu_seqlens, each its own recurrence with its own "
          "states (each CTA reads its sequence's rows and length); the planned T "
          "stands for the sequences' lengths";
    if (isa<LinearAttentionGradOp>(op))
      os << ", and the chunk kernel's grid covers the longest one's chunks "
            "(max_seqlen_q at launch); the chunk states of every sequence share "
            "one scratch";
    if (isa<DeltaRuleOp>(op))
      os << ", and delta_prepare's grid covers the longest one's chunks "
            "(max_seqlen_q at launch); the WY factors of every sequence share "
            "one scratch";
  }
  if (auto grad = dyn_cast<LinearAttentionGradOp>(op);
      grad && (grad.getGate() == GateKind::mlstm_sig || grad.getGate() == GateKind::mlstm_exp)) {
    if (!text.empty())
      os << "; ";
    os << "a rows kernel reads the forward's o and rows' normalisers (its norm "
          "output: N_r, floor_r) with dO and writes dO / den and each row's "
          "normaliser gradient, which the state-gradient pass and the chunk "
          "kernel read in dO's place (docs/semantics.md §4.6)";
    if (grad.getGate() == GateKind::mlstm_exp)
      os << "; every row is stabilised by its own m_r, and each row's stabiliser "
            "gradient (written beside the normaliser's) goes to the step that "
            "sets m_r, carried chunk to chunk by the state-gradient pass "
            "(docs/semantics.md §4.7)";
  }
  return text;
}

/// How the forward kernels compute an attention's score_mod where that is
/// not the region's ops as they stand: a bias linear in the positions
/// (dialect/ScoreBias.h); empty otherwise. flash_decode's packed rows read
/// each row's own query head, so its factor varies by row: not said there.
std::string scoreModText(Operation *op, ScheduleAttr schedule) {
  auto attention = dyn_cast<AttentionOp>(op);
  if (!attention || !attention.hasScoreMod() ||
      schedule.getAlgorithm() == Algorithm::flash_decode)
    return "";
  std::optional<ScoreBias> bias = matchScoreBias(attention.getScoreMod());
  if (!bias)
    return "";
  bool diagonalFirst = walksKeysDiagonalFirst(attention, schedule);
  return "a bias linear in the positions (factor * float(" +
         std::to_string(bias->coefficients.first) + " * i + " +
         std::to_string(bias->coefficients.second) +
         " * j + c)): one FFMA per score, the lane's share joins the online "
         "softmax's row maxima (codegen/attention/PositionBias.h)" +
         (diagonalFirst ? std::string("; it rises toward the diagonal, so key tiles "
                                      "run from the diagonal back")
                        : std::string());
}

/// What an attention's mask_mod proves about the keys (passes/MaskModBounds.h),
/// as flash-lower-kernels uses it; empty without a mask_mod. The analysis
/// builds its bounds as IR: here into a scratch block, dropped after.
std::string maskModText(Operation *op, ScheduleAttr schedule) {
  // The gradient's pre-passes (schedule::attentionGradKernels).
  if (auto grad = dyn_cast<AttentionGradOp>(op)) {
    if (!grad.hasMaskMod() || !schedule || !schedule.getMaskLists())
      return "";
    return std::string("reads its extras at positions: a first kernel "
                       "(mask_lists_t) evaluates it over each key tile's and "
                       "query tile's position ranges and lists, per key tile, the "
                       "query tiles it leaves partly or wholly visible; the kv "
                       "kernel visits only those, a whole one without the mask") +
           (gradAtomicDq(schedule.getAlgorithm())
                ? ""
                : "; a second (mask_lists) lists each query tile's key tiles "
                  "for the dq kernel");
  }
  auto attention = dyn_cast<AttentionOp>(op);
  if (!attention || !attention.hasMaskMod())
    return "";
  // Its extras decide tile by tile at launch (passes/MaskModTiles.h).
  if (schedule && schedule.getMaskLists())
    return "reads its extras at positions: a first kernel (<name>_mask_lists) "
           "evaluates it over each query tile's and key tile's position ranges "
           "(an extra's least and largest value over a range) and lists the key "
           "tiles it leaves partly or wholly visible; the attention kernel visits "
           "only those, a whole one without the mask";
  OpBuilder b(op->getContext());
  Location loc = op->getLoc();
  Block scratch;
  Value batch = scratch.addArgument(b.getIndexType(), loc);
  Value head = scratch.addArgument(b.getIndexType(), loc);
  Value row = scratch.addArgument(b.getIndexType(), loc);
  b.setInsertionPointToStart(&scratch);
  MaskModKeyBound known =
      buildMaskModKeyBound(b, loc, attention.getMaskMod(), batch, head, row);
  std::string text;
  if (known.bound)
    text = "hides every key past a bound that does not fall as the row "
           "grows: a query tile's key tiles end at its last row's bound";
  else
    text = "proves no last key: the key tiles end where the mask kind ends them";
  if (known.keep)
    text += "; keeps every key below a position whatever else it tests (j < X "
            "or ...): the key tiles below its first row's X skip the mask";
  else
    text += "; keeps no key range whole: every visited key tile evaluates it";
  if (std::string why = maskModTilesUnsupported(attention.getMaskMod()); !why.empty())
    text += " (no tile lists at launch: " + why + ")";
  // Users come after what they use: erasing from the back leaves no use.
  while (!scratch.empty())
    scratch.back().erase();
  return text;
}

/// The model's time of each candidate (flash-schedule's
/// flash.candidate_seconds), when there is one per candidate: a spec's own
/// candidates (--spec-schedules) have none.
std::optional<ArrayRef<double>> candidateSeconds(Operation *op) {
  auto seconds = op->getAttrOfType<DenseF64ArrayAttr>("flash.candidate_seconds");
  auto candidates = op->getAttrOfType<ArrayAttr>("flash.candidates");
  if (!seconds || !candidates || seconds.size() != static_cast<int64_t>(candidates.size()))
    return std::nullopt;
  return seconds.asArrayRef();
}

void printText(llvm::raw_ostream &os, const OpReport &r, const sched::Target &t,
               const flashgen::cli::MeasuredTraffic *traffic) {
  os << "@" << r.name << "  " << r.kind << "  " << r.shapeText << "\n";
  Operation *op = r.op;
  int64_t bound = intAttr(op, "flash.io_lower_bound");
  int64_t hbmBound = intAttr(op, "flash.hbm_lower_bound");
  // The bound holds for any schedule: said even when none was found.
  if (r.error.empty() || op->hasAttr("flash.io_lower_bound"))
    os << "  lower bound   on chip " << sched::formatBytes(bound) << " (" << bound
       << " B), HBM " << sched::formatBytes(hbmBound) << "\n";
  if (!r.error.empty()) {
    os << "  error         " << r.error << "\n\n";
    return;
  }
  auto schedule = op->getAttrOfType<ScheduleAttr>("flash.schedule");
  int64_t modeled = intAttr(op, "flash.modeled_io");
  int64_t hbm = intAttr(op, "flash.modeled_hbm");
  char ratio[64];
  os << "  schedule      " << scheduleText(schedule) << " (smem "
     << sched::formatBytes(schedule.getSmemBytes()) << ")\n";
  std::optional<Rotary> rotary = rotaryOf(op);
  os << "  copies        " << copiesText(schedule, bool(rotary), keepsQueryResident(op, schedule))
     << "\n";
  if (rotary)
    os << "  rotary        " << rotaryText(*rotary, schedule) << "\n";
  if (std::string kernels = gradKernelsText(op, schedule); !kernels.empty())
    os << "  kernels       " << kernels << "\n";
  if (std::string layout = layoutText(op); !layout.empty())
    os << "  layout        " << layout << "\n";
  if (std::string mod = scoreModText(op, schedule); !mod.empty())
    os << "  score_mod     " << mod << "\n";
  if (std::string mask = maskModText(op, schedule); !mask.empty())
    os << "  mask_mod      " << mask << "\n";
  if (std::optional<int64_t> splits = decodeSplitsAt(r, t))
    os << "  key splits    " << *splits
       << " at these sizes (computed at each launch from B, N and M; "
       << (*splits > 1 ? "a second kernel merges them" : "no merge needed")
       << ")\n";
  std::snprintf(ratio, sizeof(ratio), "%.2f", floatAttr(op, "flash.io_ratio"));
  os << "  modeled IO    " << sched::formatBytes(modeled) << " (" << modeled
     << " B) = " << ratio << " x bound; ";
  std::snprintf(ratio, sizeof(ratio), "%.2f", floatAttr(op, "flash.hbm_ratio"));
  os << "HBM " << sched::formatBytes(hbm) << " = " << ratio << " x bound\n";
  std::string binding;
  if (auto b = op->getAttrOfType<StringAttr>("flash.binding"))
    binding = b.getValue().str();
  os << "  modeled time  "
     << sched::formatSeconds(floatAttr(op, "flash.modeled_seconds"))
     << ", bound by " << binding << "\n";
  if (traffic)
    printMeasured(os, r, *traffic);
  std::optional<ArrayRef<double>> seconds = candidateSeconds(op);
  if (auto candidates = op->getAttrOfType<ArrayAttr>("flash.candidates"))
    for (auto [i, attr] : llvm::enumerate(candidates))
      if (auto c = dyn_cast<ScheduleAttr>(attr)) {
        os << (i == 0 ? "  candidates    " : "                ") << i + 1 << ". "
           << scheduleText(c) << " (smem " << sched::formatBytes(c.getSmemBytes())
           << ")";
        if (seconds)
          os << "  " << sched::formatSeconds((*seconds)[i]);
        os << "\n";
      }
  os << "\n";
}

/// The "measured" member of an op's JSON: null when the file has no
/// measurement of its kernel.
llvm::json::Value measuredJson(const OpReport &r,
                               const flashgen::cli::MeasuredTraffic &traffic) {
  if (!r.measured)
    return nullptr;
  MeasuredComparison c = compare(r);
  return llvm::json::Object{
      {"file", traffic.path()},
      {"dram_bytes_read", r.measured->bytesRead},
      {"dram_bytes_write", r.measured->bytesWritten},
      {"dram_bytes", c.measured},
      {"measured_over_modeled", c.measuredOverModeled()},
      {"modeled_over_bound", c.modeledOverBound()},
      {"limit", kMeasuredOverModeledLimit},
      {"over_limit", c.overLimit()}};
}

llvm::json::Object toJson(const OpReport &r, const sched::Target &target,
                          const DimValues &dims,
                          const flashgen::cli::MeasuredTraffic *traffic) {
  // The bindings the op was planned with, as --dim takes them, so that a
  // measurement can be matched to this report (bench/traffic/ reads them).
  llvm::json::Object dimsJson;
  for (const auto &entry : dims)
    dimsJson[entry.getKey()] = entry.getValue();
  llvm::json::Object o{{"op", r.name},
                       {"kind", r.kind},
                       {"target", target.name},
                       {"dims", std::move(dimsJson)},
                       {"shapes", llvm::json::Object(r.shapes)}};
  Operation *op = r.op;
  // The bound holds for any schedule: given even when none was found.
  if (op->hasAttr("flash.io_lower_bound")) {
    o["lower_bound_bytes"] = intAttr(op, "flash.io_lower_bound");
    o["hbm_lower_bound_bytes"] = intAttr(op, "flash.hbm_lower_bound");
  }
  if (!r.error.empty()) {
    o["error"] = r.error;
    return o;
  }
  o["modeled_io_bytes"] = intAttr(op, "flash.modeled_io");
  o["ratio"] = floatAttr(op, "flash.io_ratio");
  o["modeled_hbm_bytes"] = intAttr(op, "flash.modeled_hbm");
  o["hbm_ratio"] = floatAttr(op, "flash.hbm_ratio");
  o["modeled_seconds"] = floatAttr(op, "flash.modeled_seconds");
  if (auto b = op->getAttrOfType<StringAttr>("flash.binding"))
    o["binding"] = b.getValue();
  auto opSchedule = op->getAttrOfType<ScheduleAttr>("flash.schedule");
  o["schedule"] = scheduleJson(opSchedule);
  std::optional<Rotary> rotary = rotaryOf(op);
  o["copies"] = copiesText(opSchedule, bool(rotary), keepsQueryResident(op, opSchedule));
  if (rotary)
    o["rotary"] = rotaryText(*rotary, opSchedule);
  if (std::string layout = layoutText(op); !layout.empty())
    o["layout"] = layout;
  if (std::string mod = scoreModText(op, opSchedule); !mod.empty())
    o["score_mod"] = mod;
  if (std::string mask = maskModText(op, opSchedule); !mask.empty())
    o["mask_mod"] = mask;
  if (std::optional<int64_t> splits = decodeSplitsAt(r, target))
    o["key_splits"] = *splits;
  llvm::json::Array candidates;
  std::optional<ArrayRef<double>> seconds = candidateSeconds(op);
  if (auto list = op->getAttrOfType<ArrayAttr>("flash.candidates"))
    for (auto [i, attr] : llvm::enumerate(list))
      if (auto c = dyn_cast<ScheduleAttr>(attr)) {
        llvm::json::Object candidate = scheduleJson(c);
        if (seconds)
          candidate["modeled_seconds"] = (*seconds)[i];
        candidates.push_back(std::move(candidate));
      }
  o["candidates"] = std::move(candidates);
  if (traffic)
    o["measured"] = measuredJson(r, *traffic);
  return o;
}

} // namespace

int flashgen::cli::runExplain() {
  const std::string spec = specArg, targetName = targetArg;
  const unsigned topK = topKArg;
  const bool json = jsonArg;
  DimValues given;
  for (const std::string &binding : dimArgs)
    if (llvm::Error error = parseDimBinding(binding, given)) {
      llvm::errs() << "flashgen explain: " << llvm::toString(std::move(error))
                   << "\n";
      return 2;
    }
  if (topK == 0) {
    llvm::errs() << "flashgen explain: --top-k takes 1 or more\n";
    return 2;
  }
  sched::Result<const sched::Target *> target = sched::lookupTarget(targetName);
  if (!target) {
    llvm::errs() << "flashgen explain: " << target.error() << "\n";
    return 2;
  }

  // A bad measurement file is reported before any work is done.
  std::optional<flashgen::cli::MeasuredTraffic> traffic;
  if (!measuredArg.empty()) {
    llvm::Expected<flashgen::cli::MeasuredTraffic> loaded =
        flashgen::cli::MeasuredTraffic::load(measuredArg);
    if (!loaded) {
      llvm::errs() << "flashgen explain: " << llvm::toString(loaded.takeError())
                   << "\n";
      return 1;
    }
    traffic = std::move(*loaded);
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module = loadSpec(context, spec);
  if (!module)
    return 1;

  std::vector<std::string> defaulted;
  std::string dimOption = dimOptionString(*module, given, defaulted);
  for (const std::string &name : defaulted)
    llvm::errs() << "flashgen explain: planning with " << name << " = "
                 << (name == "B" ? kPlanningBatch : kPlanningLength)
                 << " (pass --dim " << name << "=VALUE for your size)\n";
  DimValues dims;
  if (llvm::Error error = parseDimBindingList(dimOption, dims)) {
    llvm::errs() << "flashgen explain: " << llvm::toString(std::move(error)) << "\n";
    return 1;
  }

  // Errors of the passes go to stderr and are kept per op for the report.
  std::map<Operation *, std::string> errors;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error)
      module->walk([&](Operation *op) {
        if (op->getLoc() == diag.getLocation() && isReported(op))
          errors[op] = diag.str();
      });
    return failure(); // also print it
  });

  std::string derive =
      backwardArg ? std::string("flash-derive-backward{deterministic=") +
                        (deterministicArg ? "true" : "false") + "},"
                  : std::string();
  std::string pipeline = derive + "flash-io-bounds{target=" + targetName + " dims=" +
                         dimOption + "},flash-schedule{target=" + targetName +
                         " dims=" + dimOption + " top-k=" + std::to_string(topK) +
                         "}";
  PassManager pm(&context);
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs()))) {
    llvm::errs() << "flashgen explain: cannot build the pipeline " << pipeline
                 << "\n";
    return 1;
  }
  bool ok = succeeded(pm.run(*module));

  std::vector<OpReport> reports;
  std::map<std::string, int> perFunction;
  module->walk([&](Operation *op) {
    if (!isReported(op))
      return;
    OpReport r;
    r.op = op;
    r.kind = op->getName().getStringRef().str();
    auto func = op->getParentOfType<FunctionOpInterface>();
    r.name = func ? func.getName().str() : "module";
    if (int n = perFunction[r.name]++)
      r.name += "#" + std::to_string(n);
    bool sized = describeSizes(r, dims);
    if (sized && !op->getAttrOfType<ScheduleAttr>("flash.schedule")) {
      auto it = errors.find(op);
      r.error = it != errors.end() ? it->second : "no schedule (see above)";
    }
    reports.push_back(std::move(r));
  });

  if (traffic) {
    bool anyMeasured = false;
    for (OpReport &r : reports) {
      llvm::Expected<const flashgen::cli::MeasuredKernel *> found =
          traffic->find(r.name, dims);
      if (!found) {
        llvm::errs() << "flashgen explain: " << llvm::toString(found.takeError())
                     << "\n";
        return 1;
      }
      r.measured = *found;
      anyMeasured |= r.measured != nullptr;
    }
    // A file of other kernels is a wrong file, not a row of blanks.
    if (!anyMeasured && !reports.empty()) {
      llvm::errs() << "flashgen explain: " << traffic->path()
                   << ": no measurement of any kernel of " << spec
                   << " (it measures: "
                   << llvm::join(traffic->kernelNames(), ", ") << ")\n";
      return 1;
    }
  }

  const sched::Target &t = **target;
  const flashgen::cli::MeasuredTraffic *measured = traffic ? &*traffic : nullptr;
  if (json) {
    llvm::json::Array ops;
    for (const OpReport &r : reports)
      ops.push_back(toJson(r, t, dims, measured));
    llvm::outs() << llvm::formatv("{0:2}", llvm::json::Value(std::move(ops)))
                 << "\n";
  } else {
    llvm::outs() << "target " << t.name << ": " << t.description << "; on chip "
                 << sched::formatBytes(t.onChipBytesPerCTA())
                 << " per CTA (shared memory + registers), L2 "
                 << sched::formatBytes(t.l2Bytes) << "\n\n";
    for (const OpReport &r : reports)
      printText(llvm::outs(), r, t, measured);
    if (reports.empty())
      llvm::outs() << "no op that flashgen compiles in " << spec << "\n";
  }
  return ok ? 0 : 1;
}
