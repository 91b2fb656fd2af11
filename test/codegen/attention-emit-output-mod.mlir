// RUN: flashgen-opt %S/../../examples/gated_output.mlir -flash-schedule="target=h200 dims=B=2,N=4096" -flash-lower-kernels=target=h200 -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s
// RUN: flashgen-opt %S/../../examples/gated_output.mlir -flash-schedule="target=sm_80 dims=B=2,N=4096" -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=SM80
// RUN: not flashgen-opt %S/../../examples/gated_output.mlir -flash-schedule="target=h200 dims=B=2,N=4096 algorithm=flash2_dsplit" 2>&1 | FileCheck %s --check-prefix=DSPLIT
// output_mod (docs/semantics.md §2.11): after the normalisation, each
// element of O passes through the user's region in registers (the gate an
// extra read per element), then the rows are stored; the log-sum-exp is
// the softmax's own.

// CHECK-LABEL: // === kernel @gated_output_v0
// CHECK: const float* __restrict__ x_gate,
// CHECK: } else { // consumer warpgroups
// CHECK: fg::warp::finalize(sm, acc_o);
// CHECK-NEXT: fg::warp::for_each_at(acc_o, ({{.*}}) * kTileQ + wrow0, 0, [&](int i, int j, int di, int dj, float& x) {
// CHECK-NEXT: const float [[G:v[0-9]+]] = __ldg(x_gate + {{.*}}fg::imin(fg::imax(i, 0), dim_N - 1) * x_gate_s1{{.*}}fg::imin(fg::imax(j, 0), 128 - 1) * x_gate_s3);
// CHECK: const float [[R:v[0-9]+]] = (x / {{v[0-9]+}});
// CHECK-NEXT: x = [[R]];
// CHECK-NEXT: });
// CHECK-NEXT: fg::wg::store_rows(o +
// CHECK: fg::warp::store_lse(

// SM80-LABEL: // === kernel @gated_output_v0
// SM80: fg::warp::finalize(sm, acc_o);
// SM80-NEXT: fg::warp::for_each_at(acc_o,
// SM80: fg::warp::store_rows(o +

// DSPLIT: flash2_dsplit does not apply an output_mod yet; flash2 and flash3 do
