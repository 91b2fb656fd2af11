// RUN: flashgen-opt %s -split-input-file -flash-io-bounds="target=sm_90 dims=B=2,N=1024,T=8192" | FileCheck %s
// RUN: flashgen-opt %s -split-input-file -flash-io-bounds="target=sm_test_small dims=B=2,N=1024,T=8192" | FileCheck %s --check-prefix=SMALL
// flash-io-bounds: the least traffic any schedule moves, on chip
// (flash.io_lower_bound, M = shared memory + registers of one CTA: sm_90
// 232448 + 262144 = 494592 bytes = 247296 bf16 elements) and from HBM
// (flash.hbm_lower_bound, M = the L2). The segment term of
// schedule/IOBounds.cpp is P d^2 / (4 (d sqrt(M) + M)) - M elements
// for P visible (query, key) pairs; the bound is the larger of it and the
// compulsory traffic (inputs read once, output written once).

// Short sequence: N = M = 4096, d = 128, one head. P d^2 = 4096^2 x 16384 =
// 2.749e11, 4 (128 x 497.289 + 247296) = 1243796: 220999 - 247296 < 0, so
// the bound is Q, K, V, O once: 4 x 4096 x 128 x 2 = 4194304 bytes, at
// both levels.
// CHECK-LABEL: func @short
// CHECK: flash.attention {{.*}}{flash.hbm_lower_bound = 4194304 : i64, flash.io_lower_bound = 4194304 : i64}
func.func @short(%q: tensor<1x1x4096x128xbf16>) -> tensor<1x1x4096x128xbf16> {
  %o = flash.attention %q, %q, %q : tensor<1x1x4096x128xbf16>, tensor<1x1x4096x128xbf16>, tensor<1x1x4096x128xbf16> -> tensor<1x1x4096x128xbf16>
  return %o : tensor<1x1x4096x128xbf16>
}

// -----

// Long sequence, d = 256: N = M = 65536, P = 2^32. 4 (256 x 497.289 +
// 247296) = 1498407.6; 2^32 x 65536 / 1498407.6 - 247296 = 187602112.4
// elements = 375204224 bytes, 2.8x the compulsory 4 x 65536 x 256 x 2 =
// 134217728. From HBM (M = 50 MiB = 26214400 elements) the segment term is
// 0: the compulsory traffic.
// On the small target (M = 64 KiB + 256 KiB = 163840 elements, sqrt
// 404.772): 4 (256 x 404.772 + 163840) = 1069846.1; 2^32 x 65536 /
// 1069846.1 - 163840 = 262934738.3 elements = 525869476 bytes.
// CHECK-LABEL: func @long
// CHECK: flash.hbm_lower_bound = 134217728 : i64, flash.io_lower_bound = 375204224 : i64
// SMALL-LABEL: func @long
// SMALL: flash.hbm_lower_bound = 134217728 : i64, flash.io_lower_bound = 525869476 : i64
func.func @long(%q: tensor<1x1x65536x256xbf16>) -> tensor<1x1x65536x256xbf16> {
  %o = flash.attention %q, %q, %q : tensor<1x1x65536x256xbf16>, tensor<1x1x65536x256xbf16>, tensor<1x1x65536x256xbf16> -> tensor<1x1x65536x256xbf16>
  return %o : tensor<1x1x65536x256xbf16>
}

// -----

// GQA with bound dims B = 2, N = 1024: Q and O per query head
// (2 x 32 x 1024 x 256 x 2 = 33554432), K and V per KV head
// (2 x 8 x 1024 x 256 x 2 = 8388608): 41943040.
// CHECK-LABEL: func @gqa
// CHECK: flash.hbm_lower_bound = 41943040 : i64, flash.io_lower_bound = 41943040 : i64
func.func @gqa(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>) -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"] : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}

// -----

// mLSTM, Dk = 256, Dv = 512, T = 8192 (bound), B = 2 (bound), 8 heads. The
// f32 state C is 256 x 512 x 4 = 524288 bytes > 494592: every chunkwise
// schedule splits Dv at least in 2 and reads k twice. Per head: q, k, v
// 8192 x 1024 x 2 = 16777216, o 8192 x 512 x 2 = 8388608, gates
// 8192 x 2 x 4 = 65536, extra k 8192 x 256 x 2 = 4194304: 29425664; x 16 =
// 470810624. The L2 holds C: 25231360 x 16 = 403701760 from HBM.
// On the small target (M = 327680) C needs 2 slices as well.
// CHECK-LABEL: func @mlstm
// CHECK: flash.hbm_lower_bound = 403701760 : i64, flash.io_lower_bound = 470810624 : i64
// SMALL-LABEL: func @mlstm
// SMALL: flash.io_lower_bound = 470810624 : i64
func.func @mlstm(%q: tensor<?x8x?x256xbf16>, %k: tensor<?x8x?x256xbf16>, %v: tensor<?x8x?x512xbf16>, %i: tensor<?x8x?xf32>, %f: tensor<?x8x?xf32>) -> tensor<?x8x?x512xbf16> {
  %o = flash.linear_attention %q, %k, %v gate mlstm_exp gates(%i, %f : tensor<?x8x?xf32>, tensor<?x8x?xf32>) dims ["B", "T"] : tensor<?x8x?x256xbf16>, tensor<?x8x?x256xbf16>, tensor<?x8x?x512xbf16> -> tensor<?x8x?x512xbf16>
  return %o : tensor<?x8x?x512xbf16>
}

// -----

// Decay, Dk = Dv = 128, T = 8192, one head, with an initial and a final
// state: 8192 x ((3 x 128) x 2 + 128 x 2 + 4) = 8421376, plus C0 in and C
// out 2 x 128 x 128 x 4 = 131072: 8552448; the state fits, no extra.
// CHECK-LABEL: func @decay_states
// CHECK: flash.hbm_lower_bound = 8552448 : i64, flash.io_lower_bound = 8552448 : i64
func.func @decay_states(%q: tensor<1x1x8192x128xbf16>, %g: tensor<1x1x8192xf32>, %c0: tensor<1x1x128x128xf32>) -> tensor<1x1x8192x128xbf16> {
  %o, %c = flash.linear_attention %q, %q, %q gate decay gates(%g : tensor<1x1x8192xf32>) initial(%c0 : tensor<1x1x128x128xf32>) return_final_state : tensor<1x1x8192x128xbf16>, tensor<1x1x8192x128xbf16>, tensor<1x1x8192x128xbf16> -> tensor<1x1x8192x128xbf16>, tensor<1x1x128x128xf32>
  return %o : tensor<1x1x8192x128xbf16>
}

// -----

// No flash op: nothing is annotated.
// CHECK-LABEL: func @no_flash_ops
// CHECK-NOT: flash.io_lower_bound
func.func @no_flash_ops(%x: f32) -> f32 {
  return %x : f32
}
