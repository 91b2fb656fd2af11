// Emulator test spec: the recurrent step kernel of mLSTMsig with an output
// gate (output_mod after the normaliser), two warps of 32-column tiles.
func.func @emu_step_gated(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                          %v: tensor<?x2x?x64xbf16>, %i: tensor<?x2x?xf32>,
                          %f: tensor<?x2x?xf32>, %gate: tensor<?x?x2x64xf32>)
    -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate mlstm_sig
      gates(%i, %f : tensor<?x2x?xf32>, tensor<?x2x?xf32>) dims ["B", "T"]
      extras(%gate : tensor<?x?x2x64xf32>) names ["gate"] extra_dims [["B", "T"]]
      output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index, %gt: tensor<?x?x2x64xf32>):
    %z = tensor.extract %gt[%b, %t, %h, %d] : tensor<?x?x2x64xf32>
    %one = arith.constant 1.0 : f32
    %nz = arith.negf %z : f32
    %e = math.exp %nz : f32
    %den = arith.addf %one, %e : f32
    %silu = arith.divf %z, %den : f32
    %r = arith.mulf %x, %silu : f32
    flash.yield %r : f32
  } {flash.schedule = #flash.schedule<algorithm = recurrent_step, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 0, warps = 2, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}
