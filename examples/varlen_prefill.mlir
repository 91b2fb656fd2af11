// Variable-length prefill (a packed batch): sequences of different lengths
// back to back without padding, q [Tq, 32, 128] and k, v [Tk, 8, 128], with
// cu_seqlens_q / cu_seqlens_k [B + 1] saying where each sequence starts
// (FlashAttention's varlen layout). Each sequence attends causally to its
// own keys, bottom-right aligned by its own lengths; the output is packed
// like the queries. Lengths, offsets and the longest sequence
// (max_seqlen_q, max_seqlen_k) are launch arguments: a new batch
// composition never recompiles (docs/semantics.md §2.9).
func.func @varlen_prefill(%q: tensor<?x32x128xbf16>, %k: tensor<?x8x128xbf16>,
                          %v: tensor<?x8x128xbf16>, %cu_q: tensor<?xi32>,
                          %cu_k: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  %qs = flash.varlen_view %q[%cu_q]
      : tensor<?x32x128xbf16>, tensor<?xi32> -> tensor<?x32x?x128xbf16>
  %ks = flash.varlen_view %k[%cu_k]
      : tensor<?x8x128xbf16>, tensor<?xi32> -> tensor<?x8x?x128xbf16>
  %vs = flash.varlen_view %v[%cu_k]
      : tensor<?x8x128xbf16>, tensor<?xi32> -> tensor<?x8x?x128xbf16>
  %o = flash.attention %qs, %ks, %vs mask causal dims ["B", "N", "M"]
      : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
      -> tensor<?x32x?x128xbf16>
  %out = flash.varlen_pack %o[%cu_q]
      : tensor<?x32x?x128xbf16>, tensor<?xi32> -> tensor<?x32x128xbf16>
  return %out : tensor<?x32x128xbf16>
}
