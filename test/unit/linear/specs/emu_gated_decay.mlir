// Emulator test spec: emu_decay.mlir with an output gate (output_mod:
// o * silu(gate), the gate an f32 extra [B, T, H, Dv]): the fused chunk
// kernel, two value tiles, double-buffered chunks.
func.func @emu_gated_decay(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                           %v: tensor<?x2x?x64xbf16>, %g: tensor<?x2x?xf32>,
                           %gate: tensor<?x?x2x64xf32>) -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x2x?xf32>)
      dims ["B", "T"]
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
  } {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}
