func.func @att(%q: tensor<2x4x128x64xbf16>, %k: tensor<2x4x128x64xbf16>,
                      %v: tensor<2x4x128x64xbf16>) -> tensor<2x4x128x64xbf16> {
  %o = flash.attention %q, %k, %v mask causal
      : tensor<2x4x128x64xbf16>, tensor<2x4x128x64xbf16>, tensor<2x4x128x64xbf16>
      -> tensor<2x4x128x64xbf16>
  return %o : tensor<2x4x128x64xbf16>
}
