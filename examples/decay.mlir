// Simple gated linear attention (RetNet / Mamba2 / fla's chunk_simple_gla):
// one log-decay per head and step, 16 heads of 128/128.
func.func @decay(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                 %v: tensor<?x16x?x128xbf16>, %g: tensor<?x16x?xf32>)
    -> tensor<?x16x?x128xbf16> {
  %o = flash.linear_attention %q, %k, %v gate decay
      gates(%g : tensor<?x16x?xf32>) dims ["B", "T"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
