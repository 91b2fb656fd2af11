"""Block-sparse masks (FlexAttention's ``BlockMask`` lists) in torch.

    from flashgen.block_mask import transpose_lists
    q_num, q_idx, full_q_num, full_q_idx = transpose_lists(
        kv_num_blocks, kv_indices, full_kv_num_blocks, full_kv_indices)

The kv lists (docs/semantics.md §2.10) say, per (batch b, query head h,
query block qb), which key blocks are visible: the first
``clamp(kv_num_blocks[b, h, qb], 0, KB)`` entries of ``kv_indices[b, h, qb]``
name key blocks (``KB = cdiv(M, Kb)``), an entry outside ``[0, KB)`` names
none, entries past the count are not read, and a block that both the
partial and the full list name is full ("full wins"). The gradient's kv
kernel walks the same blocks from the key side, through the *transposed*
lists (FlexAttention's ``q_num_blocks`` / ``q_indices`` and
``full_q_num_blocks`` / ``full_q_indices``): per (b, h, key block kb), the
query blocks whose list names kb, in ascending order, ``-1`` past the count.

This module imports torch; ``import flashgen`` does not import it.
"""

import operator

import torch

__all__ = ["transpose_lists"]

_SYMINT = tuple(getattr(torch, n) for n in ("SymInt",) if hasattr(torch, n))


def _listing(num_blocks, indices, key_blocks):
    """The dense listing [Bl, Hl, QB, KB] (bool) of one kv pair: True where
    the list of (b, h, qb) names key block kb. Bl, Hl: the batch and head
    dims of num_blocks and indices broadcast together."""
    if num_blocks.dim() != 3 or indices.dim() != 4:
        raise ValueError("block lists: counts are [B|1, H|1, query blocks] "
                         "and indices [B|1, H|1, query blocks, entries], got "
                         "%s and %s" % (list(num_blocks.shape),
                                        list(indices.shape)))
    if num_blocks.shape[2] != indices.shape[2]:
        raise ValueError("block lists: counts have %d query blocks, indices %d"
                         % (num_blocks.shape[2], indices.shape[2]))
    lead = torch.broadcast_shapes(num_blocks.shape[:2], indices.shape[:2])
    qb, entries = indices.shape[2], indices.shape[3]
    counts = num_blocks.clamp(0, key_blocks).expand(*lead, qb)
    indices = indices.expand(*lead, qb, entries)
    position = torch.arange(entries, device=indices.device)
    named = ((position < counts.unsqueeze(-1)) & (indices >= 0)
             & (indices < key_blocks))
    # Every entry that names no block goes to one spare column, cut after.
    spare = torch.full_like(indices, key_blocks, dtype=torch.long)
    target = torch.where(named, indices.long(), spare)
    dense = torch.zeros(*lead, qb, key_blocks + 1, dtype=torch.int8,
                        device=indices.device)
    dense = dense.scatter(-1, target, 1)
    return dense[..., :key_blocks] != 0


def _transposed(listing):
    """(counts [Bl, Hl, KB], indices [Bl, Hl, KB, QB]) i32 of a dense
    listing [Bl, Hl, QB, KB]: per key block the listed query blocks
    ascending, -1 past the count."""
    listed = listing.transpose(-1, -2)  # [Bl, Hl, KB, QB]
    qb = listed.shape[-1]
    counts = listed.sum(-1, dtype=torch.int32)
    # Keys unique per row: listed query blocks (qb) sort before the others
    # (qb + QB), each group ascending; the sort is stable besides.
    block = torch.arange(qb, device=listed.device, dtype=torch.int32)
    key = torch.where(listed, block, block + qb)
    key, _ = torch.sort(key, dim=-1, stable=True)
    position = torch.arange(qb, device=listed.device, dtype=torch.int32)
    indices = torch.where(position < counts.unsqueeze(-1), key,
                          torch.full_like(key, -1))
    return counts.contiguous(), indices.contiguous()


def transpose_lists(kv_num_blocks, kv_indices, full_kv_num_blocks=None,
                    full_kv_indices=None, *, key_blocks=None):
    """The transposed lists ``(q_num_blocks, q_indices, full_q_num_blocks,
    full_q_indices)`` of FlexAttention-style kv lists (the full pair None
    when ``full_kv_num_blocks`` is None).

    ``kv_num_blocks`` [B|1, H|1, QB] and ``kv_indices`` [B|1, H|1, QB, E]
    (integer tensors; QB query blocks, usually E = KB key blocks), the full
    pair likewise (its batch and head dims may differ from the partial
    pair's). ``key_blocks`` (KB) defaults to ``kv_indices.shape[-1]``.

    Returns i32 contiguous tensors on the lists' device: ``q_num_blocks``
    [Bl, Hl, KB] and ``q_indices`` [Bl, Hl, KB, QB], where Bl, Hl are the
    batch and head dims of the kv pair transposed (its counts' and indices'
    broadcast together). For (b, h, kb), the first ``q_num_blocks`` entries
    of ``q_indices`` are, ascending, the query blocks qb whose partial list
    names kb and whose full list does not (full wins); the rest are -1.
    ``full_q_*``: the same of the full lists alone. Where the partial pair
    broadcasts a dim (size 1) that the full pair does not, one partial entry
    stands for several full lists: it drops qb only when all of them name
    kb, so no block that a query block sees as partial somewhere is lost.

    Shapes depend on the inputs' shapes only (a dense [Bl, Hl, QB, KB]
    listing is built by scatter, transposed, and sorted), so this traces
    under torch.compile(fullgraph=True); memory O(Bl * Hl * QB * KB)."""
    if key_blocks is None:
        key_blocks = kv_indices.shape[-1]
    elif not isinstance(key_blocks, _SYMINT):  # keep torch.compile's symbols
        key_blocks = operator.index(key_blocks)
    if key_blocks < 0:
        raise ValueError("key_blocks = %d is negative" % key_blocks)
    if (full_kv_num_blocks is None) != (full_kv_indices is None):
        raise ValueError("full_kv_num_blocks and full_kv_indices are given "
                         "together or not at all")
    partial = _listing(kv_num_blocks, kv_indices, key_blocks)
    if full_kv_num_blocks is None:
        return _transposed(partial) + (None, None)
    full = _listing(full_kv_num_blocks, full_kv_indices, key_blocks)
    if full.shape[2] != partial.shape[2]:
        raise ValueError("block lists: the partial lists have %d query "
                         "blocks, the full ones %d"
                         % (partial.shape[2], full.shape[2]))
    # Full wins. The full listing on the partial one's batch and head dims:
    # a dim the partial pair broadcasts and the full pair has is reduced
    # with "all"; one the full pair broadcasts expands.
    covered = full
    for d in (0, 1):
        if partial.shape[d] == 1 and full.shape[d] != 1:
            covered = covered.all(d, keepdim=True)
    torch.broadcast_shapes(covered.shape, partial.shape)  # B and H agree
    partial = partial & ~covered
    return _transposed(partial) + _transposed(full)
