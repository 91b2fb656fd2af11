// Serving decode: each sequence's N new tokens (1 for plain decoding, a few
// for speculative verification) attend to its M cached keys, themselves
// included, causally among themselves (bottom-right aligned: the last new
// token sees every key). Llama-3-70B's grouped-query layout: 64 query heads
// would be split over GPUs; one GPU's share is 32 query heads over 8 key/value
// heads, head dim 128. Planned with N = 1: flash-schedule packs the 4 query
// heads of a group into one tile's rows and splits the keys over CTAs.
func.func @decode_gqa(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                      %v: tensor<?x8x?x128xbf16>) -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "M"]
      : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
      -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}
