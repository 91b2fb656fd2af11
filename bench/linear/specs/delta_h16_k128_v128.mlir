// Benchmark spec: delta rule, DeltaNet, l2-normalised q and k, 16 heads, key dim 128, value dim 128 (65,536 tokens at T=4096 and 16384 in bench_delta.py).
func.func @delta_h16_k128_v128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
    %v: tensor<?x16x?x128xbf16>, %beta: tensor<?x16x?xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.delta_rule %q, %k, %v, %beta l2norm_qk dims ["B", "T"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
