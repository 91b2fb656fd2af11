"""Speculative decoding's draft trees in torch: ancestor bits from parents.

    from flashgen.tree import ancestor_bits
    bits = ancestor_bits(parents)        # [B, N, words] int32

``parents[b, t]`` is the parent of draft token ``t`` in sequence ``b``: an
earlier draft (``0 <= parents[b, t] < t``, so drafts are in topological
order, as SpecInfer, Medusa and EAGLE lay out their trees) or ``-1`` for a
child of the cached prefix. In the result, bit ``t % 32`` of
``bits[b, i, t // 32]`` is set iff draft ``t`` is ``i`` itself or one of its
ancestors: the words ``examples/tree_verify.mlir``'s mask_mod reads
(``words`` of them per draft, two for that spec's 64 drafts).

This module imports torch; ``import flashgen`` does not import it.
"""

import torch

__all__ = ["ancestor_bits", "ancestor_matrix"]


def ancestor_matrix(parents):
    """[B, N, N] bool: ``[b, i, t]`` is True iff draft t is i or an ancestor
    of i. ``parents`` is [B, N] (or [N]) integer, checked as above."""
    parents = torch.as_tensor(parents)
    if parents.dim() == 1:
        parents = parents.unsqueeze(0)
    if parents.dim() != 2 or parents.dtype.is_floating_point:
        raise ValueError("ancestor_matrix: parents must be an integer [B, N] "
                         "(or [N]) tensor, got %s %s"
                         % (parents.dtype, list(parents.shape)))
    batch, n = parents.shape
    position = torch.arange(n, device=parents.device)
    bad = (parents < -1) | (parents >= position)
    if bool(bad.any()):
        b, t = (int(x) for x in bad.nonzero()[0])
        raise ValueError("ancestor_matrix: parents[%d, %d] = %d; a draft's "
                         "parent must be an earlier draft (0 <= parent < %d) "
                         "or -1 (the prefix)" % (b, t, int(parents[b, t]), t))
    ancestors = torch.eye(n, dtype=torch.bool, device=parents.device)
    ancestors = ancestors.expand(batch, n, n).clone()
    rows = torch.arange(batch, device=parents.device)
    # Parents come first: each draft's row is final when its children read it.
    for t in range(n):
        parent = parents[:, t]
        has = parent >= 0
        if bool(has.any()):
            ancestors[rows[has], t] |= ancestors[rows[has], parent[has]]
    return ancestors


def ancestor_bits(parents, words=None):
    """[B, N, words] int32 ancestor words (see the module's text); ``words``
    defaults to ceil(N / 32) and must hold N bits."""
    ancestors = ancestor_matrix(parents)
    batch, n, _ = ancestors.shape
    if words is None:
        words = max(1, -(-n // 32))
    if n > 32 * words:
        raise ValueError("ancestor_bits: %d drafts need %d words of 32 bits, "
                         "got words=%d" % (n, -(-n // 32), words))
    padded = torch.zeros(batch, n, 32 * words, dtype=torch.int64,
                         device=ancestors.device)
    padded[..., :n] = ancestors.to(torch.int64)
    weights = torch.bitwise_left_shift(
        torch.ones(32, dtype=torch.int64, device=ancestors.device),
        torch.arange(32, device=ancestors.device))
    packed = (padded.view(batch, n, words, 32) * weights).sum(-1)
    # Two's complement: bit 31 set is a negative int32.
    packed = torch.where(packed >= 2 ** 31, packed - 2 ** 32, packed)
    return packed.to(torch.int32)
