func.func @step_delta(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>,
                      %v: tensor<?x4x?x32xbf16>, %beta: tensor<?x4x?xbf16>,
                      %g: tensor<?x4x?xf32>, %s0: tensor<?x4x64x32xf32>)
    -> (tensor<?x4x?x32xbf16>, tensor<?x4x64x32xf32>) {
  %o, %s = flash.delta_rule %q, %k, %v, %beta decay(%g : tensor<?x4x?xf32>)
      initial(%s0 : tensor<?x4x64x32xf32>) l2norm_qk return_final_state
      dims ["B", "T"] {flash.schedule = #flash.schedule<algorithm = recurrent_step, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 0, warps = 2, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 8, smem_bytes = 0>}
      : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>,
        tensor<?x4x?xbf16> -> tensor<?x4x?x32xbf16>, tensor<?x4x64x32xf32>
  return %o, %s : tensor<?x4x?x32xbf16>, tensor<?x4x64x32xf32>
}
