//===- flashgen-opt.cpp - mlir-opt with the flash dialect and passes ------===//
//
// The driver lit tests run: parses, verifies, runs passes, prints.
//
//===----------------------------------------------------------------------===//

#include "tools/FlashgenRegistration.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::flash::registerFlashgenPasses();
  mlir::DialectRegistry registry;
  mlir::flash::registerFlashgenDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "flashgen optimizer driver\n", registry));
}
