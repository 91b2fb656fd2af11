//===- StepEmitter.cpp - CUDA for the recurrent step kernels --------------===//
//
// Prints `flash.kernel` ops of family `recurrent_step` (built by
// flash-lower-kernels for a recurrent_step schedule of flash.linear_attention
// or flash.delta_rule): the thread layout and shared-memory plan of
// schedule/StepLayout.h, the state slice in registers, and each step op as
// calls into codegen/device/recurrence/step.cuh. The flash.step_gates
// region is printed inline, run by warp 0 on the token's raw gates; loops
// and index arithmetic come from ScalarPrinter.
//
// Per token the kernel keeps in shared memory (f32): q~ (scaled, and for
// `vector` gated per key dim), k, the value tile, per-key-dim decays, the
// normaliser n, and the scalars below; H (the output numerator) and w
// (each column's write) live in registers between step_update and
// step_store.
//
//===----------------------------------------------------------------------===//

#include "codegen/KernelFamilies.h"
#include "codegen/ScalarPrinter.h"
#include "codegen/recurrence/RecurrenceParams.h"
#include "schedule/StepLayout.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::flash;

namespace {

constexpr const char *kStepHeader = "flashgen/device/recurrence/step.cuh";

/// Slots of the token's scalars (kStepScalars of them).
enum StepScalar {
  kDecay,     ///< exp(lambda) (stabilised for mlstm_exp); the delta rule's alpha
  kInput,     ///< b, the input weight
  kStabilizer,///< m after the token (mlstm_exp)
  kKeyQuery,  ///< k . q~
  kNormQuery, ///< n' . q~ (normaliser kinds)
  kBeta,      ///< the delta rule's beta
  kRaw0,      ///< raw scalar gates (up to two)
  kRaw1,
};

class StepKernelPrinter : public ScalarPrinter {
public:
  using ScalarPrinter::ScalarPrinter;
  FailureOr<EmittedKernel> print();

private:
  GateKind gate = GateKind::none;
  bool vectorGate = false, scalarGates = false, normalizer = false,
       stabilizer = false, delta = false, l2normQk = false;
  unsigned rawGates = 0;
  flashgen::schedule::StepShape shape;
  flashgen::schedule::StepSmemPlan plan;

  LogicalResult printKernelOp(Operation *op) override;
  LogicalResult printStateInit(StateInitOp op);
  LogicalResult printStateStore(StateStoreOp op);
  LogicalResult printLoad(StepLoadOp op);
  LogicalResult printGates(StepGatesOp op);
  LogicalResult printUpdate(StepUpdateOp op);
  LogicalResult printStore(StepStoreOp op);

  std::string base(StringRef tensor, Value batch, Value head) {
    return batchHeadBase(tensor, name(batch), name(head));
  }
  std::string scalar(StepScalar slot) {
    return "s_scalars[" + std::to_string(int(slot)) + "]";
  }
  std::string gateTensor(unsigned i) { return rawGateTensorName(gate, i); }
  std::string signature();
  std::string header();
};

LogicalResult StepKernelPrinter::printStateInit(StateInitOp op) {
  std::string slice = base("c0", op.getBatch(), op.getHead()) + " + (long long)(" +
                      name(op.getColTile()) + ") * kTileDv";
  std::string b = name(op.getBatch()), h = name(op.getHead());
  bool initial = op.getSource() == StateSource::initial;
  // A null initial state means zeros (the params are optional).
  if (initial)
    line() << "if (c0 != nullptr) fg::step::load(st, " << slice << ", c0_s2);\n"
           << std::string(2 * indent, ' ') << "else fg::step::zero(st);\n";
  else
    line() << "fg::step::zero(st);\n";
  if (normalizer) {
    std::string n0 = initial ? "n0 == nullptr ? 0.0f : n0[(long long)(" + b +
                                   ") * n0_s0 + (long long)(" + h +
                                   ") * n0_s1 + (long long)d * n0_s2]"
                             : "0.0f";
    line() << "for (int d = int(threadIdx.x); d < kKeyDim; d += kThreads) s_norm[d] = "
           << n0 << ";\n";
  }
  std::string m0 = initial && stabilizer ? "m0 == nullptr ? 0.0f : m0[(long long)(" + b +
                                               ") * m0_s0 + (long long)(" + h + ") * m0_s1]"
                                         : "0.0f";
  line() << "if (threadIdx.x == 0) " << scalar(kStabilizer) << " = " << m0 << ";\n";
  return success();
}

LogicalResult StepKernelPrinter::printStateStore(StateStoreOp op) {
  // The verifier allows the final state only in this family.
  std::string vt = name(op.getColTile());
  line() << "if (cf != nullptr) fg::step::store(" << base("cf", op.getBatch(), op.getHead())
         << " + (long long)(" << vt << ") * kTileDv, cf_s2, st);\n";
  // n and m are the same in every value tile: tile 0 writes them. With no
  // token, state_init's threads wrote them: wait for every one.
  if (normalizer || stabilizer)
    line() << "fg::cta::sync();\n";
  if (normalizer)
    line() << "if (nf != nullptr && (" << vt
           << ") == 0) for (int d = int(threadIdx.x); d < kKeyDim; d += kThreads) "
           << base("nf", op.getBatch(), op.getHead()) << "[(long long)d * nf_s2] = s_norm[d];\n";
  if (stabilizer)
    line() << "if (mf != nullptr && (" << vt << ") == 0 && threadIdx.x == 0) *"
           << base("mf", op.getBatch(), op.getHead()) << " = " << scalar(kStabilizer) << ";\n";
  return success();
}

LogicalResult StepKernelPrinter::printLoad(StepLoadOp op) {
  std::string t = name(op.getStep());
  // Issues the loads of token `tok`'s rows into the prefetch registers.
  auto fetch = [&](const std::string &tok) {
    auto row = [&](StringRef tensor) {
      return base(tensor, op.getBatch(), op.getHead()) + " + (long long)(" + tok + ") * " +
             tensor.str() + "_s2";
    };
    line() << "pf_q.fetch(" << row("q") << ");\n";
    line() << "pf_k.fetch(" << row("k") << ");\n";
    line() << "pf_v.fetch(" << row("v") << " + (long long)(" << name(op.getColTile())
           << ") * kTileDv);\n";
    if (vectorGate)
      line() << "pf_g.fetch(" << row("g") << ");\n";
    for (unsigned i = 0; i < rawGates; ++i)
      line() << "pf_raw" << i << ".fetch(" << row(gateTensor(i)) << ");\n";
    if (delta)
      line() << "pf_beta.fetch(" << row("beta") << ");\n";
  };
  line() << "if ((" << t << ") == 0) {  // the first token's rows\n";
  ++indent;
  fetch(t);
  --indent;
  line() << "}\n";
  // Every thread is past the previous token's reads of the buffers.
  line() << "fg::cta::sync();\n";
  if (op.getFeatureMap().empty()) {
    line() << "pf_q.commit(s_q);\n";
    line() << "pf_k.commit(s_k);\n";
  } else {
    // q's and k's elements through the feature map (docs/semantics.md
    // §3.7): i the token's position, j the column.
    Block &block = op.getFeatureMap().front();
    for (const char *row : {"q", "k"}) {
      line() << "pf_" << row << ".commit(s_" << row << ", [&](float x, int j) -> float {\n";
      ++indent;
      line() << "const int i = (int)(" << t << ");\n";
      line() << "(void)i;\n";
      if (failed(printElementRegion(block, "x", op.getBatch(), op.getHead())))
        return failure();
      line() << "return " << name(cast<YieldOp>(block.getTerminator()).getValue()) << ";\n";
      --indent;
      line() << "});\n";
    }
  }
  line() << "pf_v.commit(s_v);\n";
  if (vectorGate)
    line() << "pf_g.commit(s_decay);\n";
  for (unsigned i = 0; i < rawGates; ++i)
    line() << "pf_raw" << i << ".commit(&" << scalar(StepScalar(kRaw0 + i)) << ");\n";
  if (delta)
    line() << "pf_beta.commit(&" << scalar(kBeta) << ");\n";
  line() << "if ((" << t << ") + 1 < " << name(op.getExtent())
         << ") {  // the next token's rows, in flight behind this one\n";
  ++indent;
  fetch("(" + t + ") + 1");
  --indent;
  line() << "}\n";
  line() << "fg::cta::sync();\n";
  return success();
}

LogicalResult StepKernelPrinter::printGates(StepGatesOp op) {
  Block &block = op.getBody().front();
  auto yield = cast<GateYieldOp>(block.getTerminator());
  line() << "if (warp == 0) {\n";
  ++indent;
  line() << "const int lane = int(threadIdx.x) % 32;\n";
  if (delta && l2normQk) {
    // q^ = q / sqrt(|q|^2 + 1e-6), k^ likewise (docs/semantics.md §7.1).
    line() << "const float inv_q = 1.0f / sqrtf(fg::step::warp_dot(s_q, s_q, kKeyDim) + 1e-6f);\n";
    line() << "const float inv_k = 1.0f / sqrtf(fg::step::warp_dot(s_k, s_k, kKeyDim) + 1e-6f);\n";
    line() << "for (int d = lane; d < kKeyDim; d += 32) { s_q[d] *= inv_q * kScale; "
              "s_k[d] *= inv_k; }\n";
  } else {
    line() << "for (int d = lane; d < kKeyDim; d += 32) s_q[d] *= kScale;  // q~\n";
  }
  line() << "fg::ptx::warp_sync();\n";
  line() << "const float kq = fg::step::warp_dot(s_k, s_q, kKeyDim);  // k . q~\n";
  if (vectorGate) {
    // Per key dim: decay_d = exp(lambda(g_d)); the dots read decay (.) q~.
    line() << "for (int d = lane; d < kKeyDim; d += 32) {\n";
    ++indent;
    line() << "const float a0 = s_decay[d];\n";
    names[block.getArgument(0)] = "a0";
    if (failed(printRegionOps(block)))
      return failure();
    line() << "s_decay[d] = expf(" << name(yield.getLogForget()) << ");\n";
    line() << "s_q[d] *= s_decay[d];\n";
    --indent;
    line() << "}\n";
    line() << "if (lane == 0) { " << scalar(kInput) << " = 1.0f; " << scalar(kKeyQuery)
           << " = kq; }\n";
  } else {
    for (auto [i, arg] : llvm::enumerate(block.getArguments())) {
      std::string raw = "a" + std::to_string(i);
      line() << "const float " << raw << " = " << scalar(StepScalar(kRaw0 + i)) << ";\n";
      names[arg] = raw;
    }
    if (failed(printRegionOps(block)))
      return failure();
    std::string lf = name(yield.getLogForget()), li = name(yield.getLogInput());
    if (stabilizer) {
      line() << "const float m_prev = " << scalar(kStabilizer) << ";\n";
      line() << "const float m_next = fmaxf(" << lf << " + m_prev, " << li << ");\n";
      line() << "const float decay = expf(" << lf << " + m_prev - m_next);\n";
      line() << "const float input = expf(" << li << " - m_next);\n";
    } else {
      line() << "const float decay = expf(" << lf << ");\n";
      line() << "const float input = expf(" << li << ");\n";
    }
    if (normalizer) {
      line() << "for (int d = lane; d < kKeyDim; d += 32) s_norm[d] = decay * s_norm[d] + "
                "input * s_k[d];\n";
      line() << "fg::ptx::warp_sync();\n";
      line() << "const float nq = fg::step::warp_dot(s_norm, s_q, kKeyDim);  // n' . q~\n";
    }
    line() << "if (lane == 0) {\n";
    ++indent;
    line() << scalar(kDecay) << " = decay;\n";
    line() << scalar(kInput) << " = input;\n";
    line() << scalar(kKeyQuery) << " = kq;\n";
    if (normalizer)
      line() << scalar(kNormQuery) << " = nq;\n";
    if (stabilizer)
      line() << scalar(kStabilizer) << " = m_next;\n";
    --indent;
    line() << "}\n";
  }
  --indent;
  line() << "}\n";
  line() << "fg::cta::sync();\n";
  return success();
}

LogicalResult StepKernelPrinter::printUpdate(StepUpdateOp) {
  line() << "{\n";
  ++indent;
  int vectors = delta ? 2 : 1;
  line() << "const float* const xs[" << vectors << "] = {s_q"
         << (delta ? ", s_k" : "") << "};\n";
  line() << "float dots[" << vectors << "][Layout::kVec];\n";
  line() << "fg::step::column_dots<Layout, " << vectors << ">(st, xs, dots, s_scratch);\n";
  line() << "const float kq = " << scalar(kKeyQuery) << ";\n";
  if (!vectorGate)
    line() << "const float decay = " << scalar(kDecay) << ";\n";
  if (delta)
    line() << "const float beta = " << scalar(kBeta) << ";\n";
  else
    line() << "const float input = " << scalar(kInput) << ";\n";
  line() << "for (int c = 0; c < Layout::kVec; ++c) {\n";
  ++indent;
  std::string v = "s_v[Layout::col0() + c]";
  if (delta)
    // beta (v - alpha S^T k): what the key reads after the decay, replaced.
    line() << "step_w[c] = beta * (" << v << " - decay * dots[1][c]);\n";
  else
    line() << "step_w[c] = input * " << v << ";\n";
  // o = S'^T q~ = decay S^T q~ + w (k . q~); vector gates folded decay
  // into q~ (per key dim).
  line() << "step_h[c] = " << (vectorGate ? "dots[0][c]" : "decay * dots[0][c]")
         << " + step_w[c] * kq;\n";
  --indent;
  line() << "}\n";
  if (vectorGate)
    line() << "fg::step::rank_one_update(st, [&](int r) { return s_decay[r]; }, s_k, step_w);\n";
  else
    line() << "fg::step::rank_one_update(st, [&](int) { return decay; }, s_k, step_w);\n";
  --indent;
  line() << "}\n";
  return success();
}

LogicalResult StepKernelPrinter::printStore(StepStoreOp op) {
  line() << "if (Layout::writes_columns()) {\n";
  ++indent;
  if (normalizer) {
    std::string floor = stabilizer ? "expf(-" + scalar(kStabilizer) + ")" : "1.0f";
    line() << "const float denom = fmaxf(fabsf(" << scalar(kNormQuery) << "), " << floor
           << ") + kEps;\n";
    // The token's N and floor for the gradient, where the caller asks
    // (value tile 0's first thread).
    line() << "if (norm != nullptr && (" << name(op.getColTile())
           << ") == 0 && threadIdx.x == 0) {\n";
    line() << "  float* const norm_row = " << base("norm", op.getBatch(), op.getHead())
           << " + (long long)(" << name(op.getStep()) << ") * norm_s2;\n";
    line() << "  norm_row[0] = " << scalar(kNormQuery) << ";\n";
    line() << "  norm_row[norm_s3] = " << floor << ";\n";
    line() << "}\n";
  }
  line() << "Elem* const o_row = " << base("o", op.getBatch(), op.getHead()) << " + (long long)("
         << name(op.getStep()) << ") * o_s2 + (long long)(" << name(op.getColTile())
         << ") * kTileDv + Layout::col0();\n";
  if (!op.getOutputMod().empty()) {
    // output_mod on each normalised element (docs/semantics.md §3.6): t
    // the token's position, d its column in the head.
    Block &block = op.getOutputMod().front();
    // Unrolled: step_h stays in registers only if c is a constant.
    line() << "FG_UNROLL\n";
    line() << "for (int c = 0; c < Layout::kVec; ++c) {\n";
    ++indent;
    line() << "float x = step_h[c]" << (normalizer ? " / denom" : "") << ";\n";
    line() << "const int i = (int)(" << name(op.getStep()) << "), j = (int)("
           << name(op.getColTile()) << ") * kTileDv + Layout::col0() + c;\n";
    if (failed(printElementRegion(block, "x", op.getBatch(), op.getHead(),
                                  /*fragmentOffsets=*/false)))
      return failure();
    line() << "o_row[c] = fg::from_float<Elem>("
           << name(cast<YieldOp>(block.getTerminator()).getValue()) << ");\n";
    --indent;
    line() << "}\n";
  } else {
    line() << "for (int c = 0; c < Layout::kVec; ++c) o_row[c] = fg::from_float<Elem>(step_h[c]"
           << (normalizer ? " / denom" : "") << ");\n";
  }
  --indent;
  line() << "}\n";
  return success();
}

LogicalResult StepKernelPrinter::printKernelOp(Operation *op) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<StateInitOp>([&](auto init) { return printStateInit(init); })
      .Case<StateStoreOp>([&](auto store) { return printStateStore(store); })
      .Case<StepLoadOp>([&](auto load) { return printLoad(load); })
      .Case<StepGatesOp>([&](auto gates) { return printGates(gates); })
      .Case<StepUpdateOp>([&](auto update) { return printUpdate(update); })
      .Case<StepStoreOp>([&](auto store) { return printStore(store); })
      .Default([&](Operation *other) {
        return other->emitError() << "the CUDA emitter has no printing for '"
                                  << other->getName() << "' in a recurrent_step kernel";
      });
}

std::string StepKernelPrinter::signature() {
  ParameterList sep;
  std::string elem = kernel.getSymName().str() + "_k::Elem";
  auto tensor = [&](StringRef tensorName, StringRef type, bool output, int rank) {
    printTensorParameter(sep, result.arguments, tensorName, type, output, rank);
  };
  bool initial = cast<BoolAttr>(kernel.getProblem().get("initial_state")).getValue();
  bool final = cast<BoolAttr>(kernel.getProblem().get("final_state")).getValue();
  tensor("q", elem, false, 4);
  tensor("k", elem, false, 4);
  tensor("v", elem, false, 4);
  if (delta) {
    Type betaType = cast<TypeAttr>(kernel.getProblem().get("beta_type")).getValue();
    tensor("beta", elementTypeName(betaType), false, 3);
  }
  if (vectorGate)
    tensor("g", "float", false, 4);
  for (unsigned i = 0; i < rawGates; ++i)
    tensor(gateTensor(i), "float", false, 3);
  if (initial)
    printStateParameters(sep, result.arguments, false, normalizer, stabilizer);
  tensor("o", elem, true, 4);
  if (normalizer)
    tensor("norm", "float", true, 4);  // optional: the rows' N_r, floor_r
  if (final)
    printStateParameters(sep, result.arguments, true, normalizer, stabilizer);
  // The tensors an output_mod or feature_map reads (flash.extra; none
  // without one).
  printExtraParameters(sep);
  printDimParameters([&]() -> llvm::raw_ostream & { return sep(); });
  return sep.text();
}

std::string StepKernelPrinter::header() {
  ScheduleAttr s = kernel.getSchedule();
  Type elementType = cast<TypeAttr>(kernel.getProblem().get("element_type")).getValue();
  double scale = cast<FloatAttr>(kernel.getProblem().get("scale")).getValueAsDouble();
  double eps = cast<FloatAttr>(kernel.getProblem().get("eps")).getValueAsDouble();
  std::string text;
  llvm::raw_string_ostream h(text);
  h << "// Generated by flashgen from flash.kernel @" << kernel.getSymName() << " ("
    << problemString("op") << ", variant " << problemInt("variant")
    << ", recurrent_step, gate " << stringifyGateKind(gate) << (delta ? ", delta rule" : "")
    << ").\n"
    << "// Schedule: " << s << "\n"
    << "#include \"" << kDeviceUmbrellaHeader << "\"\n"
    << "#include \"" << kDeviceIndexMathHeader << "\"\n"
    << "#include \"" << kStepHeader << "\"\n"
    << "\nnamespace " << kernel.getSymName() << "_k {\n\n"
    << "using Elem = " << elementTypeName(elementType) << ";\n"
    << "constexpr int kKeyDim = " << shape.keyDim << ";\n"
    << "constexpr int kTileDv = " << shape.tileDv << ";   // value columns per CTA (of "
    << problemInt("value_dim") << ")\n"
    << "constexpr int kWarps = " << shape.warps << ";\n"
    << "constexpr int kThreads = kWarps * 32;\n"
    << "using Layout = fg::step::layout<kKeyDim, kTileDv, kThreads>;\n"
    << "constexpr float kScale = " << floatLiteral(scale) << ";\n";
  if (normalizer)
    h << "constexpr float kEps = " << floatLiteral(eps) << ";\n";
  h << "// Shared memory (schedule/StepLayout.h), f32: q~, k, the value tile,\n"
    << "// per-key-dim decays, n, the token's scalars, the dots' scratch.\n"
    << "constexpr int kSmemQ = " << plan.q << ";\n"
    << "constexpr int kSmemK = " << plan.k << ";\n"
    << "constexpr int kSmemV = " << plan.v << ";\n";
  if (vectorGate)
    h << "constexpr int kSmemDecay = " << plan.decay << ";\n";
  if (normalizer)
    h << "constexpr int kSmemNorm = " << plan.norm << ";\n";
  h << "constexpr int kSmemScalars = " << plan.scalars << ";\n"
    << "constexpr int kSmemScratch = " << plan.scratch << ";\n"
    << "constexpr int kSmemBytes = " << plan.total << ";\n"
    << "static_assert(kSmemBytes - kSmemScratch >= " << (delta ? 2 : 1)
    << " * kWarps * kTileDv * 4, \"scratch overlaps\");\n"
    << "static_assert(Layout::kRows * Layout::kRowGroups == kKeyDim, \"rows split Dk\");\n\n"
    << "} // namespace " << kernel.getSymName() << "_k\n\n";
  return text;
}

FailureOr<EmittedKernel> StepKernelPrinter::print() {
  std::optional<GateKind> kind = kernel.getProblemGate();
  if (!kind)
    return kernel.emitError("recurrence kernel without a problem.gate");
  gate = *kind;
  vectorGate = gate == GateKind::vector;
  scalarGates = gate == GateKind::decay || gate == GateKind::mlstm_exp ||
                gate == GateKind::mlstm_sig;
  normalizer = gate == GateKind::mlstm_exp || gate == GateKind::mlstm_sig;
  stabilizer = gate == GateKind::mlstm_exp;
  delta = kernel.getProblem().get("beta_type") != nullptr;
  if (auto norm = kernel.getProblem().getAs<BoolAttr>("l2norm_qk"))
    l2normQk = norm.getValue();
  rawGates = scalarGates ? LinearAttentionOp::getGateOperandCount(gate) : 0;

  ScheduleAttr s = kernel.getSchedule();
  shape.keyDim = problemInt("key_dim");
  shape.tileDv = s.getTileDv();
  shape.warps = s.getWarps();
  shape.vectorGate = vectorGate;
  shape.normalizer = normalizer;
  shape.delta = delta;
  if (std::string why = flashgen::schedule::stepLayoutViolation(shape); !why.empty())
    return kernel.emitError("recurrent_step schedule: ") << why;
  plan = flashgen::schedule::stepSmemPlan(shape);
  result.threads = shape.warps * 32;
  result.dynamicSmemBytes = plan.total;
  result.entry = "flashgen_" + kernel.getSymName().str();
  result.headers = {kDeviceUmbrellaHeader, kDeviceIndexMathHeader, kStepHeader};
  std::string params = signature();

  line() << "using namespace " << kernel.getSymName() << "_k;\n";
  line() << "const int warp = int(threadIdx.x) / 32;\n";
  line() << "fg::u8* const smem_p = fg::ptx::dynamic_smem();\n";
  line() << "float* const s_q = reinterpret_cast<float*>(smem_p + kSmemQ);\n";
  line() << "float* const s_k = reinterpret_cast<float*>(smem_p + kSmemK);\n";
  line() << "float* const s_v = reinterpret_cast<float*>(smem_p + kSmemV);\n";
  if (vectorGate)
    line() << "float* const s_decay = reinterpret_cast<float*>(smem_p + kSmemDecay);\n";
  if (normalizer)
    line() << "float* const s_norm = reinterpret_cast<float*>(smem_p + kSmemNorm);\n";
  line() << "float* const s_scalars = reinterpret_cast<float*>(smem_p + kSmemScalars);\n";
  line() << "float* const s_scratch = reinterpret_cast<float*>(smem_p + kSmemScratch);\n";
  line() << "fg::step::state<Layout> st;  // this thread's part of the state slice, f32\n";
  line() << "float step_h[Layout::kVec], step_w[Layout::kVec];  // the token's output "
            "numerator and writes\n";
  // The next token's rows in registers (StepLoadOp).
  line() << "fg::step::row_prefetch<kThreads, kKeyDim, Elem> pf_q, pf_k;\n";
  line() << "fg::step::row_prefetch<kThreads, kTileDv, Elem> pf_v;\n";
  if (vectorGate)
    line() << "fg::step::row_prefetch<kThreads, kKeyDim, float> pf_g;\n";
  for (unsigned i = 0; i < rawGates; ++i)
    line() << "fg::step::row_prefetch<kThreads, 1, float> pf_raw" << i << ";\n";
  if (delta)
    line() << "fg::step::row_prefetch<kThreads, 1, "
           << elementTypeName(cast<TypeAttr>(kernel.getProblem().get("beta_type")).getValue())
           << "> pf_beta;\n";
  line() << "(void)warp;\n";
  if (failed(printBlock(kernel.getBody().front())))
    return failure();
  std::string constants = header();
  result.source =
      constants + kernelDefinition(std::to_string(result.threads), result.entry, params, body);
  return result;
}

} // namespace

FailureOr<EmittedKernel> mlir::flash::emitStepKernel(KernelOp kernel) {
  return StepKernelPrinter(kernel).print();
}
