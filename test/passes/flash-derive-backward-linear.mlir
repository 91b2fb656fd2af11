// flash-derive-backward on recurrences: a function holding one
// flash.linear_attention gets <name>_backward(q, k, v, gates..., do
// [, initial state] [, final-state gradient]) -> (dq, dk, dv, gate
// gradients [, initial-state gradient]) holding its
// flash.linear_attention_grad; the normaliser kinds (mlstm_sig,
// mlstm_exp) also take the forward's o before do and its row normalisers
// norm after it: (q, k, v, gates..., o, do, norm, ...), passed to the grad
// op as saved(o, norm). The delta rule has no backward yet.
// RUN: flashgen-opt -flash-derive-backward %examples/decay.mlir | FileCheck %s --check-prefix=DECAY
// RUN: flashgen-opt -flash-derive-backward %examples/linear_plain.mlir | FileCheck %s --check-prefix=PLAIN
// RUN: flashgen-opt -flash-derive-backward %S/../unit/device/kernels/decay_states.mlir | FileCheck %s --check-prefix=STATES
// RUN: flashgen-opt -flash-derive-backward %S/../unit/device/kernels/decay_states.mlir | flashgen-opt > /dev/null
// RUN: flashgen-opt -flash-derive-backward %examples/delta_rule.mlir 2>&1 | FileCheck %s --check-prefix=DELTA
// RUN: flashgen-opt -flash-derive-backward %examples/mlstm_sig.mlir | FileCheck %s --check-prefix=SIG
// RUN: flashgen-opt -flash-derive-backward %examples/mlstm_sig.mlir | flashgen-opt > /dev/null
// RUN: flashgen-opt -flash-derive-backward %examples/mlstm.mlir | FileCheck %s --check-prefix=EXP

// DECAY-LABEL: func.func @decay_backward(
// DECAY-SAME: %[[Q:[^:]*]]: tensor<?x16x?x128xbf16>, %[[K:[^:]*]]: tensor<?x16x?x128xbf16>, %[[V:[^:]*]]: tensor<?x16x?x128xbf16>, %[[G:[^:]*]]: tensor<?x16x?xf32>, %[[DO:[^:]*]]: tensor<?x16x?x128xbf16>)
// DECAY-SAME: -> (tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?xf32>)
// DECAY: flash.linear_attention_grad %[[Q]], %[[K]], %[[V]], %[[DO]] gate decay gates(%[[G]] : tensor<?x16x?xf32>) dims ["B", "T"]
// DECAY-SAME: gates(tensor<?x16x?xf32>)

// PLAIN-LABEL: func.func @linear_plain_backward(
// PLAIN: %[[DQ:.*]], %[[DK:.*]], %[[DV:.*]] = flash.linear_attention_grad
// PLAIN-NOT: gates(
// PLAIN: return %[[DQ]], %[[DK]], %[[DV]]

// The forward takes C0 and returns the final state: the backward takes C0
// and the final state's gradient after do, and returns C0's gradient last.
// STATES-LABEL: func.func @decay_states_backward(
// STATES-SAME: %[[G:arg3]]: tensor<?x4x?xf32>, %[[DO:arg4]]: tensor<?x4x?x128xbf16>, %[[C0:arg5]]: tensor<?x4x64x128xf32>, %[[DCF:arg6]]: tensor<?x4x64x128xf32>)
// STATES-SAME: -> ({{.*}}, tensor<?x4x?xf32>, tensor<?x4x64x128xf32>)
// STATES: flash.linear_attention_grad %arg0, %arg1, %arg2, %[[DO]] gate decay gates(%[[G]] : tensor<?x4x?xf32>) initial(%[[C0]] : tensor<?x4x64x128xf32>) final_grad(%[[DCF]] : tensor<?x4x64x128xf32>)
// STATES-SAME: gates(tensor<?x4x?xf32>) initial(tensor<?x4x64x128xf32>)

// DELTA: warning: flash-derive-backward: the delta rule has no backward yet; @delta_rule gets no backward function
// DELTA-NOT: func.func @delta_rule_backward

// mlstm_sig (with initial state and final-state gradient): o before do, norm
// [B, H, T, 2] f32 after it, then the initial state and the final state's
// gradient; the grad op reads o and norm as saved(o, norm), in that order.
// SIG-LABEL: func.func @mlstm_sig_backward(
// SIG-SAME: %[[Q:arg0]]: tensor<?x16x?x128xbf16>, %[[K:arg1]]: tensor<?x16x?x128xbf16>, %[[V:arg2]]: tensor<?x16x?x128xbf16>,
// SIG-SAME: %[[I:arg3]]: tensor<?x16x?xf32>, %[[F:arg4]]: tensor<?x16x?xf32>,
// SIG-SAME: %[[O:arg5]]: tensor<?x16x?x128xbf16>, %[[DO:arg6]]: tensor<?x16x?x128xbf16>, %[[NORM:arg7]]: tensor<?x16x?x2xf32>,
// SIG-SAME: %[[C0:arg8]]: tensor<?x16x128x128xf32>, %[[N0:arg9]]: tensor<?x16x128xf32>,
// SIG-SAME: %[[DCF:arg10]]: tensor<?x16x128x128xf32>, %[[DNF:arg11]]: tensor<?x16x128xf32>)
// SIG-SAME: -> (tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?xf32>, tensor<?x16x?xf32>, tensor<?x16x128x128xf32>, tensor<?x16x128xf32>)
// SIG: flash.linear_attention_grad %[[Q]], %[[K]], %[[V]], %[[DO]] gate mlstm_sig
// SIG-SAME: saved(%[[O]], %[[NORM]] : tensor<?x16x?x128xbf16>, tensor<?x16x?x2xf32>)
// SIG-SAME: gates(%[[I]], %[[F]] : tensor<?x16x?xf32>, tensor<?x16x?xf32>)
// SIG-SAME: initial(%[[C0]], %[[N0]] : {{.*}}) final_grad(%[[DCF]], %[[DNF]] : {{.*}})

// mlstm_exp, no states: (q, k, v, i, f, o, do, norm).
// EXP-LABEL: func.func @mlstm_backward(
// EXP-SAME: %[[I:arg3]]: tensor<?x8x?xf32>, %[[F:arg4]]: tensor<?x8x?xf32>, %[[O:arg5]]: tensor<?x8x?x512xbf16>, %[[DO:arg6]]: tensor<?x8x?x512xbf16>, %[[NORM:arg7]]: tensor<?x8x?x2xf32>)
// EXP-SAME: -> (tensor<?x8x?x256xbf16>, tensor<?x8x?x256xbf16>, tensor<?x8x?x512xbf16>, tensor<?x8x?xf32>, tensor<?x8x?xf32>)
// EXP: flash.linear_attention_grad %arg0, %arg1, %arg2, %[[DO]] gate mlstm_exp saved(%[[O]], %[[NORM]] : tensor<?x8x?x512xbf16>, tensor<?x8x?x2xf32>) gates(%[[I]], %[[F]] :
