// Benchmark spec: MLA-shaped prefill (DeepSeek's absorbed form): 16 query heads
// share one key/value head; queries and keys 576 wide (512 latent + 64 RoPE),
// values 512; causal mask. M < d^2, so the scheduler takes flash2_dsplit.
func.func @mla_576_512_causal(%q: tensor<?x16x?x576xbf16>, %k: tensor<?x1x?x576xbf16>,
    %v: tensor<?x1x?x512xbf16>) -> tensor<?x16x?x512xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      : tensor<?x16x?x576xbf16>, tensor<?x1x?x576xbf16>, tensor<?x1x?x512xbf16>
      -> tensor<?x16x?x512xbf16>
  return %o : tensor<?x16x?x512xbf16>
}
