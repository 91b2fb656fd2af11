// RUN: flashgen-opt -flash-derive-backward %s | FileCheck %s
// RUN: flashgen-opt -flash-derive-backward %s | flashgen-opt > /dev/null
// score_grad as flash-derive-backward builds it, one differentiation rule
// per function: constant tangents fold, zero tangents vanish, ops only the
// primal score needed are dropped.

// The identity's derivative is the constant 1.
// CHECK-LABEL: func.func @identity_backward(
// CHECK: } score_grad {
// CHECK-NEXT: ^bb0(
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: flash.yield %[[ONE]] : f32
// CHECK-NEXT: } :
func.func @identity(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) -> tensor<?x2x?x16xf32> {
  %o = flash.attention %q, %k, %v score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    flash.yield %s : f32
  } : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return %o : tensor<?x2x?x16xf32>
}


// A score_mod that ignores the score has derivative 0.
// CHECK-LABEL: func.func @constant_score_backward(
// CHECK: } score_grad {
// CHECK-NEXT: ^bb0(
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: flash.yield %[[ZERO]] : f32
// CHECK-NEXT: } :
func.func @constant_score(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) -> tensor<?x2x?x16xf32> {
  %o = flash.attention %q, %k, %v score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %c = arith.constant 2.0 : f32
    flash.yield %c : f32
  } : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return %o : tensor<?x2x?x16xf32>
}


// Leaky ReLU: the comparison stays primal, the select picks the branches'
// tangents (0.5 and 1).
// CHECK-LABEL: func.func @select_cmp_backward(
// CHECK: } score_grad {
// CHECK-NEXT: ^bb0(%[[S:[^:]*]]: f32
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT: %[[NEG:.*]] = arith.cmpf olt, %[[S]], %[[ZERO]] : f32
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[D:.*]] = arith.select %[[NEG]], %[[HALF]], %[[ONE]] : f32
// CHECK-NEXT: flash.yield %[[D]] : f32
func.func @select_cmp(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) -> tensor<?x2x?x16xf32> {
  %o = flash.attention %q, %k, %v score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %zero = arith.constant 0.0 : f32
    %half = arith.constant 0.5 : f32
    %neg = arith.cmpf olt, %s, %zero : f32
    %leak = arith.mulf %s, %half : f32
    %r = arith.select %neg, %leak, %s : f32
    flash.yield %r : f32
  } : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return %o : tensor<?x2x?x16xf32>
}


// Clamping: each max/min passes the tangent of the operand it selects.
// CHECK-LABEL: func.func @max_min_backward(
// CHECK: } score_grad {
// CHECK-NEXT: ^bb0(%[[S:[^:]*]]: f32
// CHECK-NEXT: %[[LO:.*]] = arith.constant -5.000000e+00 : f32
// CHECK-NEXT: %[[HI:.*]] = arith.constant 5.000000e+00 : f32
// CHECK-NEXT: %[[A:.*]] = arith.maximumf %[[S]], %[[LO]] : f32
// CHECK-NEXT: %[[ABOVE:.*]] = arith.cmpf oge, %[[S]], %[[LO]] : f32
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[DA:.*]] = arith.select %[[ABOVE]], %[[ONE]], %[[ZERO]] : f32
// CHECK-NEXT: %[[BELOW:.*]] = arith.cmpf ole, %[[A]], %[[HI]] : f32
// CHECK-NEXT: %[[D:.*]] = arith.select %[[BELOW]], %[[DA]], %[[ZERO]] : f32
// CHECK-NEXT: flash.yield %[[D]] : f32
func.func @max_min(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) -> tensor<?x2x?x16xf32> {
  %o = flash.attention %q, %k, %v score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %lo = arith.constant -5.0 : f32
    %hi = arith.constant 5.0 : f32
    %a = arith.maximumf %s, %lo : f32
    %r = arith.minnumf %a, %hi : f32
    flash.yield %r : f32
  } : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return %o : tensor<?x2x?x16xf32>
}


// softplus log(exp(s) + 1): exp(s) / (exp(s) + 1).
// CHECK-LABEL: func.func @exp_log_backward(
// CHECK: } score_grad {
// CHECK-NEXT: ^bb0(%[[S:[^:]*]]: f32
// CHECK-NEXT: %[[E:.*]] = math.exp %[[S]] : f32
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[P:.*]] = arith.addf %[[E]], %[[ONE]] : f32
// CHECK-NEXT: %[[D:.*]] = arith.divf %[[E]], %[[P]] : f32
// CHECK-NEXT: flash.yield %[[D]] : f32
func.func @exp_log(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) -> tensor<?x2x?x16xf32> {
  %o = flash.attention %q, %k, %v score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %e = math.exp %s : f32
    %one = arith.constant 1.0 : f32
    %p = arith.addf %e, %one : f32
    %r = math.log %p : f32
    flash.yield %r : f32
  } : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return %o : tensor<?x2x?x16xf32>
}


// s * s: both factors' tangents, summed into 2 s.
// CHECK-LABEL: func.func @square_backward(
// CHECK: } score_grad {
// CHECK-NEXT: ^bb0(%[[S:[^:]*]]: f32
// CHECK-NEXT: %[[TWO:.*]] = arith.constant 2.000000e+00 : f32
// CHECK-NEXT: %[[D:.*]] = arith.mulf %[[S]], %[[TWO]] : f32
// CHECK-NEXT: flash.yield %[[D]] : f32
func.func @square(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) -> tensor<?x2x?x16xf32> {
  %o = flash.attention %q, %k, %v score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %r = arith.mulf %s, %s : f32
    flash.yield %r : f32
  } : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return %o : tensor<?x2x?x16xf32>
}


// 1 / s: -(1 / s) / s.
// CHECK-LABEL: func.func @reciprocal_backward(
// CHECK: } score_grad {
// CHECK-NEXT: ^bb0(%[[S:[^:]*]]: f32
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[R:.*]] = arith.divf %[[ONE]], %[[S]] : f32
// CHECK-NEXT: %[[Q:.*]] = arith.divf %[[R]], %[[S]] : f32
// CHECK-NEXT: %[[D:.*]] = arith.negf %[[Q]] : f32
// CHECK-NEXT: flash.yield %[[D]] : f32
func.func @reciprocal(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) -> tensor<?x2x?x16xf32> {
  %o = flash.attention %q, %k, %v score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %one = arith.constant 1.0 : f32
    %r = arith.divf %one, %s : f32
    flash.yield %r : f32
  } : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return %o : tensor<?x2x?x16xf32>
}


// floor and fptosi are piecewise constant: derivative 0, nothing else kept.
// CHECK-LABEL: func.func @floor_step_backward(
// CHECK: } score_grad {
// CHECK-NEXT: ^bb0(
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: flash.yield %[[ZERO]] : f32
func.func @floor_step(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) -> tensor<?x2x?x16xf32> {
  %o = flash.attention %q, %k, %v score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %f = math.floor %s : f32
    %n = arith.fptosi %s : f32 to i32
    %g = arith.sitofp %n : i32 to f32
    %r = arith.addf %f, %g : f32
    flash.yield %r : f32
  } : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return %o : tensor<?x2x?x16xf32>
}


// powf(|s|, 2) with a constant exponent: 2 |s|^1 sign(s).
// CHECK-LABEL: func.func @power_backward(
// CHECK: } score_grad {
// CHECK-NEXT: ^bb0(%[[S:[^:]*]]: f32
// CHECK-NEXT: %[[TWO:.*]] = arith.constant 2.000000e+00 : f32
// CHECK-NEXT: %[[A:.*]] = math.absf %[[S]] : f32
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[POS:.*]] = arith.cmpf oge, %[[S]], %[[ZERO]] : f32
// CHECK-NEXT: %[[M1:.*]] = arith.constant -1.000000e+00 : f32
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[SIGN:.*]] = arith.select %[[POS]], %[[ONE]], %[[M1]] : f32
// CHECK-NEXT: %[[P:.*]] = math.powf %[[A]], %[[ONE]] : f32
// CHECK-NEXT: %[[PS:.*]] = arith.mulf %[[P]], %[[SIGN]] : f32
// CHECK-NEXT: %[[D:.*]] = arith.mulf %[[PS]], %[[TWO]] : f32
// CHECK-NEXT: flash.yield %[[D]] : f32
func.func @power(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) -> tensor<?x2x?x16xf32> {
  %o = flash.attention %q, %k, %v score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %two = arith.constant 2.0 : f32
    %a = math.absf %s : f32
    %r = math.powf %a, %two : f32
    flash.yield %r : f32
  } : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return %o : tensor<?x2x?x16xf32>
}

// A block mask: the backward takes the kv lists after lse, then their
// transposes (per key block, the query blocks: [B|1, Hq|1, cdiv(M, Kb)]
// and [.., cdiv(N, Qb)], each with its kv pair's batch and heads), and its
// k is a block_mask view that carries both.
// CHECK-LABEL: func.func @sparse_backward(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<?x4x1000x64xbf16>, %[[K:[^:]*]]: tensor<?x2x600x64xbf16>, %[[V:[^:]*]]: tensor<?x2x600x64xbf16>,
// CHECK-SAME: tensor<?x4x1000xf32>, %[[C:[^:]*]]: tensor<?x1x8xi32>, %[[I:[^:]*]]: tensor<?x1x8x10xi32>, %[[FC:[^:]*]]: tensor<1x4x8xi32>, %[[FI:[^:]*]]: tensor<1x4x8x10xi32>,
// CHECK-SAME: %[[QC:[^:]*]]: tensor<?x1x10xi32>, %[[QI:[^:]*]]: tensor<?x1x10x8xi32>, %[[FQC:[^:]*]]: tensor<1x4x10xi32>, %[[FQI:[^:]*]]: tensor<1x4x10x8xi32>)
// CHECK: %[[KS:.*]] = flash.block_mask %[[K]][%[[C]], %[[I]]] full[%[[FC]], %[[FI]]] transposed[%[[QC]], %[[QI]] : tensor<?x1x10xi32>, tensor<?x1x10x8xi32>] full_transposed[%[[FQC]], %[[FQI]] : tensor<1x4x10xi32>, tensor<1x4x10x8xi32>] block [128, 64]
// CHECK: flash.attention_grad %[[Q]], %[[KS]], %[[V]],
func.func @sparse(%q: tensor<?x4x1000x64xbf16>, %k: tensor<?x2x600x64xbf16>, %v: tensor<?x2x600x64xbf16>,
                  %c: tensor<?x1x8xi32>, %i: tensor<?x1x8x10xi32>,
                  %fc: tensor<1x4x8xi32>, %fi: tensor<1x4x8x10xi32>) -> tensor<?x4x1000x64xbf16> {
  %ks = flash.block_mask %k[%c, %i] full [%fc, %fi] block [128, 64]
      : tensor<?x2x600x64xbf16>, tensor<?x1x8xi32>, tensor<?x1x8x10xi32>,
        tensor<1x4x8xi32>, tensor<1x4x8x10xi32> -> tensor<?x2x600x64xbf16>
  %o = flash.attention %q, %ks, %v mask causal
      : tensor<?x4x1000x64xbf16>, tensor<?x2x600x64xbf16>, tensor<?x2x600x64xbf16> -> tensor<?x4x1000x64xbf16>
  return %o : tensor<?x4x1000x64xbf16>
}
