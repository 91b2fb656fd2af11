"""Float64 references in torch, with the interfaces the distributed code
takes for its per-shard kernels. They follow docs/semantics.md (the C++
reference in reference/ implements the same formulas) and serve as the
per-shard kernel in the CPU tests, and as the unsharded answer.

- :func:`attention`: §2, masks ``none`` and ``causal`` (bottom-right
  aligned), GQA, with ``lse``.
- :func:`recurrence`: §3, the step form of every gate kind, with initial and
  final state.
"""

import math


def attention(q, k, v, causal=False, scale=None):
    """``(o [B, Hq, N, Dv], lse [B, Hq, N])`` of softmax attention, computed
    in float64 (the result is float64). Query head ``h`` reads kv head ``h //
    (Hq // Hkv)``; with ``causal`` query ``i`` sees key ``j`` iff ``j <= i +
    M - N``. A row with no visible key has ``o = 0`` and ``lse = -inf``."""
    import torch
    q, k, v = (x.to(torch.float64) for x in (q, k, v))
    B, Hq, N, D = q.shape
    Hkv, M = k.shape[1], k.shape[2]
    if Hq % Hkv:
        raise ValueError("attention: Hq %d is not a multiple of Hkv %d"
                         % (Hq, Hkv))
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    group = Hq // Hkv
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    s = torch.matmul(q, k.transpose(-1, -2)) * scale
    if causal:
        i = torch.arange(N).unsqueeze(1)
        j = torch.arange(M).unsqueeze(0)
        s = s.masked_fill(j > i + (M - N), float("-inf"))
    lse = torch.logsumexp(s, dim=-1)
    safe = torch.where(torch.isneginf(lse), torch.zeros_like(lse), lse)
    p = torch.exp(s - safe.unsqueeze(-1))  # exp(-inf) = 0 for masked keys
    return torch.matmul(p, v), lse


def attention_kernel(q, k, v, causal):
    """:func:`attention` with the per-shard kernel signature of
    ``ring_attention``."""
    return attention(q, k, v, causal)


def _log_sigmoid(x):
    import torch
    return torch.nn.functional.logsigmoid(x)


def recurrence(q, k, v, gate="none", gates=(), initial_state=None,
               scale=None, eps=1e-6):
    """``(o, final_state)`` of ``flash.linear_attention`` by the step form
    (docs/semantics.md §3.1), in float64. ``gates``: ``()`` for ``none``,
    ``(g,)`` for ``decay`` ``[B, H, T]`` and ``vector`` ``[B, H, T, Dk]``,
    ``(igate, fgate)`` ``[B, H, T]`` for ``mlstm_sig``/``mlstm_exp``.
    ``initial_state`` is ``None`` (zeros, ``m0 = 0``) or the tuple ``(C,)``,
    ``(C, n)`` or ``(C, n, m)``; ``final_state`` has the same form."""
    import torch
    f64 = torch.float64
    q, k, v = (x.to(f64) for x in (q, k, v))
    gates = tuple(g.to(f64) for g in gates)
    B, H, T, Dk = q.shape
    Dv = v.shape[3]
    if scale is None:
        scale = 1.0 / math.sqrt(Dk)
    mlstm = gate in ("mlstm_sig", "mlstm_exp")
    C = torch.zeros(B, H, Dk, Dv, dtype=f64)
    n = torch.zeros(B, H, Dk, dtype=f64) if mlstm else None
    m = torch.zeros(B, H, dtype=f64) if gate == "mlstm_exp" else None
    if initial_state is not None:
        C = initial_state[0].to(f64).clone()
        if mlstm:
            n = initial_state[1].to(f64).clone()
        if gate == "mlstm_exp":
            m = initial_state[2].to(f64).clone()
    o = torch.zeros(B, H, T, Dv, dtype=f64)
    for t in range(T):
        kt, vt, qt = k[:, :, t], v[:, :, t], q[:, :, t] * scale
        outer = kt.unsqueeze(-1) * vt.unsqueeze(-2)
        if gate == "none":
            C = C + outer
        elif gate == "decay":
            C = torch.exp(gates[0][:, :, t])[..., None, None] * C + outer
        elif gate == "vector":
            C = torch.exp(gates[0][:, :, t])[..., None] * C + outer
        else:
            it, ft = gates[0][:, :, t], gates[1][:, :, t]
            if gate == "mlstm_sig":
                a, b = torch.sigmoid(ft), torch.sigmoid(it)
            else:
                lf = _log_sigmoid(ft)
                m_new = torch.maximum(lf + m, it)
                a, b = torch.exp(lf + m - m_new), torch.exp(it - m_new)
                m = m_new
            C = a[..., None, None] * C + b[..., None, None] * outer
            n = a[..., None] * n + b[..., None] * kt
        num = torch.einsum("bhde,bhd->bhe", C, qt)
        if not mlstm:
            o[:, :, t] = num
        else:
            dot = (n * qt).sum(-1).abs()
            floor = torch.exp(-m) if gate == "mlstm_exp" else torch.ones_like(dot)
            o[:, :, t] = num / (torch.maximum(dot, floor) + eps)[..., None]
    final = (C,) if not mlstm else ((C, n) if gate == "mlstm_sig" else (C, n, m))
    return o, final


def recurrence_kernel(gate, scale=None, eps=1e-6):
    """:func:`recurrence` for one gate kind with the per-shard kernel
    signature of ``recurrence_state_passing``."""
    def run(q, k, v, gates, initial_state):
        return recurrence(q, k, v, gate, gates, initial_state, scale, eps)
    return run
