// Regions that read extra operands (docs/semantics.md §2.7) through the
// whole pipeline: the manifest lists tensors as `in` params (after the op's
// own inputs, aligned to their element) and rank-0 extras as scalars; the
// kernels take them as arguments and read with every index clamped; the
// gradient kernels take them too; flashgen-ref draws them (segment ids, a
// length, a normal table), writes tensors as .npy and scalars in meta.json.
// RUN: rm -rf %t && flashgen compile %examples/document_mask.mlir --backward --top-k 1 -o %t/doc > /dev/null
// RUN: FileCheck %s --check-prefix=DOCMAN < %t/doc/manifest.json
// RUN: FileCheck %s --check-prefix=DOCCU < %t/doc/document_mask_v0.cu
// RUN: FileCheck %s --check-prefix=DOCBWD < %t/doc/document_mask_backward_v0_kv.cu
// RUN: flashgen compile %examples/prefix_lm_runtime.mlir --top-k 1 -o %t/pre > /dev/null
// RUN: FileCheck %s --check-prefix=PREMAN < %t/pre/manifest.json
// RUN: FileCheck %s --check-prefix=PRECU < %t/pre/prefix_lm_runtime_v0.cu
// RUN: flashgen compile %examples/relative_bias.mlir --top-k 1 --target sm_80 -o %t/bias > /dev/null
// RUN: FileCheck %s --check-prefix=BIASCU < %t/bias/relative_bias_v0.cu
// RUN: flashgen-ref %examples/prefix_lm_runtime.mlir --dim B=2 --dim N=40 -o %t/ref > /dev/null
// RUN: FileCheck %s --check-prefix=REFMETA < %t/ref/prefix_lm_runtime/meta.json
// RUN: flashgen-ref %examples/document_mask.mlir --backward --dim B=2 --dim N=40 -o %t/ref > /dev/null
// RUN: ls %t/ref/document_mask %t/ref/document_mask_backward | FileCheck %s --check-prefix=REFFILES

// DOCMAN:      "name": "document_mask"
// DOCMAN:      "name": "v"
// DOCMAN:      "dtype": "i32",
// DOCMAN-NEXT: "io": "in",
// DOCMAN-NEXT: "name": "doc",
// DOCMAN-NEXT: "pointer_align": 4,
// DOCMAN-NEXT: "shape": [
// DOCMAN-NEXT:   "B",
// DOCMAN-NEXT:   "N"
// DOCMAN:      "name": "o"
// DOCMAN:      "tensor": "doc"
// DOCMAN:      "name": "document_mask_backward"
// DOCMAN:      "name": "lse"
// DOCMAN:      "name": "doc"
// DOCMAN:      "name": "dq"
// The gradient's mask_lists pre-pass writes the transposed lists to the
// workspace: per key tile of 128, the query tiles of 64.
// DOCMAN:      "entry": "flashgen_document_mask_backward_v0_mask_lists_t"
// DOCMAN:      "name": "q_num_blocks",
// DOCMAN-NEXT: "shape": [
// DOCMAN-NEXT:   "B",
// DOCMAN-NEXT:   1,
// DOCMAN-NEXT:   "cdiv(N,[[TKV:[0-9]+]])"
// DOCMAN:      "name": "q_indices",
// DOCMAN-NEXT: "shape": [
// DOCMAN-NEXT:   "B",
// DOCMAN-NEXT:   1,
// DOCMAN-NEXT:   "cdiv(N,[[TKV]])",
// DOCMAN-NEXT:   "cdiv(N,{{[0-9]+}})"

// DOCCU:      float* __restrict__ lse,
// DOCCU:      const int* __restrict__ x_doc,
// DOCCU-NEXT: long long x_doc_s0,
// DOCCU-NEXT: long long x_doc_s1,
// DOCCU-NEXT: int dim_B,
// DOCCU:      __ldg(x_doc + (long long)fg::imin(fg::imax(batch_id{{(_[0-9]+)?}}, 0), dim_B - 1) * x_doc_s0 + (long long)fg::imin(fg::imax(i, 0), dim_N - 1) * x_doc_s1)
// DOCCU:      __ldg(x_doc + (long long)fg::imin(fg::imax(batch_id{{(_[0-9]+)?}}, 0), dim_B - 1) * x_doc_s0 + (long long)fg::imin(fg::imax(j, 0), dim_N - 1) * x_doc_s1)

// DOCBWD:     const int* __restrict__ x_doc,
// DOCBWD:     __ldg(x_doc +

// PREMAN:      "scalars": [
// PREMAN-NEXT:   {
// PREMAN-NEXT:     "dtype": "i32",
// PREMAN-NEXT:     "name": "prefix"
// PREMAN:      "scalar": "prefix"

// The scalar is read once per CTA, before the tile loops.
// PRECU:      int x_prefix,
// PRECU:      const int [[P:v[0-9]+]] = x_prefix;
// PRECU:      for_each_at
// PRECU:      < [[P]])

// BIASCU:      const float* __restrict__ x_bias,
// BIASCU:      __ldg(x_bias + (long long)fg::imin(fg::imax(head_id, 0), 16 - 1) * x_bias_s0 + (long long)fg::imin(fg::imax({{v[0-9]+}}, 0), 128 - 1) * x_bias_s1)

// REFMETA:      "scalars": [
// REFMETA-NEXT:   {
// REFMETA-NEXT:     "dtype": "i32",
// REFMETA-NEXT:     "name": "prefix",
// REFMETA-NEXT:     "value": {{[1-9][0-9]*}}

// REFFILES: doc.npy
// REFFILES: o.expected.npy
// REFFILES: doc.npy
// REFFILES: dq.expected.npy
