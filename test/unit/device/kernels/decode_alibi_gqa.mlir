// Decoding with ALiBi and grouped-query heads (DecodeEmuTest.cpp): 8 query
// heads over 2 key/value heads, head dim 64, score += slope(h) * (j - i)
// with slope(h) = 2^-(h+1). flash_decode packs the 4 query heads of a kv
// head into one tile's rows, so the slope must come from each row's own
// head; a sliding window of 200 keys ends the range.
func.func @decode_alibi_gqa(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                            %v: tensor<?x2x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  %o = flash.attention %q, %k, %v mask sliding_window window 200 dims ["B", "N", "M"] score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %one = arith.constant 1 : index
    %hp1 = arith.addi %h, %one : index
    %hi = arith.index_cast %hp1 : index to i32
    %hf = arith.sitofp %hi : i32 to f32
    %neg = arith.constant -1.0 : f32
    %e = arith.mulf %hf, %neg : f32
    %slope = math.exp2 %e : f32
    %ii = arith.index_cast %i : index to i32
    %ji = arith.index_cast %j : index to i32
    %d = arith.subi %ji, %ii : i32
    %df = arith.sitofp %d : i32 to f32
    %bias = arith.mulf %slope, %df : f32
    %r = arith.addf %s, %bias : f32
    flash.yield %r : f32
  } : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}
