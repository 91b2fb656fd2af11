// RUN: flashgen-opt %s -split-input-file -verify-diagnostics
// The rules of paged KV caches (flash.paged_view, docs/semantics.md §2.8),
// one error per case, with the message a user sees.

func.func @pool_rank(%pool: tensor<?x8x128xbf16>, %t: tensor<?x?xi32>) -> tensor<?x8x?x128xbf16> {
  // expected-error@+1 {{'flash.paged_view' op pool has shape [?, 8, 128]: a page pool is [pages, P, Hkv, D]}}
  %k = flash.paged_view %pool[%t] : tensor<?x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  return %k : tensor<?x8x?x128xbf16>
}

// -----

func.func @dynamic_page(%pool: tensor<?x?x8x128xbf16>, %t: tensor<?x?xi32>) -> tensor<?x8x?x128xbf16> {
  // expected-error@+1 {{pool dim 1 (page size P) must be static, pool is [?, ?, 8, 128]}}
  %k = flash.paged_view %pool[%t] : tensor<?x?x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  return %k : tensor<?x8x?x128xbf16>
}

// -----

func.func @huge_page(%pool: tensor<?x8192x8x128xbf16>, %t: tensor<?x?xi32>) -> tensor<?x8x?x128xbf16> {
  // expected-error@+1 {{page size 8192 must be in [1, 4096]}}
  %k = flash.paged_view %pool[%t] : tensor<?x8192x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  return %k : tensor<?x8x?x128xbf16>
}

// -----

func.func @table_rank(%pool: tensor<?x16x8x128xbf16>, %t: tensor<?xi32>) -> tensor<?x8x?x128xbf16> {
  // expected-error@+1 {{page_table has shape [?]: a page table is [B, pages per sequence]}}
  %k = flash.paged_view %pool[%t] : tensor<?x16x8x128xbf16>, tensor<?xi32> -> tensor<?x8x?x128xbf16>
  return %k : tensor<?x8x?x128xbf16>
}

// -----

func.func @wrong_heads(%pool: tensor<?x16x8x128xbf16>, %t: tensor<?x?xi32>) -> tensor<?x4x?x128xbf16> {
  // expected-error@+1 {{result has shape [?, 4, ?, 128], its dim 1 (the pool's heads) must be 8}}
  %k = flash.paged_view %pool[%t] : tensor<?x16x8x128xbf16>, tensor<?x?xi32> -> tensor<?x4x?x128xbf16>
  return %k : tensor<?x4x?x128xbf16>
}

// -----

func.func @static_keys(%pool: tensor<?x16x8x128xbf16>, %t: tensor<?x4xi32>) -> tensor<?x8x60x128xbf16> {
  // expected-error@+1 {{result has shape [?, 8, 60, 128], its dim 2 (pages per sequence x P) must be 64}}
  %k = flash.paged_view %pool[%t] : tensor<?x16x8x128xbf16>, tensor<?x4xi32> -> tensor<?x8x60x128xbf16>
  return %k : tensor<?x8x60x128xbf16>
}

// -----

func.func @view_as_query(%pool: tensor<?x16x8x128xbf16>, %t: tensor<?x?xi32>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>) -> tensor<?x8x?x128xbf16> {
  // expected-error@+1 {{a paged view is read only as the k or v of a flash.attention}}
  %q = flash.paged_view %pool[%t] : tensor<?x16x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  %o = flash.attention %q, %k, %v : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}

// -----

func.func @k_only(%q: tensor<?x8x?x128xbf16>, %pool: tensor<?x16x8x128xbf16>, %t: tensor<?x?xi32>, %v: tensor<?x8x?x128xbf16>) -> tensor<?x8x?x128xbf16> {
  %k = flash.paged_view %pool[%t] : tensor<?x16x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  // expected-error@+1 {{k is a paged view and v is not: keys and values are paged together}}
  %o = flash.attention %q, %k, %v : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}

// -----

func.func @two_tables(%q: tensor<?x8x?x128xbf16>, %kp: tensor<?x16x8x128xbf16>, %vp: tensor<?x16x8x128xbf16>, %t: tensor<?x?xi32>, %u: tensor<?x?xi32>) -> tensor<?x8x?x128xbf16> {
  %k = flash.paged_view %kp[%t] : tensor<?x16x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  %v = flash.paged_view %vp[%u] : tensor<?x16x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  // expected-error@+1 {{k and v are paged through different page tables: one table serves both}}
  %o = flash.attention %q, %k, %v : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}

// -----

func.func @two_page_sizes(%q: tensor<?x8x?x128xbf16>, %kp: tensor<?x16x8x128xbf16>, %vp: tensor<?x32x8x128xbf16>, %t: tensor<?x?xi32>) -> tensor<?x8x?x128xbf16> {
  %k = flash.paged_view %kp[%t] : tensor<?x16x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  %v = flash.paged_view %vp[%t] : tensor<?x32x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  // expected-error@+1 {{k has pages of 16 keys, v of 32: one page size serves both}}
  %o = flash.attention %q, %k, %v : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}

// -----

func.func @reserved_extra(%q: tensor<?x8x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>, %x: tensor<?xi32>) -> tensor<?x8x?x128xbf16> {
  // expected-error@+1 {{extra #0 is named "page_table", which names one of the op's own tensors or dims}}
  %o = flash.attention %q, %k, %v extras(%x : tensor<?xi32>) names ["page_table"] extra_dims [["B"]]
      : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}
