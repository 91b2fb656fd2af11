// Emulator test spec: the gradient of ungated linear attention (Dk = 32 !=
// Dv = 64, no states), chunks of 16 (one warp in the chunk kernel), one
// stage in the state passes, one value tile.
func.func @emu_grad_plain(%q: tensor<?x1x?x32xbf16>, %k: tensor<?x1x?x32xbf16>,
                          %v: tensor<?x1x?x64xbf16>, %do: tensor<?x1x?x64xbf16>)
    -> (tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x64xbf16>) {
  %dq, %dk, %dv = flash.linear_attention_grad %q, %k, %v, %do dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 1, warps = 1, chunk = 16, inner_q = 16, inner_kv = 16, tile_dv = 64, smem_bytes = 0>}
      : tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x64xbf16>,
        tensor<?x1x?x64xbf16>
      -> tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x64xbf16>
  return %dq, %dk, %dv : tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x64xbf16>
}
