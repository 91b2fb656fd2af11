//===- SpecFuzzer.cpp - fuzz target: spec to bundle -----------------------===//
//
// One input is one spec. It is parsed and verified with the flash dialect;
// an accepted spec runs `flashgen compile`'s pipeline (flash-io-bounds,
// flash-schedule, flash-lower-kernels, flash-warp-specialize) for sm_80 or sm_90, and
// a lowered module is written as a bundle, which the runtime must then load:
// "accepted, written, but refused by the runtime" aborts like a crash.
// Diagnostics are swallowed; only crashes, hangs and sanitizer reports count.
//
//===----------------------------------------------------------------------===//

#include "codegen/BundleWriter.h"
#include "flashgen/runtime.h"
#include "tools/FlashgenRegistration.h"
#include "tools/flashgen/SpecLoader.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

using namespace mlir;
using namespace mlir::flash;

namespace {

/// Specs longer than this are cut: the interesting structure is small.
constexpr size_t kMaxSpecBytes = 1 << 14;

/// A folder of this process for the bundles it writes, emptied each time.
const std::string &bundleDir() {
  static const std::string dir = [] {
    llvm::SmallString<128> path;
    llvm::sys::fs::createUniqueDirectory("flashgen-fuzz-spec", path);
    return std::string(path.str()) + "/bundle";
  }();
  return dir;
}

void registerOnce() {
  static bool done = [] {
    registerFlashgenPasses();
    registerCanonicalizerPass();
    registerCSEPass();
    return true;
  }();
  (void)done;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  registerOnce();
  if (size > kMaxSpecBytes)
    size = kMaxSpecBytes;
  MLIRContext context(MLIRContext::Threading::DISABLED);
  DialectRegistry registry;
  registerFlashgenDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  ScopedDiagnosticHandler quiet(&context, [](Diagnostic &) { return success(); });

  llvm::SourceMgr sources;
  sources.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz.mlir"),
      llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sources, &context);
  if (!module || failed(verify(*module)))
    return 0;

  // The dims every dynamic size is planned at, as `flashgen compile` binds
  // them; the target alternates with the input's length.
  std::vector<std::string> defaulted;
  std::string dims = flashgen::cli::dimOptionString(*module, {}, defaulted);
  std::string target = size % 2 ? "sm_90" : "sm_80";
  std::string pipeline = "flash-io-bounds{target=" + target + " dims=" + dims +
                         "},flash-schedule{target=" + target + " dims=" + dims +
                         " top-k=2},flash-lower-kernels{target=" + target +
                         "},flash-warp-specialize,canonicalize,cse";
  PassManager pm(&context);
  // A pipeline that does not parse is the harness's bug, not the input's:
  // stop, or every input would pass untested.
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    abort();
  if (failed(pm.run(*module)))
    return 0;

  llvm::sys::fs::remove_directories(bundleDir());
  BundleOptions options;
  options.directory = bundleDir();
  options.target = target;
  if (failed(writeBundle(*module, options)))
    return 0;
  std::shared_ptr<flashgen::Bundle> bundle;
  flashgen::Status st = flashgen::Bundle::load(bundleDir(), bundle);
  if (!st) {
    std::fprintf(stderr, "an accepted spec wrote a bundle the runtime refuses: %s\n",
                 st.message().c_str());
    std::abort();
  }
  return 0;
}
