// Emulator test spec: the recurrent step kernel at dims no chunk kernel
// takes (Dk = 96, not a power of two; Dv = 40): mLSTM with states, two
// warps of 8-column tiles (2 threads a row, 32 rows at a time, 3 each).
func.func @emu_step_odd(%q: tensor<?x1x?x96xbf16>, %k: tensor<?x1x?x96xbf16>,
                        %v: tensor<?x1x?x40xbf16>, %i: tensor<?x1x?xf32>,
                        %f: tensor<?x1x?xf32>, %c0: tensor<?x1x96x40xf32>,
                        %n0: tensor<?x1x96xf32>, %m0: tensor<?x1xf32>)
    -> (tensor<?x1x?x40xbf16>, tensor<?x1x96x40xf32>, tensor<?x1x96xf32>, tensor<?x1xf32>) {
  %o, %c, %n, %m = flash.linear_attention %q, %k, %v gate mlstm_exp
      gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>)
      initial(%c0, %n0, %m0 : tensor<?x1x96x40xf32>, tensor<?x1x96xf32>, tensor<?x1xf32>)
      return_final_state dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = recurrent_step, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 0, warps = 2, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 8, smem_bytes = 0>}
      : tensor<?x1x?x96xbf16>, tensor<?x1x?x96xbf16>, tensor<?x1x?x40xbf16>
      -> tensor<?x1x?x40xbf16>, tensor<?x1x96x40xf32>, tensor<?x1x96xf32>, tensor<?x1xf32>
  return %o, %c, %n, %m : tensor<?x1x?x40xbf16>, tensor<?x1x96x40xf32>, tensor<?x1x96xf32>, tensor<?x1xf32>
}
