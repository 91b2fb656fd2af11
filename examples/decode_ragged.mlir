// Batched decoding over caches of different lengths (a serving batch):
// sequence b has cache_len[b] keys cached before this step (FlashAttention's
// cache_seqlens), its N new tokens' keys are written after them (the cache's
// capacity M holds both), and new token i sees key j when
// j <= cache_len[b] + i: the cache and the new tokens up to itself. The
// lengths are a [B] tensor given at launch, so a new batch composition
// never recompiles. flash-lower-kernels reads the bound off the mask_mod
// (MaskModBounds.h): a sequence's keys past its length are never loaded,
// and its key splits share only the keys it has.
func.func @decode_ragged(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                         %v: tensor<?x8x?x128xbf16>, %cache_len: tensor<?xi32>)
    -> tensor<?x32x?x128xbf16> {
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
