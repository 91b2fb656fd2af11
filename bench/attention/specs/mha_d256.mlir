// Benchmark spec: 8 heads of head dim 256, none mask (16k tokens per batch in bench.py).
func.func @mha_d256(%q: tensor<?x8x?x256xbf16>, %k: tensor<?x8x?x256xbf16>,
    %v: tensor<?x8x?x256xbf16>) -> tensor<?x8x?x256xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      : tensor<?x8x?x256xbf16>, tensor<?x8x?x256xbf16>, tensor<?x8x?x256xbf16>
      -> tensor<?x8x?x256xbf16>
  return %o : tensor<?x8x?x256xbf16>
}
