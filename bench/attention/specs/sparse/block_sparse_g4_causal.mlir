// Block-sparse benchmark spec (bench/attention/bench_sparse.py): 32 query
// heads sharing 8 key/value heads (GQA group 4), head dim 128, bf16,
// causal; FlexAttention's BlockMask lists over 128 x 128
// blocks, given at every launch. Planned at B=1, N=65536
// (bench/attention/prepare-sparse.sh).
func.func @block_sparse_g4_causal(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
    %v: tensor<?x8x?x128xbf16>,
    %kv_num_blocks: tensor<?x32x?xi32>, %kv_indices: tensor<?x32x?x?xi32>,
    %full_kv_num_blocks: tensor<?x32x?xi32>, %full_kv_indices: tensor<?x32x?x?xi32>)
    -> tensor<?x32x?x128xbf16> {
  %ks = flash.block_mask %k[%kv_num_blocks, %kv_indices]
      full [%full_kv_num_blocks, %full_kv_indices] block [128, 128]
      : tensor<?x8x?x128xbf16>, tensor<?x32x?xi32>, tensor<?x32x?x?xi32>,
        tensor<?x32x?xi32>, tensor<?x32x?x?xi32> -> tensor<?x8x?x128xbf16>
  %o = flash.attention %q, %ks, %v mask causal dims ["B", "N", "N"]
      : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
      -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}
