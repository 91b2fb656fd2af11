// Step benchmark spec (bench/linear/bench_step.py): mLSTMsig decoding
// (sigmoid gates, normaliser n), 16 heads 128/128, the states in and out.
func.func @mlstm_sig_step_h16_k128_v128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
    %v: tensor<?x16x?x128xbf16>, %i: tensor<?x16x?xf32>, %f: tensor<?x16x?xf32>,
    %c0: tensor<?x16x128x128xf32>, %n0: tensor<?x16x128xf32>)
    -> (tensor<?x16x?x128xbf16>, tensor<?x16x128x128xf32>, tensor<?x16x128xf32>) {
  %o, %c, %n = flash.linear_attention %q, %k, %v gate mlstm_sig
      gates(%i, %f : tensor<?x16x?xf32>, tensor<?x16x?xf32>)
      initial(%c0, %n0 : tensor<?x16x128x128xf32>, tensor<?x16x128xf32>)
      return_final_state dims ["B", "T"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>, tensor<?x16x128x128xf32>, tensor<?x16x128xf32>
  return %o, %c, %n : tensor<?x16x?x128xbf16>, tensor<?x16x128x128xf32>, tensor<?x16x128xf32>
}
