"""Which sequence positions each rank holds.

A sequence of ``total`` positions is cut into chunks whose sizes differ by at
most one: with ``n`` chunks, chunk ``c`` has ``total // n`` positions plus one
if ``c < total % n``. No padding: the per-shard kernels take any length, so a
length that does not divide is handled by uneven chunks (and a chunk may be
empty when ``total < n``; empty chunks are skipped, never launched).

Layouts (the rank's rows are its chunks concatenated in the order listed):

- ``"contiguous"``: ``world`` chunks, rank ``r`` holds chunk ``r``. The only
  layout for the recurrences, whose state flows in sequence order.
- ``"zigzag"``: ``2 * world`` chunks, rank ``r`` holds chunks ``r`` and
  ``2 * world - 1 - r``. For causal attention every rank then has the same
  amount of visible work (an early chunk paired with a late one); the shard
  lengths differ by at most one position.

Only the total length is needed to know every rank's rows: the ring code
computes the length of the K/V shard it is about to receive from it.
"""

LAYOUTS = ("contiguous", "zigzag")


def chunk_bounds(total, n):
    """``[(start, stop)]`` of ``n`` chunks covering ``range(total)``; sizes
    ``total // n``, the first ``total % n`` one larger."""
    if total < 0 or n < 1:
        raise ValueError("chunk_bounds: total %d, n %d" % (total, n))
    base, extra = divmod(total, n)
    bounds, start = [], 0
    for c in range(n):
        stop = start + base + (1 if c < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def _check(total, world, rank, layout):
    if layout not in LAYOUTS:
        raise ValueError("layout %r: expected one of %s" % (layout, LAYOUTS))
    if world < 1 or not 0 <= rank < world:
        raise ValueError("rank %d of world %d" % (rank, world))
    if total < 0:
        raise ValueError("total length %d" % total)


def shard_chunks(total, world, rank, layout="contiguous"):
    """The global ``(start, stop)`` ranges rank ``rank`` holds, in the order
    of its rows."""
    _check(total, world, rank, layout)
    if layout == "contiguous":
        return [chunk_bounds(total, world)[rank]]
    bounds = chunk_bounds(total, 2 * world)
    return [bounds[rank], bounds[2 * world - 1 - rank]]


def shard_length(total, world, rank, layout="contiguous"):
    return sum(b - a for a, b in shard_chunks(total, world, rank, layout))


def shard_positions(total, world, rank, layout="contiguous"):
    """The global position of each of the rank's rows (a list)."""
    return [p for a, b in shard_chunks(total, world, rank, layout)
            for p in range(a, b)]


def shard(x, world, rank, layout="contiguous", dim=2):
    """Rank ``rank``'s rows of the full tensor ``x`` (sequence along
    ``dim``; 2 for ``[B, H, T, D]``, 2 for gates ``[B, H, T]``)."""
    import torch
    total = x.shape[dim]
    parts = [x.narrow(dim, a, b - a)
             for a, b in shard_chunks(total, world, rank, layout)]
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim)


def unshard(shards, layout="contiguous", dim=2):
    """The full tensor from every rank's shard (``shards[r]`` from rank
    ``r``): the inverse of :func:`shard`."""
    import torch
    world = len(shards)
    total = sum(s.shape[dim] for s in shards)
    pieces = []
    for r, s in enumerate(shards):
        expected = shard_length(total, world, r, layout)
        if s.shape[dim] != expected:
            raise ValueError("unshard: rank %d has %d rows, the %s layout of "
                             "%d over %d ranks gives it %d"
                             % (r, s.shape[dim], layout, total, world, expected))
        offset = 0
        for a, b in shard_chunks(total, world, r, layout):
            pieces.append((a, b, s.narrow(dim, offset, b - a)))
            offset += b - a
    pieces.sort(key=lambda piece: piece[:2])  # empty chunks sort first
    return torch.cat([t for _, _, t in pieces], dim)
