// flashgen-ref draws a block mask's lists (docs/semantics.md §2.10) and
// writes them as i32 inputs under the manifest's names, shaped as the op's
// list types say: B or 1, Hq or 1, cdiv(N, Qb), cdiv(M, Kb). Lists without
// full ones write no full files.
// RUN: rm -rf %t && flashgen-ref %s --dim B=2 --dim N=300 --dim M=333 --seed 5 -o %t | FileCheck %s --check-prefix=RUNOUT
// RUN: FileCheck %s --check-prefix=FULL < %t/full_lists/meta.json
// RUN: FileCheck %s --check-prefix=GQA < %t/gqa_one_head/meta.json
// RUN: ls %t/gqa_one_head | FileCheck %s --check-prefix=FILES

// RUNOUT: wrote reference data for 2 op(s)

// FULL: "name": "kv_num_blocks"
// FULL: "shape": [
// FULL-NEXT: 1,
// FULL-NEXT: 16,
// FULL-NEXT: 3
// FULL: "dtype": "i32"
// FULL: "name": "kv_indices"
// FULL: "shape": [
// FULL-NEXT: 1,
// FULL-NEXT: 16,
// FULL-NEXT: 3,
// FULL-NEXT: 3
// FULL: "name": "full_kv_num_blocks"
// FULL: "shape": [
// FULL-NEXT: 2,
// FULL-NEXT: 1,
// FULL-NEXT: 3
// FULL: "name": "full_kv_indices"
// FULL: "shape": [
// FULL-NEXT: 2,
// FULL-NEXT: 1,
// FULL-NEXT: 3,
// FULL-NEXT: 3
// FULL: "name": "o"
func.func @full_lists(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                      %v: tensor<?x16x?x128xbf16>, %cnt: tensor<1x16x?xi32>,
                      %idx: tensor<1x16x?x?xi32>, %fcnt: tensor<?x1x?xi32>,
                      %fidx: tensor<?x1x?x?xi32>) -> tensor<?x16x?x128xbf16> {
  %ks = flash.block_mask %k[%cnt, %idx] full [%fcnt, %fidx] block [128, 128]
      : tensor<?x16x?x128xbf16>, tensor<1x16x?xi32>, tensor<1x16x?x?xi32>,
        tensor<?x1x?xi32>, tensor<?x1x?x?xi32> -> tensor<?x16x?x128xbf16>
  %o = flash.attention %q, %ks, %v mask causal dims ["B", "N", "N"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

// GQA: "name": "kv_num_blocks"
// GQA: "shape": [
// GQA-NEXT: 2,
// GQA-NEXT: 1,
// GQA-NEXT: 5
// GQA: "name": "kv_indices"
// GQA: "shape": [
// GQA-NEXT: 2,
// GQA-NEXT: 1,
// GQA-NEXT: 5,
// GQA-NEXT: 11
// GQA-NOT: full_kv
// GQA: "name": "o"

// FILES-NOT: full_kv
// FILES: kv_indices.npy
// FILES-NEXT: kv_num_blocks.npy
// FILES-NOT: full_kv
func.func @gqa_one_head(%q: tensor<?x32x?x64xbf16>, %k: tensor<?x8x?x64xbf16>,
                        %v: tensor<?x8x?x64xbf16>, %cnt: tensor<?x1x?xi32>,
                        %idx: tensor<?x1x?x?xi32>) -> tensor<?x32x?x64xbf16> {
  %ks = flash.block_mask %k[%cnt, %idx] block [64, 32]
      : tensor<?x8x?x64xbf16>, tensor<?x1x?xi32>, tensor<?x1x?x?xi32>
        -> tensor<?x8x?x64xbf16>
  %o = flash.attention %q, %ks, %v dims ["B", "N", "M"]
      : tensor<?x32x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>
      -> tensor<?x32x?x64xbf16>
  return %o : tensor<?x32x?x64xbf16>
}
