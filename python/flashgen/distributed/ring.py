"""Ring attention (forward): every rank keeps its query shard, the K/V shards
travel around the ring, and the partial outputs are merged by log-sum-exp.

At step ``s`` rank ``r`` holds the K/V shard of rank ``(r - s) mod W``. It
posts the send of that shard to rank ``r + 1`` and the receive of the next one
from rank ``r - 1`` (``batch_isend_irecv``), runs the per-shard kernel on the
shard in hand while the transfer is in flight, then waits. ``W`` steps, ``W -
1`` transfers of one K/V shard each.

Masks are handled per block pair. Each (query chunk, key chunk) pair is fully
visible, invisible (skipped: never launched), or on the causal diagonal; the
planner (:func:`plan_block`) covers the visible pairs of a step with as few
kernel calls as it can prove exact, each call being a contiguous range of
query rows against a contiguous range of key rows with mask ``none`` or
``causal`` (bottom-right aligned, docs/semantics.md §2.3). With the zig-zag
layout every step is one call: the first a causal call over the whole local
shard, then either all queries against the source's early chunk or the late
query chunk against the whole source shard, both mask ``none``.
"""

from dataclasses import dataclass, field

from .sharding import LAYOUTS, shard_chunks, shard_length


@dataclass(frozen=True)
class Call:
    """One kernel call of a step: query rows ``[q_lo, q_hi)`` of the local
    shard against key rows ``[k_lo, k_hi)`` of the K/V shard in hand."""
    q_lo: int
    q_hi: int
    k_lo: int
    k_hi: int
    causal: bool


@dataclass
class CommStats:
    """What one rank sent and launched (bytes are payload bytes)."""
    bytes_sent: int = 0
    bytes_received: int = 0
    messages_sent: int = 0
    kernel_calls: int = 0
    calls: list = field(default_factory=list)  # per step, the plan

    def as_dict(self):
        return {"bytes_sent": self.bytes_sent,
                "bytes_received": self.bytes_received,
                "messages_sent": self.messages_sent,
                "kernel_calls": self.kernel_calls}


# ---------------------------------------------------------------------------
# Planning the kernel calls of one step.
#
# For a query chunk of nq rows at global position qg and a key chunk of nk rows
# at kg, the truth under a causal mask is: query a sees key b iff
# kg + b <= qg + a, i.e. b <= a + d with d = qg - kg. A call with mask causal
# over N query rows and M key rows, in which the pair sits at local offsets
# (qi, kj), implies b <= a + (qi - kj + M - N). Both are "b <= a + d" on the
# box [0, nq) x [0, nk), where every d >= nk - 1 means all visible and every
# d <= -nq none visible, so two d's agree on the box iff they agree after
# clamping to [-nq, nk - 1]. Mask none implies d = nk - 1.


def _clamp(d, nq, nk):
    return max(-nq, min(d, nk - 1))


def _chunks_in(chunks):
    """[(local_lo, local_hi, global_lo)] of consecutive chunks."""
    out, lo = [], 0
    for a, b in chunks:
        out.append((lo, lo + b - a, a))
        lo += b - a
    return out


def _truth(qc, kc, causal):
    nq, nk = qc[1] - qc[0], kc[1] - kc[0]
    if not causal:
        return nk - 1
    return _clamp(qc[2] - kc[2], nq, nk)


def _exact(call, q_chunks, k_chunks, causal):
    """Does ``call`` compute exactly the visible pairs inside its box (and
    does every chunk it covers lie wholly inside it)?"""
    n, m = call.q_hi - call.q_lo, call.k_hi - call.k_lo
    for qc in q_chunks:
        if qc[1] <= call.q_lo or qc[0] >= call.q_hi or qc[0] == qc[1]:
            continue
        if qc[0] < call.q_lo or qc[1] > call.q_hi:
            return False
        for kc in k_chunks:
            if kc[1] <= call.k_lo or kc[0] >= call.k_hi or kc[0] == kc[1]:
                continue
            if kc[0] < call.k_lo or kc[1] > call.k_hi:
                return False
            nq, nk = qc[1] - qc[0], kc[1] - kc[0]
            if call.causal:
                implied = _clamp((qc[0] - call.q_lo) - (kc[0] - call.k_lo)
                                 + m - n, nq, nk)
            else:
                implied = nk - 1
            if implied != _truth(qc, kc, causal):
                return False
    return True


def _try(q_lo, q_hi, k_lo, k_hi, q_chunks, k_chunks, causal):
    """The first of mask none, mask causal that is exact on this box."""
    for mask in (False, True):
        call = Call(q_lo, q_hi, k_lo, k_hi, mask)
        if _exact(call, q_chunks, k_chunks, causal):
            return call
    return None


def plan_block(q_chunks, kv_chunks, causal):
    """The kernel calls that cover every visible (query, key) pair of a step
    exactly once and nothing else. ``q_chunks``/``kv_chunks`` are the global
    ``(start, stop)`` ranges of the rows of the query shard and of the K/V
    shard, in row order. Raises ValueError where a pair is only partly
    visible with an offset no bottom-right aligned causal call reproduces
    (never for the layouts of sharding.py, whose chunks are either disjoint
    or identical)."""
    qs = [c for c in _chunks_in(q_chunks) if c[1] > c[0]]
    ks = [c for c in _chunks_in(kv_chunks) if c[1] > c[0]]
    visible = {(i, j): _truth(qc, kc, causal) > -(qc[1] - qc[0])
               for i, qc in enumerate(qs) for j, kc in enumerate(ks)}
    if not any(visible.values()):
        return []
    # 1. One call over everything.
    whole = _try(qs[0][0], qs[-1][1], ks[0][0], ks[-1][1], qs, ks, causal)
    if whole is not None:
        return [whole]
    # 2. Per query chunk, the key range spanning its visible chunks; then
    #    merge neighbours that make one exact call.
    calls = []
    for i, qc in enumerate(qs):
        js = [j for j in range(len(ks)) if visible[(i, j)]]
        if not js:
            continue
        call = _try(qc[0], qc[1], ks[js[0]][0], ks[js[-1]][1], qs, ks, causal)
        if call is not None:
            calls.append(call)
            continue
        # 3. Per pair.
        for j in js:
            call = _try(qc[0], qc[1], ks[j][0], ks[j][1], qs, ks, causal)
            if call is None:
                raise ValueError(
                    "plan_block: query rows %s against key rows %s are partly "
                    "visible with an offset a bottom-right aligned causal call "
                    "cannot express" % (q_chunks, kv_chunks))
            calls.append(call)
    merged = [calls[0]]
    for call in calls[1:]:
        last = merged[-1]
        if (last.q_hi == call.q_lo and (last.k_lo, last.k_hi, last.causal) ==
                (call.k_lo, call.k_hi, call.causal)):
            joined = Call(last.q_lo, call.q_hi, call.k_lo, call.k_hi,
                          call.causal)
            if _exact(joined, qs, ks, causal):
                merged[-1] = joined
                continue
        merged.append(call)
    return merged


# ---------------------------------------------------------------------------
# Merging partial outputs.


def merge_partial(o, lse, o_part, lse_part):
    """Merges a partial result into the running one, in place:
    ``lse' = logaddexp(lse, lse_part)``, ``o' = e^(lse - lse') o +
    e^(lse_part - lse') o_part``. Rows with both lse at -inf (no visible key
    yet) keep o = 0 and lse = -inf."""
    import torch
    new = torch.logaddexp(lse, lse_part)
    empty = torch.isneginf(new)
    safe = torch.where(empty, torch.zeros_like(new), new)
    w_old = torch.where(empty, torch.zeros_like(new), torch.exp(lse - safe))
    w_new = torch.where(empty, torch.zeros_like(new), torch.exp(lse_part - safe))
    o.mul_(w_old.unsqueeze(-1)).add_(o_part.to(o.dtype) * w_new.unsqueeze(-1))
    lse.copy_(new)


# ---------------------------------------------------------------------------
# The ring.


def _group_info(group):
    import torch.distributed as dist
    world = dist.get_world_size(group)
    rank = dist.get_rank(group)

    def global_rank(r):
        if group is None or group is dist.group.WORLD:
            return r
        if hasattr(dist, "get_global_rank"):
            return dist.get_global_rank(group, r)
        return dist.distributed_c10d._get_global_rank(group, r)
    return world, rank, global_rank


def _total_length(local, seq_len, world, rank, layout, group, what):
    """The total sequence length: ``seq_len``, or the sum of the local
    lengths (one all_reduce of an int64). Checks that the local length is
    what the layout gives this rank."""
    import torch
    import torch.distributed as dist
    if seq_len is None:
        n = torch.tensor([local], dtype=torch.int64)
        if dist.get_backend(group) == "nccl":
            import torch.cuda
            n = n.cuda()
        dist.all_reduce(n, group=group)
        seq_len = int(n.item())
    expected = shard_length(seq_len, world, rank, layout)
    if local != expected:
        raise ValueError("%s: rank %d holds %d rows; the %s layout of %d "
                         "positions over %d ranks gives it %d (shard with "
                         "flashgen.distributed.shard)"
                         % (what, rank, local, layout, seq_len, world, expected))
    return seq_len


def _check_qkv(q, k, v, layout, what):
    if layout not in LAYOUTS:
        raise ValueError("layout %r: expected one of %s" % (layout, LAYOUTS))
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        raise ValueError("%s: q, k, v must be [B, H, N, D]" % what)
    if k.shape[2] != q.shape[2] or v.shape[2] != q.shape[2]:
        raise ValueError("%s: q, k, v must hold the same positions "
                         "(got %d, %d, %d rows)"
                         % (what, q.shape[2], k.shape[2], v.shape[2]))


def _accumulators(q, v, acc_dtype):
    import torch
    if acc_dtype is None:
        acc_dtype = (torch.float32 if q.dtype in (torch.float16, torch.bfloat16)
                     else q.dtype)
    B, Hq, N, _ = q.shape
    o = torch.zeros(B, Hq, N, v.shape[3], dtype=acc_dtype, device=q.device)
    lse = torch.full((B, Hq, N), float("-inf"), dtype=acc_dtype,
                     device=q.device)
    return o, lse


def _step(q, q_chunks, k, v, kv_chunks, causal, kernel, o, lse, stats):
    """One step: the planned kernel calls of the local queries against one
    K/V shard, merged into (o, lse)."""
    plan = plan_block(q_chunks, kv_chunks, causal)
    stats.calls.append(plan)
    for call in plan:
        o_part, lse_part = kernel(q[:, :, call.q_lo:call.q_hi],
                                  k[:, :, call.k_lo:call.k_hi],
                                  v[:, :, call.k_lo:call.k_hi], call.causal)
        stats.kernel_calls += 1
        merge_partial(o[:, :, call.q_lo:call.q_hi],
                      lse[:, :, call.q_lo:call.q_hi],
                      o_part, lse_part.to(lse.dtype))


def ring_attention(q, k, v, kernel, *, causal=False, layout="zigzag",
                   seq_len=None, group=None, acc_dtype=None):
    """Context-parallel attention forward over ``group`` (default: the world).

    Every rank passes its shard of the sequence (``shard(x, W, rank,
    layout)``): ``q [B, Hq, N_r, D]``, ``k [B, Hkv, N_r, D]``, ``v [B, Hkv,
    N_r, Dv]`` (self-attention: queries and keys are the same positions;
    ``Hq`` a multiple of ``Hkv``). ``kernel(q, k, v, causal)`` is the
    per-shard attention, returning ``(o [B, Hq, N, Dv], lse [B, Hq, N])``
    with the bottom-right aligned mask of docs/semantics.md §2.3 and the
    natural-log lse (-inf, o = 0 for a row with no visible key): see
    :func:`flashgen.distributed.attention_kernel` for flashgen's kernels and
    :func:`flashgen.distributed.reference.attention` for the float64
    reference. ``seq_len`` is the total length (default: one all_reduce of
    the local lengths).

    Returns ``(o, lse, stats)``: this rank's rows of the full attention
    (``o`` in ``q``'s dtype), their lse (in ``acc_dtype``: float32 for 16-bit
    inputs, else ``q``'s dtype) and a :class:`CommStats`.
    """
    import torch.distributed as dist
    _check_qkv(q, k, v, layout, "ring_attention")
    world, rank, global_rank = _group_info(group)
    total = _total_length(q.shape[2], seq_len, world, rank, layout, group,
                          "ring_attention")
    o, lse = _accumulators(q, v, acc_dtype)
    stats = CommStats()
    B = q.shape[0]
    q_chunks = shard_chunks(total, world, rank, layout)
    nxt, prv = global_rank((rank + 1) % world), global_rank((rank - 1) % world)
    cur_k, cur_v = k.contiguous(), v.contiguous()
    for step in range(world):
        src = (rank - step) % world
        reqs = []
        if step < world - 1:
            # Post the transfer of the shard in hand and the receive of the
            # next (its length follows from the layout), then compute on the
            # shard in hand. Every rank posts all four, empty shards included
            # (NCCL wants every rank in the first batch_isend_irecv).
            n_in = shard_length(total, world, (src - 1) % world, layout)
            next_k = cur_k.new_empty(B, k.shape[1], n_in, k.shape[3])
            next_v = cur_v.new_empty(B, v.shape[1], n_in, v.shape[3])
            reqs = dist.batch_isend_irecv([
                dist.P2POp(dist.isend, cur_k, nxt, group, 0),
                dist.P2POp(dist.isend, cur_v, nxt, group, 1),
                dist.P2POp(dist.irecv, next_k, prv, group, 0),
                dist.P2POp(dist.irecv, next_v, prv, group, 1)])
            stats.bytes_sent += (cur_k.numel() * cur_k.element_size() +
                                 cur_v.numel() * cur_v.element_size())
            stats.bytes_received += (next_k.numel() * next_k.element_size() +
                                     next_v.numel() * next_v.element_size())
            stats.messages_sent += 2
        _step(q, q_chunks, cur_k, cur_v, shard_chunks(total, world, src, layout),
              causal, kernel, o, lse, stats)
        for req in reqs:
            req.wait()
        if step < world - 1:
            cur_k, cur_v = next_k, next_v
    return o.to(q.dtype), lse, stats


def ring_attention_emulated(q, k, v, kernel, world, *, causal=False,
                            layout="zigzag", acc_dtype=None):
    """The computation of :func:`ring_attention` over ``world`` ranks in one
    process, without torch.distributed: every rank's steps run in turn on
    the full ``q, k, v``, with the same planner, kernel calls and merge.
    Returns the full ``(o, lse)`` (unsharded) and every rank's stats. For
    testing a kernel's lse plumbing on one GPU."""
    from .sharding import shard, unshard
    _check_qkv(q, k, v, layout, "ring_attention_emulated")
    total = q.shape[2]
    outs, lses, all_stats = [], [], []
    for rank in range(world):
        q_r = shard(q, world, rank, layout)
        o, lse = _accumulators(q_r, v, acc_dtype)
        stats = CommStats()
        for step in range(world):
            src = (rank - step) % world
            _step(q_r, shard_chunks(total, world, rank, layout),
                  shard(k, world, src, layout), shard(v, world, src, layout),
                  shard_chunks(total, world, src, layout), causal, kernel,
                  o, lse, stats)
        outs.append(o.to(q.dtype))
        lses.append(lse)
        all_stats.append(stats)
    return unshard(outs, layout), unshard(lses, layout), all_stats
