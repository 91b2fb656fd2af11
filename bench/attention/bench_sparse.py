#!/usr/bin/env python3
"""Block-sparse attention benchmark (flash.block_mask, docs/semantics.md
§2.10) against FlexAttention given the same BlockMask lists, and against our
own dense kernel on the same q, k, v.

The issue's target: block-sparse at 90% sparsity, d=128, 64k tokens, GQA
groups of 1, 2, 4 and 8: at least 1.5x FlexAttention with the same block
mask, and a time no more than the density times our dense kernel's time,
plus 10%.

Shapes: 32 query heads over 32, 16, 8, 4 key/value heads (groups 1, 2, 4,
8), d=128, bf16, B=1, N=M=65,536 (--quick: B=4, N=M=16,384); blocks of
128 x 128. Two patterns, the same lists handed to both sides:

- random: no mask kind (non-causal); each query block lists a random 10% of
  the key blocks (at least one), all as FULL blocks (kv_num_blocks all 0),
  so neither side evaluates a mask anywhere. Spec block_sparse_gG.
- causal-local: causal; each query block lists its diagonal block as a
  PARTIAL block (the causal mask cuts it; Flex evaluates its causal
  mask_mod there, we the mask kind) and a random 10% (rounded; none for the
  first query blocks) of the earlier key blocks as FULL blocks. Spec
  block_sparse_gG_causal.

The lists are drawn on the GPU with a seeded torch.Generator per (pattern,
group), per (b, h, query block): each full list in ascending block order,
entries past its count holding the blocks it does not list (valid indices,
never read by either side). Flex gets
BlockMask.from_kv_blocks(kv_num_blocks, kv_indices, full_kv_num_blocks,
full_kv_indices, BLOCK_SIZE=128, mask_mod=causal or None) and runs
flex_attention under torch.compile(dynamic=False), enable_gqa when
Hkv < Hq; flashgen gets the four tensors by their manifest names.

Checks before timing (a side that fails is reported and not timed; TOL =
2e-2 relative, as the other benches): each side's output against an f32
reference computed here on sampled query blocks (--samples (b, h, qb)
triples: the listed key blocks gathered, the causal mask applied), and our
whole output against Flex's. The dense twins (dense_gG, dense_gG_causal:
the same attention without the block mask) are checked on the same samples.

Reported per (pattern, group): flashgen's time (variant 0, the compiler's
first choice: the headline), the variant the runtime's size rule picks at
these sizes (variant_picked) and the fastest of the bundle's ranked
variants; Flex's time and flex/flashgen; the dense twin's time (variant 0);
density = listed tiles / all tiles (B*Hq*cdiv(N,128)*cdiv(M,128)), from the
lists actually drawn, the causal pattern's diagonal blocks counted whole;
twin_density = listed tiles / the tiles the dense twin visits (all of them
without a mask, the diagonal and below under the causal mask: so it is
density for the random pattern and about twice it for causal-local); and
sparse_over_density_dense = flashgen / (twin_density x dense). For
causal-local also sparse_over_density_dense_all = flashgen / (density x the
non-causal dense kernel's time). The targets: flex_over_flashgen >= 1.5 and
sparse_over_density_dense <= 1.10.

Times are medians of triton.testing.do_bench (CUDA events, warm-up, L2
flushed between calls), with at least 5 timed calls for slow kernels.

    bench/attention/prepare-sparse.sh DIR            # where flashgen is built
    python3 bench/attention/bench_sparse.py --bundles DIR --out PREFIX [--quick]

(FLASHGEN_LIB names the runtime library where it is not in build*/lib)
writes PREFIX.json (all rows) and PREFIX.md (the markdown table it prints);
a PREFIX that is a folder gets PREFIX/attention-sparse-results.json. No GPU:
--dry-run prints the plan (shapes, bundles, expected densities, memory);
--validate also binds every launch's arguments to the bundles and runs the
runtime's argument checks (needs libflashgen_runtime.so, not torch);
--self-test checks the list drawing and the sampled reference on CPU tensors
(needs torch, not a GPU).

One whole run compiles 8 Flex kernels (torch.compile, one per group and
pattern) and NVRTC-compiles every variant of 16 bundles on first use
(FLASHGEN_CACHE_DIR keeps them); where a command's time is limited, run the
groups apart (--groups 1,2 and --groups 4,8, with two PREFIXes).
"""

import argparse
import json
import math
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HEADS, D, BLOCK = 32, 128, 128
GROUPS = (1, 2, 4, 8)
PATTERNS = ("random", "causal-local")
FULL_SHAPE = (1, 65536)     # (B, N = M)
QUICK_SHAPE = (4, 16384)
KEEP = 0.10                 # listed share of the eligible key blocks
TOL = 2e-2
FLEX_TARGET = 1.5           # flex / flashgen at least this
DENSITY_SLACK = 1.10        # flashgen / (density x dense) at most this
MIN_TIMED_CALLS = 5
ELEM = 2
GIB = 1 << 30
DEFAULT_OUT = "attention-sparse-results"
DEVICE = "cuda"             # the benchmark's device (a CPU test harness may set "cpu")


# ---------------------------------------------------------------- plan (no torch)

def cdiv(a, b):
    return -(-a // b)


def sparse_bundle(group, pattern):
    return f"block_sparse_g{group}" + ("_causal" if pattern == "causal-local" else "")


def dense_bundle(group, causal):
    return f"dense_g{group}" + ("_causal" if causal else "")


def keep_count(eligible, keep, at_least_one):
    """How many of `eligible` key blocks a query block lists: keep x
    eligible rounded half up (at least one where asked and possible)."""
    k = int(keep * eligible + 0.5)
    if at_least_one and eligible > 0:
        k = max(1, k)
    return min(k, eligible)


def list_counts(pattern, nqb, nkb, keep):
    """Per query block: (partial blocks listed, full blocks listed).
    random: every key block eligible, all listed ones full. causal-local:
    the diagonal block partial, keep x the earlier ones full (N == M)."""
    if pattern == "random":
        k = keep_count(nkb, keep, True)
        return [(0, k)] * nqb
    if pattern == "causal-local":
        if nqb != nkb:
            raise ValueError("causal-local needs N == M")
        return [(1, keep_count(qb, keep, False)) for qb in range(nqb)]
    raise ValueError(f"unknown pattern {pattern!r}")


def tile_counts(pattern, batch, n, keep):
    """(listed tiles, all tiles, tiles the dense twin visits) of one draw;
    the draw's counts are fixed by the pattern, only the blocks are random."""
    nqb = nkb = cdiv(n, BLOCK)
    per_row = sum(p + f for p, f in list_counts(pattern, nqb, nkb, keep))
    listed = batch * HEADS * per_row
    every = batch * HEADS * nqb * nkb
    if pattern == "causal-local":
        twin = batch * HEADS * sum(min(qb + 1, nkb) for qb in range(nqb))
    else:
        twin = every
    return listed, every, twin


def plan(args):
    """The cases in run order: (batch, n, group, [patterns])."""
    batch, n = QUICK_SHAPE if args.quick else FULL_SHAPE
    if args.n:
        n = args.n
    if args.batch:
        batch = args.batch
    return [(batch, n, group, list(args.patterns)) for group in args.groups]


def bytes_needed(batch, n, group):
    """q, k, v, three outputs (ours sparse and dense, Flex's) and the lists
    with their drawing temporaries (a float, two int64 and int32 copies)."""
    kv = HEADS // group
    qo = batch * HEADS * n * D * ELEM
    kvb = 2 * batch * kv * n * D * ELEM
    lists = batch * HEADS * cdiv(n, BLOCK) ** 2 * (4 * 4 + 8 * 3)
    return 4 * qo + kvb + lists


def parse_list(text, cast, allowed=None):
    values = [cast(x) for x in text.split(",") if x.strip()]
    if allowed is not None:
        bad = [v for v in values if v not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"{bad} not in {list(allowed)}")
    return values


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", help="folder prepare-sparse.sh wrote (block_sparse_gG[_causal], "
                                          "dense_gG[_causal])")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help="PREFIX: writes PREFIX.json and PREFIX.md (a folder: "
                             f"FOLDER/{DEFAULT_OUT}.json)")
    parser.add_argument("--quick", action="store_true",
                        help=f"B={QUICK_SHAPE[0]}, N={QUICK_SHAPE[1]} instead of "
                             f"B={FULL_SHAPE[0]}, N={FULL_SHAPE[1]}")
    parser.add_argument("--groups", type=lambda s: parse_list(s, int, GROUPS),
                        default=list(GROUPS), help="GQA groups, comma-separated (default 1,2,4,8)")
    parser.add_argument("--patterns", type=lambda s: parse_list(s, str, PATTERNS),
                        default=list(PATTERNS), help="random,causal-local (default both)")
    parser.add_argument("--keep", type=float, default=KEEP,
                        help="listed share of the eligible key blocks (default 0.10: 90%% sparse)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=16,
                        help="(b, h, query block) triples checked against the f32 reference")
    parser.add_argument("--n", type=int, default=0, help="override N (= M)")
    parser.add_argument("--batch", type=int, default=0, help="override B")
    parser.add_argument("--v0-only", action="store_true",
                        help="time variant 0 (and the picked one) only, not every ranked variant")
    parser.add_argument("--no-flex", action="store_true", help="skip FlexAttention")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; no torch, no GPU")
    parser.add_argument("--validate", action="store_true",
                        help="bind every launch to the bundles and run the runtime's argument "
                             "checks (no GPU, no torch)")
    parser.add_argument("--self-test", action="store_true",
                        help="check list drawing and the sampled reference on CPU tensors")
    args = parser.parse_args(argv)
    if not 0 < args.keep <= 1:
        parser.error("--keep must be in (0, 1]")
    if args.n and args.n % BLOCK:
        parser.error(f"--n must be a multiple of {BLOCK}")
    if not (args.dry_run or args.self_test) and not args.bundles:
        parser.error("--bundles is required (except with --dry-run or --self-test)")
    return args


def out_paths(prefix):
    if os.path.isdir(prefix):
        prefix = os.path.join(prefix, DEFAULT_OUT)
    if prefix.endswith(".json"):
        prefix = prefix[:-5]
    return prefix + ".json", prefix + ".md"


def dry_run(args):
    print(f"keep {args.keep}, seed {args.seed}, blocks {BLOCK}x{BLOCK}, Hq={HEADS}, d={D}, bf16")
    for batch, n, group, patterns in plan(args):
        twins = sorted({dense_bundle(group, p == "causal-local") for p in patterns}
                       | {dense_bundle(group, False)})
        print(f"group {group} (Hkv={HEADS // group}) B={batch} N=M={n}: "
              f"~{bytes_needed(batch, n, group) / GIB:.1f} GiB; dense twins {', '.join(twins)}")
        for pattern in patterns:
            listed, every, twin = tile_counts(pattern, batch, n, args.keep)
            print(f"  {pattern:<13} {sparse_bundle(group, pattern):<24} listed {listed} of {every} tiles: "
                  f"density {listed / every:.4f}, twin density {listed / twin:.4f}")
    return 0


# ------------------------------------------------------- validate (runtime, no GPU)

def validate(args):
    """Binds each planned launch to its bundle with device=None and runs the
    runtime's checks (names, dtypes, shapes, alignment) without a GPU."""
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
    import flashgen  # noqa: E402
    from flashgen import DeviceArray  # noqa: E402

    base = [1 << 40]

    def arr(shape, dtype):
        ptr = base[0]
        base[0] += 1 << 36
        return DeviceArray(ptr, shape, dtype)

    failures = 0
    for batch, n, group, patterns in plan(args):
        kv = HEADS // group
        nqb = cdiv(n, BLOCK)
        q = arr((batch, HEADS, n, D), "bf16")
        k = arr((batch, kv, n, D), "bf16")
        v = arr((batch, kv, n, D), "bf16")
        o = arr((batch, HEADS, n, D), "bf16")
        lists = {"kv_num_blocks": arr((batch, HEADS, nqb), "i32"),
                 "kv_indices": arr((batch, HEADS, nqb, nqb), "i32"),
                 "full_kv_num_blocks": arr((batch, HEADS, nqb), "i32"),
                 "full_kv_indices": arr((batch, HEADS, nqb, nqb), "i32")}
        names = [(sparse_bundle(group, p), True) for p in patterns]
        names += [(dense_bundle(group, c), False)
                  for c in sorted({p == "causal-local" for p in patterns} | {False})]
        for name, sparse in names:
            try:
                kern = flashgen.load(os.path.join(args.bundles, name)).kernel(name, device=None)
                kern.validate(q, k, v, out=o, **(lists if sparse else {}))
                print(f"ok   {name} B={batch} N={n}: {kern.num_variants} variants, params "
                      f"{[p['name'] for p in kern.params]}")
            except Exception as error:  # noqa: BLE001
                failures += 1
                print(f"FAIL {name} B={batch} N={n}: {error}")
    return 1 if failures else 0


# ------------------------------------------------------------------ torch parts

def draw_lists(batch, nqb, nkb, pattern, keep, seed, device):
    """The four BlockMask tensors ([B, Hq, nqb] counts, [B, Hq, nqb, nkb]
    indices, int32, contiguous), drawn per (b, h, query block) with a seeded
    generator on `device`: each query block's full blocks are a uniform
    random subset of its eligible key blocks, sorted ascending, and the
    entries past the count hold the other blocks (valid indices)."""
    import torch
    counts = list_counts(pattern, nqb, nkb, keep)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    scores = torch.rand(batch, HEADS, nqb, nkb, generator=gen, device=device)
    kb = torch.arange(nkb, device=device)
    if pattern == "causal-local":
        eligible = kb[None, :] < torch.arange(nqb, device=device)[:, None]   # earlier blocks
        scores = scores.masked_fill(~eligible, 2.0)                          # sorted last
    order = scores.argsort(dim=-1)               # a random permutation, eligible blocks first
    del scores
    full_count = torch.tensor([f for _, f in counts], device=device, dtype=torch.int64)
    chosen = kb[None, None, None, :] < full_count[None, None, :, None]
    key = torch.where(chosen, order, order + nkb)   # chosen ones sort first, ascending
    del order, chosen
    key = key.sort(dim=-1).values
    full_idx = torch.where(key >= nkb, key - nkb, key).to(torch.int32).contiguous()
    del key
    full_num = full_count.to(torch.int32).expand(batch, HEADS, nqb).contiguous()
    part_count = torch.tensor([p for p, _ in counts], device=device, dtype=torch.int32)
    part_num = part_count.expand(batch, HEADS, nqb).contiguous()
    # Partial lists: causal-local names its diagonal block first, the rest
    # of the row holds the other blocks; random lists none (count 0).
    qb = torch.arange(nqb, device=device)
    part_idx = ((kb[None, :] + qb[:, None]) % nkb).to(torch.int32)
    part_idx = part_idx.expand(batch, HEADS, nqb, nkb).contiguous()
    return {"kv_num_blocks": part_num, "kv_indices": part_idx,
            "full_kv_num_blocks": full_num, "full_kv_indices": full_idx}


def check_lists(lists, pattern, keep):
    """Raises if the lists break the pattern's promises (counts, ranges,
    no block listed twice over both lists, only eligible blocks)."""
    import torch
    part_num, part_idx = lists["kv_num_blocks"], lists["kv_indices"]
    full_num, full_idx = lists["full_kv_num_blocks"], lists["full_kv_indices"]
    batch, heads, nqb, nkb = full_idx.shape
    counts = list_counts(pattern, nqb, nkb, keep)
    want_p = torch.tensor([p for p, _ in counts], dtype=torch.int32, device=part_num.device)
    want_f = torch.tensor([f for _, f in counts], dtype=torch.int32, device=full_num.device)
    assert torch.equal(part_num, want_p.expand_as(part_num)), "partial counts"
    assert torch.equal(full_num, want_f.expand_as(full_num)), "full counts"
    for t in (part_idx, full_idx):
        assert t.dtype == torch.int32 and t.is_contiguous()
        assert int(t.min()) >= 0 and int(t.max()) < nkb, "index out of range"
    # Every full row is a permutation of the key blocks (so the entries
    # past the count are valid and distinct), its listed prefix ascending.
    ref = torch.arange(nkb, device=full_idx.device, dtype=torch.int32)
    assert torch.equal(full_idx.sort(dim=-1).values, ref.expand_as(full_idx)), "full rows"
    pos = torch.arange(nkb, device=full_idx.device)
    listed_f = pos[None, None, None, :] < full_num[..., None].long()
    listed_p = pos[None, None, None, :] < part_num[..., None].long()
    steps = full_idx[..., 1:] > full_idx[..., :-1]
    inside = listed_f[..., 1:]
    assert bool((steps | ~inside).all()), "full prefix not ascending"
    dense_f = torch.zeros(batch, heads, nqb, nkb, dtype=torch.int32, device=full_idx.device)
    dense_f.scatter_add_(-1, full_idx.long(), listed_f.to(torch.int32))
    dense_p = torch.zeros_like(dense_f)
    dense_p.scatter_add_(-1, part_idx.long(), listed_p.to(torch.int32))
    assert int((dense_f + dense_p).max()) <= 1, "a block listed twice"
    qb = torch.arange(nqb, device=full_idx.device)
    if pattern == "causal-local":
        earlier = (pos[None, :] < qb[:, None]).to(torch.int32)
        assert bool((dense_f <= earlier).all()), "a full block on or past the diagonal"
        diag = (pos[None, :] == qb[:, None]).to(torch.int32)
        assert torch.equal(dense_p, diag.expand_as(dense_p)), "partial block is not the diagonal"
    return dense_f + dense_p


def listed_tiles(lists):
    return int(lists["kv_num_blocks"].sum().item()) + int(lists["full_kv_num_blocks"].sum().item())


def pick_samples(batch, nqb, count, seed):
    """(b, h, qb) triples: the first and the last query block, then random
    ones (distinct)."""
    rng = random.Random(seed)
    want = min(max(count, 1), batch * HEADS * nqb)
    out = []
    for s in [(0, 0, 0), (batch - 1, HEADS - 1, nqb - 1)]:
        if s not in out and len(out) < want:
            out.append(s)
    while len(out) < want:
        s = (rng.randrange(batch), rng.randrange(HEADS), rng.randrange(nqb))
        if s not in out:
            out.append(s)
    return out


def reference_rows(q, k, v, samples, lists, causal):
    """f32 attention of the sampled query blocks: over the key blocks the
    lists name (both lists; None: every key block), the causal mask applied
    where asked (no mask_mod in these specs: partial and full blocks alike).
    Returns one [rows, D] tensor per sample."""
    import torch
    batch, heads, n, d = q.shape
    m = k.shape[2]
    group = heads // k.shape[1]
    scale = 1.0 / math.sqrt(d)
    nkb = cdiv(m, BLOCK)
    outs = []
    for b, h, qb in samples:
        lo, hi = qb * BLOCK, min((qb + 1) * BLOCK, n)
        if lists is None:
            blocks = list(range(nkb))
        else:
            np_ = int(lists["kv_num_blocks"][b, h, qb])
            nf = int(lists["full_kv_num_blocks"][b, h, qb])
            blocks = sorted(set(lists["kv_indices"][b, h, qb, :np_].tolist())
                            | set(lists["full_kv_indices"][b, h, qb, :nf].tolist()))
            blocks = [x for x in blocks if 0 <= x < nkb]
        rows = torch.arange(lo, hi, device=q.device)
        if blocks:
            keys = torch.cat([torch.arange(x * BLOCK, min((x + 1) * BLOCK, m), device=q.device)
                              for x in blocks])
        else:
            keys = torch.zeros(0, dtype=torch.int64, device=q.device)
        qs = q[b, h, lo:hi].float()
        ks = k[b, h // group].index_select(0, keys).float()
        vs = v[b, h // group].index_select(0, keys).float()
        s = (qs @ ks.t()) * scale
        if causal:
            s = s.masked_fill(keys[None, :] > rows[:, None], float("-inf"))
        mx = s.max(dim=-1, keepdim=True).values if keys.numel() else None
        if mx is None:
            outs.append(torch.zeros(hi - lo, v.shape[-1], device=q.device))
            continue
        mx = torch.where(torch.isinf(mx), torch.zeros_like(mx), mx)
        p = torch.exp(s - mx)
        denom = p.sum(dim=-1, keepdim=True)
        o = (p @ vs) / torch.where(denom > 0, denom, torch.ones_like(denom))
        outs.append(o)
    return outs


def sampled_err(out, samples, ref_rows):
    """Relative error (Frobenius) of out's sampled query blocks."""
    import torch
    got = torch.cat([out[b, h, qb * BLOCK:qb * BLOCK + r.shape[0]].float()
                     for (b, h, qb), r in zip(samples, ref_rows)])
    want = torch.cat(ref_rows)
    if torch.isnan(got).any():
        return float("nan")
    return ((got - want).norm() / want.norm().clamp_min(1e-30)).item()


def time_ms(fn):
    """Median ms of triton.testing.do_bench (L2 flushed between calls); a
    kernel slower than 100 ms / MIN_TIMED_CALLS is timed again over
    MIN_TIMED_CALLS + 1 calls' worth of time."""
    from triton.testing import do_bench
    ms = do_bench(fn, warmup=25, rep=100, return_mode="median")
    if ms * MIN_TIMED_CALLS > 100:
        ms = do_bench(fn, warmup=1, rep=ms * (MIN_TIMED_CALLS + 1), return_mode="median")
    return ms


def causal_mod(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def self_test(args):
    """List drawing and the sampled reference on CPU tensors, small sizes."""
    import torch
    failures = 0
    for pattern in PATTERNS:
        for batch, nqb in ((1, 1), (2, 7), (1, 40), (3, 64)):
            lists = draw_lists(batch, nqb, nqb, pattern, args.keep, args.seed + nqb, "cpu")
            try:
                check_lists(lists, pattern, args.keep)
                listed, every, twin = tile_counts(pattern, batch, nqb * BLOCK, args.keep)
                assert listed_tiles(lists) == listed, (listed_tiles(lists), listed)
                again = draw_lists(batch, nqb, nqb, pattern, args.keep, args.seed + nqb, "cpu")
                assert all(torch.equal(lists[key], again[key]) for key in lists), "not reproducible"
                print(f"ok   lists {pattern} B={batch} nqb={nqb}: density {listed / every:.3f}, "
                      f"twin density {listed / twin:.3f}")
            except AssertionError as error:
                failures += 1
                print(f"FAIL lists {pattern} B={batch} nqb={nqb}: {error}")
    # Each listed block drawn about equally often (random pattern, many rows).
    lists = draw_lists(4, 20, 20, "random", 0.25, 7, "cpu")
    hits = torch.zeros(20)
    for row in range(lists["full_kv_indices"].reshape(-1, 20).shape[0]):
        hits[lists["full_kv_indices"].reshape(-1, 20)[row, :5].long()] += 1
    spread = (hits.max() / hits.min()).item() if hits.min() > 0 else float("inf")
    print(f"{'ok  ' if spread < 1.6 else 'FAIL'} uniformity: per-block hit counts max/min {spread:.2f}")
    failures += spread >= 1.6
    # The sampled reference against dense masked attention (tiny, f32, GQA 4).
    torch.manual_seed(args.seed)
    batch, group, n = 2, 4, 5 * BLOCK - 37
    nqb = cdiv(n, BLOCK)
    q = torch.randn(batch, HEADS, n, D)
    k = torch.randn(batch, HEADS // group, n, D)
    v = torch.randn(batch, HEADS // group, n, D)
    for pattern in PATTERNS:
        causal = pattern == "causal-local"
        lists = draw_lists(batch, nqb, nqb, pattern, 0.5, args.seed, "cpu")
        visible = check_lists(lists, pattern, 0.5).bool()            # [B, H, nqb, nkb]
        tok = visible.repeat_interleave(BLOCK, 2).repeat_interleave(BLOCK, 3)[:, :, :n, :n]
        if causal:
            tok = tok & torch.ones(n, n, dtype=torch.bool).tril()
        for lists_or_none, mask in ((lists, tok), (None, torch.ones(n, n, dtype=torch.bool).tril()
                                                   if causal else torch.ones(n, n, dtype=torch.bool))):
            kk = k.repeat_interleave(group, 1)
            vv = v.repeat_interleave(group, 1)
            s = (q @ kk.transpose(-1, -2)) / math.sqrt(D)
            s = s.masked_fill(~mask, float("-inf"))
            want = torch.nan_to_num(torch.softmax(s, dim=-1), nan=0.0) @ vv
            samples = pick_samples(batch, nqb, 12, args.seed)
            ref = reference_rows(q, k, v, samples, lists_or_none, causal)
            err = sampled_err(want, samples, ref)
            what = "lists" if lists_or_none is not None else "dense"
            ok = err < 1e-5
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} reference {pattern} {what}: rel err {err:.2e} "
                  f"over {len(samples)} sampled query blocks")
            # A wrong output is caught: drop one listed block's keys.
            if lists_or_none is not None:
                b, h, qb = samples[1]
                nf = int(lists["full_kv_num_blocks"][b, h, qb])
                if nf:
                    blk = int(lists["full_kv_indices"][b, h, qb, 0])
                    worse = tok.clone()
                    worse[b, h, qb * BLOCK:(qb + 1) * BLOCK, blk * BLOCK:(blk + 1) * BLOCK] = False
                    s2 = (q @ kk.transpose(-1, -2)) / math.sqrt(D)
                    s2 = s2.masked_fill(~worse, float("-inf"))
                    wrong = torch.nan_to_num(torch.softmax(s2, dim=-1), nan=0.0) @ vv
                    err2 = sampled_err(wrong, samples, ref)
                    ok = err2 > TOL
                    failures += not ok
                    print(f"{'ok  ' if ok else 'FAIL'} reference {pattern}: a dropped block shows "
                          f"(rel err {err2:.2e})")
    print(f"{'self-test passed' if not failures else f'self-test: {failures} failures'}")
    return 1 if failures else 0


# ------------------------------------------------------------------- GPU run

def main(argv=None):
    args = parse_args(argv)
    if args.dry_run:
        return dry_run(args)
    if args.self_test:
        return self_test(args)
    if args.validate:
        return validate(args)

    import torch
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
    import flashgen  # noqa: E402
    from bench import rel_err  # noqa: E402  (the whole output's relative error)

    dev = torch.device(DEVICE)
    bf16 = torch.bfloat16
    started = time.perf_counter()

    flex = BlockMask = None
    flex_error = None
    if not args.no_flex:
        try:
            from torch import _dynamo
            _dynamo.config.cache_size_limit = 1024
            if hasattr(_dynamo.config, "recompile_limit"):
                _dynamo.config.recompile_limit = 1024
            from torch.nn.attention.flex_attention import BlockMask, flex_attention
            flex = torch.compile(flex_attention, dynamic=False)
        except Exception as error:  # noqa: BLE001
            flex_error = str(error).splitlines()[0][:300]
            print("FlexAttention unavailable:", flex_error)

    kernels = {}

    def kernel(name):
        """(the bundle's kernel, or None and why); each loaded once, never
        pinned until select_variant."""
        if name not in kernels:
            try:
                kernels[name] = (flashgen.load(os.path.join(args.bundles, name)).kernel(name), None)
            except Exception as error:  # noqa: BLE001
                kernels[name] = (None, str(error).splitlines()[0][:300])
                print(f"!!!!! cannot load {name} from {args.bundles}: {kernels[name][1]}")
        return kernels[name]

    def run_variants(kern, call, check, label, all_variants):
        """Variant the size rule picks; each variant's output checked by
        check(out) -> error (a failing one is not timed); returns (picked,
        {variant: us}, {variant: err}, first error message)."""
        try:
            picked = kern.variant_for(*call.args, **call.kwargs)
        except Exception as error:  # noqa: BLE001 (the launch would be refused too)
            text = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
            print(f"!!!!! {label}: arguments refused: {text}")
            return None, {}, {}, f"arguments refused: {text}"
        variants = range(kern.num_variants) if all_variants else sorted({0, picked})
        times, errs, problem = {}, {}, None
        for var in variants:
            kern.select_variant(var)
            try:
                call.out.fill_(float("nan"))
                kern(*call.args, **call.kwargs)
                torch.cuda.synchronize()
                err = check(call.out)
                errs[var] = err
                if not err < TOL:
                    problem = problem or f"variant {var} rel err {err:.3g}"
                    print(f"!!!!! WRONG {label} variant {var}: rel err {err:.3g}")
                    continue
                times[var] = time_ms(lambda: kern(*call.args, **call.kwargs)) * 1e3
            except Exception as error:  # noqa: BLE001
                text = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
                problem = problem or f"variant {var}: {text}"
                print(f"!!!!! {label} variant {var} failed: {text}")
        kern.select_variant(0)
        return picked, times, errs, problem

    class Call:
        def __init__(self, args_, kwargs, out):
            self.args, self.kwargs, self.out = args_, kwargs, out

    rows = []
    for batch, n, group, patterns in plan(args):
        kv_heads = HEADS // group
        nqb = nkb = cdiv(n, BLOCK)
        label = f"G={group} (Hkv={kv_heads}) B={batch} N={n}"
        free, _ = torch.cuda.mem_get_info()
        need = bytes_needed(batch, n, group) + (2 << 30)
        group_rows = [{"pattern": p, "group": group, "heads": HEADS, "kv_heads": kv_heads,
                       "batch": batch, "n": n, "m": n, "d": D, "block": BLOCK, "keep": args.keep,
                       "sparse_bundle": sparse_bundle(group, p),
                       "dense_bundle": dense_bundle(group, p == "causal-local"),
                       "status": "ok", "errors": {}} for p in patterns]
        rows.extend(group_rows)
        if need > free:
            for row in group_rows:
                row["status"] = "skipped"
                row["why"] = f"needs ~{need / GIB:.0f} GiB, {free / GIB:.0f} free"
            print(f"{label}: skipped (needs ~{need / GIB:.0f} GiB, {free / GIB:.0f} free)")
            continue
        torch.manual_seed(args.seed + group)
        q = torch.randn(batch, HEADS, n, D, device=dev, dtype=bf16)
        k = torch.randn(batch, kv_heads, n, D, device=dev, dtype=bf16)
        v = torch.randn(batch, kv_heads, n, D, device=dev, dtype=bf16)
        out = torch.empty(batch, HEADS, n, D, device=dev, dtype=bf16)
        samples = pick_samples(batch, nqb, args.samples, args.seed + group)

        # The dense twins: the non-causal one always (random's twin, and
        # causal-local's all-tiles comparison), the causal one for causal-local.
        dense = {}
        for causal in sorted({False} | {p == "causal-local" for p in patterns}):
            name = dense_bundle(group, causal)
            kern, why = kernel(name)
            entry = dense[causal] = {"bundle": name}
            if kern is None:
                entry["error"] = why
                continue
            ref = reference_rows(q, k, v, samples, None, causal)
            call = Call((q, k, v), {"out": out}, out)
            picked, times, errs, problem = run_variants(
                kern, call, lambda o: sampled_err(o, samples, ref), f"{name} {label}", False)
            ref = None
            entry.update(picked=picked, us=times.get(0), picked_us=times.get(picked),
                         ref_err=errs.get(0), error=problem)
            print(f"{label} {name}: v0 {entry['us'] or float('nan'):.1f} us (picked v{picked}), "
                  f"sampled rel err {errs.get(0, float('nan')):.2e}")

        for row in group_rows:
            pattern = row["pattern"]
            causal = pattern == "causal-local"
            seed = args.seed + 1000 * group + PATTERNS.index(pattern)
            row["seed"] = seed
            lists = draw_lists(batch, nqb, nkb, pattern, args.keep, seed, dev)
            listed = listed_tiles(lists)
            every = batch * HEADS * nqb * nkb
            twin = batch * HEADS * (nqb * (nqb + 1) // 2 if causal else nqb * nkb)
            row.update(listed_tiles=listed, all_tiles=every, twin_tiles=twin,
                       density=listed / every, twin_density=listed / twin)
            ref = reference_rows(q, k, v, samples, lists, causal)

            # FlexAttention: checked on the samples, its output kept as the
            # whole-tensor reference for ours.
            flex_out = None
            if flex is not None:
                try:
                    block_mask = BlockMask.from_kv_blocks(
                        lists["kv_num_blocks"], lists["kv_indices"],
                        lists["full_kv_num_blocks"], lists["full_kv_indices"],
                        BLOCK_SIZE=BLOCK, mask_mod=causal_mod if causal else None,
                        seq_lengths=(n, n))
                    gqa = kv_heads != HEADS

                    def run_flex():
                        return flex(q, k, v, block_mask=block_mask, enable_gqa=gqa)
                    flex_out = run_flex()
                    torch.cuda.synchronize()
                    row["flex_ref_err"] = sampled_err(flex_out, samples, ref)
                    if row["flex_ref_err"] < TOL:
                        row["flex_us"] = time_ms(run_flex) * 1e3
                    else:
                        row["errors"]["flex"] = f"sampled rel err {row['flex_ref_err']:.3g}"
                        print(f"!!!!! WRONG Flex {pattern} {label}: {row['errors']['flex']}")
                        flex_out = None
                    block_mask = None
                except Exception as error:  # noqa: BLE001
                    row["errors"]["flex"] = str(error).splitlines()[0][:300]
                    print(f"!!!!! Flex failed at {pattern} {label}: {row['errors']['flex']}")
                    flex_out = None
            elif flex_error:
                row["errors"]["flex"] = flex_error

            kern, why = kernel(row["sparse_bundle"])
            if kern is None:
                row["status"] = "failed"
                row["errors"]["flashgen"] = why
            else:
                def check(o, ref=ref, flex_out=flex_out):
                    # The sampled blocks against the f32 reference and, where
                    # Flex passed its own check, the whole output against Flex's.
                    err = sampled_err(o, samples, ref)
                    if flex_out is not None and err == err:
                        err = max(err, rel_err(o, flex_out))
                    return err
                call = Call((q, k, v), dict(lists, out=out), out)
                picked, times, errs, problem = run_variants(
                    kern, call, check, f"{row['sparse_bundle']} {label}", not args.v0_only)
                # The v0 output's errors, recomputed for the row.
                kern.select_variant(0)
                out.fill_(float("nan"))
                try:
                    kern(q, k, v, out=out, **lists)
                    torch.cuda.synchronize()
                    row["ref_err"] = sampled_err(out, samples, ref)
                    if flex_out is not None:
                        row["rel_err_vs_flex"] = rel_err(out, flex_out)
                except Exception as error:  # noqa: BLE001
                    problem = problem or str(error).splitlines()[0][:300]
                row["variant_picked"] = picked
                row["variant_us"] = times
                row["variant_err"] = errs
                if 0 in times:
                    row["flashgen_us"] = times[0]
                if picked in times:
                    row["picked_us"] = times[picked]
                if times:
                    best = min(times, key=times.get)
                    row["best_variant"], row["best_us"] = best, times[best]
                if problem:
                    # A variant that disagrees or fails marks the row failed
                    # (the others are still timed; v0 stays the headline).
                    row["errors"]["flashgen"] = problem
                    row["status"] = "failed"
                if "flashgen_us" not in row:
                    row["status"] = "failed"
            check = flex_out = ref = None

            # The comparisons.
            us = row.get("flashgen_us")
            if us and row.get("flex_us"):
                row["flex_over_flashgen"] = row["flex_us"] / us
                row["meets_flex_target"] = row["flex_over_flashgen"] >= FLEX_TARGET
            twin_entry = dense.get(causal, {})
            row["dense_us"] = twin_entry.get("us")
            row["dense_variant_picked"] = twin_entry.get("picked")
            row["dense_picked_us"] = twin_entry.get("picked_us")
            row["dense_ref_err"] = twin_entry.get("ref_err")
            if twin_entry.get("error"):
                row["errors"]["dense"] = twin_entry["error"]
            if us and row["dense_us"]:
                row["sparse_over_density_dense"] = us / (row["twin_density"] * row["dense_us"])
                row["meets_density_target"] = row["sparse_over_density_dense"] <= DENSITY_SLACK
            if causal:
                all_us = dense.get(False, {}).get("us")
                row["dense_noncausal_us"] = all_us
                if us and all_us:
                    row["sparse_over_density_dense_all"] = us / (row["density"] * all_us)
            if not row["errors"]:
                del row["errors"]
            print(f"{pattern} {label}:", {key: (round(val, 4) if isinstance(val, float) else val)
                                          for key, val in row.items()
                                          if key not in ("variant_err",)})
            lists = None
            torch.cuda.empty_cache()
        q = k = v = out = None
        torch.cuda.empty_cache()

    import triton
    result = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
              "triton": triton.__version__, "quick": args.quick, "keep": args.keep,
              "seed": args.seed, "samples": args.samples, "tol": TOL,
              "targets": {"flex_over_flashgen_min": FLEX_TARGET,
                          "sparse_over_density_dense_max": DENSITY_SLACK},
              "seconds": time.perf_counter() - started, "rows": rows}
    json_path, md_path = out_paths(args.out)
    os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(result, f, indent=1)
    table = markdown_table(result)
    with open(md_path, "w") as f:
        f.write(table + "\n")
    print(table)
    print(f"wrote {json_path}, {md_path}")
    return 0 if all(r["status"] != "failed" for r in rows) else 1


def markdown_table(result):
    """The rows as a markdown table (v0 is the headline)."""
    def num(value, fmt):
        return format(value, fmt) if isinstance(value, (int, float)) and value == value else "-"

    def verdict(row, key):
        return {True: "yes", False: "NO"}.get(row.get(key), "-")

    lines = [f"{result['device']}: block-sparse attention, Hq={HEADS}, d={D}, bf16, "
             f"{BLOCK}x{BLOCK} blocks, keep {result['keep']}; flashgen variant 0 (the "
             f"compiler's first choice) is the headline; us = median microseconds. Targets: "
             f"Flex/flashgen >= {result['targets']['flex_over_flashgen_min']}, "
             f"flashgen/(twin density x dense) <= {result['targets']['sparse_over_density_dense_max']}.",
             "",
             "| pattern | G | Hkv | B | N | density | twin density | flashgen v0 us | picked v "
             "| best us (v) | Flex us | Flex/flashgen | dense v0 us | flashgen/(twin density x dense) "
             "| err vs Flex | >=1.5x Flex | <=1.1 |",
             "|---" * 17 + "|"]
    for r in result["rows"]:
        if r["status"] == "skipped":
            lines.append(f"| {r['pattern']} | {r['group']} | {r['kv_heads']} | {r['batch']} | {r['n']} "
                         f"| skipped: {r.get('why', '')} |" + " |" * 11)
            continue
        best = (f"{num(r.get('best_us'), '.0f')} (v{r['best_variant']})"
                if "best_variant" in r else "-")
        flashgen_cell = num(r.get("flashgen_us"), ".0f")
        if r["status"] == "failed":
            flashgen_cell = "FAILED" if "flashgen_us" not in r else flashgen_cell + " (FAILED)"
        lines.append(
            f"| {r['pattern']} | {r['group']} | {r['kv_heads']} | {r['batch']} | {r['n']} "
            f"| {num(r.get('density'), '.4f')} | {num(r.get('twin_density'), '.4f')} "
            f"| {flashgen_cell} | {r.get('variant_picked', '-')} | {best} "
            f"| {num(r.get('flex_us'), '.0f')} | {num(r.get('flex_over_flashgen'), '.2f')} "
            f"| {num(r.get('dense_us'), '.0f')} | {num(r.get('sparse_over_density_dense'), '.3f')} "
            f"| {num(r.get('rel_err_vs_flex'), '.1e')} | {verdict(r, 'meets_flex_target')} "
            f"| {verdict(r, 'meets_density_target')} |")
    errors = [(r["pattern"], r["group"], r["errors"]) for r in result["rows"] if r.get("errors")]
    if errors:
        lines.append("")
        for pattern, group, errs in errors:
            lines.append(f"- {pattern} G={group}: " + "; ".join(f"{k}: {v}" for k, v in errs.items()))
    causal_all = [r for r in result["rows"] if "sparse_over_density_dense_all" in r]
    if causal_all:
        lines.append("")
        lines.append("causal-local against the non-causal dense kernel (density over all tiles): "
                     + ", ".join(f"G={r['group']}: {r['sparse_over_density_dense_all']:.3f}"
                                 for r in causal_all))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
