// Benchmark spec: 8 heads of head dim 512, causal mask (16k tokens per batch in bench.py).
// M < d^2 on an SM, so the scheduler takes the small-cache flash2_dsplit.
func.func @mha_d512_causal(%q: tensor<?x8x?x512xbf16>, %k: tensor<?x8x?x512xbf16>,
    %v: tensor<?x8x?x512xbf16>) -> tensor<?x8x?x512xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      : tensor<?x8x?x512xbf16>, tensor<?x8x?x512xbf16>, tensor<?x8x?x512xbf16>
      -> tensor<?x8x?x512xbf16>
  return %o : tensor<?x8x?x512xbf16>
}
