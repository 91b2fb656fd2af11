// Prefix-LM masking through mask_mod: the first 256 positions see each other
// bidirectionally, the rest is causal.
func.func @prefix_lm(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                     %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %prefix = arith.constant 256 : index
    %in_prefix = arith.cmpi ult, %j, %prefix : index
    %causal = arith.cmpi ule, %j, %i : index
    %keep = arith.ori %in_prefix, %causal : i1
    flash.yield %keep : i1
  } : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
