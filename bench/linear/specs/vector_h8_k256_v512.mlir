// Benchmark spec: gate vector (GLA, a log-decay per key dim), 8 heads, key dim 256, value dim 512 (65,536 tokens in bench_backward.py).
func.func @vector_h8_k256_v512(%q: tensor<?x8x?x256xbf16>, %k: tensor<?x8x?x256xbf16>,
    %v: tensor<?x8x?x512xbf16>, %g: tensor<?x8x?x256xf32>) -> tensor<?x8x?x512xbf16> {
  %o = flash.linear_attention %q, %k, %v gate vector gates(%g : tensor<?x8x?x256xf32>) dims ["B", "T"]
      : tensor<?x8x?x256xbf16>, tensor<?x8x?x256xbf16>, tensor<?x8x?x512xbf16>
      -> tensor<?x8x?x512xbf16>
  return %o : tensor<?x8x?x512xbf16>
}
