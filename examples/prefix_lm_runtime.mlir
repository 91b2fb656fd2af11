// Prefix-LM with the prefix length given at launch (a run-time scalar, a
// rank-0 extra): keys before `prefix` are seen by every query, the rest
// causally. One compiled kernel serves every prompt length.
func.func @prefix_lm_runtime(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                             %v: tensor<?x16x?x128xbf16>, %prefix: tensor<i32>)
    -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      extras(%prefix : tensor<i32>) names ["prefix"] extra_dims [[]]
      mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %p: tensor<i32>):
    %len = tensor.extract %p[] : tensor<i32>
    %ji = arith.index_cast %j : index to i32
    %in_prefix = arith.cmpi slt, %ji, %len : i32
    %causal = arith.cmpi ule, %j, %i : index
    %keep = arith.ori %in_prefix, %causal : i1
    flash.yield %keep : i1
  } : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
