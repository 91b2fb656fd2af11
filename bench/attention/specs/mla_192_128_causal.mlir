// MLA-shaped prefill (DeepSeek-V2/V3 with the latent projections expanded):
// query and key heads of 192 (128 nope + 64 rope), value heads of 128,
// causal, 16 heads. flash3 keeps Q and K in 64-column slabs (three here) and
// O at Dv. bench/attention/bench.py times it (N = 2048 and 8192); the
// emulator tests (test/unit/device/AttentionWgmmaTest.cpp) run it with and
// without a producer warpgroup, and the GPU cases
// (scripts/prepare-gpu-tests.sh) on the scheduler's own variants.
func.func @mla_192_128_causal(%q: tensor<?x16x?x192xbf16>, %k: tensor<?x16x?x192xbf16>,
                              %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      : tensor<?x16x?x192xbf16>, tensor<?x16x?x192xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
