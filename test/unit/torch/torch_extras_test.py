#!/usr/bin/env python3
"""flashgen.torch with extras: a kernel whose score_mod / mask_mod reads
tensors and run-time scalars (flashgen.spec's spec.tensor / spec.scalar,
docs/semantics.md §2.7), which its manifest lists as ``in`` params besides
q, k, v and as ``scalars``. The op takes them by keyword, ``op(q, k, v,
doc=doc_ids, prefix=3)``.

On the CPU, like torch_test.py's torch_cpu classes (bundles made of a
manifest alone, a float64 TEST DOUBLE as the kernels, a recording stand-in
for the launch): the keywords and their errors, the shapes and dtypes
checked against the manifest, the extras reaching the forward and backward
launches (the backward gets the ones its manifest lists, and they have no
gradient), and, with torch >= 2.4, the per-kernel operator schemas, opcheck,
fake tensors and torch.compile(fullgraph=True). No GPU.

    PYTHONPATH=python python3 test/unit/torch/torch_extras_test.py

Needs torch; without it, exits 77 (skipped) as torch_test.py does.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ensure_torch import ensure_torch  # noqa: E402

if __name__ == "__main__":
    ensure_torch()

import torch_test  # noqa: E402  (its bundles and inputs)

import json  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import unittest  # noqa: E402

import torch  # noqa: E402

import flashgen  # noqa: E402
import flashgen.torch as ft  # noqa: E402

torch.set_num_threads(1)
F64 = torch.float64
TMP = tempfile.mkdtemp(prefix="flashgen-torch-extras-test-")
_count = [0]
NO_CUSTOM_OP = torch_test.NO_CUSTOM_OP


def write_bundle(name="attn", Hq=4, Hkv=2, D=8, Dv=6, backward=True,
                 fwd_extras=None, bwd_extras=None, fwd_scalars=None,
                 bwd_scalars=None):
    """A bundle holding only manifest.json for kernel ``name`` (and
    ``name_backward``) reading doc ids [B, N] (i32), a prefix length (an i32
    scalar without default) and a temperature (an f32 scalar with one); the
    backward takes the same unless told otherwise."""
    _count[0] += 1
    path = os.path.join(TMP, "b%d" % _count[0], name + ".bundle")
    os.makedirs(path)

    def p(pname, io, shape, dtype="bf16", **kw):
        return dict(name=pname, io=io, dtype=dtype, shape=shape, **kw)
    q, k = ["B", Hq, "N", D], ["B", Hkv, "N", D]
    v, o = ["B", Hkv, "N", Dv], ["B", Hq, "N", Dv]
    doc = p("doc", "in", ["B", "N"], "i32")
    prefix = dict(name="prefix", dtype="i32")
    temp = dict(name="temp", dtype="f32", default=1.0)
    fwd_extras = [doc] if fwd_extras is None else fwd_extras
    bwd_extras = [doc] if bwd_extras is None else bwd_extras
    fwd_scalars = [prefix, temp] if fwd_scalars is None else fwd_scalars
    bwd_scalars = [prefix, temp] if bwd_scalars is None else bwd_scalars
    kernels = [dict(name=name, op="attention", symbols=["B", "N"],
                    params=[p("q", "in", q), p("k", "in", k),
                            p("v", "in", v)] + fwd_extras
                    + [p("o", "out", o), p("lse", "out", ["B", Hq, "N"],
                                           "f32", optional=True)],
                    scalars=fwd_scalars, variants=[])]
    if backward:
        kernels.append(dict(
            name=name + "_backward", op="attention_grad", symbols=["B", "N"],
            params=[p("q", "in", q), p("k", "in", k), p("v", "in", v),
                    p("o", "in", o), p("do", "in", o),
                    p("lse", "in", ["B", Hq, "N"], "f32")] + bwd_extras
            + [p("dq", "out", q), p("dk", "out", k), p("dv", "out", v)],
            scalars=bwd_scalars, variants=[]))
    with open(os.path.join(path, "manifest.json"), "w") as f:
        json.dump(dict(format="flashgen-bundle", version=1,
                       flashgen_version="0.1.0", target="sm_90a",
                       kernels=kernels), f)
    return path


def _scores(q, k, doc, prefix, temp):
    """GQA-expanded k's scores, float64, with hidden keys at -inf: key j
    visible to query i of batch b iff doc[b, i] == doc[b, j] or j <
    prefix; scores times temp / sqrt(D)."""
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, 1)
    s = (q @ k.transpose(-1, -2)) * (temp / math.sqrt(q.shape[-1]))
    j = torch.arange(k.shape[2])
    keep = (doc[:, :, None] == doc[:, None, :]) | (j < prefix)[None, None, :]
    return s.masked_fill(~keep[:, None], -math.inf)


def reference(q, k, v, doc, prefix, temp=1.0):
    """float64 (o, lse) of the document mask with a prefix."""
    s = _scores(q, k, doc, prefix, temp)
    v = v.repeat_interleave(q.shape[1] // v.shape[1], 1)
    return torch.softmax(s, -1) @ v, torch.logsumexp(s, -1)


def reference_backward(q, k, v, do, doc, prefix, temp=1.0):
    """(dq, dk, dv), written out: a custom op's backward kernel runs below
    autograd, where torch.autograd.grad records nothing."""
    B, Hq, N, D = q.shape
    group = Hq // k.shape[1]
    p = torch.softmax(_scores(q, k, doc, prefix, temp), -1)
    ke = k.repeat_interleave(group, 1)
    ve = v.repeat_interleave(group, 1)
    o = p @ ve
    dv = p.transpose(-1, -2) @ do
    dp = do @ ve.transpose(-1, -2)
    ds = p * (dp - (do * o).sum(-1, keepdim=True)) * (temp / math.sqrt(D))
    dq = ds @ ke
    dk = ds.transpose(-1, -2) @ q

    def fold(x):  # sum each kv head's group of query heads
        return x.view(B, k.shape[1], group, *x.shape[2:]).sum(2)
    return dq, fold(dk), fold(dv)


class Double:
    """The reference as the op's CPU kernels; records the extras each
    kernel gets."""

    def __init__(self):
        self.forward_extras, self.backward_extras = [], []

    def forward(self, q, k, v, **extras):
        self.forward_extras.append(extras)
        return reference(q, k, v, **extras)

    def backward(self, q, k, v, o, do, lse, **extras):
        self.backward_extras.append(extras)
        return reference_backward(q, k, v, do, **extras)


def registered(**bundle):
    op = ft.register(write_bundle(**bundle))
    double = Double()
    op._register_test_double(double.forward, double.backward)
    return op, double


def inputs(seed=0, B=2, N=6, Hq=4, Hkv=2, D=8, Dv=6):
    g = torch.Generator()
    g.manual_seed(seed)
    q, k, v = (torch.randn(B, N, h, d, generator=g, dtype=F64).transpose(1, 2)
               .requires_grad_(True)
               for h, d in ((Hq, D), (Hkv, D), (Hkv, Dv)))
    doc = torch.tensor([[0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 2, 2]][:B],
                       dtype=torch.int32)[:, :N].contiguous()
    return q, k, v, doc


class Keywords(unittest.TestCase):
    def test_the_extras_of_a_kernel(self):
        op, _ = registered()
        self.assertEqual(op.extras, {"doc": "tensor", "prefix": "scalar",
                                     "temp": "scalar?"})
        self.assertIn("doc=, prefix=, temp=", repr(op))
        plain = ft.register(torch_test.write_bundle())
        self.assertEqual(plain.extras, {})

    def test_missing_unknown_and_wrong_extras(self):
        op, _ = registered()
        q, k, v, doc = inputs()
        E = flashgen.FlashgenError
        with self.assertRaisesRegex(E, "doc: missing: kernel attn takes a "
                                       "tensor doc=... at every call"):
            op(q, k, v, prefix=2)
        with self.assertRaisesRegex(E, "prefix: missing: kernel attn takes "
                                       "a number prefix=..."):
            op(q, k, v, doc=doc)
        with self.assertRaisesRegex(E, r"kernel attn of .* takes no keyword "
                                       r"docs \(its extras: doc, prefix, "
                                       r"temp\)"):
            op(q, k, v, doc=doc, prefix=2, docs=doc)
        with self.assertRaisesRegex(E, "takes no keywords a, b"):
            op.forward_with_lse(q, k, v, doc=doc, prefix=2, b=1, a=1)
        with self.assertRaisesRegex(E, r"doc: dtype torch.int64, kernel attn "
                                       r"expects i32"):
            op(q, k, v, doc=doc.long(), prefix=2)
        with self.assertRaisesRegex(E, r"doc: expected a tensor \(i32 "
                                       r"\[B, N\]\), got int"):
            op(q, k, v, doc=3, prefix=2)
        with self.assertRaisesRegex(E, r"doc: dim 0 \(B\) is 1, but B = 2"):
            op(q, k, v, doc=doc[:1], prefix=2)
        with self.assertRaisesRegex(E, r"doc: dim 1 \(N\) is 5, but N = 6"):
            op(q, k, v, doc=doc[:, :5], prefix=2)
        with self.assertRaisesRegex(E, "doc: rank 1"):
            op(q, k, v, doc=doc[0], prefix=2)
        for bad, why in ((True, "expected a number, got bool"),
                         (torch.tensor(2), "expected a number, got Tensor"),
                         (2.5, "prefix: scalar of kernel attn"),
                         (1 << 31, "prefix: 2147483648 does not fit in i32")):
            with self.subTest(prefix=bad):
                with self.assertRaisesRegex(E, why):
                    op(q, k, v, doc=doc, prefix=bad)
        with self.assertRaisesRegex(E, "temp: .*not finite"):
            op(q, k, v, doc=doc, prefix=2, temp=math.inf)
        plain = ft.register(torch_test.write_bundle())
        with self.assertRaisesRegex(E, r"takes no keyword doc \(its extras: "
                                       r"none\)"):
            plain(*torch_test.qkv(requires_grad=False), doc=doc)

    def test_manifests_flashgen_torch_cannot_serve(self):
        E = flashgen.FlashgenError
        bad_bwd = write_bundle(bwd_scalars=[dict(name="window", dtype="i32")])
        with self.assertRaisesRegex(E, "kernel attn_backward takes scalar "
                                       "window, which attn does not"):
            ft.register(bad_bwd)
        out_param = write_bundle(fwd_extras=[dict(
            name="aux", io="out", dtype="f32", shape=["B"])])
        with self.assertRaisesRegex(E, "kernel attn has out param 'aux'"):
            ft.register(out_param)
        bf16_scalar = write_bundle(fwd_scalars=[dict(name="x", dtype="bf16")])
        with self.assertRaisesRegex(E, "scalar x has dtype 'bf16'"):
            ft.register(bf16_scalar)


class Autograd(unittest.TestCase):
    def test_against_the_reference(self):
        op, double = registered()
        q, k, v, doc = inputs(1)
        o, lse = op.forward_with_lse(q, k, v, doc=doc, prefix=2, temp=0.5)
        o_ref, lse_ref = reference(q, k, v, doc, 2, 0.5)
        torch.testing.assert_close(o, o_ref, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(lse, lse_ref.float())
        self.assertEqual(len(double.forward_extras), 1)
        got = double.forward_extras[0]
        self.assertEqual(sorted(got), ["doc", "prefix", "temp"])
        self.assertIs(got["doc"], doc)
        self.assertEqual((got["prefix"], got["temp"]), (2, 0.5))
        do = torch.randn(o.shape, dtype=F64,
                         generator=torch.Generator().manual_seed(2))
        grads = torch.autograd.grad(o, (q, k, v), do)
        got = double.backward_extras[0]
        self.assertEqual(sorted(got), ["doc", "prefix", "temp"])
        self.assertIs(got["doc"], doc)
        self.assertEqual((got["prefix"], got["temp"]), (2, 0.5))
        leaves = [x.detach().clone().requires_grad_(True) for x in (q, k, v)]
        o2, _ = reference(*leaves, doc, 2, 0.5)
        expect = torch.autograd.grad(o2, leaves, do)
        for name, a, b in zip("qkv", grads, expect):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12,
                                       msg="d" + name)

    def test_a_default_scalar_left_out_is_not_passed(self):
        op, double = registered()
        q, k, v, doc = inputs(3)
        op(q, k, v, doc=doc, prefix=0).sum().backward()
        self.assertEqual(sorted(double.forward_extras[0]), ["doc", "prefix"])
        self.assertEqual(sorted(double.backward_extras[0]), ["doc", "prefix"])

    def test_the_backward_gets_the_extras_its_manifest_lists(self):
        op, double = registered(bwd_scalars=[dict(name="prefix",
                                                  dtype="i32")])
        q, k, v, doc = inputs(3)
        op(q, k, v, doc=doc, prefix=1, temp=1.0).sum().backward()
        self.assertEqual(sorted(double.forward_extras[0]),
                         ["doc", "prefix", "temp"])
        self.assertEqual(sorted(double.backward_extras[0]), ["doc", "prefix"])

    def test_gradcheck_and_no_gradient_for_extras(self):
        op, _ = registered()
        q, k, v, doc = inputs(4, B=1, N=5)
        self.assertTrue(torch.autograd.gradcheck(
            lambda q, k, v: op(q, k, v, doc=doc, prefix=1), (q, k, v),
            eps=1e-6, atol=1e-7))
        bias = torch.zeros(1, 5, dtype=torch.int32)
        o = op(q, k, v, doc=bias, prefix=3)
        o.sum().backward()
        self.assertIsNone(bias.grad)


class LaunchPath(unittest.TestCase):
    """The CUDA path's glue on CPU tensors, with a recording stand-in for
    the kernels: the extras in the keywords of each launch."""

    def setUp(self):
        self.op, _ = registered()
        self.calls = []

        def extras(args):
            return {n: args[n] for n in ("doc", "prefix", "temp") if n in args}
        torch_test.record_launches(
            self.op, self.calls,
            lambda a: reference(a["q"], a["k"], a["v"], **extras(a)),
            lambda a: reference_backward(a["q"], a["k"], a["v"], a["do"],
                                         **extras(a)))

    def test_extras_reach_both_kernels(self):
        q, k, v, doc = inputs(5)
        o = self.op(q, k, v, doc=doc, prefix=2, temp=2)
        (name, args), = self.calls
        self.assertEqual(sorted(args), ["doc", "k", "lse", "o", "prefix", "q",
                                        "temp", "v"])
        self.assertEqual(args["doc"].data_ptr(), doc.data_ptr())  # no copy
        self.assertEqual((args["prefix"], args["temp"]), (2, 2.0))
        self.assertIsInstance(args["temp"], float)  # f32: a float
        o.sum().backward()
        name, args = self.calls[1]
        self.assertEqual(name, "attn_backward")
        self.assertEqual(sorted(args), ["dk", "do", "doc", "dq", "dv", "k",
                                        "lse", "o", "prefix", "q", "temp",
                                        "v"])
        self.assertEqual(args["doc"].data_ptr(), doc.data_ptr())

    def test_a_layout_the_runtime_refuses_is_copied(self):
        q, k, v, doc = inputs(6)
        strided = torch.zeros(2, 12, dtype=torch.int32)[:, ::2]
        strided.copy_(doc)
        self.op(q, k, v, doc=strided, prefix=1)
        args = self.calls[0][1]
        self.assertTrue(args["doc"].is_contiguous())
        self.assertTrue(torch.equal(args["doc"], doc))


@unittest.skipUnless(ft.HAS_CUSTOM_OP, NO_CUSTOM_OP)
class CustomOp(unittest.TestCase):
    def test_schemas_made_from_the_manifest(self):
        op, _ = registered()
        self.assertEqual(
            str(op.forward_op._schema).split("(", 1)[1],
            "Tensor q, Tensor k, Tensor v, Tensor x0_doc, SymInt x1_prefix, "
            "float? x2_temp) -> (Tensor, Tensor)")
        self.assertIn("Tensor lse, Tensor x0_doc, SymInt x1_prefix, "
                      "float? x2_temp) -> (Tensor, Tensor, Tensor)",
                      str(op.backward_op._schema))

    def test_opcheck(self):
        op, _ = registered()
        q, k, v, doc = inputs(7, B=1, N=5)
        torch.library.opcheck(op.forward_op, (q, k, v, doc, 2, None))
        o, lse = op.forward_op(q, k, v, doc, 2, 0.5)
        do = torch.randn(o.shape, dtype=F64)
        torch.library.opcheck(op.backward_op,
                              (q.detach(), k.detach(), v.detach(), o.detach(),
                               do, lse, doc, 2, 0.5))

    def test_fake_and_meta_tensors(self):
        from torch._subclasses.fake_tensor import FakeTensorMode
        op = ft.register(write_bundle())
        with FakeTensorMode():
            q, k, v = (torch.empty(2, 33, h, d, device="cuda",
                                   dtype=torch.bfloat16).transpose(1, 2)
                       for h, d in ((4, 8), (2, 8), (2, 6)))
            doc = torch.empty(2, 33, device="cuda", dtype=torch.int32)
            o, lse = op.forward_with_lse(q, k, v, doc=doc, prefix=4)
            self.assertEqual((o.shape, o.device.type), ((2, 4, 33, 6),
                                                        "cuda"))
            with self.assertRaisesRegex(flashgen.FlashgenError,
                                        r"doc: dim 1 \(N\) is 32"):
                op(q, k, v, doc=doc[:, :32], prefix=4)
            grads = op.backward_op(q, k, v, o, torch.empty_like(o), lse, doc,
                                   4, None)
            self.assertEqual([g.shape for g in grads],
                             [x.shape for x in (q, k, v)])
        q, k, v = (torch.empty(s, device="meta")
                   for s in ((2, 4, 5, 8), (2, 2, 5, 8), (2, 2, 5, 6)))
        doc = torch.empty(2, 5, device="meta", dtype=torch.int32)
        self.assertEqual(op(q, k, v, doc=doc, prefix=1).shape, (2, 4, 5, 6))

    def test_torch_compile_fullgraph(self):
        import torch._dynamo
        op, double = registered()
        q, k, v, doc = inputs(8)
        torch._dynamo.reset()

        def f(q, k, v, doc, prefix):
            return op(q, k, v, doc=doc, prefix=prefix, temp=0.5)
        compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
        for prefix in (2, 3):
            o = compiled(q, k, v, doc, prefix)
            grads = torch.autograd.grad(o.square().sum(), (q, k, v))
            o_ref = f(q, k, v, doc, prefix)
            expect = torch.autograd.grad(o_ref.square().sum(), (q, k, v))
            torch.testing.assert_close(o, o_ref)
            for a, b in zip(grads, expect):
                torch.testing.assert_close(a, b)
        self.assertEqual(double.forward_extras[-2]["prefix"], 3)


def main():
    try:
        prog = unittest.main(argv=sys.argv, exit=False, verbosity=2)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
        shutil.rmtree(torch_test.TMP, ignore_errors=True)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
