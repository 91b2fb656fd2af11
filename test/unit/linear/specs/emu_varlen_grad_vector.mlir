// Emulator test spec: the gradient of GLA (a log-decay per key dim) over
// packed sequences (cu_seqlens), an initial state and the final state's
// gradient per sequence, Dk = 64 > Dv = 32; chunks of 32 (the chunk
// kernel's 16-row warps split by column, tile_d = 32), state passes over
// one value tile with two warps.
func.func @emu_varlen_grad_vector(%qp: tensor<?x2x64xbf16>, %kp: tensor<?x2x64xbf16>,
                                  %vp: tensor<?x2x32xbf16>, %gp: tensor<?x2x64xf32>,
                                  %dop: tensor<?x2x32xbf16>, %cu: tensor<?xi32>,
                                  %c0: tensor<?x2x64x32xf32>, %dcf: tensor<?x2x64x32xf32>)
    -> (tensor<?x2x64xbf16>, tensor<?x2x64xbf16>, tensor<?x2x32xbf16>, tensor<?x2x64xf32>,
        tensor<?x2x64x32xf32>) {
  %q = flash.varlen_view %qp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %k = flash.varlen_view %kp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.varlen_view %vp[%cu] : tensor<?x2x32xbf16>, tensor<?xi32> -> tensor<?x2x?x32xbf16>
  %g = flash.varlen_view %gp[%cu] : tensor<?x2x64xf32>, tensor<?xi32> -> tensor<?x2x?x64xf32>
  %do = flash.varlen_view %dop[%cu] : tensor<?x2x32xbf16>, tensor<?xi32> -> tensor<?x2x?x32xbf16>
  %dq, %dk, %dv, %dg, %dc0 = flash.linear_attention_grad %q, %k, %v, %do gate vector
      gates(%g : tensor<?x2x?x64xf32>) initial(%c0 : tensor<?x2x64x32xf32>)
      final_grad(%dcf : tensor<?x2x64x32xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 32, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>,
        tensor<?x2x?x32xbf16>
      -> tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
         gates(tensor<?x2x?x64xf32>) initial(tensor<?x2x64x32xf32>)
  %dqp = flash.varlen_pack %dq[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  %dkp = flash.varlen_pack %dk[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  %dvp = flash.varlen_pack %dv[%cu] : tensor<?x2x?x32xbf16>, tensor<?xi32> -> tensor<?x2x32xbf16>
  %dgp = flash.varlen_pack %dg[%cu] : tensor<?x2x?x64xf32>, tensor<?xi32> -> tensor<?x2x64xf32>
  return %dqp, %dkp, %dvp, %dgp, %dc0 : tensor<?x2x64xbf16>, tensor<?x2x64xbf16>,
      tensor<?x2x32xbf16>, tensor<?x2x64xf32>, tensor<?x2x64x32xf32>
}
