// Chunked prefill against a KV cache: N new queries attend causally to M >= N
// keys (the cache plus themselves), bottom-right aligned, with 8 query heads
// per key/value head.
func.func @kv_cache_causal(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x2x?x128xbf16>,
                           %v: tensor<?x2x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "M"]
      : tensor<?x16x?x128xbf16>, tensor<?x2x?x128xbf16>, tensor<?x2x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
