// flashgen-run binds flashgen-ref data to a compiled kernel and checks the
// arguments without a GPU (the missing GPU itself and an optional param the
// reference lacks: ctest runtime_run_cli);
// the manifest's flop count is evaluated at the reference's sizes.
// RUN: rm -rf %t && flashgen compile %examples/causal_gqa.mlir -o %t/bundle > /dev/null
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/bundle/manifest.json
// RUN: flashgen-ref %examples/causal_gqa.mlir --dim B=1 --dim N=33 -o %t/ref > /dev/null
// RUN: flashgen-run %t/bundle causal_gqa --reference %t/ref/causal_gqa --iters 0 | FileCheck %s
// RUN: not flashgen-run %t/bundle gqa --reference %t/ref/causal_gqa 2>&1 | FileCheck %s --check-prefix=NOKERNEL
// RUN: rm -rf %t.l && flashgen compile %examples/mlstm_sig.mlir -o %t.l > /dev/null
// RUN: FileCheck %s --check-prefix=LINEAR < %t.l/manifest.json
// RUN: rm -rf %t.b && flashgen compile %examples/mlstm_sig.mlir --backward -o %t.b > /dev/null
// RUN: FileCheck %s --check-prefix=SIGBWD < %t.b/manifest.json

// Causal with one sequence size: 2*(D+Dv) = 512 per visible pair and query
// head (32 heads), N*(N+1)/2 pairs.
// MANIFEST: "flops": "B*16384*N*(N+1)/2"

// CHECK: flashgen-run: kernel causal_gqa (attention) of {{.*}}bundle, {{[0-9]+}} variant(s)
// CHECK: q      in    bf16 [1, 32, 33, 128]
// CHECK: lse    out   f32  [1, 32, 33] expected values: poisoned with NaN, then compared
// CHECK: sizes {{(B=1 N=33|N=33 B=1)}}; 9.191e+06 FLOP per launch (manifest: B*16384*N*(N+1)/2)
// CHECK: flashgen-run: arguments checked for variant(s) 0..0

// NOKERNEL: flashgen-run: {{.*}}gqa{{.*}}(the bundle's kernels: causal_gqa)

// mLSTM (sig): 4*K*V per token and head, 16 heads of K = V = 128.
// LINEAR: "flops": "B*T*1048576"
// The normaliser kinds' forward may write the rows' normalisers after o.
// LINEAR: "io": "out",
// LINEAR-NEXT: "name": "o",
// LINEAR: "dtype": "f32",
// LINEAR-NEXT: "io": "out",
// LINEAR-NEXT: "name": "norm",
// LINEAR-NEXT: "optional": true,
// LINEAR-NEXT: "shape": [
// LINEAR-NEXT: "B",
// LINEAR-NEXT: 16,
// LINEAR-NEXT: "T",
// LINEAR-NEXT: 2
// LINEAR-NEXT: ]

// ... and their backward reads o and norm (not optional) around do.
// SIGBWD: "name": "mlstm_sig_backward",
// SIGBWD-NEXT: "op": "linear_attention_grad",
// SIGBWD: "name": "fgate",
// SIGBWD: "io": "in",
// SIGBWD-NEXT: "name": "o",
// SIGBWD-NEXT: "shape": [
// SIGBWD: "io": "in",
// SIGBWD-NEXT: "name": "do",
// SIGBWD: "dtype": "f32",
// SIGBWD-NEXT: "io": "in",
// SIGBWD-NEXT: "name": "norm",
// SIGBWD-NEXT: "shape": [
// SIGBWD-NEXT: "B",
// SIGBWD-NEXT: 16,
// SIGBWD-NEXT: "T",
// SIGBWD-NEXT: 2
// SIGBWD-NEXT: ]
// SIGBWD: "name": "c0",
// SIGBWD-NEXT: "optional": true,
