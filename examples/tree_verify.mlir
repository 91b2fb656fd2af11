// Speculative decoding's tree verification (SpecInfer, Medusa, LongSpec): a
// draft model proposes a tree of N tokens after each sequence's cached
// prefix, and the target model checks all of them in one attention call.
// Draft token i sees the whole prefix and, among the drafts, exactly its
// ancestors and itself: bit t of tree[b, i, t / 32] is set iff draft t is
// one of them (`flashgen.tree.ancestor_bits` builds the words from parent
// indices; up to 64 drafts in this spec's two words). `prefix` holds each
// sequence's prefix length, the first draft's key position (M - N for a
// dense cache whose last N keys are the drafts').
//
// The region keeps every key below the prefix whatever the bit test says,
// so flash-lower-kernels computes the prefix's key tiles as ordinary
// attention (no mask evaluated there, passes/MaskModBounds.h) and applies
// the bit test on the drafts' tiles alone; the causal mask kind stops every
// row at its own position (ancestors come before their descendants).
func.func @tree_verify(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                       %v: tensor<?x8x?x128xbf16>, %prefix: tensor<?xi32>,
                       %tree: tensor<?x?x2xi32>) -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "M"]
      extras(%prefix, %tree : tensor<?xi32>, tensor<?x?x2xi32>)
      names ["prefix", "tree"] extra_dims [["B"], ["B", "N"]]
      mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %p: tensor<?xi32>,
       %bits: tensor<?x?x2xi32>):
    %len = tensor.extract %p[%b] : tensor<?xi32>
    %ji = arith.index_cast %j : index to i32
    %in_prefix = arith.cmpi slt, %ji, %len : i32
    // Draft t = j - prefix: bit t % 32 of word t / 32 (word 1 for every t
    // past 31; the prefix test decides the keys before the drafts). Both
    // words are read and one selected, rather than one read at a computed
    // word index: the gradient kernels' score loops then fit ptxas' 255
    // registers (test/config/check-examples-nvrtc.sh).
    %t = arith.subi %ji, %len : i32
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %low_word = tensor.extract %bits[%b, %i, %c0] : tensor<?x?x2xi32>
    %high_word = tensor.extract %bits[%b, %i, %c1] : tensor<?x?x2xi32>
    %c32 = arith.constant 32 : i32
    %high = arith.cmpi sge, %t, %c32 : i32
    %ancestors = arith.select %high, %high_word, %low_word : i32
    %c31 = arith.constant 31 : i32
    %bit = arith.andi %t, %c31 : i32
    %shifted = arith.shrui %ancestors, %bit : i32
    %one = arith.constant 1 : i32
    %lowest = arith.andi %shifted, %one : i32
    %is_ancestor = arith.cmpi eq, %lowest, %one : i32
    %keep = arith.ori %in_prefix, %is_ancestor : i1
    flash.yield %keep : i1
  } : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
      -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}
