//===- wgmma_kernels.cu - device functions under test for wgmma.cuh -------===//
//
// Warpgroup GEMMs on wgmma (sm_90a): CTAs of 2 warpgroups (256 threads),
// each owning 64 output rows, so the warpgroup row offsets of the
// descriptors are exercised. Operands are loaded with wg::load_async; the
// register-A products take P as f32 from global memory through an acc_tile
// and warp::convert, as attention does with softmax(S). Results go out as f32
// with warp::for_each (each warp's 16 rows), or as 16-bit rows through
// wg::store_rows. On passes without wgmma (sm_80) the kernels are empty.
// Compiled by NVRTC in DeviceLibraryCompileTest and WgmmaTest, run on the
// host emulator in WgmmaTest (which holds the host references).
//
//===----------------------------------------------------------------------===//
#include "flashgen/device/flashgen_device.cuh"

#if defined(FG_HAVE_WGMMA)
namespace wgmma_test {

constexpr int kThreads = 256;
constexpr int kM = 128;  // output rows: 2 warpgroups x 64

/// c[row][col] = acc (this warp's 16 rows from wrow0, ldc floats apart).
template <int C> FG_DEVICE void write_acc(float* c, int ldc, int wrow0, fg::acc_tile<16, C>& acc) {
  fg::warp::for_each(acc, wrow0, 0, [&](int i, int j, float& x) { c[i * ldc + j] = x; });
}

FG_DEVICE void land() {
  fg::cta::commit();
  fg::wg::wait_tiles<0>();
  fg::cta::sync();
}

/// c[128 x N] = a[128 x K] * bt[N x K]^T (rows of bt past b_rows zero-filled).
template <class T, int N, int K>
FG_DEVICE void abt(const T* a, const T* bt, float* c, int b_rows) {
  using ATile = fg::wg_tile<T, kM, K>;
  using BTile = fg::wg_tile<T, N, K>;
  const fg::u32 smem = fg::wg::smem_base();
  const ATile sa{smem};
  const BTile sb{smem + ATile::kBytes};
  fg::wg::load_async<kThreads>(sa, a, K, kM);
  fg::wg::load_async<kThreads>(sb, bt, K, b_rows);
  land();
  const int wrow0 = (fg::ptx::thread_id() / 32) * 16;
  fg::acc_tile<16, N> acc;
  fg::wg::mma_ABt(acc, sa, fg::wg::warpgroup() * 64, sb);
  write_acc(c, N, wrow0, acc);
}

/// c[128 x N] = c0 + p[128 x KP] * b[KP x N]: P through registers (f32 ->
/// acc_tile -> bf16 A fragments), b read N-major.
template <class T, int N, int KP, int PV_N>
FG_DEVICE void rab(const float* p, const T* b, float* c, const float* c0) {
  using BTile = fg::wg_tile<T, KP, N>;
  const fg::u32 smem = fg::wg::smem_base();
  const BTile sb{smem};
  fg::wg::load_async<kThreads>(sb, b, N, KP);
  land();
  const int wrow0 = (fg::ptx::thread_id() / 32) * 16;
  fg::acc_tile<16, KP> s;
  fg::warp::for_each(s, wrow0, 0, [&](int i, int j, float& x) { x = p[i * KP + j]; });
  fg::a_tile<T, 16, KP> pa;
  fg::warp::convert(pa, s);
  fg::acc_tile<16, N> acc;
  fg::warp::for_each(acc, wrow0, 0, [&](int i, int j, float& x) { x = c0[i * N + j]; });
  fg::wg::mma_rAB<PV_N>(acc, pa, sb);
  write_acc(c, N, wrow0, acc);
}

}  // namespace wgmma_test
#define FG_WGMMA_TEST_BODY(...) __VA_ARGS__
#else
#define FG_WGMMA_TEST_BODY(...)
#endif

/// c[128x128] = a[128x128] * bt[128x128]^T, bf16: two 64-column slabs of K.
extern "C" __global__ void wgmma_test_abt_bf16_n128_k128(const fg::bf16* a, const fg::bf16* bt, float* c,
                                                         int b_rows) {
  FG_WGMMA_TEST_BODY(wgmma_test::abt<fg::bf16, 128, 128>(a, bt, c, b_rows);)
}

/// c[128x64] = a[128x64] * bt[64x64]^T, f16: one slab.
extern "C" __global__ void wgmma_test_abt_f16_n64_k64(const fg::f16* a, const fg::f16* bt, float* c, int b_rows) {
  FG_WGMMA_TEST_BODY(wgmma_test::abt<fg::f16, 64, 64>(a, bt, c, b_rows);)
}

/// c[128x160] = a[128x192] * bt[160x192]^T, bf16: N not a power of two, three slabs of K.
extern "C" __global__ void wgmma_test_abt_bf16_n160_k192(const fg::bf16* a, const fg::bf16* bt, float* c,
                                                         int b_rows) {
  FG_WGMMA_TEST_BODY(wgmma_test::abt<fg::bf16, 160, 192>(a, bt, c, b_rows);)
}

/// c[128x128] = c0 + p[128x128] * b[128x128], bf16, one wgmma per K step (N = 128, LBO).
extern "C" __global__ void wgmma_test_rab_bf16_n128_k128(const float* p, const fg::bf16* b, float* c,
                                                         const float* c0) {
  FG_WGMMA_TEST_BODY(wgmma_test::rab<fg::bf16, 128, 128, 0>(p, b, c, c0);)
}

/// The same, one wgmma per 64-column slab and K step (no LBO).
extern "C" __global__ void wgmma_test_rab_bf16_n128_k128_split(const float* p, const fg::bf16* b, float* c,
                                                               const float* c0) {
  FG_WGMMA_TEST_BODY(wgmma_test::rab<fg::bf16, 128, 128, 64>(p, b, c, c0);)
}

/// c[128x256] = c0 + p[128x176] * b[176x256], f16: N = 256, K = 176.
extern "C" __global__ void wgmma_test_rab_f16_n256_k176(const float* p, const fg::f16* b, float* c,
                                                        const float* c0) {
  FG_WGMMA_TEST_BODY(wgmma_test::rab<fg::f16, 256, 176, 0>(p, b, c, c0);)
}

/// o[rows x 128] (bf16, rows < 128 written) = a * bt^T staged through a's tile
/// with wg::store_rows (row stride ldo).
extern "C" __global__ void wgmma_test_store_rows_bf16(const fg::bf16* a, const fg::bf16* bt, fg::bf16* o,
                                                      long long ldo, int rows) {
  FG_WGMMA_TEST_BODY({
    using namespace wgmma_test;
    using Tile = fg::wg_tile<fg::bf16, kM, 128>;
    const fg::u32 smem = fg::wg::smem_base();
    const Tile sa{smem};
    const Tile sb{smem + Tile::kBytes};
    fg::wg::load_async<kThreads>(sa, a, 128, kM);
    fg::wg::load_async<kThreads>(sb, bt, 128, 128);
    land();
    const int wrow0 = (fg::ptx::thread_id() / 32) * 16;
    fg::acc_tile<16, 128> acc;
    fg::wg::mma_ABt(acc, sa, fg::wg::warpgroup() * 64, sb);
    fg::wg::store_rows(o + wrow0 * ldo, ldo, rows - wrow0, acc, sa, wrow0);
  })
}
