#!/usr/bin/env python3
"""flashgen.torch.register_recurrence: a bundle's recurrence kernel as torch
operators (python/flashgen/_torch_recurrence.py).

CPU tests (ctest ``torch_recurrence``): bundles made of a manifest alone (in
a temporary folder, the params `flashgen compile` writes for a recurrence),
and a TEST DOUBLE as the operators' CPU kernel: the float64 step recurrence
below (docs/semantics.md §3.1, §7.1), registered through
``RecurrenceOp._register_test_double``. They check the registration and its
errors, the sequence form with and without states, the in-place step
(C written over itself, n and m copied back), and gradients: for the kinds
with a backward kernel (none, decay, vector, the manifest's ``<name>_backward``
entry, its double the adjoint recurrence written out below; mlstm_sig and
mlstm_exp, its double torch's autograd through the float64 recurrence)
against torch's autograd through the float64 recurrence, through o and the
final state, with and without an initial state, what is saved (the
normaliser kinds: also o and the rows' normalisers ``norm``, which the
forward writes and the backward reads) and the launch glue (a recording
stand-in for the kernels); for the others, the error naming the missing
backward. With torch >= 2.4 also fake tensors and
torch.compile(fullgraph=True) of a decode step and of a forward and
backward; an older torch runs the gradients through the
torch.autograd.Function path. No GPU and no runtime library.

Needs torch; re-runs itself with $FLASHGEN_TORCH_PYTHON or /usr/bin/python3
when the running interpreter has none, else exits 77 (ctest: skipped).
"""

import concurrent.futures
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


def write_bundle(name, op, gates, states, initial=True, final=True, backward=False,
                 norm=False):
    """A manifest-only bundle of one recurrence kernel: q, k, v, the gate
    params (name -> (dtype, shape)), the states ("c", "n", "m") in and out;
    with ``norm`` (the normaliser kinds mlstm_sig, mlstm_exp) the rows'
    normalisers, an optional f32 output [B, H, T, 2] after o; with
    ``backward``, also ``<name>_backward`` with the params `flashgen
    compile --backward` writes for a linear_attention_grad (with ``norm``,
    the forward's o before do and norm after it)."""
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
    if norm:
        params.append(p("norm", "out", ["B", H, "T", 2], "f32", optional=True))
    if final:
        params += [p(s + "f", "out", shapes[s], "f32", optional=True,
                     **({"may_alias": "c0"} if s == "c" and initial else {}))
                   for s in states]
    kernels = [{"name": name, "op": op, "symbols": ["B", "T"], "params": params,
                "variants": []}]
    if backward:
        grad = [p("q", "in", ["B", H, "T", DK]), p("k", "in", ["B", H, "T", DK]),
                p("v", "in", ["B", H, "T", DV])]
        grad += [p(g, "in", shape, dtype) for g, (dtype, shape) in gates.items()]
        if norm:
            grad.append(p("o", "in", ["B", H, "T", DV]))
        grad.append(p("do", "in", ["B", H, "T", DV]))
        if norm:
            grad.append(p("norm", "in", ["B", H, "T", 2], "f32"))
        if initial:
            grad += [p(s + "0", "in", shapes[s], "f32", optional=True) for s in states]
        if final:
            grad += [p("d" + s + "f", "in", shapes[s], "f32", optional=True) for s in states]
        grad += [p("dq", "out", ["B", H, "T", DK]), p("dk", "out", ["B", H, "T", DK]),
                 p("dv", "out", ["B", H, "T", DV])]
        grad += [p("d" + g, "out", shape, dtype) for g, (dtype, shape) in gates.items()]
        if initial:
            grad += [p("d" + s + "0", "out", shapes[s], "f32", optional=True) for s in states]
        kernels.append({"name": name + "_backward", "op": "linear_attention_grad",
                        "symbols": ["B", "T"], "params": grad, "variants": []})
    with open(os.path.join(path, "manifest.json"), "w") as f:
        json.dump({"format": "flashgen-bundle", "version": 1, "target": "sm_90a",
                   "kernels": kernels}, f)
    return path


def reference(kind, q, k, v, gates, states, with_norm=False):
    """(o, final states) of the step recurrence in float64: kind "none",
    "decay" or "vector" (linear_attention gate none / decay / vector: one
    log-decay a key dim), "gated_delta" (delta_rule with a decay, l2norm_qk),
    "mlstm_sig" or "mlstm_exp" (max-stabilised). With ``with_norm`` also
    the normaliser kinds' rows [B, H, T, 2] (the forward kernel's norm: N_t
    = q~_t . n_t and the floor, 1 or exp(-m_t)), third."""
    q, k, v = q.to(F64), k.to(F64), v.to(F64)
    b, h, t, dk = q.shape
    scale = dk ** -0.5
    c = (states[0].to(F64).clone() if states and states[0] is not None
         else torch.zeros(b, h, dk, v.shape[-1], dtype=F64))
    n = (states[1].to(F64).clone() if len(states) > 1 and states[1] is not None
         else torch.zeros(b, h, dk, dtype=F64))
    m = (states[2].to(F64).clone() if len(states) > 2 and states[2] is not None
         else torch.zeros(b, h, dtype=F64))
    outs, norms = [], []
    for s in range(t):
        qs, ks, vs = q[:, :, s], k[:, :, s], v[:, :, s]
        if kind == "gated_delta":
            qs = qs / torch.sqrt((qs * qs).sum(-1, keepdim=True) + 1e-6)
            ks = ks / torch.sqrt((ks * ks).sum(-1, keepdim=True) + 1e-6)
            c = torch.exp(gates["g"][:, :, s].to(F64))[..., None, None] * c
            w = gates["beta"][:, :, s, None].to(F64) * (vs - torch.einsum("bhk,bhkv->bhv", ks, c))
            c = c + ks[..., :, None] * w[..., None, :]
            outs.append(torch.einsum("bhk,bhkv->bhv", scale * qs, c))
        elif kind in ("none", "decay", "vector"):
            if kind == "decay":
                c = torch.exp(gates["g"][:, :, s].to(F64))[..., None, None] * c
            if kind == "vector":
                c = torch.exp(gates["g"][:, :, s].to(F64))[..., :, None] * c
            c = c + ks[..., :, None] * vs[..., None, :]
            outs.append(torch.einsum("bhk,bhkv->bhv", scale * qs, c))
        else:
            if kind == "mlstm_exp":
                lf = torch.nn.functional.logsigmoid(gates["fgate"][:, :, s].to(F64))
                ig = gates["igate"][:, :, s].to(F64)
                m_new = torch.maximum(lf + m, ig)
                a, i = torch.exp(lf + m - m_new)[..., None], torch.exp(ig - m_new)[..., None]
                m = m_new
                floor = torch.exp(-m)[..., None]
            else:
                a = torch.sigmoid(gates["fgate"][:, :, s].to(F64))[..., None]
                i = torch.sigmoid(gates["igate"][:, :, s].to(F64))[..., None]
                floor = torch.ones(b, h, 1, dtype=F64)
            c = a[..., None] * c + i[..., None] * ks[..., :, None] * vs[..., None, :]
            n = a * n + i * ks
            num = torch.einsum("bhk,bhkv->bhv", scale * qs, c)
            big_n = (n * scale * qs).sum(-1, keepdim=True)
            den = torch.maximum(big_n.abs(), floor) + 1e-6
            outs.append(num / den)
            norms.append(torch.cat([big_n, floor], -1))
    o = torch.stack(outs, dim=2) if outs else torch.zeros(b, h, 0, v.shape[-1], dtype=F64)
    finals = [c.float()] + ([n.float()] if kind in NORMALISER else []) + (
        [m.float()] if kind == "mlstm_exp" else [])
    if not with_norm:
        return o, finals
    norm = (torch.stack(norms, dim=2).float() if norms
            else torch.zeros(b, h, t, 2, dtype=torch.float32))
    return o, finals, norm


def inputs(kind, b=2, t=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = {n: torch.randn(b, H, t, d, generator=g, dtype=F64)
         for n, d in (("q", DK), ("k", DK), ("v", DV))}
    if kind == "gated_delta":
        x["beta"] = torch.sigmoid(torch.randn(b, H, t, generator=g, dtype=F64))
        x["g"] = -torch.rand(b, H, t, generator=g, dtype=F64) * 0.3
    elif kind == "decay":
        x["g"] = -torch.rand(b, H, t, generator=g, dtype=F64) * 0.3
    elif kind == "vector":
        x["g"] = -torch.rand(b, H, t, DK, generator=g, dtype=F64) * 0.3
    elif kind in NORMALISER:
        x["igate"] = torch.randn(b, H, t, generator=g, dtype=F64)
        x["fgate"] = torch.randn(b, H, t, generator=g, dtype=F64)
    states = [0.3 * torch.randn(b, H, DK, DV, generator=g)]
    if kind in NORMALISER:
        states.append(0.3 * torch.randn(b, H, DK, generator=g))
    if kind == "mlstm_exp":
        states.append(0.3 * torch.randn(b, H, generator=g))
    return x, states


# The kinds whose output divides by a normaliser: their forward kernel
# writes the rows' normalisers (norm), which their backward reads with o.
NORMALISER = ("mlstm_sig", "mlstm_exp")

KINDS = {
    "none": ("linear_attention", {}, ["c"]),
    "decay": ("linear_attention", {"g": ("f64", ["B", H, "T"])}, ["c"]),
    "vector": ("linear_attention", {"g": ("f64", ["B", H, "T", DK])}, ["c"]),
    "gated_delta": ("delta_rule", {"beta": ("f64", ["B", H, "T"]), "g": ("f64", ["B", H, "T"])},
                    ["c"]),
    "mlstm_sig": ("linear_attention", {"igate": ("f64", ["B", H, "T"]),
                                       "fgate": ("f64", ["B", H, "T"])}, ["c", "n"]),
    "mlstm_exp": ("linear_attention", {"igate": ("f64", ["B", H, "T"]),
                                       "fgate": ("f64", ["B", H, "T"])}, ["c", "n", "m"]),
}


# The kinds flashgen compiles a gradient kernel for.
WITH_BACKWARD = ("none", "decay", "vector", "mlstm_sig", "mlstm_exp")


def reference_backward(kind, q, k, v, do, gates, initial, dfinal):
    """The backward kernel's double: (dq, dk, dv, {gate: gradient},
    [initial-state gradients]) for ``initial`` and ``dfinal`` (lists in
    state order, None where not given): the adjoint recurrence written out
    for none, decay and vector (adjoint_backward); for mlstm_sig and
    mlstm_exp torch's autograd through ``reference``, which makes its
    checks below checks of the plumbing (which state, gradient and gate
    reaches which param; the kernels' own mLSTM gradients are checked
    against float64 on the emulator and the GPU)."""
    if kind not in NORMALISER:  # C alone, or no state at all
        dq, dk, dv, dgates, dc0 = adjoint_backward(kind, q, k, v, do, gates,
                                                   initial[0] if initial else None,
                                                   dfinal[0] if dfinal else None)
        return dq, dk, dv, dgates, [dc0] * len(initial)
    x = [t.to(F64).detach().requires_grad_() for t in (q, k, v)]
    g = {n: t.to(F64).detach().requires_grad_() for n, t in gates.items()}
    given = bool(initial) and initial[0] is not None
    s0 = [t.to(F64).detach().requires_grad_() for t in initial] if given else []
    leaves = x + list(g.values()) + s0

    def grads():
        with torch.enable_grad():  # called from inside a backward
            o, finals = reference(kind, *x, g, s0)
            loss = (o * do.to(F64)).sum()
            for f, d in zip(finals, dfinal):
                if d is not None:
                    loss = loss + (f.to(F64) * d.to(F64)).sum()
            return torch.autograd.grad(loss, leaves, allow_unused=True)

    # Inside a custom op's kernel (torch >= 2.4) the dispatcher leaves out
    # the autograd keys for this thread, so nothing records a graph here:
    # the reference's autograd runs on a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        got = pool.submit(grads).result()
    got = [torch.zeros_like(t) if d is None else d for t, d in zip(leaves, got)]
    dgates = dict(zip(g, got[3:3 + len(g)]))
    dinitial = [d.float() for d in got[3 + len(g):]] if given else [None] * len(initial)
    return got[0], got[1], got[2], dgates, dinitial


def adjoint_backward(kind, q, k, v, do, gates, c0, dcf):
    """The backward kernel's results for kind "none", "decay" or "vector",
    written out (float64): the adjoint recurrence, independent of torch's
    autograd. With a_t = exp(g_t) (1 for none; a vector of Dk for vector,
    scaling C's rows), C_t = a_t C_{t-1} + k_t v_t^T and o_t = C_t^T q~_t,
    the gradient D_t of the loss in C_t runs backwards from D_T = dcf: D_t
    = q~_t do_t^T + a_{t+1} D_{t+1}; then dq_t = scale C_t do_t, dk_t = D_t
    v_t, dv_t = D_t^T k_t, dg_t = a_t <D_t, C_{t-1}> (per row of C for
    vector), and dc0 = a_1 D_1. -> (dq, dk, dv, {gate: gradient}, dc0)."""
    q, k, v, do = (x.to(F64) for x in (q, k, v, do))
    b, h, t, dk = q.shape
    scale = dk ** -0.5
    a = (torch.exp(gates["g"].to(F64)) if kind in ("decay", "vector")
         else torch.ones(b, h, t, dtype=F64))

    def rows(x):  # a_t as a factor of C's rows (vector) or of all of C
        return x[..., :, None] if kind == "vector" else x[..., None, None]
    c = c0.to(F64) if c0 is not None else torch.zeros(b, h, dk, v.shape[-1], dtype=F64)
    before = []  # C_{t-1} for each t
    for s in range(t):
        before.append(c)
        c = rows(a[:, :, s]) * c + k[:, :, s, :, None] * v[:, :, s, None, :]
    d = dcf.to(F64) if dcf is not None else torch.zeros_like(c)
    dq, dk_, dv, da = (torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v),
                       torch.zeros_like(a))
    for s in reversed(range(t)):
        d = d + scale * q[:, :, s, :, None] * do[:, :, s, None, :]
        dq[:, :, s] = scale * torch.einsum("bhkv,bhv->bhk", c, do[:, :, s])
        dk_[:, :, s] = torch.einsum("bhkv,bhv->bhk", d, v[:, :, s])
        dv[:, :, s] = torch.einsum("bhkv,bhk->bhv", d, k[:, :, s])
        da[:, :, s] = (d * before[s]).sum(-1 if kind == "vector" else (-2, -1))
        d = rows(a[:, :, s]) * d
        c = before[s]
    dgates = {"g": a * da} if kind in ("decay", "vector") else {}
    return dq, dk_, dv, dgates, d.float()


def registered(kind, initial=True, final=True, backward=None, seen=None):
    """The kind's op on the CPU test double; with a backward kernel in its
    bundle where flashgen compiles one (``backward`` None) or as told. The
    normaliser kinds' forward double writes norm (reference's), and their
    backward double checks that the o and norm it gets are the forward's
    for its inputs (recomputed), appending them to ``seen`` (a list)
    where given."""
    if backward is None:
        backward = kind in WITH_BACKWARD
    op, gates, states = KINDS[kind]
    norm = kind in NORMALISER
    path = write_bundle(kind + "_rec", op, gates, states, initial, final, backward, norm)
    rec = ft.register_recurrence(path)

    def double_backward(q, k, v, do, g, initial, dfinal, **saved):
        if norm:
            assert set(saved) == {"o", "norm"}, sorted(saved)
            if seen is not None:
                seen.append(saved)
            o, _, want = reference(kind, q, k, v, g, [t for t in initial if t is not None],
                                   with_norm=True)
            torch.testing.assert_close(saved["o"], o.to(saved["o"].dtype))
            torch.testing.assert_close(saved["norm"], want)
        else:
            assert not saved, sorted(saved)
        return reference_backward(kind, q, k, v, do, g, initial, dfinal)
    rec._register_test_double(
        lambda q, k, v, g, s: reference(kind, q, k, v, g, s, with_norm=norm),
        backward=double_backward if backward else None)
    return rec


class Registration(unittest.TestCase):
    def test_names_and_attributes(self):
        rec = registered("mlstm_sig")
        self.assertEqual(rec.gates, ["igate", "fgate"])
        self.assertEqual(rec.states, ["c", "n"])
        self.assertTrue(rec.takes_initial_state and rec.returns_final_state)
        self.assertTrue(rec.has_norm and rec.saves_norm)
        self.assertEqual(registered("mlstm_exp").states, ["c", "n", "m"])
        decay = registered("decay")
        self.assertFalse(decay.has_norm or decay.saves_norm)
        # Without a backward kernel the forward writes no norm.
        alone = registered("mlstm_sig", backward=False)
        self.assertTrue(alone.has_norm)
        self.assertFalse(alone.saves_norm)
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



def grads_or_zeros(tensors):
    """Each leaf's gradient, zeros where none reached it (torch leaves
    .grad None for a leaf the loss does not depend on)."""
    return [t.grad if t.grad is not None else torch.zeros_like(t) for t in tensors]


def write_packed_bundle(name, backward=False, norm=False):
    """A manifest-only bundle of a decay recurrence over packed sequences
    (the params flashgen compile writes for flash.varlen_view operands,
    docs/semantics.md §3.5): rows [T_total, H, D], g [T_total, H], the
    offsets cu_seqlens_q [B_offsets], states [B_offsets - 1, H, Dk, Dv];
    with ``backward``, ``<name>_backward`` with the params --backward
    writes for it (the same rows and offsets, dO, dcf in; dq, dk, dv, dg
    and dc0 out). With ``norm``, the params of a normaliser kind besides:
    the forward's norm rows [T_total, H, 2] out, and o and norm into the
    backward (the module reads the params, not the gate kind)."""
    _count[0] += 1
    path = os.path.join(TMP, "b%d" % _count[0], name + ".bundle")
    os.makedirs(path)
    rows, state = ["T_total", H], ["(B_offsets-1)", H, DK, DV]
    cu = dict(name="cu_seqlens_q", io="in", dtype="i32", shape=["B_offsets"])
    params = [dict(name="q", io="in", dtype="f64", shape=rows + [DK]),
              dict(name="k", io="in", dtype="f64", shape=rows + [DK]),
              dict(name="v", io="in", dtype="f64", shape=rows + [DV]),
              dict(name="g", io="in", dtype="f64", shape=rows),
              dict(name="c0", io="in", dtype="f32", shape=state, optional=True),
              dict(name="o", io="out", dtype="f64", shape=rows + [DV]),
              dict(name="cf", io="out", dtype="f32", shape=state, optional=True), cu]
    if norm:
        params.insert(6, dict(name="norm", io="out", dtype="f32", shape=rows + [2],
                              optional=True))
    kernels = [{"name": name, "op": "linear_attention", "symbols": ["T_total", "B_offsets"],
                "params": params, "variants": []}]
    if backward:
        grad = [dict(params[i]) for i in range(4)]
        grad += [dict(name="do", io="in", dtype="f64", shape=rows + [DV]), dict(params[4]),
                 dict(name="dcf", io="in", dtype="f32", shape=state, optional=True)]
        grad += [dict(name="d" + n, io="out", dtype="f64", shape=s)
                 for n, s in (("q", rows + [DK]), ("k", rows + [DK]), ("v", rows + [DV]),
                              ("g", rows))]
        grad += [dict(name="dc0", io="out", dtype="f32", shape=state, optional=True), cu]
        if norm:
            grad += [dict(name="o", io="in", dtype="f64", shape=rows + [DV]),
                     dict(name="norm", io="in", dtype="f32", shape=rows + [2])]
        kernels.append({"name": name + "_backward", "op": "linear_attention_grad",
                        "symbols": ["T_total", "B_offsets"], "params": grad,
                        "variants": [], "scalars": [{"name": "max_seqlen_q", "dtype": "i32"}]})
    with open(os.path.join(path, "manifest.json"), "w") as f:
        json.dump({"format": "flashgen-bundle", "version": 1, "target": "sm_90a",
                   "kernels": kernels}, f)
    return path


def packed_reference(q, k, v, gates, states):
    """The packed op's definition: each sequence of cu_seqlens_q its own
    decay recurrence (reference() on it as a batch of one) from its own
    initial state."""
    cu = gates["cu_seqlens_q"].tolist()
    outs, finals = [], []
    for b in range(len(cu) - 1):
        rows = slice(cu[b], cu[b + 1])

        def one(x):  # [len, H, D] -> [1, H, len, D]
            return x[rows].transpose(0, 1).unsqueeze(0)
        g = gates["g"][rows].transpose(0, 1).unsqueeze(0)
        c0 = [states[0][b:b + 1]] if states and states[0] is not None else []
        o, fin = reference("decay", one(q), one(k), one(v), {"g": g}, c0)
        outs.append(o[0].transpose(0, 1))
        finals.append(fin[0])
    return torch.cat(outs, 0), [torch.cat(finals, 0)]


class Packed(unittest.TestCase):
    """A recurrence over packed sequences: cu_seqlens_q is a keyword like the
    gates, the final states have one row per sequence, step_ is refused."""

    def test_sequences_and_their_states(self):
        rec = ft.register_recurrence(write_packed_bundle("packed_rec"))
        self.assertEqual(rec.gates, ["g", "cu_seqlens_q"])
        self.assertTrue(rec.packed)
        rec._register_test_double(packed_reference)
        lengths = [3, 0, 1, 5]
        cu = torch.tensor([0] + list(torch.tensor(lengths).cumsum(0)), dtype=torch.int32)
        total = int(cu[-1])
        g = torch.Generator().manual_seed(3)
        q, k = (torch.randn(total, H, DK, generator=g, dtype=F64) for _ in range(2))
        v = torch.randn(total, H, DV, generator=g, dtype=F64)
        gate = -0.3 * torch.rand(total, H, generator=g, dtype=F64)
        c0 = 0.3 * torch.randn(len(lengths), H, DK, DV, generator=g)
        o, (cf,) = rec(q, k, v, g=gate, cu_seqlens_q=cu, initial_state=c0)
        self.assertEqual(tuple(o.shape), (total, H, DV))
        self.assertEqual(tuple(cf.shape), (len(lengths), H, DK, DV))
        # Sequence 3 alone, as a batch of one, from its own initial state.
        rows = slice(4, 9)
        want_o, (want_c,) = reference(
            "decay", *(x[rows].transpose(0, 1).unsqueeze(0) for x in (q, k, v)),
            {"g": gate[rows].transpose(0, 1).unsqueeze(0)}, [c0[3:4]])
        self.assertTrue(torch.allclose(o[rows], want_o[0].transpose(0, 1)))
        self.assertTrue(torch.allclose(cf[3], want_c[0], atol=1e-6))
        # The empty sequence keeps its initial state.
        self.assertTrue(torch.allclose(cf[1], c0[1]))
        with self.assertRaisesRegex(flashgen.FlashgenError, "runs packed sequences"):
            rec.step_(q, k, v, [c0], g=gate, cu_seqlens_q=cu)

    def test_gradients_per_sequence(self):
        """The packed op's autograd through its backward kernel's double
        (each sequence's adjoint recurrence from its own initial state and
        final-state gradient) against torch's autograd through the float64
        definition run on each sequence alone; cu_seqlens_q gets no
        gradient."""
        rec = ft.register_recurrence(write_packed_bundle("packed_grad", backward=True))
        self.assertTrue(rec.has_backward)
        self.assertEqual(rec.diff_gates, ["g"])

        def backward(q, k, v, do, gates, initial, dfinal):
            # Each sequence's adjoint recurrence (adjoint_backward) as a
            # batch of one, its rows scattered back into the packed ones.
            cu = gates["cu_seqlens_q"].tolist()
            dq, dk, dv, dg = (torch.zeros_like(x) for x in (q, k, v, gates["g"]))
            dc0 = torch.zeros_like(initial[0])
            for i, (a, b) in enumerate(zip(cu, cu[1:])):
                rows = slice(a, b)
                seq = [x[rows].transpose(0, 1).unsqueeze(0) for x in (q, k, v, do)]
                r = adjoint_backward("decay", *seq, {"g": gates["g"][rows].t().unsqueeze(0)},
                                     initial[0][i:i + 1],
                                     dfinal[0][i:i + 1] if dfinal[0] is not None else None)
                for to, got in zip((dq, dk, dv), r[:3]):
                    to[rows] = got[0].transpose(0, 1)
                dg[rows] = r[3]["g"][0].t()
                dc0[i] = r[4][0]
            return dq, dk, dv, {"g": dg}, [dc0]
        rec._register_test_double(packed_reference, backward=backward)
        lengths = [3, 0, 1, 5]
        cu = torch.tensor([0] + list(torch.tensor(lengths).cumsum(0)), dtype=torch.int32)
        total = int(cu[-1])
        g = torch.Generator().manual_seed(4)
        leaves = [torch.randn(total, H, d, generator=g, dtype=F64) for d in (DK, DK, DV)]
        leaves.append(-0.3 * torch.rand(total, H, generator=g, dtype=F64))
        leaves.append(0.3 * torch.randn(len(lengths), H, DK, DV, generator=g))
        w_o = torch.randn(total, H, DV, generator=g, dtype=F64)
        w_c = torch.randn(len(lengths), H, DK, DV, generator=g)
        mine = [x.clone().requires_grad_() for x in leaves]
        o, (cf,) = rec(*mine[:3], g=mine[3], cu_seqlens_q=cu, initial_state=mine[4])
        ((o * w_o).sum() + (cf * w_c).sum()).backward()
        theirs = [x.clone().requires_grad_() for x in leaves]
        total_loss = 0
        for i, (a, b) in enumerate(zip(cu.tolist(), cu.tolist()[1:])):
            rows = slice(a, b)
            o1, (c1,) = reference("decay", *(x[rows].transpose(0, 1).unsqueeze(0) for x in theirs[:3]),
                                  {"g": theirs[3][rows].t().unsqueeze(0)}, [theirs[4][i:i + 1]])
            total_loss = total_loss + (o1[0].transpose(0, 1) * w_o[rows]).sum() + (c1[0] * w_c[i]).sum()
        total_loss.backward()
        for name, a, b in zip(("q", "k", "v", "g", "c0"), grads_or_zeros(mine), grads_or_zeros(theirs)):
            torch.testing.assert_close(a, b, msg="d" + name)


    def test_a_normaliser_kernel_keeps_its_norm_rows(self):
        """Packed rows with the normaliser kinds' params: the forward's norm
        is [T_total, H, 2] f32 (one row per packed token), and the backward
        gets it and the forward's o."""
        rec = ft.register_recurrence(write_packed_bundle("packed_norm", backward=True,
                                                         norm=True))
        self.assertTrue(rec.saves_norm)
        seen = []

        def backward(q, k, v, do, gates, initial, dfinal, **saved):
            seen.append(saved)
            zeros = [torch.zeros_like(x) for x in (q, k, v, gates["g"])]
            return zeros[0], zeros[1], zeros[2], {"g": zeros[3]}, [torch.zeros_like(initial[0])]

        def forward(q, k, v, gates, states):
            o, finals = packed_reference(q, k, v, gates, states)
            return o, finals, torch.full(q.shape[:-1] + (2,), 7.0)
        rec._register_test_double(forward, backward=backward)
        lengths = [3, 0, 2]
        cu = torch.tensor([0, 3, 3, 5], dtype=torch.int32)
        g = torch.Generator().manual_seed(6)
        q, k, v = (torch.randn(5, H, d, generator=g, dtype=F64).requires_grad_()
                   for d in (DK, DK, DV))
        gate = -0.3 * torch.rand(5, H, generator=g, dtype=F64)
        c0 = torch.zeros(len(lengths), H, DK, DV)
        o, (cf,) = rec(q, k, v, g=gate, cu_seqlens_q=cu, initial_state=c0)
        o.sum().backward()
        (got,) = seen
        self.assertEqual(got["o"].data_ptr(), o.data_ptr())
        self.assertEqual(tuple(got["norm"].shape), (5, H, 2))
        self.assertTrue(bool((got["norm"] == 7.0).all()))


class Gradients(unittest.TestCase):
    """The autograd formula on the test double (the backward kernel's
    double is reference_backward): torch's autograd through the float64
    recurrence is the independent answer. With torch < 2.4 this is the
    torch.autograd.Function path."""

    def check(self, rec, kind, state, through, seed):
        """Gradients of sum(w_o * o) and / or sum(w_s * s_final) over the
        final states in q, k, v, the gates and the initial states
        (``state``: give them) through ``rec`` against torch's autograd
        through ``reference``."""
        x, states = inputs(kind, seed=seed)
        names = ["q", "k", "v"] + rec.gates
        gen = torch.Generator().manual_seed(seed + 100)
        w_o = torch.randn(x["v"].shape, generator=gen, dtype=F64)
        w_s = [torch.randn(t.shape, generator=gen) for t in states]

        def loss(o, finals):
            total = (o * w_o).sum() if "o" in through else 0
            if "cf" in through:
                for f, w in zip(finals, w_s):
                    total = total + (f * w).sum()
            return total

        def leaves():
            got = [x[n].clone().requires_grad_() for n in names]
            return got + ([t.clone().requires_grad_() for t in states] if state else [])

        mine, theirs = leaves(), leaves()
        initial = tuple(mine[len(names):]) if state else None
        if initial is not None and len(initial) == 1:
            initial = initial[0]
        out = rec(*mine[:3], initial_state=initial, **dict(zip(rec.gates, mine[3:len(names)])))
        o, finals = out if rec.returns_final_state else (out, ())
        loss(o, finals).backward()
        want_o, want_f = reference(kind, *theirs[:3], dict(zip(rec.gates, theirs[3:len(names)])),
                                   theirs[len(names):])
        loss(want_o, want_f).backward()
        for name, got, want in zip(names + [s + "0" for s in rec.states], grads_or_zeros(mine),
                                   grads_or_zeros(theirs)):
            self.assertEqual(got.dtype, want.dtype, name)
            torch.testing.assert_close(got, want, msg="d" + name)

    def test_against_torch_autograd_of_the_reference(self):
        seed = 0
        for kind in WITH_BACKWARD:
            for initial, final in ((True, True), (True, False), (False, True),
                                   (False, False)):
                rec = registered(kind, initial, final)
                self.assertTrue(rec.has_backward)
                self.assertEqual(rec.backward_op is None, not ft.HAS_CUSTOM_OP)
                for state in ((True, False) if initial else (False,)):
                    for through in (("o",), ("o", "cf"), ("cf",)) if final else (("o",),):
                        seed += 1
                        with self.subTest(kind=kind, initial=initial, final=final,
                                          state=state, through=through):
                            self.check(rec, kind, state, through, seed)

    def test_only_the_inputs_are_saved(self):
        """q, k, v, the gates and C0: the backward kernel recomputes the
        states, so no output is kept for it."""
        rec = registered("decay")
        x, states = inputs("decay")
        leaves = [x[n].clone().requires_grad_() for n in ("q", "k", "v", "g")]
        c0 = states[0].clone().requires_grad_()
        saved = []

        def pack(t):
            saved.append(t)
            return t
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            o, _ = rec(*leaves[:3], g=leaves[3], initial_state=c0)
        self.assertEqual([tuple(t.shape) for t in saved],
                         [tuple(t.shape) for t in leaves + [c0]])
        o.sum().backward()
        self.assertEqual(c0.grad.shape, c0.shape)

    def test_the_backward_launch_passes_the_manifest_params(self):
        """The CUDA launch glue with a recording stand-in for the kernel:
        every param by its manifest name ("do" too), the outputs the op
        allocated reach it as they are, a broadcast final-state gradient
        is copied (its last dim is not contiguous), and without C0 there
        is neither c0 nor dc0."""
        rec = registered("decay")
        x, states = inputs("decay")
        calls = []

        def kernel_for(device, kname=None):
            self.assertEqual(kname, "decay_rec_backward")
            return lambda **args: calls.append(args)
        rec._kernel_for = kernel_for
        grad_o = torch.randn(x["v"].shape, dtype=F64)
        dcf = torch.ones(()).expand(states[0].shape)
        for c0 in (states[0], None):
            grads, (dc0,) = rec._allocate_backward(x["q"], x["k"], x["v"], [x["g"]], [c0])
            rec._launch_backward(x["q"], x["k"], x["v"], [x["g"]], None, grad_o, None, [c0],
                                 [dcf], grads, [dc0])
            args = calls.pop()
            names = {"q", "k", "v", "g", "do", "dcf", "dq", "dk", "dv", "dg"}
            self.assertEqual(set(args), names | ({"c0", "dc0"} if c0 is not None else set()))
            for n, t in zip(("dq", "dk", "dv", "dg"), grads):
                self.assertIs(args[n], t)
            self.assertIs(args["do"], grad_o)
            self.assertEqual(args["dcf"].stride()[-1], 1)
            if c0 is not None:
                self.assertIs(args["c0"], c0)
                self.assertIs(args["dc0"], dc0)
        # No batch: nothing to write, no launch.
        empty = {n: t[:0] for n, t in x.items()}
        grads, dinitial = rec._allocate_backward(empty["q"], empty["k"], empty["v"],
                                                 [empty["g"]], [None])
        rec._launch_backward(empty["q"], empty["k"], empty["v"], [empty["g"]], None,
                             empty["v"], None, [None], [None], grads, dinitial)
        self.assertEqual(calls, [])

    def test_the_normaliser_kinds_pass_norm_forward_and_o_norm_backward(self):
        """The CUDA launch glue of mlstm_sig and mlstm_exp, with a recording
        stand-in for the kernels: the sequence form's forward gets a norm
        buffer (f32 [B, H, T, 2], the one the operator returns), the step
        none, a forward without a backward kernel none; the backward gets
        o and norm by their manifest names."""
        for kind in NORMALISER:
            with self.subTest(kind=kind):
                rec = registered(kind)
                x, states = inputs(kind, b=2, t=5)
                calls = []

                def kernel_for(device, kname=None, calls=calls):
                    return lambda **args: calls.append((kname or rec.name, args))
                rec._kernel_for = kernel_for
                rec._impls["cpu"] = rec._launch  # the CUDA glue, on the CPU
                gates = [x[g] for g in rec.gates]
                out = rec._sequence(x["q"], x["k"], x["v"], *gates, *states)
                self.assertEqual(len(out), 5)
                o, norm = out[0], out[-1]
                (kname, args), = calls
                self.assertEqual(kname, kind + "_rec")
                self.assertIs(args["norm"], norm)
                self.assertIs(args["o"], o)
                self.assertEqual(norm.dtype, torch.float32)
                self.assertEqual(tuple(norm.shape), (2, H, 5, 2))
                self.assertTrue(norm.is_contiguous())
                # The backward: o and norm as the forward left them.
                grad_o = torch.randn(x["v"].shape, dtype=F64)
                grads, dinitial = rec._allocate_backward(x["q"], x["k"], x["v"], gates, states)
                rec._launch_backward(x["q"], x["k"], x["v"], gates, o, grad_o, norm, states,
                                     [None] * len(states), grads, dinitial)
                kname, args = calls[-1]
                self.assertEqual(kname, kind + "_rec_backward")
                self.assertIs(args["o"], o)
                self.assertIs(args["norm"], norm)
                self.assertIs(args["do"], grad_o)
                self.assertEqual(set(args) - {"o", "norm", "do"},
                                 {"q", "k", "v", "igate", "fgate", "dq", "dk", "dv",
                                  "digate", "dfgate"} | {s + "0" for s in rec.states}
                                 | {"d" + s + "0" for s in rec.states})
                # The step writes no norm.
                calls.clear()
                step = inputs(kind, t=1)[0]
                rec._step(step["q"], step["k"], step["v"], *[step[g] for g in rec.gates],
                          *[s.clone() for s in states])
                self.assertNotIn("norm", calls[0][1])
                # Nor does a forward whose bundle has no backward kernel.
                alone = registered(kind, backward=False)
                alone._kernel_for = kernel_for
                alone._impls["cpu"] = alone._launch
                calls.clear()
                out = alone._sequence(x["q"], x["k"], x["v"], *gates, *states)
                self.assertNotIn("norm", calls[0][1])
                self.assertEqual(out[-1].numel(), 0)

    def test_the_backward_gets_the_forward_o_and_norm(self):
        """Through the operator (or the autograd.Function): the normaliser
        kinds' autograd saves o and norm beside the inputs, and the
        backward kernel gets the o the caller got (its storage, not a
        recomputation) and the norm the forward kernel wrote (the double
        checks both against the reference)."""
        for kind in NORMALISER:
            with self.subTest(kind=kind):
                seen = []
                rec = registered(kind, seen=seen)
                x, states = inputs(kind)
                leaves = [x[n].clone().requires_grad_() for n in ["q", "k", "v"] + rec.gates]
                s0 = [t.clone().requires_grad_() for t in states]
                saved = []

                def pack(t):
                    saved.append(t)
                    return t
                with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                    o, finals = rec(*leaves[:3], initial_state=tuple(s0),
                                    **dict(zip(rec.gates, leaves[3:])))
                b, _, t, _ = x["q"].shape
                self.assertEqual([tuple(a.shape) for a in saved],
                                 [tuple(a.shape) for a in leaves]
                                 + [tuple(o.shape), (b, H, t, 2)]
                                 + [tuple(a.shape) for a in s0])
                self.assertEqual(saved[len(leaves)].data_ptr(), o.data_ptr())
                (o.sum() + finals[0].sum()).backward()
                (got,) = seen
                self.assertEqual(got["o"].data_ptr(), o.data_ptr())
                self.assertEqual(got["norm"].data_ptr(), saved[len(leaves) + 1].data_ptr())
                self.assertEqual(got["norm"].dtype, torch.float32)
                for leaf in leaves + s0:
                    self.assertIsNotNone(leaf.grad)

    def test_a_kernel_without_backward_names_it(self):
        for kind in ("decay", "gated_delta"):  # not compiled with it; no kernel for the kind
            with self.subTest(kind=kind):
                rec = registered(kind, backward=False)
                self.assertFalse(rec.has_backward)
                self.assertIsNone(rec.backward_op)
                x, states = inputs(kind)
                gates = {g: x[g] for g in rec.gates}
                with torch.no_grad():
                    rec(x["q"], x["k"], x["v"], initial_state=states[0], **gates)  # inference works
                q = x["q"].clone().requires_grad_()
                o, _ = rec(q, x["k"], x["v"], initial_state=states[0], **gates)
                with self.assertRaisesRegex(flashgen.FlashgenError,
                                            "no kernel %s_rec_backward.*flashgen compile "
                                            "--backward" % kind):
                    o.sum().backward()

    def test_a_backward_kernel_that_does_not_match_is_refused(self):
        """A backward without dcf for a forward that returns cf would drop
        the final state's gradient: refused at registration."""
        def without(path, names):
            # The bundle's backward kernel with the params `names` left out.
            manifest = os.path.join(path, "manifest.json")
            with open(manifest) as f:
                data = json.load(f)
            grad = data["kernels"][1]
            grad["params"] = [p for p in grad["params"] if p["name"] not in names]
            with open(manifest, "w") as f:
                json.dump(data, f)
            return path

        path = without(write_bundle("decay_rec", *KINDS["decay"], backward=True), ("dcf",))
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    "kernel decay_rec_backward has params .*; the "
                                    "gradient of decay_rec takes .*in dcf"):
            ft.register_recurrence(path)
        # A normaliser kind's backward that does not read o and norm (the
        # forward writes norm for it): refused likewise.
        path = without(write_bundle("mlstm_sig_rec", *KINDS["mlstm_sig"], backward=True,
                                    norm=True), ("o", "norm"))
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    "kernel mlstm_sig_rec_backward has params .*; the "
                                    "gradient of mlstm_sig_rec takes .*in o.*in norm"):
            ft.register_recurrence(path)


@unittest.skipUnless(ft.HAS_CUSTOM_OP, "needs torch >= 2.4")
class Compile(unittest.TestCase):
    def test_fake_tensors_give_the_shapes(self):
        from torch._subclasses.fake_tensor import FakeTensorMode
        rec = registered("mlstm_sig")
        x, states = inputs("mlstm_sig", b=3, t=5)
        with FakeTensorMode() as mode:
            fx = {n: mode.from_tensor(t) for n, t in x.items()}
            fs = [mode.from_tensor(s) for s in states]
            o, c, n, m, norm = rec.forward_op(fx["q"], fx["k"], fx["v"], fx["igate"],
                                              fx["fgate"], *fs)
            gf = {n: mode.from_tensor(t) for n, t in
                  zip(("q", "k", "v", "igate", "fgate", "o", "do", "norm"),
                      (x["q"], x["k"], x["v"], x["igate"], x["fgate"], x["v"], x["v"],
                       torch.zeros(3, H, 5, 2)))}
            grads = rec.backward_op(gf["q"], gf["k"], gf["v"], gf["igate"], gf["fgate"],
                                    gf["o"], gf["do"], gf["norm"], *fs, None, None)
        self.assertEqual(tuple(o.shape), (3, H, 5, DV))
        self.assertEqual(tuple(c.shape), (3, H, DK, DV))
        self.assertEqual(tuple(n.shape), (3, H, DK))
        self.assertEqual(m.numel(), 0)  # mlstm_sig keeps no stabiliser
        self.assertEqual((tuple(norm.shape), norm.dtype), ((3, H, 5, 2), torch.float32))
        self.assertEqual([tuple(g.shape) for g in grads],
                         [tuple(t.shape) for t in (x["q"], x["k"], x["v"], x["igate"],
                                                   x["fgate"])] + [tuple(s.shape) for s in states])

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

    def test_forward_and_backward_compile_without_graph_breaks(self):
        """A loss through o and the final state, compiled with
        fullgraph=True: the forward graph holds the op, the backward graph
        its backward op, and the gradients are eager's."""
        from functorch.compile import make_boxed_func
        from torch._dynamo.backends.common import aot_autograd
        import torch._dynamo
        torch._dynamo.reset()
        graphs = {}

        def keep(kind):
            def compiler(gm, example_inputs):
                graphs[kind] = gm
                return make_boxed_func(gm.forward)
            return compiler
        for kind in ("decay", "mlstm_sig", "mlstm_exp"):  # mLSTM: o and norm saved
            with self.subTest(kind=kind):
                torch._dynamo.reset()
                graphs.clear()
                rec = registered(kind)
                x, states = inputs(kind, t=4)
                names = ["q", "k", "v"] + rec.gates

                def loss(*args, rec=rec, names=names):
                    o, finals = rec(*args[:3], initial_state=tuple(args[len(names):]),
                                    **dict(zip(rec.gates, args[3:len(names)])))
                    return o.square().sum() + sum(f.sum() for f in finals)
                compiled = torch.compile(loss, fullgraph=True, backend=aot_autograd(
                    fw_compiler=keep("forward"), bw_compiler=keep("backward")))
                args = [x[n] for n in names] + states
                grads = []
                for fn in (compiled, loss):
                    leaves = [a.clone().requires_grad_() for a in args]
                    fn(*leaves).backward()
                    grads.append([t.grad for t in leaves])
                for got, want in zip(*grads):
                    torch.testing.assert_close(got, want)
                targets = {k: {str(n.target) for n in g.graph.nodes if n.op == "call_function"}
                           for k, g in graphs.items()}
                self.assertIn("flashgen.%s.default" % rec.op_name, targets["forward"])
                self.assertIn("flashgen.%s_backward.default" % rec.op_name,
                              targets["backward"])


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
