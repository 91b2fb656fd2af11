// RUN: flashgen-opt %s -flash-schedule="dims=B=2,T=4096 top-k=1 algorithm=chunk_fused" -flash-lower-kernels | FileCheck %s
// Which output_mod reads the chunk kernels stage (passes/StagedExtras.h):
// an f32 extra read at the output's own row (t) and column (d), per-CTA
// indices elsewhere, its row dim the op's length and its column dim Dv,
// is copied with each chunk (flash.chunk_extra_load beside v's copy) and
// read from shared memory (flash.chunk_extra_read); any other read stays
// a load, and with more than two qualifying reads none is staged.

// CHECK-LABEL: flash.kernel @own_position_v0
// CHECK: %[[IDS:.*]]:3 = flash.grid_map ["value_tile", "head", "batch"]
// CHECK: %[[GATE:.*]] = flash.extra "gate"
// CHECK: flash.chunk_load v[
// CHECK-NEXT: flash.chunk_extra_load %[[GATE]][%[[IDS]]#1, %[[IDS]]#2] slot 0 rows {{[0-9]+}} at 2 cols {{[0-9]+}} at 3
// CHECK: flash.chunk_store o[{{.*}}] extent {{.*}} output_mod {
// CHECK-NEXT: ^bb0(%{{.*}}: f32, %{{.*}}: index, %{{.*}}: index, %[[ROW:.*]]: index, %[[COL:.*]]: index):
// CHECK-NEXT: %{{.*}} = flash.chunk_extra_read 0[%[[ROW]], %[[COL]]]
// CHECK-NOT: tensor.extract
// CHECK: flash.yield
func.func @own_position(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                        %v: tensor<?x2x?x64xbf16>, %gate: tensor<2x?x?x64xf32>)
    -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"]
      extras(%gate : tensor<2x?x?x64xf32>) names ["gate"] extra_dims [["B", "T"]]
      output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index, %g: tensor<2x?x?x64xf32>):
    %z = tensor.extract %g[%h, %b, %t, %d] : tensor<2x?x?x64xf32>
    %r = arith.mulf %x, %z : f32
    flash.yield %r : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// The previous row's gate, and a gate broadcast over d: loads as before.
// CHECK-LABEL: flash.kernel @shifted_v0
// CHECK-NOT: flash.chunk_extra_load
// CHECK: flash.chunk_store o[{{.*}}] extent {{.*}} output_mod {
// CHECK: tensor.extract
// CHECK: tensor.extract
// CHECK-NOT: flash.chunk_extra_read
// CHECK: flash.yield
func.func @shifted(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                   %v: tensor<?x2x?x64xbf16>, %gate: tensor<?x?x2x64xf32>, %s: tensor<?x?x2xf32>)
    -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"]
      extras(%gate, %s : tensor<?x?x2x64xf32>, tensor<?x?x2xf32>) names ["gate", "s"]
      extra_dims [["B", "T"], ["B", "T"]]
      output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index, %g: tensor<?x?x2x64xf32>, %sc: tensor<?x?x2xf32>):
    %one = arith.constant 1 : index
    %prev = arith.subi %t, %one : index
    %z = tensor.extract %g[%b, %prev, %h, %d] : tensor<?x?x2x64xf32>
    %w = tensor.extract %sc[%b, %t, %h] : tensor<?x?x2xf32>
    %r = arith.mulf %x, %z : f32
    %r2 = arith.mulf %r, %w : f32
    flash.yield %r2 : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// Three qualifying reads: more than the ring takes, so none is staged.
// CHECK-LABEL: flash.kernel @three_gates_v0
// CHECK-NOT: flash.chunk_extra_load
// CHECK: flash.chunk_store o[{{.*}}] extent {{.*}} output_mod {
// CHECK-NOT: flash.chunk_extra_read
// CHECK: flash.yield
func.func @three_gates(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                       %v: tensor<?x2x?x64xbf16>, %g1: tensor<?x?x2x64xf32>,
                       %g2: tensor<?x?x2x64xf32>, %g3: tensor<?x?x2x64xf32>)
    -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"]
      extras(%g1, %g2, %g3 : tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>)
      names ["g1", "g2", "g3"] extra_dims [["B", "T"], ["B", "T"], ["B", "T"]]
      output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index, %a1: tensor<?x?x2x64xf32>, %a2: tensor<?x?x2x64xf32>, %a3: tensor<?x?x2x64xf32>):
    %z1 = tensor.extract %a1[%b, %t, %h, %d] : tensor<?x?x2x64xf32>
    %z2 = tensor.extract %a2[%b, %t, %h, %d] : tensor<?x?x2x64xf32>
    %z3 = tensor.extract %a3[%b, %t, %h, %d] : tensor<?x?x2x64xf32>
    %r1 = arith.mulf %x, %z1 : f32
    %r2 = arith.mulf %r1, %z2 : f32
    %r3 = arith.mulf %r2, %z3 : f32
    flash.yield %r3 : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}
