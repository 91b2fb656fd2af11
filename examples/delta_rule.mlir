// DeltaNet (fla's chunk_delta_rule with use_qk_l2norm_in_kernel): the state
// is corrected towards each value, S_t = S_{t-1} (I - beta_t k_t k_t^T) +
// beta_t v_t k_t^T (docs/semantics.md §7), 16 heads of 128/128, bf16 beta.
func.func @delta_rule(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                      %v: tensor<?x16x?x128xbf16>, %beta: tensor<?x16x?xbf16>)
    -> tensor<?x16x?x128xbf16> {
  %o = flash.delta_rule %q, %k, %v, %beta l2norm_qk dims ["B", "T"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>,
        tensor<?x16x?xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
