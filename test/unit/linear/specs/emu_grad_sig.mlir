// Emulator test spec: the gradient of an mlstm_sig recurrence (TFLA's
// mLSTMsig) with an initial state (C, n) and the final state's gradient;
// chunks of 32 (two warps in the chunk kernel, each 16 rows split over two
// warps by column: tile_d = 32 of Dk = 64), state passes and the rows
// kernel over two value tiles of 32 (two normaliser-gradient shares a row)
// with two warps.
// Its second candidate (v1) runs the chunk kernel unsplit (tile_d = 64)
// over four value slices of 16 columns (value_slice: v, dO and the states
// staged a slice a pass); its rows and state-gradient kernels are v0's.
// Its third candidate (v2) is v0 with the chunk kernel in persistent
// rounds (persistent = 1: two row stages, the next round prefetched).
func.func @emu_grad_sig(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                        %v: tensor<?x2x?x64xbf16>, %i: tensor<?x2x?xf32>,
                        %f: tensor<?x2x?xf32>, %o: tensor<?x2x?x64xbf16>, %do: tensor<?x2x?x64xbf16>,
    %norm: tensor<?x2x?x2xf32>,
                        %c0: tensor<?x2x64x64xf32>, %n0: tensor<?x2x64xf32>,
                        %dcf: tensor<?x2x64x64xf32>, %dnf: tensor<?x2x64xf32>)
    -> (tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
        tensor<?x2x?xf32>, tensor<?x2x?xf32>, tensor<?x2x64x64xf32>, tensor<?x2x64xf32>) {
  %dq, %dk, %dv, %di, %df, %dc0, %dn0 = flash.linear_attention_grad %q, %k, %v, %do gate mlstm_sig
      saved(%o, %norm : tensor<?x2x?x64xbf16>, tensor<?x2x?x2xf32>)
      gates(%i, %f : tensor<?x2x?xf32>, tensor<?x2x?xf32>)
      initial(%c0, %n0 : tensor<?x2x64x64xf32>, tensor<?x2x64xf32>)
      final_grad(%dcf, %dnf : tensor<?x2x64x64xf32>, tensor<?x2x64xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 32, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>,
       flash.candidates = [#flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 64, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0, value_slice = 16>,
                          #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 32, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0, persistent = 1>]}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
        tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
         gates(tensor<?x2x?xf32>, tensor<?x2x?xf32>)
         initial(tensor<?x2x64x64xf32>, tensor<?x2x64xf32>)
  return %dq, %dk, %dv, %di, %df, %dc0, %dn0 : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
      tensor<?x2x?x64xbf16>, tensor<?x2x?xf32>, tensor<?x2x?xf32>, tensor<?x2x64x64xf32>,
      tensor<?x2x64xf32>
}
