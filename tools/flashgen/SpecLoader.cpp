//===- SpecLoader.cpp - parse a spec and bind its dimensions --------------===//

#include "tools/flashgen/SpecLoader.h"

#include "tools/FlashgenRegistration.h"

#include "mlir/Parser/Parser.h"
#include "llvm/Support/SourceMgr.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::flash;

OwningOpRef<ModuleOp> flashgen::cli::loadSpec(MLIRContext &context,
                                              const std::string &path) {
  DialectRegistry registry;
  registerFlashgenDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(path, &context);
  if (!module)
    llvm::errs() << "flashgen: cannot read a valid spec from '" << path
                 << "' (see the diagnostics above)\n";
  return module;
}

std::vector<flashgen::cli::DimensionUse>
flashgen::cli::collectDynamicDims(ModuleOp module) {
  std::vector<DimensionUse> uses;
  auto add = [&](Value value, unsigned index, std::string name, bool isBatch) {
    auto type = cast<RankedTensorType>(value.getType());
    if (!type.isDynamicDim(index))
      return;
    for (const DimensionUse &use : uses)
      if (use.name == name)
        return;
    uses.push_back({std::move(name), isBatch});
  };
  module.walk([&](Operation *op) {
    if (auto attention = dyn_cast<AttentionOp>(op)) {
      add(attention.getQ(), 0, attention.getBatchDimName(), true);
      add(attention.getQ(), 2, attention.getQueryDimName(), false);
      add(attention.getK(), 2, attention.getKeyDimName(), false);
    } else if (auto linear = dyn_cast<LinearAttentionOp>(op)) {
      add(linear.getQ(), 0, linear.getBatchDimName(), true);
      add(linear.getQ(), 2, linear.getLengthDimName(), false);
    } else if (auto delta = dyn_cast<DeltaRuleOp>(op)) {
      add(delta.getQ(), 0, delta.getBatchDimName(), true);
      add(delta.getQ(), 2, delta.getLengthDimName(), false);
    } else if (auto linearGrad = dyn_cast<LinearAttentionGradOp>(op)) {
      add(linearGrad.getQ(), 0, linearGrad.getBatchDimName(), true);
      add(linearGrad.getQ(), 2, linearGrad.getLengthDimName(), false);
    }
  });
  return uses;
}

std::string flashgen::cli::dimOptionString(ModuleOp module,
                                           const DimValues &given,
                                           std::vector<std::string> &defaulted) {
  std::string text;
  auto append = [&](llvm::StringRef name, int64_t value) {
    if (!text.empty())
      text += ",";
    text += name.str() + "=" + std::to_string(value);
  };
  for (const auto &entry : given)
    append(entry.getKey(), entry.getValue());
  for (const DimensionUse &use : collectDynamicDims(module)) {
    if (given.count(use.name))
      continue;
    append(use.name, use.isBatch ? kPlanningBatch : kPlanningLength);
    defaulted.push_back(use.name);
  }
  return text;
}
