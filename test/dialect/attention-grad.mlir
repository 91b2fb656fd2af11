// RUN: flashgen-opt %s | flashgen-opt | FileCheck %s
// RUN: flashgen-opt %s --mlir-print-op-generic | flashgen-opt | FileCheck %s
// Round trip of flash.attention_grad: operands, attributes, the three regions.

// CHECK-LABEL: func @plain_static
// CHECK: %dq, %dk, %dv = flash.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x8x100x64xf16>, tensor<2x8x77x64xf16>, tensor<2x8x77x32xf16>, tensor<2x8x100x32xf16>, tensor<2x8x100x32xf16>, tensor<2x8x100xf32> -> tensor<2x8x100x64xf16>, tensor<2x8x77x64xf16>, tensor<2x8x77x32xf16>
func.func @plain_static(%q: tensor<2x8x100x64xf16>, %k: tensor<2x8x77x64xf16>, %v: tensor<2x8x77x32xf16>,
                        %o: tensor<2x8x100x32xf16>, %do: tensor<2x8x100x32xf16>, %lse: tensor<2x8x100xf32>)
    -> (tensor<2x8x100x64xf16>, tensor<2x8x77x64xf16>, tensor<2x8x77x32xf16>) {
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse
      : tensor<2x8x100x64xf16>, tensor<2x8x77x64xf16>, tensor<2x8x77x32xf16>, tensor<2x8x100x32xf16>, tensor<2x8x100x32xf16>, tensor<2x8x100xf32>
      -> tensor<2x8x100x64xf16>, tensor<2x8x77x64xf16>, tensor<2x8x77x32xf16>
  return %dq, %dk, %dv : tensor<2x8x100x64xf16>, tensor<2x8x77x64xf16>, tensor<2x8x77x32xf16>
}

// CHECK-LABEL: func @window_gqa_deterministic
// CHECK: flash.attention_grad {{.*}} mask sliding_window window 64 scale 1.250000e-01 dims ["B", "N", "N"] deterministic :
func.func @window_gqa_deterministic(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>,
                                    %o: tensor<?x8x?x64xbf16>, %do: tensor<?x8x?x64xbf16>, %lse: tensor<?x8x?xf32>)
    -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>) {
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse mask sliding_window window 64 scale 0.125 dims ["B", "N", "N"] deterministic
      : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?xf32>
      -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
}

// CHECK-LABEL: func @regions
// CHECK: flash.attention_grad {{.*}} mask causal score_mod {
// CHECK: math.tanh
// CHECK: } mask_mod {
// CHECK: arith.cmpi
// CHECK: } score_grad {
// CHECK: arith.subf
// CHECK: flash.yield %{{.*}} : f32
// CHECK-NEXT: } :
func.func @regions(%q: tensor<?x4x?x32xf32>, %k: tensor<?x4x?x32xf32>, %v: tensor<?x4x?x32xf32>,
                   %o: tensor<?x4x?x32xf32>, %do: tensor<?x4x?x32xf32>, %lse: tensor<?x4x?xf32>)
    -> (tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>) {
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse mask causal score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %t = math.tanh %s : f32
    flash.yield %t : f32
  } mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %keep = arith.cmpi sge, %i, %j : index
    flash.yield %keep : i1
  } score_grad {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %t = math.tanh %s : f32
    %t2 = arith.mulf %t, %t : f32
    %one = arith.constant 1.0 : f32
    %d = arith.subf %one, %t2 : f32
    flash.yield %d : f32
  } : tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>, tensor<?x4x?xf32>
      -> tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>
  return %dq, %dk, %dv : tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>
}
