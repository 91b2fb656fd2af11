// Simple gated linear attention (RetNet / Mamba2's decay) over a packed
// batch of sequences of different lengths (fla's cu_seqlens), 16 heads of
// 128/128: each sequence is its own recurrence, with its own initial state
// and final state.
func.func @decay_varlen(%q_packed: tensor<?x16x128xbf16>, %k_packed: tensor<?x16x128xbf16>,
                        %v_packed: tensor<?x16x128xbf16>, %g_packed: tensor<?x16xf32>,
                        %cu_seqlens: tensor<?xi32>, %c0: tensor<?x16x128x128xf32>)
    -> (tensor<?x16x128xbf16>, tensor<?x16x128x128xf32>) {
  %q = flash.varlen_view %q_packed[%cu_seqlens]
      : tensor<?x16x128xbf16>, tensor<?xi32> -> tensor<?x16x?x128xbf16>
  %k = flash.varlen_view %k_packed[%cu_seqlens]
      : tensor<?x16x128xbf16>, tensor<?xi32> -> tensor<?x16x?x128xbf16>
  %v = flash.varlen_view %v_packed[%cu_seqlens]
      : tensor<?x16x128xbf16>, tensor<?xi32> -> tensor<?x16x?x128xbf16>
  %g = flash.varlen_view %g_packed[%cu_seqlens]
      : tensor<?x16xf32>, tensor<?xi32> -> tensor<?x16x?xf32>
  %o, %cf = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x16x?xf32>)
      initial(%c0 : tensor<?x16x128x128xf32>) return_final_state dims ["B", "T"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>, tensor<?x16x128x128xf32>
  %out = flash.varlen_pack %o[%cu_seqlens]
      : tensor<?x16x?x128xbf16>, tensor<?xi32> -> tensor<?x16x128xbf16>
  return %out, %cf : tensor<?x16x128xbf16>, tensor<?x16x128x128xf32>
}
