// flashgen-ref --backward derives <name>_backward first and writes its case:
// inputs q, k, v, o, do, lse, expected dq, dk, dv and their error scales.
// RUN: rm -rf %t && flashgen-ref %examples/softcap.mlir --backward --dim B=1 --dim N=5 --seed 3 -o %t | FileCheck %s --check-prefix=RUNOUT
// RUN: ls %t/softcap_backward | FileCheck %s --check-prefix=FILES
// RUN: FileCheck %s --check-prefix=META < %t/softcap_backward/meta.json
// RUN: FileCheck %s --check-prefix=FORWARD < %t/softcap/meta.json
// A spec that already went through flash-derive-backward needs no flag.
// RUN: flashgen-opt -flash-derive-backward %examples/causal_gqa.mlir -o %t.derived.mlir
// RUN: rm -rf %t.d && flashgen-ref %t.derived.mlir --dim B=1 --dim N=4 -o %t.d | FileCheck %s --check-prefix=RUNOUT
// RUN: FileCheck %s --check-prefix=GQA < %t.d/causal_gqa_backward/meta.json
// ... but deriving it again is an error: the name is taken.
// RUN: not flashgen-ref %t.derived.mlir --backward --dim B=1 --dim N=4 -o %t.e 2>&1 | FileCheck %s --check-prefix=TAKEN
// RUN: flashgen-ref --help | FileCheck %s --check-prefix=HELP
// The normaliser kinds' backward reads the forward's o and norm.
// RUN: rm -rf %t.s && flashgen-ref %examples/mlstm_sig.mlir --backward --dim B=1 --dim T=70 -o %t.s > /dev/null
// RUN: FileCheck %s --check-prefix=SIG < %t.s/mlstm_sig_backward/meta.json

// RUNOUT: wrote reference data for 2 op(s)

// FILES: dk.error_scale.npy
// FILES-NEXT: dk.expected.npy
// FILES-NEXT: do.bf16.npy
// FILES-NEXT: dq.error_scale.npy
// FILES-NEXT: dq.expected.npy
// FILES-NEXT: dv.error_scale.npy
// FILES-NEXT: dv.expected.npy
// FILES-NEXT: k.bf16.npy
// FILES-NEXT: lse.npy
// FILES-NEXT: meta.json
// FILES-NEXT: o.bf16.npy
// FILES-NEXT: q.bf16.npy
// FILES-NEXT: v.bf16.npy

// META: "name": "softcap_backward",
// META-NEXT: "op": "attention_grad",
// META: "file": "q.bf16.npy",
// META-NEXT: "name": "q",
// META-NEXT: "role": "input",
// META: "file": "k.bf16.npy",
// META: "file": "v.bf16.npy",
// META: "file": "o.bf16.npy",
// META-NEXT: "name": "o",
// META-NEXT: "role": "input",
// META: "file": "do.bf16.npy",
// META-NEXT: "name": "do",
// META-NEXT: "role": "input",
// META: "dtype": "f32",
// META-NEXT: "file": "lse.npy",
// META-NEXT: "name": "lse",
// META-NEXT: "role": "input",
// META-NEXT: "shape": [
// META-NEXT: 1,
// META-NEXT: 16,
// META-NEXT: 5
// META-NEXT: ]
// META: "dtype": "bf16",
// META-NEXT: "file": "dq.expected.npy",
// META-NEXT: "name": "dq",
// META-NEXT: "role": "output",
// META: "file": "dk.expected.npy",
// META-NEXT: "name": "dk",
// META-NEXT: "role": "output",
// META: "file": "dv.expected.npy",
// META-NEXT: "name": "dv",
// META-NEXT: "role": "output",
// META: "dtype": "f32",
// META-NEXT: "file": "dq.error_scale.npy",
// META-NEXT: "name": "dq_scale",
// META-NEXT: "role": "error_scale",
// META: "name": "dk_scale",
// META: "name": "dv_scale",

// The forward case also carries lse, an output a kernel may write.
// FORWARD: "op": "attention",
// FORWARD: "file": "lse.expected.npy",
// FORWARD-NEXT: "name": "lse",
// FORWARD-NEXT: "role": "output",

// Grouped-query attention: dk and dv have the kv heads.
// GQA: "name": "dk",
// GQA-NEXT: "role": "output",
// GQA-NEXT: "shape": [
// GQA-NEXT: 1,
// GQA-NEXT: 8,
// GQA-NEXT: 4,
// GQA-NEXT: 128

// TAKEN: flash-derive-backward: @causal_gqa_backward already exists

// HELP: --backward

// mlstm_sig's backward: inputs q, k, v, the gates, o, do, norm (the
// backward function's order), then the states.
// SIG: "name": "mlstm_sig_backward",
// SIG: "name": "fgate",
// SIG-NEXT: "role": "input",
// SIG: "file": "o.bf16.npy",
// SIG-NEXT: "name": "o",
// SIG-NEXT: "role": "input",
// SIG: "file": "do.bf16.npy",
// SIG-NEXT: "name": "do",
// SIG-NEXT: "role": "input",
// SIG: "dtype": "f32",
// SIG-NEXT: "file": "norm.npy",
// SIG-NEXT: "name": "norm",
// SIG-NEXT: "role": "input",
// SIG-NEXT: "shape": [
// SIG-NEXT: 1,
// SIG-NEXT: 16,
// SIG-NEXT: 70,
// SIG-NEXT: 2
// SIG-NEXT: ]
// SIG: "name": "c0",
// SIG: "name": "dq",
// SIG-NEXT: "role": "output",
