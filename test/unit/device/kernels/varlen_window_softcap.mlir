// Varlen self-attention (a packed training or prefill batch): queries,
// keys and values share one cu_seqlens, GQA 8/2, head dim 64, a softcapped
// score under a sliding window of 100 keys, each sequence's window aligned
// by its own length.
func.func @varlen_window_softcap(%q: tensor<?x8x64xbf16>, %k: tensor<?x2x64xbf16>,
                                 %v: tensor<?x2x64xbf16>, %cu: tensor<?xi32>)
    -> tensor<?x8x64xbf16> {
  %qs = flash.varlen_view %q[%cu]
      : tensor<?x8x64xbf16>, tensor<?xi32> -> tensor<?x8x?x64xbf16>
  %ks = flash.varlen_view %k[%cu]
      : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %vs = flash.varlen_view %v[%cu]
      : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %o = flash.attention %qs, %ks, %vs mask sliding_window window 100 dims ["B", "N", "M"] score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %cap = arith.constant 30.0 : f32
    %x = arith.divf %s, %cap : f32
    %t = math.tanh %x : f32
    %r = arith.mulf %t, %cap : f32
    flash.yield %r : f32
  } : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x8x?x64xbf16>
  %out = flash.varlen_pack %o[%cu]
      : tensor<?x8x?x64xbf16>, tensor<?xi32> -> tensor<?x8x64xbf16>
  return %out : tensor<?x8x64xbf16>
}
