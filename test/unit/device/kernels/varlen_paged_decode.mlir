// Varlen decoding over a paged cache (speculative decoding in a serving
// batch): each sequence brings its own number of new tokens, packed back to
// back (q [Tq, 32, 128], cu_seqlens_q [B + 1]), against its paged cache of
// cache_len[b] keys before them (pages of 16 keys). New token i of
// sequence b sees key j when j <= cache_len[b] + i.
func.func @varlen_paged_decode(%q: tensor<?x32x128xbf16>, %cu_q: tensor<?xi32>,
                               %k_pool: tensor<?x16x8x128xbf16>,
                               %v_pool: tensor<?x16x8x128xbf16>,
                               %page_table: tensor<?x?xi32>,
                               %cache_len: tensor<?xi32>)
    -> tensor<?x32x128xbf16> {
  %qs = flash.varlen_view %q[%cu_q]
      : tensor<?x32x128xbf16>, tensor<?xi32> -> tensor<?x32x?x128xbf16>
  %k = flash.paged_view %k_pool[%page_table]
      : tensor<?x16x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  %v = flash.paged_view %v_pool[%page_table]
      : tensor<?x16x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  %o = flash.attention %qs, %k, %v dims ["B", "N", "M"]
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
  %out = flash.varlen_pack %o[%cu_q]
      : tensor<?x32x?x128xbf16>, tensor<?xi32> -> tensor<?x32x128xbf16>
  return %out : tensor<?x32x128xbf16>
}
