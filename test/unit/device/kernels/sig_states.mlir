// GPU test spec: TFLA's mLSTMsig with a state in and out (C and n) and
// Dk != Dv (4 heads of 64 / 128), so its backward (flash-derive-backward)
// takes the initial state and the final state's gradient and returns the
// initial state's gradient.
func.func @sig_states(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>,
                      %v: tensor<?x4x?x128xbf16>, %igate: tensor<?x4x?xf32>,
                      %fgate: tensor<?x4x?xf32>, %c0: tensor<?x4x64x128xf32>,
                      %n0: tensor<?x4x64xf32>)
    -> (tensor<?x4x?x128xbf16>, tensor<?x4x64x128xf32>, tensor<?x4x64xf32>) {
  %o, %c, %n = flash.linear_attention %q, %k, %v gate mlstm_sig
      gates(%igate, %fgate : tensor<?x4x?xf32>, tensor<?x4x?xf32>)
      initial(%c0, %n0 : tensor<?x4x64x128xf32>, tensor<?x4x64xf32>)
      return_final_state dims ["B", "T"]
      : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x128xbf16>
      -> tensor<?x4x?x128xbf16>, tensor<?x4x64x128xf32>, tensor<?x4x64xf32>
  return %o, %c, %n : tensor<?x4x?x128xbf16>, tensor<?x4x64x128xf32>, tensor<?x4x64xf32>
}
