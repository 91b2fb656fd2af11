// A block-sparse mask for the gradient kernels' emulator tests
// (AttentionGradEmuTest.cpp): head dim 64, GQA 4/2, 128-row query blocks
// over 64-key blocks, partial and full lists, no mask kind, so that
// flash3_grad's kv kernel (atomic dQ) walks two query heads' transposed
// lists and a key block is one key tile.
func.func @block_sparse_d64(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                            %v: tensor<?x2x?x64xbf16>, %cnt: tensor<?x4x?xi32>,
                            %idx: tensor<?x4x?x?xi32>, %fcnt: tensor<?x4x?xi32>,
                            %fidx: tensor<?x4x?x?xi32>) -> tensor<?x4x?x64xbf16> {
  %ks = flash.block_mask %k[%cnt, %idx] full [%fcnt, %fidx] block [128, 64]
      : tensor<?x2x?x64xbf16>, tensor<?x4x?xi32>, tensor<?x4x?x?xi32>,
        tensor<?x4x?xi32>, tensor<?x4x?x?xi32> -> tensor<?x2x?x64xbf16>
  %o = flash.attention %q, %ks, %v dims ["B", "N", "N"]
      : tensor<?x4x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}
