//===- mma_kernels.cu - device functions under test for mma.cuh ----------===//
//
// One CTA of 2 warps, each warp owning 32 output rows (two 16-row mma
// tiles, so B fragments are shared between row tiles). Operands are loaded
// with cta::load_async, results written as f32 with warp::for_each.
// Compiled by NVRTC in DeviceLibraryCompileTest, run on the host emulator in
// MmaTest (which holds the host reference).
//
//===----------------------------------------------------------------------===//
#include "flashgen/device/flashgen_device.cuh"

namespace mma_test {

constexpr int kThreads = 64;
constexpr int kWarpRows = 32;
constexpr int kM = 64;  // output rows (2 warps x 32)
constexpr int kN = 32;  // output columns
constexpr int kK = 64;  // reduction length

/// c[row][col] = acc (rows from row0, ldc floats apart).
template <int R, int C> FG_DEVICE void write_acc(float* c, int ldc, int row0, fg::acc_tile<R, C>& acc) {
  fg::warp::for_each(acc, row0, 0, [&](int i, int j, float& x) { c[i * ldc + j] = x; });
}

FG_DEVICE void land() {
  fg::cta::commit();
  fg::cta::wait<0>();
  fg::cta::sync();
}

}  // namespace mma_test

/// c[64x32] = a[64x64] * bt[32x64]^T (mma_ABt), T = bf16.
extern "C" __global__ void mma_test_abt_bf16(const fg::bf16* a, const fg::bf16* bt, float* c) {
  using namespace mma_test;
  using ATile = fg::smem_tile<fg::bf16, kM, kK>;
  using BTile = fg::smem_tile<fg::bf16, kN, kK>;
  const fg::u32 smem = fg::ptx::smem_addr(fg::ptx::dynamic_smem());
  const ATile sa{smem};
  const BTile sb{smem + ATile::kBytes};
  fg::cta::load_async<kThreads>(sa, a, kK, kM);
  fg::cta::load_async<kThreads>(sb, bt, kK, kN);
  land();
  const int wrow0 = (fg::ptx::thread_id() / 32) * kWarpRows;
  fg::acc_tile<kWarpRows, kN> acc;
  fg::warp::zero(acc);
  fg::warp::mma_ABt(acc, sa, wrow0, sb, 0);
  write_acc(c, kN, wrow0, acc);
}

/// The same with f16 operands.
extern "C" __global__ void mma_test_abt_f16(const fg::f16* a, const fg::f16* bt, float* c) {
  using namespace mma_test;
  using ATile = fg::smem_tile<fg::f16, kM, kK>;
  using BTile = fg::smem_tile<fg::f16, kN, kK>;
  const fg::u32 smem = fg::ptx::smem_addr(fg::ptx::dynamic_smem());
  const ATile sa{smem};
  const BTile sb{smem + ATile::kBytes};
  fg::cta::load_async<kThreads>(sa, a, kK, kM);
  fg::cta::load_async<kThreads>(sb, bt, kK, kN);
  land();
  const int wrow0 = (fg::ptx::thread_id() / 32) * kWarpRows;
  fg::acc_tile<kWarpRows, kN> acc;
  fg::warp::zero(acc);
  fg::warp::mma_ABt(acc, sa, wrow0, sb, 0);
  write_acc(c, kN, wrow0, acc);
}

/// c[64x32] = a[:, 32:96] * b[16:80, 16:48] (mma_AB with offsets);
/// a is 64 x 128, b is 80 x 64, both row-major.
extern "C" __global__ void mma_test_ab_offsets(const fg::bf16* a, const fg::bf16* b, float* c) {
  using namespace mma_test;
  using ATile = fg::smem_tile<fg::bf16, 64, 128>;
  using BTile = fg::smem_tile<fg::bf16, 80, 64>;
  const fg::u32 smem = fg::ptx::smem_addr(fg::ptx::dynamic_smem());
  const ATile sa{smem};
  const BTile sb{smem + ATile::kBytes};
  fg::cta::load_async<kThreads>(sa, a, 128, 64);
  fg::cta::load_async<kThreads>(sb, b, 64, 80);
  land();
  const int wrow0 = (fg::ptx::thread_id() / 32) * kWarpRows;
  fg::acc_tile<kWarpRows, kN> acc;
  fg::warp::zero(acc);
  fg::warp::mma_AB<kK>(acc, sa, wrow0, 32, sb, 16, 16);
  write_acc(c, kN, wrow0, acc);
}

/// c[64x32] = at[0:64, 16:80]^T * b[64x32] (mma_AtB: at is stored 64 x 128, [K][M]).
extern "C" __global__ void mma_test_atb(const fg::bf16* at, const fg::bf16* b, float* c) {
  using namespace mma_test;
  using ATile = fg::smem_tile<fg::bf16, kK, 128>;
  using BTile = fg::smem_tile<fg::bf16, kK, kN>;
  const fg::u32 smem = fg::ptx::smem_addr(fg::ptx::dynamic_smem());
  const ATile sa{smem};
  const BTile sb{smem + ATile::kBytes};
  fg::cta::load_async<kThreads>(sa, at, 128, kK);
  fg::cta::load_async<kThreads>(sb, b, kN, kK);
  land();
  const int wrow0 = (fg::ptx::thread_id() / 32) * kWarpRows;
  fg::acc_tile<kWarpRows, kN> acc;
  fg::warp::zero(acc);
  fg::warp::mma_AtB<kK>(acc, sa, 0, 16 + wrow0, sb, 0, 0);
  write_acc(c, kN, wrow0, acc);
}

/// p = bf16(a[64x64] * bt[64x64]^T) kept in registers (convert), then
/// c[64x32] = p * v[64x32] (mma_rAB) and d[64x32] = p * w[32x64]^T (mma_rABt).
extern "C" __global__ void mma_test_register_a(const fg::bf16* a, const fg::bf16* bt, const fg::bf16* v,
                                               const fg::bf16* w, float* c, float* d) {
  using namespace mma_test;
  using SqTile = fg::smem_tile<fg::bf16, 64, 64>;
  using VTile = fg::smem_tile<fg::bf16, 64, kN>;
  using WTile = fg::smem_tile<fg::bf16, kN, 64>;
  const fg::u32 smem = fg::ptx::smem_addr(fg::ptx::dynamic_smem());
  const SqTile sa{smem}, sbt{smem + SqTile::kBytes};
  const VTile sv{smem + 2 * SqTile::kBytes};
  const WTile sw{smem + 2 * SqTile::kBytes + VTile::kBytes};
  fg::cta::load_async<kThreads>(sa, a, 64, 64);
  fg::cta::load_async<kThreads>(sbt, bt, 64, 64);
  fg::cta::load_async<kThreads>(sv, v, kN, 64);
  fg::cta::load_async<kThreads>(sw, w, 64, kN);
  land();
  const int wrow0 = (fg::ptx::thread_id() / 32) * kWarpRows;
  fg::acc_tile<kWarpRows, 64> s;
  fg::warp::zero(s);
  fg::warp::mma_ABt(s, sa, wrow0, sbt, 0);
  fg::a_tile<fg::bf16, kWarpRows, 64> p;
  fg::warp::convert(p, s);
  fg::acc_tile<kWarpRows, kN> acc_c, acc_d;
  fg::warp::zero(acc_c);
  fg::warp::zero(acc_d);
  fg::warp::mma_rAB(acc_c, p, sv, 0, 0);
  fg::warp::mma_rABt(acc_d, p, sw, 0, 0);
  write_acc(c, kN, wrow0, acc_c);
  write_acc(d, kN, wrow0, acc_d);
}
