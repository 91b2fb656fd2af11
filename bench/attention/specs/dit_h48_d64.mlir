// Benchmark spec: a diffusion transformer's attention (image or video tokens, no mask),
// 48 heads of head dim 64; bench.py runs N = 1024 and 4096 at 16k tokens per batch.
func.func @dit_h48_d64(%q: tensor<?x48x?x64xbf16>, %k: tensor<?x48x?x64xbf16>,
    %v: tensor<?x48x?x64xbf16>) -> tensor<?x48x?x64xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      : tensor<?x48x?x64xbf16>, tensor<?x48x?x64xbf16>, tensor<?x48x?x64xbf16>
      -> tensor<?x48x?x64xbf16>
  return %o : tensor<?x48x?x64xbf16>
}
