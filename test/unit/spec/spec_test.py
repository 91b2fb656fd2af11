#!/usr/bin/env python3
"""flashgen.spec (issue #19): specs traced from FlexAttention-style Python
functions. The traced softcap, ALiBi+causal and prefix-LM specs give the
same float64 reference outputs, byte for byte, as the hand-written
examples/ (flashgen-ref, same seed and sizes), and flashgen compile takes
them; what cannot be traced is a SpecError naming it.
    spec_test.py BIN_DIR EXAMPLES_DIR"""

import os
import subprocess
import sys
import tempfile
import unittest

from flashgen import spec

BIN = EXAMPLES = None


def softcap(score, b, h, q_idx, kv_idx):
    return 30.0 * spec.tanh(score / 30.0)


def alibi(score, b, h, q_idx, kv_idx):
    slope = spec.exp2(-0.5 * (h + 1))
    return score + slope * (kv_idx - q_idx)


def prefix_lm(b, h, q_idx, kv_idx):
    return (kv_idx < 256) | (kv_idx <= q_idx)


TRACED = {
    "softcap": dict(score_mod=softcap),
    "alibi_causal": dict(mask="causal", score_mod=alibi),
    "prefix_lm": dict(mask_mod=prefix_lm),
}


def reference(path, name, out):
    subprocess.run([os.path.join(BIN, "flashgen-ref"), path, "--dim", "B=1",
                    "--dim", "N=130", "--seed", "5", "-o", out],
                   check=True, capture_output=True)
    with open(os.path.join(out, name, "o.expected.npy"), "rb") as f:
        return f.read()


class Traced(unittest.TestCase):
    def test_same_reference_as_the_examples(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name, kwargs in TRACED.items():
                with self.subTest(spec=name):
                    path = os.path.join(tmp, name + ".mlir")
                    with open(path, "w") as f:
                        f.write(spec.attention(name, q_heads=16, head_dim=128,
                                               **kwargs))
                    got = reference(path, name, os.path.join(tmp, "got"))
                    want = reference(os.path.join(EXAMPLES, name + ".mlir"),
                                     name, os.path.join(tmp, "want"))
                    self.assertEqual(got, want)

    def test_flashgen_compile_takes_them(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "doc.mlir")

            def document(b, h, q_idx, kv_idx):  # 512-token documents
                return (q_idx // 512 == kv_idx // 512) & (kv_idx <= q_idx)
            with open(path, "w") as f:
                f.write(spec.attention("doc", q_heads=8, kv_heads=2,
                                       head_dim=64, mask_mod=document,
                                       score_mod=alibi))
            r = subprocess.run([os.path.join(BIN, "flashgen"), "compile", path,
                                "-o", os.path.join(tmp, "doc.bundle"),
                                "--dim", "B=1", "--dim", "N=2048"],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            # Every variant compiles for sm_90a without spills (the user's
            # per-element code counts in the register model).
            r = subprocess.run([os.path.join(BIN, "flashgen-nvrtc"),
                                os.path.join(tmp, "doc.bundle")],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class Refused(unittest.TestCase):
    def test_python_control_flow_on_a_traced_value(self):
        def branchy(score, b, h, q_idx, kv_idx):
            return score if q_idx > kv_idx else -score
        with self.assertRaisesRegex(spec.SpecError, "use spec.where"):
            spec.attention("x", q_heads=1, head_dim=64, score_mod=branchy)

    def test_mask_mod_must_return_a_comparison(self):
        with self.assertRaisesRegex(spec.SpecError, "must return a boolean"):
            spec.attention("x", q_heads=1, head_dim=64,
                           mask_mod=lambda b, h, i, j: i + j)

    def test_where_and_bad_shapes(self):
        text = spec.attention(
            "w", q_heads=4, kv_heads=2, head_dim=64,
            score_mod=lambda s, b, h, i, j: spec.where(j > i, s - 1.0, s))
        self.assertIn("arith.select", text)
        with self.assertRaisesRegex(spec.SpecError, "not a multiple"):
            spec.attention("x", q_heads=3, kv_heads=2, head_dim=64)
        with self.assertRaisesRegex(spec.SpecError, "window is given"):
            spec.attention("x", q_heads=1, head_dim=64, mask="sliding_window")
        with self.assertRaisesRegex(spec.SpecError, "mask 'diag'"):
            spec.attention("x", q_heads=1, head_dim=64, mask="diag")


if __name__ == "__main__":
    BIN, EXAMPLES = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
