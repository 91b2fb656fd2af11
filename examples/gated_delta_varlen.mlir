// Gated DeltaNet prefill over a packed batch of prompts of different lengths
// (fla's chunk_gated_delta_rule with cu_seqlens, as serving engines call
// it): each sequence is its own recurrence from its own initial state, and
// hands its final state to decoding. 16 heads of 128/128, l2-normalised q
// and k (docs/semantics.md §3.5 and §7).
func.func @gated_delta_varlen(%q_packed: tensor<?x16x128xbf16>, %k_packed: tensor<?x16x128xbf16>,
                              %v_packed: tensor<?x16x128xbf16>, %beta_packed: tensor<?x16xbf16>,
                              %g_packed: tensor<?x16xf32>, %cu_seqlens: tensor<?xi32>,
                              %s0: tensor<?x16x128x128xf32>)
    -> (tensor<?x16x128xbf16>, tensor<?x16x128x128xf32>) {
  %q = flash.varlen_view %q_packed[%cu_seqlens]
      : tensor<?x16x128xbf16>, tensor<?xi32> -> tensor<?x16x?x128xbf16>
  %k = flash.varlen_view %k_packed[%cu_seqlens]
      : tensor<?x16x128xbf16>, tensor<?xi32> -> tensor<?x16x?x128xbf16>
  %v = flash.varlen_view %v_packed[%cu_seqlens]
      : tensor<?x16x128xbf16>, tensor<?xi32> -> tensor<?x16x?x128xbf16>
  %beta = flash.varlen_view %beta_packed[%cu_seqlens]
      : tensor<?x16xbf16>, tensor<?xi32> -> tensor<?x16x?xbf16>
  %g = flash.varlen_view %g_packed[%cu_seqlens]
      : tensor<?x16xf32>, tensor<?xi32> -> tensor<?x16x?xf32>
  %o, %s = flash.delta_rule %q, %k, %v, %beta decay(%g : tensor<?x16x?xf32>)
      initial(%s0 : tensor<?x16x128x128xf32>) l2norm_qk return_final_state
      dims ["B", "T"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>,
        tensor<?x16x?xbf16> -> tensor<?x16x?x128xbf16>, tensor<?x16x128x128xf32>
  %out = flash.varlen_pack %o[%cu_seqlens]
      : tensor<?x16x?x128xbf16>, tensor<?xi32> -> tensor<?x16x128xbf16>
  return %out, %s : tensor<?x16x128xbf16>, tensor<?x16x128x128xf32>
}
