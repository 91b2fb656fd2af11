// Benchmark spec: 32 heads of head dim 64, none mask (16k tokens per batch in bench.py).
func.func @mha_d64(%q: tensor<?x32x?x64xbf16>, %k: tensor<?x32x?x64xbf16>,
    %v: tensor<?x32x?x64xbf16>) -> tensor<?x32x?x64xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      : tensor<?x32x?x64xbf16>, tensor<?x32x?x64xbf16>, tensor<?x32x?x64xbf16>
      -> tensor<?x32x?x64xbf16>
  return %o : tensor<?x32x?x64xbf16>
}
