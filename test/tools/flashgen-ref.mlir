// flashgen-ref writes inputs, expected outputs and a meta.json per op, and
// names a dimension left unbound.
// RUN: rm -rf %t && flashgen-ref %examples/causal_gqa.mlir --dim B=2 --dim N=33 --seed 7 -o %t | FileCheck %s --check-prefix=RUNOUT
// RUN: FileCheck %s --check-prefix=META < %t/causal_gqa/meta.json
// RUN: ls %t/causal_gqa | FileCheck %s --check-prefix=FILES
// RUN: not flashgen-ref %examples/causal_gqa.mlir --dim B=2 -o %t/unbound 2>&1 | FileCheck %s --check-prefix=UNBOUND
// RUN: rm -rf %t.l && flashgen-ref %examples/mlstm_sig.mlir --dim B=1 --dim T=70 -o %t.l > /dev/null
// RUN: FileCheck %s --check-prefix=LINEAR < %t.l/mlstm_sig/meta.json

// RUNOUT: wrote reference data for 1 op(s)

// META: "op": "attention"
// META: "seed": 7
// META: "name": "q"
// META-NEXT: "role": "input"
// META: 2,
// META-NEXT: 32,
// META-NEXT: 33,
// META-NEXT: 128
// META: "name": "o"
// META-NEXT: "role": "output"

// FILES: k.bf16.npy
// FILES: meta.json
// FILES: o.expected.npy
// FILES: q.bf16.npy
// FILES: v.bf16.npy

// UNBOUND: dimension N (query sequence length of flash.attention at {{.*}}causal_gqa.mlir{{.*}}) is not bound: pass --dim N=VALUE

// LINEAR: "gate": "mlstm_sig"
// LINEAR: "name": "igate"
// The normaliser kinds' forward also writes the rows' normalisers (N_t,
// floor_t), which their backward reads.
// LINEAR: "file": "o.expected.npy",
// LINEAR-NEXT: "name": "o",
// LINEAR-NEXT: "role": "output",
// LINEAR: "dtype": "f32",
// LINEAR-NEXT: "file": "norm.expected.npy",
// LINEAR-NEXT: "name": "norm",
// LINEAR-NEXT: "role": "output",
// LINEAR-NEXT: "shape": [
// LINEAR-NEXT: 1,
// LINEAR-NEXT: 16,
// LINEAR-NEXT: 70,
// LINEAR-NEXT: 2
// LINEAR-NEXT: ],
// LINEAR: "name": "c0"
// LINEAR: "name": "n0"
// LINEAR: "name": "cf"
// LINEAR: "name": "nf"
