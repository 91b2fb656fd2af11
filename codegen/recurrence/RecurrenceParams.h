//===- RecurrenceParams.h - names both recurrence printers share -*- C++ -*-===//
//
// The kernel parameters of the recurrence families (chunkwise and step):
// the manifest names of the raw gate operands, the (batch, head) base of a
// [B, H, ...] tensor and the tensor parameter with its strides, so the two
// printers (ChunkwiseEmitter.cpp, StepEmitter.cpp) spell them one way and
// the bundle writer's params line up with both.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_CODEGEN_RECURRENCE_RECURRENCEPARAMS_H
#define FLASHGEN_CODEGEN_RECURRENCE_RECURRENCEPARAMS_H

#include "codegen/CudaEmitter.h"
#include "codegen/ScalarPrinter.h"

namespace mlir::flash {

/// The manifest name of raw gate operand i of a scalar gate kind: the
/// mLSTM kinds' input and forget preactivations, else the log-decay g.
inline std::string rawGateTensorName(GateKind gate, unsigned i) {
  if (gate == GateKind::mlstm_exp || gate == GateKind::mlstm_sig)
    return i == 0 ? "igate" : "fgate";
  return "g";
}

/// `tensor` at (batch, head): C names of the pointer and its strides
/// `<tensor>_s0`, `<tensor>_s1`.
inline std::string batchHeadBase(llvm::StringRef tensor, llvm::StringRef batch,
                                 llvm::StringRef head) {
  return "(" + batchHeadOffset(tensor, batch, head) + ")";
}

/// A tensor parameter and its `rank` strides, recorded in `arguments`.
/// `restrict`: no other parameter reaches its memory (false for a state
/// the caller may pass as both initial and final).
inline void printTensorParameter(ParameterList &sep,
                                 std::vector<KernelArgument> &arguments,
                                 llvm::StringRef name, llvm::StringRef type,
                                 bool output, int rank, bool restrict = true) {
  sep() << (output ? "" : "const ") << type << (restrict ? "* __restrict__ " : "* ")
        << name;
  for (int d = 0; d < rank; ++d)
    sep() << "long long " << name << "_s" << d;
  arguments.push_back({KernelArgument::Kind::Tensor, name.str()});
}

/// The recurrence's state params, initial (c0, n0, m0) or final (cf, nf,
/// mf): C always, n with a normaliser, m with a stabiliser. C in and out
/// may be one buffer (the manifest's may_alias): not __restrict__.
inline void printStateParameters(ParameterList &sep,
                                 std::vector<KernelArgument> &arguments,
                                 bool output, bool normalizer, bool stabilizer) {
  const char *suffix = output ? "f" : "0";
  printTensorParameter(sep, arguments, std::string("c") + suffix, "float", output, 4,
                       /*restrict=*/false);
  if (normalizer)
    printTensorParameter(sep, arguments, std::string("n") + suffix, "float", output, 3);
  if (stabilizer)
    printTensorParameter(sep, arguments, std::string("m") + suffix, "float", output, 2);
}

} // namespace mlir::flash

#endif // FLASHGEN_CODEGEN_RECURRENCE_RECURRENCEPARAMS_H
