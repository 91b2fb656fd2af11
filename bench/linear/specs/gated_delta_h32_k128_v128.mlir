// Benchmark spec: delta rule, gated DeltaNet (decay), l2-normalised q and k, 32 heads, key dim 128, value dim 128 (65,536 tokens at T=2048 in bench_delta.py).
func.func @gated_delta_h32_k128_v128(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x32x?x128xbf16>,
    %v: tensor<?x32x?x128xbf16>, %beta: tensor<?x32x?xbf16>, %g: tensor<?x32x?xf32>) -> tensor<?x32x?x128xbf16> {
  %o = flash.delta_rule %q, %k, %v, %beta decay(%g : tensor<?x32x?xf32>) l2norm_qk dims ["B", "T"]
      : tensor<?x32x?x128xbf16>, tensor<?x32x?x128xbf16>, tensor<?x32x?x128xbf16>, tensor<?x32x?xbf16>
      -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}
