// `flashgen compile --spec-schedules` keeps the schedules a spec carries
// (hand-written ones, experiments) instead of asking flash-schedule; without
// the flag the scheduler's own choice replaces them. A flash3 kernel makes
// the bundle's target sm_90a.
// RUN: rm -rf %t && flashgen compile %S/Inputs/hand-schedule.mlir -o %t/kept --spec-schedules > /dev/null
// RUN: FileCheck %s --check-prefix=KEPT < %t/kept/manifest.json
// RUN: flashgen compile %S/Inputs/hand-schedule.mlir -o %t/own --dim B=2 --dim N=8192 > /dev/null
// RUN: FileCheck %s --check-prefix=OWN < %t/own/manifest.json

// KEPT: "algorithm": "flash3"
// KEPT-NEXT: "chunk": 0
// KEPT-NEXT: "inner_kv": 0
// KEPT-NEXT: "inner_q": 0
// KEPT-NEXT: "persistent": 0
// KEPT-NEXT: "smem_bytes": 99328
// KEPT-NEXT: "stages": 2
// KEPT-NEXT: "tile_d": 128
// KEPT-NEXT: "tile_dv": 128
// KEPT-NEXT: "tile_kv": 64
// KEPT-NEXT: "tile_q": 128
// KEPT-NEXT: "warps": 8
// KEPT: "algorithm": "flash2"
// KEPT-NOT: "algorithm"
// KEPT: "target": "sm_90a"

// The scheduler's own first choice for this shape on sm_90 is a flash3
// kernel with a producer warpgroup (warps = tile_q / 16 + 4).
// OWN: "algorithm": "flash3"
// OWN: "tile_kv": {{[0-9]+}}
// OWN-NEXT: "tile_q": 128
// OWN-NEXT: "warps": 12
// OWN: "target": "sm_90a"

// A persistent schedule of a causal spec: the rounds claim their tiles
// from a scratch word the runtime zeroes before each launch, passed after
// the outputs.
// RUN: flashgen compile %S/Inputs/claimed-schedule.mlir -o %t/claimed --spec-schedules > /dev/null
// RUN: FileCheck %s --check-prefix=CLAIMED < %t/claimed/manifest.json
// CLAIMED: "scratch": "tile_claims"
// CLAIMED: "grid": [
// CLAIMED-NEXT: "min((cdiv(N,128)*16*B),num_sms)"
// CLAIMED: "persistent": 1
// CLAIMED: "scratch": [
// CLAIMED-NEXT: {
// CLAIMED-NEXT: "dtype": "i32"
// CLAIMED-NEXT: "name": "tile_claims"
// CLAIMED-NEXT: "shape": [
// CLAIMED-NEXT: 1
// CLAIMED-NEXT: ]
// CLAIMED-NEXT: "zero_init": true
