"""Chunk-state passing for the recurrences of ``flash.linear_attention``.

Rank ``r`` holds the contiguous shard ``r`` of the sequence (sharding.py).
The state after its shard is an affine function of the state before it:

    none, decay, vector, mlstm_sig:   S_out = diag(exp(A_r)) S_in + S_r
    mlstm_exp (stabilised, §3.2):     m_out = max(F_r + m_in, m_r)
                                      C_out = e^(F_r + m_in - m_out) C_in
                                            + e^(m_r - m_out) C_r   (n alike)

where ``S_r`` (``C``, and ``n`` for the mLSTMs) is the shard's final state
from a zero state and ``A_r`` its total log-transition: 0 for ``none``, the
sum of its log-decays ``g`` for ``decay`` (``[B, H]``) and ``vector`` (``[B,
H, Dk]``), the sum of ``log sigmoid(f)`` for the mLSTMs (``[B, H]``; ``F_r``
above). For ``mlstm_exp`` the zero state is ``(0, 0, m = -inf)``, so that
``m_r`` is the largest log weight of the shard's own inputs.

1. Each rank runs its shard from the zero state (rank 0 from the user's
   initial state: its first run is already its true run) and keeps the final
   state.
2. One ``all_gather`` of ``(S_r, A_r)``: ``B*H*(Dk*Dv + Dk + 1)`` numbers at
   most per rank, independent of the sequence length.
3. Each rank folds the affine maps of the ranks before it, giving its true
   initial state, and (``return_final_state``) the fold of all of them, the
   final state of the whole sequence.
4. ``mode="rerun"``: ranks ``r >= 1`` run their shard again from the true
   initial state. ``mode="correct"`` (``none``, ``decay``, ``vector`` only)
   keeps the zero-state outputs and adds the initial state's contribution
   ``o_t += (exp(F_t) * q~_t) @ S_in`` (``F_t`` the inclusive cumulative
   log-decay within the shard): one ``[T_r, Dk] x [Dk, Dv]`` product per
   head instead of a second kernel run. The mLSTMs divide by a normaliser
   that depends on the state, so they rerun.
"""

import math
from dataclasses import dataclass

GATES = ("none", "decay", "vector", "mlstm_sig", "mlstm_exp")
_GATE_OPERANDS = {"none": 0, "decay": 1, "vector": 1, "mlstm_sig": 2,
                  "mlstm_exp": 2}


def state_shapes(gate, B, H, Dk, Dv):
    """The state tensors' shapes for a gate kind (docs/semantics.md §3.3)."""
    shapes = [(B, H, Dk, Dv)]
    if gate in ("mlstm_sig", "mlstm_exp"):
        shapes.append((B, H, Dk))
    if gate == "mlstm_exp":
        shapes.append((B, H))
    return shapes


def zero_state(gate, B, H, Dk, Dv, dtype, device, m0=0.0):
    import torch
    state = [torch.zeros(s, dtype=dtype, device=device)
             for s in state_shapes(gate, B, H, Dk, Dv)]
    if gate == "mlstm_exp":
        state[2].fill_(m0)
    return tuple(state)


def log_transition(gate, gates, dtype):
    """The shard's total log-transition ``A_r`` (``None`` for ``none``):
    a reduction over the shard's own gates, no kernel needed."""
    import torch
    if gate == "none":
        return None
    if gate == "decay":
        return gates[0].to(dtype).sum(dim=2)
    if gate == "vector":
        return gates[0].to(dtype).sum(dim=2)
    return torch.nn.functional.logsigmoid(gates[1].to(dtype)).sum(dim=2)


def _scale_rows(x, a):
    """diag(exp(a)) x for a state tensor x: ``a`` is [B, H] or [B, H, Dk]."""
    import torch
    w = torch.exp(a)
    while w.dim() < x.dim():
        w = w.unsqueeze(-1)
    return x * w


def compose(gate, s_in, s_shard, a_shard):
    """The state after a shard that starts in ``s_in``: ``s_shard`` is its
    final state from the zero state, ``a_shard`` its log-transition."""
    import torch
    if gate == "none":
        return tuple(x + y for x, y in zip(s_in, s_shard))
    if gate != "mlstm_exp":
        return tuple(_scale_rows(x, a_shard) + y
                     for x, y in zip(s_in, s_shard))
    c_in, n_in, m_in = s_in
    c_r, n_r, m_r = s_shard
    carried = a_shard + m_in
    m_out = torch.maximum(carried, m_r)
    # Both -inf (an empty prefix meets an empty shard): weights 0, m -inf.
    safe = torch.where(torch.isneginf(m_out), torch.zeros_like(m_out), m_out)
    w_in, w_r = torch.exp(carried - safe), torch.exp(m_r - safe)
    return (c_in * w_in[..., None, None] + c_r * w_r[..., None, None],
            n_in * w_in[..., None] + n_r * w_r[..., None], m_out)


def _check_args(gate, mode, gates):
    if gate not in GATES:
        raise ValueError("gate %r: expected one of %s" % (gate, GATES))
    if mode not in ("rerun", "correct"):
        raise ValueError("mode %r: expected 'rerun' or 'correct'" % mode)
    if mode == "correct" and gate in ("mlstm_sig", "mlstm_exp"):
        raise ValueError("mode='correct' needs an output linear in the "
                         "initial state; %s normalises by it: use 'rerun'"
                         % gate)
    if len(tuple(gates)) != _GATE_OPERANDS[gate]:
        raise ValueError("gate %s takes %d gate operand(s), got %d"
                         % (gate, _GATE_OPERANDS[gate], len(tuple(gates))))


@dataclass
class StateStats:
    """One rank's communication: ``payload_bytes`` is what it contributes to
    the all_gather (its final state and log-transition); ``bytes_sent`` is
    ``(W - 1) * payload_bytes``, what a ring all-gather sends per rank."""
    payload_bytes: int = 0
    bytes_sent: int = 0
    kernel_calls: int = 0

    def as_dict(self):
        return {"payload_bytes": self.payload_bytes,
                "bytes_sent": self.bytes_sent,
                "kernel_calls": self.kernel_calls}


def recurrence_state_passing(q, k, v, kernel, *, gate="none", gates=(),
                             initial_state=None, return_final_state=False,
                             mode="rerun", state_kernel=None, scale=None,
                             seq_len=None, group=None, mlstm_zero_m=None):
    """Context-parallel ``flash.linear_attention`` over ``group``.

    Every rank passes its contiguous shard (``shard(x, W, rank)``): ``q, k
    [B, H, T_r, Dk]``, ``v [B, H, T_r, Dv]`` and the gate operands of ``gate``
    as ``gates`` (``(g,)`` for decay/vector, ``(igate, fgate)`` for the
    mLSTMs), all ``[B, H, T_r, ...]``.

    ``kernel(q, k, v, gates, initial_state)`` runs one shard and returns
    ``(o, final_state)``; ``initial_state`` is ``None`` (zeros) or the tuple
    of state tensors, ``final_state`` the tuple (``(C,)``, ``(C, n)`` or
    ``(C, n, m)``). ``state_kernel(q, k, v, gates, initial_state)``, if
    given, returns only the final state; the first pass of ``mode="rerun"``
    uses it (its outputs are thrown away). See
    :func:`flashgen.distributed.recurrence_kernel` for flashgen's kernels.

    ``initial_state`` is the whole sequence's initial state; only rank 0
    reads it. ``scale`` (default ``1/sqrt(Dk)``) is needed by
    ``mode="correct"``. ``mlstm_zero_m`` is the ``m`` of the zero state of
    ``mlstm_exp``'s first pass (default -inf; any value so negative that
    ``exp`` of it underflows gives the same result).

    Returns ``(o, final_state or None, stats)`` with ``o`` this rank's rows.
    """
    import torch
    import torch.distributed as dist
    from .ring import _group_info, _total_length
    gates = tuple(gates)
    _check_args(gate, mode, gates)
    world, rank, _ = _group_info(group)
    _total_length(q.shape[2], seq_len, world, rank, "contiguous", group,
                  "recurrence_state_passing")
    shard = _Shard(q, k, v, gates, gate, kernel, state_kernel, scale)
    s_local, a_local = shard.first_pass(
        rank, initial_state if rank == 0 else None, mode, mlstm_zero_m)

    # All-gather (S_r, A_r) as one flat buffer: the same size on every rank.
    pieces = [x.reshape(-1) for x in s_local]
    if a_local is not None:
        pieces.append(a_local.reshape(-1))
    flat = torch.cat(pieces)
    gathered = [torch.empty_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat, group=group)
    shard.stats.payload_bytes = flat.numel() * flat.element_size()
    shard.stats.bytes_sent = (world - 1) * shard.stats.payload_bytes

    shapes = [x.shape for x in s_local]
    a_shape = None if a_local is None else a_local.shape

    def unpack(buf):
        out, at = [], 0
        for shape in shapes:
            n = math.prod(shape)
            out.append(buf[at:at + n].view(shape))
            at += n
        return tuple(out), (None if a_shape is None else
                            buf[at:at + math.prod(a_shape)].view(a_shape))
    prefix = fold(gate, [unpack(buf) for buf in gathered])
    o = shard.finish(rank, prefix[rank], mode)
    return o, (prefix[world] if return_final_state else None), shard.stats


def fold(gate, contributions):
    """The prefix fold: ``contributions[r] = (S_r, A_r)``; returns the W + 1
    states entering rank 0, ..., rank W-1 and leaving the last. Starts from
    the empty prefix (zeros, ``m = -inf`` for ``mlstm_exp``), so that rank
    0's contribution, its true final state, passes through unchanged."""
    import torch
    s_in = tuple(torch.zeros_like(x) for x in contributions[0][0])
    if gate == "mlstm_exp":
        s_in[2].fill_(float("-inf"))
    prefix = [s_in]
    for s_r, a_r in contributions:
        s_in = compose(gate, s_in, s_r, a_r)
        prefix.append(s_in)
    return prefix


class _Shard:
    """One rank's shard and kernels: the two passes around the exchange."""

    def __init__(self, q, k, v, gates, gate, kernel, state_kernel, scale):
        import torch
        self.q, self.k, self.v, self.gates, self.gate = q, k, v, gates, gate
        self.kernel, self.state_kernel, self.scale = kernel, state_kernel, scale
        self.stats = StateStats()
        self.o0 = None
        # The state dtype of an empty shard (the kernels' are f32 on a GPU).
        self.state_dtype = torch.promote_types(q.dtype, torch.float32)

    def _run(self, init, want_outputs):
        q, k, v = self.q, self.k, self.v
        B, H, T, Dk = q.shape
        Dv = v.shape[3]
        if T == 0:
            if init is None:
                init = zero_state(self.gate, B, H, Dk, Dv, self.state_dtype,
                                  q.device)
            return q.new_zeros(B, H, 0, Dv), tuple(init)
        self.stats.kernel_calls += 1
        if not want_outputs and self.state_kernel is not None:
            return None, tuple(self.state_kernel(q, k, v, self.gates, init))
        o, final = self.kernel(q, k, v, self.gates, init)
        return o, tuple(final)

    def first_pass(self, rank, initial_state, mode, mlstm_zero_m):
        """Rank 0 runs from the sequence's initial state (its true run), the
        others from the zero state. Returns ``(S_r, A_r)``."""
        B, H, _, Dk = self.q.shape
        Dv = self.v.shape[3]
        init = initial_state
        if rank > 0 and self.gate == "mlstm_exp":
            zero_m = float("-inf") if mlstm_zero_m is None else mlstm_zero_m
            init = zero_state(self.gate, B, H, Dk, Dv, self.state_dtype,
                              self.q.device, m0=zero_m)
        self.o0, s_local = self._run(init, rank == 0 or mode == "correct")
        dtype = s_local[0].dtype
        return (tuple(x.to(dtype) for x in s_local),
                log_transition(self.gate, self.gates, dtype))

    def finish(self, rank, s_in, mode):
        """This rank's outputs given its true initial state ``s_in``."""
        if rank == 0:
            return self.o0
        if mode == "rerun":
            return self._run(tuple(x.contiguous() for x in s_in), True)[0]
        return self.o0 + _correction(self.gate, self.q, self.gates, s_in[0],
                                     self.scale).to(self.o0.dtype)


def recurrence_state_passing_emulated(q, k, v, kernel, world, *, gate="none",
                                      gates=(), initial_state=None,
                                      return_final_state=False, mode="rerun",
                                      state_kernel=None, scale=None,
                                      mlstm_zero_m=None):
    """The computation of :func:`recurrence_state_passing` over ``world``
    ranks in one process, without torch.distributed: the full ``q, k, v,
    gates`` are sharded, every rank's first pass runs in turn, the
    contributions are folded and every rank finishes. Returns the full
    ``(o, final_state or None)`` and every rank's stats. For testing a
    kernel's initial/final-state plumbing on one GPU."""
    from .sharding import shard, unshard
    _check_args(gate, mode, gates)
    shards = [_Shard(*(shard(x, world, r) for x in (q, k, v)),
                     tuple(shard(g, world, r) for g in gates), gate, kernel,
                     state_kernel, scale) for r in range(world)]
    contributions = [sh.first_pass(r, initial_state if r == 0 else None, mode,
                                   mlstm_zero_m)
                     for r, sh in enumerate(shards)]
    prefix = fold(gate, contributions)
    outs = [sh.finish(r, prefix[r], mode) for r, sh in enumerate(shards)]
    return (unshard(outs), prefix[world] if return_final_state else None,
            [sh.stats for sh in shards])


def _correction(gate, q, gates, c_in, scale):
    """The initial state's contribution to the outputs of a linear gate:
    ``o_t += S_in^T (exp(F_t) * q~_t)``, ``F_t`` the inclusive cumulative
    log-decay of the shard (0 for ``none``)."""
    import torch
    Dk = q.shape[3]
    if scale is None:
        scale = 1.0 / math.sqrt(Dk)
    qs = q.to(c_in.dtype) * scale
    if gate == "decay":
        qs = qs * torch.exp(torch.cumsum(gates[0].to(c_in.dtype), dim=2))[..., None]
    elif gate == "vector":
        qs = qs * torch.exp(torch.cumsum(gates[0].to(c_in.dtype), dim=2))
    return torch.matmul(qs, c_in)
