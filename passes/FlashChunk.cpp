//===- Chunk.cpp - flash-chunk: recurrences to chunkwise kernels ----------===//
//
// For every flash.linear_attention: takes the schedule flash-schedule chose
// (`flash.schedule`) and its ranked candidates (`flash.candidates`), or a
// default chunk_fused schedule when there is none yet, checks each against
// what the chunkwise kernels support and what fits on the target, and
// builds their flash.kernel ops (LowerLinearKernels.cpp). The op gets
// `flash.kernels`, the variants' kernels in order.
//
//===----------------------------------------------------------------------===//

#include "schedule/ChunkLayout.h"
#include "passes/LowerChunkwise.h"
#include "passes/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

#include "llvm/Support/raw_ostream.h"

namespace mlir::flash {
#define GEN_PASS_DEF_FLASHCHUNK
#include "passes/Passes.h.inc"
} // namespace mlir::flash

#define DEBUG_TYPE "flash-chunk"

using namespace mlir;
using namespace mlir::flash;

namespace {

bool isPowerOfTwo(int64_t x) { return x > 0 && (x & (x - 1)) == 0; }

ChunkShape chunkShape(const LinearKernelPlan &plan, ScheduleAttr s,
                      bool queries) {
  ChunkShape shape;
  shape.elementBytes =
      plan.op.getQ().getType().getElementType().getIntOrFloatBitWidth() / 8;
  shape.keyDim = plan.keyDim;
  shape.tileDv = s.getTileDv();
  shape.chunk = s.getChunk();
  shape.innerQ = s.getInnerQ();
  shape.innerKv = s.getInnerKv();
  // The output kernel of the two-pass form handles one chunk per CTA.
  shape.stages = s.getAlgorithm() == Algorithm::chunk_two_pass && queries
                     ? 1
                     : s.getStages();
  shape.warps = s.getWarps();
  shape.vectorGate = plan.gate == GateKind::vector;
  shape.scalarGates = plan.gate == GateKind::decay ||
                      plan.gate == GateKind::mlstm_exp ||
                      plan.gate == GateKind::mlstm_sig;
  shape.normalizer =
      plan.gate == GateKind::mlstm_exp || plan.gate == GateKind::mlstm_sig;
  shape.stabilizer = plan.gate == GateKind::mlstm_exp;
  shape.queries = queries;
  return shape;
}

/// The schedule flash-chunk uses when flash-schedule chose none: chunks of
/// 64 (the fla / TFLA default), 64-row inner query tiles, a state slice of
/// at most 64 f32 registers per thread over 4 warps, double-buffered chunks.
/// Key dims above 128 and mlstm_exp halve the inner key tile: their score
/// tiles cost more registers (ChunkLayout.h).
ScheduleAttr defaultSchedule(MLIRContext *ctx, const LinearKernelPlan &plan,
                             const std::string &target,
                             const std::string &algorithmName) {
  int64_t tileDv = plan.keyDim > 128 ? 32 : 64;
  while (tileDv > 16 && plan.valueDim % tileDv != 0)
    tileDv /= 2;
  int64_t innerKv =
      plan.keyDim > 128 || plan.gate == GateKind::mlstm_exp ? 32 : 64;
  Algorithm algorithm = algorithmName == "chunk_two_pass"
                            ? Algorithm::chunk_two_pass
                            : Algorithm::chunk_fused;
  ScheduleAttr s = ScheduleAttr::get(ctx, algorithm, /*tile_q=*/0,
                                     /*tile_kv=*/0, /*tile_d=*/0, /*stages=*/2,
                                     /*warps=*/4, /*chunk=*/64, /*inner_q=*/64,
                                     innerKv, tileDv, /*smem_bytes=*/0,
                                     /*persistent=*/0);
  // The largest kernel of the schedule decides what fits.
  auto smemOf = [&](ScheduleAttr candidate) {
    int64_t bytes = chunkSmemPlan(chunkShape(plan, candidate, true)).total;
    if (algorithmName == "chunk_two_pass")
      bytes = std::max(bytes,
                       chunkSmemPlan(chunkShape(plan, candidate, false)).total);
    return bytes;
  };
  auto withStages = [&](int64_t stages, int64_t smem) {
    return ScheduleAttr::get(ctx, algorithm, 0, 0, 0, stages, 4, 64, 64,
                             innerKv, tileDv, smem, /*persistent=*/0);
  };
  // A target with less shared memory gets one stage (no overlap of the
  // next chunk's loads, but it runs).
  int64_t stages = 2;
  int64_t limit = targetSmemLimit(target);
  if (limit && smemOf(s) > limit)
    stages = 1;
  return withStages(stages, smemOf(withStages(stages, 0)));
}

/// Why the chunkwise kernels cannot run `s`, or "" when they can.
std::string checkSchedule(const LinearKernelPlan &plan, ScheduleAttr s,
                          const std::string &target) {
  std::string why;
  llvm::raw_string_ostream os(why);
  Algorithm algorithm = s.getAlgorithm();
  int64_t L = s.getChunk(), innerQ = s.getInnerQ(), innerKv = s.getInnerKv(),
          tileDv = s.getTileDv(), warps = s.getWarps(), stages = s.getStages();
  Type elem = plan.op.getQ().getType().getElementType();
  if (algorithm != Algorithm::chunk_fused &&
      algorithm != Algorithm::chunk_two_pass)
    os << "algorithm '" << stringifyAlgorithm(algorithm)
       << "' is not a recurrence schedule (chunk_fused, chunk_two_pass)";
  else if (!elem.isBF16() && !elem.isF16())
    os << "element type " << elem
       << " has no tensor-core path (the chunkwise kernels take bf16 or f16)";
  else if (warps < 1 || !isPowerOfTwo(warps) || warps > 16)
    os << "warps = " << warps << " (a power of two, 1 to 16)";
  else if (stages < 1 || stages > 2)
    os << "stages = " << stages << " (1 or 2 chunks in flight)";
  else if (L < 16 || L % 16 != 0)
    os << "chunk = " << L << " (a multiple of 16, the MMA tile)";
  else if (innerQ < 16 * warps || innerQ % (16 * warps) != 0 || L % innerQ != 0)
    os << "inner_q = " << innerQ << " must split into 16-row tiles over "
       << warps << " warps and divide chunk = " << L;
  else if (innerKv < 16 || innerKv % 16 != 0 || L % innerKv != 0)
    os << "inner_kv = " << innerKv
       << " must be a multiple of 16 that divides chunk = " << L;
  else if (tileDv < 16 || !isPowerOfTwo(tileDv) || plan.valueDim % tileDv != 0)
    os << "tile_dv = " << tileDv
       << " must be a power of two >= 16 that divides Dv = " << plan.valueDim;
  else if (!isPowerOfTwo(plan.keyDim) || plan.keyDim < 16 * warps)
    os << "Dk = " << plan.keyDim
       << " must be a power of two with 16 state rows per warp (" << warps
       << " warps)";
  if (!why.empty())
    return why;

  bool twoPass = algorithm == Algorithm::chunk_two_pass;
  for (bool queries : {true, false}) {
    if (!queries && !twoPass)
      continue;
    ChunkShape shape = chunkShape(plan, s, queries);
    int64_t smem = chunkSmemPlan(shape).total;
    int64_t limit = targetSmemLimit(target);
    if (limit && smem > limit) {
      os << "needs " << smem << " bytes of shared memory, " << target
         << " allows " << limit;
      return why;
    }
    int64_t registers = chunkRegisterEstimate(shape);
    if (registers > 255) {
      os << "needs about " << registers
         << " registers per thread (state slice " << plan.keyDim << " x "
         << tileDv << " over " << warps << " warps): more than 255";
      return why;
    }
  }
  return why;
}

struct FlashChunk : public mlir::flash::impl::FlashChunkBase<FlashChunk> {
  using FlashChunkBase::FlashChunkBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    OpBuilder b(module.getContext());
    bool failedAny = false;

    module.walk([&](LinearAttentionOp op) {
      LinearKernelPlan plan;
      plan.op = op;
      plan.gate = op.getGate();
      plan.heads = op.getQ().getType().getDimSize(1);
      plan.keyDim = op.getQ().getType().getDimSize(3);
      plan.valueDim = op.getV().getType().getDimSize(3);
      plan.initialState = !op.getInitialState().empty();
      plan.finalState = op.getReturnFinalState();
      auto func = op->getParentOfType<FunctionOpInterface>();
      plan.opName = func ? func.getName().str() : "linear_attention";

      for (Value gateValue : op.getGates())
        if (Type elem = cast<RankedTensorType>(gateValue.getType()).getElementType();
            !elem.isF32()) {
          op.emitError() << "gate operand has element type " << elem
                         << "; the chunkwise kernels read f32 gates";
          failedAny = true;
          return;
        }

      SmallVector<ScheduleAttr> schedules;
      if (auto chosen = op->getAttrOfType<ScheduleAttr>("flash.schedule")) {
        schedules.push_back(chosen);
        if (auto candidates = op->getAttrOfType<ArrayAttr>("flash.candidates"))
          for (Attribute attr : candidates)
            if (auto candidate = dyn_cast<ScheduleAttr>(attr))
              if (candidate != chosen)
                schedules.push_back(candidate);
      } else {
        if (defaultAlgorithm != "chunk_fused" &&
            defaultAlgorithm != "chunk_two_pass") {
          op.emitError() << "flash-chunk: default-algorithm '"
                         << defaultAlgorithm
                         << "' is not chunk_fused or chunk_two_pass";
          failedAny = true;
          return;
        }
        ScheduleAttr fallback =
            defaultSchedule(op.getContext(), plan, target, defaultAlgorithm);
        op.emitRemark() << "no flash.schedule (flash-schedule did not run "
                           "on it): using the default "
                        << fallback;
        op->setAttr("flash.schedule", fallback);
        schedules.push_back(fallback);
      }

      SmallVector<Attribute> kernelRefs;
      int64_t variant = 0;
      for (auto [index, schedule] : llvm::enumerate(schedules)) {
        std::string why = checkSchedule(plan, schedule, target);
        if (!why.empty()) {
          if (index == 0) {
            op.emitError() << "cannot lower schedule " << schedule << ": "
                           << why;
            failedAny = true;
            return;
          }
          // A candidate the kernels cannot run is dropped, not fatal.
          op.emitWarning() << "dropping candidate schedule " << schedule
                           << ": " << why;
          continue;
        }
        plan.schedule = schedule;
        b.setInsertionPointToEnd(module.getBody());
        SmallVector<KernelOp> kernels;
        buildLinearKernels(b, plan, variant, kernels);
        for (KernelOp kernel : kernels) {
          symbols.insert(kernel); // renames on a clash
          kernelRefs.push_back(FlatSymbolRefAttr::get(kernel.getSymNameAttr()));
        }
        ++variant;
      }
      op->setAttr("flash.kernels", b.getArrayAttr(kernelRefs));
    });
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
