// RUN: flashgen-opt %s -split-input-file -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s
// The emitted CUDA of the recurrence kernels follows the IR: constants and
// the shared-memory plan from the schedule, tensor-core products through the
// device library, the gate math of the chunk_gates / decay_map regions as
// scalar C, and boundary handling for a T that is not a multiple of L.

// decay, L = 64, inner tiles 64 x 32, two value tiles of 32.

// CHECK-LABEL: // === kernel @decay_v0 grid(2, 2, B) block(128) smem(47360)
// CHECK: #include "flashgen/device/recurrence/chunk_gates.cuh"
// CHECK: #include "flashgen/device/recurrence/chunk_mma.cuh"
// CHECK: constexpr int kKeyDim = 64;
// CHECK: constexpr int kTileDv = 32;
// CHECK: constexpr int kChunk = 64;
// CHECK: constexpr int kInnerQ = 64;
// CHECK: constexpr int kInnerK = 32;
// CHECK: constexpr int kStages = 2;
// CHECK: constexpr int kWarps = 4;
// CHECK: constexpr float kScale = 0.125f;
// CHECK: constexpr int kSmemBytes = 47360;
// CHECK: extern "C" __global__ void __launch_bounds__(128)
// CHECK-NEXT: flashgen_decay_v0(
// CHECK-NEXT: const decay_v0_k::Elem* __restrict__ q,
// CHECK: const float* __restrict__ g,
// CHECK: decay_v0_k::Elem* __restrict__ o,
// CHECK: int dim_B,
// CHECK-NEXT: int dim_T) {
// The carried state: an f32 register tile per warp.
// CHECK: fg::acc_tile<kStateRows, kTileDv> st_c;
// CHECK: const int [[NC:v[0-9]+]] = fg::ceildiv(dim_T, 64);
// CHECK: fg::warp::zero(st_c);
// Chunk loads zero-fill the rows past T (the last chunk is ragged).
// CHECK: fg::cta::load_async<kThreads>(sQ.stage(0), {{.*}}, q_s2, dim_T - (0) * kChunk);
// CHECK: fg::cta::load_async<kThreads>(sV.stage(0), (v + {{.*}}(long long)(value_tile_id) * 32, v_s2, dim_T - (0) * kChunk);
// The raw gates of chunk 0, then its log-space gates; steps past T count as
// lambda = 0, iota = -inf inside the scan.
// CHECK: fg::warp::fetch_gate_rows<kChunk, kGateRows>(gate_raw[0], {{.*}}, g_s2, (0) * kChunk, dim_T);
// CHECK: fg::warp::scan_scalar_gates<kChunk, kGateRows, kRawGates, false>({{.*}}, gate_raw, dim_T - (0) * kChunk,
// CHECK-NEXT: [&](float a0, float a1, float& lf, float& li) {
// CHECK-NEXT: lf = a0;
// CHECK-NEXT: li = 0.0f;
// CHECK: for (int [[C:v[0-9]+]] = 0; [[C]] < [[NC]]; [[C]] += 1) {
// CHECK-NEXT: fg::cta::wait<0>();
// CHECK-NEXT: fg::cta::sync();
// Inter-chunk term: Q times the 16-bit state copy, rows scaled by
// scale * exp(b_r).
// CHECK: fg::warp::mma_AB_chunk<kKeyDim>(acc_h, sQ.stage([[S:v[0-9]+]]), qrow0, sC, 0, 0);
// CHECK: return kScale * expf(gb.hi()[r] + gb.lo()[r]);
// CHECK: fg::warp::mul_rows(acc_h, acc_h, row_w);
// Inner key tiles: scores on the tensor cores, then the decay map of the
// region, causal inside the chunk.
// CHECK: for (int [[KT:v[0-9]+]] = 0; [[KT]] < 2; [[KT]] += 1) {
// CHECK: fg::warp::mma_ABt_chunk(s_tile, sQ.stage([[S]]), qrow0, sK.stage([[S]]), krow0);
// CHECK: fg::warp::for_each_gated(s_tile, acc_mu, gbd, qrow0, krow0,
// CHECK: const float [[DH:v[0-9]+]] = (hr - hs);
// CHECK-NEXT: const float [[DL:v[0-9]+]] = (lr - ls);
// CHECK-NEXT: const float [[B:v[0-9]+]] = ([[DH]] + [[DL]]);
// CHECK-NEXT: const bool [[VIS:v[0-9]+]] = (s <= r);
// CHECK-NEXT: x = [[VIS]] ? x * kScale * fg::exp_fast([[B]]) : 0.0f;
// CHECK: fg::warp::convert(p_tile, s_tile);
// CHECK-NEXT: fg::warp::mma_rAB(acc_h, p_tile, sV.stage([[S]]), krow0, 0);
// Output rows past T are not written.
// CHECK: fg::warp::store_rows_staged({{.*}}, o_s2, dim_T - (int)((long long)([[C]]) * kChunk + qrow0), acc_h, sQ.stage([[S]]), qrow0);
// CHECK-NEXT: fg::cta::sync();
// The state update: decay, then K^T diag(w) V on the tensor cores.
// CHECK: fg::warp::mul(st_c, st_c, gb.decay());
// CHECK-NEXT: fg::warp::mma_AtB_chunk<kChunk>(st_c, sK.stage([[S]]), 0, srow0, sV.stage([[S]]), 0, 0, [&](int, int s) { return gb.w()[s]; });
// CHECK-NEXT: fg::warp::store(sC, srow0, 0, st_c);
func.func @decay(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                 %v: tensor<?x2x?x64xbf16>, %g: tensor<?x2x?xf32>) -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x2x?xf32>)
      dims ["B", "T"] {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

// mlstm_exp with initial and final state: log-sigmoid forget gates, the
// online maximum (two passes of the decay-map region), the normaliser.

// CHECK-LABEL: // === kernel @mlstm_v0
// CHECK: constexpr float kEps = 9.99999997e-07f;
// CHECK: const float* __restrict__ igate,
// CHECK: const float* __restrict__ fgate,
// c0 and cf may be one buffer (may_alias): not __restrict__.
// CHECK: const float* c0,
// CHECK: const float* __restrict__ n0,
// CHECK: const float* __restrict__ m0,
// The normaliser kinds' forward writes the rows' normalisers (N_r,
// floor_r) to the optional `norm` after o, for the backward, from value
// tile 0 before the rows are normalised.
// CHECK: mlstm_v0_k::Elem* __restrict__ o,
// CHECK: float* __restrict__ norm,
// CHECK: float* cf,
// CHECK: float* __restrict__ nf,
// CHECK: float* __restrict__ mf,
// A null initial state is a zero state.
// CHECK: if (c0 != nullptr) {
// CHECK-NEXT: fg::warp::load_f32(st_c, (c0 + {{.*}}) + (long long)srow0 * c0_s2 + (long long)(value_tile_id) * kTileDv, c0_s2);
// CHECK: m0 == nullptr ? 0.0f : m0[
// CHECK: } else {
// CHECK-NEXT: fg::warp::zero(st_c);
// log sigmoid(f) = min(f, 0) - log1p(exp(-|f|)), iota = i.
// CHECK: fg::warp::scan_scalar_gates<kChunk, kGateRows, kRawGates, true>(
// CHECK-NEXT: [&](float a0, float a1, float& lf, float& li) {
// CHECK-NEXT: const float [[LOW:v[0-9]+]] = fminf(a1, 0.0f);
// CHECK-NEXT: const float [[ABS:v[0-9]+]] = fabsf(a1);
// CHECK-NEXT: const float [[NEG:v[0-9]+]] = (-[[ABS]]);
// CHECK-NEXT: const float [[E:v[0-9]+]] = fg::exp_fast([[NEG]]);
// CHECK-NEXT: const float [[L1P:v[0-9]+]] = log1pf([[E]]);
// CHECK-NEXT: const float [[LF:v[0-9]+]] = ([[LOW]] - [[L1P]]);
// CHECK-NEXT: lf = [[LF]];
// CHECK-NEXT: li = a0;
// The inter-chunk term enters the running maximum at nu_r = b_r + m_start.
// CHECK: fg::warp::rows_dot(acc_n, sQ.stage({{v[0-9]+}}), qrow0, s_norm);
// CHECK: return (gb.hi()[r] + gb.m_start()) + gb.lo()[r];
// First pass: row maxima of the log weights D~ = B(r, s) + iota_s.
// CHECK: fg::row_vec<kWarpRows> mu_tile = acc_mu;
// CHECK: const float [[D1:v[0-9]+]] = ({{v[0-9]+}} + is);
// CHECK-NEXT: const bool [[V1:v[0-9]+]] = (s <= r);
// CHECK-NEXT: row = fmaxf(row, [[V1]] ? [[D1]] : fg::neg_inf());
// CHECK: fg::warp::stabilized_rescale(acc_mu, mu_tile, acc_h, acc_n);
// Second pass: P = score * scale * exp(D~ - mu).
// CHECK: const float [[D2:v[0-9]+]] = ({{v[0-9]+}} + is);
// CHECK-NEXT: const bool [[V2:v[0-9]+]] = (s <= r);
// CHECK-NEXT: x = [[V2]] ? x * kScale * fg::exp_fast([[D2]] - row) : 0.0f;
// CHECK: fg::warp::row_partial_sum(acc_n, s_tile);
// CHECK: if (norm != nullptr && (value_tile_id) == 0)
// CHECK-NEXT: fg::warp::store_normalizer_rows<true>((norm
// o = H / (max(|N|, exp(-m)) + eps).
// CHECK: fg::warp::normalize_rows<true>(acc_h, acc_n, acc_mu, kEps);
// CHECK: fg::cta::update_normalizer<kThreads, kChunk, kKeyDim>(s_norm,
// The final state after the loop; m and n from value tile 0 only.
// CHECK: if (cf != nullptr) fg::warp::store_f32(
// CHECK: if (nf != nullptr && (value_tile_id) == 0)
// CHECK: if (mf != nullptr && (value_tile_id) == 0 && threadIdx.x == 0)
func.func @mlstm(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                 %v: tensor<?x1x?x64xbf16>, %i: tensor<?x1x?xf32>,
                 %f: tensor<?x1x?xf32>, %c0: tensor<?x1x64x64xf32>,
                 %n0: tensor<?x1x64xf32>, %m0: tensor<?x1xf32>)
    -> (tensor<?x1x?x64xbf16>, tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>) {
  %o, %c, %n, %m = flash.linear_attention %q, %k, %v gate mlstm_exp
      gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>)
      initial(%c0, %n0, %m0 : tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>)
      return_final_state dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>
      -> tensor<?x1x?x64xbf16>, tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>
  return %o, %c, %n, %m : tensor<?x1x?x64xbf16>, tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>
}

// -----

// vector (GLA): the g tile is staged as f32, scanned per key dim at the top
// of the chunk (q and k gated in place), then plain tensor-core products
// with per-key-dim factors from the b tables.

// CHECK-LABEL: // === kernel @gla_v0
// CHECK: const float* __restrict__ g,
// CHECK-NEXT: long long g_s0,
// CHECK-NEXT: long long g_s1,
// CHECK-NEXT: long long g_s2,
// CHECK-NEXT: long long g_s3,
// CHECK: fg::cta::load_async_f32<kThreads, kChunk, kKeyDim>(smem + kSmemG, {{.*}}, g_s2, dim_T - (0) * kChunk);
// CHECK: fg::cta::wait<0>();
// CHECK-NEXT: fg::cta::sync();
// CHECK: fg::cta::scan_vector_gates<kThreads, kChunk, kKeyDim, fg::cta::vector_gating::tile_relative>(s_g, s_tab_hi, s_tab_lo, sQ.stage({{.*}}), sK.stage({{.*}}), dim_T - ({{v[0-9]+}}) * kChunk, [&](float a0) -> float {
// CHECK-NEXT: return a0;
// CHECK: fg::cta::sync();
// CHECK: fg::warp::mma_AB_chunk<kKeyDim>(acc_h, sQ.stage({{.*}}), qrow0, sC, 0, 0, [&](int m, int d) {
// CHECK-NEXT: return fg::chunk::table_decay<kKeyDim>(s_tab_hi, s_tab_lo, (qrow0 + m) / 16, -1, d);
// CHECK: fg::warp::mma_ABt_vector<kKeyDim>(s_tile,
// The decay map is the causal mask only.
// CHECK: x = {{v[0-9]+}} ? x * kScale : 0.0f;
// CHECK: fg::warp::mul_rows(st_c, st_c, decay_d);
// CHECK: return fg::chunk::table_decay<kKeyDim>(s_tab_hi, s_tab_lo, kChunk / 16, s / 16, srow0 + m);
func.func @gla(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
               %v: tensor<?x1x?x64xbf16>, %g: tensor<?x1x?x64xf32>) -> tensor<?x1x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate vector gates(%g : tensor<?x1x?x64xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16> -> tensor<?x1x?x64xbf16>
  return %o : tensor<?x1x?x64xbf16>
}

// -----

// chunk_two_pass: the states kernel writes the boundary states (f32) to
// the scratch tensors, the outputs kernel reads its chunk's.

// CHECK-LABEL: // === kernel @twopass_v0_states grid(2, 1, B) block(128)
// CHECK: flashgen_twopass_v0_states(
// CHECK-NOT: Elem* __restrict__ q,
// CHECK: float* __restrict__ chunk_c,
// CHECK-NEXT: long long chunk_c_s0,
// CHECK: long long chunk_c_s4,
// CHECK: fg::warp::store_f32((chunk_c + {{.*}}) + (long long)({{v[0-9]+}}) * chunk_c_s2 + (long long)srow0 * chunk_c_s3 + (long long)(value_tile_id) * kTileDv, chunk_c_s3, st_c);
// The states kernel has no 16-bit state copy to refresh.
// CHECK-NOT: fg::warp::store(sC
// CHECK-LABEL: // === kernel @twopass_v0_outputs grid(max(cdiv(T,64),1)*2, 1, B) block(128)
// CHECK: constexpr int kStages = 1;
// CHECK: const float* __restrict__ chunk_c,
// CHECK: const int chunk_value_tile_id = int(blockIdx.x);
// CHECK: fg::warp::load_f32(st_c, (chunk_c + {{.*}}) * chunk_c_s2 + (long long)srow0 * chunk_c_s3
// CHECK: fg::warp::store(sC, srow0, 0, st_c);
// CHECK-NOT: fg::warp::mma_AtB_chunk
func.func @twopass(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                   %v: tensor<?x1x?x64xbf16>, %g: tensor<?x1x?xf32>) -> tensor<?x1x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x1x?xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16> -> tensor<?x1x?x64xbf16>
  return %o : tensor<?x1x?x64xbf16>
}

// -----

// chunk_scored: the scores pre-pass writes each pair's P as 16-bit pairs
// into `scores`; the fused kernel stages P in its own ring and multiplies
// it with V from shared memory (the normaliser's row sums on the way).

// CHECK-LABEL: // === kernel @scored_v0_scores grid(max(cdiv(T,64),1), 1, B) block(128)
// CHECK: extern "C" __global__ void __launch_bounds__(128, 1)
// CHECK: Elem* __restrict__ scores,
// CHECK-NOT: Elem* __restrict__ v,
// CHECK: fg::warp::for_each_gated(s_tile, acc_mu, gbd, qrow0, krow0,
// CHECK: fg::warp::store_16bit((scores + {{.*}}) + ((long long)(chunk_id) * kChunk + qrow0) * scores_s2 + krow0, scores_s2, kWarpRows, s_tile);
// CHECK-LABEL: // === kernel @scored_v0 grid(2, 1, B) block(128)
// CHECK: using PRing = fg::smem_ring<PTile, kStages>;
// CHECK: const scored_v0_k::Elem* __restrict__ scores,
// CHECK: const PRing sP{smem + kSmemP};
// CHECK: fg::cta::load_async<kThreads>(sP.stage(
// CHECK: fg::warp::mma_staged_scores<true>(acc_h, acc_n, sP.stage({{.*}}), qrow0, sV.stage({{.*}}), (qrow0 + kWarpRows) / 16);
// CHECK-NOT: fg::warp::mma_ABt_chunk
// CHECK: fg::warp::normalize_rows<false>
func.func @scored(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                  %v: tensor<?x1x?x64xbf16>, %i: tensor<?x1x?xf32>, %f: tensor<?x1x?xf32>)
    -> tensor<?x1x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate mlstm_sig gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_scored, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16> -> tensor<?x1x?x64xbf16>
  return %o : tensor<?x1x?x64xbf16>
}

// -----

// The gradient's kernels: the state-gradient pass reads q and dO ("do" in
// the manifest) into the update's stages and weighs row t by scale exp(b_t);
// the states go through 16-bit scratch; the chunk
// kernel stages both with their dot product, runs the
// region as the decay map of A and dP, writes dq, dk, dv straight from
// registers, and the log-decay gradient as a reverse cumulative sum.

// CHECK-LABEL: // === kernel @grad_v0_states grid(2, 1, B) block(64)
// CHECK: Elem* __restrict__ chunk_c,
// CHECK-LABEL: // === kernel @grad_v0_grad_states grid(2, 1, B) block(64)
// CHECK: const {{.*}}Elem* __restrict__ q,
// CHECK: const {{.*}}Elem* __restrict__ dout,
// CHECK: Elem* __restrict__ chunk_dc,
// CHECK: fg::cta::load_async<kThreads>(sK.stage(
// CHECK: fg::cta::load_async<kThreads>(sV.stage(
// CHECK: fg::warp::store_16bit((chunk_dc {{.*}}, chunk_dc_s3, kStateRows, st_c);
// CHECK: fg::warp::mma_AtB_chunk<kChunk>(st_c, sK.stage({{.*}}), 0, srow0, sV.stage({{.*}}), 0, 0, [&](int, int t) { return kScale * fg::exp_fast(gb.hi()[t] + gb.lo()[t]); });

// CHECK-LABEL: // === kernel @grad_v0_grad_chunk grid(max(cdiv(T,32),1), 1, B) block(64)
// CHECK: #include "flashgen/device/recurrence/chunk_grad.cuh"
// CHECK: constexpr int kValueDim = 64;
// CHECK: constexpr int kWarps = 2;
// CHECK: fg::cta::load_async<kThreads>(sS, (chunk_c
// CHECK: fg::cta::load_async<kThreads>(sG, (chunk_dc
// CHECK: const float gs_dot = fg::cta::dot_tiles<kThreads>(sS, sG, s_red);
// CHECK: fg::warp::mma_ABt_chunk(s_tile, sQ, r0, sK, cs * kColsA);
// CHECK: fg::warp::for_each_gated(s_tile, unused_rv, gbd, r0, cs * kColsA,
// CHECK: x = {{.*}} ? x * kScale * fg::exp_fast(
// CHECK: fg::warp::store(sA, r0, cs * kColsA, s_tile);
// CHECK: fg::warp::store(sDP, r0, cs * kColsA, s_tile);
// CHECK: fg::warp::store_16bit((dq
// CHECK: fg::warp::store_16bit((dk
// CHECK: fg::warp::store_16bit((dv
// CHECK: if (warp == 0)
// CHECK-NEXT: fg::warp::reverse_cumsum_rows<kChunk, kColSplit>((dg
func.func @grad(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                %v: tensor<?x1x?x64xbf16>, %g: tensor<?x1x?xf32>,
                %do: tensor<?x1x?x64xbf16>)
    -> (tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?xf32>) {
  %dq, %dk, %dv, %dg = flash.linear_attention_grad %q, %k, %v, %do gate decay
      gates(%g : tensor<?x1x?xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>,
        tensor<?x1x?x64xbf16>
      -> tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>
         gates(tensor<?x1x?xf32>)
  return %dq, %dk, %dv, %dg : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?xf32>
}

// -----

// mlstm_sig's gradient: the rows kernel, grid (chunk, head, batch), reads
// the forward's o and norm and dO row by row (no shared memory) and writes
// dO / den and one normaliser-gradient column a row, which the two
// gradient kernels read.

// CHECK-LABEL: // === kernel @grad_sig_v0_grad_rows grid(max(cdiv(T,32),1), 1, B) block(128) smem(0)
// CHECK: constexpr int kChunk = 32;
// CHECK: flashgen_grad_sig_v0_grad_rows(
// CHECK-NEXT: const grad_sig_v0_grad_rows_k::Elem* __restrict__ o,
// CHECK: const grad_sig_v0_grad_rows_k::Elem* __restrict__ dout,
// CHECK: const float* __restrict__ norm,
// CHECK: grad_sig_v0_grad_rows_k::Elem* __restrict__ grad_do,
// CHECK: float* __restrict__ grad_dqn,
// CHECK: int dim_T) {
// CHECK-NOT: fg::cta::load_async
// CHECK: fg::cta::normalizer_grad_rows<kThreads, kChunk, kValueDim, false>((o
// CHECK-NEXT: }
// CHECK-LABEL: // === kernel @grad_sig_v0_grad_states
// CHECK: constexpr int kDqnCols = 1;
// CHECK-LABEL: // === kernel @grad_sig_v0_grad_chunk
// CHECK: constexpr int kDqnCols = 1;
func.func @grad_sig(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                    %v: tensor<?x1x?x64xbf16>, %i: tensor<?x1x?xf32>,
                    %f: tensor<?x1x?xf32>, %o: tensor<?x1x?x64xbf16>,
                    %do: tensor<?x1x?x64xbf16>, %norm: tensor<?x1x?x2xf32>) {
  %dq, %dk, %dv, %di, %df = flash.linear_attention_grad %q, %k, %v, %do gate mlstm_sig
      saved(%o, %norm : tensor<?x1x?x64xbf16>, tensor<?x1x?x2xf32>)
      gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>,
        tensor<?x1x?x64xbf16>
      -> tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>
         gates(tensor<?x1x?xf32>, tensor<?x1x?xf32>)
  return
}
