// Gated DeltaNet (Qwen3-Next's linear layers; fla's chunk_gated_delta_rule):
// a log-decay per head and step scales the state before each delta update
// (docs/semantics.md §7), l2-normalised q and k, 8 heads with Dk = 128 and
// Dv = 256, an initial state in and the final state out (prefill that hands
// its state to decoding).
func.func @gated_delta_rule(%q: tensor<?x8x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                            %v: tensor<?x8x?x256xbf16>, %beta: tensor<?x8x?xbf16>,
                            %g: tensor<?x8x?xf32>, %s0: tensor<?x8x128x256xf32>)
    -> (tensor<?x8x?x256xbf16>, tensor<?x8x128x256xf32>) {
  %o, %s = flash.delta_rule %q, %k, %v, %beta decay(%g : tensor<?x8x?xf32>)
      initial(%s0 : tensor<?x8x128x256xf32>) l2norm_qk return_final_state
      dims ["B", "T"]
      : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x256xbf16>,
        tensor<?x8x?xbf16> -> tensor<?x8x?x256xbf16>, tensor<?x8x128x256xf32>
  return %o, %s : tensor<?x8x?x256xbf16>, tensor<?x8x128x256xf32>
}
