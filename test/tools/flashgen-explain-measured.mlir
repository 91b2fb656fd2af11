// `flashgen explain --measured FILE` puts the DRAM bytes a GPU measured
// (bench/traffic/measure.py's file) beside the modeled HBM bytes and the
// bound, and marks a kernel whose measured bytes exceed the model by more
// than 1.3x. The fixtures below are written by hand.
//
// Sizes: B=1, 2 heads, N=1024, D=64, bf16. Reading q, k, v and writing o once
// moves 4 x 1*2*1024*64 x 2 B = 1 MiB, the least any schedule can move; the
// model must not be below it (NEAR checks modeled/bound >= 1). `near` measures exactly that (768 KiB read,
// 256 KiB written), `over` three times it.
//
// RUN: rm -rf %t && split-file %s %t
//
// RUN: flashgen explain %t/spec.mlir --dim B=1 --dim N=1024 --measured %t/near.json \
// RUN:   | FileCheck %s --check-prefix=NEAR
// NEAR: @mha  flash.attention  B=1 Hq=2 Hkv=2 N=1024 M=1024 D=64
// NEAR: measured      DRAM 1 MiB (1048576 B; read 768 KiB, written 256 KiB) = {{[0-9.]+}} x modeled HBM; modeled HBM = {{[1-9][0-9]*\.[0-9]+}} x bound{{$}}
//
// RUN: flashgen explain %t/spec.mlir --dim B=1 --dim N=1024 --measured %t/over.json \
// RUN:   | FileCheck %s --check-prefix=OVER
// OVER: measured      DRAM 3 MiB (3145728 B; read 2 MiB, written 1 MiB) = {{[0-9.]+}} x modeled HBM; modeled HBM = {{[0-9.]+}} x bound  [measured > 1.3 x modeled]
//
// The same in JSON: the dims explain planned with (what a measurement is
// matched on), the measured bytes and both ratios.
// RUN: flashgen explain %t/spec.mlir --dim B=1 --dim N=1024 --measured %t/over.json --json \
// RUN:   | FileCheck %s --check-prefix=AS-JSON
// AS-JSON: "dims": {
// AS-JSON-NEXT: "B": 1,
// AS-JSON-NEXT: "N": 1024
// AS-JSON: "measured": {
// AS-JSON-NEXT: "dram_bytes": 3145728,
// AS-JSON-NEXT: "dram_bytes_read": 2097152,
// AS-JSON-NEXT: "dram_bytes_write": 1048576,
// AS-JSON-NEXT: "file": "{{.*}}over.json",
// AS-JSON-NEXT: "limit": 1.3,
// AS-JSON-NEXT: "measured_over_modeled": {{[0-9.]+}},
// AS-JSON-NEXT: "modeled_over_bound": {{[0-9.]+}},
// AS-JSON-NEXT: "over_limit": true
// RUN: flashgen explain %t/spec.mlir --dim B=1 --dim N=1024 --measured %t/near.json --json \
// RUN:   | FileCheck %s --check-prefix=AS-JSON-NEAR
// AS-JSON-NEAR: "over_limit": false
//
// A kernel the file does not measure (here the gradient op) says so; the
// others are still compared.
// RUN: flashgen explain %t/spec.mlir --backward --dim B=1 --dim N=1024 --measured %t/near.json \
// RUN:   | FileCheck %s --check-prefix=MISSING
// MISSING: @mha  flash.attention
// MISSING: measured      DRAM 1 MiB
// MISSING: @mha_backward  flash.attention_grad
// MISSING: measured      not in {{.*}}near.json
// RUN: flashgen explain %t/spec.mlir --backward --dim B=1 --dim N=1024 --measured %t/near.json --json \
// RUN:   | FileCheck %s --check-prefix=MISSING-JSON
// (llvm::json sorts keys: "measured" comes before "op".)
// MISSING-JSON: "op": "mha",
// MISSING-JSON: "measured": null
// MISSING-JSON: "op": "mha_backward",
//
// Errors name the file and what is wrong, and print no report.
// RUN: not flashgen explain %t/spec.mlir --dim B=1 --dim N=2048 --measured %t/near.json 2>&1 \
// RUN:   | FileCheck %s --check-prefix=SIZES
// SIZES: flashgen explain: {{.*}}near.json: kernel mha was measured at B=1 N=1024, not at the sizes explained (B=1 N=2048); pass the same --dim values
// SIZES-NOT: @mha
// RUN: not flashgen explain %t/spec.mlir --dim B=1 --dim N=1024 --measured %t/other.json 2>&1 \
// RUN:   | FileCheck %s --check-prefix=OTHER
// OTHER: {{.*}}other.json: no measurement of any kernel of {{.*}}spec.mlir (it measures: mha_d128, decay_h16)
// RUN: not flashgen explain %t/spec.mlir --dim B=1 --dim N=1024 --measured %t/negative.json 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: {{.*}}negative.json: kernels[1] (mha).dram_bytes_write: expected a non-negative integer (bytes)
// RUN: not flashgen explain %t/spec.mlir --dim B=1 --dim N=1024 --measured %t/nodims.json 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NODIMS
// NODIMS: {{.*}}nodims.json: kernels[0] (mha).dims: expected an object of dynamic sizes
// RUN: not flashgen explain %t/spec.mlir --dim B=1 --dim N=1024 --measured %t/twice.json 2>&1 \
// RUN:   | FileCheck %s --check-prefix=TWICE
// TWICE: {{.*}}twice.json: kernels[1] measures mha at B=1 N=1024 again (first in kernels[0])
// RUN: not flashgen explain %t/spec.mlir --dim B=1 --dim N=1024 --measured %t/truncated.json 2>&1 \
// RUN:   | FileCheck %s --check-prefix=TRUNCATED
// TRUNCATED: {{.*}}truncated.json: not JSON:
// RUN: not flashgen explain %t/spec.mlir --dim B=1 --dim N=1024 --measured %t/explain.json 2>&1 \
// RUN:   | FileCheck %s --check-prefix=FORMAT
// FORMAT: {{.*}}explain.json: not a measured-traffic file (expected an object with "format": "flashgen-traffic"
// RUN: not flashgen explain %t/spec.mlir --dim B=1 --dim N=1024 --measured %t/absent.json 2>&1 \
// RUN:   | FileCheck %s --check-prefix=ABSENT
// ABSENT: {{.*}}absent.json: cannot read it:

//--- spec.mlir
func.func @mha(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>) -> tensor<?x2x?x64xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

//--- near.json
{"format": "flashgen-traffic", "version": 1, "device": "hand-written",
 "kernels": [{"bundle": "mha", "kernel": "mha", "dims": {"B": 1, "N": 1024},
              "dram_bytes_read": 786432, "dram_bytes_write": 262144}]}

//--- over.json
{"format": "flashgen-traffic", "version": 1,
 "kernels": [{"kernel": "mha", "dims": {"B": 1, "N": 1024},
              "dram_bytes_read": 2097152, "dram_bytes_write": 1048576}]}

//--- other.json
{"format": "flashgen-traffic", "version": 1,
 "kernels": [{"kernel": "mha_d128", "dims": {"B": 2, "N": 8192}, "dram_bytes_read": 1, "dram_bytes_write": 1},
             {"kernel": "decay_h16", "dims": {"B": 4, "T": 16384}, "dram_bytes_read": 1, "dram_bytes_write": 1}]}

//--- negative.json
{"format": "flashgen-traffic", "version": 1,
 "kernels": [{"kernel": "mha_backward", "dims": {"B": 1, "N": 1024}, "dram_bytes_read": 1, "dram_bytes_write": 1},
             {"kernel": "mha", "dims": {"B": 1, "N": 1024}, "dram_bytes_read": 1, "dram_bytes_write": -5}]}

//--- nodims.json
{"format": "flashgen-traffic", "version": 1,
 "kernels": [{"kernel": "mha", "dram_bytes_read": 1, "dram_bytes_write": 1}]}

//--- twice.json
{"format": "flashgen-traffic", "version": 1,
 "kernels": [{"kernel": "mha", "dims": {"N": 1024, "B": 1}, "dram_bytes_read": 1, "dram_bytes_write": 1},
             {"kernel": "mha", "dims": {"B": 1, "N": 1024}, "dram_bytes_read": 2, "dram_bytes_write": 2}]}

//--- truncated.json
{"format": "flashgen-traffic", "version": 1, "kernels": [{"kernel": "mha",

//--- explain.json
[{"op": "mha", "kind": "flash.attention", "modeled_hbm_bytes": 1048576}]
