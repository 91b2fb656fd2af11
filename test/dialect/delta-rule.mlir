// RUN: flashgen-opt %s | flashgen-opt | FileCheck %s
// RUN: flashgen-opt %s --mlir-print-op-generic | flashgen-opt | FileCheck %s
// RUN: flashgen-opt %s -flash-schedule="dims=batch=2,len=100" | FileCheck %s --check-prefix=SCHED
// RUN: not flashgen-opt %s -flash-schedule="dims=batch=2,len=100 algorithm=chunk_two_pass" 2>&1 | FileCheck %s --check-prefix=TWOPASS
// Round trip of flash.delta_rule's forms (docs/semantics.md §7); the
// scheduler gives each its fused chunk kernel (delta_fused), the only form
// the delta rule has: its chunk states depend on every earlier chunk's
// corrected values.

// CHECK-LABEL: func @deltanet
// CHECK: flash.delta_rule %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x4x100x64xbf16>, tensor<2x4x100x64xbf16>, tensor<2x4x100x32xbf16>, tensor<2x4x100xbf16> -> tensor<2x4x100x32xbf16>
// SCHED-LABEL: func @deltanet
// SCHED: flash.delta_rule {{.*}}flash.schedule = #flash.schedule<algorithm = chunk_fused
// SCHED-NOT: chunk_two_pass
// SCHED-LABEL: func @gated_with_states
// SCHED: flash.delta_rule {{.*}}flash.schedule = #flash.schedule<algorithm = chunk_fused
// TWOPASS: error: 'flash.delta_rule' op no chunkwise schedule on sm_90 for B=2 H=4 T=100 Dk=64 Dv=32 gate none, 2-byte elements: the delta rule has the fused chunk kernel only (chunk_fused), not 'chunk_two_pass'
func.func @deltanet(%q: tensor<2x4x100x64xbf16>, %k: tensor<2x4x100x64xbf16>, %v: tensor<2x4x100x32xbf16>, %beta: tensor<2x4x100xbf16>) -> tensor<2x4x100x32xbf16> {
  %o = flash.delta_rule %q, %k, %v, %beta : tensor<2x4x100x64xbf16>, tensor<2x4x100x64xbf16>, tensor<2x4x100x32xbf16>, tensor<2x4x100xbf16> -> tensor<2x4x100x32xbf16>
  return %o : tensor<2x4x100x32xbf16>
}

// CHECK-LABEL: func @gated_with_states
// CHECK: flash.delta_rule %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} decay(%{{.*}} : tensor<?x16x?xf32>) initial(%{{.*}} : tensor<?x16x128x256xf32>) l2norm_qk return_final_state scale 1.250000e-01 dims ["batch", "len"] : tensor<?x16x?x128xf16>, tensor<?x16x?x128xf16>, tensor<?x16x?x256xf16>, tensor<?x16x?xf32> -> tensor<?x16x?x256xf16>, tensor<?x16x128x256xf32>
func.func @gated_with_states(%q: tensor<?x16x?x128xf16>, %k: tensor<?x16x?x128xf16>, %v: tensor<?x16x?x256xf16>, %beta: tensor<?x16x?xf32>, %g: tensor<?x16x?xf32>, %s0: tensor<?x16x128x256xf32>) -> (tensor<?x16x?x256xf16>, tensor<?x16x128x256xf32>) {
  %o, %s = flash.delta_rule %q, %k, %v, %beta decay(%g : tensor<?x16x?xf32>) initial(%s0 : tensor<?x16x128x256xf32>) l2norm_qk return_final_state scale 0.125 dims ["batch", "len"] : tensor<?x16x?x128xf16>, tensor<?x16x?x128xf16>, tensor<?x16x?x256xf16>, tensor<?x16x?xf32> -> tensor<?x16x?x256xf16>, tensor<?x16x128x256xf32>
  return %o, %s : tensor<?x16x?x256xf16>, tensor<?x16x128x256xf32>
}
