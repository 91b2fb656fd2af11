// The examples through flash-derive-backward: each forward function is kept
// and followed by <name>_backward(q, k, v, o, do, lse) -> (dq, dk, dv).
// RUN: flashgen-opt -flash-derive-backward %examples/softcap.mlir | FileCheck %s --check-prefix=SOFTCAP
// RUN: flashgen-opt -flash-derive-backward %examples/alibi_causal.mlir | FileCheck %s --check-prefix=ALIBI
// RUN: flashgen-opt -flash-derive-backward %examples/causal_gqa.mlir | FileCheck %s --check-prefix=GQA
// RUN: flashgen-opt -flash-derive-backward=deterministic=true %examples/causal_gqa.mlir | FileCheck %s --check-prefix=DET
// RUN: flashgen-opt -flash-derive-backward %examples/sliding_window.mlir | FileCheck %s --check-prefix=WINDOW
// RUN: flashgen-opt -flash-derive-backward %examples/prefix_lm.mlir | FileCheck %s --check-prefix=PREFIX
// The output parses and verifies again.
// RUN: flashgen-opt -flash-derive-backward %examples/softcap.mlir | flashgen-opt > /dev/null

// Softcapping: d/ds 30 tanh(s/30) = 1 - tanh(s/30)^2, the constants 1/30 and 30
// folded away.
// SOFTCAP-LABEL: func.func @softcap(
// SOFTCAP: flash.attention
// SOFTCAP-LABEL: func.func @softcap_backward(
// SOFTCAP-SAME: %[[Q:.*]]: tensor<?x16x?x128xbf16>, %[[K:.*]]: tensor<?x16x?x128xbf16>, %[[V:.*]]: tensor<?x16x?x128xbf16>, %[[O:.*]]: tensor<?x16x?x128xbf16>, %[[DO:.*]]: tensor<?x16x?x128xbf16>, %[[LSE:.*]]: tensor<?x16x?xf32>)
// SOFTCAP-SAME: -> (tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>)
// SOFTCAP: %[[DQ:.*]], %[[DK:.*]], %[[DV:.*]] = flash.attention_grad %[[Q]], %[[K]], %[[V]], %[[O]], %[[DO]], %[[LSE]] dims ["B", "N", "N"] score_mod {
// SOFTCAP: math.tanh
// SOFTCAP: flash.yield
// SOFTCAP-NEXT: } score_grad {
// SOFTCAP-NEXT: ^bb0(%[[S:.*]]: f32, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index):
// SOFTCAP-NEXT: %[[CAP:.*]] = arith.constant 3.000000e+01 : f32
// SOFTCAP-NEXT: %[[X:.*]] = arith.divf %[[S]], %[[CAP]] : f32
// SOFTCAP-NEXT: %[[T:.*]] = math.tanh %[[X]] : f32
// SOFTCAP-NEXT: %[[T2:.*]] = arith.mulf %[[T]], %[[T]] : f32
// SOFTCAP-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// SOFTCAP-NEXT: %[[D:.*]] = arith.subf %[[ONE]], %[[T2]] : f32
// SOFTCAP-NEXT: flash.yield %[[D]] : f32
// SOFTCAP-NEXT: } :
// SOFTCAP-NEXT: return %[[DQ]], %[[DK]], %[[DV]]

// ALiBi: d/ds (s + bias) = 1; the bias computation is dropped.
// ALIBI-LABEL: func.func @alibi_causal_backward(
// ALIBI: flash.attention_grad {{.*}} mask causal dims ["B", "N", "N"] score_mod {
// ALIBI: math.exp2
// ALIBI: } score_grad {
// ALIBI-NEXT: ^bb0(
// ALIBI-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// ALIBI-NEXT: flash.yield %[[ONE]] : f32
// ALIBI-NEXT: } :

// Grouped-query attention: lse has q's heads; dk, dv have k's and v's types.
// GQA-LABEL: func.func @causal_gqa_backward(
// GQA-SAME: tensor<?x32x?xf32>) -> (tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>)
// GQA: flash.attention_grad {{.*}} mask causal dims ["B", "N", "N"] :
// GQA-NOT: score_grad
// GQA-NOT: deterministic
// DET: flash.attention_grad {{.*}} mask causal dims ["B", "N", "N"] deterministic :

// WINDOW-LABEL: func.func @sliding_window_backward(
// WINDOW: flash.attention_grad {{.*}} mask sliding_window window 256 dims ["B", "N", "N"] :

// mask_mod is copied; without score_mod there is no score_grad.
// PREFIX-LABEL: func.func @prefix_lm_backward(
// PREFIX: flash.attention_grad {{.*}} dims ["B", "N", "N"] mask_mod {
// PREFIX: arith.cmpi ult
// PREFIX: arith.ori
// PREFIX: flash.yield %{{.*}} : i1
// PREFIX-NEXT: } :
