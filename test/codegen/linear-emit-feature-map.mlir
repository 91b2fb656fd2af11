// RUN: flashgen-opt %S/../../examples/feature_map_linear.mlir -flash-schedule="dims=B=2,T=4096 algorithm=chunk_fused" -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s
// RUN: flashgen-opt %S/../../examples/feature_map_linear.mlir -flash-schedule="dims=B=64,T=1" -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=STEP
// A recurrence's feature_map (docs/semantics.md §3.7): the chunk kernel
// maps each staged q and k tile in place after the chunk has landed (rows
// inside the sequence only, i the row's position, j its column), the w
// table an extra read per element; the step kernel maps q and k in f32 as
// it commits the prefetched rows.

// CHECK-LABEL: // === kernel @feature_map_linear_v0
// CHECK: const float* __restrict__ x_w,
// CHECK-NEXT: long long x_w_s0,
// CHECK: fg::cta::wait<0>();
// CHECK-NEXT: fg::cta::sync();
// CHECK: fg::cta::map_rows<kThreads>(sQ.stage({{.*}}), {{.*}} - ({{.*}}) * kChunk, (int)({{.*}}) * kChunk, [&](float x, int i, int j) -> float {
// CHECK-NEXT: const float [[W:v[0-9]+]] = __ldg(x_w + {{.*}}head_id{{.*}} * x_w_s0 + {{.*}}fg::imax(j, 0), 128 - 1) * x_w_s1);
// CHECK-NEXT: const float [[Y:v[0-9]+]] = ([[W]] * x);
// CHECK: fg::exp_fast([[Y]]);
// CHECK: return v{{[0-9]+}};
// CHECK-NEXT: });
// CHECK-NEXT: fg::cta::map_rows<kThreads>(sK.stage(
// CHECK: fg::cta::sync();

// STEP-LABEL: // === kernel @feature_map_linear_v0
// STEP: recurrent_step
// STEP: const float* __restrict__ x_w,
// STEP: pf_q.commit(s_q, [&](float x, int j) -> float {
// STEP-NEXT: const int i = (int)(
// STEP: __ldg(x_w +
// STEP: pf_k.commit(s_k, [&](float x, int j) -> float {
// STEP: pf_v.commit(s_v);
