// A kernel whose code equals an earlier variant's but for its name is
// written once, and the later variants' sources and launches name that
// file and entry: decay's gradient variants differ in the state passes'
// value tiles (tile_dv) and stages, which the chunk kernel does not read,
// so variant 0's chunk kernel serves all four, while each state pass keeps
// its own file.
// RUN: rm -rf %t && flashgen compile %S/../../examples/decay.mlir --backward -o %t/b --target sm_90 --dim B=16 --dim T=4096 > /dev/null
// RUN: FileCheck %s < %t/b/manifest.json
// RUN: ls %t/b | FileCheck %s --check-prefix=FILES

// CHECK: "name": "decay_backward"
// CHECK: "entry": "flashgen_decay_backward_v0_grad_chunk"
// CHECK: "sources": [
// CHECK-NEXT: "decay_backward_v0_states.cu",
// CHECK-NEXT: "decay_backward_v0_grad_states.cu",
// CHECK-NEXT: "decay_backward_v0_grad_chunk.cu"
// CHECK: "entry": "flashgen_decay_backward_v1_states"
// CHECK: "entry": "flashgen_decay_backward_v1_grad_states"
// CHECK: "entry": "flashgen_decay_backward_v0_grad_chunk"
// CHECK: "sources": [
// CHECK-NEXT: "decay_backward_v1_states.cu",
// CHECK-NEXT: "decay_backward_v1_grad_states.cu",
// CHECK-NEXT: "decay_backward_v0_grad_chunk.cu"

// FILES: decay_backward_v0_grad_chunk.cu
// FILES-NOT: decay_backward_v1_grad_chunk.cu
// FILES: decay_backward_v1_states.cu
