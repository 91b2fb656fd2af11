// Dense twin of block_sparse_g2.mlir: bench/attention/bench_sparse.py
// compares the sparse kernel's time with density x this one's. 32 query
// heads sharing 16 key/value heads (GQA group 2), head dim 128, bf16,
// no mask kind (non-causal). Planned at B=1, N=65536.
func.func @dense_g2(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
    %v: tensor<?x16x?x128xbf16>) -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      : tensor<?x32x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}
