// Gated DeltaNet with l2-normalised q and k, an initial state and the final
// state returned: flashgen-ref's delta-rule case (test/tools/flashgen-ref-delta-rule.mlir).
func.func @gated_delta(%q: tensor<?x2x?x8xbf16>, %k: tensor<?x2x?x8xbf16>,
                       %v: tensor<?x2x?x5xbf16>, %beta: tensor<?x2x?xf32>,
                       %g: tensor<?x2x?xf32>, %s0: tensor<?x2x8x5xf32>)
    -> (tensor<?x2x?x5xbf16>, tensor<?x2x8x5xf32>) {
  %o, %s = flash.delta_rule %q, %k, %v, %beta decay(%g : tensor<?x2x?xf32>)
      initial(%s0 : tensor<?x2x8x5xf32>) l2norm_qk return_final_state
      : tensor<?x2x?x8xbf16>, tensor<?x2x?x8xbf16>, tensor<?x2x?x5xbf16>,
        tensor<?x2x?xf32> -> tensor<?x2x?x5xbf16>, tensor<?x2x8x5xf32>
  return %o, %s : tensor<?x2x?x5xbf16>, tensor<?x2x8x5xf32>
}
