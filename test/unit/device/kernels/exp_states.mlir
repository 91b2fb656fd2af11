// GPU test spec: xLSTM's mLSTM (exponential input gate, max-stabilised)
// with a state in and out (C, n and m) and Dk != Dv (4 heads of 64 / 128),
// so its backward (flash-derive-backward) takes the initial state and the
// final state's gradient and returns the initial state's gradient, dm0
// included.
func.func @exp_states(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>,
                      %v: tensor<?x4x?x128xbf16>, %igate: tensor<?x4x?xf32>,
                      %fgate: tensor<?x4x?xf32>, %c0: tensor<?x4x64x128xf32>,
                      %n0: tensor<?x4x64xf32>, %m0: tensor<?x4xf32>)
    -> (tensor<?x4x?x128xbf16>, tensor<?x4x64x128xf32>, tensor<?x4x64xf32>, tensor<?x4xf32>) {
  %o, %c, %n, %m = flash.linear_attention %q, %k, %v gate mlstm_exp
      gates(%igate, %fgate : tensor<?x4x?xf32>, tensor<?x4x?xf32>)
      initial(%c0, %n0, %m0 : tensor<?x4x64x128xf32>, tensor<?x4x64xf32>, tensor<?x4xf32>)
      return_final_state dims ["B", "T"]
      : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x128xbf16>
      -> tensor<?x4x?x128xbf16>, tensor<?x4x64x128xf32>, tensor<?x4x64xf32>, tensor<?x4xf32>
  return %o, %c, %n, %m : tensor<?x4x?x128xbf16>, tensor<?x4x64x128xf32>, tensor<?x4x64xf32>, tensor<?x4xf32>
}
