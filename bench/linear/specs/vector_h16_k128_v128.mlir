// Benchmark spec: gate vector (GLA, a log-decay per key dim), 16 heads, key dim 128, value dim 128 (65,536 tokens in bench_backward.py).
func.func @vector_h16_k128_v128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
    %v: tensor<?x16x?x128xbf16>, %g: tensor<?x16x?x128xf32>) -> tensor<?x16x?x128xbf16> {
  %o = flash.linear_attention %q, %k, %v gate vector gates(%g : tensor<?x16x?x128xf32>) dims ["B", "T"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
