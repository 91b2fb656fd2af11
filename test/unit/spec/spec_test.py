#!/usr/bin/env python3
"""flashgen.spec (issue #19): specs traced from FlexAttention-style Python
functions. The traced softcap, ALiBi+causal and prefix-LM specs give the
same float64 reference outputs, byte for byte, as the hand-written
examples/ (flashgen-ref, same seed and sizes), and flashgen compile takes
them; what cannot be traced is a SpecError naming it.

Extras (spec.tensor / spec.scalar, docs/semantics.md §2.7): a document mask
over doc ids [B, N] i32, a learned bias table [16, 64] f32 and a run-time
prefix length (an i32 scalar) are checked on the text (the extras clause,
the func and block arguments in one order, tensor.extract, the casts, only
ops the regions allow) and with flashgen-opt / flashgen compile /
flashgen-ref; the traced document mask and run-time prefix give the
references of examples/document_mask.mlir and prefix_lm_runtime.mlir.

A speculative tree's mask traced with Python's bit operators (>>, &) gives
the reference of examples/tree_verify.mlir (ancestor words drawn at random).

flashgen.compile (issue: a Python session compiles what it traces): a
traced document mask becomes a loaded bundle whose manifest takes doc (i32,
[B, N]), cached by spec and options (the same call reuses the folder), with
errors that list where the compiler was looked for or quote its
diagnostics; examples/python/document_mask.py --compile-only writes its
bundle.
    spec_test.py BIN_DIR EXAMPLES_DIR"""

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

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


def reference_files(source, out, name, dims, files, flags=()):
    """flashgen-ref on ``source`` at ``dims`` (seed 5, and ``flags``) into
    ``out``: the bytes of ``files`` of function ``name``'s case."""
    args = [os.path.join(BIN, "flashgen-ref"), source, "--seed", "5", "-o", out]
    args += list(flags)
    for dim in dims:
        args += ["--dim", dim]
    subprocess.run(args, check=True, capture_output=True)
    got = {}
    for file in files:
        with open(os.path.join(out, name, file), "rb") as f:
            got[file] = f.read()
    return got


class Traced(unittest.TestCase):
    def test_same_reference_as_the_examples(self):
        with tempfile.TemporaryDirectory() as tmp:
            # With extras (their functions are defined below).
            cases = dict(TRACED)
            cases["document_mask"] = dict(mask="causal",
                                          mask_mod=document_mask)
            cases["prefix_lm_runtime"] = dict(mask_mod=prefix_mask)
            for name, kwargs in cases.items():
                with self.subTest(spec=name):
                    path = os.path.join(tmp, name + ".mlir")
                    with open(path, "w") as f:
                        f.write(spec.attention(name, q_heads=16, head_dim=128,
                                               **kwargs))
                    got = reference(path, name, os.path.join(tmp, "got"))
                    want = reference(os.path.join(EXAMPLES, name + ".mlir"),
                                     name, os.path.join(tmp, "want"))
                    self.assertEqual(got, want)

    def test_tree_mask_as_the_example(self):
        # A speculative tree's mask (examples/tree_verify.mlir) traced with
        # Python's bit operators: the same reference, ancestor words drawn
        # at random (--bit-extras), per-sequence prefixes.
        prefix = spec.tensor("prefix", ("B",), "int32")
        tree = spec.tensor("tree", ("B", "N", 2), "int32")

        def tree_mask(b, h, i, j):
            t = j - prefix[b]
            return (j < prefix[b]) | (((tree[b, i, t >> 5] >> (t & 31)) & 1) == 1)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "tree_verify.mlir")
            with open(path, "w") as f:
                f.write(spec.attention("tree_verify", q_heads=32, kv_heads=8,
                                       head_dim=128, mask="causal",
                                       dims=("B", "N", "M"),
                                       mask_mod=tree_mask))
            outs = [reference_files(source, os.path.join(tmp, out),
                                    "tree_verify", ("B=3", "N=40", "M=150"),
                                    ("o.expected.npy", "lse.expected.npy",
                                     "tree.npy", "prefix.npy"),
                                    flags=("--bit-extras=tree",))
                    for source, out in (
                        (path, "got"),
                        (os.path.join(EXAMPLES, "tree_verify.mlir"), "want"))]
            self.assertEqual(outs[0], outs[1])
        # Shifts and bits of booleans or floats are refused.
        with self.assertRaisesRegex(spec.SpecError, "<< and >> take integers"):
            spec.attention("x", q_heads=4, head_dim=64,
                           score_mod=lambda s, b, h, i, j: s + (s >> 1))
        with self.assertRaisesRegex(spec.SpecError, "two integers"):
            spec.attention("x", q_heads=4, head_dim=64,
                           mask_mod=lambda b, h, i, j: (i < j) & j)

    def test_packed_sequences_as_the_example(self):
        # varlen=True: the packed batch of examples/varlen_prefill.mlir
        # (lengths drawn per sequence, offsets and longest lengths given).
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "varlen_prefill.mlir")
            with open(path, "w") as f:
                f.write(spec.attention("varlen_prefill", q_heads=32,
                                       kv_heads=8, head_dim=128,
                                       mask="causal", dims=("B", "N", "M"),
                                       varlen=True))
            outs = [reference_files(source, os.path.join(tmp, out),
                                    "varlen_prefill", ("B=4", "N=70", "M=90"),
                                    ("o.expected.npy", "lse.expected.npy",
                                     "cu_seqlens_q.npy", "cu_seqlens_k.npy"))
                    for source, out in (
                        (path, "got"),
                        (os.path.join(EXAMPLES, "varlen_prefill.mlir"), "want"))]
            self.assertEqual(outs[0], outs[1])
            with self.assertRaisesRegex(spec.SpecError, "varlen: True"):
                spec.attention("x", q_heads=4, head_dim=64, varlen="yes")

    def test_block_mask_as_the_example(self):
        # block_mask=(Qb, Kb): examples/block_sparse.mlir's lists (the same
        # reference data: lists drawn alike, the same outputs), and the
        # partial-only form without the full pair.
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "block_sparse.mlir")
            with open(path, "w") as f:
                f.write(spec.attention("block_sparse", q_heads=16, kv_heads=4,
                                       head_dim=128, mask="causal",
                                       block_mask=(128, 128)))
            files = ("o.expected.npy", "lse.expected.npy", "kv_num_blocks.npy",
                     "kv_indices.npy", "full_kv_num_blocks.npy", "full_kv_indices.npy")
            outs = [reference_files(source, os.path.join(tmp, out), "block_sparse",
                                    ("B=2", "N=300"), files)
                    for source, out in (
                        (path, "got"),
                        (os.path.join(EXAMPLES, "block_sparse.mlir"), "want"))]
            self.assertEqual(outs[0], outs[1])
            partial = os.path.join(tmp, "partial.mlir")
            with open(partial, "w") as f:
                f.write(spec.attention("partial", q_heads=8, head_dim=64,
                                       block_mask=(64, 64, "partial")))
            got = reference_files(partial, os.path.join(tmp, "partial"), "partial",
                                  ("B=1", "N=200"), ("kv_indices.npy",))
            self.assertIn("kv_indices.npy", got)
            self.assertFalse(os.path.exists(os.path.join(
                tmp, "partial", "partial", "full_kv_indices.npy")))
        for bad, message in (((128,), "block_mask"), ((128, 128, "full"), "block_mask"),
                             ((0, 128), "block_mask")):
            with self.assertRaisesRegex(spec.SpecError, message):
                spec.attention("x", q_heads=4, head_dim=64, block_mask=bad)
        with self.assertRaisesRegex(spec.SpecError, "packed sequences under a block mask"):
            spec.attention("x", q_heads=4, head_dim=64, block_mask=(64, 64), varlen=True)

    def test_output_mod_as_the_example(self):
        # output_mod=fn: examples/gated_output.mlir's gated output (the gate
        # an extra), the same reference data byte for byte.
        gate = spec.tensor("gate", ("B", "N", 16, 128), "float32")

        def gated(o, b, h, q_idx, d):
            return o / (1.0 + spec.exp(-gate[b, q_idx, h, d]))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "gated_output.mlir")
            with open(path, "w") as f:
                f.write(spec.attention("gated_output", q_heads=16, kv_heads=4,
                                       head_dim=128, mask="causal",
                                       output_mod=gated))
            files = ("o.expected.npy", "lse.expected.npy", "gate.npy")
            outs = [reference_files(source, os.path.join(tmp, out), "gated_output",
                                    ("B=2", "N=70"), files)
                    for source, out in (
                        (path, "got"),
                        (os.path.join(EXAMPLES, "gated_output.mlir"), "want"))]
            self.assertEqual(outs[0], outs[1])

    def test_recurrence_output_mod_as_the_example(self):
        # spec.linear_attention(..., output_mod=fn): examples/
        # gated_recurrence.mlir's output gate, the same reference data byte
        # for byte; without a region nothing may read an extra.
        gate = spec.tensor("gate", ("B", "T", 8, 128), "float32")

        def gated(o, b, h, t, d):
            z = gate[b, t, h, d]
            return o * (z / (1.0 + spec.exp(-z)))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "gated_recurrence.mlir")
            with open(path, "w") as f:
                f.write(spec.linear_attention("gated_recurrence", heads=8, key_dim=128,
                                              gate="mlstm_sig", output_mod=gated))
            files = ("o.expected.npy", "gate.npy", "igate.npy")
            outs = [reference_files(source, os.path.join(tmp, out), "gated_recurrence",
                                    ("B=2", "T=70"), files)
                    for source, out in (
                        (path, "got"),
                        (os.path.join(EXAMPLES, "gated_recurrence.mlir"), "want"))]
            self.assertEqual(outs[0], outs[1])
        with self.assertRaisesRegex(spec.SpecError, "nothing reads them"):
            spec.linear_attention("x", heads=2, key_dim=64, extras=[gate])
        with self.assertRaisesRegex(spec.SpecError, "gate 'rwkv'"):
            spec.linear_attention("x", heads=2, key_dim=64, gate="rwkv")

    def test_recurrence_feature_map_as_the_example(self):
        # spec.linear_attention(..., feature_map=fn): examples/
        # feature_map_linear.mlir's elu(w x) + 1 on q and k, the same
        # reference data byte for byte; a map must yield a float.
        w = spec.tensor("w", (8, 128), "float32")

        def elu1(x, b, h, t, d):
            y = w[h, d] * x
            return spec.where(y > 0.0, y + 1.0, spec.exp(y))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "feature_map_linear.mlir")
            with open(path, "w") as f:
                f.write(spec.linear_attention("feature_map_linear", heads=8, key_dim=128,
                                              gate="decay", feature_map=elu1))
            files = ("o.expected.npy", "w.npy", "q.bf16.npy")
            outs = [reference_files(source, os.path.join(tmp, out), "feature_map_linear",
                                    ("B=2", "T=70"), files)
                    for source, out in (
                        (path, "got"),
                        (os.path.join(EXAMPLES, "feature_map_linear.mlir"), "want"))]
            self.assertEqual(outs[0], outs[1])
        with self.assertRaises(spec.SpecError):
            spec.linear_attention("x", heads=2, key_dim=64,
                                  feature_map=lambda x, b, h, t, d: x > 0.0)

    def test_rotary_as_the_example(self):
        # rotary=(style, cos, sin): examples/rope_attention.mlir's rotary
        # embedding, the tables two float32 extras; the same reference data
        # byte for byte. Bad forms are refused with what they must be.
        cos = spec.tensor("cos", ("N", 64), "float32")
        sin = spec.tensor("sin", ("N", 64), "float32")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "rope_attention.mlir")
            with open(path, "w") as f:
                f.write(spec.attention("rope_attention", q_heads=32, kv_heads=8,
                                       head_dim=128, mask="causal",
                                       rotary=("half", cos, sin)))
            files = ("o.expected.npy", "lse.expected.npy", "cos.npy")
            outs = [reference_files(source, os.path.join(tmp, out), "rope_attention",
                                    ("B=1", "N=70"), files)
                    for source, out in (
                        (path, "got"),
                        (os.path.join(EXAMPLES, "rope_attention.mlir"), "want"))]
            self.assertEqual(outs[0], outs[1])
        with self.assertRaisesRegex(spec.SpecError, "half.*interleaved"):
            spec.attention("x", q_heads=4, head_dim=128, rotary=("neox", cos, sin))
        with self.assertRaisesRegex(spec.SpecError, "cos and sin are two tensors"):
            spec.attention("x", q_heads=4, head_dim=128, rotary=("half", cos, cos))
        ints = spec.tensor("c", ("N", 64), "int32")
        with self.assertRaisesRegex(spec.SpecError, "rotary table c: float32"):
            spec.attention("x", q_heads=4, head_dim=128, rotary=("half", ints, sin))
        with self.assertRaisesRegex(spec.SpecError, "rotary reads sin, which extras= does not list"):
            spec.attention("x", q_heads=4, head_dim=128, rotary=("half", cos, sin),
                           extras=[cos])

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


class DeltaRule(unittest.TestCase):
    """spec.delta_rule: the op as flashgen-opt verifies it, the same
    reference data as the hand-written spec of the lit test, and its
    argument errors."""

    def test_same_reference_as_the_written_spec(self):
        written = os.path.join(os.path.dirname(__file__), "..", "..", "tools",
                               "Inputs", "delta-rule", "gated_delta.mlir")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "gated_delta.mlir")
            with open(path, "w") as f:
                f.write(spec.delta_rule("gated_delta", heads=2, key_dim=8,
                                        value_dim=5, gated=True,
                                        l2norm_qk=True, initial_state=True,
                                        return_final_state=True))
            outs = [reference_files(source, os.path.join(tmp, out),
                                    "gated_delta", ("B=2", "T=9"),
                                    ("o.expected.npy", "cf.expected.npy",
                                     "beta.npy", "g.npy", "c0.npy"))
                    for source, out in ((path, "got"), (written, "want"))]
            self.assertEqual(outs[0], outs[1])

    def test_every_form_verifies(self):
        for kwargs in (dict(), dict(gated=True), dict(l2norm_qk=True,
                       return_final_state=True), dict(initial_state=True,
                       value_dim=64, dtype="f16", beta_dtype="bf16",
                       scale=0.5, dims=("batch", "len"))):
            with self.subTest(**{k: str(v) for k, v in kwargs.items()}):
                r = subprocess.run([os.path.join(BIN, "flashgen-opt")],
                                   input=spec.delta_rule("d", heads=4,
                                                         key_dim=32, **kwargs),
                                   capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("flash.delta_rule", r.stdout)

    def test_refused(self):
        for kwargs, message in (
                (dict(heads=0, key_dim=8), "heads = 0: a positive integer"),
                (dict(heads=2, key_dim=8, dtype="f64"), "dtype 'f64': one of"),
                (dict(heads=2, key_dim=8, gated=1), "gated: True or False"),
                (dict(heads=2, key_dim=8, dims=("B", "B")),
                 "dims: two distinct size names"),
                (dict(heads=2, key_dim=8, scale=float("inf")),
                 "scale must be finite")):
            with self.subTest(message=message):
                with self.assertRaisesRegex(spec.SpecError, message):
                    spec.delta_rule("d", **kwargs)


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



# -- extras -----------------------------------------------------------------

# The ops a region may hold (docs/semantics.md §2).
ALLOWED = set("arith." + op for op in (
    "constant addf subf mulf divf negf maximumf minimumf maxnumf minnumf cmpf "
    "select addi subi muli divsi remsi divui remui floordivsi cmpi andi ori "
    "xori extui maxsi minsi index_cast sitofp uitofp fptosi extf truncf "
    "shli shrui shrsi"
    .split())) | set("math." + op for op in (
        "tanh exp exp2 log log2 sqrt rsqrt absf absi floor ceil powf".split())) \
    | {"tensor.extract", "flash.yield"}

DOC = spec.tensor("doc", ("B", "N"), "int32")
BIAS = spec.tensor("bias", (16, 64), "float32")
PREFIX = spec.scalar("prefix", "int32")


def document_mask(b, h, q_idx, kv_idx):
    return doc_same(b, q_idx, kv_idx)


def doc_same(b, q_idx, kv_idx):
    return DOC[b, q_idx] == DOC[b, kv_idx]


def bias_table(score, b, h, q_idx, kv_idx):
    return score + BIAS[h, q_idx - kv_idx]  # causal: the distance is >= 0


def prefix_mask(b, h, q_idx, kv_idx):
    return (kv_idx < PREFIX) | (kv_idx <= q_idx)


EXTRA_SPECS = {
    "document_mask": dict(mask="causal", mask_mod=document_mask),
    "bias_table": dict(mask="causal", score_mod=bias_table),
    "prefix_scalar": dict(mask_mod=prefix_mask),
    "doc_bias_prefix": dict(
        mask="causal", score_mod=bias_table, extras=[DOC, BIAS, PREFIX],
        mask_mod=lambda b, h, i, j: doc_same(b, i, j) | (j < PREFIX)),
}


def traced(name, **kwargs):
    return spec.attention(name, q_heads=16, head_dim=128,
                          **EXTRA_SPECS.get(name, {}), **kwargs)


def regions(text):
    """{label: (block argument list, body lines)} of the text's regions."""
    out = {}
    for m in re.finditer(r"  (score_mod|mask_mod) \{\n  \^bb0\((.*)\):\n"
                         r"((?:    .*\n)*)  \}", text):
        args = [tuple(a.split(": ")) for a in m.group(2).split(", ")]
        out[m.group(1)] = (args, [ln.strip() for ln in
                                  m.group(3).splitlines()])
    return out


def extras_clause(text):
    m = re.search(r"\n      extras\((.*) : (.*)\) names \[(.*)\] "
                  r"extra_dims \[(.*)\]\n", text)
    assert m, text
    return ([a for a in m.group(1).split(", ")], m.group(2).split(", "),
            json.loads("[%s]" % m.group(3)), json.loads("[%s]" % m.group(4)))


class Extras(unittest.TestCase):
    """The text of traced specs that read tensors and scalars."""

    def check_consistent(self, text, names, types):
        """The extras in one order everywhere: the operands, names,
        extra_dims, the func's arguments after q, k, v, and every region's
        block arguments after its own; and only the allowed ops."""
        operands, optypes, got_names, _ = extras_clause(text)
        self.assertEqual(got_names, names)
        self.assertEqual(operands, ["%" + n for n in names])
        self.assertEqual(optypes, types)
        head = text.splitlines()[0]
        self.assertIn("%%v: tensor<?x16x?x128xbf16>, %s) ->" % ", ".join(
            "%%%s: %s" % nt for nt in zip(names, types)), head)
        rs = regions(text)
        self.assertTrue(rs)
        for label, (args, body) in rs.items():
            own = 5 if label == "score_mod" else 4
            self.assertEqual([t for _, t in args[own:]], types, label)
            self.assertEqual([a for a, _ in args[own:]],
                             ["%x_" + n for n in names], label)
            for line in body:
                op = re.match(r"(?:%v\d+ = )?([a-z]+\.[a-z_0-9]+)", line)
                self.assertIn(op.group(1), ALLOWED, line)
        # The trailing types stay q, k, v -> o.
        self.assertIn("  : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, "
                      "tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>\n",
                      text)
        return rs

    def test_document_mask(self):
        text = traced("document_mask")
        rs = self.check_consistent(text, ["doc"], ["tensor<?x?xi32>"])
        self.assertEqual(extras_clause(text)[3], [["B", "N"]])
        self.assertNotIn("score_mod", rs)
        body = rs["mask_mod"][1]
        self.assertEqual(body, [
            "%v1 = tensor.extract %x_doc[%b, %i] : tensor<?x?xi32>",
            "%v2 = tensor.extract %x_doc[%b, %j] : tensor<?x?xi32>",
            "%v3 = arith.cmpi eq, %v1, %v2 : i32",
            "flash.yield %v3 : i1"])
        self.assertIn('mask causal dims ["B", "N", "N"]\n      extras(', text)

    def test_bias_table(self):
        text = traced("bias_table")
        rs = self.check_consistent(text, ["bias"], ["tensor<16x64xf32>"])
        self.assertEqual(extras_clause(text)[3], [[]])  # static: none named
        self.assertEqual(rs["score_mod"][1], [
            "%v1 = arith.subi %i, %j : index",
            "%v2 = tensor.extract %x_bias[%h, %v1] : tensor<16x64xf32>",
            "%v3 = arith.addf %s, %v2 : f32",
            "flash.yield %v3 : f32"])

    def test_prefix_scalar(self):
        text = traced("prefix_scalar")
        rs = self.check_consistent(text, ["prefix"], ["tensor<i32>"])
        self.assertEqual(extras_clause(text)[3], [[]])
        self.assertEqual(rs["mask_mod"][1][:3], [
            "%v1 = tensor.extract %x_prefix[] : tensor<i32>",
            "%v2 = arith.index_cast %v1 : i32 to index",
            "%v3 = arith.cmpi slt, %j, %v2 : index"])

    def test_all_three_in_the_order_given(self):
        text = traced("doc_bias_prefix")
        rs = self.check_consistent(
            text, ["doc", "bias", "prefix"],
            ["tensor<?x?xi32>", "tensor<16x64xf32>", "tensor<i32>"])
        self.assertEqual(extras_clause(text)[3], [["B", "N"], [], []])
        # score_mod reads bias alone but takes all three.
        self.assertEqual(len(rs["score_mod"][0]), 8)
        mask = rs["mask_mod"][1]
        self.assertEqual(sum("tensor.extract %x_doc" in ln for ln in mask), 2)
        self.assertEqual(sum("tensor.extract %x_prefix[]" in ln
                             for ln in mask), 1)
        # Without extras= the order is the order first read: score_mod's
        # bias, then mask_mod's doc and prefix.
        spec_kw = dict(EXTRA_SPECS["doc_bias_prefix"])
        del spec_kw["extras"]
        text = spec.attention("x", q_heads=16, head_dim=128, **spec_kw)
        self.assertEqual(extras_clause(text)[2], ["bias", "doc", "prefix"])

    def test_casts_between_integers_indices_and_floats(self):
        lens = spec.tensor("lens", ("B",), "int64")
        scale = spec.scalar("temp", "float32")

        def mod(score, b, h, q_idx, kv_idx):
            n = lens[b]                      # i64
            inside = (kv_idx < n) & (n > 3)  # index vs i64; i64 vs 3
            return spec.where(inside, score * scale + n, -1.0)
        text = spec.attention("c", q_heads=16, head_dim=128, score_mod=mod,
                              dims=("B", "N", "M"))
        rs = self.check_consistent(text, ["lens", "temp"],
                                   ["tensor<?xi64>", "tensor<f32>"])
        self.assertEqual(extras_clause(text)[3], [["B"], []])
        body = "\n".join(rs["score_mod"][1])
        for want in ("tensor.extract %x_lens[%b] : tensor<?xi64>",
                     "arith.index_cast %v1 : i64 to index",
                     "arith.constant 3 : i64",
                     "arith.cmpi sgt, %v1, %v4 : i64",
                     "tensor.extract %x_temp[] : tensor<f32>",
                     "arith.sitofp %v1 : i64 to f32",
                     "arith.select"):
            self.assertIn(want, body)
        # An element as an index, a Python int index, a scalar as an index.
        pos = spec.tensor("pos", ("N",), "int32")
        text = spec.attention(
            "p", q_heads=16, head_dim=128, dims=("B", "N", "N"),
            score_mod=lambda s, b, h, i, j: s + BIAS[h, pos[i]] + BIAS[0, 63]
            + BIAS[h, PREFIX])
        body = "\n".join(regions(text)["score_mod"][1])
        self.assertIn("tensor.extract %x_pos[%i] : tensor<?xi32>", body)
        self.assertIn("arith.index_cast %v1 : i32 to index", body)
        self.assertIn("arith.constant 63 : index", body)
        # pos[i] is read before the bias element it indexes.
        self.assertEqual(extras_clause(text)[2], ["pos", "bias", "prefix"])

    def test_integer_arithmetic_keeps_its_type(self):
        def mask(b, h, i, j):
            return DOC[b, i] // 2 + 1 == DOC[b, j] % 4
        body = regions(spec.attention("m", q_heads=16, head_dim=128,
                                      mask_mod=mask))["mask_mod"][1]
        self.assertIn("%v3 = arith.floordivsi %v1, %v2 : i32", body)
        self.assertIn("%v5 = arith.addi %v3, %v4 : i32", body)
        self.assertTrue(any(ln.endswith("arith.cmpi eq, %v5, %v8 : i32")
                            for ln in body), body)

    def test_without_extras_nothing_changes(self):
        text = spec.attention("softcap", q_heads=16, head_dim=128,
                              score_mod=softcap)
        self.assertNotIn("extras", text)
        self.assertNotIn("tensor.extract", text)
        self.assertIn("^bb0(%s: f32, %b: index, %h: index, %i: index, "
                      "%j: index):", text)

    def test_refused(self):
        cases = [
            (lambda: spec.attention("x", q_heads=1, head_dim=64,
                                    mask_mod=lambda b, h, i, j: DOC[b] > 0),
             r"doc takes 2 indices \(shape \(B, N\)\), got 1"),
            (lambda: spec.attention("x", q_heads=1, head_dim=64,
                                    mask_mod=lambda b, h, i, j:
                                    DOC[b, i, j] > 0),
             "doc takes 2 indices"),
            (lambda: spec.attention("x", q_heads=1, head_dim=64,
                                    mask_mod=lambda b, h, i, j:
                                    DOC[b, 1.5] > 0),
             "doc: index 1 is a float 1.5"),
            (lambda: spec.attention("x", q_heads=1, head_dim=64,
                                    score_mod=lambda s, b, h, i, j:
                                    BIAS[h, s]),
             "bias: index 1 is a float, not an integer"),
            (lambda: spec.attention("x", q_heads=1, head_dim=64,
                                    score_mod=lambda s, b, h, i, j:
                                    BIAS[h, BIAS[0, 0]]),
             "bias: index 1 is a float"),
            (lambda: spec.tensor("t", ("B",), "int16"),
             "tensor t: dtype 'int16': one of int32, int64, float32"),
            (lambda: spec.scalar("t", "float64"), "dtype 'float64'"),
            (lambda: spec.attention("x", q_heads=1, head_dim=64,
                                    dims=("batch", "len", "len"),
                                    mask_mod=document_mask),
             r"tensor doc: dim 'B' is not one of the op's dims "
             r"\(batch, len\)"),
            (lambda: spec.attention("x", q_heads=1, head_dim=64,
                                    mask_mod=lambda b, h, i, j:
                                    spec.tensor("m", ("M",))[j] > 0),
             "dim 'M' is not one of the op's dims"),
            (lambda: spec.tensor("lse", ("B",)), "name 'lse' is reserved"),
            (lambda: spec.scalar("do"), "name 'do' is reserved"),
            (lambda: spec.tensor("Doc", ("B",)), "lower case identifier"),
            (lambda: spec.tensor("t", ()), "spec.scalar declares"),
            (lambda: spec.tensor("t", ("B", 0)), r"static size 0"),
            (lambda: spec.attention(
                "x", q_heads=1, head_dim=64, extras=[DOC, DOC],
                mask_mod=document_mask), "two extras are named 'doc'"),
            (lambda: spec.attention(
                "x", q_heads=1, head_dim=64,
                mask_mod=lambda b, h, i, j:
                doc_same(b, i, j) | (spec.tensor("doc", ("N",))[j] > 0)),
             "mask_mod reads two different extras named 'doc'"),
            (lambda: spec.attention(
                "x", q_heads=1, head_dim=64, extras=[PREFIX],
                mask_mod=document_mask),
             "mask_mod reads doc, which extras= does not list"),
            (lambda: spec.attention("x", q_heads=1, head_dim=64,
                                    extras=[DOC]),
             "without a score_mod, mask_mod, output_mod or feature_map"),
            (lambda: spec.attention(
                "x", q_heads=1, head_dim=64, dims=("B", "N", "n"),
                extras=[DOC, spec.scalar("n")], mask_mod=document_mask),
             "extra name 'n' is one of the dims names"),
            (lambda: DOC[0, 0], "outside a score_mod / mask_mod"),
            (lambda: PREFIX + 1, "outside a score_mod / mask_mod"),
            (lambda: spec.attention("x", q_heads=1, head_dim=64,
                                    score_mod=lambda s, b, h, i, j: s + BIAS),
             r"bias is a tensor: read an element \(bias\[...\]\)"),
            (lambda: spec.attention("x", q_heads=1, head_dim=64,
                                    mask_mod=lambda b, h, i, j:
                                    j < 0 if PREFIX else j > 0),
             "on scalar prefix cannot be compiled"),
        ]
        for fn, message in cases:
            with self.subTest(message):
                with self.assertRaisesRegex(spec.SpecError, message):
                    fn()


class ExtrasTools(unittest.TestCase):
    """The traced extras specs through the compiler's tools."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def write(self, name):
        path = os.path.join(self.tmp.name, name + ".mlir")
        with open(path, "w") as f:
            f.write(traced(name))
        return path

    def test_verified_and_printed_back(self):
        for name in EXTRA_SPECS:
            with self.subTest(spec=name):
                r = subprocess.run([os.path.join(BIN, "flashgen-opt"),
                                    self.write(name)],
                                   capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("extras(", r.stdout)

    def test_compiled_with_extras_in_the_manifest(self):
        for name in EXTRA_SPECS:
            with self.subTest(spec=name):
                out = os.path.join(self.tmp.name, name + ".bundle")
                r = subprocess.run([os.path.join(BIN, "flashgen"), "compile",
                                    self.write(name), "-o", out, "--backward",
                                    "--dim", "B=1", "--dim", "N=1024"],
                                   capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                with open(os.path.join(out, "manifest.json")) as f:
                    kernels = {k["name"]: k for k in json.load(f)["kernels"]}
                want = EXTRA_SPECS[name].get("extras") or [
                    {"document_mask": DOC, "bias_table": BIAS,
                     "prefix_scalar": PREFIX}[name]]
                for kname in (name, name + "_backward"):
                    k = kernels[kname]
                    params = {p["name"]: p for p in k["params"]}
                    scalars = {s["name"]: s for s in k.get("scalars", [])}
                    for x in want:
                        if isinstance(x, spec.Scalar):
                            self.assertEqual(scalars[x.name]["dtype"], x.dtype)
                            self.assertNotIn("default", scalars[x.name])
                        else:
                            p = params[x.name]
                            self.assertEqual((p["io"], p["dtype"], p["shape"]),
                                             ("in", x.dtype, list(x.shape)),
                                             kname)

    def test_reference_runs(self):
        for name in EXTRA_SPECS:
            with self.subTest(spec=name):
                out = os.path.join(self.tmp.name, "ref")
                r = subprocess.run([os.path.join(BIN, "flashgen-ref"),
                                    self.write(name), "--dim", "B=2",
                                    "--dim", "N=130", "--seed", "5", "-o",
                                    out], capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(os.path.exists(
                    os.path.join(out, name, "o.expected.npy")))


# -- flashgen.compile ---------------------------------------------------------

def document_gqa():
    """A traced document mask over GQA, as examples/python/ writes it."""
    doc = spec.tensor("doc", ("B", "N"), "int32")
    return spec.attention("doc_gqa", q_heads=16, kv_heads=4, head_dim=128,
                          mask="causal",
                          mask_mod=lambda b, h, i, j: doc[b, i] == doc[b, j])


class Compile(unittest.TestCase):
    """flashgen.compile: a traced spec to a loaded bundle through the
    flashgen tool, cached by spec and options; its errors."""

    def setUp(self):
        import flashgen
        self.flashgen = flashgen
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        # A cache of this test's own, and the tool found as a user's session
        # finds it (beside the runtime library, or FLASHGEN_COMPILER).
        env = mock.patch.dict(os.environ, {
            "FLASHGEN_CACHE_DIR": os.path.join(self.tmp.name, "cache"),
            "FLASHGEN_COMPILER": os.path.join(BIN, "flashgen")})
        env.start()
        self.addCleanup(env.stop)

    def params(self, bundle, kernel):
        with open(os.path.join(bundle.path, "manifest.json")) as f:
            kernels = {k["name"]: k for k in json.load(f)["kernels"]}
        return {p["name"]: p for p in kernels[kernel]["params"]}

    def test_cached_bundle_with_the_extra(self):
        text = document_gqa()
        bundle = self.flashgen.compile(text, dims={"B": 2, "N": 1000})
        self.assertIsInstance(bundle, self.flashgen.Bundle)
        self.assertEqual(bundle.kernel_names, ["doc_gqa"])
        root = os.path.join(self.tmp.name, "cache", "bundles-v1")
        self.assertEqual(os.path.dirname(bundle.path), root)
        self.assertTrue(os.path.basename(bundle.path).startswith("doc_gqa-"))
        doc = self.params(bundle, "doc_gqa")["doc"]
        self.assertEqual((doc["io"], doc["dtype"], doc["shape"]),
                         ("in", "i32", ["B", "N"]))
        with open(os.path.join(bundle.path, "spec.mlir")) as f:
            self.assertEqual(f.read(), text)
        # The kernel takes doc by name (checked by the runtime, no GPU).
        kernel = bundle.kernel("doc_gqa", device=None)
        self.assertEqual([p["name"] for p in kernel.params],
                         ["q", "k", "v", "doc", "o", "lse"])

        # The same spec and options: the same folder, not compiled again
        # (a marker left in it survives; with no compiler there the call
        # would fail).
        marker = os.path.join(bundle.path, "marker")
        open(marker, "w").close()
        again = self.flashgen.compile(text, dims={"N": 1000, "B": 2})
        self.assertEqual(again.path, bundle.path)
        self.assertTrue(os.path.exists(marker))
        # Other options: another folder; nothing half-written left beside.
        other = self.flashgen.compile(text, dims={"B": 2, "N": 1000},
                                      backward=True)
        self.assertNotEqual(other.path, bundle.path)
        self.assertIn("doc_gqa_backward", other.kernel_names)
        self.assertEqual(self.params(other, "doc_gqa_backward")["doc"]["io"],
                         "in")
        self.assertEqual(sorted(os.listdir(root)),
                         sorted(os.path.basename(b.path)
                                for b in (bundle, other)))

    def test_into_a_folder_with_options(self):
        out = os.path.join(self.tmp.name, "out", "doc.bundle")
        bundle = self.flashgen.compile(document_gqa(), out, top_k=1,
                                       target="h200",
                                       compiler=os.path.join(BIN, "flashgen"))
        self.assertEqual(bundle.path, out)
        self.assertEqual(bundle.target, "sm_90a")
        # top_k=1: only first choices, the one at N and those the size rule
        # adds at other lengths, each named by the kernel's dispatch.
        kernel = bundle.kernel("doc_gqa", device=None)
        with open(os.path.join(out, "manifest.json")) as f:
            entry = {k["name"]: k for k in json.load(f)["kernels"]}["doc_gqa"]
        picks = set(entry["dispatch"]["variants"]) if "dispatch" in entry \
            else {0}
        self.assertEqual(picks, set(range(kernel.num_variants)))
        self.assertLessEqual(kernel.num_variants, 4)
        self.assertTrue(os.path.exists(os.path.join(out, "spec.mlir")))
        with self.assertRaisesRegex(self.flashgen.FlashgenError,
                                    "deterministic=True .* backward=True"):
            self.flashgen.compile(document_gqa(), out, deterministic=True)
        with self.assertRaisesRegex(self.flashgen.FlashgenError,
                                    "dims: N = 0: a positive integer"):
            self.flashgen.compile(document_gqa(), out, dims={"N": 0})

    @contextlib.contextmanager
    def no_compiler_named(self, lib, candidates):
        """No compiler= or FLASHGEN_COMPILER, an empty PATH, FLASHGEN_LIB at
        ``lib``, no runtime library loaded yet and ``candidates`` as the
        libraries the package would try: where flashgen.compile looks."""
        from flashgen import _capi
        env = dict(os.environ, PATH=os.path.join(self.tmp.name, "empty"),
                   FLASHGEN_LIB=lib)
        env.pop("FLASHGEN_COMPILER", None)
        with mock.patch.dict(os.environ, env, clear=True), \
                mock.patch.object(_capi, "loaded", lambda: None), \
                mock.patch.object(_capi, "_candidates",
                                  lambda: iter(candidates)):
            yield

    def test_compiler_not_found(self):
        missing = os.path.join(self.tmp.name, "no", "flashgen")
        with self.assertRaises(self.flashgen.FlashgenError) as e:
            self.flashgen.compile(document_gqa(), compiler=missing)
        self.assertEqual(e.exception.status, "NotFound")
        self.assertIn("compiler= %s (missing)" % missing, str(e.exception))
        with mock.patch.dict(os.environ, {"FLASHGEN_COMPILER": missing}):
            with self.assertRaisesRegex(self.flashgen.FlashgenError,
                                        r"\$FLASHGEN_COMPILER= %s \(missing\)"
                                        % re.escape(missing)):
                self.flashgen.compile(document_gqa())
        # Nothing named: PATH, then bin/ beside each runtime library the
        # package would load (none loaded yet); every place is listed.
        from flashgen import _capi
        lib = os.path.join(self.tmp.name, "prefix", "lib",
                           "libflashgen_runtime.so")
        with self.no_compiler_named(lib, [lib, _capi.LIB_NAME]):
            with self.assertRaises(self.flashgen.FlashgenError) as e:
                self.flashgen.compile(document_gqa())
        message = str(e.exception)
        self.assertIn("PATH: flashgen (not on PATH)", message)
        self.assertIn(os.path.join(self.tmp.name, "prefix", "bin", "flashgen")
                      + " (missing)", message)
        self.assertIn("FLASHGEN_COMPILER", message)

    def test_found_beside_the_runtime_library(self):
        from flashgen import _compile
        lib = os.path.join(os.path.dirname(BIN), "lib",
                           "libflashgen_runtime.so")
        with self.no_compiler_named(lib, [lib]):
            self.assertEqual(os.path.realpath(_compile.find_compiler()),
                             os.path.realpath(os.path.join(BIN, "flashgen")))

    def test_compiler_diagnostics_quoted(self):
        text = document_gqa().replace("flash.yield %v3 : i1",
                                      "flash.yield %v1 : i32")
        with self.assertRaises(self.flashgen.FlashgenError) as e:
            self.flashgen.compile(text)
        message = str(e.exception)
        self.assertEqual(e.exception.status, "CompileError")
        self.assertIn("the compiler failed (exit 1)", message)
        self.assertIn("spec.mlir\":9:5): error: 'flash.yield' op in mask_mod "
                      "must yield 'i1', got 'i32'", message)
        # No folder left behind for the rejected spec.
        root = os.path.join(self.tmp.name, "cache", "bundles-v1")
        self.assertEqual(os.listdir(root), [])
        with self.assertRaisesRegex(self.flashgen.FlashgenError,
                                    "spec is a bytes"):
            self.flashgen.compile(text.encode())

    def test_example_compile_only(self):
        out = os.path.join(self.tmp.name, "example.bundle")
        example = os.path.join(EXAMPLES, "python", "document_mask.py")
        r = subprocess.run([sys.executable, example, "--compile-only", out],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(out, "manifest.json")) as f:
            kernels = {k["name"]: k for k in json.load(f)["kernels"]}
        params = {p["name"]: p for p in kernels["document_mask_gqa"]["params"]}
        self.assertEqual((params["doc"]["dtype"], params["doc"]["shape"]),
                         ("i32", ["B", "N"]))
        self.assertEqual(params["k"]["shape"], ["B", 4, "N", 128])
        # Training: the gradient kernels, led by the mask_lists pre-pass.
        backward = kernels["document_mask_gqa_backward"]["variants"][0]
        self.assertTrue(backward["launches"][0]["entry"].endswith("_mask_lists_t"),
                        backward["launches"][0]["entry"])


if __name__ == "__main__":
    BIN, EXAMPLES = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
