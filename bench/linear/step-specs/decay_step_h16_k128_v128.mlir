// Step benchmark spec (bench/linear/bench_step.py): a scalar log-decay
// (RetNet, Mamba2) decoding, 16 heads 128/128, the state in and out.
func.func @decay_step_h16_k128_v128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
    %v: tensor<?x16x?x128xbf16>, %g: tensor<?x16x?xf32>, %c0: tensor<?x16x128x128xf32>)
    -> (tensor<?x16x?x128xbf16>, tensor<?x16x128x128xf32>) {
  %o, %c = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x16x?xf32>)
      initial(%c0 : tensor<?x16x128x128xf32>) return_final_state dims ["B", "T"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>, tensor<?x16x128x128xf32>
  return %o, %c : tensor<?x16x?x128xbf16>, tensor<?x16x128x128xf32>
}
