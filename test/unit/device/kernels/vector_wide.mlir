// GPU test spec: GLA (a log-decay per key dim) at Dk = 128 < Dv = 512 with a
// state in and out (2 heads): the two 16-bit states do not fit the
// gradient's chunk kernel whole, so its backward passes over value slices
// (value_slice), <S, G> per key dim summed over the passes.
func.func @vector_wide(%q: tensor<?x2x?x128xbf16>, %k: tensor<?x2x?x128xbf16>,
                       %v: tensor<?x2x?x512xbf16>, %g: tensor<?x2x?x128xf32>,
                       %c0: tensor<?x2x128x512xf32>)
    -> (tensor<?x2x?x512xbf16>, tensor<?x2x128x512xf32>) {
  %o, %cf = flash.linear_attention %q, %k, %v gate vector
      gates(%g : tensor<?x2x?x128xf32>) initial(%c0 : tensor<?x2x128x512xf32>)
      return_final_state dims ["B", "T"]
      : tensor<?x2x?x128xbf16>, tensor<?x2x?x128xbf16>, tensor<?x2x?x512xbf16>
      -> tensor<?x2x?x512xbf16>, tensor<?x2x128x512xf32>
  return %o, %cf : tensor<?x2x?x512xbf16>, tensor<?x2x128x512xf32>
}
