// Emulator test spec: the gradient of a decay recurrence over packed
// sequences (cu_seqlens), an initial state and the final state's gradient
// per sequence; chunks of 32 (the chunk kernel's 16-row warps split by
// column, tile_d = 32 of Dk = 64), state passes over two value tiles of 32
// with two warps.
func.func @emu_varlen_grad_decay(%qp: tensor<?x2x64xbf16>, %kp: tensor<?x2x64xbf16>,
                                 %vp: tensor<?x2x64xbf16>, %gp: tensor<?x2xf32>,
                                 %dop: tensor<?x2x64xbf16>, %cu: tensor<?xi32>,
                                 %c0: tensor<?x2x64x64xf32>, %dcf: tensor<?x2x64x64xf32>)
    -> (tensor<?x2x64xbf16>, tensor<?x2x64xbf16>, tensor<?x2x64xbf16>, tensor<?x2xf32>,
        tensor<?x2x64x64xf32>) {
  %q = flash.varlen_view %qp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %k = flash.varlen_view %kp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.varlen_view %vp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %g = flash.varlen_view %gp[%cu] : tensor<?x2xf32>, tensor<?xi32> -> tensor<?x2x?xf32>
  %do = flash.varlen_view %dop[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %dq, %dk, %dv, %dg, %dc0 = flash.linear_attention_grad %q, %k, %v, %do gate decay
      gates(%g : tensor<?x2x?xf32>) initial(%c0 : tensor<?x2x64x64xf32>)
      final_grad(%dcf : tensor<?x2x64x64xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 32, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
        tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
         gates(tensor<?x2x?xf32>) initial(tensor<?x2x64x64xf32>)
  %dqp = flash.varlen_pack %dq[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  %dkp = flash.varlen_pack %dk[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  %dvp = flash.varlen_pack %dv[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  %dgp = flash.varlen_pack %dg[%cu] : tensor<?x2x?xf32>, tensor<?xi32> -> tensor<?x2xf32>
  return %dqp, %dkp, %dvp, %dgp, %dc0 : tensor<?x2x64xbf16>, tensor<?x2x64xbf16>,
      tensor<?x2x64xbf16>, tensor<?x2xf32>, tensor<?x2x64x64xf32>
}
