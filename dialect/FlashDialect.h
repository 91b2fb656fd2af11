//===- FlashDialect.h - the flash dialect -----------------------*- C++ -*-===//
//
// Declarations of the flash dialect, its enums, attributes and ops. Include
// this one header to use any of them.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_DIALECT_FLASHDIALECT_H
#define FLASHGEN_DIALECT_FLASHDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialect/ExtraOperands.h"

#include <array>
#include <optional>

namespace mlir::flash {
/// `[A-Za-z_][A-Za-z0-9_]*`: the names (dims, extras, launch values,
/// kernels) that tools bind by and the emitter prints into C names.
bool isIdentifier(llvm::StringRef name);
/// A dimension for verifier messages: its size, or '?' when dynamic.
std::string dimText(int64_t size);
/// A shape for verifier messages ("[?, 8, 128]").
std::string shapeText(RankedTensorType type);
/// Discardable string attribute on an index op of a kernel body: the name
/// the emitter gives its value ("head_id"), so the CUDA reads like the IR
/// that built it. Only a name: nothing depends on it.
inline constexpr llvm::StringLiteral kValueNameAttr = "flash.name";
/// The rotary tables of a flash.tile_rotate or a rotating
/// flash.pipe_produce: one f32 type, [P, dims/2] or [B, P, dims/2].
LogicalResult verifyRotaryTables(Operation *op, Value cos, Value sin,
                                 int64_t dims);
} // namespace mlir::flash

#include "dialect/FlashOpsDialect.h.inc"
#include "dialect/FlashEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/FlashAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialect/FlashOps.h.inc"

namespace mlir::flash {
/// The two tensors a warpgroup gradient kernel streams through its ring
/// (flash.tile_load ... tma, flash.tile_landed), in the order of their TMA
/// arrival rings (0, 1): q and dout in attention_grad_kv, k and v in
/// attention_grad_dq; std::nullopt in every other family.
std::optional<std::array<TensorRole, 2>> gradRingTensors(KernelFamily family);
} // namespace mlir::flash

#endif // FLASHGEN_DIALECT_FLASHDIALECT_H
