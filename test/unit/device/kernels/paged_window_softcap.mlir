// A paged cache (flash.paged_view) with pages of 64 keys, larger than the
// key tiles, so each tile's copy looks its page up once: GQA 8/2, head dim
// 64, a softcapped score under a sliding window of 300 keys. Decoding
// plans it for flash_decode (the GPU cases' few tokens) and prefill for
// flash2 (chunked prefill against the cache); both read the pages in
// place.
func.func @paged_window_softcap(%q: tensor<?x8x?x64xbf16>,
                                %k_pool: tensor<?x64x2x64xbf16>,
                                %v_pool: tensor<?x64x2x64xbf16>,
                                %page_table: tensor<?x?xi32>)
    -> tensor<?x8x?x64xbf16> {
  %k = flash.paged_view %k_pool[%page_table]
      : tensor<?x64x2x64xbf16>, tensor<?x?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.paged_view %v_pool[%page_table]
      : tensor<?x64x2x64xbf16>, tensor<?x?xi32> -> tensor<?x2x?x64xbf16>
  %o = flash.attention %q, %k, %v mask sliding_window window 300 dims ["B", "N", "M"] score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %cap = arith.constant 30.0 : f32
    %x = arith.divf %s, %cap : f32
    %t = math.tanh %x : f32
    %r = arith.mulf %t, %cap : f32
    flash.yield %r : f32
  } : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}
