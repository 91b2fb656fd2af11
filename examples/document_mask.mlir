// Packed documents: each token carries the id of its document (doc, [B, N]
// int32, given at launch with q, k and v), and a query sees only earlier keys
// of its own document, the mask of sequence packing. The region reads the
// ids with tensor.extract; `extras` lists what it reads and names its sizes.
func.func @document_mask(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                         %v: tensor<?x16x?x128xbf16>, %doc: tensor<?x?xi32>)
    -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      extras(%doc : tensor<?x?xi32>) names ["doc"] extra_dims [["B", "N"]]
      mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %ids: tensor<?x?xi32>):
    %di = tensor.extract %ids[%b, %i] : tensor<?x?xi32>
    %dj = tensor.extract %ids[%b, %j] : tensor<?x?xi32>
    %same = arith.cmpi eq, %di, %dj : i32
    flash.yield %same : i1
  } : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
