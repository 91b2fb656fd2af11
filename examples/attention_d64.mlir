// Plain multi-head attention at head dim 64 with 32 heads (the d=64 anchor rows).
func.func @attention_d64(%q: tensor<?x32x?x64xbf16>, %k: tensor<?x32x?x64xbf16>,
                         %v: tensor<?x32x?x64xbf16>) -> tensor<?x32x?x64xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      : tensor<?x32x?x64xbf16>, tensor<?x32x?x64xbf16>, tensor<?x32x?x64xbf16>
      -> tensor<?x32x?x64xbf16>
  return %o : tensor<?x32x?x64xbf16>
}
