// RUN: flashgen-opt %S/../../examples/gated_recurrence.mlir -flash-schedule="dims=B=8,T=4096" -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s
// RUN: flashgen-opt %S/../../examples/gated_recurrence.mlir -flash-schedule="dims=B=8,T=4096 algorithm=chunk_two_pass" -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=TWO
// RUN: flashgen-opt %S/../../examples/gated_recurrence.mlir -flash-schedule="dims=B=64,T=1" -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=STEP
// A recurrence's output_mod (docs/semantics.md §3.6): after the mLSTM's
// normaliser each element of o passes through the user's region in
// registers (the gate an extra read at each output's own t and d, which
// the chunk kernels stage with the chunk; passes/StagedExtras.h), then the
// rows are stored.
// B = 8: the 64 sequences take the fused kernel (at B = 2 the model picks
// the two-pass form, whose kernels the chunk_two_pass runs check).

// CHECK-LABEL: // === kernel @gated_recurrence_v0
// CHECK: const float* __restrict__ x_gate,
// CHECK-NEXT: long long x_gate_s0,
// The gate's tile is copied with each chunk, beside v's (f32, the
// extra's own strides, zeros past T), and read from shared memory.
// CHECK: constexpr int kExtraStride = {{[0-9]+}};
// CHECK: fg::cta::load_async<kThreads>(sV.stage(
// CHECK-NEXT: fg::cta::load_async_f32_strided<kThreads, kChunk, kTileDv, kExtraStride>(smem + kSmemExtras + fg::u32(({{.*}}) * kExtraStageFloats + 0 * kChunk * kExtraStride) * 4u, x_gate + {{.*}} * x_gate_s0 + {{.*}} * x_gate_s2 + (long long)({{.*}}) * kChunk * x_gate_s1 + (long long)(value_tile_id) * kTileDv * x_gate_s3, x_gate_s1, x_gate_s3, dim_T - ({{.*}}) * kChunk);
// CHECK: fg::warp::normalize_rows<false>(acc_h, acc_n, acc_mu, kEps);
// CHECK-NEXT: fg::warp::for_each_at(acc_h, (int)({{.*}} * kChunk + qrow0), (int)(value_tile_id) * kTileDv, [&](int i, int j, int di, int dj, float& x) {
// CHECK-NEXT: const float [[G:v[0-9]+]] = s_extras[({{.*}}) * kExtraStageFloats + 0 * kChunk * kExtraStride + ((int)(i) - (int)((long long)({{.*}}) * kChunk)) * kExtraStride + ((int)(j) - (int)((int)(value_tile_id) * kTileDv))];
// CHECK: const float [[R:v[0-9]+]] = (x * {{v[0-9]+}});
// CHECK-NEXT: x = [[R]];
// CHECK-NEXT: });
// CHECK-NEXT: fg::warp::store_rows_staged((o +

// The two-pass form: the states kernel never reads the gate; the outputs
// kernel gates what it stores.
// TWO-LABEL: // === kernel @gated_recurrence_v0_states
// TWO-NOT: x_gate
// TWO-LABEL: // === kernel @gated_recurrence_v0_outputs
// TWO: const float* __restrict__ x_gate,
// TWO: fg::warp::normalize_rows<false>(acc_h, acc_n, acc_mu, kEps);
// TWO-NEXT: fg::warp::for_each_at(acc_h,

// STEP-LABEL: // === kernel @gated_recurrence_v0
// STEP: recurrent_step
// STEP: const float* __restrict__ x_gate,
// STEP: FG_UNROLL
// STEP-NEXT: for (int c = 0; c < Layout::kVec; ++c) {
// STEP-NEXT: float x = step_h[c] / denom;
// STEP-NEXT: const int i = (int)({{v[0-9]+}}), j = (int)(value_tile_id) * kTileDv + Layout::col0() + c;
// STEP-NEXT: const float {{v[0-9]+}} = __ldg(x_gate +
// STEP: o_row[c] = fg::from_float<Elem>({{v[0-9]+}});
