"""Float64 eager references of the example specs' attention, forward and
backward, for the flashgen.torch tests (docs/semantics.md §2; the C++
reference in reference/Attention.h implements the same forward).

A spec is its mask and score modifier, which live in the spec's MLIR; the
entries of SPECS copy them from examples/*.mlir:

- ``softcap``: score = 30 tanh(score / 30), no mask;
- ``alibi_causal``: score += 2^(-0.5 (h + 1)) (j - i), causal;
- ``causal_gqa``, ``kv_cache_causal``: causal, no modifier;
- ``sliding_window``: window 256.

Masks are aligned bottom-right: query i stands at p_i = i + M - N; causal
shows key j iff j <= p_i, sliding_window(w) iff also p_i - j < w.

The backward is written out, not taken from torch's autograd, so that
gradcheck against finite differences checks it and the GPU test can compare
with torch's autograd through :func:`attention` as an independent answer:

    P    = exp(s - lse)                       (0 for hidden keys)
    dV   = P^T dO          dP = dO V^T        delta_i = sum_j dO_ij O_ij
    dS   = P (dP - delta)  dS0 = dS * score_mod'(s0)   (s0 = scale q.k)
    dQ   = scale dS0 K     dK = scale dS0^T Q
GQA sums dK and dV over the query heads of each kv head's group.
"""

import collections
import math

import torch

F64 = torch.float64

Spec = collections.namedtuple("Spec", "mask window score_mod score_grad")


def _softcap(cap):
    def mod(s, h, i, j):
        return cap * torch.tanh(s / cap)

    def grad(s, h, i, j):
        return 1.0 - torch.tanh(s / cap) ** 2
    return mod, grad


def _alibi_slope(h):
    return torch.exp2(-0.5 * (h.to(F64) + 1.0))


def _alibi(s, h, i, j):
    return s + _alibi_slope(h) * (j - i).to(F64)


def _identity_grad(s, h, i, j):
    return torch.ones_like(s)


SPECS = {
    "softcap": Spec("none", None, *_softcap(30.0)),
    "alibi_causal": Spec("causal", None, _alibi, _identity_grad),
    "causal_gqa": Spec("causal", None, None, None),
    "kv_cache_causal": Spec("causal", None, None, None),
    "sliding_window": Spec("sliding_window", 256, None, None),
}


def visible(spec, N, M):
    """[N, M] bool: key j visible to query i."""
    i = torch.arange(N).unsqueeze(1)
    j = torch.arange(M).unsqueeze(0)
    p = i + (M - N)
    if spec.mask == "none":
        return torch.ones(N, M, dtype=torch.bool)
    if spec.mask == "causal":
        return j <= p
    if spec.mask == "sliding_window":
        return (j <= p) & (p - j < spec.window)
    raise ValueError("mask %r" % spec.mask)


def _scores(q, k, spec, scale):
    """(s0, s, vis): raw scaled scores, modified and masked scores, mask;
    k already repeated to Hq heads."""
    B, Hq, N, D = q.shape
    M = k.shape[2]
    s0 = torch.matmul(q, k.transpose(-1, -2)) * scale
    s = s0
    if spec.score_mod is not None:
        h = torch.arange(Hq).view(1, Hq, 1, 1)
        i = torch.arange(N).view(1, 1, N, 1)
        j = torch.arange(M).view(1, 1, 1, M)
        s = spec.score_mod(s0, h, i, j)
    vis = visible(spec, N, M)
    return s0, s.masked_fill(~vis, -math.inf), vis


def _expand(x, group):
    return x.repeat_interleave(group, dim=1)


def _default_scale(q, scale):
    return 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale


def attention(q, k, v, spec, scale=None):
    """(o [B, Hq, N, Dv], lse [B, Hq, N]) in float64, differentiable by
    torch's autograd (for rows with a visible key)."""
    q, k, v = (x.to(F64) for x in (q, k, v))
    group = q.shape[1] // k.shape[1]
    _, s, _ = _scores(q, _expand(k, group), spec, _default_scale(q, scale))
    lse = torch.logsumexp(s, dim=-1)
    safe = torch.where(torch.isneginf(lse), torch.zeros_like(lse), lse)
    p = torch.exp(s - safe.unsqueeze(-1))
    return torch.matmul(p, _expand(v, group)), lse


def attention_backward(q, k, v, do, spec, scale=None):
    """(dq, dk, dv) in float64 by the formulas of the module docstring."""
    q, k, v, do = (x.to(F64) for x in (q, k, v, do))
    B, Hq, N, D = q.shape
    Hkv, M = k.shape[1], k.shape[2]
    group = Hq // Hkv
    scale = _default_scale(q, scale)
    ke, ve = _expand(k, group), _expand(v, group)
    s0, s, vis = _scores(q, ke, spec, scale)
    lse = torch.logsumexp(s, dim=-1)
    safe = torch.where(torch.isneginf(lse), torch.zeros_like(lse), lse)
    p = torch.exp(s - safe.unsqueeze(-1))
    o = torch.matmul(p, ve)
    dv = torch.matmul(p.transpose(-1, -2), do)
    dp = torch.matmul(do, ve.transpose(-1, -2))
    delta = (do * o).sum(-1, keepdim=True)
    ds = p * (dp - delta)
    if spec.score_grad is not None:
        h = torch.arange(Hq).view(1, Hq, 1, 1)
        i = torch.arange(N).view(1, 1, N, 1)
        j = torch.arange(M).view(1, 1, 1, M)
        ds = torch.where(vis, ds * spec.score_grad(s0, h, i, j),
                         torch.zeros_like(ds))
    dq = torch.matmul(ds, ke) * scale
    dk = torch.matmul(ds.transpose(-1, -2), q) * scale

    def group_sum(x):
        return x.view(B, Hkv, group, M, x.shape[-1]).sum(2)
    return dq, group_sum(dk), group_sum(dv)
