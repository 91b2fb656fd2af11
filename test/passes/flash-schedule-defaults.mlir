// RUN: flashgen-opt %s -split-input-file -flash-schedule="search=false" -verify-diagnostics | FileCheck %s
// RUN: flashgen-opt %s -split-input-file -flash-schedule="search=false algorithm=chunk_two_pass" 2>/dev/null | FileCheck %s --check-prefix=TWOPASS
// RUN: flashgen-opt %s -split-input-file -flash-schedule="target=sm_test_small search=false" 2>/dev/null | FileCheck %s --check-prefix=SMALL

// flash-schedule with search=false: no Z3, no figures; a recurrence without
// a schedule gets the schedule library's default (defaultLinearSchedule):
// chunks of 64, 64-row inner tiles, tile_dv 64 (32 above Dk = 128), two
// stages where they fit, 4 warps, the plan's shared memory.

// CHECK-LABEL: func.func @plain
// CHECK: flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 98304>
// CHECK-NOT: flash.modeled_io
// TWOPASS-LABEL: func.func @plain
// TWOPASS: flash.schedule = #flash.schedule<algorithm = chunk_two_pass,
// SMALL-LABEL: func.func @plain
// SMALL: flash.schedule = #flash.schedule<algorithm = chunk_fused, {{.*}} stages = 1,
func.func @plain(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                 %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  // expected-remark @+1 {{search=false: using the default #flash.schedule<algorithm = chunk_fused}}
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

// -----

// Dk = 256 and mlstm_exp: 32-wide inner key tiles and value tiles.

// CHECK-LABEL: func.func @wide_mlstm
// CHECK: flash.schedule = #flash.schedule<algorithm = chunk_fused, {{.*}} inner_kv = 32, tile_dv = 32,
func.func @wide_mlstm(%q: tensor<?x1x?x256xbf16>, %v: tensor<?x1x?x256xbf16>,
                      %i: tensor<?x1x?xf32>, %f: tensor<?x1x?xf32>) -> tensor<?x1x?x256xbf16> {
  // expected-remark @+1 {{search=false: using the default}}
  %o = flash.linear_attention %q, %q, %v gate mlstm_exp gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>) dims ["B", "T"]
      : tensor<?x1x?x256xbf16>, tensor<?x1x?x256xbf16>, tensor<?x1x?x256xbf16> -> tensor<?x1x?x256xbf16>
  return %o : tensor<?x1x?x256xbf16>
}

// -----

// An op that carries a schedule keeps it; attention ops have no default and
// are left as they are (flash-lower-kernels then asks for flash-schedule).

// CHECK-LABEL: func.func @kept
// CHECK: chunk = 128
// CHECK: flash.attention
// CHECK-NOT: flash.schedule
// CHECK: return
func.func @kept(%q: tensor<?x1x?x64xbf16>, %a: tensor<1x1x16x64xbf16>) -> (tensor<?x1x?x64xbf16>, tensor<1x1x16x64xbf16>) {
  %o = flash.linear_attention %q, %q, %q dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 128, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16> -> tensor<?x1x?x64xbf16>
  %b = flash.attention %a, %a, %a : tensor<1x1x16x64xbf16>, tensor<1x1x16x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
  return %o, %b : tensor<?x1x?x64xbf16>, tensor<1x1x16x64xbf16>
}
