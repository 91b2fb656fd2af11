#!/usr/bin/env python3
"""Tests of the flashgen Python package over the C API, without a GPU or
torch: tensors are stand-ins with __cuda_array_interface__ at fake aligned
addresses, and kernels are created without a device, so every argument check
runs and no launch is attempted. Run by ctest (test/unit/runtime)."""

import os
import sys
import tempfile
import unittest

import flashgen

INPUTS = os.environ.get(
    "FLASHGEN_RUNTIME_TEST_INPUTS",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "Inputs"))
AXPY = os.path.join(INPUTS, "axpy.bundle")


class FakeCudaArray:
    """Just enough of __cuda_array_interface__ (v3) for the binding code."""

    def __init__(self, ptr, shape, typestr, strides=None):
        self.__cuda_array_interface__ = {
            "shape": tuple(shape), "typestr": typestr, "data": (ptr, False),
            "strides": strides, "version": 3}


def axpy_args(B=2, N=37):
    y = FakeCudaArray(0x200000, (B, 4, N, 16), "<f4")
    o = FakeCudaArray(0x300000, (B, 4, N, 16), "<f4")
    return y, o


class PythonPackage(unittest.TestCase):
    def setUp(self):
        self.bundle = flashgen.load(AXPY)
        self.kernel = self.bundle.kernel("axpy", device=None)

    def test_bundle_and_kernel_introspection(self):
        self.assertEqual(self.bundle.kernel_names, ["axpy"])
        self.assertEqual(self.bundle.target, "sm_80")
        self.assertEqual([p["name"] for p in self.kernel.params],
                         ["x", "y", "o", "rowsum"])
        self.assertEqual([p["io"] for p in self.kernel.params],
                         ["in", "in", "out", "out"])
        self.assertTrue(self.kernel.params[3]["optional"])
        self.assertEqual(self.kernel.params[0]["dtype"], "bf16")
        self.assertEqual(self.kernel.scalars,
                         [{"name": "alpha", "dtype": "f32", "has_default": True}])
        self.assertEqual(self.kernel.num_variants, 2)

    def test_missing_bundle_raises_file_error(self):
        with self.assertRaises(flashgen.FlashgenError) as ctx:
            flashgen.load("/no/such/bundle")
        self.assertEqual(ctx.exception.status, "FileError")
        self.assertIn("/no/such/bundle", str(ctx.exception))

    def test_argument_errors_name_the_argument(self):
        y, o = axpy_args()
        x16 = FakeCudaArray(0x100000, (2, 4, 37, 16), "<f2")
        with self.assertRaises(flashgen.FlashgenError) as ctx:
            self.kernel.validate(x16, y, out=o)
        self.assertEqual(ctx.exception.status, "InvalidArgument")
        self.assertIn("x: dtype is f16, expected bf16", str(ctx.exception))

        with self.assertRaises(flashgen.FlashgenError) as ctx:
            self.kernel.validate(x16, y)
        self.assertIn("o: missing (required out param of axpy)",
                      str(ctx.exception))

        with self.assertRaises(flashgen.FlashgenError) as ctx:
            self.kernel.validate(x16, y, out=o, beta=1.0)
        self.assertIn("has no param or scalar named beta", str(ctx.exception))

        with self.assertRaises(flashgen.FlashgenError) as ctx:
            self.kernel.validate(x16, y, out=o, alpha="big")
        self.assertIn("scalar alpha: expected a number", str(ctx.exception))

        with self.assertRaises(flashgen.FlashgenError) as ctx:
            self.kernel.validate(x16, object(), out=o)
        self.assertIn("y: expected a torch tensor or an object with "
                      "__cuda_array_interface__", str(ctx.exception))

    def test_checks_reach_the_runtime_past_the_dtype(self):
        x = flashgen.DeviceArray(0x100000, (2, 4, 37, 16), "bf16")
        y, o = axpy_args(N=37)
        self.kernel.validate(x, y, out=o)
        self.kernel.validate(x=x, y=y, o=o, alpha=0.5)
        self.kernel.validate(x, y, o, None)  # optional rowsum absent
        o_short = FakeCudaArray(0x300000, (2, 4, 36, 16), "<f4")
        with self.assertRaises(flashgen.FlashgenError) as ctx:
            self.kernel.validate(x, y, out=o_short)
        self.assertIn("o: dim 2 (N) is 36 but x dim 2 bound N=37",
                      str(ctx.exception))
        x_view = flashgen.DeviceArray(0x100000, (2, 4, 37, 16), "bf16",
                                      strides=(4 * 37 * 24, 37 * 24, 20, 1))
        with self.assertRaises(flashgen.FlashgenError) as ctx:
            self.kernel.validate(x_view, y, out=o)
        self.assertIn("x: stride 2 is 20, not a multiple of 8 elements",
                      str(ctx.exception))
        with self.assertRaises(flashgen.FlashgenError) as ctx:
            self.kernel.validate(x, y, out=o, x=x)
        self.assertIn("x: given twice", str(ctx.exception))
        with self.assertRaises(flashgen.FlashgenError):
            flashgen.DeviceArray(0x1000, (4,), "float32")

    def test_byte_strides_are_converted_to_elements(self):
        x = FakeCudaArray(0x100000, (2, 4, 37, 16), "<f4",
                          strides=(4 * 37 * 16 * 4, 37 * 16 * 4, 16 * 4, 6))
        y, o = axpy_args()
        with self.assertRaises(flashgen.FlashgenError) as ctx:
            self.kernel.validate(x, y, out=o)
        self.assertIn("not multiples of the element size 4", str(ctx.exception))

    def test_launch_without_device_is_no_device(self):
        x = flashgen.DeviceArray(0x100000, (2, 4, 37, 16), "bf16")
        y, o = axpy_args()
        self.kernel.select_variant(1)
        self.assertEqual(self.kernel.variant, 1)
        self.assertEqual(self.kernel.workspace_bytes(x, y, out=o),
                         2 * 4 * 37 * 16 * 4)
        # Every check passes; only then does the missing device matter.
        with self.assertRaises(flashgen.FlashgenError) as ctx:
            self.kernel(x, y, out=o, stream=0)
        self.assertEqual(ctx.exception.status, "NoDevice")

    def test_compile_report(self):
        with tempfile.TemporaryDirectory() as cache:
            os.environ["FLASHGEN_CACHE_DIR"] = cache
            try:
                report = self.bundle.compile("axpy", 1, "sm_90a")
            finally:
                del os.environ["FLASHGEN_CACHE_DIR"]
        self.assertEqual(report["arch"], "sm_90a")
        entries = {f["entry"]: f for m in report["modules"]
                   for f in m["functions"]}
        self.assertEqual(set(entries),
                         {"fixture_axpy_v1_scale", "fixture_axpy_v1_add"})
        if not any("ptxas" in m.get("log", "") for m in report["modules"]):
            self.skipTest("this NVRTC returned no ptxas resource report")
        for f in entries.values():
            self.assertGreater(f["registers"], 0)
            self.assertEqual(f["spill_store_bytes"], 0)

    def test_no_driver_is_a_clean_error(self):
        try:
            n = flashgen.device_count()
        except flashgen.FlashgenError as e:
            self.assertIn(e.status, ("NoDriver", "NoDevice"))
            with self.assertRaises(flashgen.FlashgenError):
                self.bundle.kernel("axpy", device=0)
        else:
            self.skipTest("a CUDA driver is present (%d GPUs)" % n)


class Robustness(unittest.TestCase):
    """Issue #20: sizes, strides and messages a careless caller can pass."""

    def setUp(self):
        self.kernel = flashgen.load(AXPY).kernel("axpy", device=None)
        self.x = flashgen.DeviceArray(0x100000, (2, 4, 37, 16), "bf16")
        self.y, self.o = axpy_args()

    def error(self, *args, **kwargs):
        with self.assertRaises(flashgen.FlashgenError) as ctx:
            self.kernel.validate(*args, **kwargs)
        return str(ctx.exception)

    def test_strides_list_must_match_the_rank(self):
        short = flashgen.DeviceArray(0x100000, (2, 4, 37, 16), "bf16",
                                     strides=(4 * 37 * 16, 37 * 16))
        self.assertIn("x: 2 strides for 4 dims",
                      self.error(short, self.y, out=self.o))

    def test_sizes_beyond_int64_are_refused(self):
        huge = flashgen.DeviceArray(0x100000, (2 ** 64 + 2, 4, 37, 16), "bf16")
        self.assertIn("x: shape[0] = 18446744073709551618 is outside",
                      self.error(huge, self.y, out=self.o))
        neg = flashgen.DeviceArray(0x100000, (2, 4, 37, 16), "bf16",
                                   strides=(-2 ** 63 - 1, 1, 1, 1))
        self.assertIn("x: strides[0]", self.error(neg, self.y, out=self.o))
        self.assertIn("scalar alpha: 36893488147419103232 does not fit",
                      self.error(self.x, self.y, out=self.o, alpha=2 ** 65))
        bad_ptr = flashgen.DeviceArray(2 ** 64, (2, 4, 37, 16), "bf16")
        self.assertIn("does not fit in 64 bits",
                      self.error(bad_ptr, self.y, out=self.o))

    def test_row_stride_of_129_is_refused(self):
        rows = flashgen.DeviceArray(0x100000, (2, 4, 37, 16), "bf16",
                                    strides=(4 * 37 * 136, 37 * 136, 129, 1))
        self.assertIn("x: stride 2 is 129, not a multiple of 8 elements",
                      self.error(rows, self.y, out=self.o))

    def test_outputs_may_not_alias_inputs(self):
        alias = FakeCudaArray(0x200000, (2, 4, 37, 16), "<f4")  # = y
        self.assertIn("o: output memory overlaps y",
                      self.error(self.x, self.y, out=alias))

    def test_empty_tensors_are_a_noop(self):
        x = flashgen.DeviceArray(0, (2, 4, 0, 16), "bf16")
        y = FakeCudaArray(0, (2, 4, 0, 16), "<f4")
        o = FakeCudaArray(0, (2, 4, 0, 16), "<f4")
        self.kernel.validate(x, y, out=o)
        # No device, but nothing to launch: a no-op, not NoDevice.
        self.kernel(x, y, out=o, stream=0)

    def test_every_error_is_a_flashgen_error(self):
        broken = FakeCudaArray(0x300000, (2, 4, 37, 16), "<f4")
        del broken.__cuda_array_interface__["shape"]
        self.assertIn("o: cannot read the tensor (KeyError",
                      self.error(self.x, self.y, out=broken))
        with self.assertRaises(flashgen.FlashgenError):
            flashgen.DeviceArray("not a pointer", (4,), "f32")
        with self.assertRaises(flashgen.FlashgenError):
            self.kernel.validate(self.x, self.y,
                                 out=flashgen.DeviceArray(0x300000, (2, 4.5),
                                                          "f32"))
        with self.assertRaises(flashgen.FlashgenError):
            flashgen.load("bad\0path")

    def test_non_utf8_messages_still_raise_flashgen_error(self):
        # A bundle path with a byte that is not UTF-8 comes back inside
        # the runtime's message; it used to raise UnicodeDecodeError.
        with self.assertRaises(flashgen.FlashgenError) as ctx:
            flashgen.load(b"/no/such/\xff\xfe/bundle")
        self.assertEqual(ctx.exception.status, "FileError")
        self.assertIn("\ufffd", str(ctx.exception))


class FakeTorchTensor:
    """The part of torch.Tensor the package reads (data_ptr, device, dtype,
    shape, stride), with transpose as torch does it: a view of the same
    memory, sizes and strides swapped, nothing copied. The package tells a
    torch tensor by its class's module, hence __module__ below."""

    class _Device:
        type = "cuda"

    class _DType:
        def __init__(self, name):
            self.name = name

        def __str__(self):
            return "torch." + self.name

    def __init__(self, ptr, shape, dtype, strides=None):
        self._ptr, self.shape = ptr, tuple(shape)
        self.dtype, self.device = self._DType(dtype), self._Device()
        if strides is None:  # contiguous, as torch.empty makes it
            strides, step = [], 1
            for size in reversed(self.shape):
                strides.insert(0, step)
                step *= size
        self._strides = tuple(strides)

    def data_ptr(self):
        return self._ptr

    def stride(self):
        return self._strides

    def transpose(self, a, b):
        shape, strides = list(self.shape), list(self._strides)
        shape[a], shape[b] = shape[b], shape[a]
        strides[a], strides[b] = strides[b], strides[a]
        return FakeTorchTensor(self._ptr, shape, self.dtype.name, strides)


FakeTorchTensor.__module__ = "torch"


class BNHDViews(unittest.TestCase):
    """Issue #20: [B, N, H, D] tensors passed as x.transpose(1, 2) reach the
    runtime as the same memory with the view's strides (no copy), and the
    runtime takes them; a view whose last dim is strided is refused."""

    B, N, H, D = 2, 37, 4, 16

    def setUp(self):
        self.kernel = flashgen.load(AXPY).kernel("axpy", device=None)

    def views(self):
        """x, y and o of axpy ([B, 4, N, 16]) as views of [B, N, 4, 16]
        tensors at distinct fake addresses."""
        B, N, H, D = self.B, self.N, self.H, self.D
        x = FakeTorchTensor(0x100000, (B, N, H, D), "bfloat16")
        y = FakeTorchTensor(0x200000, (B, N, H, D), "float32")
        o = FakeTorchTensor(0x300000, (B, N, H, D), "float32")
        return x.transpose(1, 2), y.transpose(1, 2), o.transpose(1, 2)

    def test_transposed_views_are_marshalled_as_they_are(self):
        B, N, H, D = self.B, self.N, self.H, self.D
        x, y, o = self.views()
        self.assertEqual(x.shape, (B, H, N, D))
        tensors, count, _, _, _, _keep = self.kernel._bind((x, y), {"out": o})
        self.assertEqual(count, 4)
        for i, ptr in enumerate((0x100000, 0x200000, 0x300000)):
            t = tensors[i]
            self.assertEqual(t.data, ptr)  # the view's own memory: no copy
            self.assertEqual(t.rank, 4)
            self.assertEqual([t.sizes[d] for d in range(4)], [B, H, N, D])
            self.assertEqual([t.strides[d] for d in range(4)],
                             [N * H * D, D, H * D, 1])
        self.assertIsNone(tensors[3].data)  # rowsum left out
        self.assertEqual(tensors[0].dtype, flashgen._capi.BF16)
        self.assertEqual(tensors[1].dtype, flashgen._capi.F32)

    def test_runtime_takes_transposed_views(self):
        x, y, o = self.views()
        self.kernel.validate(x, y, out=o)
        # Every check passes, launch included; only the device is missing.
        with self.assertRaises(flashgen.FlashgenError) as ctx:
            self.kernel(x, y, out=o, stream=0)
        self.assertEqual(ctx.exception.status, "NoDevice")

    def test_strided_last_dim_is_refused(self):
        B, N, H, D = self.B, self.N, self.H, self.D
        _, y, o = self.views()
        # x[..., ::2] of a [B, N, H, 2D] tensor, transposed: every stride
        # 16-byte aligned but the last, which is 2.
        wide = FakeTorchTensor(0x100000, (B, N, H, 2 * D), "bfloat16")
        xs = FakeTorchTensor(0x100000, (B, N, H, D), "bfloat16",
                             strides=wide.stride()[:3] + (2,)).transpose(1, 2)
        self.assertEqual(xs.stride(), (N * H * 2 * D, 2 * D, H * 2 * D, 2))
        with self.assertRaises(flashgen.FlashgenError) as ctx:
            self.kernel.validate(xs, y, out=o)
        self.assertIn("x: the last dim must be contiguous (stride 1), got "
                      "stride 2", str(ctx.exception))

    def test_cuda_array_interface_views_carry_byte_strides(self):
        B, N, H, D = self.B, self.N, self.H, self.D
        x, _, o = self.views()
        # A [B, N, H, D] f32 tensor seen as [B, H, N, D] through byte strides.
        y = FakeCudaArray(0x200000, (B, H, N, D), "<f4",
                          strides=(4 * N * H * D, 4 * D, 4 * H * D, 4))
        tensors, _, _, _, _, _keep = self.kernel._bind((x, y), {"out": o})
        self.assertEqual([tensors[1].strides[d] for d in range(4)],
                         [N * H * D, D, H * D, 1])
        self.kernel.validate(x, y, out=o)


if __name__ == "__main__":
    unittest.main(verbosity=2)
