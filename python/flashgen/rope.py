"""Rotary position embedding's tables, and the rotation itself in torch.

    from flashgen.rope import rotary_tables
    cos, sin = rotary_tables(max_positions, 128, base=500000.0)
    attn(q, k, v, out=o, cos=cos, sin=sin)   # a spec with `rotary half tables ["cos", "sin"]`

A flash.attention with ``rotary STYLE tables ["cos", "sin"]``
(docs/semantics.md §2.12) rotates q and k on chip by the angles these f32
tables [P, R/2] hold (or [B, P, R/2], one per sequence): query i at
position i + M - N, key j at j. Angle f of position p is
``p * base**(-2 f / R) * scale[f]``: ``scale`` multiplies each frequency
(per-dimension scaling as DPE, NTK-by-parts and YaRN apply it; None: 1).
Any other table (a model's own cos/sin cache) works the same way.

``apply_rotary`` is the rotation in torch, for references and for models
that rotate outside the kernel.

This module imports torch; ``import flashgen`` does not import it.
"""

import torch

__all__ = ["rotary_tables", "apply_rotary"]


def rotary_tables(positions, dims, base=10000.0, scale=None, device=None):
    """(cos, sin), each f32 [positions, dims // 2], for positions 0.. and
    the first ``dims`` dims of a head (``dims`` even; R of the spec)."""
    if int(positions) < 1:
        raise ValueError("rotary_tables: positions must be >= 1, got %r" % (positions,))
    if int(dims) < 2 or int(dims) % 2:
        raise ValueError("rotary_tables: dims (R) must be even and >= 2, got %r" % (dims,))
    half = int(dims) // 2
    exponent = torch.arange(half, dtype=torch.float64, device=device) * (-2.0 / int(dims))
    frequency = torch.pow(torch.tensor(float(base), dtype=torch.float64, device=device), exponent)
    if scale is not None:
        scale = torch.as_tensor(scale, dtype=torch.float64, device=device)
        if scale.shape != (half,):
            raise ValueError("rotary_tables: scale needs R/2 = %d factors, got shape %s"
                             % (half, list(scale.shape)))
        frequency = frequency * scale
    angle = torch.arange(int(positions), dtype=torch.float64, device=device)[:, None] * frequency
    return angle.cos().float(), angle.sin().float()


def apply_rotary(x, cos, sin, offset=0, style="half"):
    """x [B, H, L, D] rotated at positions offset + l: its first R dims
    (R = 2 x the tables' last dim) in pairs (f, f + R/2) for ``half``,
    (2f, 2f + 1) for ``interleaved``, in f32, returned in x's dtype.
    Tables [P, R/2] or [B, P, R/2]; positions past P read its last row, as
    the kernels clamp them."""
    if style not in ("half", "interleaved"):
        raise ValueError("apply_rotary: style is 'half' or 'interleaved', got %r" % (style,))
    if x.dim() != 4 or cos.shape != sin.shape or cos.dim() not in (2, 3):
        raise ValueError("apply_rotary: x [B, H, L, D] and tables [P, R/2] or [B, P, R/2], got %s, %s"
                         % (list(x.shape), list(cos.shape)))
    half = cos.shape[-1]
    if 2 * half > x.shape[-1]:
        raise ValueError("apply_rotary: the tables rotate %d dims of a %d-dim head"
                         % (2 * half, x.shape[-1]))
    length, last = x.shape[2], cos.shape[-2] - 1
    index = (torch.arange(length, device=cos.device) + int(offset)).clamp(0, last)
    c, s = cos[..., index, :].float(), sin[..., index, :].float()
    if cos.dim() == 3:  # [B, L, R/2] -> [B, 1, L, R/2]
        c, s = c[:, None], s[:, None]
    out = x.clone()  # dims past R stay exactly as they are
    if style == "half":
        lo, hi = slice(0, half), slice(half, 2 * half)
    else:
        lo, hi = slice(0, 2 * half, 2), slice(1, 2 * half, 2)
    a, b = x[..., lo].float(), x[..., hi].float()
    out[..., lo] = (a * c - b * s).to(x.dtype)
    out[..., hi] = (b * c + a * s).to(x.dtype)
    return out
