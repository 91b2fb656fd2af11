// GPU test spec: GLA (a log-decay per key dim) with a state in and out and
// Dk != Dv (4 heads of 64 / 128), so its backward (flash-derive-backward)
// takes the initial state and the final state's gradient and returns the
// initial state's gradient.
func.func @vector_states(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>,
                         %v: tensor<?x4x?x128xbf16>, %g: tensor<?x4x?x64xf32>,
                         %c0: tensor<?x4x64x128xf32>)
    -> (tensor<?x4x?x128xbf16>, tensor<?x4x64x128xf32>) {
  %o, %cf = flash.linear_attention %q, %k, %v gate vector
      gates(%g : tensor<?x4x?x64xf32>) initial(%c0 : tensor<?x4x64x128xf32>)
      return_final_state dims ["B", "T"]
      : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x128xbf16>
      -> tensor<?x4x?x128xbf16>, tensor<?x4x64x128xf32>
  return %o, %cf : tensor<?x4x?x128xbf16>, tensor<?x4x64x128xf32>
}
