// Emulator test spec: mlstm_exp's gradient over packed sequences
// (cu_seqlens), C, n and m in and their final gradients per sequence, Dk =
// Dv = 64; chunks of 32 (the chunk kernel's 16-row warps split by column,
// tile_d = 32), state passes and the rows kernel over two value tiles of
// 32 with two warps.
func.func @emu_varlen_grad_exp(%qp: tensor<?x2x64xbf16>, %kp: tensor<?x2x64xbf16>,
                               %vp: tensor<?x2x64xbf16>, %ip: tensor<?x2xf32>,
                               %fp: tensor<?x2xf32>, %op: tensor<?x2x64xbf16>,
                               %dop: tensor<?x2x64xbf16>, %normp: tensor<?x2x2xf32>,
                               %cu: tensor<?xi32>, %c0: tensor<?x2x64x64xf32>,
                               %n0: tensor<?x2x64xf32>, %m0: tensor<?x2xf32>,
                               %dcf: tensor<?x2x64x64xf32>, %dnf: tensor<?x2x64xf32>,
                               %dmf: tensor<?x2xf32>)
    -> (tensor<?x2x64xbf16>, tensor<?x2x64xbf16>, tensor<?x2x64xbf16>, tensor<?x2xf32>,
        tensor<?x2xf32>, tensor<?x2x64x64xf32>, tensor<?x2x64xf32>, tensor<?x2xf32>) {
  %q = flash.varlen_view %qp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %k = flash.varlen_view %kp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.varlen_view %vp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %i = flash.varlen_view %ip[%cu] : tensor<?x2xf32>, tensor<?xi32> -> tensor<?x2x?xf32>
  %f = flash.varlen_view %fp[%cu] : tensor<?x2xf32>, tensor<?xi32> -> tensor<?x2x?xf32>
  %o = flash.varlen_view %op[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %do = flash.varlen_view %dop[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %norm = flash.varlen_view %normp[%cu] : tensor<?x2x2xf32>, tensor<?xi32> -> tensor<?x2x?x2xf32>
  %dq, %dk, %dv, %di, %df, %dc0, %dn0, %dm0 = flash.linear_attention_grad %q, %k, %v, %do gate mlstm_exp
      saved(%o, %norm : tensor<?x2x?x64xbf16>, tensor<?x2x?x2xf32>)
      gates(%i, %f : tensor<?x2x?xf32>, tensor<?x2x?xf32>)
      initial(%c0, %n0, %m0 : tensor<?x2x64x64xf32>, tensor<?x2x64xf32>, tensor<?x2xf32>)
      final_grad(%dcf, %dnf, %dmf : tensor<?x2x64x64xf32>, tensor<?x2x64xf32>, tensor<?x2xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 32, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
        tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
         gates(tensor<?x2x?xf32>, tensor<?x2x?xf32>)
         initial(tensor<?x2x64x64xf32>, tensor<?x2x64xf32>, tensor<?x2xf32>)
  %dqp = flash.varlen_pack %dq[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  %dkp = flash.varlen_pack %dk[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  %dvp = flash.varlen_pack %dv[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  %dip = flash.varlen_pack %di[%cu] : tensor<?x2x?xf32>, tensor<?xi32> -> tensor<?x2xf32>
  %dfp = flash.varlen_pack %df[%cu] : tensor<?x2x?xf32>, tensor<?xi32> -> tensor<?x2xf32>
  return %dqp, %dkp, %dvp, %dip, %dfp, %dc0, %dn0, %dm0 : tensor<?x2x64xbf16>, tensor<?x2x64xbf16>,
      tensor<?x2x64xbf16>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2x64x64xf32>,
      tensor<?x2x64xf32>, tensor<?x2xf32>
}
