//===- Compile.cpp - `flashgen compile`: spec to bundle -------------------===//
//
// parse -> flash-io-bounds -> flash-schedule -> flash-lower-kernels ->
// canonicalize/cse -> the bundle writer (with --spec-schedules:
// flash-schedule{search=false}, which only fills in the default schedule of
// a recurrence that has none). Dynamic sizes stay kernel arguments;
// `--dim` only tells the scheduler which sizes to plan for.
//
//===----------------------------------------------------------------------===//

#include "tools/flashgen/Compile.h"

#include "codegen/BundleWriter.h"
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
      if (!v || llvm::StringRef(v).getAsInteger(10, topK) || topK == 0)
        return usage();
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
                         "},canonicalize,cse";
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
  llvm::outs() << "flashgen compile: wrote " << output << "/manifest.json\n";
  return 0;
}
