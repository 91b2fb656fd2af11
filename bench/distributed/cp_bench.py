#!/usr/bin/env python3
"""Context-parallel scaling (issue #21): ring attention and chunk-state
passing over W GPUs against one GPU's throughput on its shard.

On a multi-GPU machine (NCCL), one process per GPU:

    torchrun --nproc-per-node 8 bench/distributed/cp_bench.py \\
        --tokens 1048576 --attn-full DIR:NAME --attn-causal DIR:NAME \\
        --recurrence DIR:NAME --gate decay --out $OUT

``DIR:NAME`` is a bundle and kernel name: the attention kernels need the
``lse`` output and separate query/key lengths for mask none; the recurrence
kernel ``initial(...)`` and ``return_final_state`` (docs/distributed.md).
``--state-kernel DIR:NAME`` optionally names a kernel whose first pass only
has to produce the final state.

Efficiency, per rank, then the minimum over ranks:

- attention: the time of the rank's own kernel calls and merges with no
  communication (its K/V standing in for the others', same plan) divided
  by the time of ``ring_attention``;
- recurrence: the time of one kernel run on the rank's shard from the zero
  state divided by the time of ``recurrence_state_passing``.

The recurrence's communication per rank is printed in bytes (the
all_gather payload; O(B*H*Dk*Dv), not O(T)).

``--smoke`` runs the same code on CPU (gloo, forked processes, the float64
reference kernels, tiny sizes): a check that the script works, not a
measurement.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

import flashgen.distributed as fcp  # noqa: E402
from flashgen.distributed import reference as ref  # noqa: E402
from flashgen.distributed.ring import _accumulators, _step  # noqa: E402


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn, reps):
    fn()  # warm-up (compiles, allocates)
    sync()
    dist.barrier()
    times = []
    for _ in range(reps):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def load(spec):
    import flashgen
    path, name = spec.rsplit(":", 1)
    return flashgen.load(path).kernel(name)


def kernels(args):
    if args.smoke:
        return (ref.attention_kernel, ref.recurrence_kernel(args.gate), None,
                torch.float64, "cpu")
    device = "cuda:%d" % torch.cuda.current_device()
    attn = fcp.attention_kernel(load(args.attn_full), load(args.attn_causal))
    rec = fcp.recurrence_kernel(load(args.recurrence), args.gate)
    state = None
    if args.state_kernel:
        state_call = fcp.recurrence_kernel(load(args.state_kernel), args.gate)
        state = lambda *a: state_call(*a)[1]  # noqa: E731
    return attn, rec, state, torch.bfloat16, device


def bench(args):
    rank, world = dist.get_rank(), dist.get_world_size()
    attn, rec, state_kernel, dtype, device = kernels(args)
    g = torch.Generator(device=device)
    g.manual_seed(1234 + rank)

    def rnd(*shape):
        return torch.randn(*shape, generator=g, device=device).to(dtype)
    T, B = args.tokens, args.batch
    rows = {}

    # Attention: causal, zig-zag.
    n = fcp.shard_length(T, world, rank, "zigzag")
    q = rnd(B, args.heads, n, args.head_dim)
    k = rnd(B, args.kv_heads, n, args.head_dim)
    v = rnd(B, args.kv_heads, n, args.head_dim)
    ring = timed(lambda: fcp.ring_attention(q, k, v, attn, causal=True,
                                            layout="zigzag", seq_len=T),
                 args.reps)

    def compute_only():
        o, lse = _accumulators(q, v, None)
        stats = fcp.CommStats()
        mine = fcp.shard_chunks(T, world, rank, "zigzag")
        for step in range(world):
            src = (rank - step) % world
            _step(q, mine, k, v, fcp.shard_chunks(T, world, src, "zigzag"),
                  True, attn, o, lse, stats)
    local = timed(compute_only, args.reps)
    pairs = T * (T + 1) // 2  # visible (query, key) pairs of the whole
    flops = 4.0 * B * args.heads * args.head_dim * pairs / world
    rows["attention"] = {"ms": ring * 1e3, "compute_only_ms": local * 1e3,
                         "efficiency": local / ring,
                         "tflops_per_gpu": flops / ring / 1e12}

    # Recurrence: contiguous.
    t = fcp.shard_length(T, world, rank)
    H, Dk, Dv = args.rec_heads, args.key_dim, args.value_dim
    q, k, v = rnd(B, H, t, Dk), rnd(B, H, t, Dk), rnd(B, H, t, Dv)
    gates = {"none": (), "decay": (-torch.rand(B, H, t, generator=g,
                                                device=device) * 0.1,),
             "vector": (-torch.rand(B, H, t, Dk, generator=g,
                                    device=device) * 0.1,)}.get(
        args.gate, (rnd(B, H, t).float(), rnd(B, H, t).float() + 3))
    gates = tuple(x.to(torch.float32 if dtype != torch.float64 else dtype)
                  for x in gates)
    result = {}

    def sharded():
        result["stats"] = fcp.recurrence_state_passing(
            q, k, v, rec, gate=args.gate, gates=gates, seq_len=T,
            state_kernel=state_kernel)[2]
    dist_t = timed(sharded, args.reps)
    one = timed(lambda: rec(q, k, v, gates, None), args.reps)
    rows["recurrence"] = {"ms": dist_t * 1e3, "one_shard_ms": one * 1e3,
                          "efficiency": one / dist_t,
                          "payload_bytes": result["stats"].payload_bytes,
                          "bytes_sent": result["stats"].bytes_sent}

    gathered = [None] * world
    dist.all_gather_object(gathered, rows)
    if rank == 0:
        summary = {"world": world, "tokens": T, "batch": B,
                   "per_rank": gathered}
        for what in ("attention", "recurrence"):
            effs = [r[what]["efficiency"] for r in gathered]
            summary[what + "_efficiency"] = min(effs)
            print("%-10s W=%d T=%d: %.1f ms (slowest rank %.1f ms), "
                  "efficiency %.1f%% (min over ranks)"
                  % (what, world, T, gathered[0][what]["ms"],
                     max(r[what]["ms"] for r in gathered), 100 * min(effs)))
        print("recurrence: %d bytes per rank in the all_gather (payload), "
              "%d sent by a ring all-gather"
              % (gathered[0]["recurrence"]["payload_bytes"],
                 gathered[0]["recurrence"]["bytes_sent"]))
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            with open(os.path.join(args.out, "cp_bench.json"), "w") as f:
                json.dump(summary, f, indent=1)


def _smoke_entry(rank, world, path, args):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="file://" + path, rank=rank,
                            world_size=world)
    try:
        bench(args)
    finally:
        dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tokens", type=int, default=1 << 20)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--heads", type=int, default=32)
    p.add_argument("--kv-heads", type=int, default=8)
    p.add_argument("--head-dim", type=int, default=128)
    p.add_argument("--rec-heads", type=int, default=16)
    p.add_argument("--key-dim", type=int, default=128)
    p.add_argument("--value-dim", type=int, default=128)
    p.add_argument("--gate", default="decay", choices=fcp.GATES)
    p.add_argument("--attn-full")
    p.add_argument("--attn-causal")
    p.add_argument("--recurrence")
    p.add_argument("--state-kernel")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--out")
    p.add_argument("--smoke", type=int, metavar="W", default=0,
                   help="CPU check over W gloo processes, tiny sizes")
    args = p.parse_args()
    if args.smoke:
        import tempfile
        import torch.multiprocessing as mp
        args.tokens, args.heads, args.kv_heads, args.head_dim = 64, 2, 1, 8
        args.rec_heads, args.key_dim, args.value_dim, args.reps = 2, 8, 8, 1
        with tempfile.TemporaryDirectory() as tmp:
            mp.start_processes(_smoke_entry, nprocs=args.smoke,
                               args=(args.smoke, os.path.join(tmp, "rdv"), args),
                               start_method="fork")
        return
    if not (args.attn_full and args.attn_causal and args.recurrence):
        p.error("--attn-full, --attn-causal and --recurrence are needed "
                "(or --smoke W)")
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl")
    try:
        bench(args)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
