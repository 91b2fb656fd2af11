#!/usr/bin/env python3
"""flashgen.distributed on CPU: gloo over 2, 3 and 4 forked processes, the
float64 torch references as the per-shard kernels, every sharded result
compared with the unsharded one (rtol 1e-10). Run by ctest
(test/unit/distributed): ``distributed_test.py Local`` runs the
single-process tests, ``distributed_test.py Gloo.test_world_3`` one world.

Needs torch with torch.distributed (Debian: python3-torch). When the running
interpreter has no torch, the test re-runs itself with $FLASHGEN_TORCH_PYTHON
or /usr/bin/python3 (Debian's torch is built for it), and otherwise exits 77, which ctest
reports as skipped."""

import os
import sys

SKIP = 77


def _ensure_torch():
    try:
        import torch  # noqa: F401
        import torch.distributed as dist
        if not dist.is_available() or not dist.is_gloo_available():
            print("SKIP: this torch has no torch.distributed gloo backend")
            sys.exit(SKIP)
        return
    except ImportError:
        pass
    if os.environ.get("FLASHGEN_TORCH_REEXEC"):
        print("SKIP: torch is not installed (apt-get install python3-torch)")
        sys.exit(SKIP)
    for python in (os.environ.get("FLASHGEN_TORCH_PYTHON"), "/usr/bin/python3"):
        if not python or not os.path.exists(python):
            continue
        if os.path.realpath(python) == os.path.realpath(sys.executable):
            continue
        # That interpreter skips in turn if it has no torch either.
        env = dict(os.environ, FLASHGEN_TORCH_REEXEC="1")
        os.execve(python, [python] + sys.argv, env)
    print("SKIP: torch is not installed for %s (apt-get install python3-torch)"
          % sys.executable)
    sys.exit(SKIP)


if __name__ == "__main__":
    _ensure_torch()

import datetime  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import unittest  # noqa: E402

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

import flashgen.distributed as fcp  # noqa: E402
from flashgen.distributed import reference as ref  # noqa: E402

torch.set_num_threads(1)
F64 = torch.float64
RTOL, ATOL = 1e-10, 1e-12


def gen(seed):
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def randn(g, *shape):
    return torch.randn(*shape, generator=g, dtype=F64)


def attention_inputs(seed, B, Hq, Hkv, D, Dv, T):
    g = gen(seed)
    return randn(g, B, Hq, T, D), randn(g, B, Hkv, T, D), randn(g, B, Hkv, T, Dv)


def recurrence_inputs(seed, gate, B, H, Dk, Dv, T, with_initial, igate_bias=0.0):
    g = gen(seed)
    q, k, v = randn(g, B, H, T, Dk), randn(g, B, H, T, Dk), randn(g, B, H, T, Dv)
    if gate in ("decay",):
        gates = (torch.nn.functional.logsigmoid(randn(g, B, H, T) + 3.0),)
    elif gate == "vector":
        gates = (torch.nn.functional.logsigmoid(randn(g, B, H, T, Dk) + 3.0),)
    elif gate in ("mlstm_sig", "mlstm_exp"):
        gates = (2.0 * randn(g, B, H, T) + igate_bias, randn(g, B, H, T) + 3.0)
    else:
        gates = ()
    init = None
    if with_initial:
        init = [0.5 * randn(g, B, H, Dk, Dv)]
        if gate in ("mlstm_sig", "mlstm_exp"):
            init.append(randn(g, B, H, Dk).abs())
        if gate == "mlstm_exp":
            init.append(randn(g, B, H))
        init = tuple(init)
    return q, k, v, gates, init


def close(a, b):
    return a.shape == b.shape and torch.allclose(a, b, rtol=RTOL, atol=ATOL)


def maxdiff(a, b):
    if a.shape != b.shape:
        return "shapes %s vs %s" % (tuple(a.shape), tuple(b.shape))
    if a.numel() == 0:
        return "0"
    return "%.3g" % (a - b).abs().max().item()


# ---------------------------------------------------------------------------
# Cases run on every rank of a world.

# (name, B, Hq, Hkv, D, Dv, T, causal, layout)
ATTENTION_CASES = [
    ("causal zigzag GQA", 2, 4, 2, 16, 8, 48, True, "zigzag"),
    ("noncausal zigzag GQA", 2, 4, 2, 16, 8, 48, False, "zigzag"),
    ("causal contiguous MHA", 1, 3, 3, 8, 8, 40, True, "contiguous"),
    ("noncausal contiguous MQA", 1, 4, 1, 8, 12, 40, False, "contiguous"),
    ("causal zigzag ragged", 1, 2, 1, 8, 8, 37, True, "zigzag"),
    ("noncausal zigzag ragged", 1, 2, 2, 8, 8, 29, False, "zigzag"),
    ("causal contiguous ragged", 1, 2, 1, 8, 8, 23, True, "contiguous"),
    ("causal zigzag tiny (empty chunks)", 1, 2, 1, 8, 8, 3, True, "zigzag"),
    ("noncausal contiguous tiny", 1, 2, 1, 8, 8, 2, False, "contiguous"),
]

# (name, gate, B, H, Dk, Dv, T, with_initial, mode[, igate_bias])
RECURRENCE_CASES = []
for _gate in ("none", "decay", "vector", "mlstm_sig", "mlstm_exp"):
    _modes = ["rerun"] + (["correct"] if _gate in ("none", "decay", "vector")
                          else [])
    for _mode in _modes:
        for _init in (False, True):
            RECURRENCE_CASES.append(
                ("%s %s%s" % (_gate, _mode, " +initial" if _init else ""),
                 _gate, 2, 2, 8, 6, 31, _init, _mode))
RECURRENCE_CASES += [
    ("decay tiny (empty shards)", "decay", 1, 2, 4, 4, 2, True, "rerun"),
    ("mlstm_exp tiny (empty shards)", "mlstm_exp", 1, 2, 4, 4, 2, True, "rerun"),
    # Small input gates: the shard's own largest log weight stays below its
    # forget-gate sum, so the zero state's m (-inf, not 0) decides m.
    ("mlstm_exp small input gates", "mlstm_exp", 1, 2, 4, 4, 24, False,
     "rerun", -8.0),
    ("mlstm_sig small input gates", "mlstm_sig", 1, 2, 4, 4, 24, True,
     "rerun", -8.0),
]


def attention_case(rank, world, case, seed):
    name, B, Hq, Hkv, D, Dv, T, causal, layout = case
    q, k, v = attention_inputs(seed, B, Hq, Hkv, D, Dv, T)
    o_full, lse_full = ref.attention(q, k, v, causal)
    qs, ks, vs = (fcp.shard(x, world, rank, layout) for x in (q, k, v))
    o, lse, stats = fcp.ring_attention(qs, ks, vs, ref.attention_kernel,
                                       causal=causal, layout=layout,
                                       seq_len=T if seed % 2 else None)
    errors = []
    o_want = fcp.shard(o_full, world, rank, layout)
    lse_want = fcp.shard(lse_full, world, rank, layout)
    if not close(o, o_want):
        errors.append("o differs by %s" % maxdiff(o, o_want))
    if not close(lse, lse_want):
        errors.append("lse differs by %s" % maxdiff(lse, lse_want))
    # Bytes: the K/V shards of ranks r, r-1, ..., r-W+2, once each.
    kv_row_bytes = B * Hkv * (D + Dv) * 8
    sent = sum(fcp.shard_length(T, world, (rank - s) % world, layout)
               for s in range(world - 1)) * kv_row_bytes
    if stats.bytes_sent != sent:
        errors.append("bytes_sent %d, expected %d" % (stats.bytes_sent, sent))
    received = sum(fcp.shard_length(T, world, (rank - s - 1) % world, layout)
                   for s in range(world - 1)) * kv_row_bytes
    if stats.bytes_received != received:
        errors.append("bytes_received %d, expected %d"
                      % (stats.bytes_received, received))
    if layout == "zigzag" and T % (2 * world) == 0 and stats.kernel_calls != world:
        errors.append("zigzag: %d kernel calls, expected one per step (%d)"
                      % (stats.kernel_calls, world))
    return ["attention %s: %s" % (name, e) for e in errors]


def recurrence_case(rank, world, case, seed):
    name, gate, B, H, Dk, Dv, T, with_initial, mode = case[:9]
    q, k, v, gates, init = recurrence_inputs(seed, gate, B, H, Dk, Dv, T,
                                             with_initial, *case[9:])
    o_full, final_full = ref.recurrence(q, k, v, gate, gates, init)
    sh = lambda x: fcp.shard(x, world, rank)  # noqa: E731
    calls = {"state": 0}
    kernel = ref.recurrence_kernel(gate)

    def state_kernel(q_, k_, v_, g_, s_):
        calls["state"] += 1
        return kernel(q_, k_, v_, g_, s_)[1]
    o, final, stats = fcp.recurrence_state_passing(
        sh(q), sh(k), sh(v), kernel, gate=gate,
        gates=tuple(sh(x) for x in gates),
        initial_state=init if rank == 0 else None, return_final_state=True,
        mode=mode, state_kernel=state_kernel if seed % 2 else None)
    errors = []
    o_want = sh(o_full)
    if not close(o, o_want):
        errors.append("o differs by %s" % maxdiff(o, o_want))
    for i, (a, b) in enumerate(zip(final, final_full)):
        if not close(a, b):
            errors.append("final state %d differs by %s" % (i, maxdiff(a, b)))
    # Communication: one all_gather of the final state and log-transition.
    numbers = sum(math.prod(s) for s in fcp.state_shapes(gate, B, H, Dk, Dv))
    numbers += {"none": 0, "vector": B * H * Dk}.get(gate, B * H)
    if stats.payload_bytes != numbers * 8:
        errors.append("payload %d bytes, expected %d" % (stats.payload_bytes,
                                                         numbers * 8))
    if stats.bytes_sent != (world - 1) * numbers * 8:
        errors.append("bytes_sent %d" % stats.bytes_sent)
    local = fcp.shard_length(T, world, rank)
    runs = 0 if local == 0 else (1 if rank == 0 or mode == "correct" else 2)
    if stats.kernel_calls != runs:
        errors.append("%d kernel calls, expected %d" % (stats.kernel_calls, runs))
    if seed % 2 and mode == "rerun" and rank > 0 and local and calls["state"] != 1:
        errors.append("state_kernel ran %d times" % calls["state"])
    return ["recurrence %s: %s" % (name, e) for e in errors]


def comm_is_independent_of_length(rank, world):
    """The recurrence's payload per rank is O(B*H*Dk*Dv): the same for a
    sequence 8x longer. Ring attention's traffic grows with the length."""
    errors, payload, ring = [], [], []
    for T in (4 * world, 32 * world):
        q, k, v, gates, _ = recurrence_inputs(7, "vector", 1, 2, 8, 8, T, False)
        sh = lambda x: fcp.shard(x, world, rank)  # noqa: E731
        _, _, stats = fcp.recurrence_state_passing(
            sh(q), sh(k), sh(v), ref.recurrence_kernel("vector"),
            gate="vector", gates=(sh(gates[0]),))
        payload.append(stats.payload_bytes)
        _, _, rstats = fcp.ring_attention(sh(q), sh(k), sh(v),
                                          ref.attention_kernel, causal=True,
                                          layout="contiguous")
        ring.append(rstats.bytes_sent)
    if payload[0] != payload[1] or payload[0] != (2 * 8 * 8 + 2 * 8) * 8:
        errors.append("recurrence payload %s bytes for T = %d, %d"
                      % (payload, 4 * world, 32 * world))
    if ring[1] != 8 * ring[0]:
        errors.append("ring attention bytes %s: expected 8x for 8x the length"
                      % ring)
    return errors


def rank_main(rank, world):
    errors = []
    for i, case in enumerate(ATTENTION_CASES):
        errors += attention_case(rank, world, case, 100 + i)
    for i, case in enumerate(RECURRENCE_CASES):
        errors += recurrence_case(rank, world, case, 200 + i)
    errors += comm_is_independent_of_length(rank, world)
    # The same on a subgroup (ranks translated to global ones for p2p).
    if world >= 3:
        members = list(range(1, world))
        group = dist.new_group(members)
        if rank in members:
            sub_rank, sub_world = members.index(rank), len(members)
            q, k, v = attention_inputs(5, 1, 2, 1, 8, 8, 20)
            o_full, _ = ref.attention(q, k, v, True)
            sh = lambda x: fcp.shard(x, sub_world, sub_rank, "zigzag")  # noqa: E731
            o, _, _ = fcp.ring_attention(sh(q), sh(k), sh(v),
                                         ref.attention_kernel, causal=True,
                                         group=group)
            if not close(o, sh(o_full)):
                errors.append("ring attention on a subgroup: o differs by %s"
                              % maxdiff(o, sh(o_full)))
    # Every rank's errors, so that rank 0 reports them all.
    gathered = [None] * world
    dist.all_gather_object(gathered, errors)
    if rank == 0:
        everything = ["rank %d: %s" % (r, e) for r, es in enumerate(gathered)
                      for e in es]
        if everything:
            raise AssertionError("world %d:\n  " % world +
                                 "\n  ".join(everything))


def _entry(rank, world, path, fn):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="file://" + path, rank=rank,
                            world_size=world,
                            timeout=datetime.timedelta(seconds=120))
    try:
        fn(rank, world)
    finally:
        dist.destroy_process_group()


def run_world(world, fn):
    with tempfile.TemporaryDirectory() as tmp:
        mp.start_processes(_entry, args=(world, os.path.join(tmp, "rdv"), fn),
                           nprocs=world, join=True, start_method="fork")


class Gloo(unittest.TestCase):
    """Sharded == unsharded over gloo (forked processes)."""

    def _world(self, world):
        start = time.time()
        run_world(world, rank_main)
        print("world %d: %d attention + %d recurrence cases in %.1f s"
              % (world, len(ATTENTION_CASES), len(RECURRENCE_CASES),
                 time.time() - start), flush=True)

    def test_world_2(self):
        self._world(2)

    def test_world_3(self):
        self._world(3)

    def test_world_4(self):
        self._world(4)


class BenchSmoke(unittest.TestCase):
    """bench/distributed/cp_bench.py --smoke: the scaling benchmark's code
    on CPU (gloo, reference kernels, tiny sizes); no timing is checked."""

    def test_bench_smoke(self):
        import subprocess
        bench = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                             "..", "..", "bench", "distributed", "cp_bench.py")
        with tempfile.TemporaryDirectory() as out:
            run = subprocess.run([sys.executable, bench, "--smoke", "2",
                                  "--out", out], capture_output=True,
                                 text=True, timeout=240)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
            self.assertIn("efficiency", run.stdout)
            import json
            with open(os.path.join(out, "cp_bench.json")) as f:
                summary = json.load(f)
            # B*H*(Dk*Dv + 1) f64 numbers: decay, 2 heads of 8/8.
            self.assertEqual(summary["per_rank"][0]["recurrence"]
                             ["payload_bytes"], 2 * (64 + 1) * 8)


# ---------------------------------------------------------------------------
# Single-process tests.


def covered(plan, q_rows, k_rows):
    """The visibility a plan computes: a [len(q_rows), len(k_rows)] count."""
    seen = torch.zeros(len(q_rows), len(k_rows), dtype=torch.int64)
    for c in plan:
        n, m = c.q_hi - c.q_lo, c.k_hi - c.k_lo
        for a in range(n):
            for b in range(m):
                if not c.causal or b <= a + m - n:
                    seen[c.q_lo + a, c.k_lo + b] += 1
    return seen


class Local(unittest.TestCase):
    def test_chunk_bounds_are_even_and_cover(self):
        for total in range(0, 30):
            for n in range(1, 9):
                b = fcp.chunk_bounds(total, n)
                sizes = [y - x for x, y in b]
                self.assertEqual(sum(sizes), total)
                self.assertLessEqual(max(sizes) - min(sizes), 1)
                self.assertEqual(b[0][0], 0)
                self.assertTrue(all(b[i][1] == b[i + 1][0] for i in range(n - 1)))

    def test_shard_unshard_roundtrip_and_zigzag_balance(self):
        for layout in fcp.LAYOUTS:
            for world in (1, 2, 3, 4):
                for total in (0, 1, 3, 7, 16, 37):
                    x = torch.arange(total, dtype=F64).view(1, 1, total, 1)
                    shards = [fcp.shard(x, world, r, layout) for r in range(world)]
                    self.assertTrue(torch.equal(fcp.unshard(shards, layout), x))
                    for r in range(world):
                        self.assertEqual(
                            shards[r].view(-1).tolist(),
                            [float(p) for p in
                             fcp.shard_positions(total, world, r, layout)])
                    lengths = [s.shape[2] for s in shards]
                    if layout == "zigzag":
                        self.assertLessEqual(max(lengths) - min(lengths), 1)

    def test_plans_cover_exactly_the_visible_pairs(self):
        for layout in fcp.LAYOUTS:
            for world in (1, 2, 3, 4, 5):
                for total in (1, 5, 16, 23, 40):
                    for causal in (False, True):
                        for r in range(world):
                            qpos = fcp.shard_positions(total, world, r, layout)
                            for src in range(world):
                                kpos = fcp.shard_positions(total, world, src,
                                                           layout)
                                plan = fcp.plan_block(
                                    fcp.shard_chunks(total, world, r, layout),
                                    fcp.shard_chunks(total, world, src, layout),
                                    causal)
                                want = torch.tensor(
                                    [[int(not causal or kp <= qp) for kp in kpos]
                                     for qp in qpos], dtype=torch.int64
                                ).view(len(qpos), len(kpos))
                                self.assertTrue(
                                    torch.equal(covered(plan, qpos, kpos), want),
                                    (layout, world, total, causal, r, src, plan))
                                if layout == "zigzag":
                                    self.assertLessEqual(len(plan), 1)

    def test_zigzag_balances_causal_work(self):
        """With the zig-zag layout every rank computes the same number of
        visible (query, key) pairs; contiguous sharding does not."""
        world, total = 4, 64

        def work(layout, r):
            n = 0
            qpos = fcp.shard_positions(total, world, r, layout)
            for src in range(world):
                kpos = fcp.shard_positions(total, world, src, layout)
                plan = fcp.plan_block(fcp.shard_chunks(total, world, r, layout),
                                      fcp.shard_chunks(total, world, src, layout),
                                      True)
                n += int(covered(plan, qpos, kpos).sum())
            return n
        zig = [work("zigzag", r) for r in range(world)]
        contig = [work("contiguous", r) for r in range(world)]
        self.assertEqual(len(set(zig)), 1, zig)
        self.assertEqual(sum(zig), total * (total + 1) // 2)
        self.assertGreater(max(contig), 3 * min(contig), contig)

    def test_plan_refuses_an_offset_it_cannot_express(self):
        with self.assertRaises(ValueError):
            fcp.plan_block([(0, 8)], [(4, 12)], True)

    def test_reference_attention_matches_a_loop(self):
        g = gen(1)
        for causal in (False, True):
            for N, M in ((5, 5), (3, 6), (6, 3)):
                q, k, v = randn(g, 1, 4, N, 3), randn(g, 1, 2, M, 3), randn(g, 1, 2, M, 2)
                o, lse = ref.attention(q, k, v, causal)
                for h in range(4):
                    for i in range(N):
                        s = [(q[0, h, i] @ k[0, h // 2, j]).item() / math.sqrt(3)
                             for j in range(M) if not causal or j <= i + M - N]
                        if not s:
                            self.assertEqual(lse[0, h, i].item(), float("-inf"))
                            self.assertEqual(o[0, h, i].abs().max().item(), 0.0)
                            continue
                        mx = max(s)
                        want = mx + math.log(sum(math.exp(x - mx) for x in s))
                        self.assertAlmostEqual(lse[0, h, i].item(), want, places=12)
                        w = [math.exp(x - want) for x in s]
                        ov = sum(wj * v[0, h // 2, j] for j, wj in enumerate(w))
                        self.assertTrue(torch.allclose(o[0, h, i], ov, rtol=1e-12))

    def test_merge_of_key_splits_is_the_whole(self):
        g = gen(2)
        q, k, v = randn(g, 2, 2, 9, 4), randn(g, 2, 2, 9, 4), randn(g, 2, 2, 9, 3)
        o_full, lse_full = ref.attention(q, k, v, causal=True)
        o = torch.zeros_like(o_full)
        lse = torch.full_like(lse_full, float("-inf"))
        for lo, hi in ((6, 9), (0, 2), (2, 6)):  # any order
            # Keys [lo, hi) for all queries, causal by global position.
            qi = torch.arange(9).view(-1, 1)
            kj = torch.arange(lo, hi).view(1, -1)
            sc = torch.matmul(q, k[:, :, lo:hi].transpose(-1, -2)) / 2.0
            sc = sc.masked_fill(kj > qi, float("-inf"))
            part_lse = torch.logsumexp(sc, -1)
            safe = torch.where(torch.isneginf(part_lse), torch.zeros_like(part_lse),
                               part_lse)
            part_o = torch.matmul(torch.exp(sc - safe[..., None]), v[:, :, lo:hi])
            fcp.merge_partial(o, lse, part_o, part_lse)
        self.assertTrue(close(o, o_full), maxdiff(o, o_full))
        self.assertTrue(close(lse, lse_full), maxdiff(lse, lse_full))

    def test_reference_recurrence_linear_gates_match_the_parallel_form(self):
        g = gen(3)
        B, H, T, Dk, Dv = 1, 2, 7, 3, 2
        q, k, v = randn(g, B, H, T, Dk), randn(g, B, H, T, Dk), randn(g, B, H, T, Dv)
        gd = -randn(g, B, H, T).abs()
        gv = -randn(g, B, H, T, Dk).abs()
        qs = q / math.sqrt(Dk)
        for gate, gates in (("none", ()), ("decay", (gd,)), ("vector", (gv,))):
            o, (C,) = ref.recurrence(q, k, v, gate, gates)
            F = (torch.zeros(B, H, T, Dk, dtype=F64) if gate == "none" else
                 torch.cumsum(gd, 2)[..., None].expand(B, H, T, Dk)
                 if gate == "decay" else torch.cumsum(gv, 2))
            want = torch.zeros_like(o)
            for t in range(T):
                for s in range(t + 1):
                    w = (qs[:, :, t] * torch.exp(F[:, :, t] - F[:, :, s])
                         * k[:, :, s]).sum(-1)
                    want[:, :, t] += w[..., None] * v[:, :, s]
            self.assertTrue(close(o, want), (gate, maxdiff(o, want)))

    def test_reference_recurrence_splits(self):
        """docs/semantics.md §3.3: two runs chained by the state are one."""
        for gate in fcp.GATES:
            q, k, v, gates, init = recurrence_inputs(4, gate, 1, 2, 4, 3, 11, True)
            o, fin = ref.recurrence(q, k, v, gate, gates, init)
            a = lambda x: x[:, :, :5]  # noqa: E731
            b = lambda x: x[:, :, 5:]  # noqa: E731
            o1, f1 = ref.recurrence(a(q), a(k), a(v), gate, [a(x) for x in gates], init)
            o2, f2 = ref.recurrence(b(q), b(k), b(v), gate, [b(x) for x in gates], f1)
            self.assertTrue(close(torch.cat([o1, o2], 2), o), gate)
            for x, y in zip(f2, fin):
                self.assertTrue(close(x, y), gate)

    def test_fold_of_zero_state_runs_is_the_chained_state(self):
        """compose(S_in, zero-state final, log-transition) is the final state
        of a run from S_in, for every gate kind (mlstm_exp's zero state has
        m = -inf)."""
        for gate in fcp.GATES:
            q, k, v, gates, init = recurrence_inputs(5, gate, 2, 2, 4, 3, 9, True)
            zero = None
            if gate == "mlstm_exp":
                zero = (torch.zeros(2, 2, 4, 3, dtype=F64),
                        torch.zeros(2, 2, 4, dtype=F64),
                        torch.full((2, 2), float("-inf"), dtype=F64))
            _, from_zero = ref.recurrence(q, k, v, gate, gates, zero)
            _, want = ref.recurrence(q, k, v, gate, gates, init)
            got = fcp.compose(gate, init, from_zero,
                              fcp.log_transition(gate, gates, F64))
            for x, y in zip(got, want):
                self.assertTrue(close(x, y), (gate, maxdiff(x, y)))

    def test_emulated_equals_unsharded(self):
        """The one-process emulations (for the single-GPU plumbing test) on
        the float64 references: ragged lengths, both layouts, every gate."""
        for world in (1, 3, 4):
            for layout in fcp.LAYOUTS:
                for causal in (False, True):
                    q, k, v = attention_inputs(9, 1, 4, 2, 8, 6, 29)
                    o_want, lse_want = ref.attention(q, k, v, causal)
                    o, lse, stats = fcp.ring_attention_emulated(
                        q, k, v, ref.attention_kernel, world, causal=causal,
                        layout=layout)
                    self.assertTrue(close(o, o_want), (world, layout, causal))
                    self.assertTrue(close(lse, lse_want))
                    self.assertEqual(len(stats), world)
            for gate in fcp.GATES:
                for mode in ("rerun", "correct"):
                    if mode == "correct" and gate.startswith("mlstm"):
                        continue
                    q, k, v, gates, init = recurrence_inputs(10, gate, 1, 2, 4,
                                                             3, 17, True)
                    o_want, fin_want = ref.recurrence(q, k, v, gate, gates, init)
                    o, fin, stats = fcp.recurrence_state_passing_emulated(
                        q, k, v, ref.recurrence_kernel(gate), world, gate=gate,
                        gates=gates, initial_state=init,
                        return_final_state=True, mode=mode)
                    self.assertTrue(close(o, o_want), (world, gate, mode,
                                                       maxdiff(o, o_want)))
                    for x, y in zip(fin, fin_want):
                        self.assertTrue(close(x, y), (world, gate, mode))

    def test_flashgen_kernel_adapters(self):
        """attention_kernel / recurrence_kernel map the callables onto a
        kernel's manifest params by name (a stand-in kernel that computes the
        reference into its outputs), and refuse kernels without lse or state
        operands, naming them."""

        class FakeKernel:
            def __init__(self, name, params, body):
                self.name, self.body = name, body
                self.params = [{"name": p} for p in params]

            def __call__(self, **kw):
                self.body(kw)

        def attn_body(causal):
            def body(kw):
                o, lse = ref.attention(kw["q"], kw["k"], kw["v"], causal)
                kw["o"].copy_(o)
                kw["lse"].copy_(lse)
            return body
        full = FakeKernel("full", ["q", "k", "v", "o", "lse"], attn_body(False))
        causal = FakeKernel("causal", ["q", "k", "v", "o", "lse"], attn_body(True))
        call = fcp.attention_kernel(full, causal)
        q, k, v = attention_inputs(6, 1, 2, 1, 4, 4, 6)
        for is_causal in (False, True):
            o, lse = call(q, k, v, is_causal)
            o_want, lse_want = ref.attention(q, k, v, is_causal)
            self.assertTrue(close(o, o_want))
            self.assertEqual(lse.dtype, torch.float32)
            self.assertTrue(torch.allclose(lse.double(), lse_want, rtol=1e-6))
        no_lse = FakeKernel("causal_gqa", ["q", "k", "v", "o"], None)
        with self.assertRaisesRegex(Exception, "causal_gqa: no lse operand"):
            fcp.attention_kernel(no_lse)

        def rec_body(kw):
            init = (kw["c0"], kw["n0"], kw["m0"]) if "c0" in kw else None
            o, fin = ref.recurrence(kw["q"], kw["k"], kw["v"], "mlstm_exp",
                                    (kw["igate"], kw["fgate"]), init)
            kw["o"].copy_(o)
            for name, t in zip(("cf", "nf", "mf"), fin):
                kw[name].copy_(t)
        params = ["q", "k", "v", "igate", "fgate", "c0", "n0", "m0", "o",
                  "cf", "nf", "mf"]
        rec = fcp.recurrence_kernel(FakeKernel("mlstm", params, rec_body),
                                    "mlstm_exp")
        q, k, v, gates, init = recurrence_inputs(8, "mlstm_exp", 1, 2, 4, 4, 5, True)
        for s in (None, init):
            o, fin = rec(q, k, v, gates, s)
            o_want, fin_want = ref.recurrence(q, k, v, "mlstm_exp", gates,
                                              None if s is None else
                                              tuple(x.float() for x in s))
            self.assertTrue(close(o, o_want))
            self.assertEqual([x.dtype for x in fin], [torch.float32] * 3)
        # A shard's gates are views T0 elements into [B, H, T]: the adapter
        # hands the kernel 16-byte aligned pointers (what the runtime checks;
        # the H200 run found the unaligned view).
        seen = []

        def aligned_body(kw):
            seen.extend(t.data_ptr() % 16 for t in kw.values())
            rec_body(kw)
        rec = fcp.recurrence_kernel(FakeKernel("mlstm", params, aligned_body),
                                    "mlstm_exp")
        q, k, v, gates, init = recurrence_inputs(9, "mlstm_exp", 1, 2, 4, 4, 9, True)
        rec(q[:, :, 1:], k[:, :, 1:], v[:, :, 1:],
            tuple(g[:, :, 1:] for g in gates), init)
        self.assertEqual(set(seen), {0})
        no_state = FakeKernel("mlstm", params[:9], None)
        with self.assertRaisesRegex(Exception, "no cf/nf/mf operand"):
            fcp.recurrence_kernel(no_state, "mlstm_exp")


class GpuPlumbing(unittest.TestCase):
    """Issue #21 on the one lent GPU: the real kernels' lse outputs drive the
    ring's log-sum-exp merge in one process (ring_attention_emulated), so a
    wrong lse (units, rows, -inf) breaks the merged output. Needs CUDA and
    $FLASHGEN_DISTRIBUTED_BUNDLES, a folder with the bundles ring_full
    (specs/ring_full.mlir), kv_cache_causal and mlstm_sig (examples/); skipped
    otherwise. scripts/device-run.sh runs it when .device/distributed-bundles
    is carried."""

    def setUp(self):
        folder = os.environ.get("FLASHGEN_DISTRIBUTED_BUNDLES")
        if not folder or not torch.cuda.is_available():
            self.skipTest("needs CUDA and FLASHGEN_DISTRIBUTED_BUNDLES")
        import flashgen
        self.full = flashgen.load(os.path.join(folder, "ring_full")).kernel("ring_full")
        self.causal = flashgen.load(
            os.path.join(folder, "kv_cache_causal")).kernel("kv_cache_causal")
        self.mlstm = flashgen.load(
            os.path.join(folder, "mlstm_sig")).kernel("mlstm_sig")

    def inputs(self, seed, T):
        g = gen(seed)
        shape = lambda h: (1, h, T, 128)  # noqa: E731
        return [torch.randn(*shape(h), generator=g, dtype=F64).to(
                    torch.bfloat16).cuda() for h in (16, 2, 2)]

    def test_kernel_lse_matches_reference(self):
        q, k, v = self.inputs(31, 333)
        call = fcp.attention_kernel(self.full, self.causal)
        for is_causal in (False, True):
            o, lse = call(q, k, v, is_causal)
            o_want, lse_want = ref.attention(q.cpu().double(), k.cpu().double(),
                                             v.cpu().double(), is_causal)
            self.assertLess(rel_err(o, o_want), 1e-2, is_causal)
            self.assertLess((lse.cpu().double() - lse_want).abs().max().item(),
                            1e-4, is_causal)

    def test_ring_over_real_kernels_equals_unsharded(self):
        call = fcp.attention_kernel(self.full, self.causal)
        for world in (2, 4):
            for layout in fcp.LAYOUTS:
                for is_causal in (False, True):
                    q, k, v = self.inputs(world * 7 + is_causal, 1000)
                    o, lse, _ = fcp.ring_attention_emulated(
                        q, k, v, call, world, causal=is_causal, layout=layout)
                    o_want, lse_want = ref.attention(
                        q.cpu().double(), k.cpu().double(), v.cpu().double(),
                        is_causal)
                    what = (world, layout, is_causal)
                    self.assertLess(rel_err(o, o_want), 1e-2, what)
                    self.assertLess((lse.cpu().double() - lse_want).abs().max().item(),
                                    1e-4, what)

    def test_state_passing_over_real_kernels_equals_unsharded(self):
        """Chunk-state passing with the mlstm_sig kernel's initial/final
        state operands (examples/mlstm_sig.mlir): every rank's shard from
        the zero state, the fold, the rerun from the true initial state."""
        call = fcp.recurrence_kernel(self.mlstm, "mlstm_sig")
        for world in (2, 4):
            q, k, v, gates, init = recurrence_inputs(40 + world, "mlstm_sig",
                                                     1, 16, 128, 128, 1000, True)
            q, k, v = (x.to(torch.bfloat16) for x in (q, k, v))
            o_want, fin_want = ref.recurrence(
                q.double(), k.double(), v.double(), "mlstm_sig",
                tuple(g.float().double() for g in gates),
                tuple(x.float().double() for x in init))
            o, fin, _ = fcp.recurrence_state_passing_emulated(
                q.cuda(), k.cuda(), v.cuda(), call, world, gate="mlstm_sig",
                gates=tuple(g.float().cuda() for g in gates),
                initial_state=tuple(x.float().cuda() for x in init),
                return_final_state=True, mode="rerun")
            self.assertLess(rel_err(o, o_want), 2e-2, world)
            for got, want in zip(fin, fin_want):
                self.assertLess(rel_err(got, want), 2e-2, world)


def rel_err(got, want):
    """Relative L2 error of a GPU result against a float64 CPU one (NaN
    never passes)."""
    got = got.cpu().double()
    if torch.isnan(got).any():
        return float("inf")
    return ((got - want).norm() / want.norm().clamp_min(1e-30)).item()


if __name__ == "__main__":
    unittest.main(verbosity=2)
