// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=2,N=8192" -flash-lower-kernels=target=h200 -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=WS
// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=2,N=8192 algorithm=flash2" -flash-lower-kernels=target=h200 -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=FLASH2
// RUN: not flashgen-opt %s -flash-schedule="target=h200 dims=B=2,N=8192 algorithm=flash2_dsplit" 2>&1 | FileCheck %s --check-prefix=DSPLIT
// A block-sparse mask (flash.block_mask, docs/semantics.md §2.10): the
// kernels walk each query block's lists, not a range of key tiles. Key
// tiles divide the 128-key blocks (no 160 or 176, flash3's dense picks at
// d = 128); the producer looks each position's tile up before its copy, the
// consumers before their turn's waits; a full block's tile skips every mask
// where the causal diagonal and the key length leave it whole; a listed
// index outside the keys loads the tile past them (zeros, masked).

func.func @sparse(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x4x?x128xbf16>,
                  %v: tensor<?x4x?x128xbf16>, %c: tensor<?x16x?xi32>,
                  %i: tensor<?x16x?x?xi32>, %fc: tensor<1x1x?xi32>,
                  %fi: tensor<1x1x?x?xi32>) -> tensor<?x16x?x128xbf16> {
  %ks = flash.block_mask %k[%c, %i] full [%fc, %fi] block [128, 128]
      : tensor<?x4x?x128xbf16>, tensor<?x16x?xi32>, tensor<?x16x?x?xi32>,
        tensor<1x1x?xi32>, tensor<1x1x?x?xi32> -> tensor<?x4x?x128xbf16>
  %o = flash.attention %q, %ks, %v mask causal dims ["B", "N", "N"]
      : tensor<?x16x?x128xbf16>, tensor<?x4x?x128xbf16>, tensor<?x4x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

// WS-LABEL: // === kernel @sparse_v0 grid({{.*}}) block(384)
// WS: constexpr int kTileK = {{128|64}};
// WS: const int* __restrict__ x_kv_num_blocks,
// WS: const int* __restrict__ x_full_kv_indices,
// WS: const int query_block = fg::floordiv({{.*}}, 128);
// WS: __ldg(x_kv_num_blocks + {{.*}}fg::imin(fg::imax(head_id, 0), 16 - 1)
// WS: __ldg(x_full_kv_num_blocks + {{.*}}fg::imin(fg::imax(head_id, 0), 1 - 1)
// WS: const int listed_tiles =
// WS: if (fg::wg::is_producer<kConsumerWarps>()) {
// WS: for (int [[P:v[0-9]+]] = 0; [[P]] < listed_tiles; [[P]] += 1) {
// WS: __ldg(x_kv_indices +
// WS: __ldg(x_full_kv_indices + (long long)fg::imin(fg::imax(batch_id, 0), 1 - 1)
// WS: const int [[T:v[0-9]+]] = ({{v[0-9]+}} ? {{v[0-9]+}} : v0);
// WS-NEXT: fg::wg::produce_tma<fg::wg::ring::k>(pipe, sK, [[P]], &tm_k, ([[T]]) * 128
// WS: } else { // consumer warpgroups
// WS: for (int [[C:v[0-9]+]] = 0; [[C]] < {{v[0-9]+}}; [[C]] += 1) {
// WS: __ldg(x_kv_indices +
// WS: fg::wg::wait_full<fg::wg::ring::k>(pipe, [[C]]);
// WS: x = {{.*}} ? x : fg::neg_inf();
// WS: for (int [[F:v[0-9]+]] = {{v[0-9]+}}; [[F]] < listed_tiles; [[F]] += 1) {
// WS: __ldg(x_kv_indices +
// WS: fg::wg::wait_full<fg::wg::ring::k>(pipe, [[F]]);
// WS: fg::wg::release_slot<fg::wg::ring::k>(pipe, [[F]]);
// WS: // interior tile: no score_mod, no mask
// WS-NEXT: } else {

// FLASH2-LABEL: // === kernel @sparse_v0
// FLASH2: for (int [[P2:v[0-9]+]] = 0; [[P2]] < [[N2:[a-z_0-9]+]]; [[P2]] += 1) {
// FLASH2: fg::cta::load_async<kThreads>(sK.stage(
// FLASH2: for (int [[F2:v[0-9]+]] = [[N2]]; [[F2]] < listed_tiles; [[F2]] += 1) {

// DSPLIT: flash2_dsplit does not visit block lists yet; under a block-sparse mask flash2 and flash3 do
