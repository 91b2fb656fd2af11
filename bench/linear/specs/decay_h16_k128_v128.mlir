// Benchmark spec: gate decay, 16 heads, key dim 128, value dim 128 (65,536 tokens in bench.py).
func.func @decay_h16_k128_v128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
    %v: tensor<?x16x?x128xbf16>, %g: tensor<?x16x?xf32>) -> tensor<?x16x?x128xbf16> {
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x16x?xf32>) dims ["B", "T"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
