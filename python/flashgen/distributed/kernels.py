"""flashgen kernels as the distributed code's per-shard callables.

What the distributed code needs from a bundle's kernels (manifest param
names, docs/bundle-format.md §1.3):

Attention (``ring_attention``), two kernels of the same heads and dims:

- one with mask ``none`` whose query and key lengths are separate symbols
  (``dims ["B", "N", "M"]``): the zig-zag layout calls it with ``N = 2M``
  and ``M = 2N`` (and uneven lengths when the total does not divide);
- one with mask ``causal`` (``N == M`` is enough: it only runs on a rank's
  own shard, or on one chunk against itself);
- both with the optional output ``lse`` (``f32 [B, Hq, N]``, natural log,
  ``-inf`` for a row without a visible key), which every attention kernel
  declares and writes when it is passed.

Recurrences (``recurrence_state_passing``), one kernel compiled with
``initial(...)`` and ``return_final_state`` (bundle params ``c0[, n0, m0]``
in, ``cf[, nf, mf]`` out, all f32; examples/mlstm_sig.mlir has them):

- the first pass runs from the zero state and reads ``cf[, nf, mf]``;
- the second from the folded initial state ``c0[, n0, m0]``;
- ``mlstm_exp``'s first pass passes ``m0 = -inf`` with ``c0 = n0 = 0`` (or
  ``mlstm_zero_m``, e.g. -1e30, if a kernel mishandles -inf).

A kernel without these operands is refused with a message naming them.
"""

from .._errors import FlashgenError

_STATE_NAMES = {"none": ("c",), "decay": ("c",), "vector": ("c",),
                "mlstm_sig": ("c", "n"), "mlstm_exp": ("c", "n", "m")}
_GATE_NAMES = {"none": (), "decay": ("g",), "vector": ("g",),
               "mlstm_sig": ("igate", "fgate"), "mlstm_exp": ("igate", "fgate")}


def _require(kernel, names, why):
    have = {p["name"]: p for p in kernel.params}
    missing = [n for n in names if n not in have]
    if missing:
        raise FlashgenError(1, "%s: no %s operand(s) %s (%s); has %s"
                            % (kernel.name, "/".join(missing),
                               ", ".join(repr(n) for n in missing), why,
                               ", ".join(have) or "none"))
    return have


def _aligned(t, align=16):
    """t, or a copy of it where its data pointer is not `align`-byte aligned
    (the kernels' vector loads need it; docs/bundle-format.md §1.3). A shard
    of a [B, H, T] gate is a view starting T0 elements in, aligned only
    when T0 is a multiple of 4."""
    return t if t.data_ptr() % align == 0 else t.clone()


def attention_kernel(full, causal=None, **scalars):
    """The per-shard callable ``(q, k, v, causal) -> (o, lse)`` over
    flashgen attention kernels: ``full`` with mask ``none``, ``causal`` with
    mask ``causal`` (may be omitted for non-causal attention). Scalars
    (``scale`` where the kernel takes it at run time) are passed through."""
    import torch
    why = "ring attention merges partial outputs by their log-sum-exp"
    for kern in (full, causal):
        if kern is not None:
            _require(kern, ("q", "k", "v", "o", "lse"), why)

    def call(q, k, v, is_causal):
        kern = causal if is_causal else full
        if kern is None:
            raise FlashgenError(1, "ring attention needs a causal kernel for "
                                "a causal block; pass attention_kernel(full, "
                                "causal)")
        B, Hq, N, _ = q.shape
        o = torch.empty(B, Hq, N, v.shape[3], dtype=q.dtype, device=q.device)
        lse = torch.empty(B, Hq, N, dtype=torch.float32, device=q.device)
        kern(q=_aligned(q), k=_aligned(k), v=_aligned(v), o=o, lse=lse,
             **scalars)
        return o, lse
    return call


def recurrence_kernel(kernel, gate, **scalars):
    """The per-shard callable ``(q, k, v, gates, initial_state) -> (o,
    final_state)`` over a flashgen ``linear_attention`` kernel of gate kind
    ``gate`` compiled with ``initial(...)`` and ``return_final_state``."""
    import torch
    if gate not in _STATE_NAMES:
        raise ValueError("gate %r: expected one of %s"
                         % (gate, tuple(_STATE_NAMES)))
    states = _STATE_NAMES[gate]
    names = (("q", "k", "v") + _GATE_NAMES[gate] + tuple(s + "0" for s in states)
             + ("o",) + tuple(s + "f" for s in states))
    _require(kernel, names, "chunk-state passing starts each shard from a "
             "given state and reads its final state: compile with initial(...) "
             "and return_final_state")

    def call(q, k, v, gates, initial_state):
        B, H, T, Dk = q.shape
        Dv = v.shape[3]
        shapes = {"c": (B, H, Dk, Dv), "n": (B, H, Dk), "m": (B, H)}
        args = dict(zip(("q", "k", "v") + _GATE_NAMES[gate],
                        tuple(_aligned(t) for t in (q, k, v) + tuple(gates))))
        if initial_state is not None:  # None: null pointers, a zero state
            for s, t in zip(states, initial_state):
                args[s + "0"] = t.to(torch.float32).contiguous()
        o = torch.empty(B, H, T, Dv, dtype=q.dtype, device=q.device)
        final = tuple(torch.empty(shapes[s], dtype=torch.float32,
                                  device=q.device) for s in states)
        args["o"] = o
        for s, t in zip(states, final):
            args[s + "f"] = t
        kernel(**args, **scalars)
        return o, final
    return call
