//===- flashgen.cpp - the flashgen driver: compile, explain ---------------===//
//
// One binary, one subcommand per job; each lives in its own file and declares
// its options there (llvm::cl subcommands), except `tune`, which is
// flashgen-tune's command (autotune/TuneCommand.h, built without LLVM) with
// its own parser.
//
//===----------------------------------------------------------------------===//

#include "autotune/TuneCommand.h"
#include "runtime/tools/ToolVersion.h"
#include "tools/FlashgenRegistration.h"
#include "tools/flashgen/Calibrate.h"
#include "tools/flashgen/Compile.h"
#if __has_include("tools/flashgen/Explain.h")
#include "tools/flashgen/Explain.h"
#define FLASHGEN_HAVE_EXPLAIN 1
#endif

#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <string>

namespace cl = llvm::cl;

// Listed by `flashgen --help`; `flashgen tune` never reaches the parser.
static cl::SubCommand tuneCommand(
    "tune", "time a bundle's candidates on this GPU and keep the fastest "
            "(flashgen-tune; flashgen tune --help)");

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << flashgen::toolVersion("flashgen") << "\n";
  });
  if (argc >= 2 && std::strcmp(argv[1], "tune") == 0) {
    for (int i = 2; i < argc; ++i)
      if (std::strcmp(argv[i], "--version") == 0) {
        llvm::outs() << flashgen::toolVersion("flashgen") << "\n";
        return 0;
      }
    return flashgen::runTune(argc - 1, argv + 1); // argv[0] = "tune"
  }
  // A first word that is no command: say so (the parser would call it a
  // positional argument).
  if (argc >= 2 && argv[1][0] != '-') {
    bool known = false;
    for (cl::SubCommand *sub : cl::getRegisteredSubcommands())
      known |= sub->getName() == argv[1];
    if (!known) {
      llvm::errs() << "flashgen: unknown command '" << argv[1]
                   << "' (flashgen --help lists them)\n";
      return 2;
    }
  }

  mlir::flash::registerFlashgenPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  // Only flashgen's options in --help, not those LLVM's and MLIR's
  // libraries register.
  std::vector<const cl::OptionCategory *> categories = {
      &flashgen::cli::compileCategory, &flashgen::cli::calibrateCategory};
#ifdef FLASHGEN_HAVE_EXPLAIN
  categories.push_back(&flashgen::cli::explainCategory);
#endif
  for (cl::SubCommand *sub : cl::getRegisteredSubcommands())
    cl::HideUnrelatedOptions(categories, *sub);
  cl::HideUnrelatedOptions(categories, cl::SubCommand::getTopLevel());

  if (!cl::ParseCommandLineOptions(
          argc, argv,
          "flashgen: compiles flash specs into bundles of CUDA kernels\n",
          &llvm::errs(), /*VFS=*/nullptr, /*EnvVar=*/nullptr,
          /*LongOptionsUseDoubleDash=*/true))
    return 2;
  if (flashgen::cli::compileCommand)
    return flashgen::cli::runCompile();
#ifdef FLASHGEN_HAVE_EXPLAIN
  if (flashgen::cli::explainCommand)
    return flashgen::cli::runExplain();
#endif
  if (flashgen::cli::calibrateCommand)
    return flashgen::cli::runCalibrate();
  llvm::errs() << "flashgen: no command given (flashgen --help lists them)\n";
  return 2;
}
