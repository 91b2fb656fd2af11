// D != Dv on the warpgroup path (MLA's prefill: queries and keys of 192,
// values of 128): flash-schedule offers flash3 (Q and K in three 64-column
// slabs, O at Dv stored through the Q tile), the register split follows O's
// width (the d = 128 split: 48 + 2 x 224), and the kernels print; sm_80's
// flash2 takes power-of-two head dims only and says so. Dv > D has no place
// to stage O in flash3, which says why (flash2 takes 128 / 256).
// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=2,N=8192 top-k=2" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s
// RUN: not flashgen-opt %s -flash-schedule="target=sm_80 dims=B=2,N=8192" 2>&1 | FileCheck %s --check-prefix=SM80
// RUN: not flashgen-opt %S/Inputs/value-dim-wider.mlir -flash-schedule="target=sm_90 dims=B=2,N=8192 algorithm=flash3" 2>&1 | FileCheck %s --check-prefix=WIDER
// RUN: flashgen-opt %S/Inputs/value-dim-wider.mlir -flash-schedule="target=sm_90 dims=B=2,N=8192" | FileCheck %s --check-prefix=WIDER-FLASH2

// CHECK-COUNT-2: // Schedule: #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = {{[0-9]+}}, tile_d = 192,{{.*}} tile_dv = 128,
// CHECK: constexpr int kHeadDim = 192;
// CHECK: constexpr int kValueDim = 128;
// CHECK: constexpr int kProducerRegs = 48;
// CHECK: constexpr int kConsumerRegs = 224;
// CHECK: using QTile = fg::wg_tile<Elem, kTileQ, kHeadDim>;
// CHECK: using VTile = fg::wg_tile<Elem, kTileK, kValueDim>;
// CHECK: fg::wg::store_rows(o + {{.*}}, acc_o, sQ, wrow0);

// SM80: no flash2 schedule on sm_80 {{.*}} D=192 Dv=128 causal, 2-byte elements: flash2's kernels take head dims 16, 32, 64, 128 or 256 (D = 192, Dv = 128 given; pad the head dim to the next supported one)

// WIDER: no flash3 schedule on sm_90 {{.*}} D=128 Dv=256 none, 2-byte elements: flash3 stores O through the Q tile, so Dv may not exceed D; D = 128, Dv = 256
// WIDER-FLASH2: flash.schedule = #flash.schedule<algorithm = flash2,

func.func @mla(%q: tensor<?x16x?x192xbf16>, %k: tensor<?x16x?x192xbf16>,
               %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      : tensor<?x16x?x192xbf16>, tensor<?x16x?x192xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
