// Step benchmark spec (bench/linear/bench_step.py): gated DeltaNet decoding,
// l2-normalised q and k, 16 heads 128/128, the state in and out (one
// buffer: cf over c0). Planned for one token of 64 sequences.
func.func @gated_delta_step_h16_k128_v128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
    %v: tensor<?x16x?x128xbf16>, %beta: tensor<?x16x?xbf16>, %g: tensor<?x16x?xf32>,
    %s0: tensor<?x16x128x128xf32>) -> (tensor<?x16x?x128xbf16>, tensor<?x16x128x128xf32>) {
  %o, %s = flash.delta_rule %q, %k, %v, %beta decay(%g : tensor<?x16x?xf32>)
      initial(%s0 : tensor<?x16x128x128xf32>) l2norm_qk return_final_state dims ["B", "T"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?xbf16>
      -> tensor<?x16x?x128xbf16>, tensor<?x16x128x128xf32>
  return %o, %s : tensor<?x16x?x128xbf16>, tensor<?x16x128x128xf32>
}
