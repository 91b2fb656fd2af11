//===- AttentionGradEmitter.cpp - CUDA for the attention gradients --------===//
//
// Prints the `flash.kernel` families of flash.attention_grad
// (dialect/FlashGradKernelOps.td): attention_grad_prep, attention_grad_kv,
// attention_grad_dq and attention_grad_convert, on the mma.sync path of the
// device library (warp tiles, swizzled smem_tile, cp.async rings) plus
// attention/backward.cuh, or for flash3_grad schedules on its sm_90a
// warpgroup path (wgmma.cuh: wg_tile rings, wg::issue_ABt for the products
// of two shared tiles, wg::issue_rAB for those with an operand in
// registers). Both paths give each warp 16 rows of the same fragment
// layout, so the element-wise steps print alike. Scalar code, loops and the
// user's regions come from ScalarPrinter, as for the forward.
//
// Where each tensor lives is the family's:
//   attention_grad_kv  K, V resident (sK, sV), Q and dO in rings (sQ, sdO),
//                      dS staged in sdS; each warp owns kWarpRows key rows of
//                      the transposed score tile S^T and of dK, dV, and
//                      kWarpQRows query rows of the dQ product
//   attention_grad_dq  Q and dO resident, K and V in rings; each warp owns
//                      kWarpRows query rows of S and of dQ
// so the score map runs on S^T in the kv kernel: its lambda names the row
// index j and the column index i.
//
//===----------------------------------------------------------------------===//

#include "codegen/KernelFamilies.h"

#include "codegen/ScalarPrinter.h"
#include "codegen/attention/AttentionPrinter.h"
#include "dialect/ScheduleConversion.h"
#include "schedule/AttentionGrad.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;

namespace {

/// One kernel parameter of the gradient kernels: a tensor of the bundle
/// entry (by its manifest name) or a scratch buffer of the variant.
struct GradParam {
  TensorRole role;
  const char *manifestName; ///< "do" (a C++ keyword) for dout
  const char *cName;
  int rank;
  bool f32;
  bool output;
  bool scratch;
};

constexpr GradParam kGradParams[] = {
    {TensorRole::q, "q", "q", 4, false, false, false},
    {TensorRole::k, "k", "k", 4, false, false, false},
    {TensorRole::v, "v", "v", 4, false, false, false},
    {TensorRole::o, "o", "o", 4, false, false, false},
    {TensorRole::dout, "do", "dout", 4, false, false, false},
    {TensorRole::lse, "lse", "lse", 3, true, false, false},
    {TensorRole::dq, "dq", "dq", 4, false, true, false},
    {TensorRole::dk, "dk", "dk", 4, false, true, false},
    {TensorRole::dv, "dv", "dv", 4, false, true, false},
    {TensorRole::delta, "delta", "delta", 3, true, true, true},
    {TensorRole::dq_accum, "dq_accum", "dq_accum", 4, true, true, true},
};

const GradParam &gradParam(TensorRole role) {
  return *llvm::find_if(kGradParams,
                        [&](const GradParam &p) { return p.role == role; });
}

class AttentionGradPrinter : public ScalarPrinter {
public:
  using ScalarPrinter::ScalarPrinter;
  FailureOr<EmittedKernel> print();

private:
  KernelFamily family = KernelFamily::attention_grad_kv;
  bool atomicDq = false;
  /// flash3_grad: the products on warpgroup MMAs, the tiles in wgmma's
  /// layout.
  bool wgmma = false;
  /// The dQ accumulator is blocked (sched::gradDqBlocked): one more
  /// dimension, [B, H, D / 64, N16, 64].
  bool dqBlocked = false;
  /// Some score map changes the score (then the region sees q k^T *
  /// kScoreScale and the softmax's scale is log2(e) alone).
  bool scoresModified = false;
  /// The ring's loads are marked `tma` (flash-warp-specialize; kv: q and
  /// dout, dq: k and v): the kernel takes their tensor maps and
  /// initialises ring_arrivals.
  bool tmaRing = false;
  /// The f32 accumulators the kernel holds ("acc_dk", "acc_dv", "acc_dq"):
  /// those of the gradients it stores (flash.grad_store), so the halves of
  /// a split kv kernel (schedule::gradSplitsKv) declare, zero and fence
  /// only their own.
  SmallVector<std::string> accumulators;
  /// The kernel computes dS (flash.grad_scores) and so reads D; kv_dv does
  /// not.
  bool scoreGradients = false;
  /// The kernel copies V (kv_dv, which computes no dP, does not).
  bool readsValues = false;

  bool kvKernel() const { return family == KernelFamily::attention_grad_kv; }
  /// The tensors and scratch buffers the family's kernels take, in order.
  SmallVector<TensorRole> params() const;
  LogicalResult printKernelOp(Operation *op) override;
  LogicalResult printScoreMap(ScoreMapOp op);
  LogicalResult printGradScores(GradScoresOp op);
  /// A tile_mma of a flash3_grad kernel: issued on the warpgroup and waited
  /// for before its result is read.
  LogicalResult printWarpgroupMma(TileMmaOp mma);
  std::string base(TensorRole role, Value batch, Value head);
  /// The dQ accumulator at query row `row0` of (batch, head) and the
  /// strides that walk it: "ptr, row stride" ([B, H, N, D]) or "ptr, block
  /// stride, row stride" (blocked).
  std::string accumRows(Value batch, Value head, StringRef row0);
  /// "(tile) * kTile<Q|K> + <warp's first row>" of a row tile.
  std::string warpRow(Value tile, StringRef tileRows, StringRef warpRow0);
  std::string signature();
  std::string header();
  /// With TMA ring copies: fg_tma (the launch's maps are not zero) and the
  /// ring's arrival barriers, initialised.
  void printRingArrivals();
  /// The ring_arrivals ring of a TMA-copied tensor: its place in the
  /// family's gradRingTensors.
  int arrivalRing(TensorRole role) const {
    return (*gradRingTensors(family))[0] == role ? 0 : 1;
  }
  double scale(StringRef key) {
    return cast<FloatAttr>(kernel.getProblem().get(key)).getValueAsDouble();
  }
  Type elementType() {
    return cast<TypeAttr>(kernel.getProblem().get("element_type")).getValue();
  }
};

SmallVector<TensorRole> AttentionGradPrinter::params() const {
  using R = TensorRole;
  switch (family) {
  case KernelFamily::attention_grad_prep:
    if (atomicDq)
      return {R::o, R::dout, R::delta, R::dq_accum};
    return {R::o, R::dout, R::delta};
  case KernelFamily::attention_grad_kv:
    if (atomicDq)
      return {R::q, R::k, R::v, R::dout, R::lse, R::dk, R::dv, R::delta, R::dq_accum};
    return {R::q, R::k, R::v, R::dout, R::lse, R::dk, R::dv, R::delta};
  case KernelFamily::attention_grad_dq:
    return {R::q, R::k, R::v, R::dout, R::lse, R::dq, R::delta};
  default:
    return {R::dq, R::dq_accum};
  }
}

std::string AttentionGradPrinter::base(TensorRole role, Value batch,
                                       Value head) {
  return batchHeadOffset(gradParam(role).cName, name(batch), name(head));
}

std::string AttentionGradPrinter::accumRows(Value batch, Value head,
                                            StringRef row0) {
  std::string at = base(TensorRole::dq_accum, batch, head) + " + (long long)" +
                   row0.str();
  return dqBlocked ? at + " * dq_accum_s3, dq_accum_s2, dq_accum_s3"
                   : at + " * dq_accum_s2, dq_accum_s2";
}

std::string AttentionGradPrinter::warpRow(Value tile, StringRef tileRows,
                                          StringRef warpRow0) {
  return "((" + name(tile) + ") * " + tileRows.str() + " + " + warpRow0.str() +
         ")";
}

LogicalResult AttentionGradPrinter::printScoreMap(ScoreMapOp op) {
  Block &block = op.getBody().front();
  auto yield = cast<ScoreYieldOp>(block.getTerminator());
  bool identityScore = yield.getScore() == block.getArgument(0);
  auto visible = yield.getVisible().getDefiningOp<arith::ConstantIntOp>();
  bool alwaysVisible = visible && visible.value() != 0;
  if (identityScore && alwaysVisible) {
    line() << "// interior tile: no score_mod, no mask\n";
    return success();
  }
  std::string q0 = "(" + name(op.getQueryTile()) + ") * kTileQ";
  std::string k0 = "(" + name(op.getKeyTile()) + ") * kTileK";
  if (kvKernel())
    line() << "fg::warp::for_each_at(s_tile, " << k0 << " + wrow0, " << q0
           << ", [&](int j, int i, int dj, int di, float& x) {\n";
  else
    line() << "fg::warp::for_each_at(s_tile, " << q0 << " + wrow0, " << k0
           << ", [&](int i, int j, int di, int dj, float& x) {\n";
  ++indent;
  if (failed(printElementRegion(block, scoresModified ? "(x * kScoreScale)" : "x",
                                op.getBatch(), op.getHead())))
    return failure();
  std::string score = name(yield.getScore());
  if (alwaysVisible)
    line() << "x = " << score << ";\n";
  else
    line() << "x = " << name(yield.getVisible()) << " ? " << score
           << " : fg::neg_inf();\n";
  --indent;
  line() << "});\n";
  return success();
}

LogicalResult AttentionGradPrinter::printGradScores(GradScoresOp op) {
  line() << "fg::warp::score_grad(dp_tile, s_tile, delta_v);\n";
  if (op.getBody().empty())
    return success();
  // dS = dS' * score_grad(s) where P != 0 (semantics §2.6: the derivative
  // is not evaluated at hidden scores, which may be infinite there).
  Block &block = op.getBody().front();
  auto yield = cast<ScoreYieldOp>(block.getTerminator());
  std::string q0 = "(" + name(op.getQueryTile()) + ") * kTileQ";
  std::string k0 = "(" + name(op.getKeyTile()) + ") * kTileK";
  std::string raw;
  if (kvKernel()) {
    line() << "fg::warp::for_each_at(dp_tile, " << k0 << " + wrow0, " << q0
           << ", [&](int j, int i, int dj, int di, float& x) {\n";
    raw = "(fg::warp::at(s_raw, dj, di) * kScoreScale)";
  } else {
    line() << "fg::warp::for_each_at(dp_tile, " << q0 << " + wrow0, " << k0
           << ", [&](int i, int j, int di, int dj, float& x) {\n";
    raw = "(fg::warp::at(s_raw, di, dj) * kScoreScale)";
  }
  ++indent;
  line() << "if (x == 0.0f) return;\n";
  if (failed(printElementRegion(block, raw, op.getBatch(), op.getHead())))
    return failure();
  line() << "x *= " << name(yield.getScore()) << ";\n";
  --indent;
  line() << "});\n";
  return success();
}

LogicalResult AttentionGradPrinter::printWarpgroupMma(TileMmaOp mma) {
  std::string stage = name(mma.getStage());
  bool kv = kvKernel();
  // An async product is waited for by a later flash.grad_mma_wait; the
  // others right here.
  bool async = mma.getAsync();
  // Products of two shared tiles: this warpgroup's 64 rows of the resident
  // tile (wgrow0) against the whole streamed one.
  auto sharedProduct = [&](StringRef acc, StringRef cols, StringRef a,
                           StringRef b) {
    line() << "fg::acc_tile<kWarpRows, " << cols << "> " << acc << ";\n";
    line() << "fg::wg::issue_ABt(" << acc << ", " << a << ", wgrow0, " << b
           << ".stage(" << stage << "));\n";
    if (!async)
      line() << "fg::wg::mma_wait<0>(" << acc << ");\n";
  };
  // acc += (the 16-bit copy `a` of a score tile) B, B's rows the score
  // tile's columns. wgmma reads `a` until the product completes, so it is
  // declared in the step's scope, not a block of its own.
  auto registerProduct = [&](StringRef acc, StringRef a, StringRef scores,
                             StringRef cols, StringRef b) {
    line() << "fg::a_tile<Elem, kWarpRows, " << cols << "> " << a << ";\n";
    line() << "fg::warp::convert(" << a << ", " << scores << ");\n";
    line() << "fg::wg::issue_rAB(" << acc << ", " << a << ", " << b << ".stage("
           << stage << "));\n";
    if (!async)
      line() << "fg::wg::mma_wait<0>(" << acc << ");\n";
  };
  // The kv kernel's rows are keys (K, V resident, Q, dO streamed), the dq
  // kernel's queries.
  StringRef cols = kv ? "kTileQ" : "kTileK";
  switch (mma.getProduct()) {
  case TileProduct::qk: // S^T = K Q^T (kv), S = Q K^T (dq)
    sharedProduct("s_tile", cols, kv ? "sK" : "sQ", kv ? "sQ" : "sK");
    return success();
  case TileProduct::dov: // dP^T = V dO^T (kv), dP = dO V^T (dq)
    sharedProduct("dp_tile", cols, kv ? "sV" : "sdO", kv ? "sdO" : "sV");
    return success();
  case TileProduct::ptdo: // dV += P^T dO
    registerProduct("acc_dv", "pt_a", "s_tile", "kTileQ", "sdO");
    return success();
  case TileProduct::dstq: // dK += dS^T Q
    registerProduct("acc_dk", "dst_a", "dp_tile", "kTileQ", "sQ");
    return success();
  case TileProduct::dsk:
    if (kv) {
      // dQ = dS K from the staged dS^T: this warpgroup's 64 query rows
      // (dq_a0) by its kDqWgCols columns (wdq0), in slices of kDqCols (a
      // slice's f32 tile is live beside dK and dV). The slice loop closes
      // after the flash.accum_add that follows (verified).
      line() << "FG_UNROLL\n";
      line() << "for (int dq_c = wdq0; dq_c < wdq0 + kDqWgCols; dq_c += kDqCols) {\n";
      ++indent;
      line() << "fg::acc_tile<kWarpRows, kDqCols> dq_tile;\n";
      line() << "fg::wg::issue_AtB(dq_tile, sdS, dq_a0, sK, dq_c);\n";
      line() << "fg::wg::mma_wait<0>(dq_tile);\n";
      return success();
    }
    registerProduct("acc_dq", "ds_a", "dp_tile", "kTileK", "sK"); // dQ += dS K
    return success();
  default:
    return mma.emitOpError() << "has no printing in a "
                             << stringifyKernelFamily(family) << " kernel";
  }
}

LogicalResult AttentionGradPrinter::printKernelOp(Operation *op) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<TileLoadOp>([&](TileLoadOp load) -> LogicalResult {
        TensorRole role = load.getTensor();
        bool queryRows = role == TensorRole::q || role == TensorRole::dout;
        // The family's ring holds q, dout (kv) or k, v (dq).
        bool streamed = kvKernel() == queryRows;
        std::string tile = role == TensorRole::q   ? "sQ"
                           : role == TensorRole::k ? "sK"
                           : role == TensorRole::v ? "sV"
                                                   : "sdO";
        if (streamed)
          tile += ".stage(" + name(load.getStage()) + ")";
        std::string t = gradParam(role).cName;
        std::string row0 = "(" + name(load.getRowTile()) + ") * " +
                           std::to_string(load.getRows());
        if (load.getTma()) {
          // One thread asks the copy engine; zero maps: every thread's
          // cp.async below, in the open copy group.
          line() << "if (fg_tma) {\n";
          ++indent;
          line() << "if (threadIdx.x == 0) fg::copy_tile_tma(" << tile << ", &tm_" << t
                 << ", " << row0 << ", " << name(load.getHead()) << ", "
                 << name(load.getBatch()) << ", arrivals.bar(" << arrivalRing(role) << ", "
                 << name(load.getStage()) << "));\n";
          --indent;
          line() << "} else {\n";
          ++indent;
        }
        line() << (wgmma ? "fg::wg::load_async<kThreads>(" : "fg::cta::load_async<kThreads>(")
               << tile << ", "
               << base(role, load.getBatch(), load.getHead())
               << " + (long long)(" << row0 << ") * " << t << "_s2, " << t
               << "_s2, " << name(load.getExtent()) << " - " << row0 << ");\n";
        if (load.getTma()) {
          --indent;
          line() << "}\n";
        }
        return success();
      })
      .Case<TileLandedOp>([&](TileLandedOp landed) {
        line() << "if (fg_tma) fg::wait_landed(arrivals, " << arrivalRing(landed.getTensor())
               << ", " << name(landed.getRound()) << ");\n";
        return success();
      })
      .Case<TileCommitOp>([&](auto) {
        line() << "fg::cta::commit();\n";
        return success();
      })
      .Case<TileWaitOp>([&](TileWaitOp wait) {
        // wgmma reads shared memory through the async proxy: wait_tiles
        // fences the landed cp.async copies for it.
        line() << (wgmma ? "fg::wg::wait_tiles<" : "fg::cta::wait<")
               << wait.getPending() << ">();\n";
        line() << "fg::cta::sync();\n";
        return success();
      })
      .Case<BarrierOp>([&](auto) {
        line() << "fg::cta::sync();\n";
        return success();
      })
      .Case<TileMmaOp>([&](TileMmaOp mma) -> LogicalResult {
        if (wgmma)
          return printWarpgroupMma(mma);
        std::string stage = name(mma.getStage());
        bool kv = kvKernel();
        switch (mma.getProduct()) {
        case TileProduct::qk: // S^T = K Q^T (kv), S = Q K^T (dq)
          line() << "fg::acc_tile<kWarpRows, " << (kv ? "kTileQ" : "kTileK")
                 << "> s_tile;\n";
          line() << "fg::warp::zero(s_tile);\n";
          line() << (kv ? "fg::warp::mma_ABt(s_tile, sK, wrow0, sQ.stage("
                        : "fg::warp::mma_ABt(s_tile, sQ, wrow0, sK.stage(")
                 << stage << "), 0);\n";
          return success();
        case TileProduct::dov: // dP^T = V dO^T (kv), dP = dO V^T (dq)
          line() << "fg::acc_tile<kWarpRows, " << (kv ? "kTileQ" : "kTileK")
                 << "> dp_tile;\n";
          line() << "fg::warp::zero(dp_tile);\n";
          line() << (kv ? "fg::warp::mma_ABt(dp_tile, sV, wrow0, sdO.stage("
                        : "fg::warp::mma_ABt(dp_tile, sdO, wrow0, sV.stage(")
                 << stage << "), 0);\n";
          return success();
        case TileProduct::ptdo: // dV += P^T dO
          line() << "{\n";
          line() << "  fg::a_tile<Elem, kWarpRows, kTileQ> pt;\n";
          line() << "  fg::warp::convert(pt, s_tile);\n";
          line() << "  fg::warp::mma_rAB(acc_dv, pt, sdO.stage(" << stage
                 << "), 0, 0);\n";
          line() << "}\n";
          return success();
        case TileProduct::dstq: // dK += dS^T Q
          line() << "{\n";
          line() << "  fg::a_tile<Elem, kWarpRows, kTileQ> dst;\n";
          line() << "  fg::warp::convert(dst, dp_tile);\n";
          line() << "  fg::warp::mma_rAB(acc_dk, dst, sQ.stage(" << stage
                 << "), 0, 0);\n";
          line() << "}\n";
          return success();
        case TileProduct::dsk:
          if (kv) {
            // dQ = dS K from the staged dS^T, this warp's query rows, in
            // column slices of kDqCols: a slice's f32 tile is live while
            // dK and dV are, so a whole D-wide one would spill. The slice
            // loop closes after the flash.accum_add that follows (verified).
            line() << "FG_UNROLL\n";
            line() << "for (int dq_c = wdq0; dq_c < wdq0 + kDqWarpCols; dq_c += kDqCols) {\n";
            ++indent;
            line() << "fg::acc_tile<kWarpQRows, kDqCols> dq_tile;\n";
            line() << "fg::warp::zero(dq_tile);\n";
            line() << "fg::warp::mma_AtB<kTileK>(dq_tile, sdS, 0, wq0, sK, 0, dq_c);\n";
            return success();
          }
          line() << "{\n"; // dQ += dS K
          line() << "  fg::a_tile<Elem, kWarpRows, kTileK> ds;\n";
          line() << "  fg::warp::convert(ds, dp_tile);\n";
          line() << "  fg::warp::mma_rAB(acc_dq, ds, sK.stage(" << stage
                 << "), 0, 0);\n";
          line() << "}\n";
          return success();
        default:
          return mma.emitOpError() << "has no printing in a "
                                   << stringifyKernelFamily(family) << " kernel";
        }
      })
      .Case<ScoreSaveOp>([&](auto) {
        // score_grad reads the raw scores; bf16 copies keep the kernel in
        // registers (dS is rounded to the element type anyway).
        line() << "fg::packed_tile<kWarpRows, " << (kvKernel() ? "kTileQ" : "kTileK")
               << "> s_raw;\n";
        line() << "fg::warp::pack(s_raw, s_tile);\n";
        return success();
      })
      .Case<ScoreMapOp>([&](ScoreMapOp map) { return printScoreMap(map); })
      .Case<GradRowsStagedOp>([&](GradRowsStagedOp rows) {
        line() << "const fg::warp::smem_cols<kTileQ> lse_v{reinterpret_cast<const float*>("
                  "fg::ptx::dynamic_smem() + kSmemRows + ("
               << name(rows.getStage()) << ") * kRowsBytes)};\n";
        if (scoreGradients)
          line() << "const fg::warp::smem_cols<kTileQ> delta_v{lse_v.p + kTileQ};\n";
        return success();
      })
      .Case<GradRowsOp>([&](GradRowsOp rows) {
        if (rows.getStage()) {
          // Into the ring stage's lse and D columns: lse at its start, D
          // kTileQ floats further.
          std::string at = "kSmemRows + (" + name(rows.getStage()) + ") * kRowsBytes";
          std::string row0 = "((" + name(rows.getRowTile()) + ") * kTileQ)";
          std::string valid = name(rows.getExtent()) + " - " + row0;
          line() << "fg::cta::load_cols_async<kThreads, kTileQ>(smem + " << at << ", "
                 << base(TensorRole::lse, rows.getBatch(), rows.getHead())
                 << " + (long long)" << row0 << " * lse_s2, lse_s2, " << valid
                 << ", fg::pos_inf());\n";
          line() << "fg::cta::load_cols_async<kThreads, kTileQ>(smem + " << at
                 << " + kTileQ * 4, "
                 << base(TensorRole::delta, rows.getBatch(), rows.getHead())
                 << " + (long long)" << row0 << " * delta_s2, delta_s2, " << valid
                 << ", 0.0f);\n";
          return success();
        }
        std::string row0 = kvKernel()
                               ? "((" + name(rows.getRowTile()) + ") * kTileQ)"
                               : warpRow(rows.getRowTile(), "kTileQ", "wrow0");
        std::string load = kvKernel() ? "fg::warp::load_cols(" : "fg::warp::load_rows(";
        std::string valid = name(rows.getExtent()) + " - " + row0;
        line() << load << "lse_v, "
               << base(TensorRole::lse, rows.getBatch(), rows.getHead())
               << " + (long long)" << row0 << " * lse_s2, lse_s2, " << valid
               << ", fg::pos_inf());\n";
        line() << load << "delta_v, "
               << base(TensorRole::delta, rows.getBatch(), rows.getHead())
               << " + (long long)" << row0 << " * delta_s2, delta_s2, " << valid
               << ", 0.0f);\n";
        return success();
      })
      .Case<GradMmaWaitOp>([&](GradMmaWaitOp wait) {
        line() << "fg::ptx::wgmma_wait<" << wait.getPending() << ">();\n";
        SmallVector<StringRef> fenced;
        if (wait.getScore())
          fenced.push_back("s_tile");
        if (wait.getDscore())
          fenced.push_back("dp_tile");
        if (wait.getAccumulators())
          for (const std::string &acc : accumulators)
            fenced.push_back(acc);
        for (StringRef acc : fenced)
          line() << "fg::wg::reg_fence(" << acc << ");\n";
        return success();
      })
      .Case<GradProbabilitiesOp>([&](auto) {
        line() << "fg::warp::grad_probabilities(s_tile, lse_v, kSoftmaxScale);\n";
        return success();
      })
      .Case<GradScoresOp>([&](GradScoresOp scores) { return printGradScores(scores); })
      .Case<GradInitOp>([&](auto) {
        for (const std::string &acc : accumulators)
          line() << "fg::warp::zero(" << acc << ");\n";
        return success();
      })
      .Case<ScoresStageOp>([&](auto) {
        line() << (wgmma ? "fg::wg::store_acc(sdS, wrow0, dp_tile);\n"
                         : "fg::warp::store(sdS, wrow0, 0, dp_tile);\n");
        return success();
      })
      .Case<AccumAddOp>([&](AccumAddOp add) {
        std::string row0 = warpRow(add.getRowTile(), "kTileQ", "wq0");
        std::string accum = base(TensorRole::dq_accum, add.getBatch(), add.getHead());
        std::string valid = name(add.getExtent()) + " - " + row0;
        if (dqBlocked)
          line() << "fg::warp::reduce_add_block(" << accum
                 << " + (long long)(dq_c / fg::kDqBlockCols) * dq_accum_s2 + (long long)"
                 << row0 << " * dq_accum_s3, " << valid
                 << ", dq_tile, smem + kSmemDQ + (int(threadIdx.x) / 32) * kDqStageBytes);\n";
        else
          line() << "fg::warp::atomic_add_rows(" << accum << " + (long long)" << row0
                 << " * dq_accum_s2 + dq_c, dq_accum_s2, " << valid << ", dq_tile);\n";
        --indent;
        line() << "}\n";
        return success();
      })
      .Case<AccumFlushOp>([&](auto) {
        line() << "fg::ptx::bulk_wait<0>();\n";
        return success();
      })
      .Case<GradStoreOp>([&](GradStoreOp store) {
        const GradParam &p = gradParam(store.getTensor());
        std::string acc = std::string("acc_") + p.cName;
        std::string row0 = warpRow(store.getRowTile(),
                                   kvKernel() ? "kTileK" : "kTileQ", "wrow0");
        double factor = store.getScale().convertToDouble();
        if (factor != 1.0)
          line() << "fg::warp::mul(" << acc << ", " << acc << ", "
                 << floatLiteral(factor) << ");\n";
        line() << "fg::warp::store_rows_direct("
               << base(store.getTensor(), store.getBatch(), store.getHead())
               << " + (long long)" << row0 << " * " << p.cName << "_s2, "
               << p.cName << "_s2, " << name(store.getExtent()) << " - " << row0
               << ", " << acc << ");\n";
        return success();
      })
      .Case<RowDeltaOp>([&](RowDeltaOp delta) {
        std::string row0 = warpRow(delta.getRowTile(), "kTileQ", "wrow0");
        auto at = [&](TensorRole role) {
          std::string c = gradParam(role).cName;
          return base(role, delta.getBatch(), delta.getHead()) +
                 " + (long long)" + row0 + " * " + c + "_s2, " + c + "_s2";
        };
        line() << "fg::warp::delta_rows<Elem, kValueDim>(" << at(TensorRole::delta)
               << ", " << at(TensorRole::dout) << ", " << at(TensorRole::o)
               << ", kWarpRows, " << name(delta.getExtent()) << " - " << row0
               << ");\n";
        return success();
      })
      .Case<AccumClearOp>([&](AccumClearOp clear) {
        std::string row0 = warpRow(clear.getRowTile(), "kTileQ", "wrow0");
        line() << (dqBlocked ? "fg::warp::dq_block_zero_rows<kHeadDim>("
                             : "fg::warp::zero_rows<kHeadDim>(")
               << accumRows(clear.getBatch(), clear.getHead(), row0) << ", kWarpRows, "
               << name(clear.getExtent()) << " - " << row0 << ");\n";
        return success();
      })
      .Case<AccumConvertOp>([&](AccumConvertOp convert) {
        std::string row0 = warpRow(convert.getRowTile(), "kTileQ", "wrow0");
        line() << (dqBlocked ? "fg::warp::dq_block_scale_rows_to<Elem, kHeadDim>("
                             : "fg::warp::scale_rows_to<Elem, kHeadDim>(")
               << base(TensorRole::dq, convert.getBatch(), convert.getHead())
               << " + (long long)" << row0 << " * dq_s2, dq_s2, "
               << accumRows(convert.getBatch(), convert.getHead(), row0) << ", "
               << floatLiteral(convert.getScale().convertToDouble())
               << ", kWarpRows, " << name(convert.getExtent()) << " - " << row0
               << ");\n";
        return success();
      })
      .Default([&](Operation *other) {
        return other->emitOpError()
               << "has no CUDA printing in a "
               << stringifyKernelFamily(family) << " kernel";
      });
}

std::string AttentionGradPrinter::signature() {
  ParameterList sep;
  // TMA ring copies: the ring tensors' maps (kv: Q, dO; dq: K, V), boxes
  // of a ring tile's rows (all zero when the runtime cannot encode them);
  // first, as the forward's, each 64-byte aligned in the parameter bank.
  if (tmaRing) {
    ScheduleAttr s = kernel.getSchedule();
    std::array<TensorRole, 2> ring = *gradRingTensors(family);
    for (TensorRole role : ring) {
      sep() << "const __grid_constant__ fg::tensor_map tm_" << gradParam(role).cName;
      result.arguments.push_back({KernelArgument::Kind::TensorMap, gradParam(role).manifestName,
                                  kvKernel() ? s.getTileQ() : s.getTileKv()});
    }
  }
  for (TensorRole role : params()) {
    const GradParam &p = gradParam(role);
    sep() << (p.output ? "" : "const ")
          << (p.f32 ? std::string("float")
                    : kernel.getSymName().str() + "_k::Elem")
          << "* __restrict__ " << p.cName;
    int rank = p.rank + (role == TensorRole::dq_accum && dqBlocked ? 1 : 0);
    for (int d = 0; d < rank; ++d)
      sep() << "long long " << p.cName << "_s" << d;
    // Rotary embedding: q and k are read from their rotated copies.
    if ((role == TensorRole::q || role == TensorRole::k) && readsRotatedInputs(kernel))
      result.arguments.push_back({KernelArgument::Kind::Scratch, rotatedCopyScratch(role)});
    else
      result.arguments.push_back({KernelArgument::Kind::Tensor, p.manifestName});
  }
  printExtraParameters(sep);
  printDimParameters(sep);
  return sep.text();
}

std::string AttentionGradPrinter::header() {
  ScheduleAttr s = kernel.getSchedule();
  int64_t headDim = problemInt("head_dim"), valueDim = problemInt("value_dim");
  int64_t e = elementType().getIntOrFloatBitWidth() / 8;
  int64_t tileQ = s.getTileQ(), tileKv = s.getTileKv(), stages = s.getStages();
  // The shared-memory plan's size comes from the schedule library, the
  // one source the scheduler's constraints also read.
  sched::AttentionProblem problem;
  problem.headDim = headDim;
  problem.valueDim = valueDim;
  problem.elementBytes = e;
  auto holds = [&](StringRef acc) { return llvm::is_contained(accumulators, acc); };
  sched::GradKernel which = family == KernelFamily::attention_grad_kv
                                ? (!holds("acc_dk")   ? sched::GradKernel::KvDv
                                   : !holds("acc_dv") ? sched::GradKernel::KvDk
                                                      : sched::GradKernel::Kv)
                            : family == KernelFamily::attention_grad_dq
                                ? sched::GradKernel::Dq
                            : family == KernelFamily::attention_grad_prep
                                ? sched::GradKernel::Prep
                                : sched::GradKernel::Convert;
  int64_t smemBytes =
      sched::attentionGradKernelSmemBytes(problem, toLibrary(s), which);
  result.threads = s.getWarps() * 32;
  result.dynamicSmemBytes = smemBytes;

  constexpr double kLog2e = 1.4426950408889634;
  double scoreScale = scale("score_scale");
  // flash3_grad's tiles are wgmma's (1024-byte aligned slabs of 64 columns;
  // every tile's bytes are a multiple of 1024, so the plan keeps them
  // aligned), flash2_grad's swizzled row tiles.
  const char *tile = wgmma ? "wg_tile" : "smem_tile";
  std::string text;
  llvm::raw_string_ostream h(text);
  h << "// Generated by flashgen from flash.kernel @" << kernel.getSymName()
    << " (" << problemString("op") << ", variant " << problemInt("variant")
    << ", " << stringifyKernelFamily(family) << ").\n"
    << "// Schedule: " << s << "\n"
    << "#include \"" << kDeviceUmbrellaHeader << "\"\n"
    << "#include \"" << kDeviceIndexMathHeader << "\"\n";
  if (wgmma)
    h << "#if !defined(FG_HAVE_WGMMA)\n"
      << "#error \"algorithm " << stringifyAlgorithm(s.getAlgorithm())
      << " needs wgmma: compile for sm_90a\"\n"
      << "#endif\n";
  h << "\n"
    << "namespace " << kernel.getSymName() << "_k {\n\n"
    << "using Elem = " << elementTypeName(elementType()) << ";\n"
    // Each family reads its own subset of the tile constants.
    << "[[maybe_unused]] constexpr int kHeadDim = " << headDim << ";\n"
    << "[[maybe_unused]] constexpr int kValueDim = " << valueDim << ";\n"
    << "[[maybe_unused]] constexpr int kTileQ = " << tileQ << ";   // query rows per tile\n"
    << "[[maybe_unused]] constexpr int kTileK = " << tileKv << ";   // key rows per tile\n"
    << "[[maybe_unused]] constexpr int kStages = " << stages << ";\n"
    << "constexpr int kWarps = " << s.getWarps() << ";\n"
    << "[[maybe_unused]] constexpr int kThreads = kWarps * 32;\n";
  switch (family) {
  case KernelFamily::attention_grad_kv:
    h << "constexpr int kWarpRows = kTileK / kWarps;   // key rows of S^T, dK, dV per warp\n";
    if (wgmma)
      // dQ = dS K (tile_q x D) on wgmma: 64-row blocks of query rows, the
      // warpgroups of a block over D's columns (the schedule library's
      // dqWarpgroupShare).
      h << "[[maybe_unused]] constexpr int kDqRowBlocks = kTileQ / 64;  // 64-row wgmma tiles of dQ\n"
        << "[[maybe_unused]] constexpr int kDqColSplit = kWarps / 4 / kDqRowBlocks;  // warpgroups per block\n"
        << "[[maybe_unused]] constexpr int kDqWgCols = kHeadDim / kDqColSplit;  // a warpgroup's dQ columns\n"
        << "[[maybe_unused]] constexpr int kDqCols = kDqWgCols < 64 ? kDqWgCols : 64;  // per slice\n"
        << "using DSTile = fg::wg_tile<Elem, kTileK, kTileQ>;  // dS^T: A of dQ = dS K, read M-major\n";
    else
      // dQ = dS K (tile_q x D) split among the warps: row groups of whole
      // 16-row tiles, the other warps over D's columns (the schedule
      // library's dqWarpShare), computed kDqCols columns at a time.
      h << "[[maybe_unused]] constexpr int kDqRowWarps = kTileQ / 16 < kWarps ? kTileQ / 16 : kWarps;\n"
      << "[[maybe_unused]] constexpr int kDqColWarps = kWarps / kDqRowWarps;\n"
      << "[[maybe_unused]] constexpr int kWarpQRows = kTileQ / kDqRowWarps;  // query rows of dQ per warp\n"
      << "[[maybe_unused]] constexpr int kDqWarpCols = kHeadDim / kDqColWarps;  // its columns\n"
        << "[[maybe_unused]] constexpr int kDqCols = kDqWarpCols < 32 ? kDqWarpCols : 32;  // per slice\n"
        << "using DSTile = fg::smem_tile<Elem, kTileK, kTileQ>;  // dS^T for dQ = dS K\n";
    h << "using KTile = fg::" << tile << "<Elem, kTileK, kHeadDim>;\n"
      << "using VTile = fg::" << tile << "<Elem, kTileK, kValueDim>;\n"
      << "using QRing = fg::smem_ring<fg::" << tile << "<Elem, kTileQ, kHeadDim>, kStages>;\n"
      << "using DORing = fg::smem_ring<fg::" << tile << "<Elem, kTileQ, kValueDim>, kStages>;\n"
      << "constexpr int kSmemK = 0;\n"
      << "constexpr int kSmemV = kSmemK + KTile::kBytes;\n"
      << "constexpr int kSmemQ = kSmemV + VTile::kBytes;\n"
      << "constexpr int kSmemDO = kSmemQ + QRing::kBytes;\n"
      << "constexpr int kSmemDS = kSmemDO + DORing::kBytes;\n"
      ;
    if (wgmma)
      // The ring's lse and D columns (flash.grad_rows ... stage) after the
      // tiles, which keep their 1024-byte alignment.
      h << "constexpr int kSmemRows = kSmemDS + " << (atomicDq ? "DSTile::kBytes" : "0")
        << ";\n"
        << "constexpr int kRowsBytes = 2 * kTileQ * 4;  // a stage's lse and D columns (f32)\n"
        << "constexpr int kSmemDQ = kSmemRows + kStages * kRowsBytes;  // dQ rows staged per warp\n"
        << "constexpr int kDqStageBytes = "
        << (atomicDq ? "fg::kDqBlockRows * fg::kDqBlockCols * 4;  // a warp's block of dQ"
                     : "0;")
        << "\n"
        << "constexpr int kSmemArrivals = kSmemDQ + kWarps * kDqStageBytes;  // fg::ring_arrivals\n"
        << "constexpr int kSmemBytes = kSmemArrivals + 2 * kStages * " << sched::kGradRingArrivalBytes
        << ";\n";
    else
      h << "constexpr int kSmemBytes = kSmemDS + " << (atomicDq ? "DSTile::kBytes" : "0")
        << ";\n";
    h
      << "static_assert(kWarpRows % 16 == 0, \"warps own whole 16-row MMA tiles\");\n";
    if (wgmma)
      h << "static_assert(kDqRowBlocks * kDqColSplit * 4 == kWarps && kDqWgCols % kDqCols == 0 &&\n"
        << "              kDqCols == fg::kDqBlockCols,\n"
        << "              \"the dQ step splits into 64 x 64k wgmma tiles, one per warpgroup\");\n";
    else
      h << "static_assert(kDqRowWarps * kDqColWarps == kWarps && kWarpQRows % 16 == 0 &&\n"
        << "              kDqWarpCols % kDqCols == 0 && kDqCols % 16 == 0,\n"
        << "              \"the dQ step splits into whole 16 x 16 tiles\");\n";
    break;
  case KernelFamily::attention_grad_dq:
    h << "constexpr int kWarpRows = kTileQ / kWarps;   // query rows of S, dQ per warp\n"
      << "using QTile = fg::" << tile << "<Elem, kTileQ, kHeadDim>;\n"
      << "using DOTile = fg::" << tile << "<Elem, kTileQ, kValueDim>;\n"
      << "using KRing = fg::smem_ring<fg::" << tile << "<Elem, kTileK, kHeadDim>, kStages>;\n"
      << "using VRing = fg::smem_ring<fg::" << tile << "<Elem, kTileK, kValueDim>, kStages>;\n"
      << "constexpr int kSmemQ = 0;\n"
      << "constexpr int kSmemDO = kSmemQ + QTile::kBytes;\n"
      << "constexpr int kSmemK = kSmemDO + DOTile::kBytes;\n"
      << "constexpr int kSmemV = kSmemK + KRing::kBytes;\n";
    if (wgmma)
      h << "constexpr int kSmemArrivals = kSmemV + VRing::kBytes;  // fg::ring_arrivals\n"
        << "constexpr int kSmemBytes = kSmemArrivals + 2 * kStages * " << sched::kGradRingArrivalBytes
        << ";\n";
    else
      h << "constexpr int kSmemBytes = kSmemV + VRing::kBytes;\n";
    h << "static_assert(kWarpRows % 16 == 0, \"warps own whole 16-row MMA tiles\");\n";
    break;
  default:
    h << "constexpr int kWarpRows = kTileQ / kWarps;   // query rows per warp\n"
      << "constexpr int kSmemBytes = 0;\n";
    break;
  }
  if (wgmma && family != KernelFamily::attention_grad_prep &&
      family != KernelFamily::attention_grad_convert)
    h << "static_assert(kWarpRows == 16, \"a warp owns 16 of its warpgroup's 64 rows (wgmma M)\");\n";
  h << "static_assert(kSmemBytes == " << smemBytes
    << ", \"shared-memory plan differs from the schedule's\");\n";
  if (scoresModified)
    h << "[[maybe_unused]] constexpr float kScoreScale = " << floatLiteral(scoreScale)
      << ";  // applied before score_mod\n";
  h << "// exp2 of (score * kSoftmaxScale - lse * log2(e)) is the forward's P.\n"
    << "[[maybe_unused]] constexpr float kSoftmaxScale = "
    << floatLiteral((scoresModified ? 1.0 : scoreScale) * kLog2e) << ";\n\n"
    << "} // namespace " << kernel.getSymName() << "_k\n\n";
  return text;
}

void AttentionGradPrinter::printRingArrivals() {
  if (!tmaRing)
    return;
  line() << "const bool fg_tma = fg::tensor_map_valid(tm_"
         << gradParam((*gradRingTensors(family))[0]).cName
         << "); // zero maps: copy with cp.async\n";
  line() << "const fg::ring_arrivals<kStages> arrivals{smem + kSmemArrivals};\n";
  line() << "fg::init(arrivals, fg_tma);\n";
}

FailureOr<EmittedKernel> AttentionGradPrinter::print() {
  family = kernel.getFamily();
  ScheduleAttr s = kernel.getSchedule();
  // A kv kernel adds dQ where its IR does (kv_dv, the dV half of a split
  // one, does not: schedule::gradSplitsKv).
  atomicDq = gradAtomicDq(s.getAlgorithm()) &&
             (!kvKernel() || kernel.walk([](AccumAddOp) {
                                     return WalkResult::interrupt();
                                   }).wasInterrupted());
  wgmma = usesWgmma(s.getAlgorithm());
  dqBlocked = sched::gradDqBlocked(toLibrary(s)) && atomicDq;
  if ((kvKernel() || family == KernelFamily::attention_grad_dq) &&
      s.getStages() < 2)
    return kernel.emitError() << "schedule has " << s.getStages()
                              << " pipeline stage(s); the gradient kernels "
                                 "need at least 2";
  kernel.walk([&](TileLoadOp load) {
    tmaRing |= load.getTma();
    readsValues |= load.getTensor() == TensorRole::v;
  });
  kernel.walk([&](GradScoresOp) { scoreGradients = true; });
  kernel.walk([&](GradStoreOp store) {
    accumulators.push_back(std::string("acc_") + gradParam(store.getTensor()).cName);
  });
  // The maps are the tensors' own: a kernel reading rotated scratch copies
  // of q and k (rotary embedding) keeps cp.async (passes/GradTmaCopies.h),
  // and a wait on TMA arrivals needs the ring's TMA loads.
  if (tmaRing && readsRotatedInputs(kernel))
    return kernel.emitError() << "copies its ring with TMA (flash.tile_load ... tma) but "
                                 "reads rotated copies of q and k, which have no tensor "
                                 "maps; rotary embedding's gradient kernels copy with cp.async";
  WalkResult landed = kernel.walk([&](TileLandedOp op) {
    return tmaRing ? WalkResult::advance() : WalkResult::interrupt();
  });
  if (landed.wasInterrupted())
    return kernel.emitError() << "waits for TMA arrivals (flash.tile_landed) but copies "
                                 "no ring tile with TMA (flash.tile_load ... tma)";
  kernel.walk([&](ScoreMapOp map) {
    auto yield = cast<ScoreYieldOp>(map.getBody().front().getTerminator());
    if (yield.getScore() != map.getBody().front().getArgument(0))
      scoresModified = true;
  });
  result.entry = "flashgen_" + kernel.getSymName().str();
  result.headers = {kDeviceUmbrellaHeader, kDeviceIndexMathHeader};
  std::string params = signature();

  line() << "using namespace " << kernel.getSymName() << "_k;\n";
  line() << "const int wrow0 = (int(threadIdx.x) / 32) * kWarpRows; // this warp's first row\n";
  if (kvKernel() || family == KernelFamily::attention_grad_dq)
    line() << "const fg::u32 smem = fg::ptx::smem_addr(fg::ptx::dynamic_smem());\n";
  if (wgmma && (kvKernel() || family == KernelFamily::attention_grad_dq))
    line() << "const int wgrow0 = (int(threadIdx.x) / 128) * 64; // this warpgroup's first row\n";
  if (kvKernel()) {
    if (atomicDq && wgmma) {
      line() << "const int dq_a0 = (int(threadIdx.x) / 128 / kDqColSplit) * 64; // its warpgroup's dQ rows\n";
      line() << "const int wq0 = dq_a0 + (int(threadIdx.x) / 32 % 4) * 16; // this warp's 16 of them\n";
      line() << "const int wdq0 = (int(threadIdx.x) / 128 % kDqColSplit) * kDqWgCols; // and their columns\n";
    } else if (atomicDq) {
      line() << "const int wq0 = (int(threadIdx.x) / 32 / kDqColWarps) * kWarpQRows; // its dQ rows\n";
      line() << "const int wdq0 = (int(threadIdx.x) / 32 % kDqColWarps) * kDqWarpCols; // and columns\n";
    }
    line() << "const KTile sK{smem + kSmemK};\n";
    if (readsValues)
      line() << "const VTile sV{smem + kSmemV};\n";
    line() << "const QRing sQ{smem + kSmemQ};\n";
    line() << "const DORing sdO{smem + kSmemDO};\n";
    if (atomicDq)
      line() << "const DSTile sdS{smem + kSmemDS};\n";
    printRingArrivals();
    if (llvm::is_contained(accumulators, "acc_dk"))
      line() << "fg::acc_tile<kWarpRows, kHeadDim> acc_dk;\n";
    if (llvm::is_contained(accumulators, "acc_dv"))
      line() << "fg::acc_tile<kWarpRows, kValueDim> acc_dv;\n";
    if (!wgmma)
      line() << "fg::col_vec<kTileQ> lse_v, delta_v;  // per query column\n";
  } else if (family == KernelFamily::attention_grad_dq) {
    line() << "const QTile sQ{smem + kSmemQ};\n";
    line() << "const DOTile sdO{smem + kSmemDO};\n";
    line() << "const KRing sK{smem + kSmemK};\n";
    line() << "const VRing sV{smem + kSmemV};\n";
    printRingArrivals();
    line() << "fg::acc_tile<kWarpRows, kHeadDim> acc_dq;\n";
    line() << "fg::row_vec<kWarpRows> lse_v, delta_v;\n";
  }
  if (failed(printBlock(kernel.getBody().front())))
    return failure();

  std::string constants = header();
  const sched::Target &t = portableTarget();
  int64_t bySmem = t.smemPerSM / (result.dynamicSmemBytes + t.smemReservedPerCTA);
  int64_t byRegisters = 65536 / (result.threads * kRegistersNeeded);
  int64_t minBlocks = std::max<int64_t>(1, std::min(bySmem, byRegisters));
  result.source = constants + kernelDefinition(std::to_string(result.threads) + ", " +
                                                   std::to_string(minBlocks),
                                               result.entry, params, body);
  return result;
}

} // namespace

FailureOr<EmittedKernel> mlir::flash::emitAttentionGradKernel(KernelOp kernel) {
  return AttentionGradPrinter(kernel).print();
}
