// A block-sparse mask over a mask_mod (docs/semantics.md §2.10), for the GPU
// tests: query blocks of 32 rows (flash3 tiles 64 or more, so flash2 runs), GQA 8/2,
// 32 x 64 blocks whose lists broadcast over the batch (partial) and the
// heads (full), and a mask_mod that hides every third key: evaluated on
// the partial blocks' keys, never on the full blocks'.
func.func @block_sparse_mask_mod(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                                 %v: tensor<?x2x?x64xbf16>, %cnt: tensor<1x8x?xi32>,
                                 %idx: tensor<1x8x?x?xi32>, %fcnt: tensor<?x1x?xi32>,
                                 %fidx: tensor<?x1x?x?xi32>) -> tensor<?x8x?x64xbf16> {
  %ks = flash.block_mask %k[%cnt, %idx] full [%fcnt, %fidx] block [32, 64]
      : tensor<?x2x?x64xbf16>, tensor<1x8x?xi32>, tensor<1x8x?x?xi32>,
        tensor<?x1x?xi32>, tensor<?x1x?x?xi32> -> tensor<?x2x?x64xbf16>
  %o = flash.attention %q, %ks, %v dims ["B", "N", "M"] mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %three = arith.constant 3 : index
    %zero = arith.constant 0 : index
    %r = arith.remui %j, %three : index
    %keep = arith.cmpi ne, %r, %zero : index
    flash.yield %keep : i1
  } : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}
