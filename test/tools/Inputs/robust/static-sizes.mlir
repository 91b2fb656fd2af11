// Issue #20 reproducer (test/tools/flashgen-compile-robust.mlir).
func.func @fixed(%q: tensor<2x4x200x64xbf16>, %k: tensor<2x4x200x64xbf16>,
    %v: tensor<2x4x200x64xbf16>) -> tensor<2x4x200x64xbf16> {
  %o = flash.attention %q, %k, %v mask causal 
      : tensor<2x4x200x64xbf16>, tensor<2x4x200x64xbf16>, tensor<2x4x200x64xbf16>
      -> tensor<2x4x200x64xbf16>
  return %o : tensor<2x4x200x64xbf16>
}
