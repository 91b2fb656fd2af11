// Benchmark spec: a diffusion transformer's attention (image or video tokens, no mask),
// 24 heads of head dim 128; bench.py runs N = 1024 and 4096 at 16k tokens per batch.
func.func @dit_h24_d128(%q: tensor<?x24x?x128xbf16>, %k: tensor<?x24x?x128xbf16>,
    %v: tensor<?x24x?x128xbf16>) -> tensor<?x24x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      : tensor<?x24x?x128xbf16>, tensor<?x24x?x128xbf16>, tensor<?x24x?x128xbf16>
      -> tensor<?x24x?x128xbf16>
  return %o : tensor<?x24x?x128xbf16>
}
