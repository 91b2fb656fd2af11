// Rotary position embedding fused into causal GQA attention (Llama-3
// shapes: 32 query heads share 8 key/value heads, head dim 128). q and k
// arrive unrotated; the kernels rotate each q and k tile once it landed in
// shared memory (docs/semantics.md §2.12), so no rotated copy is written.
// cos and sin are f32 tables [N, 64] (one row per key position) of the
// angles; any frequency scaling (per dimension, NTK, YaRN) is in the
// tables, which python/flashgen/rope.py builds. Query i sits at position
// i + M - N, key j at j; pairs are (f, f + 64), Hugging Face's rotate_half.
func.func @rope_attention(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                          %v: tensor<?x8x?x128xbf16>, %cos: tensor<?x64xf32>,
                          %sin: tensor<?x64xf32>) -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      extras(%cos, %sin : tensor<?x64xf32>, tensor<?x64xf32>) names ["cos", "sin"]
      extra_dims [["N"], ["N"]]
      rotary half tables ["cos", "sin"]
      : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
      -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}
