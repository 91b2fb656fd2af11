// Benchmark spec: mlstm_sig_h16_k128_v128 with an output gate, o * silu(gate),
// the gate [B, T, 16, 128] f32 as a projection writes it (bench_output_gate.py).
func.func @gated_sig_h16_k128_v128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
    %v: tensor<?x16x?x128xbf16>, %i: tensor<?x16x?xf32>, %f: tensor<?x16x?xf32>,
    %gate: tensor<?x?x16x128xf32>) -> tensor<?x16x?x128xbf16> {
  %o = flash.linear_attention %q, %k, %v gate mlstm_sig gates(%i, %f : tensor<?x16x?xf32>, tensor<?x16x?xf32>) dims ["B", "T"]
      extras(%gate : tensor<?x?x16x128xf32>) names ["gate"] extra_dims [["B", "T"]]
      output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index, %g: tensor<?x?x16x128xf32>):
    %z = tensor.extract %g[%b, %t, %h, %d] : tensor<?x?x16x128xf32>
    %one = arith.constant 1.0 : f32
    %neg = arith.negf %z : f32
    %e = math.exp %neg : f32
    %den = arith.addf %one, %e : f32
    %silu = arith.divf %z, %den : f32
    %gated = arith.mulf %x, %silu : f32
    flash.yield %gated : f32
  } : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
