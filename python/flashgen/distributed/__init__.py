"""Context parallelism: one sequence sharded over the ranks of a
torch.distributed process group (NCCL on GPUs, gloo on CPU). docs/distributed.md
describes the algorithms and the kernel operands they need.

    import flashgen.distributed as fcp
    q_r = fcp.shard(q, W, rank, "zigzag")            # this rank's rows
    o_r, lse_r, stats = fcp.ring_attention(
        q_r, k_r, v_r, fcp.attention_kernel(full, causal), causal=True)
    o_r, final, stats = fcp.recurrence_state_passing(
        q_r, k_r, v_r, fcp.recurrence_kernel(kern, "decay"), gate="decay",
        gates=(g_r,))

- sharding: :func:`shard`, :func:`unshard`, :func:`shard_chunks` (layouts
  ``contiguous`` and ``zigzag``; uneven lengths without padding).
- :func:`ring_attention`: K/V shards around the ring, partial outputs merged
  by log-sum-exp, masks per block pair (:func:`plan_block`).
- :func:`recurrence_state_passing`: zero-state pass, all_gather of the final
  states and log-transitions, prefix fold, rerun (or correction).
- per-shard kernels: :func:`attention_kernel`, :func:`recurrence_kernel`
  over flashgen kernels; :mod:`flashgen.distributed.reference` in float64.
- :func:`ring_attention_emulated`, :func:`recurrence_state_passing_emulated`:
  the same computation for W ranks in one process, no torch.distributed (to
  test a kernel's lse and state operands on one GPU).

Needs torch (imported when a function runs, not by ``import flashgen``).
"""

from .kernels import attention_kernel, recurrence_kernel
from .ring import (Call, CommStats, merge_partial, plan_block, ring_attention,
                   ring_attention_emulated)
from .sharding import (LAYOUTS, chunk_bounds, shard, shard_chunks,
                       shard_length, shard_positions, unshard)
from .state_passing import (GATES, StateStats, compose, fold, log_transition,
                            recurrence_state_passing,
                            recurrence_state_passing_emulated, state_shapes)

__all__ = ["ring_attention", "recurrence_state_passing", "attention_kernel",
           "recurrence_kernel", "ring_attention_emulated",
           "recurrence_state_passing_emulated", "plan_block", "merge_partial",
           "compose", "fold",
           "log_transition", "state_shapes", "shard", "unshard",
           "shard_chunks", "shard_length", "shard_positions", "chunk_bounds",
           "Call", "CommStats", "StateStats", "LAYOUTS", "GATES"]
