// Dense twin of block_sparse_g4_causal.mlir: bench/attention/bench_sparse.py
// compares the sparse kernel's time with density x this one's. 32 query
// heads sharing 8 key/value heads (GQA group 4), head dim 128, bf16,
// causal. Planned at B=1, N=65536.
func.func @dense_g4_causal(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
    %v: tensor<?x8x?x128xbf16>) -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
      -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}
