// Benchmark spec: 8 heads of head dim 256, causal mask (16k tokens per batch in bench.py).
func.func @mha_d256_causal(%q: tensor<?x8x?x256xbf16>, %k: tensor<?x8x?x256xbf16>,
    %v: tensor<?x8x?x256xbf16>) -> tensor<?x8x?x256xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      : tensor<?x8x?x256xbf16>, tensor<?x8x?x256xbf16>, tensor<?x8x?x256xbf16>
      -> tensor<?x8x?x256xbf16>
  return %o : tensor<?x8x?x256xbf16>
}
