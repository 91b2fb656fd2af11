//===- flashgen-opt.cpp - mlir-opt with the flash dialect and passes ------===//
//
// The driver lit tests run: parses, verifies, runs passes, prints.
//
//===----------------------------------------------------------------------===//

#include "runtime/tools/ToolVersion.h"
#include "tools/FlashgenRegistration.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"

int main(int argc, char **argv) {
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::flash::registerFlashgenPasses();
  mlir::DialectRegistry registry;
  mlir::flash::registerFlashgenDialects(registry);
  // --version: flashgen's, as every flashgen tool prints it.
  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << flashgen::toolVersion("flashgen-opt") << "\n";
  });
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "flashgen optimizer driver\n", registry));
}
