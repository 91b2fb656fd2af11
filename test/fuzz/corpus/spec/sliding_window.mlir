// Mistral-style sliding-window attention: each query sees itself and the 256
// keys before it.
func.func @sliding_window(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                          %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask sliding_window window 256 dims ["B", "N", "N"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
