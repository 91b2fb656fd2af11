// RUN: flashgen-opt %s -split-input-file -verify-diagnostics
// The rules of block-sparse masks (flash.block_mask, docs/semantics.md
// §2.10), one error per case, with the message a user sees.

func.func @block_not_granule(%k: tensor<?x4x?x64xbf16>, %c: tensor<?x8x?xi32>, %i: tensor<?x8x?x?xi32>) -> tensor<?x4x?x64xbf16> {
  // expected-error@+1 {{block size Kb = 100 must be a multiple of 16 in [16, 4096]}}
  %ks = flash.block_mask %k[%c, %i] block [128, 100] : tensor<?x4x?x64xbf16>, tensor<?x8x?xi32>, tensor<?x8x?x?xi32> -> tensor<?x4x?x64xbf16>
  return %ks : tensor<?x4x?x64xbf16>
}

// -----

func.func @one_block_size(%k: tensor<?x4x?x64xbf16>, %c: tensor<?x8x?xi32>, %i: tensor<?x8x?x?xi32>) -> tensor<?x4x?x64xbf16> {
  // expected-error@+1 {{block has 1 sizes: it is [Qb, Kb], query rows and keys a block}}
  %ks = flash.block_mask %k[%c, %i] block [128] : tensor<?x4x?x64xbf16>, tensor<?x8x?xi32>, tensor<?x8x?x?xi32> -> tensor<?x4x?x64xbf16>
  return %ks : tensor<?x4x?x64xbf16>
}

// -----

func.func @indices_rank(%k: tensor<?x4x?x64xbf16>, %c: tensor<?x8x?xi32>, %i: tensor<?x8x?xi32>) -> tensor<?x4x?x64xbf16> {
  // expected-error@+1 {{kv_indices has shape [?, 8, ?]: it is [B, Hq, query blocks, key blocks]}}
  %ks = flash.block_mask %k[%c, %i] block [128, 128] : tensor<?x4x?x64xbf16>, tensor<?x8x?xi32>, tensor<?x8x?xi32> -> tensor<?x4x?x64xbf16>
  return %ks : tensor<?x4x?x64xbf16>
}

// -----

func.func @used_as_v(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %c: tensor<?x8x?xi32>, %i: tensor<?x8x?x?xi32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{result is used by flash.attention: a block mask view is read only as the k of a flash.attention}}
  %ks = flash.block_mask %k[%c, %i] block [128, 128] : tensor<?x8x?x64xbf16>, tensor<?x8x?xi32>, tensor<?x8x?x?xi32> -> tensor<?x8x?x64xbf16>
  %o = flash.attention %q, %k, %ks : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @list_heads(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>, %c: tensor<?x2x?xi32>, %i: tensor<?x2x?x?xi32>) -> tensor<?x8x?x64xbf16> {
  %ks = flash.block_mask %k[%c, %i] block [128, 128] : tensor<?x2x?x64xbf16>, tensor<?x2x?xi32>, tensor<?x2x?x?xi32> -> tensor<?x2x?x64xbf16>
  // expected-error@+1 {{kv_num_blocks has 2 heads: it is static, the 8 query heads or 1}}
  %o = flash.attention %q, %ks, %v : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @static_blocks(%q: tensor<?x8x1000x64xbf16>, %k: tensor<?x8x1000x64xbf16>, %v: tensor<?x8x1000x64xbf16>, %c: tensor<?x1x8xi32>, %i: tensor<?x1x8x7xi32>) -> tensor<?x8x1000x64xbf16> {
  %ks = flash.block_mask %k[%c, %i] block [128, 128] : tensor<?x8x1000x64xbf16>, tensor<?x1x8xi32>, tensor<?x1x8x7xi32> -> tensor<?x8x1000x64xbf16>
  // expected-error@+1 {{kv_indices dim 3 is 7: it is cdiv(M, Kb) (8)}}
  %o = flash.attention %q, %ks, %v : tensor<?x8x1000x64xbf16>, tensor<?x8x1000x64xbf16>, tensor<?x8x1000x64xbf16> -> tensor<?x8x1000x64xbf16>
  return %o : tensor<?x8x1000x64xbf16>
}

// -----

func.func @paged_keys(%q: tensor<?x8x?x64xbf16>, %pool: tensor<?x16x8x64xbf16>, %t: tensor<?x?xi32>, %c: tensor<?x8x?xi32>, %i: tensor<?x8x?x?xi32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{'flash.paged_view' op result is used by flash.block_mask: a paged view is read only as the k or v of a flash.attention}}
  %k = flash.paged_view %pool[%t] : tensor<?x16x8x64xbf16>, tensor<?x?xi32> -> tensor<?x8x?x64xbf16>
  %v = flash.paged_view %pool[%t] : tensor<?x16x8x64xbf16>, tensor<?x?xi32> -> tensor<?x8x?x64xbf16>
  %ks = flash.block_mask %k[%c, %i] block [128, 128] : tensor<?x8x?x64xbf16>, tensor<?x8x?xi32>, tensor<?x8x?x?xi32> -> tensor<?x8x?x64xbf16>
  %o = flash.attention %q, %ks, %v : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @grad_without_transposed(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>, %c: tensor<?x8x?xi32>, %i: tensor<?x8x?x?xi32>, %lse: tensor<?x8x?xf32>) -> tensor<?x8x?x64xbf16> {
  %ks = flash.block_mask %k[%c, %i] block [128, 128] : tensor<?x8x?x64xbf16>, tensor<?x8x?xi32>, tensor<?x8x?x?xi32> -> tensor<?x8x?x64xbf16>
  // expected-error@+1 {{k is a block mask without transposed lists: the gradient's kv kernel walks, per key block, the query blocks that list it}}
  %dq, %dk, %dv = flash.attention_grad %q, %ks, %v, %q, %q, %lse : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?xf32> -> tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>
  return %dq : tensor<?x8x?x64xbf16>
}

// -----

func.func @transposed_without_full(%k: tensor<?x8x?x64xbf16>, %c: tensor<?x8x?xi32>, %i: tensor<?x8x?x?xi32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{has full kv lists but no full_transposed ones (full_q_num_blocks, full_q_indices)}}
  %ks = flash.block_mask %k[%c, %i] full [%c, %i] transposed [%c, %i : tensor<?x8x?xi32>, tensor<?x8x?x?xi32>] block [128, 128] : tensor<?x8x?x64xbf16>, tensor<?x8x?xi32>, tensor<?x8x?x?xi32>, tensor<?x8x?xi32>, tensor<?x8x?x?xi32> -> tensor<?x8x?x64xbf16>
  return %ks : tensor<?x8x?x64xbf16>
}

// -----

func.func @transposed_rank(%k: tensor<?x8x?x64xbf16>, %c: tensor<?x8x?xi32>, %i: tensor<?x8x?x?xi32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{q_indices has shape [?, 8, ?]: it is [B, Hq, key blocks, query blocks]}}
  %ks = flash.block_mask %k[%c, %i] transposed [%c, %c : tensor<?x8x?xi32>, tensor<?x8x?xi32>] block [128, 128] : tensor<?x8x?x64xbf16>, tensor<?x8x?xi32>, tensor<?x8x?x?xi32> -> tensor<?x8x?x64xbf16>
  return %ks : tensor<?x8x?x64xbf16>
}

// -----

func.func @transposed_blocks(%q: tensor<?x8x1000x64xbf16>, %k: tensor<?x8x600x64xbf16>, %v: tensor<?x8x600x64xbf16>, %c: tensor<?x8x8xi32>, %i: tensor<?x8x8x5xi32>, %qc: tensor<?x8x5xi32>, %qi: tensor<?x8x5x5xi32>) -> tensor<?x8x1000x64xbf16> {
  %ks = flash.block_mask %k[%c, %i] transposed [%qc, %qi : tensor<?x8x5xi32>, tensor<?x8x5x5xi32>] block [128, 128] : tensor<?x8x600x64xbf16>, tensor<?x8x8xi32>, tensor<?x8x8x5xi32> -> tensor<?x8x600x64xbf16>
  // expected-error@+1 {{q_indices dim 3 is 5: it is cdiv(N, Qb) (8)}}
  %o = flash.attention %q, %ks, %v : tensor<?x8x1000x64xbf16>, tensor<?x8x600x64xbf16>, tensor<?x8x600x64xbf16> -> tensor<?x8x1000x64xbf16>
  return %o : tensor<?x8x1000x64xbf16>
}
