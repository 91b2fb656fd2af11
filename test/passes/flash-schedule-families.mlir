// Every attention kernel family the scheduler can return goes through
// flash-schedule, flash-lower-kernels and flash-print-cuda: a schedule the
// back end cannot lower is never returned. One RUN line per family (the
// `algorithm` option restricts the search), and the default, which ranks
// flash3 and flash2 together on sm_90.
// RUN: flashgen-opt %s -flash-schedule="target=sm_90 dims=B=2,N=4096 top-k=3 algorithm=flash3" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=FLASH3
// RUN: flashgen-opt %s -flash-schedule="target=sm_90 dims=B=2,N=4096 top-k=3 algorithm=flash2" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=FLASH2
// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=2,N=4096 top-k=3" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=DEFAULT
// RUN: flashgen-opt %s -flash-schedule="target=sm_80 dims=B=2,N=4096 top-k=3" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=SM80
// RUN: flashgen-opt %s -flash-schedule="target=sm_90 dims=B=2,N=4096 top-k=3 algorithm=flash2_dsplit" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=DSPLIT
// RUN: flashgen-opt %s -flash-schedule="target=sm_90 dims=B=2,N=4096 top-k=3 algorithm=flash3_dsplit" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=DSPLIT3
// RUN: flashgen-opt %s -flash-schedule="target=sm_90 dims=B=2,N=8 top-k=2 algorithm=flash_decode" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=DECODE
// RUN: not flashgen-opt %s -flash-schedule="target=sm_90 dims=B=2,N=4096 algorithm=flash_decode" 2>&1 | FileCheck %s --check-prefix=LONG-DECODE
// RUN: not flashgen-opt %s -flash-schedule="target=sm_80 dims=B=2,N=4096 algorithm=flash3_dsplit" 2>&1 | FileCheck %s --check-prefix=NOWGMMA-DSPLIT
// RUN: not flashgen-opt %s -flash-schedule="target=sm_80 dims=B=2,N=4096 algorithm=flash3" 2>&1 | FileCheck %s --check-prefix=NOWGMMA
// RUN: not flashgen-opt %s -flash-schedule="target=sm_90 dims=B=2,N=4096 algorithm=flash4" 2>&1 | FileCheck %s --check-prefix=UNKNOWN

// Three printed kernels per family, each the family's own code path.
// FLASH3-COUNT-3: sm_90a warpgroup path (wgmma)
// FLASH2-NOT: wgmma
// FLASH2: flashgen_family_v0
// DEFAULT: sm_90a warpgroup path (wgmma): 2 warpgroup(s) of 64 query rows and a producer warpgroup
// SM80-NOT: wgmma
// SM80: flashgen_family_v2
// The small-cache kernel, forced at d = 128 (chunks of Q and K, value slices).
// DSPLIT-COUNT-3: constexpr int kValueSlices =
// Its warpgroup form: wgmma from the swizzled chunk rings.
// DSPLIT3-COUNT-3: fg::wg::issue_ABt(s_tile, sQ.stage(
// The decode kernels: packed rows, split partial rows, then the merge.
// DECODE-COUNT-2: fg::decode::merge_splits<
// LONG-DECODE: flash_decode packs the query heads of a GQA group into one tile: (Hq / Hkv) x N = 4096 rows exceed 256
// NOWGMMA-DSPLIT: flash3_dsplit is built on wgmma, which sm_80 does not have (sm_90a only)
// NOWGMMA: flash3 is built on wgmma, which sm_80 does not have (sm_90a only)
// UNKNOWN: flash-schedule: unknown algorithm 'flash4'
func.func @family(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
    %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
