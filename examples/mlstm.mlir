// The mLSTM of xLSTM: exponential input gate with max-stabiliser and
// normaliser, 8 heads with key dim 256 and value dim 512 (the xLSTM-7B shape).
func.func @mlstm(%q: tensor<?x8x?x256xbf16>, %k: tensor<?x8x?x256xbf16>,
                 %v: tensor<?x8x?x512xbf16>, %igate: tensor<?x8x?xf32>,
                 %fgate: tensor<?x8x?xf32>) -> tensor<?x8x?x512xbf16> {
  %o = flash.linear_attention %q, %k, %v gate mlstm_exp
      gates(%igate, %fgate : tensor<?x8x?xf32>, tensor<?x8x?xf32>) dims ["B", "T"]
      : tensor<?x8x?x256xbf16>, tensor<?x8x?x256xbf16>, tensor<?x8x?x512xbf16>
      -> tensor<?x8x?x512xbf16>
  return %o : tensor<?x8x?x512xbf16>
}
