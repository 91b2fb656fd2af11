// Benchmark spec: no gate (linear attention), 16 heads, key dim 128, value dim 128
// (65,536 tokens in bench_backward.py, against fla's chunk_simple_gla without g).
func.func @plain_h16_k128_v128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
    %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
