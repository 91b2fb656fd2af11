#!/usr/bin/env python3
"""flashgen.torch: a bundle's attention kernel as a torch operator.

CPU tests (ctest ``torch_cpu``): bundles made of a manifest alone (in a
temporary folder), and a TEST DOUBLE as the op's CPU kernel: the float64
reference of attention_reference.py, registered through
``AttentionOp._register_test_double``. They check the registration (names,
errors), the shapes checked against the manifest (GQA, static dims, symbols),
the layouts of outputs and gradients for [B, N, H, D] views, the autograd
wiring (what is saved, which gradient goes where, lse without gradient,
gradcheck), the launch path with a recording stand-in for the kernel (which
tensors reach it, which are copied), and, with torch >= 2.4, opcheck, fake
tensors (also CUDA ones, without a GPU) and torch.compile(fullgraph=True).
No GPU and no runtime library.

GPU test (ctest ``torch_gpu``, class Gpu): bundles compiled with ``flashgen
compile --backward`` from the example specs (without it, only the forward is
tested), in the folder
$FLASHGEN_TORCH_BUNDLES as ``<spec>.bundle`` (softcap, alibi_causal,
causal_gqa, kv_cache_causal, sliding_window; a missing one is skipped):

    for s in softcap alibi_causal causal_gqa kv_cache_causal sliding_window; do
      build/bin/flashgen compile --backward examples/$s.mlir -o bundles/$s.bundle
    done
    FLASHGEN_TORCH_BUNDLES=$PWD/bundles ctest --test-dir build -R torch_gpu

(or by hand: PYTHONPATH=python FLASHGEN_TORCH_BUNDLES=... python3
test/unit/torch/torch_test.py Gpu, FLASHGEN_LIB naming the runtime library
where it is not in build*/lib/).

bf16 forward and backward on [B, N, H, D] views against the float64
reference, eager and under torch.compile(fullgraph=True). Recurrence
gradients (flashgen.torch.register_recurrence) too, where the folder holds
``decay.bundle`` (examples/decay.mlir), ``linear_plain.bundle``,
``gla_vector.bundle``, ``mlstm_sig.bundle`` or the state-in-and-out specs of
test/unit/device/kernels (``decay_states``, ``vector_states``,
``sig_states``, ``exp_states``) compiled with --backward: gradients in q, k, v, the gates
and the initial states against torch's autograd through a float64
recurrence; ``decay_varlen.bundle`` (examples/decay_varlen.mlir) and
``gated_delta_varlen.bundle`` (examples/gated_delta_varlen.mlir) run the
packed forms against the float64 recurrence of each sequence.

Needs torch (Debian: python3-torch). When the running interpreter has none,
the test re-runs itself with $FLASHGEN_TORCH_PYTHON or /usr/bin/python3, and
otherwise exits 77 (ctest: skipped); the Gpu class exits 77 too when it has
nothing to run.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ensure_torch import SKIP, ensure_torch  # noqa: E402

if __name__ == "__main__":
    ensure_torch()

import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import unittest  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attention_reference as ref  # noqa: E402

import flashgen  # noqa: E402
import flashgen.torch as ft  # noqa: E402

torch.set_num_threads(1)
F64 = torch.float64
NO_CUSTOM_OP = ("torch %s has no torch.library.custom_op (needs torch >= 2.4)"
                % torch.__version__)
TMP = tempfile.mkdtemp(prefix="flashgen-torch-test-")
_count = [0]


def write_bundle(name="attn", Hq=4, Hkv=2, D=8, Dv=6, lse=True, backward=True,
                 kv_len="M", op="attention", extra=()):
    """A bundle folder holding only manifest.json (enough for flashgen.torch
    on the CPU), for kernel ``name`` (and ``name_backward``)."""
    _count[0] += 1
    path = os.path.join(TMP, "b%d" % _count[0], name + ".bundle")
    os.makedirs(path)

    def p(pname, io, shape, dtype="bf16", **kw):
        return dict(name=pname, io=io, dtype=dtype, shape=shape, **kw)
    q, k = ["B", Hq, "N", D], ["B", Hkv, kv_len, D]
    v, o = ["B", Hkv, kv_len, Dv], ["B", Hq, "N", Dv]
    symbols = ["B", "N"] + (["M"] if kv_len == "M" else [])
    params = [p("q", "in", q), p("k", "in", k), p("v", "in", v),
              p("o", "out", o)]
    if lse:
        params.append(p("lse", "out", ["B", Hq, "N"], "f32", optional=True))
    kernels = [dict(name=name, op=op, symbols=symbols, params=params,
                    variants=[])]
    if backward:
        kernels.append(dict(
            name=name + "_backward", op="attention_grad", symbols=symbols,
            params=[p("q", "in", q), p("k", "in", k), p("v", "in", v),
                    p("o", "in", o), p("do", "in", o),
                    p("lse", "in", ["B", Hq, "N"], "f32"),
                    p("dq", "out", q), p("dk", "out", k), p("dv", "out", v)],
            variants=[]))
    kernels.extend(extra)
    with open(os.path.join(path, "manifest.json"), "w") as f:
        json.dump(dict(format="flashgen-bundle", version=1,
                       flashgen_version="0.1.0", target="sm_90a",
                       kernels=kernels), f)
    return path


def small_spec(name):
    spec = ref.SPECS[name]
    return spec._replace(window=3) if spec.window else spec


class Double:
    """The float64 reference as the op's CPU kernels (a test double); it
    records the lse each backward call receives."""

    def __init__(self, spec):
        self.spec, self.backward_lse = spec, []

    def forward(self, q, k, v):
        return ref.attention(q, k, v, self.spec)

    def backward(self, q, k, v, o, do, lse):
        self.backward_lse.append(lse.clone())
        return ref.attention_backward(q, k, v, do, self.spec)


def registered(spec_name="softcap", **bundle):
    op = ft.register(write_bundle(**bundle))
    double = Double(small_spec(spec_name))
    op._register_test_double(double.forward, double.backward)
    return op, double


def gen(seed):
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def bnhd(g, B, N, H, D, dtype=F64, requires_grad=True):
    """[B, H, N, D] view of a [B, N, H, D] tensor (no copy)."""
    x = torch.randn(B, N, H, D, generator=g, dtype=dtype).transpose(1, 2)
    return x.requires_grad_(requires_grad) if requires_grad else x


def qkv(seed=0, B=2, Hq=4, Hkv=2, N=5, M=7, D=8, Dv=6, requires_grad=True):
    g = gen(seed)
    return (bnhd(g, B, N, Hq, D, requires_grad=False),
            bnhd(g, B, M, Hkv, D, requires_grad=False),
            bnhd(g, B, M, Hkv, Dv, requires_grad=False)) if not requires_grad \
        else (bnhd(g, B, N, Hq, D), bnhd(g, B, M, Hkv, D), bnhd(g, B, M, Hkv, Dv))


def leaves(*ts):
    return [t.detach().clone().requires_grad_(True) for t in ts]


def dim_order(t):
    """The dims of t from outermost to innermost stride."""
    return sorted(range(t.dim()), key=lambda d: -t.stride(d))


class Registration(unittest.TestCase):
    def test_names_are_unique_per_bundle_and_stable(self):
        a, b = write_bundle("softcap"), write_bundle("softcap")
        op_a, op_b = ft.register(a), ft.register(b)
        self.assertTrue(op_a.op_name.startswith("softcap_"))
        self.assertNotEqual(op_a.op_name, op_b.op_name)
        self.assertIs(ft.register(a), op_a)
        self.assertIs(ft.register(a, "softcap"), op_a)
        self.assertTrue(op_a.has_backward and op_a.has_lse)
        if ft.HAS_CUSTOM_OP:
            self.assertIs(op_a.forward_op,
                          getattr(torch.ops.flashgen, op_a.op_name).default)
            self.assertEqual(op_a.backward_op.name(),
                             "flashgen::%s_backward" % op_a.op_name)

    def test_a_changed_bundle_is_refused(self):
        path = write_bundle("changing")
        ft.register(path)
        with open(os.path.join(path, "manifest.json")) as f:
            manifest = json.load(f)
        manifest["flashgen_version"] = "0.2.0"
        with open(os.path.join(path, "manifest.json"), "w") as f:
            json.dump(manifest, f)
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    "changed since kernel changing was "
                                    "registered"):
            ft.register(path)

    def test_kernel_choice_and_bundle_errors(self):
        two = write_bundle("first", extra=[dict(
            name="second", op="attention", symbols=[], params=[],
            variants=[])])
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    "name the kernel.*first, second"):
            ft.register(two)
        self.assertEqual(ft.register(two, "first").name, "first")
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    "kernel second has no in param 'q'"):
            ft.register(two, "second")
        with self.assertRaisesRegex(flashgen.FlashgenError, "no kernel third"):
            ft.register(two, "third")
        with self.assertRaises(flashgen.FlashgenError) as ctx:
            ft.register(os.path.join(TMP, "missing.bundle"))
        self.assertEqual(ctx.exception.status, "FileError")
        linear = write_bundle("lin", op="linear_attention", backward=False)
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    "lin is a linear_attention kernel"):
            ft.register(linear, "lin")

    def test_cpu_tensors_without_a_kernel_are_refused(self):
        op = ft.register(write_bundle())
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    "q: tensor is on cpu, not on a CUDA "
                                    "device"):
            op(*qkv(requires_grad=False))

    def test_shapes_are_checked_against_the_manifest(self):
        op, _ = registered()
        q, k, v = qkv(requires_grad=False)
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    r"q: dim 1 is 2, expected 4 "
                                    r"\(shape \[B, 4, N, 8\]\)"):
            op(q[:, :2], k, v)
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    r"v: dim 0 \(B\) is 1, but B = 2"):
            op(q, k, v[:1])
        with self.assertRaisesRegex(flashgen.FlashgenError, "k: rank 3"):
            op(q, k[0], v)
        # One length symbol for q and k/v ("dims [B, N, N]"): M != N refused.
        op, _ = registered(kv_len="N")
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    r"k: dim 2 \(N\) is 7, but N = 5"):
            op(q, k, v)


class AutogradWiring(unittest.TestCase):
    """The op on CPU with the float64 reference as its kernels."""

    def check_against_reference(self, spec_name, seed, **shape):
        op, _ = registered(spec_name, Hq=shape.get("Hq", 4),
                           Hkv=shape.get("Hkv", 2))
        spec = small_spec(spec_name)
        q, k, v = qkv(seed, **shape)
        o, lse = op.forward_with_lse(q, k, v)
        o_ref, lse_ref = ref.attention(q, k, v, spec)
        torch.testing.assert_close(o, o_ref, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(lse, lse_ref.float())
        do = torch.randn(o.shape, generator=gen(seed + 1), dtype=F64)
        grads = torch.autograd.grad(o, (q, k, v), do)
        # Torch's own autograd through the reference: the independent answer.
        q2, k2, v2 = leaves(q, k, v)
        o2, _ = ref.attention(q2, k2, v2, spec)
        expect = torch.autograd.grad(o2, (q2, k2, v2), do)
        for name, got, want, x in zip("qkv", grads, expect, (q, k, v)):
            self.assertEqual(got.shape, x.shape, name)
            torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12,
                                       msg="d" + name)

    def test_each_spec_against_torch_autograd_of_the_reference(self):
        for spec, seed in (("softcap", 1), ("alibi_causal", 2),
                           ("causal_gqa", 3), ("sliding_window", 4)):
            with self.subTest(spec=spec):
                self.check_against_reference(spec, seed)
        with self.subTest("multi-query, N == M"):
            self.check_against_reference("alibi_causal", 5, Hq=4, Hkv=1,
                                         N=6, M=6)

    def test_gradcheck(self):
        for spec in ("softcap", "alibi_causal"):
            with self.subTest(spec=spec):
                op, _ = registered(spec)
                q, k, v = qkv(7, B=1, N=3, M=4)
                self.assertTrue(torch.autograd.gradcheck(
                    op, (q, k, v), eps=1e-6, atol=1e-7))

    def test_layouts_of_outputs_and_gradients(self):
        op, _ = registered()
        q, k, v = qkv(8)
        o, lse = op.forward_with_lse(q, k, v)
        self.assertEqual(o.shape, (2, 4, 5, 6))
        self.assertEqual(dim_order(o), [0, 2, 1, 3])  # like q: [B, N, H, Dv]
        o.transpose(1, 2).view(2, 5, 4 * 6)  # so this view needs no copy
        self.assertEqual(lse.shape, (2, 4, 5))
        self.assertEqual(lse.dtype, torch.float32)
        self.assertTrue(lse.is_contiguous())
        self.assertFalse(lse.requires_grad)
        self.assertTrue(o.requires_grad)
        # Contiguous inputs give contiguous outputs and gradients.
        qc, kc, vc = leaves(*(x.contiguous() for x in (q, k, v)))
        oc = op(qc, kc, vc)
        self.assertTrue(oc.is_contiguous())
        oc.sum().backward()
        for x in (qc, kc, vc):
            self.assertEqual(x.grad.shape, x.shape)
        # Gradients of [B, N, H, D] views reach the base tensors.
        g = gen(9)
        base = [torch.randn(2, n, h, d, generator=g, dtype=F64,
                            requires_grad=True)
                for n, h, d in ((5, 4, 8), (7, 2, 8), (7, 2, 6))]
        op(*(b.transpose(1, 2) for b in base)).sum().backward()
        for b in base:
            self.assertEqual(b.grad.shape, b.shape)

    def test_saved_tensors_and_the_lse_the_backward_gets(self):
        op, double = registered()
        q, k, v = qkv(10)
        saved = []

        def pack(t):
            saved.append(t)
            return t
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            o, lse = op.forward_with_lse(q, k, v)
        self.assertEqual([tuple(t.shape) for t in saved],
                         [tuple(x.shape) for x in (q, k, v, o, lse)])
        self.assertEqual([t.dtype for t in saved], [F64] * 4 + [torch.float32])
        o.backward(torch.ones_like(o))
        self.assertEqual(len(double.backward_lse), 1)
        torch.testing.assert_close(double.backward_lse[0], lse.detach())

    def test_lse_carries_no_gradient(self):
        op, double = registered()
        q, k, v = qkv(11)
        o, lse = op.forward_with_lse(q, k, v)
        (o.sum() + lse.sum()).backward()  # lse's term adds nothing
        q2, k2, v2 = leaves(q, k, v)
        op(q2, k2, v2).sum().backward()
        for a, b in ((q, q2), (k, k2), (v, v2)):
            torch.testing.assert_close(a.grad, b.grad)
        lse_only = op.forward_with_lse(*leaves(q, k, v))[1]
        self.assertIsNone(lse_only.grad_fn)

    def test_a_bundle_without_backward(self):
        op, _ = registered(backward=False, lse=False)
        self.assertFalse(op.has_backward or op.has_lse)
        self.assertIsNone(op.backward_op)
        q, k, v = qkv(12)
        with torch.no_grad():
            o = op(q, k, v)  # inference works
        torch.testing.assert_close(o, ref.attention(q, k, v,
                                                    small_spec("softcap"))[0])
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    "no kernel attn_backward.*compile the "
                                    "spec with flashgen compile --backward"):
            op(q, k, v).sum().backward()
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    "no lse output; recompile the bundle"):
            op.forward_with_lse(q, k, v)


def record_launches(op, calls, forward, backward):
    """Replaces ``op``'s kernels by a recording stand-in, so the CUDA path's
    glue runs on CPU tensors: each launch's keyword arguments are appended to
    ``calls`` with the kernel's name, and ``forward(args) -> (o, lse)`` or
    ``backward(args) -> (dq, dk, dv)`` fill its outputs."""
    def kernel_for(kname, device):
        def launch(**args):
            calls.append((kname, args))
            if kname.endswith("_backward"):
                for n, g in zip(("dq", "dk", "dv"), backward(args)):
                    args[n].copy_(g)
            else:
                o, lse = forward(args)
                args["o"].copy_(o)
                args["lse"].copy_(lse)
        return launch
    op._kernel_for = kernel_for
    op._impls["cpu"] = (op._launch_forward, op._launch_backward)


class LaunchPath(unittest.TestCase):
    """The CUDA path's glue on CPU tensors, with a recording stand-in for the
    bundle's kernels: which tensors reach them, which are copied."""

    def setUp(self):
        self.op, _ = registered()
        self.calls = []
        spec = small_spec("softcap")
        record_launches(
            self.op, self.calls,
            lambda a: ref.attention(a["q"], a["k"], a["v"], spec),
            lambda a: ref.attention_backward(a["q"], a["k"], a["v"], a["do"],
                                             spec))

    def test_strided_views_reach_the_kernel_without_copies(self):
        q, k, v = qkv(20)
        o = self.op(q, k, v)
        (name, args), = self.calls
        self.assertEqual(name, "attn")
        self.assertEqual(sorted(args), ["k", "lse", "o", "q", "v"])
        for n, x in (("q", q), ("k", k), ("v", v)):
            self.assertEqual(args[n].data_ptr(), x.data_ptr(), n)
            self.assertEqual(args[n].stride(), x.stride(), n)
        self.assertEqual(args["o"].data_ptr(), o.data_ptr())
        o.sum().backward()  # grad_o: a broadcast, last stride 0
        name, args = self.calls[1]
        self.assertEqual(name, "attn_backward")
        self.assertEqual(sorted(args),
                         ["dk", "do", "dq", "dv", "k", "lse", "o", "q", "v"])
        self.assertEqual(args["q"].data_ptr(), q.data_ptr())
        self.assertTrue(args["do"].is_contiguous())  # copied
        for n, x in (("dq", q), ("dk", k), ("dv", v)):  # laid out as q, k, v
            self.assertEqual(args[n].stride(), x.stride(), n)
            torch.testing.assert_close(x.grad, args[n])

    def test_layouts_the_runtime_refuses_are_copied(self):
        param = dict(stride_align=8)
        x = torch.randn(2, 3, 5, 16, dtype=F64)
        for good in (x.transpose(1, 2), x[..., :8]):
            self.assertIs(ft._launchable(good, param), good)
        odd_rows = torch.randn(2, 3, 5, 12, dtype=F64)[..., :8]
        for bad in (x.transpose(2, 3),  # last dim not contiguous
                    x[..., 1:9],        # pointer 8 bytes past 16-aligned
                    odd_rows):          # row stride 12, not a multiple of 8
            out = ft._launchable(bad, param)
            self.assertTrue(out.is_contiguous())
            self.assertNotEqual(out.data_ptr(), bad.data_ptr())
            torch.testing.assert_close(out, bad)

    def test_a_strided_last_dim_param_takes_time_major_gates(self):
        # A recurrence's [B, H, T] gate kept [B, T, H] (fla's layout): its
        # transpose passes as it is where the manifest marks the param
        # strided_last_dim, and is copied where it does not.
        g = torch.randn(2, 7, 3, dtype=torch.float32).transpose(1, 2)
        self.assertIs(ft._launchable(g, dict(strided_last_dim=True)), g)
        copied = ft._launchable(g, {})
        self.assertTrue(copied.is_contiguous())
        torch.testing.assert_close(copied, g)

    def test_no_keys_gives_zeros_and_minus_infinity_without_a_launch(self):
        q, k, v = qkv(21, M=0)
        o, lse = self.op.forward_with_lse(q, k, v)
        self.assertEqual(self.calls, [])
        self.assertTrue(torch.equal(o, torch.zeros_like(o)))
        self.assertTrue(torch.isneginf(lse).all())


@unittest.skipUnless(ft.HAS_CUSTOM_OP, NO_CUSTOM_OP)
class CustomOp(unittest.TestCase):
    def test_opcheck(self):
        op, _ = registered("alibi_causal")
        q, k, v = qkv(30, B=1, N=3, M=4)
        torch.library.opcheck(op.forward_op, (q, k, v))
        o, lse = op.forward_op(q, k, v)
        do = torch.randn(o.shape, generator=gen(31), dtype=F64)
        torch.library.opcheck(op.backward_op,
                              (q.detach(), k.detach(), v.detach(),
                               o.detach(), do, lse))

    def test_fake_cuda_tensors_without_a_gpu(self):
        """The real (CUDA) registration: fake impls and autograd wiring."""
        from torch._subclasses.fake_tensor import FakeTensorMode
        op = ft.register(write_bundle(Hq=8, Hkv=2, D=16, Dv=16))
        # Autograd on fake CUDA tensors needs a torch built with CUDA (one
        # without aborts); without, the backward op is called directly.
        grad = torch.backends.cuda.is_built()
        with FakeTensorMode():
            q, k, v = (torch.empty(2, n, h, 16, device="cuda",
                                   dtype=torch.bfloat16).transpose(1, 2)
                       .requires_grad_(grad)
                       for n, h in ((33, 8), (40, 2), (40, 2)))
            o, lse = op.forward_with_lse(q, k, v)
            self.assertEqual(o.device.type, "cuda")
            self.assertEqual((o.shape, o.dtype), ((2, 8, 33, 16),
                                                  torch.bfloat16))
            self.assertEqual(o.stride(), (33 * 8 * 16, 16, 8 * 16, 1))
            self.assertEqual((lse.shape, lse.dtype), ((2, 8, 33),
                                                      torch.float32))
            if grad:
                o.sum().backward()
                grads = (q.grad, k.grad, v.grad)
            else:
                grads = op.backward_op(q, k, v, o, torch.empty_like(o), lse)
            for x, dx in zip((q, k, v), grads):
                self.assertEqual((dx.shape, dx.stride(), dx.device.type),
                                 (x.shape, x.stride(), "cuda"))

    def test_meta_tensors(self):
        op = ft.register(write_bundle())
        q, k, v = (torch.empty(s, device="meta")
                   for s in ((2, 4, 5, 8), (2, 2, 7, 8), (2, 2, 7, 6)))
        o = op(q, k, v)
        self.assertEqual((o.device.type, o.shape), ("meta", (2, 4, 5, 6)))

    def compiled_block(self, op, dynamic):
        """An nn.Module around the op, compiled with fullgraph=True by a
        backend that keeps the forward and backward graphs."""
        from functorch.compile import make_boxed_func
        from torch._dynamo.backends.common import aot_autograd

        graphs = {}

        def keep(kind):
            def compiler(gm, example_inputs):
                graphs[kind] = gm
                return make_boxed_func(gm.forward)
            return compiler
        backend = aot_autograd(fw_compiler=keep("forward"),
                               bw_compiler=keep("backward"))
        torch.manual_seed(0)
        block = Block(op).double()
        return block, torch.compile(block, backend=backend, fullgraph=True,
                                    dynamic=dynamic), graphs

    def test_torch_compile_fullgraph(self):
        import torch._dynamo
        op, _ = registered("sliding_window")
        for dynamic in (False, True):
            with self.subTest(dynamic=dynamic):
                torch._dynamo.reset()
                block, compiled, graphs = self.compiled_block(op, dynamic)
                for N in ((5, 9) if dynamic else (5,)):
                    x = torch.randn(2, N, 16, generator=gen(N), dtype=F64)
                    y = compiled(x)
                    y.square().sum().backward()
                    got = [p.grad.clone() for p in block.parameters()]
                    block.zero_grad()
                    y_eager = block(x)
                    y_eager.square().sum().backward()
                    torch.testing.assert_close(y, y_eager)
                    for a, p in zip(got, block.parameters()):
                        torch.testing.assert_close(a, p.grad)
                    block.zero_grad()
                targets = {kind: {str(n.target) for n in g.graph.nodes
                                  if n.op == "call_function"}
                           for kind, g in graphs.items()}
                self.assertIn("flashgen.%s.default" % op.op_name,
                              targets["forward"])
                self.assertIn("flashgen.%s_backward.default" % op.op_name,
                              targets["backward"])


class Block(torch.nn.Module):
    """Projections around the op, in the [B, N, H, D] layout of a model."""

    def __init__(self, attn, C=16, Hq=4, Hkv=2, D=8, Dv=6):
        super().__init__()
        self.attn, self.Hq, self.Hkv, self.D, self.Dv = attn, Hq, Hkv, D, Dv
        self.wq = torch.nn.Linear(C, Hq * D, bias=False)
        self.wk = torch.nn.Linear(C, Hkv * D, bias=False)
        self.wv = torch.nn.Linear(C, Hkv * Dv, bias=False)
        self.wo = torch.nn.Linear(Hq * Dv, C, bias=False)

    def forward(self, x):
        B, N, _ = x.shape
        q = self.wq(x).view(B, N, self.Hq, self.D).transpose(1, 2)
        k = self.wk(x).view(B, N, self.Hkv, self.D).transpose(1, 2)
        v = self.wv(x).view(B, N, self.Hkv, self.Dv).transpose(1, 2)
        o = self.attn(q, k, v)
        return self.wo(o.transpose(1, 2).reshape(B, N, self.Hq * self.Dv))


GPU_SPECS = ("softcap", "alibi_causal", "causal_gqa", "kv_cache_causal",
             "sliding_window")
# Recurrence bundles with a gradient kernel (gate kinds none, decay, vector).
GPU_RECURRENCES = ("decay", "linear_plain", "decay_states", "gla_vector",
                   "vector_states", "mlstm_sig", "sig_states", "exp_states")


def linear_recurrence(q, k, v, gates, states, exp=False):
    """o and the final states of flash.linear_attention, step by step in
    q's dtype (docs/semantics.md §3.1): gate decay (``gates["g"]`` the
    log-decays [B, H, T]), vector (``g`` [B, H, T, Dk], one per key dim) or
    none (no gates): C_t = diag(exp(g_t)) C_{t-1} + k_t v_t^T, o_t = C_t^T
    q~_t; mlstm_sig (``igate``, ``fgate``): C_t = a_t C_{t-1} + b_t k_t
    v_t^T, n_t likewise, o_t = C_t^T q~_t / (max(|n_t . q~_t|, 1) + 1e-6),
    a, b the sigmoids of the preactivations; with ``exp``, mlstm_exp: the
    max-stabilised form (m_t = max(log a_t + m_{t-1}, i_t), the states
    stored scaled by exp(-m_t), the floor exp(-m_t)). ``states``: the
    initial states (C, and n for the mLSTM kinds, m for mlstm_exp), or an
    empty list for zeros."""
    B, H, T, Dk = q.shape
    sig = "igate" in gates
    c = states[0] if states else q.new_zeros(B, H, Dk, v.shape[-1])
    n = (states[1] if states else q.new_zeros(B, H, Dk)) if sig else None
    m = (states[2] if states else q.new_zeros(B, H)) if exp else None
    g = gates.get("g")
    outs = []
    for t in range(T):
        qs = q[:, :, t] * Dk ** -0.5
        if exp:
            lf = torch.nn.functional.logsigmoid(gates["fgate"][:, :, t])
            m_new = torch.maximum(lf + m, gates["igate"][:, :, t])
            a = torch.exp(lf + m - m_new)[..., None]
            b = torch.exp(gates["igate"][:, :, t] - m_new)[..., None]
            m = m_new
            c = a[..., None] * c + b[..., None] * k[:, :, t, :, None] * v[:, :, t, None, :]
            n = a * n + b * k[:, :, t]
            den = torch.maximum((n * qs).sum(-1, keepdim=True).abs(), torch.exp(-m)[..., None]) + 1e-6
            outs.append(torch.einsum("bhk,bhkv->bhv", qs, c) / den)
            continue
        if sig:
            a = torch.sigmoid(gates["fgate"][:, :, t])[..., None]
            b = torch.sigmoid(gates["igate"][:, :, t])[..., None]
            c = a[..., None] * c + b[..., None] * k[:, :, t, :, None] * v[:, :, t, None, :]
            n = a * n + b * k[:, :, t]
            den = torch.clamp((n * qs).sum(-1, keepdim=True).abs(), min=1.0) + 1e-6
            outs.append(torch.einsum("bhk,bhkv->bhv", qs, c) / den)
            continue
        if g is not None and g.dim() == 4:
            c = torch.exp(g[:, :, t])[..., :, None] * c
        elif g is not None:
            c = torch.exp(g[:, :, t])[..., None, None] * c
        c = c + k[:, :, t, :, None] * v[:, :, t, None, :]
        outs.append(torch.einsum("bhk,bhkv->bhv", qs, c))
    o = torch.stack(outs, dim=2) if outs else q.new_zeros(B, H, 0, v.shape[-1])
    return o, ([c, n, m] if exp else [c, n] if sig else [c])


def _gpu_skip_reason():
    if not torch.cuda.is_available():
        return "no CUDA device (torch.cuda.is_available() is False)"
    if not os.environ.get("FLASHGEN_TORCH_BUNDLES"):
        return ("FLASHGEN_TORCH_BUNDLES is not set (a folder of bundles "
                "compiled with flashgen compile; see this file's "
                "docstring)")
    if not ft.HAS_CUSTOM_OP:
        return NO_CUSTOM_OP
    return None


@unittest.skipIf(_gpu_skip_reason(), _gpu_skip_reason())
class Gpu(unittest.TestCase):
    """The bundles' kernels, bf16, against the float64 reference."""

    def run_spec(self, spec_name, compiled):
        path = os.path.join(os.environ["FLASHGEN_TORCH_BUNDLES"],
                            spec_name + ".bundle")
        if not os.path.isdir(path):
            self.skipTest("%s: no such bundle" % path)
        op = ft.register(path, spec_name)
        if not op.has_backward:
            # Compiled without --backward: the forward alone is
            # test_forward's.
            self.skipTest("%s has no %s_backward (compile it with flashgen "
                          "compile --backward)" % (path, spec_name))
        q_p = op._params["q"]["shape"]
        k_p, v_p = op._params["k"]["shape"], op._params["v"]["shape"]
        Hq, Hkv, D, Dv = q_p[1], k_p[1], q_p[3], v_p[3]
        B, N = 2, 333  # ragged: not a multiple of any block size
        M = 517 if k_p[2] != q_p[2] else N
        g = torch.Generator(device="cuda")
        g.manual_seed(GPU_SPECS.index(spec_name))

        def view(n, h, d):
            return (torch.randn(B, n, h, d, generator=g, device="cuda",
                                dtype=torch.bfloat16).transpose(1, 2)
                    .requires_grad_(True))
        q, k, v = view(N, Hq, D), view(M, Hkv, D), view(M, Hkv, Dv)
        spec = ref.SPECS[spec_name]
        if compiled:
            # Each spec recompiles AttentionOp.__call__; without a reset the
            # specs of both tests exceed dynamo's recompile limit.
            torch._dynamo.reset()
        fn = torch.compile(op, fullgraph=True, backend="aot_eager") \
            if compiled else op
        o, lse = (op.forward_with_lse(q, k, v) if not compiled
                  else (fn(q, k, v), None))
        do = torch.randn(o.shape, generator=g, device="cuda",
                         dtype=torch.bfloat16)
        dq, dk, dv = torch.autograd.grad(o, (q, k, v), do)
        cpu = [x.detach().cpu().double() for x in (q, k, v)]
        q2, k2, v2 = leaves(*cpu)
        o_ref, lse_ref = ref.attention(q2, k2, v2, spec)
        expect = torch.autograd.grad(o_ref, (q2, k2, v2), do.cpu().double())
        torch.testing.assert_close(o.cpu().double(), o_ref, atol=2e-2,
                                   rtol=2e-2)
        if lse is not None:
            torch.testing.assert_close(lse.cpu().double(), lse_ref,
                                       atol=1e-2, rtol=1e-3)
        for name, got, want in zip("qkv", (dq, dk, dv), expect):
            err = (got.cpu().double() - want).abs().max().item()
            scale = want.abs().max().item()
            self.assertLess(err, 2e-2 * max(scale, 1.0),
                            "d%s of %s: max error %g (max |d%s| %g)"
                            % (name, spec_name, err, name, scale))

    def test_forward(self):
        """o and lse through the custom op, eager and under
        torch.compile(fullgraph=True), on [B, N, H, D] views at ragged
        sizes: the forward needs no backward kernel."""
        for spec_name in GPU_SPECS:
            path = os.path.join(os.environ["FLASHGEN_TORCH_BUNDLES"],
                                spec_name + ".bundle")
            if not os.path.isdir(path):
                continue
            with self.subTest(spec=spec_name):
                op = ft.register(path, spec_name)
                q_p = op._params["q"]["shape"]
                k_p, v_p = op._params["k"]["shape"], op._params["v"]["shape"]
                B, N = 2, 333
                M = 517 if k_p[2] != q_p[2] else N
                g = torch.Generator(device="cuda")
                g.manual_seed(7 + GPU_SPECS.index(spec_name))

                def view(n, h, d):
                    return torch.randn(B, n, h, d, generator=g, device="cuda",
                                       dtype=torch.bfloat16).transpose(1, 2)
                q, k, v = (view(N, q_p[1], q_p[3]), view(M, k_p[1], k_p[3]),
                           view(M, k_p[1], v_p[3]))
                o, lse = op.forward_with_lse(q, k, v)
                torch._dynamo.reset()
                o_c = torch.compile(op, fullgraph=True, backend="aot_eager")(q, k, v)
                o_ref, lse_ref = ref.attention(
                    *(x.cpu().double() for x in (q, k, v)), ref.SPECS[spec_name])
                for got in (o, o_c):
                    self.assertFalse(torch.isnan(got).any().item())
                    torch.testing.assert_close(got.cpu().double(), o_ref,
                                               atol=2e-2, rtol=2e-2)
                torch.testing.assert_close(lse.cpu().double(), lse_ref,
                                           atol=1e-3, rtol=1e-4)

    def packed_rows(self, rec, seed):
        """Ragged lengths (an empty and a one-token sequence among them),
        their offsets (and as cu_seqlens_q), a generator seeded with
        `seed` and bf16 q, k, v packed [T, H, D] for a packed kernel."""
        self.assertTrue(rec.packed)
        H, Dk = rec._params["q"]["shape"][1], rec._params["q"]["shape"][2]
        Dv = rec._params["v"]["shape"][2]
        lengths = [3, 0, 1, 200, 77, 129, 64]
        offsets = [0]
        for n in lengths:
            offsets.append(offsets[-1] + n)
        cu = torch.tensor(offsets, dtype=torch.int32, device="cuda")
        T = offsets[-1]
        g = torch.Generator(device="cuda")
        g.manual_seed(seed)
        rows = [torch.randn(T, H, d, generator=g, device="cuda", dtype=torch.bfloat16)
                for d in (Dk, Dk, Dv)]
        return lengths, offsets, cu, g, rows

    def test_packed_recurrence(self):
        """A recurrence over packed sequences (``decay_varlen.bundle``,
        examples/decay_varlen.mlir: cu_seqlens_q beside the gates, rows
        [T, H, D], one state per sequence), eager and compiled
        (fullgraph=True): ragged lengths with an empty and a one-token
        sequence, o and the final states against a float64 recurrence run
        on each sequence alone; the empty sequence keeps its initial
        state. Compiled with --backward, its gradients too."""
        path = os.path.join(os.environ["FLASHGEN_TORCH_BUNDLES"], "decay_varlen.bundle")
        if not os.path.isdir(path):
            self.skipTest("no decay_varlen.bundle in $FLASHGEN_TORCH_BUNDLES")
        rec = ft.register_recurrence(path, "decay_varlen")
        lengths, offsets, cu, g, (q, k, v) = self.packed_rows(rec, 5)
        H, Dk, Dv, T = q.shape[1], q.shape[2], v.shape[2], offsets[-1]
        gate = -0.3 * torch.rand(T, H, generator=g, device="cuda")
        c0 = 0.3 * torch.randn(len(lengths), H, Dk, Dv, generator=g, device="cuda")
        want_o, want_c = [], []
        for b in range(len(lengths)):
            rows = slice(offsets[b], offsets[b + 1])
            o_b, (c_b,) = linear_recurrence(
                *(x[rows].double().transpose(0, 1)[None] for x in (q, k, v)),
                {"g": gate[rows].double().t()[None]}, [c0[b:b + 1].double()])
            want_o.append(o_b[0].transpose(0, 1))
            want_c.append(c_b[0])
        want_o, want_c = torch.cat(want_o), torch.stack(want_c)

        def run(q, k, v, gate, cu, c0):
            return rec(q, k, v, g=gate, cu_seqlens_q=cu, initial_state=c0)
        for compiled in (False, True):
            with self.subTest(compiled=compiled):
                fn = run
                if compiled:
                    torch._dynamo.reset()
                    fn = torch.compile(run, fullgraph=True, backend="aot_eager")
                o, (cf,) = fn(q, k, v, gate, cu, c0)
                self.assertFalse(torch.isnan(o).any().item())
                for got, want in ((o, want_o), (cf, want_c)):
                    err = ((got.double() - want).norm() / want.norm()).item()
                    self.assertLess(err, 2e-2)
                torch.testing.assert_close(cf[1], c0[1])
        if not rec.has_backward:
            return
        # Gradients (the bundle compiled with --backward): q, k, v, g and
        # c0 of a loss through o and the final states, against torch's
        # autograd through the float64 recurrence of each sequence.
        w_o = torch.randn(T, H, Dv, generator=g, device="cuda", dtype=torch.float64)
        w_c = torch.randn(len(lengths), H, Dk, Dv, generator=g, device="cuda",
                          dtype=torch.float64)
        args = [q, k, v, gate, c0]
        for compiled in (False, True):
            with self.subTest(compiled=compiled, gradients=True):
                fn = run
                if compiled:
                    torch._dynamo.reset()
                    fn = torch.compile(run, fullgraph=True, backend="aot_eager")
                leaves = [a.clone().requires_grad_() for a in args]
                o, (cf,) = fn(leaves[0], leaves[1], leaves[2], leaves[3], cu, leaves[4])
                loss = (o.double() * w_o).sum() + (cf.double() * w_c).sum()
                got = torch.autograd.grad(loss, leaves)
                ref_leaves = [a.double().requires_grad_() for a in args]
                total = 0
                for b in range(len(lengths)):
                    rows = slice(offsets[b], offsets[b + 1])
                    o_b, (c_b,) = linear_recurrence(
                        *(x[rows].transpose(0, 1)[None] for x in ref_leaves[:3]),
                        {"g": ref_leaves[3][rows].t()[None]}, [ref_leaves[4][b:b + 1]])
                    total = total + (o_b[0].transpose(0, 1) * w_o[rows]).sum() + \
                        (c_b[0] * w_c[b]).sum()
                want = torch.autograd.grad(total, ref_leaves)
                for pname, a, b in zip(("q", "k", "v", "g", "c0"), got, want):
                    self.assertFalse(torch.isnan(a).any().item(), "d" + pname)
                    err = (a.double() - b).abs().max().item()
                    self.assertLess(err, 2e-2 * max(b.abs().max().item(), 1.0),
                                    "d%s: max error %g" % (pname, err))

    def test_packed_delta_rule(self):
        """Gated DeltaNet over packed sequences (``gated_delta_varlen.bundle``,
        examples/gated_delta_varlen.mlir: beta and g packed [T, H] beside
        cu_seqlens_q, l2-normalised q and k), eager and compiled
        (fullgraph=True): ragged lengths with an empty and a one-token
        sequence, o and the final states against the float64 step
        recurrence (docs/semantics.md §7.1) of each sequence alone."""
        path = os.path.join(os.environ["FLASHGEN_TORCH_BUNDLES"], "gated_delta_varlen.bundle")
        if not os.path.isdir(path):
            self.skipTest("no gated_delta_varlen.bundle in $FLASHGEN_TORCH_BUNDLES")
        rec = ft.register_recurrence(path, "gated_delta_varlen")
        lengths, offsets, cu, g, (q, k, v) = self.packed_rows(rec, 6)
        H, Dk, Dv, T = q.shape[1], q.shape[2], v.shape[2], offsets[-1]
        beta = torch.rand(T, H, generator=g, device="cuda").to(torch.bfloat16)
        gate = -0.3 * torch.rand(T, H, generator=g, device="cuda")
        c0 = 0.3 * torch.randn(len(lengths), H, Dk, Dv, generator=g, device="cuda")

        def unit(x):
            return x / torch.sqrt((x * x).sum(-1, keepdim=True) + 1e-6)
        want_o, want_c = [], []
        for b in range(len(lengths)):
            c = c0[b].double().clone()
            for t in range(offsets[b], offsets[b + 1]):
                qt, kt = unit(q[t].double()), unit(k[t].double())
                c = torch.exp(gate[t].double())[:, None, None] * c
                write = beta[t].double()[:, None] * (v[t].double() - torch.einsum("hk,hkv->hv", kt, c))
                c = c + kt[:, :, None] * write[:, None, :]
                want_o.append(torch.einsum("hk,hkv->hv", Dk ** -0.5 * qt, c))
            want_c.append(c)
        want_o, want_c = torch.stack(want_o), torch.stack(want_c)

        def run(q, k, v, beta, gate, cu, c0):
            return rec(q, k, v, beta=beta, g=gate, cu_seqlens_q=cu, initial_state=c0)
        for compiled in (False, True):
            with self.subTest(compiled=compiled):
                fn = run
                if compiled:
                    torch._dynamo.reset()
                    fn = torch.compile(run, fullgraph=True, backend="aot_eager")
                o, (cf,) = fn(q, k, v, beta, gate, cu, c0)
                self.assertFalse(torch.isnan(o).any().item())
                for got, want in ((o, want_o), (cf, want_c)):
                    err = ((got.double() - want).norm() / want.norm()).item()
                    self.assertLess(err, 2e-2)
                torch.testing.assert_close(cf[1], c0[1])

    def test_recurrence_gradients(self):
        """The recurrence's backward kernel through the custom op, eager
        and compiled (fullgraph=True), at a T that is no multiple of the
        chunk: dq, dk, dv, dg and dC0 of a loss through o and the final
        state against torch's autograd through the float64 recurrence on
        the same bf16 inputs."""
        ran = False
        for name in GPU_RECURRENCES:
            path = os.path.join(os.environ["FLASHGEN_TORCH_BUNDLES"],
                                name + ".bundle")
            if not os.path.isdir(path):
                continue
            rec = ft.register_recurrence(path, name)
            if not rec.has_backward:
                continue
            ran = True
            for compiled in (False, True):
                with self.subTest(kernel=name, compiled=compiled):
                    self.check_recurrence(rec, compiled)
        if not ran:
            self.skipTest("no recurrence bundle with a backward kernel (%s "
                          "compiled with --backward)"
                          % ", ".join(n + ".bundle" for n in GPU_RECURRENCES))

    def check_recurrence(self, rec, compiled):
        H, Dk = rec._params["q"]["shape"][1], rec._params["q"]["shape"][3]
        Dv = rec._params["v"]["shape"][3]
        B, T = 2, 77
        g = torch.Generator(device="cuda")
        g.manual_seed(GPU_RECURRENCES.index(rec.name))

        def randn(*shape, dtype=torch.bfloat16):
            return torch.randn(shape, generator=g, device="cuda", dtype=dtype)
        args = [randn(B, H, T, Dk), randn(B, H, T, Dk), randn(B, H, T, Dv)]
        for gname in rec.gates:
            if gname == "g":
                # decay: [B, H, T]; vector: [B, H, T, Dk].
                gshape = (B, H, T) + ((Dk,) if len(rec._params["g"]["shape"]) == 4 else ())
                args.append(-0.3 * torch.rand(gshape, generator=g, device="cuda"))
            else:  # mlstm_sig's preactivations
                args.append(2.0 * randn(B, H, T, dtype=torch.float32))
        shapes = {"c": (B, H, Dk, Dv), "n": (B, H, Dk), "m": (B, H)}
        if rec.takes_initial_state:
            args += [0.3 * randn(*shapes[s], dtype=torch.float32) for s in rec.states]
        w_o = randn(B, H, T, Dv, dtype=torch.float64)
        w_s = [randn(*shapes[s], dtype=torch.float64) for s in rec.states]
        ng = len(rec.gates)

        def loss(q, k, v, *rest):
            gate = dict(zip(rec.gates, rest))
            initial = tuple(rest[ng:]) if rec.takes_initial_state else None
            out = rec(q, k, v, initial_state=initial, **gate)
            o, finals = out if rec.returns_final_state else (out, ())
            total = (o.double() * w_o).sum()
            for f, w in zip(finals, w_s):
                total = total + (f.double() * w).sum()
            return total

        if compiled:
            torch._dynamo.reset()
            loss = torch.compile(loss, fullgraph=True, backend="aot_eager")
        leaves = [a.clone().requires_grad_() for a in args]
        got = torch.autograd.grad(loss(*leaves), leaves)
        ref_leaves = [a.double().requires_grad_() for a in args]
        q, k, v = ref_leaves[:3]
        gates = dict(zip(rec.gates, ref_leaves[3:3 + ng]))
        initial = ref_leaves[3 + ng:]
        o, finals = linear_recurrence(q, k, v, gates, initial, exp="m" in rec.states)
        total = (o * w_o).sum()
        if rec.returns_final_state:
            for f, w in zip(finals, w_s):
                total = total + (f * w).sum()
        want = torch.autograd.grad(total, ref_leaves)
        names = ["q", "k", "v"] + rec.gates + [s + "0" for s in rec.states][:len(initial)]
        for pname, a, b, x in zip(names, got, want, args):
            self.assertEqual((a.shape, a.dtype), (x.shape, x.dtype), pname)
            self.assertFalse(torch.isnan(a).any().item(), "d" + pname)
            err = (a.double() - b).abs().max().item()
            scale = b.abs().max().item()
            self.assertLess(err, 2e-2 * max(scale, 1.0),
                            "d%s of %s: max error %g (max |d%s| %g)"
                            % (pname, rec.name, err, pname, scale))

    def test_eager(self):
        for s in GPU_SPECS:
            with self.subTest(spec=s):
                self.run_spec(s, compiled=False)

    def test_compiled(self):
        for s in GPU_SPECS:
            with self.subTest(spec=s):
                self.run_spec(s, compiled=True)


def main():
    argv = sys.argv[1:]
    if argv == ["Gpu"] and _gpu_skip_reason():
        print("SKIP: %s" % _gpu_skip_reason())
        return SKIP
    try:
        prog = unittest.main(argv=[sys.argv[0]] + argv, exit=False,
                             verbosity=2)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
