// A gated recurrence's output gate (GLA's, xLSTM's, SambaY's gated memory
// unit): the mLSTMsig recurrence of 8 heads, 128/128, whose every output
// element is multiplied by silu(gate) = gate * sigmoid(gate), the gate
// computed elsewhere in the model as [B, T, H, Dv] (f32, given at launch as
// an extra). output_mod runs on each normalised element in registers
// before the store (docs/semantics.md §3.6), so the gated output is one
// kernel instead of a recurrence and an element-wise pass over o.
func.func @gated_recurrence(%q: tensor<?x8x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                            %v: tensor<?x8x?x128xbf16>, %i: tensor<?x8x?xf32>,
                            %f: tensor<?x8x?xf32>, %gate: tensor<?x?x8x128xf32>)
    -> tensor<?x8x?x128xbf16> {
  %o = flash.linear_attention %q, %k, %v gate mlstm_sig
      gates(%i, %f : tensor<?x8x?xf32>, tensor<?x8x?xf32>) dims ["B", "T"]
      extras(%gate : tensor<?x?x8x128xf32>) names ["gate"] extra_dims [["B", "T"]]
      output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index, %g: tensor<?x?x8x128xf32>):
    %z = tensor.extract %g[%b, %t, %h, %d] : tensor<?x?x8x128xf32>
    %one = arith.constant 1.0 : f32
    %neg = arith.negf %z : f32
    %e = math.exp %neg : f32
    %den = arith.addf %one, %e : f32
    %silu = arith.divf %z, %den : f32
    %gated = arith.mulf %x, %silu : f32
    flash.yield %gated : f32
  } : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
      -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}
