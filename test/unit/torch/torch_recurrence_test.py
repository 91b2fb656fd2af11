#!/usr/bin/env python3
"""flashgen.torch.register_recurrence: a bundle's recurrence kernel as torch
operators (python/flashgen/_torch_recurrence.py).

CPU tests (ctest ``torch_recurrence``): bundles made of a manifest alone (in
a temporary folder, the params `flashgen compile` writes for a recurrence),
and a TEST DOUBLE as the operators' CPU kernel: the float64 step recurrence
below (docs/semantics.md §3.1, §7.1), registered through
``RecurrenceOp._register_test_double``. They check the registration and its
errors, the sequence form with and without states, the in-place step
(C written over itself, n copied back), that a gradient names the missing
backward, and, with torch >= 2.4, fake tensors and
torch.compile(fullgraph=True). No GPU and no runtime library.

Needs torch; re-runs itself with $FLASHGEN_TORCH_PYTHON or /usr/bin/python3
when the running interpreter has none, else exits 77 (ctest: skipped).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ensure_torch import ensure_torch  # noqa: E402

if __name__ == "__main__":
    ensure_torch()

import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import unittest  # noqa: E402

import torch  # noqa: E402

import flashgen  # noqa: E402
import flashgen.torch as ft  # noqa: E402

torch.set_num_threads(1)
F64 = torch.float64
TMP = tempfile.mkdtemp(prefix="flashgen-torch-recurrence-test-")
_count = [0]
H, DK, DV = 2, 4, 3


def write_bundle(name, op, gates, states, initial=True, final=True):
    """A manifest-only bundle of one recurrence kernel: q, k, v, the gate
    params (name -> (dtype, shape)), the states ("c", "n", "m") in and out."""
    _count[0] += 1
    path = os.path.join(TMP, "b%d" % _count[0], name + ".bundle")
    os.makedirs(path)

    def p(pname, io, shape, dtype="f64", **kw):
        return dict(name=pname, io=io, dtype=dtype, shape=shape, **kw)
    shapes = {"c": ["B", H, DK, DV], "n": ["B", H, DK], "m": ["B", H]}
    params = [p("q", "in", ["B", H, "T", DK]), p("k", "in", ["B", H, "T", DK]),
              p("v", "in", ["B", H, "T", DV])]
    params += [p(g, "in", shape, dtype) for g, (dtype, shape) in gates.items()]
    if initial:
        params += [p(s + "0", "in", shapes[s], "f32", optional=True) for s in states]
    params.append(p("o", "out", ["B", H, "T", DV]))
    if final:
        params += [p(s + "f", "out", shapes[s], "f32", optional=True,
                     **({"may_alias": "c0"} if s == "c" and initial else {}))
                   for s in states]
    kernel = {"name": name, "op": op, "symbols": ["B", "T"], "params": params,
              "variants": []}
    with open(os.path.join(path, "manifest.json"), "w") as f:
        json.dump({"format": "flashgen-bundle", "version": 1, "target": "sm_90a",
                   "kernels": [kernel]}, f)
    return path


def reference(kind, q, k, v, gates, states):
    """(o, final states) of the step recurrence in float64: kind "decay"
    (linear_attention gate decay), "gated_delta" (delta_rule with a decay,
    l2norm_qk) or "mlstm_sig"."""
    q, k, v = q.to(F64), k.to(F64), v.to(F64)
    b, h, t, dk = q.shape
    scale = dk ** -0.5
    c = (states[0].to(F64).clone() if states and states[0] is not None
         else torch.zeros(b, h, dk, v.shape[-1], dtype=F64))
    n = (states[1].to(F64).clone() if len(states) > 1 and states[1] is not None
         else torch.zeros(b, h, dk, dtype=F64))
    outs = []
    for s in range(t):
        qs, ks, vs = q[:, :, s], k[:, :, s], v[:, :, s]
        if kind == "gated_delta":
            qs = qs / torch.sqrt((qs * qs).sum(-1, keepdim=True) + 1e-6)
            ks = ks / torch.sqrt((ks * ks).sum(-1, keepdim=True) + 1e-6)
            c = torch.exp(gates["g"][:, :, s].to(F64))[..., None, None] * c
            w = gates["beta"][:, :, s, None].to(F64) * (vs - torch.einsum("bhk,bhkv->bhv", ks, c))
            c = c + ks[..., :, None] * w[..., None, :]
            outs.append(torch.einsum("bhk,bhkv->bhv", scale * qs, c))
        elif kind == "decay":
            c = torch.exp(gates["g"][:, :, s].to(F64))[..., None, None] * c \
                + ks[..., :, None] * vs[..., None, :]
            outs.append(torch.einsum("bhk,bhkv->bhv", scale * qs, c))
        else:
            a = torch.sigmoid(gates["fgate"][:, :, s].to(F64))[..., None]
            i = torch.sigmoid(gates["igate"][:, :, s].to(F64))[..., None]
            c = a[..., None] * c + i[..., None] * ks[..., :, None] * vs[..., None, :]
            n = a * n + i * ks
            num = torch.einsum("bhk,bhkv->bhv", scale * qs, c)
            den = torch.clamp((n * scale * qs).sum(-1, keepdim=True).abs(), min=1.0) + 1e-6
            outs.append(num / den)
    o = torch.stack(outs, dim=2) if outs else torch.zeros(b, h, 0, v.shape[-1], dtype=F64)
    finals = [c.float()] + ([n.float()] if kind == "mlstm_sig" else [])
    return o, finals


def inputs(kind, b=2, t=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = {n: torch.randn(b, H, t, d, generator=g, dtype=F64)
         for n, d in (("q", DK), ("k", DK), ("v", DV))}
    if kind == "gated_delta":
        x["beta"] = torch.sigmoid(torch.randn(b, H, t, generator=g, dtype=F64))
        x["g"] = -torch.rand(b, H, t, generator=g, dtype=F64) * 0.3
    elif kind == "decay":
        x["g"] = -torch.rand(b, H, t, generator=g, dtype=F64) * 0.3
    else:
        x["igate"] = torch.randn(b, H, t, generator=g, dtype=F64)
        x["fgate"] = torch.randn(b, H, t, generator=g, dtype=F64)
    states = [0.3 * torch.randn(b, H, DK, DV, generator=g)]
    if kind == "mlstm_sig":
        states.append(0.3 * torch.randn(b, H, DK, generator=g))
    return x, states


KINDS = {
    "decay": ("linear_attention", {"g": ("f64", ["B", H, "T"])}, ["c"]),
    "gated_delta": ("delta_rule", {"beta": ("f64", ["B", H, "T"]), "g": ("f64", ["B", H, "T"])},
                    ["c"]),
    "mlstm_sig": ("linear_attention", {"igate": ("f64", ["B", H, "T"]),
                                       "fgate": ("f64", ["B", H, "T"])}, ["c", "n"]),
}


def registered(kind, initial=True, final=True):
    op, gates, states = KINDS[kind]
    path = write_bundle(kind + "_rec", op, gates, states, initial, final)
    rec = ft.register_recurrence(path)
    rec._register_test_double(
        lambda q, k, v, g, s: reference(kind, q, k, v, g, s))
    return rec


class Registration(unittest.TestCase):
    def test_names_and_attributes(self):
        rec = registered("mlstm_sig")
        self.assertEqual(rec.gates, ["igate", "fgate"])
        self.assertEqual(rec.states, ["c", "n"])
        self.assertTrue(rec.takes_initial_state and rec.returns_final_state)
        self.assertIn("flashgen::mlstm_sig_rec_", repr(rec))
        self.assertIs(ft.register_recurrence(rec.bundle_path), rec)

    def test_attention_kernels_are_refused(self):
        path = write_bundle("attn", "attention", {}, [])
        with self.assertRaisesRegex(flashgen.FlashgenError, "is a attention kernel"):
            ft.register_recurrence(path, "attn")
        with self.assertRaisesRegex(flashgen.FlashgenError, r"recurrence kernels: none"):
            ft.register_recurrence(path)

    def test_argument_errors_name_what_is_wrong(self):
        rec = registered("gated_delta")
        x, states = inputs("gated_delta")
        with self.assertRaisesRegex(flashgen.FlashgenError, r"beta: missing .* beta=f64 \[B, 2, T\]"):
            rec(x["q"], x["k"], x["v"], g=x["g"])
        with self.assertRaisesRegex(flashgen.FlashgenError, "takes no gamma"):
            rec(x["q"], x["k"], x["v"], beta=x["beta"], g=x["g"], gamma=x["g"])
        with self.assertRaisesRegex(flashgen.FlashgenError, "g: dtype torch.float32"):
            rec(x["q"], x["k"], x["v"], beta=x["beta"], g=x["g"].float())
        with self.assertRaisesRegex(flashgen.FlashgenError, "2 tensors given, kernel .* keeps 1"):
            rec.step_(x["q"], x["k"], x["v"], state=(states[0], states[0]), beta=x["beta"], g=x["g"])
        with self.assertRaisesRegex(flashgen.FlashgenError, "must be an f32 tensor"):
            rec.step_(x["q"], x["k"], x["v"], state=states[0].double(), beta=x["beta"], g=x["g"])

    def test_step_needs_state_in_and_out(self):
        rec = registered("decay", initial=False, final=False)
        x, states = inputs("decay")
        with self.assertRaisesRegex(flashgen.FlashgenError, "does not read and write its state"):
            rec.step_(x["q"], x["k"], x["v"], state=states[0], g=x["g"])
        with self.assertRaisesRegex(flashgen.FlashgenError, "takes none"):
            rec(x["q"], x["k"], x["v"], initial_state=states[0], g=x["g"])
        self.assertIsNone(rec.step_op)


class Results(unittest.TestCase):
    def check(self, got, want, tol=1e-6):
        self.assertEqual(got.shape, want.shape)
        self.assertTrue(torch.allclose(got.to(F64), want.to(F64), atol=tol, rtol=tol),
                        (got - want).abs().max())

    def test_sequence_with_and_without_states(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                rec = registered(kind)
                x, states = inputs(kind)
                gates = {g: x[g] for g in rec.gates}
                o, finals = rec(x["q"], x["k"], x["v"], initial_state=tuple(states), **gates)
                want_o, want_f = reference(kind, x["q"], x["k"], x["v"], gates, states)
                self.check(o, want_o)
                for got, want in zip(finals, want_f):
                    self.check(got, want, 1e-5)
                o0, _ = rec(x["q"], x["k"], x["v"], **gates)  # zero initial state
                self.check(o0, reference(kind, x["q"], x["k"], x["v"], gates, [])[0])

    def test_step_updates_the_state_in_place(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                rec = registered(kind)
                x, states = inputs(kind, t=1)
                gates = {g: x[g] for g in rec.gates}
                work = [s.clone() for s in states]
                ptrs = [s.data_ptr() for s in work]
                o = rec.step_(x["q"], x["k"], x["v"], state=tuple(work), **gates)
                want_o, want_f = reference(kind, x["q"], x["k"], x["v"], gates, states)
                self.check(o, want_o)
                self.assertEqual([s.data_ptr() for s in work], ptrs)
                for got, want in zip(work, want_f):
                    self.check(got, want, 1e-5)
                # Two steps in place are the two-token sequence.
                x2, _ = inputs(kind, t=1, seed=5)
                gates2 = {g: x2[g] for g in rec.gates}
                rec.step_(x2["q"], x2["k"], x2["v"], state=tuple(work), **gates2)
                both = {n: torch.cat([x[n], x2[n]], dim=2) for n in ["q", "k", "v"] + rec.gates}
                _, want2 = reference(kind, both["q"], both["k"], both["v"],
                                     {g: both[g] for g in rec.gates}, states)
                for got, want in zip(work, want2):
                    self.check(got, want, 1e-5)

    def test_gradients_name_the_missing_backward(self):
        rec = registered("decay")
        x, states = inputs("decay")
        q = x["q"].clone().requires_grad_()
        o, _ = rec(q, x["k"], x["v"], initial_state=states[0], g=x["g"])
        with self.assertRaisesRegex(flashgen.FlashgenError, "no backward kernels for recurrences"):
            o.sum().backward()


@unittest.skipUnless(ft.HAS_CUSTOM_OP, "needs torch >= 2.4")
class Compile(unittest.TestCase):
    def test_fake_tensors_give_the_shapes(self):
        from torch._subclasses.fake_tensor import FakeTensorMode
        rec = registered("mlstm_sig")
        x, states = inputs("mlstm_sig", b=3, t=5)
        with FakeTensorMode() as mode:
            fx = {n: mode.from_tensor(t) for n, t in x.items()}
            fs = [mode.from_tensor(s) for s in states]
            o, c, n, m = rec.forward_op(fx["q"], fx["k"], fx["v"], fx["igate"], fx["fgate"], *fs)
        self.assertEqual(tuple(o.shape), (3, H, 5, DV))
        self.assertEqual(tuple(c.shape), (3, H, DK, DV))
        self.assertEqual(tuple(n.shape), (3, H, DK))
        self.assertEqual(m.numel(), 0)  # mlstm_sig keeps no stabiliser

    def test_a_decode_loop_compiles_without_graph_breaks(self):
        rec = registered("gated_delta")
        x, states = inputs("gated_delta", t=1)
        gates = {g: x[g] for g in rec.gates}

        def decode(q, k, v, beta, g, state):
            o = rec.step_(q, k, v, state=state, beta=beta, g=g)
            return o * 2
        compiled = torch.compile(decode, fullgraph=True, backend="aot_eager")
        work = states[0].clone()
        o = compiled(x["q"], x["k"], x["v"], gates["beta"], gates["g"], work)
        want_o, want_f = reference("gated_delta", x["q"], x["k"], x["v"], gates, states)
        self.assertTrue(torch.allclose(o, 2 * want_o, atol=1e-6))
        self.assertTrue(torch.allclose(work.to(F64), want_f[0].to(F64), atol=1e-5))


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
