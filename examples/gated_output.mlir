// Attention with a gated output (SambaY's gated memory unit): causal GQA
// whose every output element is multiplied by sigmoid of a gate computed
// elsewhere in the model, gate [B, N, H, Dv] (f32, given at launch as an
// extra). output_mod runs on each normalised element in registers before
// the store (docs/semantics.md §2.11), so the gated output is one kernel.
func.func @gated_output(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x4x?x128xbf16>,
                        %v: tensor<?x4x?x128xbf16>, %gate: tensor<?x?x16x128xf32>)
    -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      extras(%gate : tensor<?x?x16x128xf32>) names ["gate"] extra_dims [["B", "N"]]
      output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %i: index, %d: index, %g: tensor<?x?x16x128xf32>):
    %gi = tensor.extract %g[%b, %i, %h, %d] : tensor<?x?x16x128xf32>
    %one = arith.constant 1.0 : f32
    %neg = arith.negf %gi : f32
    %e = math.exp %neg : f32
    %den = arith.addf %one, %e : f32
    %gated = arith.divf %x, %den : f32
    flash.yield %gated : f32
  } : tensor<?x16x?x128xbf16>, tensor<?x4x?x128xbf16>, tensor<?x4x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
