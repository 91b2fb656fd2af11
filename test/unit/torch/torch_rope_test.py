#!/usr/bin/env python3
"""flashgen.rope: rotary tables and the rotation in torch.

- rotary_tables against the formula (p * base^(-2f/R) * scale[f]) in
  float64, with and without per-dimension scale; bad sizes refused;
- apply_rotary keeps norms (each pair turns by an angle), matches
  Hugging Face's rotate_half form for ``half`` and the complex product for
  ``interleaved``, leaves dims past R alone, and makes scores depend on
  relative positions only (q at p + s, k at p' + s gives the scores of q
  at p, k at p'), the property rotary embedding exists for;
- per-sequence tables [B, P, R/2] rotate each sequence by its own.

    PYTHONPATH=python python3 test/unit/torch/torch_rope_test.py

Needs torch; without it, exits 77 (skipped) as torch_test.py does.
"""

import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ensure_torch import ensure_torch  # noqa: E402

if __name__ == "__main__":
    ensure_torch()

import torch  # noqa: E402
from flashgen.rope import apply_rotary, rotary_tables  # noqa: E402


class RotaryTables(unittest.TestCase):
    def test_formula(self):
        cos, sin = rotary_tables(50, 16, base=1000.0)
        self.assertEqual(tuple(cos.shape), (50, 8))
        self.assertEqual(cos.dtype, torch.float32)
        for p in (0, 1, 17, 49):
            for f in (0, 3, 7):
                angle = p * 1000.0 ** (-2.0 * f / 16)
                self.assertAlmostEqual(float(cos[p, f]), math.cos(angle), places=6)
                self.assertAlmostEqual(float(sin[p, f]), math.sin(angle), places=6)

    def test_scale(self):
        scale = [1.0, 0.5, 0.25, 2.0]
        cos, sin = rotary_tables(9, 8, base=10.0, scale=scale)
        angle = 7 * 10.0 ** (-2.0 * 3 / 8) * 2.0
        self.assertAlmostEqual(float(sin[7, 3]), math.sin(angle), places=6)

    def test_bad_sizes(self):
        with self.assertRaisesRegex(ValueError, "even"):
            rotary_tables(4, 7)
        with self.assertRaisesRegex(ValueError, "positions"):
            rotary_tables(0, 8)
        with self.assertRaisesRegex(ValueError, "R/2 = 4"):
            rotary_tables(4, 8, scale=[1.0, 2.0])


class ApplyRotary(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(3)
        self.cos, self.sin = rotary_tables(64, 8, base=100.0)
        self.x = torch.randn(2, 3, 10, 12, dtype=torch.float64)

    def test_half_is_rotate_half(self):
        got = apply_rotary(self.x, self.cos, self.sin, offset=5)
        c = torch.cat([self.cos[5:15]] * 2, -1).double()
        s = torch.cat([self.sin[5:15]] * 2, -1).double()
        x = self.x[..., :8]
        rotated = torch.cat([-x[..., 4:], x[..., :4]], -1)
        want = x * c + rotated * s
        self.assertLess(float((got[..., :8] - want).abs().max()), 1e-6)
        self.assertTrue(torch.equal(got[..., 8:], self.x[..., 8:]))

    def test_interleaved_is_complex_product(self):
        got = apply_rotary(self.x, self.cos, self.sin, offset=2, style="interleaved")
        z = torch.view_as_complex(self.x[..., :8].reshape(2, 3, 10, 4, 2).contiguous())
        turn = torch.polar(torch.ones(10, 4, dtype=torch.float64),
                           torch.atan2(self.sin[2:12].double(), self.cos[2:12].double()))
        want = torch.view_as_real(z * turn).reshape(2, 3, 10, 8)
        self.assertLess(float((got[..., :8] - want).abs().max()), 1e-6)

    def test_norm_kept(self):
        got = apply_rotary(self.x, self.cos, self.sin)
        self.assertLess(float((got.norm(dim=-1) - self.x.norm(dim=-1)).abs().max()), 1e-6)

    def test_scores_depend_on_relative_positions(self):
        q = torch.randn(1, 1, 6, 8, dtype=torch.float64)
        k = torch.randn(1, 1, 6, 8, dtype=torch.float64)
        base = apply_rotary(q, self.cos, self.sin, 10) @ apply_rotary(k, self.cos, self.sin, 0).transpose(-1, -2)
        shifted = (apply_rotary(q, self.cos, self.sin, 30)
                   @ apply_rotary(k, self.cos, self.sin, 20).transpose(-1, -2))
        self.assertLess(float((base - shifted).abs().max()), 1e-5)
        unrotated = q @ k.transpose(-1, -2)
        self.assertGreater(float((base - unrotated).abs().max()), 1e-2)

    def test_per_sequence_tables(self):
        cos = torch.stack([self.cos, self.cos.roll(3, 0)])
        sin = torch.stack([self.sin, self.sin.roll(3, 0)])
        got = apply_rotary(self.x, cos, sin)
        self.assertLess(float((got[0] - apply_rotary(self.x[:1], self.cos, self.sin)[0]).abs().max()), 1e-6)
        self.assertLess(float((got[1] - apply_rotary(self.x[1:], cos[1], sin[1])[0]).abs().max()), 1e-6)
        self.assertGreater(float((got[1] - apply_rotary(self.x[1:], self.cos, self.sin)[0]).abs().max()), 1e-2)


if __name__ == "__main__":
    unittest.main()
