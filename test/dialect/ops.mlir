// RUN: flashgen-opt %s | flashgen-opt | FileCheck %s
// RUN: flashgen-opt %s --mlir-print-op-generic | flashgen-opt | FileCheck %s
// Round trip of every op form and attribute of the flash dialect.

// CHECK-LABEL: func @plain
// CHECK: flash.attention %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x8x100x64xf16>
func.func @plain(%q: tensor<2x8x100x64xf16>, %k: tensor<2x8x77x64xf16>, %v: tensor<2x8x77x32xf16>) -> tensor<2x8x100x32xf16> {
  %o = flash.attention %q, %k, %v : tensor<2x8x100x64xf16>, tensor<2x8x77x64xf16>, tensor<2x8x77x32xf16> -> tensor<2x8x100x32xf16>
  return %o : tensor<2x8x100x32xf16>
}

// CHECK-LABEL: func @causal_gqa_dynamic
// CHECK: flash.attention %{{.*}} mask causal scale 1.250000e-01 dims ["B", "N", "N"] : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>
func.func @causal_gqa_dynamic(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>) -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal scale 0.125 dims ["B", "N", "N"] : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}

// CHECK-LABEL: func @mqa_window_f32
// CHECK: flash.attention {{.*}} mask sliding_window window 128 dims ["Batch", "Q", "K"]
func.func @mqa_window_f32(%q: tensor<?x4x?x32xf32>, %k: tensor<?x1x?x32xf32>, %v: tensor<?x1x?x32xf32>) -> tensor<?x4x?x32xf32> {
  %o = flash.attention %q, %k, %v mask sliding_window window 128 dims ["Batch", "Q", "K"] : tensor<?x4x?x32xf32>, tensor<?x1x?x32xf32>, tensor<?x1x?x32xf32> -> tensor<?x4x?x32xf32>
  return %o : tensor<?x4x?x32xf32>
}

// CHECK-LABEL: func @mods
// CHECK: flash.attention {{.*}} score_mod {
// CHECK-NEXT: ^bb0(%{{.*}}: f32, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index):
// CHECK: math.tanh
// CHECK: flash.yield %{{.*}} : f32
// CHECK: } mask_mod {
// CHECK: arith.cmpi
// CHECK: flash.yield %{{.*}} : i1
func.func @mods(%q: tensor<1x2x16x64xbf16>, %k: tensor<1x2x16x64xbf16>, %v: tensor<1x2x16x64xbf16>) -> tensor<1x2x16x64xbf16> {
  %o = flash.attention %q, %k, %v score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %t = math.tanh %s : f32
    flash.yield %t : f32
  } mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.cmpi ule, %j, %i : index
    flash.yield %c : i1
  } : tensor<1x2x16x64xbf16>, tensor<1x2x16x64xbf16>, tensor<1x2x16x64xbf16> -> tensor<1x2x16x64xbf16>
  return %o : tensor<1x2x16x64xbf16>
}

// CHECK-LABEL: func @linear_none
// CHECK: flash.linear_attention %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x4x?x64xbf16>
// CHECK-NOT: gate
func.func @linear_none(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>) -> tensor<?x4x?x32xbf16> {
  %o = flash.linear_attention %q, %k, %v : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16> -> tensor<?x4x?x32xbf16>
  return %o : tensor<?x4x?x32xbf16>
}

// CHECK-LABEL: func @linear_decay
// CHECK: flash.linear_attention {{.*}} gate decay gates(%{{.*}} : tensor<?x4x?xf32>) scale 5.000000e-01 dims ["Bt", "L"]
func.func @linear_decay(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x64xbf16>, %g: tensor<?x4x?xf32>) -> tensor<?x4x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x4x?xf32>) scale 0.5 dims ["Bt", "L"] : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}

// CHECK-LABEL: func @linear_vector_state
// CHECK: flash.linear_attention {{.*}} gate vector gates({{.*}}) initial(%{{.*}} : tensor<?x4x64x32xf32>) return_final_state
// CHECK-SAME: -> tensor<?x4x?x32xf16>, tensor<?x4x64x32xf32>
func.func @linear_vector_state(%q: tensor<?x4x?x64xf16>, %k: tensor<?x4x?x64xf16>, %v: tensor<?x4x?x32xf16>, %g: tensor<?x4x?x64xf32>, %s: tensor<?x4x64x32xf32>) -> tensor<?x4x64x32xf32> {
  %o, %f = flash.linear_attention %q, %k, %v gate vector gates(%g : tensor<?x4x?x64xf32>) initial(%s : tensor<?x4x64x32xf32>) return_final_state : tensor<?x4x?x64xf16>, tensor<?x4x?x64xf16>, tensor<?x4x?x32xf16> -> tensor<?x4x?x32xf16>, tensor<?x4x64x32xf32>
  return %f : tensor<?x4x64x32xf32>
}

// CHECK-LABEL: func @mlstm_exp_full_state
// CHECK: gate mlstm_exp gates({{.*}}) initial({{.*}} : tensor<?x8x256x512xf32>, tensor<?x8x256xf32>, tensor<?x8xf32>) return_final_state
func.func @mlstm_exp_full_state(%q: tensor<?x8x?x256xbf16>, %k: tensor<?x8x?x256xbf16>, %v: tensor<?x8x?x512xbf16>, %i: tensor<?x8x?xf32>, %f: tensor<?x8x?xf32>, %c: tensor<?x8x256x512xf32>, %n: tensor<?x8x256xf32>, %m: tensor<?x8xf32>) -> tensor<?x8x?x512xbf16> {
  %o, %c1, %n1, %m1 = flash.linear_attention %q, %k, %v gate mlstm_exp gates(%i, %f : tensor<?x8x?xf32>, tensor<?x8x?xf32>) initial(%c, %n, %m : tensor<?x8x256x512xf32>, tensor<?x8x256xf32>, tensor<?x8xf32>) return_final_state : tensor<?x8x?x256xbf16>, tensor<?x8x?x256xbf16>, tensor<?x8x?x512xbf16> -> tensor<?x8x?x512xbf16>, tensor<?x8x256x512xf32>, tensor<?x8x256xf32>, tensor<?x8xf32>
  return %o : tensor<?x8x?x512xbf16>
}

// CHECK-LABEL: func @mlstm_sig
// CHECK: gate mlstm_sig gates(
func.func @mlstm_sig(%q: tensor<2x4x100x64xbf16>, %k: tensor<2x4x100x64xbf16>, %v: tensor<2x4x100x64xbf16>, %i: tensor<2x4x100xbf16>, %f: tensor<2x4x100xbf16>) -> tensor<2x4x100x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate mlstm_sig gates(%i, %f : tensor<2x4x100xbf16>, tensor<2x4x100xbf16>) : tensor<2x4x100x64xbf16>, tensor<2x4x100x64xbf16>, tensor<2x4x100x64xbf16> -> tensor<2x4x100x64xbf16>
  return %o : tensor<2x4x100x64xbf16>
}

// The normaliser kinds' gradient reads the forward's o and norm.
// CHECK-LABEL: func @mlstm_sig_grad
// CHECK: flash.linear_attention_grad %arg0, %arg1, %arg2, %arg6 gate mlstm_sig saved(%arg5, %arg7 : tensor<?x4x?x64xbf16>, tensor<?x4x?x2xf32>) gates(%arg3, %arg4 :
func.func @mlstm_sig_grad(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x64xbf16>, %i: tensor<?x4x?xf32>, %f: tensor<?x4x?xf32>, %o: tensor<?x4x?x64xbf16>, %do: tensor<?x4x?x64xbf16>, %norm: tensor<?x4x?x2xf32>) -> tensor<?x4x?x64xbf16> {
  %dq, %dk, %dv, %di, %df = flash.linear_attention_grad %q, %k, %v, %do gate mlstm_sig saved(%o, %norm : tensor<?x4x?x64xbf16>, tensor<?x4x?x2xf32>) gates(%i, %f : tensor<?x4x?xf32>, tensor<?x4x?xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> gates(tensor<?x4x?xf32>, tensor<?x4x?xf32>)
  return %dq : tensor<?x4x?x64xbf16>
}
