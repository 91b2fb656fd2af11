func.func @step_mlstm(%q: tensor<8x2x1x96xbf16>, %k: tensor<8x2x1x96xbf16>,
                      %v: tensor<8x2x1x40xbf16>, %i: tensor<8x2x1xf32>,
                      %f: tensor<8x2x1xf32>, %c0: tensor<8x2x96x40xf32>,
                      %n0: tensor<8x2x96xf32>, %m0: tensor<8x2xf32>)
    -> (tensor<8x2x1x40xbf16>, tensor<8x2x96x40xf32>, tensor<8x2x96xf32>, tensor<8x2xf32>) {
  %o, %c, %n, %m = flash.linear_attention %q, %k, %v gate mlstm_exp
      gates(%i, %f : tensor<8x2x1xf32>, tensor<8x2x1xf32>)
      initial(%c0, %n0, %m0 : tensor<8x2x96x40xf32>, tensor<8x2x96xf32>, tensor<8x2xf32>)
      return_final_state dims ["B", "T"]
      : tensor<8x2x1x96xbf16>, tensor<8x2x1x96xbf16>, tensor<8x2x1x40xbf16>
      -> tensor<8x2x1x40xbf16>, tensor<8x2x96x40xf32>, tensor<8x2x96xf32>, tensor<8x2xf32>
  return %o, %c, %n, %m : tensor<8x2x1x40xbf16>, tensor<8x2x96x40xf32>, tensor<8x2x96xf32>, tensor<8x2xf32>
}
