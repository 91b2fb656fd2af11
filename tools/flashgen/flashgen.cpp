//===- flashgen.cpp - the flashgen driver: compile, explain ---------------===//
//
// One binary, one subcommand per job; each lives in its own file.
//
//===----------------------------------------------------------------------===//

#include "tools/FlashgenRegistration.h"
#include "tools/flashgen/Calibrate.h"
#include "tools/flashgen/Compile.h"
#include "autotune/TuneCommand.h"
#if __has_include("tools/flashgen/Explain.h")
#include "tools/flashgen/Explain.h"
#define FLASHGEN_HAVE_EXPLAIN 1
#endif

#include "mlir/Transforms/Passes.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

static int usage() {
  llvm::errs() << "usage: flashgen <command> [options]\n"
                  "commands:\n"
                  "  compile SPEC -o DIR   compile a spec into a bundle\n"
                  "  explain SPEC          IO lower bounds, schedules and ratios\n"
                  "  tune BUNDLE --dim ... time a bundle's candidates on this GPU\n"
                  "  calibrate TABLE.tsv   the cost model against measured candidate times\n";
  return 2;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::flash::registerFlashgenPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  if (argc < 2)
    return usage();
  std::string command = argv[1];
  if (command == "compile")
    return flashgen::cli::runCompile(argc - 2, argv + 2);
#ifdef FLASHGEN_HAVE_EXPLAIN
  if (command == "explain")
    return flashgen::cli::runExplain(argc - 2, argv + 2);
#endif
  if (command == "calibrate")
    return flashgen::cli::runCalibrate(argc - 2, argv + 2);
  if (command == "tune")
    return flashgen::runTune(argc - 1, argv + 1); // argv[0] = "tune"
  if (command == "--help" || command == "-h" || command == "help") {
    usage();
    return 0;
  }
  llvm::errs() << "flashgen: unknown command '" << command << "'\n";
  return usage();
}
