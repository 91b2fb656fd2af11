// Batched decoding over a paged KV cache, as serving engines keep it (vLLM's
// and FlashAttention's layout): keys and values live in pools of pages of
// 16 tokens, k_pool and v_pool [pages, 16, 8, 128], and page_table [B,
// M_pages] lists each sequence's pages in order, in any order in the pool.
// flash.paged_view says so; the kernels read the pages in place (one table
// lookup per copied row) and nothing is gathered. Sequence b holds
// cache_len[b] keys before this step and its N new tokens' keys after them
// (M = M_pages x 16 is the table's capacity); new token i sees key j when
// j <= cache_len[b] + i. Pool size, table width, batch, lengths and page ids
// are launch arguments: a new batch composition never recompiles.
func.func @decode_paged(%q: tensor<?x32x?x128xbf16>,
                        %k_pool: tensor<?x16x8x128xbf16>,
                        %v_pool: tensor<?x16x8x128xbf16>,
                        %page_table: tensor<?x?xi32>,
                        %cache_len: tensor<?xi32>)
    -> tensor<?x32x?x128xbf16> {
  %k = flash.paged_view %k_pool[%page_table]
      : tensor<?x16x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  %v = flash.paged_view %v_pool[%page_table]
      : tensor<?x16x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  %o = flash.attention %q, %k, %v dims ["B", "N", "M"]
      extras(%cache_len : tensor<?xi32>) names ["cache_len"] extra_dims [["B"]]
      mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %len: tensor<?xi32>):
    %l = tensor.extract %len[%b] : tensor<?xi32>
    %ii = arith.index_cast %i : index to i32
    %ji = arith.index_cast %j : index to i32
    %one = arith.constant 1 : i32
    %last = arith.addi %l, %ii : i32
    %end = arith.addi %last, %one : i32
    %keep = arith.cmpi slt, %ji, %end : i32
    flash.yield %keep : i1
  } : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
      -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}
