// flash-lower-kernels-rotary.mlir's op under a flash3 schedule with a
// producer warpgroup (128 x 128, 2 stages, 12 warps) and K rotated by a
// pre-pass kernel (rotary_prepass), given here so that the form is checked
// whatever the cost model picks.
func.func @rope_prepass(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x4x?x128xbf16>,
                         %v: tensor<?x4x?x128xbf16>, %cos: tensor<?x64xf32>,
                         %sin: tensor<?x64xf32>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      extras(%cos, %sin : tensor<?x64xf32>, tensor<?x64xf32>) names ["cos", "sin"]
      extra_dims [["N"], ["N"]]
      rotary half tables ["cos", "sin"]
      {flash.schedule = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 164992, persistent = 0, rotary_prepass = 1>}
      : tensor<?x16x?x128xbf16>, tensor<?x4x?x128xbf16>, tensor<?x4x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
