"""A bundle's recurrence kernel (flash.linear_attention, flash.delta_rule) as
PyTorch operators: the sequence form for prefill and the in-place step for
decoding (docs/semantics.md §3, §7, §8).

    import flashgen.torch
    rec = flashgen.torch.register_recurrence("out/gated_delta.bundle")
    o = rec(q, k, v, beta=beta, g=g)                         # zero initial state
    o, state = rec(q, k, v, beta=beta, g=g, initial_state=s0)  # (c,) or (c, n[, m])
    o = rec.step_(q, k, v, beta=beta, g=g, state=s)          # s updated in place

q, k [B, H, T, Dk], v [B, H, T, Dv] and the gate operands (``g``, ``beta``,
``igate`` / ``fgate``: the manifest's params, by keyword) as the manifest
says; ``initial_state`` and ``state`` are the kernel's state tensors in
manifest order (C [B, H, Dk, Dv] f32, then n [B, H, Dk] and m [B, H] for
the mLSTM kinds), a tuple or a lone C. ``step_`` passes C as both the
initial and the final state (the bundle's ``may_alias``: each element is
read before it is written, by the thread that writes it) and copies the new
n and m into theirs, so a decoder keeps one state per layer.

Operators (torch >= 2.4, ``torch.library.custom_op``, namespace
``flashgen``, named after the kernel and a hash of the bundle's path):

- ``<X>_<hash>(q, k, v, *gates, c0?, n0?, m0?) -> (o, cf, nf, mf, norm)``,
  the final states empty where the kernel writes none; ``norm`` the rows'
  normalisers (below) where the backward reads them, else empty, and
  without a gradient; a kernel over packed
  sequences (docs/semantics.md §3.5) takes q, k, v, the gates and o as
  [T, H(, D)] rows and ``cu_seqlens_q`` [B + 1] (int32) as a keyword
  beside the gates, its states one per sequence (no step_; its backward
  takes the same rows and cu_seqlens_q, which has no gradient);
- ``<X>_<hash>_step_(q, k, v, *gates, Tensor(a!) c_state[, Tensor(b!)
  n_state[, Tensor(c!) m_state]]) -> o``, mutating the states.

Gradients: a bundle compiled with ``flashgen compile --backward`` holds
``<X>_backward`` (a flash.linear_attention_grad kernel, every gate kind of
flash.linear_attention) beside ``X``, and the sequence form is then
differentiable in q, k, v, the gate operands and the initial states (C,
n for the mLSTM kinds, m for mlstm_exp), also through the final states
(their gradients reach the kernel as ``dcf``, ``dnf``, ``dmf``):

- ``<X>_<hash>_backward(q, k, v, *gates, o?, grad_o, norm?, c0?, n0?, m0?,
  dcf?, dnf?, dmf?) -> (dq, dk, dv, *d_gates, dc0, dn0?, dm0?)``, ``o``
  and ``norm`` for the normaliser kinds only (below), the initial states
  where the forward takes them, the final states' gradients where it
  returns them; one initial-state gradient per state, empty where no
  initial state is given.

The normaliser kinds (gates mlstm_sig and mlstm_exp: the forward kernel
has the optional f32 output ``norm`` [B, H, T, 2], packed [T, H, 2]; the
row's N_t = q~_t . n_t and its floor, 1 or exp(-m_t)) have a backward
kernel that reads the forward's ``o`` and ``norm`` instead of recomputing
them, as attention's reads o and lse: with a backward kernel, the forward
operator allocates norm and passes it to ``X`` (without one it passes
none and returns norm empty). The forward's autograd formula saves q, k,
v, the gates, ``o`` and ``norm`` for those kinds, and the initial states
(the kernel recomputes the states from them) and calls the backward
operator. A kernel without ``<X>_backward`` (no --backward, or the delta
rule, which has no gradient kernel yet) raises FlashgenError naming it
when a gradient reaches it.
``step_`` has no gradient (decoding).

All have fake implementations (shapes from the inputs), so they trace with
torch.compile(fullgraph=True), forward and backward. With an older torch
the same object launches directly, over a ``torch.autograd.Function`` with
the same saved tensors and backward (no operator to compile).
"""

import hashlib
import threading

import torch

from ._errors import FlashgenError
from .torch import (HAS_CUSTOM_OP, _FORMAT, _INVALID, _NOT_FOUND, _TORCH_DTYPES,
                    _empty_in_order_of, _launchable, _read_manifest, _spell)

__all__ = ["register_recurrence", "RecurrenceOp"]

_RECURRENCE_OPS = ("linear_attention", "delta_rule")
_STATES = ("c", "n", "m")  # manifest params <s>0 (in) and <s>f (out)
_OWN = ({"q", "k", "v", "o", "norm"} | {s + "0" for s in _STATES}
        | {s + "f" for s in _STATES})
_CU_SEQLENS = "cu_seqlens_q"  # a packed recurrence's offsets (dialect/Varlen.h)
_GRADIENT_OP = "linear_attention_grad"  # the op of a bundle's <name>_backward

_registry = {}  # (bundle real path, kernel name) -> RecurrenceOp
_lock = threading.Lock()


def register_recurrence(bundle, name=None):
    """The recurrence kernel ``name`` of ``bundle`` (a path or a
    ``flashgen.Bundle``) as a :class:`RecurrenceOp`; ``name`` may be left
    out when the bundle holds one. Registering it again returns the same
    object. Needs no GPU."""
    path, raw, kernels = _read_manifest(bundle)
    if name is None:
        found = sorted(n for n, k in kernels.items() if k.get("op") in _RECURRENCE_OPS)
        if len(found) != 1:
            raise FlashgenError(_NOT_FOUND, "%s: name the kernel to register "
                                "(recurrence kernels: %s)" % (path, ", ".join(found) or "none"))
        name = found[0]
    digest = hashlib.sha256(raw).hexdigest()
    with _lock:
        op = _registry.get((path, name))
        if op is None:
            op = RecurrenceOp(path, name, kernels, digest)
            _registry[(path, name)] = op
        elif op._manifest_digest != digest:
            raise FlashgenError(_INVALID, "%s: the bundle changed since kernel %s was "
                                "registered in this process, and torch cannot redefine "
                                "an operator; compile to a new path" % (path, name))
        if op._bundle is None and hasattr(bundle, "kernel"):
            op._bundle = bundle
        return op


class RecurrenceOp:
    """A bundle's recurrence kernel as torch operators (module docstring).

    Attributes: ``name``, ``bundle_path``, ``op_name``, ``gates`` (the gate
    operands' names, in the kernel's order), ``states`` (the state params'
    names: "c", then "n", "m" for the mLSTM kinds), ``takes_initial_state``,
    ``returns_final_state``, ``has_backward`` (the bundle holds
    ``<name>_backward``), ``has_norm`` (the forward kernel can write the
    rows' normalisers: gates mlstm_sig, mlstm_exp), ``saves_norm`` (its
    backward reads the forward's o and norm, so the forward operator
    writes norm: has_norm and has_backward), ``forward_op``, ``step_op``
    and ``backward_op``
    (the ``torch.ops.flashgen`` overloads; None before torch 2.4,
    ``step_op`` None unless the kernel reads and writes its state,
    ``backward_op`` None without a backward kernel)."""

    def __init__(self, bundle_path, name, kernels, manifest_digest):
        if name not in kernels:
            raise FlashgenError(_NOT_FOUND, "%s: no kernel %s (kernels: %s)"
                                % (bundle_path, name, ", ".join(kernels)))
        kernel = kernels[name]
        if kernel.get("op") not in _RECURRENCE_OPS:
            raise FlashgenError(_INVALID, "%s: kernel %s is a %s kernel; "
                                "register_recurrence takes linear_attention and "
                                "delta_rule kernels (flashgen.torch.register takes "
                                "attention)" % (bundle_path, name, kernel.get("op")))
        self.name, self.bundle_path = name, bundle_path
        self._manifest_digest = manifest_digest
        self._params = {p["name"]: p for p in kernel.get("params", [])}
        for pname, io in (("q", "in"), ("k", "in"), ("v", "in"), ("o", "out")):
            if self._params.get(pname, {}).get("io") != io:
                raise FlashgenError(_FORMAT, "%s: kernel %s has no %s param %r"
                                    % (bundle_path, name, io, pname))
        # The gate operands, and for packed sequences (docs/semantics.md
        # §3.5) cu_seqlens_q among them: a keyword like the gates, its
        # [B + 1] offsets giving the batch of the final states.
        self.gates = [p["name"] for p in kernel["params"]
                      if p["name"] not in _OWN and p.get("io") == "in"]
        self.packed = _CU_SEQLENS in self.gates
        # The gate operands with a gradient (cu_seqlens_q has none).
        self.diff_gates = [g for g in self.gates if g != _CU_SEQLENS]
        # The forward's launch scalars: the packed delta rule's prepare grid
        # covers the longest sequence's chunks (max_seqlen_q).
        self._scalars = {sc["name"] for sc in kernel.get("scalars", [])}
        self.states = [s for s in _STATES if s + "0" in self._params or s + "f" in self._params]
        self.takes_initial_state = "c0" in self._params
        self.returns_final_state = "cf" in self._params
        # The normaliser kinds' rows (N_t, floor_t), an optional output.
        self.has_norm = self._params.get("norm", {}).get("io") == "out"
        bwd = kernels.get(name + "_backward")
        self.has_backward = bwd is not None and bwd.get("op") == _GRADIENT_OP
        self._bwd_params = (self._check_backward(bwd) if self.has_backward
                            else None)
        # The backward reads the forward's o and norm: the forward writes
        # norm and autograd saves both.
        self.saves_norm = self.has_backward and self.has_norm
        self.op_name = "%s_%s" % (name, hashlib.sha256(bundle_path.encode()).hexdigest()[:8])
        self._bundle = None
        self._kernels = {}  # (kernel name, device index) -> flashgen.Kernel
        # device type -> the kernel filling allocated outputs (forward,
        # backward).
        self._impls = {"cuda": self._launch}
        self._backward_impls = {"cuda": self._launch_backward}
        self.forward_op = self.step_op = self.backward_op = None
        if HAS_CUSTOM_OP:
            self._define_ops()

    def _check_backward(self, kernel):
        """The backward kernel's params by name, after checking that they
        are the ones this forward's gradient needs: q, k, v, the gates and
        do in; o and norm in where the forward writes norm (the
        normaliser kinds); each state's <s>0 in and d<s>0 out where the
        forward takes initial states, d<s>f in where it returns final
        ones; dq, dk, dv and "d" + each gate out. Anything else is a
        kernel this module cannot drive, refused at registration rather
        than at the first backward."""
        want = {"q": "in", "k": "in", "v": "in", "do": "in",
                "dq": "out", "dk": "out", "dv": "out"}
        if self.has_norm:
            want["o"] = want["norm"] = "in"
        for gname in self.gates:
            want[gname] = "in"
        for gname in self.diff_gates:
            want["d" + gname] = "out"
        for s in self.states:
            if self.takes_initial_state:
                want[s + "0"], want["d" + s + "0"] = "in", "out"
            if self.returns_final_state:
                want["d" + s + "f"] = "in"
        params = {p["name"]: p for p in kernel.get("params", [])}
        got = {n: p.get("io") for n, p in params.items()}
        if got != want:
            raise FlashgenError(_FORMAT, "%s: kernel %s_backward has params %s; the "
                                "gradient of %s takes %s" % (
                                    self.bundle_path, self.name,
                                    ", ".join("%s %s" % (io, n) for n, io in got.items()),
                                    self.name,
                                    ", ".join("%s %s" % (io, n) for n, io in want.items())))
        return params

    def __repr__(self):
        return "<flashgen.torch.RecurrenceOp %s of %s (op flashgen::%s; gates %s; states %s%s)>" % (
            self.name, self.bundle_path, self.op_name, ", ".join(self.gates) or "none",
            ", ".join(self.states) or "none", "; with backward" if self.has_backward else "")

    # -- the public entry points --------------------------------------------

    def __call__(self, q, k, v, initial_state=None, **gates):
        """o [B, H, T, Dv], or (o, final states) when the kernel writes them
        (a tuple in manifest order: (c,), (c, n) or (c, n, m)).
        ``initial_state``: None (zeros) or the states (a tuple, or C alone
        for a kernel with C only)."""
        if initial_state is not None and not self.takes_initial_state:
            raise FlashgenError(_INVALID, "initial_state: kernel %s of %s takes none "
                                "(compile the spec with initial(...))"
                                % (self.name, self.bundle_path))
        args = self._gate_args(gates)
        states = self._state_args(initial_state, "initial_state", required=False)
        self._check_devices(q, k, v, args, states)
        if self.forward_op is not None:
            out = self.forward_op(q, k, v, *args, *states)
        else:
            out = _Function.apply(self, q, k, v, *args, *states)
        o, finals = out[0], tuple(out[1:1 + len(self.states)])
        return (o, finals) if self.returns_final_state else o

    def step_(self, q, k, v, state, **gates):
        """One decoding step (or a few tokens: T of q) that updates
        ``state`` in place (C, and n, m where the kind has them) and
        returns o."""
        if not (self.takes_initial_state and self.returns_final_state):
            raise FlashgenError(_INVALID, "kernel %s of %s does not read and write its "
                                "state (compile the spec with initial(...) and "
                                "return_final_state)" % (self.name, self.bundle_path))
        if self.packed:
            raise FlashgenError(_INVALID, "kernel %s of %s runs packed sequences "
                                "(cu_seqlens_q); step_ takes a batch [B, H, T, D]: "
                                "call the sequence form with initial_state instead"
                                % (self.name, self.bundle_path))
        args = self._gate_args(gates)
        states = self._state_args(state, "state", required=True)
        self._check_devices(q, k, v, args, states)
        if self.step_op is not None:
            return self.step_op(q, k, v, *args, *states)
        return self._step(q, k, v, *args, *states)

    def _require_backward(self):
        if not self.has_backward:
            raise FlashgenError(_NOT_FOUND, "%s: no kernel %s_backward, so "
                                "flashgen.torch cannot differentiate %s: compile "
                                "the spec with flashgen compile --backward (every gate "
                                "kind has gradient kernels; the delta rule none yet)"
                                % (self.bundle_path, self.name, self.name))

    # -- arguments ----------------------------------------------------------

    def _gate_args(self, given):
        unknown = sorted(set(given) - set(self.gates))
        if unknown:
            raise FlashgenError(_INVALID, "kernel %s of %s takes no %s (its gate "
                                "operands: %s)" % (self.name, self.bundle_path,
                                                   ", ".join(unknown),
                                                   ", ".join(self.gates) or "none"))
        args = []
        for gname in self.gates:
            t = given.get(gname)
            p = self._params[gname]
            if not isinstance(t, torch.Tensor):
                raise FlashgenError(_INVALID, "%s: missing or not a tensor: kernel %s "
                                    "takes %s=%s %s" % (gname, self.name, gname,
                                                        p["dtype"], _spell(p["shape"])))
            if t.dtype != _TORCH_DTYPES.get(p["dtype"]):
                raise FlashgenError(_INVALID, "%s: dtype %s, kernel %s expects %s"
                                    % (gname, t.dtype, self.name, p["dtype"]))
            args.append(t)
        return args

    def _state_args(self, given, what, required):
        """The states as a list in manifest order (None where absent)."""
        if given is None:
            if required:
                raise FlashgenError(_INVALID, "%s: missing" % what)
            return [None] * len(self.states)
        states = list(given) if isinstance(given, (tuple, list)) else [given]
        if len(states) != len(self.states):
            raise FlashgenError(_INVALID, "%s: %d tensors given, kernel %s keeps %d (%s)"
                                % (what, len(states), self.name, len(self.states),
                                   ", ".join(self.states)))
        for s, t in zip(self.states, states):
            if not isinstance(t, torch.Tensor) or t.dtype != torch.float32:
                raise FlashgenError(_INVALID, "%s: state %s must be an f32 tensor, got %s"
                                    % (what, s, getattr(t, "dtype", type(t).__name__)))
        return states

    def _check_devices(self, q, k, v, args, states):
        for pname, t in (("q", q), ("k", k), ("v", v)):
            if t.device.type not in self._impls and not (
                    t.device.type == "meta" and self.forward_op is not None):
                raise FlashgenError(_INVALID, "%s: tensor is on %s, not on a CUDA device"
                                    % (pname, t.device))
        for t in list(args) + [s for s in states if s is not None]:
            if t.device != q.device:
                raise FlashgenError(_INVALID, "tensor on %s, q on %s" % (t.device, q.device))

    # -- shapes (shared by the real and fake paths) -------------------------

    def _allocate(self, q, v, args=(), with_norm=False):
        """(o, final states, norm): o like v; the final states contiguous
        f32 (empty where none); norm, with ``with_norm``, the rows'
        normalisers contiguous f32 [B, H, T, 2] (packed [T, H, 2]), else
        empty. Packed sequences: q [T, H, Dk], v [T, H, Dv], B from
        cu_seqlens_q (in ``args``, the gate operands' order)."""
        if self.packed:
            cu = args[self.gates.index(_CU_SEQLENS)]
            b, h, dk, dv = cu.shape[0] - 1, q.shape[1], q.shape[2], v.shape[2]
        else:
            b, h, dk, dv = q.shape[0], q.shape[1], q.shape[3], v.shape[3]
        o = _empty_in_order_of(v, v.shape, v.dtype)
        shapes = {"c": (b, h, dk, dv), "n": (b, h, dk), "m": (b, h)}
        finals = []
        for s in _STATES:
            if self.returns_final_state and s in self.states:
                finals.append(torch.empty(shapes[s], dtype=torch.float32, device=q.device))
            else:
                finals.append(torch.empty((0,), dtype=torch.float32, device=q.device))
        norm = torch.empty(tuple(q.shape[:-1]) + (2,) if with_norm else (0,),
                           dtype=torch.float32, device=q.device)
        return o, finals, norm

    def _sequence(self, q, k, v, *rest):
        args, states = list(rest[:len(self.gates)]), list(rest[len(self.gates):])
        o, finals, norm = self._allocate(q, v, args, self.saves_norm)
        self._impls[q.device.type](q, k, v, args, states, o, finals,
                                   norm if self.saves_norm else None, in_place=False)
        return (o, *finals, norm)

    def _step(self, q, k, v, *rest):
        args, states = list(rest[:len(self.gates)]), list(rest[len(self.gates):])
        o, finals, _ = self._allocate(q, v)
        # C in place; n, m through their fresh outputs, copied back.
        finals[0] = states[0]
        self._impls[q.device.type](q, k, v, args, states, o, finals, None, in_place=True)
        for i in range(1, len(self.states)):
            states[i].copy_(finals[i])
        return o

    # -- the gradient (shared by the operator and the autograd.Function) ---

    def _split_backward(self, rest):
        """(gates, o, grad_o, norm, initial, dfinal) from the backward
        operator's arguments after q, k, v: the gates, o (saves_norm
        only), grad_o, norm (saves_norm only; o and norm None otherwise),
        then the initial states where the forward takes them and the final
        states' gradients where it returns them (lists in state order,
        None where not given)."""
        n, ns = len(self.gates), len(self.states)
        gates, tail = list(rest[:n]), list(rest[n:])
        if self.saves_norm:
            o, grad_o, norm, tail = tail[0], tail[1], tail[2], tail[3:]
        else:
            o, grad_o, norm, tail = None, tail[0], None, tail[1:]
        initial = tail[:ns] if self.takes_initial_state else [None] * ns
        tail = tail[ns:] if self.takes_initial_state else tail
        dfinal = tail[:ns] if self.returns_final_state else [None] * ns
        return gates, o, grad_o, norm, list(initial), list(dfinal)

    def _allocate_backward(self, q, k, v, gates, initial):
        """dq, dk, dv and the gates' gradients (cu_seqlens_q has none) in
        their inputs' dim order; each initial state's gradient contiguous
        f32 where the initial states are given, else empty. Packed: q [T,
        H, Dk], v [T, H, Dv], one state per sequence of cu_seqlens_q."""
        named = dict(zip(self.gates, gates))
        grads = [_empty_in_order_of(t, t.shape, t.dtype)
                 for t in [q, k, v] + [named[g] for g in self.diff_gates]]
        if self.packed:
            b, h, dk, dv = named[_CU_SEQLENS].shape[0] - 1, q.shape[1], q.shape[2], v.shape[2]
        else:
            b, h, dk, dv = q.shape[0], q.shape[1], q.shape[3], v.shape[3]
        shapes = {"c": (b, h, dk, dv), "n": (b, h, dk), "m": (b, h)}
        dinitial = [torch.empty(shapes[s] if t is not None else (0,), dtype=torch.float32,
                                device=q.device)
                    for s, t in zip(self.states, initial)]
        return grads, dinitial

    def _backward(self, q, k, v, *rest):
        gates, o, grad_o, norm, initial, dfinal = self._split_backward(rest)
        grads, dinitial = self._allocate_backward(q, k, v, gates, initial)
        self._backward_impls[q.device.type](q, k, v, gates, o, grad_o, norm, initial, dfinal,
                                            grads, dinitial)
        return (*grads, *dinitial)

    def _saved(self, inputs, outputs):
        """(tensors to save, whether the initial states are among them)
        for the forward's operator inputs and outputs (o, cf, nf, mf,
        norm): q, k, v, the gates, o and norm where the backward reads
        them (saves_norm), then the initial states where given."""
        n, ns = 3 + len(self.gates), len(self.states)
        initial = list(inputs[n:n + ns]) if self.takes_initial_state else []
        has_initial = bool(initial) and initial[0] is not None
        saved = list(inputs[:n])
        if self.saves_norm:
            saved += [outputs[0], outputs[1 + len(_STATES)]]
        return saved + (initial if has_initial else []), has_initial

    def _gradients(self, backward, saved, has_initial, grad_o, grad_finals):
        """The autograd formula: the gradients of the forward's inputs (q,
        k, v, the gates, then one per state where the initial states were
        given) through ``backward`` (the operator, or _backward before
        torch 2.4). ``saved``: as _saved lays it out (q, k, v, the gates,
        o and norm where saves_norm, the initial states where given).
        Undefined gradients: o's as zeros, the final states' as None (the
        kernel reads a null one as zeros)."""
        self._require_backward()
        n, ns = len(self.gates), len(self.states)
        q, k, v, gates = saved[0], saved[1], saved[2], list(saved[3:3 + n])
        at = 3 + n
        o = norm = None
        if self.saves_norm:
            o, norm = saved[at], saved[at + 1]
            at += 2
        initial = list(saved[at:at + ns]) if has_initial else [None] * ns
        dfinal = list(grad_finals[:ns]) if self.returns_final_state else [None] * ns
        if grad_o is None and all(d is None for d in dfinal):
            return (None,) * (3 + n + ns)
        if grad_o is None:
            grad_o = torch.zeros_like(v)  # o is allocated like v (_allocate)
        args = [o, grad_o, norm] if self.saves_norm else [grad_o]
        if self.takes_initial_state:
            args.extend(initial)
        if self.returns_final_state:
            args.extend(dfinal)
        out = backward(q, k, v, *gates, *args)
        nd = len(self.diff_gates)
        state_grads = list(out[3 + nd:3 + nd + ns]) if has_initial else [None] * ns
        # One gradient per input: none for cu_seqlens_q.
        dgates = iter(out[3:3 + nd])
        gate_grads = [None if g == _CU_SEQLENS else next(dgates) for g in self.gates]
        return (*out[:3], *gate_grads, *state_grads)

    # -- CUDA: the bundle's kernel --------------------------------------------

    def _kernel_for(self, device, kname=None):
        """Kernel ``kname`` (the forward by default) for ``device``, one
        object per kernel and device (its selected variant is per object)."""
        kname = kname or self.name
        index = device.index
        if index is None and device.type == "cuda":
            index = torch.cuda.current_device()
        kern = self._kernels.get((kname, index))
        if kern is None:
            if self._bundle is None:
                from ._bundle import load
                self._bundle = load(self.bundle_path)
            kern = self._bundle.kernel(kname, device=index or 0)
            self._kernels[(kname, index)] = kern
        return kern

    def _launch(self, q, k, v, args, states, o, finals, norm, in_place):
        if o.numel() == 0 and not self.returns_final_state:
            return
        p = self._params
        launch = dict(q=_launchable(q, p["q"]), k=_launchable(k, p["k"]),
                      v=_launchable(v, p["v"]), o=o)
        if norm is not None:  # the rows' normalisers, for the backward
            launch["norm"] = norm
        for gname, t in zip(self.gates, args):
            launch[gname] = _launchable(t, p[gname])
        for s, t in zip(self.states, states):
            if t is not None:
                # In place, C must reach the kernel as itself (no copy).
                launch[s + "0"] = t if (in_place and s == "c") else _launchable(t, p[s + "0"])
        if self.returns_final_state:
            for s, t in zip(_STATES, finals):
                if s in self.states:
                    launch[s + "f"] = t
        if "max_seqlen_q" in self._scalars:
            cu = launch[_CU_SEQLENS]
            launch["max_seqlen_q"] = int((cu[1:] - cu[:-1]).max().item()) if cu.shape[0] > 1 else 0
        self._kernel_for(q.device)(**launch)

    def _launch_backward(self, q, k, v, gates, o, grad_o, norm, initial, dfinal, grads,
                         dinitial):
        # Nothing to write: no batch, or no tokens and no initial states
        # (with T = 0 and C0 the kernel still writes dc0 = dcf).
        has_initial = any(t is not None for t in initial)
        named = dict(zip(self.gates, gates))
        if self.packed:
            # No sequence: nothing to write. The grid covers the longest
            # sequence's chunks (max_seqlen_q, read on the host).
            cu = named[_CU_SEQLENS]
            if cu.shape[0] <= 1:
                return
        elif q.shape[0] == 0 or (q.shape[2] == 0 and not has_initial):
            return
        p = self._bwd_params
        # "do" is a Python keyword: the launch takes its params as a dict.
        launch = {n: _launchable(t, p[n]) for n, t in
                  (("q", q), ("k", k), ("v", v), ("do", grad_o))}
        if self.saves_norm:  # the forward's o and rows' normalisers
            launch["o"] = _launchable(o, p["o"])
            launch["norm"] = _launchable(norm, p["norm"])
        for gname, t in zip(self.gates, gates):
            launch[gname] = _launchable(t, p[gname])
        for s, t0, tf, d0 in zip(self.states, initial, dfinal, dinitial):
            if t0 is not None:
                launch[s + "0"] = _launchable(t0, p[s + "0"])
                launch["d" + s + "0"] = d0
            if tf is not None:
                launch["d" + s + "f"] = _launchable(tf, p["d" + s + "f"])
        for gname, t in zip(["q", "k", "v"] + self.diff_gates, grads):
            launch["d" + gname] = t
        if self.packed:
            launch["max_seqlen_q"] = int((cu[1:] - cu[:-1]).max().item())
        self._kernel_for(q.device, self.name + "_backward")(**launch)

    # -- torch.library ------------------------------------------------------

    def _define_ops(self):
        spec = self
        lib = torch.library
        gates = "".join(", Tensor %s" % g for g in self.gates)
        states = "".join(", Tensor? %s0" % s for s in self.states)
        forward = lib.custom_op(
            "flashgen::" + self.op_name,
            lambda q, k, v, *rest: spec._sequence(q, k, v, *rest),
            mutates_args=(), device_types="cuda",
            schema="(Tensor q, Tensor k, Tensor v%s%s) -> (Tensor, Tensor, Tensor, Tensor, "
            "Tensor)" % (gates, states))

        @forward.register_fake
        def _(q, k, v, *rest):
            o, finals, norm = spec._allocate(q, v, rest[:len(spec.gates)], spec.saves_norm)
            return (o, *finals, norm)

        backward = None
        if self.has_backward:
            optional = ("".join(", Tensor? %s0" % s for s in self.states)
                        if self.takes_initial_state else "")
            optional += ("".join(", Tensor? d%sf" % s for s in self.states)
                         if self.returns_final_state else "")
            grad_o = ("Tensor o, Tensor grad_o, Tensor norm" if self.saves_norm
                      else "Tensor grad_o")
            backward = lib.custom_op(
                "flashgen::" + self.op_name + "_backward",
                lambda q, k, v, *rest: spec._backward(q, k, v, *rest),
                mutates_args=(), device_types="cuda",
                schema="(Tensor q, Tensor k, Tensor v%s, %s%s) -> (%s)"
                % (gates, grad_o, optional,
                   ", ".join(["Tensor"] * (3 + len(self.diff_gates) + len(self.states)))))

            @backward.register_fake
            def _(q, k, v, *rest):
                gate_args, _, _, _, initial, _ = spec._split_backward(rest)
                grads, dinitial = spec._allocate_backward(q, k, v, gate_args, initial)
                return (*grads, *dinitial)

        def setup_context(ctx, inputs, output):
            # q, k, v, the gates and the initial states (the backward kernel
            # recomputes the states from them), and the normaliser kinds'
            # o and norm (it reads them instead of recomputing them).
            saved, ctx.has_initial = spec._saved(inputs, output)
            ctx.save_for_backward(*saved)
            ctx.mark_non_differentiable(output[-1])  # norm

        def autograd_backward(ctx, grad_o, grad_cf, grad_nf, grad_mf, grad_norm):
            return spec._gradients(backward, ctx.saved_tensors, ctx.has_initial,
                                   grad_o, [grad_cf, grad_nf, grad_mf])

        forward.register_autograd(autograd_backward, setup_context=setup_context)
        self._custom_ops = [forward, backward]
        self.forward_op = getattr(torch.ops.flashgen, self.op_name).default
        if backward is not None:
            self.backward_op = getattr(torch.ops.flashgen, self.op_name + "_backward").default
        if not (self.takes_initial_state and self.returns_final_state):
            return
        names = [s + "_state" for s in self.states]
        marks = "".join(", Tensor(%s!) %s" % (chr(ord("a") + i), n)
                        for i, n in enumerate(names))
        step = lib.custom_op(
            "flashgen::" + self.op_name + "_step_",
            lambda q, k, v, *rest: spec._step(q, k, v, *rest),
            mutates_args=tuple(names), device_types="cuda",
            schema="(Tensor q, Tensor k, Tensor v%s%s) -> Tensor" % (gates, marks))

        @step.register_fake
        def _(q, k, v, *rest):
            return spec._allocate(q, v)[0]

        self._custom_ops.append(step)
        self.step_op = getattr(torch.ops.flashgen, self.op_name + "_step_").default

    def _register_test_double(self, sequence, device_type="cpu", backward=None):
        """TEST DOUBLE, for tests only: ``sequence(q, k, v, gates: dict,
        states: list) -> (o, final states list)`` (e.g. a float64
        reference) runs as this op's kernel for tensors on ``device_type``;
        its results are copied into the outputs the real path allocates
        (in place for a step's C, as the kernel writes it). Where the
        forward writes norm (saves_norm), ``sequence`` may return the rows'
        normalisers third, ``(o, finals, norm)``, copied into it; without
        them norm is zeroed. ``backward(q, k, v, do, gates: dict, initial:
        list, dfinal: list) -> (dq, dk, dv, gate gradients: dict,
        initial-state gradients: list)`` (the lists in state order, None
        where not given; the gradients read only with initial states) runs
        as the backward kernel, for an op whose bundle has one; with
        saves_norm it also gets the forward's o and norm, as keywords
        ``o=`` and ``norm=``."""
        def fill(q, k, v, args, states, o, finals, norm, in_place):
            got = sequence(q, k, v, dict(zip(self.gates, args)), list(states))
            o_ref, finals_ref = got[0], got[1]
            o.copy_(o_ref)
            if self.returns_final_state:
                for s, t, ref in zip(self.states, finals, finals_ref):
                    t.copy_(ref)
            if norm is not None:
                if len(got) > 2:
                    norm.copy_(got[2])
                else:
                    norm.zero_()

        def fill_backward(q, k, v, gates, o, grad_o, norm, initial, dfinal, grads, dinitial):
            saved = dict(o=o, norm=norm) if self.saves_norm else {}
            dq, dk, dv, dgates, dinitial_ref = backward(
                q, k, v, grad_o, dict(zip(self.gates, gates)), initial, dfinal, **saved)
            for t, ref in zip(grads, [dq, dk, dv] + [dgates[g] for g in self.diff_gates]):
                t.copy_(ref)
            for t0, d0, ref in zip(initial, dinitial, dinitial_ref):
                if t0 is not None:
                    d0.copy_(ref)

        self._impls[device_type] = fill
        if backward is not None:
            self._backward_impls[device_type] = fill_backward
        if self.forward_op is not None:
            forward, bwd, *step = self._custom_ops
            forward.register_kernel(
                device_type, lambda q, k, v, *rest: self._sequence(q, k, v, *rest))
            if bwd is not None and backward is not None:
                bwd.register_kernel(
                    device_type, lambda q, k, v, *rest: self._backward(q, k, v, *rest))
            if step:
                step[0].register_kernel(
                    device_type, lambda q, k, v, *rest: self._step(q, k, v, *rest))


class _Function(torch.autograd.Function):
    """The sequence form for a torch without custom ops (< 2.4): the same
    saved tensors and autograd formula as the registered operator's, the
    backward kernel launched directly."""

    @staticmethod
    def forward(ctx, op, q, k, v, *rest):
        ctx.op = op
        out = op._sequence(q, k, v, *rest)
        saved, ctx.has_initial = op._saved((q, k, v) + rest, out)
        ctx.save_for_backward(*saved)
        ctx.mark_non_differentiable(out[-1])  # norm
        return out

    @staticmethod
    def backward(ctx, grad_o, grad_cf, grad_nf, grad_mf, grad_norm):
        op = ctx.op
        return (None,) + tuple(op._gradients(op._backward, ctx.saved_tensors, ctx.has_initial,
                                             grad_o, [grad_cf, grad_nf, grad_mf]))
