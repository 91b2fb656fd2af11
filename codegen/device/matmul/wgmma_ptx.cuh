//===- wgmma_ptx.cuh - flashgen device library: sm_90a warpgroup MMA (PTX) -===//
//
// The sm_90a instructions of the warpgroup path, as ptx.cuh wraps those of
// the sm_80 path: wgmma.mma_async m64nNk16 with f32 accumulators (A from
// shared memory through a matrix descriptor, or from registers; B always
// from shared memory), wgmma.fence / commit_group / wait_group, and
// fence.proxy.async for shared memory written by ordinary (generic-proxy)
// stores, cp.async included, that wgmma (async proxy) reads next; and the
// mbarrier / named-barrier instructions of the warp-specialized kernel
// (a producer warpgroup feeding consumer warpgroups, wgmma_pipe.cuh).
//
// Register layouts (PTX ISA, "Register Fragments" of wgmma.m64nNk16): warp
// w of the warpgroup (w = warp index % 4) owns rows 16w..16w+15 of the 64-row
// A and D tiles. Within the warp, D is laid out exactly like N/8 mma.sync
// m16n8 accumulator tiles side by side (d[j][e]: row lane/4 + 8*(e/2),
// column 8j + 2*(lane%4) + e%2) and A like the m16n8k16 A fragment (4
// registers of bf16x2 / f16x2). An acc_tile<16, N> of fragment.cuh is
// therefore a warp's share of a 64 x N wgmma accumulator, and convert() turns
// S into the A operand of the next wgmma, as for mma.sync.
//
// Only sm_90a device passes (FG_ARCH_SM90A), nvcc's host pass and the host
// emulator see the functions (FG_HAVE_WGMMA); every other device pass sees an
// empty header, so sm_80 builds of the library are unaffected and a flash3
// kernel compiled for another arch fails to compile (no fg::wg). Under FLASHGEN_DEVICE_EMULATION the header named by
// FLASHGEN_DEVICE_EMULATION_WGMMA provides them instead.
//
// The inline-asm operand lists below (FG_WGMMA_*) were generated: G = N/8
// accumulator groups of 4 floats, %0..%(4G-1) the accumulators, then the
// inputs. N = 16..256 in steps of 16.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_WGMMA_PTX_CUH
#define FLASHGEN_DEVICE_WGMMA_PTX_CUH

#include "flashgen/device/core/types.cuh"

#if defined(FLASHGEN_DEVICE_EMULATION)
#if defined(FLASHGEN_DEVICE_EMULATION_WGMMA)
#include FLASHGEN_DEVICE_EMULATION_WGMMA
#define FG_HAVE_WGMMA 1
#endif
#elif FG_ARCH_SM90A || (defined(__CUDACC__) && !defined(__CUDA_ARCH__) && !defined(__CUDACC_RTC__))
// sm_90a device passes; also nvcc's host pass, which parses kernel bodies.
#define FG_HAVE_WGMMA 1

// clang-format off
#define FG_WGMMA_D2(d) "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3])
#define FG_WGMMA_R2 "%0, %1, %2, %3, %4, %5, %6, %7"
#define FG_WGMMA_SS2 "%8, %9, p, 1, 1, %12, %11"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP2 "%10"
#define FG_WGMMA_RS2 "{%8, %9, %10, %11}, %12, p, 1, 1, %14"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP2 "%13"
#define FG_WGMMA_D4(d) FG_WGMMA_D2(d), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3])
#define FG_WGMMA_R4 FG_WGMMA_R2 ", %8, %9, %10, %11, %12, %13, %14, %15"
#define FG_WGMMA_SS4 "%16, %17, p, 1, 1, %20, %19"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP4 "%18"
#define FG_WGMMA_RS4 "{%16, %17, %18, %19}, %20, p, 1, 1, %22"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP4 "%21"
#define FG_WGMMA_D6(d) FG_WGMMA_D4(d), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3])
#define FG_WGMMA_R6 FG_WGMMA_R4 ", %16, %17, %18, %19, %20, %21, %22, %23"
#define FG_WGMMA_SS6 "%24, %25, p, 1, 1, %28, %27"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP6 "%26"
#define FG_WGMMA_RS6 "{%24, %25, %26, %27}, %28, p, 1, 1, %30"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP6 "%29"
#define FG_WGMMA_D8(d) FG_WGMMA_D6(d), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])
#define FG_WGMMA_R8 FG_WGMMA_R6 ", %24, %25, %26, %27, %28, %29, %30, %31"
#define FG_WGMMA_SS8 "%32, %33, p, 1, 1, %36, %35"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP8 "%34"
#define FG_WGMMA_RS8 "{%32, %33, %34, %35}, %36, p, 1, 1, %38"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP8 "%37"
#define FG_WGMMA_D10(d) FG_WGMMA_D8(d), "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]), "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3])
#define FG_WGMMA_R10 FG_WGMMA_R8 ", %32, %33, %34, %35, %36, %37, %38, %39"
#define FG_WGMMA_SS10 "%40, %41, p, 1, 1, %44, %43"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP10 "%42"
#define FG_WGMMA_RS10 "{%40, %41, %42, %43}, %44, p, 1, 1, %46"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP10 "%45"
#define FG_WGMMA_D12(d) FG_WGMMA_D10(d), "+f"(d[10][0]), "+f"(d[10][1]), "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3])
#define FG_WGMMA_R12 FG_WGMMA_R10 ", %40, %41, %42, %43, %44, %45, %46, %47"
#define FG_WGMMA_SS12 "%48, %49, p, 1, 1, %52, %51"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP12 "%50"
#define FG_WGMMA_RS12 "{%48, %49, %50, %51}, %52, p, 1, 1, %54"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP12 "%53"
#define FG_WGMMA_D14(d) FG_WGMMA_D12(d), "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3])
#define FG_WGMMA_R14 FG_WGMMA_R12 ", %48, %49, %50, %51, %52, %53, %54, %55"
#define FG_WGMMA_SS14 "%56, %57, p, 1, 1, %60, %59"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP14 "%58"
#define FG_WGMMA_RS14 "{%56, %57, %58, %59}, %60, p, 1, 1, %62"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP14 "%61"
#define FG_WGMMA_D16(d) FG_WGMMA_D14(d), "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]), "+f"(d[15][3])
#define FG_WGMMA_R16 FG_WGMMA_R14 ", %56, %57, %58, %59, %60, %61, %62, %63"
#define FG_WGMMA_SS16 "%64, %65, p, 1, 1, %68, %67"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP16 "%66"
#define FG_WGMMA_RS16 "{%64, %65, %66, %67}, %68, p, 1, 1, %70"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP16 "%69"
#define FG_WGMMA_D18(d) FG_WGMMA_D16(d), "+f"(d[16][0]), "+f"(d[16][1]), "+f"(d[16][2]), "+f"(d[16][3]), "+f"(d[17][0]), "+f"(d[17][1]), "+f"(d[17][2]), "+f"(d[17][3])
#define FG_WGMMA_R18 FG_WGMMA_R16 ", %64, %65, %66, %67, %68, %69, %70, %71"
#define FG_WGMMA_SS18 "%72, %73, p, 1, 1, %76, %75"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP18 "%74"
#define FG_WGMMA_RS18 "{%72, %73, %74, %75}, %76, p, 1, 1, %78"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP18 "%77"
#define FG_WGMMA_D20(d) FG_WGMMA_D18(d), "+f"(d[18][0]), "+f"(d[18][1]), "+f"(d[18][2]), "+f"(d[18][3]), "+f"(d[19][0]), "+f"(d[19][1]), "+f"(d[19][2]), "+f"(d[19][3])
#define FG_WGMMA_R20 FG_WGMMA_R18 ", %72, %73, %74, %75, %76, %77, %78, %79"
#define FG_WGMMA_SS20 "%80, %81, p, 1, 1, %84, %83"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP20 "%82"
#define FG_WGMMA_RS20 "{%80, %81, %82, %83}, %84, p, 1, 1, %86"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP20 "%85"
#define FG_WGMMA_D22(d) FG_WGMMA_D20(d), "+f"(d[20][0]), "+f"(d[20][1]), "+f"(d[20][2]), "+f"(d[20][3]), "+f"(d[21][0]), "+f"(d[21][1]), "+f"(d[21][2]), "+f"(d[21][3])
#define FG_WGMMA_R22 FG_WGMMA_R20 ", %80, %81, %82, %83, %84, %85, %86, %87"
#define FG_WGMMA_SS22 "%88, %89, p, 1, 1, %92, %91"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP22 "%90"
#define FG_WGMMA_RS22 "{%88, %89, %90, %91}, %92, p, 1, 1, %94"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP22 "%93"
#define FG_WGMMA_D24(d) FG_WGMMA_D22(d), "+f"(d[22][0]), "+f"(d[22][1]), "+f"(d[22][2]), "+f"(d[22][3]), "+f"(d[23][0]), "+f"(d[23][1]), "+f"(d[23][2]), "+f"(d[23][3])
#define FG_WGMMA_R24 FG_WGMMA_R22 ", %88, %89, %90, %91, %92, %93, %94, %95"
#define FG_WGMMA_SS24 "%96, %97, p, 1, 1, %100, %99"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP24 "%98"
#define FG_WGMMA_RS24 "{%96, %97, %98, %99}, %100, p, 1, 1, %102"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP24 "%101"
#define FG_WGMMA_D26(d) FG_WGMMA_D24(d), "+f"(d[24][0]), "+f"(d[24][1]), "+f"(d[24][2]), "+f"(d[24][3]), "+f"(d[25][0]), "+f"(d[25][1]), "+f"(d[25][2]), "+f"(d[25][3])
#define FG_WGMMA_R26 FG_WGMMA_R24 ", %96, %97, %98, %99, %100, %101, %102, %103"
#define FG_WGMMA_SS26 "%104, %105, p, 1, 1, %108, %107"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP26 "%106"
#define FG_WGMMA_RS26 "{%104, %105, %106, %107}, %108, p, 1, 1, %110"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP26 "%109"
#define FG_WGMMA_D28(d) FG_WGMMA_D26(d), "+f"(d[26][0]), "+f"(d[26][1]), "+f"(d[26][2]), "+f"(d[26][3]), "+f"(d[27][0]), "+f"(d[27][1]), "+f"(d[27][2]), "+f"(d[27][3])
#define FG_WGMMA_R28 FG_WGMMA_R26 ", %104, %105, %106, %107, %108, %109, %110, %111"
#define FG_WGMMA_SS28 "%112, %113, p, 1, 1, %116, %115"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP28 "%114"
#define FG_WGMMA_RS28 "{%112, %113, %114, %115}, %116, p, 1, 1, %118"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP28 "%117"
#define FG_WGMMA_D30(d) FG_WGMMA_D28(d), "+f"(d[28][0]), "+f"(d[28][1]), "+f"(d[28][2]), "+f"(d[28][3]), "+f"(d[29][0]), "+f"(d[29][1]), "+f"(d[29][2]), "+f"(d[29][3])
#define FG_WGMMA_R30 FG_WGMMA_R28 ", %112, %113, %114, %115, %116, %117, %118, %119"
#define FG_WGMMA_SS30 "%120, %121, p, 1, 1, %124, %123"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP30 "%122"
#define FG_WGMMA_RS30 "{%120, %121, %122, %123}, %124, p, 1, 1, %126"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP30 "%125"
#define FG_WGMMA_D32(d) FG_WGMMA_D30(d), "+f"(d[30][0]), "+f"(d[30][1]), "+f"(d[30][2]), "+f"(d[30][3]), "+f"(d[31][0]), "+f"(d[31][1]), "+f"(d[31][2]), "+f"(d[31][3])
#define FG_WGMMA_R32 FG_WGMMA_R30 ", %120, %121, %122, %123, %124, %125, %126, %127"
#define FG_WGMMA_SS32 "%128, %129, p, 1, 1, %132, %131"  /* da, db, scale-d, trans-b, trans-a */
#define FG_WGMMA_SSP32 "%130"
#define FG_WGMMA_RS32 "{%128, %129, %130, %131}, %132, p, 1, 1, %134"  /* a, db, scale-d, trans-b */
#define FG_WGMMA_RSP32 "%133"
// clang-format on

/// One N-case of wgmma_ss / wgmma_rs for both 16-bit input types.
#define FG_WGMMA_SS_CASE(G, NN)                                                                             \
  if constexpr (N == NN) {                                                                                  \
    if constexpr (kBf16)                                                                                    \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " FG_WGMMA_SSP##G ", 0;\n"                             \
                   "wgmma.mma_async.sync.aligned.m64n" #NN "k16.f32.bf16.bf16 {" FG_WGMMA_R##G "}, "        \
                   FG_WGMMA_SS##G ";\n}\n"                                                                  \
                   : FG_WGMMA_D##G(d)                                                                       \
                   : "l"(desc_a), "l"(desc_b), "r"(scale_d), "n"(TRANS_B), "n"(TRANS_A));                   \
    else                                                                                                    \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " FG_WGMMA_SSP##G ", 0;\n"                             \
                   "wgmma.mma_async.sync.aligned.m64n" #NN "k16.f32.f16.f16 {" FG_WGMMA_R##G "}, "          \
                   FG_WGMMA_SS##G ";\n}\n"                                                                  \
                   : FG_WGMMA_D##G(d)                                                                       \
                   : "l"(desc_a), "l"(desc_b), "r"(scale_d), "n"(TRANS_B), "n"(TRANS_A));                   \
  }
#define FG_WGMMA_RS_CASE(G, NN)                                                                             \
  if constexpr (N == NN) {                                                                                  \
    if constexpr (kBf16)                                                                                    \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " FG_WGMMA_RSP##G ", 0;\n"                             \
                   "wgmma.mma_async.sync.aligned.m64n" #NN "k16.f32.bf16.bf16 {" FG_WGMMA_R##G "}, "        \
                   FG_WGMMA_RS##G ";\n}\n"                                                                  \
                   : FG_WGMMA_D##G(d)                                                                       \
                   : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(scale_d), "n"(TRANS_B));  \
    else                                                                                                    \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " FG_WGMMA_RSP##G ", 0;\n"                             \
                   "wgmma.mma_async.sync.aligned.m64n" #NN "k16.f32.f16.f16 {" FG_WGMMA_R##G "}, "          \
                   FG_WGMMA_RS##G ";\n}\n"                                                                  \
                   : FG_WGMMA_D##G(d)                                                                       \
                   : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(scale_d), "n"(TRANS_B));  \
  }
#define FG_WGMMA_ALL_CASES(CASE)                                                                            \
  CASE(2, 16) else CASE(4, 32) else CASE(6, 48) else CASE(8, 64) else CASE(10, 80) else CASE(12, 96)        \
  else CASE(14, 112) else CASE(16, 128) else CASE(18, 144) else CASE(20, 160) else CASE(22, 176)            \
  else CASE(24, 192) else CASE(26, 208) else CASE(28, 224) else CASE(30, 240) else CASE(32, 256)

namespace fg {
namespace ptx {

/// wgmma.fence: orders this thread's earlier register accesses (writes of
/// accumulators, of A fragments) before the wgmma.mma_async that follow.
FG_DEVICE void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }

/// Closes this warpgroup's open group of wgmma.mma_async operations.
FG_DEVICE void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }

/// Waits until at most N of this warpgroup's committed wgmma groups are pending.
template <int N> FG_DEVICE void wgmma_wait() {
  static_assert(N >= 0 && N <= 7, "wgmma_wait: 0..7");
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}

/// Makes this thread's generic-proxy writes to shared memory (st.shared,
/// completed cp.async) visible to later async-proxy reads (wgmma operands);
/// a barrier after it extends that to the other threads.
FG_DEVICE void fence_proxy_async_smem() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

/// Pins an accumulator register at this point of the program: the compiler
/// may neither read it earlier (before a wgmma_wait) nor keep a stale copy.
FG_DEVICE void reg_fence(float& x) { asm volatile("" : "+f"(x)::"memory"); }

/// d (64 x N, f32, this thread's N/2 values) = A * B + (scale_d ? d : 0), one
/// k16 step. A (64 x 16) and B (16 x N) in shared memory, by descriptor; A
/// K-major (TRANS_A = 0) or M-major (TRANS_A = 1), B K-major (TRANS_B = 0)
/// or N-major (TRANS_B = 1). Asynchronous: d may be read only after
/// wgmma_commit + wgmma_wait.
template <class T, int N, int TRANS_B = 0, int TRANS_A = 0>
FG_DEVICE void wgmma_ss(float (&d)[N / 8][4], u64 desc_a, u64 desc_b, int scale_d) {
  static_assert(same_type<T, bf16>::value || same_type<T, f16>::value, "wgmma: bf16 or f16");
  static_assert(N % 16 == 0 && N >= 16 && N <= 256, "wgmma_ss: N = 16..256, a multiple of 16");
  static_assert(TRANS_B == 0 || TRANS_B == 1, "wgmma_ss: TRANS_B 0 or 1");
  static_assert(TRANS_A == 0 || TRANS_A == 1, "wgmma_ss: TRANS_A 0 or 1");
  constexpr bool kBf16 = same_type<T, bf16>::value;
  FG_WGMMA_ALL_CASES(FG_WGMMA_SS_CASE)
}

/// As wgmma_ss with A (64 x 16) from registers: this thread's 4 registers of
/// the m16n8k16-style A fragment of its warp's 16 rows.
template <class T, int N, int TRANS_B = 0>
FG_DEVICE void wgmma_rs(float (&d)[N / 8][4], const u32 (&a)[4], u64 desc_b, int scale_d) {
  static_assert(same_type<T, bf16>::value || same_type<T, f16>::value, "wgmma: bf16 or f16");
  static_assert(N % 16 == 0 && N >= 16 && N <= 256, "wgmma_rs: N = 16..256, a multiple of 16");
  static_assert(TRANS_B == 0 || TRANS_B == 1, "wgmma_rs: TRANS_B 0 or 1");
  constexpr bool kBf16 = same_type<T, bf16>::value;
  FG_WGMMA_ALL_CASES(FG_WGMMA_RS_CASE)
}

// ---- bulk reductions (the copy engine adds shared tiles into global memory) --

/// cp.reduce.async.bulk .add.f32: adds the `bytes` bytes of f32 at shared
/// address src into global dst, asynchronously, as one request of the copy
/// engine (16-byte aligned, bytes a multiple of 16), joining this thread's
/// open bulk group. The shared source must have been fenced for the async
/// proxy (fence_proxy_async_smem) by the threads that wrote it.
FG_DEVICE void bulk_reduce_add_f32(float* dst, u32 src, u32 bytes) {
  asm volatile("cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32 [%0], [%1], %2;\n" ::"l"(dst), "r"(src),
               "r"(bytes)
               : "memory");
}

/// Closes this thread's open bulk group.
FG_DEVICE void bulk_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }

/// Waits until at most N of this thread's bulk groups still read their
/// shared sources (which may then be overwritten).
template <int N> FG_DEVICE void bulk_wait_read() {
  asm volatile("cp.async.bulk.wait_group.read %0;\n" ::"n"(N) : "memory");
}

/// Waits until at most N of this thread's bulk groups are pending at all
/// (their writes to global memory done).
template <int N> FG_DEVICE void bulk_wait() { asm volatile("cp.async.bulk.wait_group %0;\n" ::"n"(N) : "memory"); }

// ---- mbarriers and named barriers (producer / consumer pipelines) -----------

/// mbarrier.init: the barrier at shared address bar expects count arrivals per phase.
FG_DEVICE void mbar_init(u32 bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}

/// mbarrier.arrive (release, CTA scope): one arrival on the current phase.
FG_DEVICE void mbar_arrive(u32 bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}

/// mbarrier.try_wait.parity (acquire, CTA scope): true once the phase of the
/// given parity has completed (the barrier's current phase parity differs).
FG_DEVICE bool mbar_try_wait(u32 bar, u32 parity) {
  u32 done;
  asm volatile(
      "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
      : "=r"(done)
      : "r"(bar), "r"(parity)
      : "memory");
  return done != 0;
}

/// The SM's cycle counter.
FG_DEVICE u64 clock64() {
  u64 t;
  asm volatile("mov.u64 %0, %%clock64;\n" : "=l"(t));
  return t;
}

/// Aborts the kernel (the launch fails with an error instead of hanging).
FG_DEVICE void trap() { asm volatile("trap;\n"); }

/// Named barrier id (1..15) over count threads (a multiple of 32): wait.
FG_DEVICE void bar_sync_named(int id, int count) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}

/// Named barrier id over count threads: arrive without waiting.
FG_DEVICE void bar_arrive_named(int id, int count) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}

/// setmaxnreg: this warpgroup's registers per thread become N (24..256, a
/// multiple of 8); dec returns registers to the CTA's pool, inc takes them.
template <int N> FG_DEVICE void setmaxnreg_dec() {
  static_assert(N >= 24 && N <= 256 && N % 8 == 0, "setmaxnreg: 24..256, a multiple of 8");
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N));
}
template <int N> FG_DEVICE void setmaxnreg_inc() {
  static_assert(N >= 24 && N <= 256 && N % 8 == 0, "setmaxnreg: 24..256, a multiple of 8");
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N));
}

}  // namespace ptx
}  // namespace fg

#endif  // FLASHGEN_DEVICE_EMULATION / FG_ARCH_SM90A

#endif  // FLASHGEN_DEVICE_WGMMA_PTX_CUH
