// Benchmark spec: gate mlstm_sig, 8 heads, key dim 256, value dim 512 (65,536 tokens in bench.py).
func.func @mlstm_sig_h8_k256_v512(%q: tensor<?x8x?x256xbf16>, %k: tensor<?x8x?x256xbf16>,
    %v: tensor<?x8x?x512xbf16>, %i: tensor<?x8x?xf32>, %f: tensor<?x8x?xf32>) -> tensor<?x8x?x512xbf16> {
  %o = flash.linear_attention %q, %k, %v gate mlstm_sig gates(%i, %f : tensor<?x8x?xf32>, tensor<?x8x?xf32>) dims ["B", "T"]
      : tensor<?x8x?x256xbf16>, tensor<?x8x?x256xbf16>, tensor<?x8x?x512xbf16>
      -> tensor<?x8x?x512xbf16>
  return %o : tensor<?x8x?x512xbf16>
}
