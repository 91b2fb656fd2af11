// GLA: a log-decay per key dimension, 16 heads of 128/128.
func.func @gla_vector(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                      %v: tensor<?x16x?x128xbf16>, %g: tensor<?x16x?x128xf32>)
    -> tensor<?x16x?x128xbf16> {
  %o = flash.linear_attention %q, %k, %v gate vector
      gates(%g : tensor<?x16x?x128xf32>) dims ["B", "T"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
