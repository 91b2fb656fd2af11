//===- Compile.cpp - `flashgen compile`: spec to bundle -------------------===//
//
// parse -> flash-io-bounds -> flash-schedule -> flash-lower-kernels ->
// flash-warp-specialize -> canonicalize/cse -> the bundle writer (with --spec-schedules:
// flash-schedule{search=false}, which only fills in the default schedule of
// a recurrence that has none). Dynamic sizes stay kernel arguments;
// `--dim` only tells the scheduler which sizes to plan for.
//
//===----------------------------------------------------------------------===//

#include "tools/flashgen/Compile.h"

#include "codegen/BundleWriter.h"
#include "dialect/ScheduleConversion.h"
#include "flashgen/runtime.h"
#include "passes/OpProblems.h"
#include "schedule/Checker.h"
#include "schedule/Target.h"
#include "tools/flashgen/SpecLoader.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

using namespace mlir;
using namespace mlir::flash;
namespace cl = llvm::cl;

/// The most candidates one op may carry into a bundle.
constexpr unsigned kMaxTopK = 64;

cl::SubCommand flashgen::cli::compileCommand("compile",
                                             "compile a spec into a bundle");
cl::OptionCategory flashgen::cli::compileCategory("flashgen compile options");

namespace {
using flashgen::cli::compileCategory;
using flashgen::cli::compileCommand;

cl::opt<std::string> specArg(cl::Positional, cl::Required,
                             cl::desc("<spec.mlir>"), cl::sub(compileCommand),
                             cl::cat(compileCategory));
cl::opt<std::string> outputArg("o", cl::Required, cl::value_desc("dir"),
                               cl::desc("the bundle's folder (created)"),
                               cl::sub(compileCommand), cl::cat(compileCategory));
cl::alias outputAlias("output", cl::desc("alias for -o"), cl::aliasopt(outputArg));
cl::opt<std::string> targetArg("target", cl::init("sm_90"), cl::value_desc("target"),
                               cl::desc("sm_90 (default), h200 or sm_80"),
                               cl::sub(compileCommand), cl::cat(compileCategory));
cl::list<std::string> dimArgs(
    "dim", cl::value_desc("NAME=VALUE"),
    cl::desc("a dynamic size to plan for (repeatable); kernels take every "
             "size at run time"),
    cl::sub(compileCommand), cl::cat(compileCategory));
cl::opt<unsigned> topKArg("top-k", cl::init(4), cl::value_desc("K"),
                          cl::desc("ranked schedules per op in the bundle, 1 to 64 "
                                   "(default 4)"),
                          cl::sub(compileCommand), cl::cat(compileCategory));
cl::opt<bool> specSchedulesArg(
    "spec-schedules",
    cl::desc("keep the spec's #flash.schedule and flash.candidates instead of "
             "searching"),
    cl::sub(compileCommand), cl::cat(compileCategory));
cl::opt<bool> backwardArg(
    "backward",
    cl::desc("also write each attention's gradient kernels, <name>_backward "
             "(flash-derive-backward; training from flashgen.torch)"),
    cl::sub(compileCommand), cl::cat(compileCategory));
cl::opt<bool> deterministicArg(
    "deterministic",
    cl::desc("with --backward: gradient kernels without float atomics (dQ by "
             "its own kernel; bitwise reproducible)"),
    cl::sub(compileCommand), cl::cat(compileCategory));
cl::opt<bool> printIrArg("print-ir", cl::desc("print the lowered IR to stdout"),
                         cl::sub(compileCommand), cl::cat(compileCategory));
} // namespace

/// With --spec-schedules the spec's own #flash.schedule and flash.candidates
/// are lowered as they are: each must pass the checker the scheduler holds
/// its own schedules to, so that a hand schedule the kernels cannot run is
/// a diagnostic here, not an NVRTC failure at load time.
static LogicalResult checkSpecSchedules(ModuleOp module,
                                        const flashgen::schedule::Target &target,
                                        const DimValues &dims) {
  namespace fs = flashgen::schedule;
  LogicalResult result = success();
  module.walk([&](AttentionOp op) {
    FailureOr<fs::AttentionProblem> problem =
        attentionProblem(op, dims, "flashgen compile");
    if (failed(problem)) {
      result = failure();
      return;
    }
    SmallVector<ScheduleAttr> schedules;
    if (auto chosen = op->getAttrOfType<ScheduleAttr>("flash.schedule"))
      schedules.push_back(chosen);
    if (auto candidates = op->getAttrOfType<ArrayAttr>("flash.candidates"))
      for (Attribute attr : candidates)
        if (auto candidate = dyn_cast<ScheduleAttr>(attr))
          schedules.push_back(candidate);
    for (ScheduleAttr schedule : schedules) {
      std::vector<std::string> violations =
          fs::checkAttentionSchedule(*problem, target, toLibrary(schedule));
      if (violations.empty())
        continue;
      InFlightDiagnostic diag = op.emitOpError()
                                << "spec schedule " << schedule
                                << " cannot run on " << target.name << ": ";
      for (auto [i, why] : llvm::enumerate(violations))
        diag << (i ? "; " : "") << why;
      result = failure();
    }
  });
  return result;
}

int flashgen::cli::runCompile() {
  const std::string spec = specArg, output = outputArg, target = targetArg;
  const unsigned topK = topKArg;
  const bool printIr = printIrArg, specSchedules = specSchedulesArg;
  const bool backward = backwardArg, deterministic = deterministicArg;
  if (deterministic && !backward) {
    llvm::errs() << "flashgen compile: --deterministic applies to the "
                    "gradient kernels: pass --backward too\n";
    return 2;
  }
  DimValues dims;
  for (const std::string &binding : dimArgs)
    if (llvm::Error error = parseDimBinding(binding, dims)) {
      llvm::errs() << "flashgen compile: " << llvm::toString(std::move(error)) << "\n";
      return 2;
    }
  if (topK == 0 || topK > kMaxTopK) {
    llvm::errs() << "flashgen compile: --top-k takes 1 to " << kMaxTopK << "\n";
    return 2;
  }
  // Checked first: the passes and the manifest both read the target.
  if (auto t = flashgen::schedule::lookupTarget(target); !t) {
    llvm::errs() << "flashgen compile: " << t.error() << "\n";
    return 2;
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module = loadSpec(context, spec);
  if (!module)
    return 1;

  std::vector<std::string> defaulted;
  std::string dimOption = dimOptionString(*module, dims, defaulted);
  for (const std::string &name : defaulted)
    llvm::errs() << "flashgen compile: planning with " << name << " = "
                 << (name == "B" ? kPlanningBatch : kPlanningLength)
                 << " (kernels take every size at run time; pass --dim "
                 << name << "=VALUE to plan for yours)\n";

  // --spec-schedules keeps the #flash.schedule (and flash.candidates) the
  // spec already carries: for hand-written schedules and experiments.
  std::string scheduling =
      specSchedules
          ? "flash-schedule{target=" + target + " search=false},"
          : "flash-io-bounds{target=" + target + " dims=" + dimOption +
                "},flash-schedule{target=" + target + " dims=" + dimOption +
                " top-k=" + std::to_string(topK) + " size-rule=true},";
  // --backward derives `<name>_backward` before anything is scheduled, so
  // the gradient op gets its own bound, search and kernels.
  if (backward)
    scheduling = std::string("flash-derive-backward{deterministic=") +
                 (deterministic ? "true" : "false") + "}," + scheduling;
  // The pass manager is anchored on the top-level module already.
  std::string pipeline = scheduling + "flash-lower-kernels{target=" + target +
                         "},flash-warp-specialize,canonicalize,cse";
  if (specSchedules) {
    DimValues planned;
    if (llvm::Error error = parseDimBindingList(dimOption, planned)) {
      llvm::errs() << "flashgen compile: " << llvm::toString(std::move(error))
                   << "\n";
      return 2;
    }
    if (failed(checkSpecSchedules(
            *module, **flashgen::schedule::lookupTarget(target), planned)))
      return 1;
  }
  PassManager pm(&context);
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs()))) {
    llvm::errs() << "flashgen compile: cannot build the pipeline " << pipeline
                 << "\n";
    return 1;
  }
  if (failed(pm.run(*module)))
    return 1;
  if (printIr)
    module->print(llvm::outs());

  BundleOptions options;
  options.directory = output;
  // The manifest names an architecture; BundleWriter adds the "a" when a
  // kernel needs sm_90a's wgmma.
  options.target = (*flashgen::schedule::lookupTarget(target))->arch;
  if (failed(writeBundle(*module, options)))
    return 1;
  // What the runtime would refuse is the compiler's bug, not a bundle.
  std::shared_ptr<flashgen::Bundle> written;
  if (flashgen::Status st = flashgen::Bundle::load(output, written); !st) {
    llvm::errs() << "flashgen compile: internal error: the bundle written to "
                 << output << " does not load: " << st.message() << "\n";
    return 1;
  }
  llvm::outs() << "flashgen compile: wrote " << output << "/manifest.json\n";
  return 0;
}
