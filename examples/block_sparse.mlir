// Block-sparse causal GQA attention (FlexAttention's BlockMask, NSA's
// selected blocks): each query block of 128 rows visits only the key blocks
// of 128 keys its lists name. kv_num_blocks / kv_indices list the blocks
// the mask cuts through (the causal mask applies there), full_kv_num_blocks
// / full_kv_indices the blocks it keeps whole. The lists are given at
// launch per (batch, query head, query block): a new sparsity pattern never
// recompiles, and a Flex user's BlockMask tensors pass as they are.
func.func @block_sparse(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x4x?x128xbf16>,
                        %v: tensor<?x4x?x128xbf16>,
                        %kv_num_blocks: tensor<?x16x?xi32>,
                        %kv_indices: tensor<?x16x?x?xi32>,
                        %full_kv_num_blocks: tensor<?x16x?xi32>,
                        %full_kv_indices: tensor<?x16x?x?xi32>)
    -> tensor<?x16x?x128xbf16> {
  %ks = flash.block_mask %k[%kv_num_blocks, %kv_indices]
      full [%full_kv_num_blocks, %full_kv_indices] block [128, 128]
      : tensor<?x4x?x128xbf16>, tensor<?x16x?xi32>, tensor<?x16x?x?xi32>,
        tensor<?x16x?xi32>, tensor<?x16x?x?xi32> -> tensor<?x4x?x128xbf16>
  %o = flash.attention %q, %ks, %v mask causal dims ["B", "N", "N"]
      : tensor<?x16x?x128xbf16>, tensor<?x4x?x128xbf16>, tensor<?x4x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
