// A hand schedule asks for mask_lists on an op with no mask_mod: an error
// naming the op, no kernels.
func.func @plain(%q: tensor<?x4x?x64xbf16>) -> tensor<?x4x?x64xbf16> {
  %o = flash.attention %q, %q, %q mask causal dims ["B", "N", "N"]
      {flash.schedule = #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 32768, mask_lists = 1>}
      : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}
