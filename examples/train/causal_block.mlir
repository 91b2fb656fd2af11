// The attention of examples/train/train_block.py: 8 heads of head dim 64 with
// a causal mask; batch B and sequence length N bound at run time. Compile with
// --backward for training (kernels causal_block and causal_block_backward).
func.func @causal_block(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>,
                        %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>
      -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}
