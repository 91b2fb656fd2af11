"""Issue #20 launch checks on a compiled attention bundle, without a GPU
(test/tools/flashgen-compile-robust.mlir): prints one line per case."""
import sys

import flashgen

kernel = flashgen.load(sys.argv[1]).kernel(sys.argv[2], device=None)
B, H, N, D = 2, 32, 100, 64


def arr(ptr, shape=(B, H, N, D), strides=None):
    return flashgen.DeviceArray(ptr, shape, "bf16", strides)


def case(name, *args):
    try:
        kernel.validate(*args)
        print("%s: ok" % name)
    except flashgen.FlashgenError as e:
        print("%s: %s" % (name, e))


q, k, v, o = (arr(0x10000000 * i) for i in range(1, 5))
case("contiguous", q, k, v, o)
# A row stride of 129 bf16 elements breaks the kernels' 16-byte loads.
case("row stride 129", arr(0x10000000, strides=(H * N * 136, N * 136, 129, 1)), k, v, o)
# [B, N, H, D] storage seen as [B, H, N, D]: rows of H * D elements.
case("BNHD view", arr(0x10000000, strides=(N * H * D, D, H * D, 1)), k, v, o)
case("output aliases q", q, k, v, arr(0x10000000))
case("empty (N = 0)", arr(0, (B, H, 0, D)), arr(0, (B, H, 0, D)),
     arr(0, (B, H, 0, D)), arr(0, (B, H, 0, D)))
