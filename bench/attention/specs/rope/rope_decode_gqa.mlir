// Benchmark spec (bench_rope.py; a folder of its own, so that prepare-bench.sh
// and bench.py leave it alone): decoding with rotary embedding fused in
// -- the cache holds keys before rotation (a cache that outlives a change
// of the positions' scaling, as DPE and YaRN rescale them), the kernels
// rotate each landed key tile and the packed query rows; 32 query heads
// over 8 key/value heads, d=128, tables [M, 64] shared by the batch.
func.func @rope_decode_gqa(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                           %v: tensor<?x8x?x128xbf16>, %cos: tensor<?x64xf32>,
                           %sin: tensor<?x64xf32>) -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "M"]
      extras(%cos, %sin : tensor<?x64xf32>, tensor<?x64xf32>) names ["cos", "sin"]
      extra_dims [["M"], ["M"]]
      rotary half tables ["cos", "sin"]
      : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
      -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}
