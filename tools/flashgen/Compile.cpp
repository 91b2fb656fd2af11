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
#include "llvm/Support/raw_ostream.h"

#include <string>

using namespace mlir;
using namespace mlir::flash;

static int usage() {
  llvm::errs() << "usage: flashgen compile SPEC.mlir -o DIR [--target sm_90|h200|sm_80]\n"
                  "                        [--dim NAME=VALUE]... [--top-k K] [--print-ir]\n"
                  "                        [--spec-schedules]  (keep the spec's #flash.schedule)\n";
  return 2;
}

/// The most candidates one op may carry into a bundle.
constexpr unsigned kMaxTopK = 64;

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

int flashgen::cli::runCompile(int argc, char **argv) {
  std::string spec, output, target = "sm_90";
  unsigned topK = 4;
  bool printIr = false;
  bool specSchedules = false;
  DimValues dims;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char * {
      return i + 1 < argc ? argv[++i] : nullptr;
    };
    if (arg == "-o" || arg == "--output") {
      const char *v = value();
      if (!v)
        return usage();
      output = v;
    } else if (arg == "--target") {
      const char *v = value();
      if (!v)
        return usage();
      target = v;
    } else if (arg == "--dim") {
      const char *v = value();
      if (!v)
        return usage();
      if (llvm::Error error = parseDimBinding(v, dims)) {
        llvm::errs() << "flashgen compile: " << llvm::toString(std::move(error)) << "\n";
        return 2;
      }
    } else if (arg == "--top-k") {
      const char *v = value();
      if (!v || llvm::StringRef(v).getAsInteger(10, topK) || topK == 0 ||
          topK > kMaxTopK) {
        llvm::errs() << "flashgen compile: --top-k takes 1 to " << kMaxTopK
                     << "\n";
        return usage();
      }
    } else if (arg == "--spec-schedules") {
      specSchedules = true;
    } else if (arg == "--print-ir") {
      printIr = true;
    } else if (!arg.empty() && arg[0] == '-') {
      llvm::errs() << "flashgen compile: unknown option '" << arg << "'\n";
      return usage();
    } else if (spec.empty()) {
      spec = arg;
    } else {
      return usage();
    }
  }
  if (spec.empty() || output.empty())
    return usage();
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
                " top-k=" + std::to_string(topK) + "},";
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
