// A step kernel keeps everything between tokens in registers, so its
// variants ask the runtime for no scratch; the chunkwise delta-rule kernels
// planned for long sequences keep their per-chunk WY buffers. (A step
// variant once carried delta_w with the shape cdiv(T,0)*0, which the
// runtime refused at launch.)
// RUN: rm -rf %t && flashgen compile %S/../../examples/gated_delta_rule.mlir -o %t/step --dim B=64 --dim T=1 --top-k 3 > /dev/null
// RUN: FileCheck %s --check-prefix=STEP < %t/step/manifest.json
// RUN: flashgen compile %S/../../examples/gated_delta_rule.mlir -o %t/chunk --dim B=4 --dim T=8192 --top-k 1 > /dev/null
// RUN: FileCheck %s --check-prefix=CHUNK < %t/chunk/manifest.json

// STEP: "algorithm": "recurrent_step"
// STEP: "scratch": [],
// STEP: "algorithm": "recurrent_step"
// STEP: "scratch": [],
// STEP: "algorithm": "recurrent_step"
// STEP: "scratch": [],
// STEP-NOT: "name": "delta_w"

// CHUNK: "algorithm": "chunk_
// CHUNK: "scratch": [
// CHUNK: "name": "delta_w"
// CHUNK: "shape": [
// CHUNK-NOT: cdiv(T,0)
