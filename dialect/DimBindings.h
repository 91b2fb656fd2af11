//===- DimBindings.h - bind named dynamic dimensions to values --*- C++ -*-===//
//
// Dynamic batch and sequence dimensions carry names (`dims`); tools bind them
// from `--dim NAME=VALUE`. This resolves every size an op needs and says which
// name is missing when one is unbound.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_DIALECT_DIMBINDINGS_H
#define FLASHGEN_DIALECT_DIMBINDINGS_H

#include "dialect/FlashDialect.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace mlir::flash {

/// NAME=VALUE pairs given on a command line or as a pass option.
using DimValues = llvm::StringMap<int64_t>;

/// Parses "N=8192" (one binding) into `values`; the error says what is wrong.
llvm::Error parseDimBinding(llvm::StringRef text, DimValues &values);

/// Parses "N=8192,B=2" (comma separated) into `values`.
llvm::Error parseDimBindingList(llvm::StringRef text, DimValues &values);

/// Every size of a flash.attention, static ones from the types, dynamic ones
/// from `values`.
struct AttentionSizes {
  int64_t batch, queryHeads, keyHeads, queryLen, keyLen, headDim, valueDim;
};
llvm::Expected<AttentionSizes> resolveSizes(AttentionOp op,
                                            const DimValues &values);
/// The same sizes of a flash.attention_grad (its q, k, v and dims).
llvm::Expected<AttentionSizes> resolveSizes(AttentionGradOp op,
                                            const DimValues &values);

/// Every size of a flash.linear_attention.
struct LinearAttentionSizes {
  int64_t batch, heads, length, keyDim, valueDim;
};
llvm::Expected<LinearAttentionSizes> resolveSizes(LinearAttentionOp op,
                                                  const DimValues &values);
/// The same sizes of a flash.delta_rule.
llvm::Expected<LinearAttentionSizes> resolveSizes(DeltaRuleOp op,
                                                  const DimValues &values);
llvm::Expected<LinearAttentionSizes> resolveSizes(LinearAttentionGradOp op,
                                                  const DimValues &values);

} // namespace mlir::flash

#endif // FLASHGEN_DIALECT_DIMBINDINGS_H
