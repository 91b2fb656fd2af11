// TFLA's mLSTMsig: sigmoid input gate, no max-stabiliser; 16 heads of 128/128
// with initial state in and final state out.
func.func @mlstm_sig(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                     %v: tensor<?x16x?x128xbf16>, %igate: tensor<?x16x?xf32>,
                     %fgate: tensor<?x16x?xf32>, %c0: tensor<?x16x128x128xf32>,
                     %n0: tensor<?x16x128xf32>)
    -> (tensor<?x16x?x128xbf16>, tensor<?x16x128x128xf32>, tensor<?x16x128xf32>) {
  %o, %c, %n = flash.linear_attention %q, %k, %v gate mlstm_sig
      gates(%igate, %fgate : tensor<?x16x?xf32>, tensor<?x16x?xf32>)
      initial(%c0, %n0 : tensor<?x16x128x128xf32>, tensor<?x16x128xf32>)
      return_final_state dims ["B", "T"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>, tensor<?x16x128x128xf32>, tensor<?x16x128xf32>
  return %o, %c, %n : tensor<?x16x?x128xbf16>, tensor<?x16x128x128xf32>, tensor<?x16x128xf32>
}
