// Benchmark spec: GQA, 48 query heads sharing 8 key/value heads, head dim 128, causal
// (16k tokens per batch in bench.py).
func.func @gqa48_d128_causal(%q: tensor<?x48x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
    %v: tensor<?x8x?x128xbf16>) -> tensor<?x48x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      : tensor<?x48x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
      -> tensor<?x48x?x128xbf16>
  return %o : tensor<?x48x?x128xbf16>
}
