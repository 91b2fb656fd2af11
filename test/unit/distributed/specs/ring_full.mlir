// The mask-none kernel ring attention calls on a query shard against another
// rank's key/value shard (issue #21): query and key lengths are separate
// symbols, 16 query heads over 2 key/value heads as examples/kv_cache_causal.mlir
// (the causal kernel of the same test).
func.func @ring_full(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x2x?x128xbf16>,
                     %v: tensor<?x2x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "M"]
      : tensor<?x16x?x128xbf16>, tensor<?x2x?x128xbf16>, tensor<?x2x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
