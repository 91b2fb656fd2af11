// Issue #20 reproducer (test/tools/flashgen-compile-robust.mlir).
func.func @att(%q: tensor<?x4x?x72xbf16>, %k: tensor<?x4x?x72xbf16>,
    %v: tensor<?x4x?x72xbf16>) -> tensor<?x4x?x72xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      : tensor<?x4x?x72xbf16>, tensor<?x4x?x72xbf16>, tensor<?x4x?x72xbf16>
      -> tensor<?x4x?x72xbf16>
  return %o : tensor<?x4x?x72xbf16>
}
