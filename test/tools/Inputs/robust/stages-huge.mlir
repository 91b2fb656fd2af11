// Issue #20 reproducer (test/tools/flashgen-compile-robust.mlir).
func.func @hand(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>,
    %v: tensor<?x4x?x64xbf16>) -> tensor<?x4x?x64xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"] {flash.schedule = #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2147483648, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0>}
      : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>
      -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}
