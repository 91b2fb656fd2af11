// Links the installed compiler libraries: parses a spec with the flash
// dialect and runs flash-io-bounds on it.
#include "dialect/FlashDialect.h"
#include "tools/FlashgenRegistration.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    llvm::errs() << "usage: use-compiler SPEC.mlir\n";
    return 2;
  }
  mlir::DialectRegistry registry;
  mlir::flash::registerFlashgenDialects(registry);
  mlir::flash::registerFlashgenPasses();
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(argv[1], &context);
  if (!module)
    return 1;
  mlir::PassManager pm(&context);
  if (mlir::failed(
          mlir::parsePassPipeline("flash-io-bounds{dims=B=2,N=1024}", pm)) ||
      mlir::failed(pm.run(*module)))
    return 1;
  int ops = 0;
  module->walk([&](mlir::flash::AttentionOp op) {
    ops += op->hasAttr("flash.io_lower_bound");
  });
  llvm::outs() << "flash.attention ops with IO bounds: " << ops << "\n";
  return ops ? 0 : 1;
}
