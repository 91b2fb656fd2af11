// flash-derive-backward on recurrences: a function holding one
// flash.linear_attention gets <name>_backward(q, k, v, gates..., do
// [, initial state] [, final-state gradient]) -> (dq, dk, dv, gate
// gradients [, initial-state gradient]) holding its
// flash.linear_attention_grad; the delta rule has no backward yet.
// RUN: flashgen-opt -flash-derive-backward %examples/decay.mlir | FileCheck %s --check-prefix=DECAY
// RUN: flashgen-opt -flash-derive-backward %examples/linear_plain.mlir | FileCheck %s --check-prefix=PLAIN
// RUN: flashgen-opt -flash-derive-backward %S/../unit/device/kernels/decay_states.mlir | FileCheck %s --check-prefix=STATES
// RUN: flashgen-opt -flash-derive-backward %S/../unit/device/kernels/decay_states.mlir | flashgen-opt > /dev/null
// RUN: flashgen-opt -flash-derive-backward %examples/delta_rule.mlir 2>&1 | FileCheck %s --check-prefix=DELTA

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
