#!/usr/bin/env python3
"""The Python package's autotuning API over the C API, without a GPU: a
kernel without a device validates a tune() call and then refuses it with
NoDevice; the autotune flag follows FLASHGEN_AUTOTUNE and the setter; and
variant_for answers without tuning. Run by ctest (test/unit/autotune)."""

import os
import unittest

import flashgen

INPUTS = os.environ["FLASHGEN_RUNTIME_TEST_INPUTS"]
AXPY = os.path.join(INPUTS, "axpy.bundle")


def axpy_args(B=2, N=37):
    x = flashgen.DeviceArray(0x100000, (B, 4, N, 16), "bf16")
    y = flashgen.DeviceArray(0x200000, (B, 4, N, 16), "f32")
    o = flashgen.DeviceArray(0x300000, (B, 4, N, 16), "f32")
    return x, y, o


class PythonTune(unittest.TestCase):
    def setUp(self):
        self.bundle = flashgen.load(AXPY)

    def test_tune_checks_arguments_then_needs_a_device(self):
        kernel = self.bundle.kernel("axpy", device=None)
        x, y, o = axpy_args()
        with self.assertRaises(flashgen.FlashgenError) as ctx:
            kernel.tune(x, y, out=o, reps=5)
        self.assertEqual(ctx.exception.status, "NoDevice")
        self.assertIn("tuning needs one", str(ctx.exception))
        bad = flashgen.DeviceArray(0x300000, (2, 4, 38, 16), "f32")
        with self.assertRaises(flashgen.FlashgenError) as ctx:
            kernel.tune(x, y, out=bad)
        self.assertEqual(ctx.exception.status, "InvalidArgument")
        self.assertIn("o: dim 2", str(ctx.exception))

    def test_autotune_flag_follows_the_environment_and_the_setter(self):
        os.environ.pop("FLASHGEN_AUTOTUNE", None)
        kernel = self.bundle.kernel("axpy", device=None)
        self.assertFalse(kernel.autotune)
        kernel.autotune = True
        self.assertTrue(kernel.autotune)
        x, y, o = axpy_args()
        # Nothing tuned yet: the bucket runs the selected variant.
        self.assertEqual(kernel.variant_for(x, y, out=o), 0)
        kernel.select_variant(1)
        self.assertFalse(kernel.autotune)  # an explicit choice wins
        self.assertEqual(kernel.variant_for(x, y, out=o), 1)
        os.environ["FLASHGEN_AUTOTUNE"] = "1"
        try:
            self.assertTrue(self.bundle.kernel("axpy", device=None).autotune)
        finally:
            del os.environ["FLASHGEN_AUTOTUNE"]


if __name__ == "__main__":
    unittest.main()
