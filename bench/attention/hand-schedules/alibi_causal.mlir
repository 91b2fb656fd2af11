// ALiBi with a causal mask: score += slope(h) * (j - i), slope(h) = 2^-(8(h+1)/H)
// for H = 16 heads, computed in the score_mod region.
func.func @alibi_causal(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                        %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"] score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %one = arith.constant 1 : index
    %hp1 = arith.addi %h, %one : index
    %hi = arith.index_cast %hp1 : index to i32
    %hf = arith.sitofp %hi : i32 to f32
    %neg_half = arith.constant -0.5 : f32
    %e = arith.mulf %hf, %neg_half : f32
    %slope = math.exp2 %e : f32
    %ii = arith.index_cast %i : index to i32
    %ji = arith.index_cast %j : index to i32
    %d = arith.subi %ji, %ii : i32
    %df = arith.sitofp %d : i32 to f32
    %bias = arith.mulf %slope, %df : f32
    %r = arith.addf %s, %bias : f32
    flash.yield %r : f32
  } {flash.schedule = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 32, tile_d = 128, stages = 3, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 81920>, flash.candidates = [#flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 32, tile_d = 128, stages = 3, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 81920>, #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 98304>, #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 128, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 81920>, #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 3, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 131072>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 164992>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 1, inner_kv = 0, tile_dv = 128, smem_bytes = 164992>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 3, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 230528>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 64, tile_dv = 128, smem_bytes = 164992>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 176, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 214144>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 176, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 1, inner_kv = 0, tile_dv = 128, smem_bytes = 214144>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 164864>]} : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
