//===- Varlen.h - packed variable-length batches: the one description -*- C++ -*-===//
//
// A flash.attention whose q (and/or k and v) are flash.varlen_view results
// reads sequences packed back to back, [T, H, D], each starting where its
// cu_seqlens entry says (docs/semantics.md §2.9); with packed queries its
// result leaves through flash.varlen_pack, packed the same way. This is
// the one description of that layout the verifier, the scheduler's
// problem, the lowering, the emitter, the bundle writer and the reference
// read: the packed tensors, the offsets, and the names callers and kernels
// bind them by.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_DIALECT_VARLEN_H
#define FLASHGEN_DIALECT_VARLEN_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace mlir::flash {

/// The offsets' manifest and kernel parameter names ([B + 1] i32 each; one
/// tensor may be passed as both when queries and keys share lengths).
inline constexpr llvm::StringLiteral kCuSeqlensQ = "cu_seqlens_q";
inline constexpr llvm::StringLiteral kCuSeqlensK = "cu_seqlens_k";
/// The launch scalars that bound a packed side's sequence lengths: the
/// longest sequence (the grid covers that many query rows; each sequence
/// reads its own length from cu_seqlens). FlashAttention's varlen API
/// takes the same two numbers.
inline constexpr llvm::StringLiteral kMaxSeqlenQ = "max_seqlen_q";
inline constexpr llvm::StringLiteral kMaxSeqlenK = "max_seqlen_k";

struct Varlen {
  /// Packed queries: q's packed tensor [Tq, Hq, D], the output's [Tq, Hq,
  /// Dv] and their offsets; null when q is a plain [B, Hq, N, D] tensor.
  Value qPacked, oPacked, cuQ;
  /// Packed keys and values [Tk, Hkv, D|Dv] and their offsets; null when
  /// k and v are plain (or paged) tensors.
  Value kPacked, vPacked, cuK;

  bool packedQueries() const { return bool(cuQ); }
  bool packedKeys() const { return bool(cuK); }
};

/// The symbol of a packed side's row count (dim 0 of its packed tensors)
/// for a sequence dim called `seqDim`: "<seqDim>_total".
std::string packedRowsDimName(llvm::StringRef seqDim);

/// The packed sides of `attention` (a flash.attention), nullopt when
/// neither its queries nor its keys are packed.
std::optional<Varlen> varlenOf(Operation *attention);

class AttentionOp;
/// flash.attention's varlen rules: k and v packed together through one
/// cu_seqlens; packed queries leave through one flash.varlen_pack with
/// q's cu_seqlens.
LogicalResult verifyVarlen(AttentionOp op);

/// A flash.linear_attention over packed sequences (docs/semantics.md
/// §3.5): q, k, v and its gate operands flash.varlen_view results of one
/// cu_seqlens (a scalar gate [T, H], a vector gate [T, H, Dk]), its output
/// o packed back by one flash.varlen_pack; each sequence is its own
/// recurrence, its states (initial, final) the batch's b-th.
struct LinearVarlen {
  Value qPacked, kPacked, vPacked, oPacked, cu;
  llvm::SmallVector<Value, 2> gatesPacked;
};

class LinearAttentionOp;
class LinearAttentionGradOp;
class DeltaRuleOp;
/// The packed operands of `op` (a flash.linear_attention, its gradient
/// flash.linear_attention_grad: then o is dq, or a flash.delta_rule: then
/// the gates are beta and the optional log-decay), nullopt when its q is
/// not a flash.varlen_view.
std::optional<LinearVarlen> linearVarlenOf(Operation *op);
/// flash.linear_attention's varlen rules: all of q, k, v and the gates
/// packed or none, through one cu_seqlens; o leaves through one
/// flash.varlen_pack with it.
LogicalResult verifyLinearVarlen(LinearAttentionOp op);
/// flash.delta_rule's: the same for q, k, v, beta and the log-decay.
LogicalResult verifyLinearVarlen(DeltaRuleOp op);
/// flash.linear_attention_grad's: the same for q, k, v, dO and the gates;
/// dq, dk, dv and the gates' gradients each leave through one
/// flash.varlen_pack with that cu_seqlens.
LogicalResult verifyLinearVarlen(LinearAttentionGradOp op);

} // namespace mlir::flash

#endif // FLASHGEN_DIALECT_VARLEN_H
