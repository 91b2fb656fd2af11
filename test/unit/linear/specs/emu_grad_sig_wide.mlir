// Emulator test spec: mlstm_sig's gradient with Dk = 64 < Dv = 128, chunks
// of 16 over one warp and one stage in the state passes (the rows' shares
// ring has one slot), two value tiles of 64; no initial state, the final
// state's gradient in.
func.func @emu_grad_sig_wide(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                             %v: tensor<?x1x?x128xbf16>, %i: tensor<?x1x?xf32>,
                             %f: tensor<?x1x?xf32>, %o: tensor<?x1x?x128xbf16>, %do: tensor<?x1x?x128xbf16>,
    %norm: tensor<?x1x?x2xf32>,
                             %dcf: tensor<?x1x64x128xf32>, %dnf: tensor<?x1x64xf32>)
    -> (tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x128xbf16>,
        tensor<?x1x?xf32>, tensor<?x1x?xf32>) {
  %dq, %dk, %dv, %di, %df = flash.linear_attention_grad %q, %k, %v, %do gate mlstm_sig
      saved(%o, %norm : tensor<?x1x?x128xbf16>, tensor<?x1x?x2xf32>)
      gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>)
      final_grad(%dcf, %dnf : tensor<?x1x64x128xf32>, tensor<?x1x64xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 1, warps = 1, chunk = 16, inner_q = 16, inner_kv = 16, tile_dv = 64, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x128xbf16>,
        tensor<?x1x?x128xbf16>
      -> tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x128xbf16>
         gates(tensor<?x1x?xf32>, tensor<?x1x?xf32>)
  return %dq, %dk, %dv, %di, %df : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>,
      tensor<?x1x?x128xbf16>, tensor<?x1x?xf32>, tensor<?x1x?xf32>
}
