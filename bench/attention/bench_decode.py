#!/usr/bin/env python3
"""Decode attention benchmark: examples/decode_gqa.mlir (N new tokens of each
sequence attend to its M cached keys, bottom-right causal; 32 query heads over
8 key/value heads, d=128, bf16) against PyTorch SDPA's cuDNN and
FlashAttention-2 backends and FlexAttention, on one bundle whose sizes are all
run-time (planned by bench/prepare-bench.sh at B=8, N=1, M=32768).

Decode reads the whole K/V cache once per launch and does little arithmetic,
so every time is also given as GB/s of K+V read (2*B*8*M*128*2 bytes) and as
a share of the device-to-device copy bandwidth measured in the same run
(dst.copy_(src) on a 2 GiB bf16 buffer, GB/s = 2*bytes/time).

Shapes: single-token decode (N=1) at batch 1, 8, 64, 128 and M = 2048, 32768,
131072 (a shape whose K/V does not fit in the free memory is skipped with the
reason), and multi-token decode (speculative verification) N = 4 and 16 at
batch 8 and 64, M = 32768, from the same bundle.

The headline is variant 0, the compiler's own first choice; the fastest of
the bundle's other ranked candidates is beside it (its index too). Every
flashgen output (and every peer's) is first checked against an f32 reference
computed by SDPA's math backend on the same inputs (query heads folded onto
their key/value head, batch chunks, so K/V is never expanded); a mismatch is
printed loudly and the row marked failed. Times are medians of bench.py's
time_ms (triton.testing.do_bench: CUDA events around each call, warm-up, L2
flushed between calls) while cycling through several copies of the inputs
where they fit (rotating(), enough copies for 256 MiB; for large M one copy
is already far larger than the 50 MB L2). A small step timed that way is
bound by the host's launch path; with --graph every flashgen variant and
both SDPA peers are also timed per call inside a CUDA graph of back-to-back
calls over the rotating inputs (as serving engines run a decode step), and
the host's enqueue time per call is recorded beside.

Run on the GPU machine (scripts/device-run.sh does, on CARRY_DIR/bench-decode):

    python3 bench/attention/bench_decode.py --bundles DIR --out $OUT

DIR holds the bundle decode_gqa (`flashgen compile examples/decode_gqa.mlir
--dim B=8 --dim N=1 --dim M=32768 --top-k 4 -o DIR/decode_gqa`), or is that
bundle. Writes $OUT/attention-decode-results.json (one row per shape) and
prints a markdown table. `--dry-run` prints the planned shapes (sizes,
copies, what would be skipped) without torch or a GPU.
"""

import argparse
import json
import math
import os
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL = "decode_gqa"
HEADS, KV_HEADS, D = 32, 8, 128
ELEM = 2  # bf16
BATCHES = (1, 8, 64, 128)
KV_LENS = (2048, 32768, 131072)
MULTI_TOKEN = ((4, (8, 64), 32768), (16, (8, 64), 32768))  # N, batches, M
GIB = 1 << 30
ROTATE_BYTES = 256 << 20   # K+V cycled through per shape (the L2 is 50 MB)
MAX_COPIES = 16
RESERVE_BYTES = 6 * GIB    # reference chunks, outputs, peers' workspaces
FREE_FRACTION = 0.92       # of the free memory a shape may take
REF_CHUNK_BYTES = 2 * GIB  # f32 K+V per reference chunk
TOL = 2e-2
LSE_TOL = 1e-2             # max |lse - lse_ref| (natural log)
PEERS = ("cudnn", "fa2", "flex")
PEER_NAMES = {"cudnn": "SDPA cuDNN", "fa2": "SDPA FA2", "flex": "FlexAttention"}


def kv_bytes(b, m):
    """Bytes of K and V read by one launch."""
    return 2 * b * KV_HEADS * m * D * ELEM


def shape_bytes(b, n, m):
    """One input set: K, V, Q (and the output)."""
    return kv_bytes(b, m) + 2 * b * HEADS * n * D * ELEM


def plan_shapes(args):
    """(batch, n, m) in run order."""
    batches = [int(x) for x in args.batches.split(",")] if args.batches else list(BATCHES)
    kv_lens = [int(x) for x in args.kv_lens.split(",")] if args.kv_lens else list(KV_LENS)
    shapes = [(b, 1, m) for m in kv_lens for b in batches]
    if not args.no_multi_token:
        for n, bs, m in MULTI_TOKEN:
            if args.quick and n > 4:
                continue
            shapes += [(b, n, m) for b in bs]
    if args.quick:
        shapes = [s for s in shapes if s[2] == 32768 or (s[0] == 8 and s[1] == 1)]
    # By M, then N: the N>1 rows after their N=1 rows, the largest K/V last.
    return sorted(set(shapes), key=lambda s: (s[2], s[1], s[0]))


def plan_memory(b, n, m, free_bytes):
    """(copies, skip reason or None): enough input sets to cycle through
    ROTATE_BYTES, as many as fit; one set only when one is already past the
    L2 many times over; skipped when one set does not fit."""
    one = shape_bytes(b, n, m)
    budget = free_bytes * FREE_FRACTION - RESERVE_BYTES
    if one > budget:
        return 0, ("K+V %.1f GB does not fit: %.1f GB free (%.1f GB usable after %.0f GiB reserve)"
                   % (kv_bytes(b, m) / 1e9, free_bytes / 1e9, max(budget, 0) / 1e9,
                      RESERVE_BYTES / GIB))
    copies = max(1, min(MAX_COPIES, math.ceil(ROTATE_BYTES / one)))
    while copies > 1 and copies * one > budget:
        copies -= 1
    return copies, None


def print_plan(shapes, free_bytes):
    print(f"planned shapes (GQA {HEADS}/{KV_HEADS}, d={D}, bf16; "
          f"{free_bytes / GIB:.1f} GiB free assumed):")
    print(f"{'B':>4} {'N':>3} {'M':>7} {'K+V MB':>9} {'copies':>6}  note")
    for b, n, m in shapes:
        copies, reason = plan_memory(b, n, m, free_bytes)
        note = f"SKIP: {reason}" if reason else ("" if copies > 1 else "one copy (no rotation)")
        print(f"{b:>4} {n:>3} {m:>7} {kv_bytes(b, m) / 1e6:>9.1f} {copies:>6}  {note}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", help="folder holding the bundle decode_gqa (or the bundle)")
    parser.add_argument("--out", default=".", help="where attention-decode-results.json goes")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the planned shapes and exit (no torch, no GPU)")
    parser.add_argument("--assume-free-gib", type=float, default=139.0,
                        help="free device memory the dry run plans with (H200: ~139)")
    parser.add_argument("--quick", action="store_true",
                        help="M=32768 shapes and N<=4 only (plus B=8 at every M)")
    parser.add_argument("--batches", default="", help="comma-separated batches for N=1")
    parser.add_argument("--kv-lens", default="", help="comma-separated M for N=1")
    parser.add_argument("--no-multi-token", action="store_true", help="N=1 only")
    parser.add_argument("--no-peers", action="store_true", help="flashgen's variants only")
    parser.add_argument("--no-flex", action="store_true", help="skip FlexAttention")
    parser.add_argument("--flex-budget-s", type=float, default=90.0,
                        help="stop timing FlexAttention once its compiles and runs "
                             "took this long in all")
    parser.add_argument("--budget-s", type=float, default=240.0,
                        help="skip the remaining shapes once the run took this long "
                             "(flashgen's first calls, i.e. NVRTC compiles, not counted)")
    parser.add_argument("--graph", action="store_true",
                        help="also time v0 and the SDPA peers as serving engines run "
                             "decode: a CUDA graph of back-to-back calls over the "
                             "rotating inputs, replayed (no host work between calls), "
                             "and the host's enqueue time per call")
    parser.add_argument("--copy-gib", type=float, default=2.0,
                        help="size of the buffer copied to measure the bandwidth")
    args = parser.parse_args(argv)
    if not args.dry_run and not args.bundles:
        parser.error("--bundles is required (unless --dry-run)")
    return args


# -- on the GPU -------------------------------------------------------------

def bundle_dir(path):
    if os.path.isfile(os.path.join(path, "manifest.json")):
        return path
    return os.path.join(path, KERNEL)


def manifest_variants(path):
    """Each variant's schedule and launch count from the manifest."""
    try:
        with open(os.path.join(path, "manifest.json")) as f:
            manifest = json.load(f)
        kernel = next(k for k in manifest["kernels"] if k["name"] == KERNEL)
        return [{"schedule": v.get("schedule"), "launches": len(v.get("launches", [])),
                 "grids": [launch.get("grid") for launch in v.get("launches", [])]}
                for v in kernel["variants"]]
    except Exception as error:  # noqa: BLE001
        print("cannot read the manifest's variants:", error)
        return []


def main(argv=None):
    args = parse_args(argv)
    shapes = plan_shapes(args)
    if args.dry_run:
        print_plan(shapes, args.assume_free_gib * GIB)
        return 0

    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.attention.bias import causal_lower_right
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
    import flashgen  # noqa: E402
    from bench import rel_err, rotating, short, time_ms  # noqa: E402
    sys.path.insert(0, os.path.join(HERE, ".."))
    from copy_bandwidth import measure_copy  # noqa: E402
    import graph_timing  # noqa: E402

    torch.manual_seed(0)
    dev = torch.device("cuda")
    started = time.perf_counter()
    bf16 = torch.bfloat16

    def us(fn):
        return time_ms(fn) * 1e3

    def graph_us(call, copies):
        return graph_timing.graph_us(torch, call, copies)

    def host_us(call, copies, calls=200):
        """Host time per call while enqueueing back to back (no sync)."""
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for i in range(calls):
            call(i % copies)
        t1 = time.perf_counter()
        torch.cuda.synchronize()
        return (t1 - t0) * 1e6 / calls

    # -- copy bandwidth, before anything else holds memory
    free, total = torch.cuda.mem_get_info()
    copy_gbs, copy_bytes, copy_time = measure_copy(time_ms, args.copy_gib)
    print(f"device-to-device copy: {copy_bytes / 1e9:.2f} GB moved in {copy_time:.0f} us"
          f" = {copy_gbs:.0f} GB/s ({torch.cuda.get_device_name()}, "
          f"{total / GIB:.0f} GiB, {free / GIB:.0f} GiB free)")

    # -- flashgen
    path = bundle_dir(args.bundles)
    variants_info = manifest_variants(path)
    kern, load_error = None, None
    try:
        kern = flashgen.load(path).kernel(KERNEL)
        num_variants = kern.num_variants
    except Exception as error:  # noqa: BLE001
        load_error = short(error)
        num_variants = 0
        print(f"!!!!! flashgen: cannot load {KERNEL} from {path}: {load_error}")
    first_call = {}

    # -- FlexAttention (optional)
    flex = None
    state = {"flex_spent": 0.0}
    if not args.no_flex and not args.no_peers:
        try:
            from torch import _dynamo
            _dynamo.config.cache_size_limit = 1024
            if hasattr(_dynamo.config, "recompile_limit"):
                _dynamo.config.recompile_limit = 1024
            from torch.nn.attention.flex_attention import create_block_mask, flex_attention
            flex = torch.compile(flex_attention, dynamic=False)
        except Exception as error:  # noqa: BLE001
            print("FlexAttention unavailable:", short(error))

    def reference(q, k, v, n, m):
        """f32 output and lse by SDPA's math backend: each kv head's query
        heads folded into rows ([b, 8, 4N, d]), bottom-right causal mask,
        batch chunks of at most REF_CHUNK_BYTES of f32 K+V."""
        b = q.shape[0]
        group = HEADS // KV_HEADS
        out = torch.empty(b, HEADS, n, D, device=dev, dtype=torch.float32)
        lse = torch.empty(b, HEADS, n, device=dev, dtype=torch.float32)
        rows = torch.arange(n, device=dev)[:, None] + (m - n)
        visible = (torch.arange(m, device=dev)[None, :] <= rows).repeat(group, 1)  # [4N, M]
        mask = None if n == 1 else visible
        chunk = max(1, REF_CHUNK_BYTES // (2 * KV_HEADS * m * D * 4))
        scale = 1.0 / math.sqrt(D)
        for b0 in range(0, b, chunk):
            b1 = min(b, b0 + chunk)
            qf = q[b0:b1].float().reshape(b1 - b0, KV_HEADS, group * n, D)
            kf, vf = k[b0:b1].float(), v[b0:b1].float()
            with sdpa_kernel(SDPBackend.MATH):
                o = F.scaled_dot_product_attention(qf, kf, vf, attn_mask=mask)
            out[b0:b1] = o.reshape(b1 - b0, HEADS, n, D)
            s = (qf @ kf.transpose(-1, -2)) * scale
            s.masked_fill_(~visible, float("-inf"))
            lse[b0:b1] = torch.logsumexp(s, dim=-1).reshape(b1 - b0, HEADS, n)
            del qf, kf, vf, o, s
        return out, lse

    def measure(row, label, b, n, m, sets):
        """Checks and times flashgen's variants and the peers on one shape."""
        pick = rotating(sets)
        q0, k0, v0 = sets[0]
        ref, ref_lse = reference(q0, k0, v0, n, m)
        out = torch.empty(b, HEADS, n, D, device=dev, dtype=bf16)
        lse = torch.empty(b, HEADS, n, device=dev, dtype=torch.float32)

        # -- flashgen: correctness of v0 (o and lse), then every variant timed
        if kern is None:
            row["status"], row["flashgen_error"] = "failed", load_error
        else:
            try:
                kern.select_variant(0)
                out.fill_(float("nan"))
                t0 = time.perf_counter()
                kern(q0, k0, v0, out=out)
                torch.cuda.synchronize()
                first_call.setdefault(0, time.perf_counter() - t0)
                row["rel_err"] = rel_err(out, ref)
            except Exception as error:  # noqa: BLE001
                row["status"], row["flashgen_error"] = "failed", short(error)
                print(f"!!!!! flashgen FAILED at {label}: {row['flashgen_error']}")
            if row["status"] == "ok" and not row["rel_err"] < TOL:
                row["status"] = "failed"
                print(f"!!!!! WRONG flashgen v0 at {label}: rel_err {row['rel_err']:.3g}"
                      f" (tolerance {TOL}) against SDPA math")
            if row["status"] == "ok":
                try:
                    lse.fill_(float("nan"))
                    kern(q0, k0, v0, out=(out, lse))
                    torch.cuda.synchronize()
                    err = (lse - ref_lse).abs().max().item()
                    row["lse_max_abs_err"] = err
                    row["lse_ok"] = err < LSE_TOL  # NaN fails too
                    if not row["lse_ok"]:
                        print(f"!!!!! WRONG flashgen lse at {label}: max |lse - ref| {err:.3g}")
                except Exception as error:  # noqa: BLE001
                    row["lse_error"] = short(error)
                    print(f"flashgen with lse at {label}: {row['lse_error']}")
            if row["status"] == "ok":
                variant_us, variant_err = {}, {}
                for variant in range(num_variants):
                    try:
                        kern.select_variant(variant)
                        if variant:
                            out.fill_(float("nan"))
                            t0 = time.perf_counter()
                            kern(q0, k0, v0, out=out)
                            torch.cuda.synchronize()
                            first_call.setdefault(variant, time.perf_counter() - t0)
                            variant_err[variant] = rel_err(out, ref)
                            if not variant_err[variant] < TOL:
                                print(f"variant {variant} disagrees at {label}: "
                                      f"rel_err {variant_err[variant]:.3g}")
                                continue

                        def run():
                            qs, ks, vs = pick()
                            kern(qs, ks, vs, out=out)
                        variant_us[variant] = us(run)
                    except Exception as error:  # noqa: BLE001
                        variant_err[variant] = short(error)
                        print(f"variant {variant} failed at {label}: {short(error)}")
                kern.select_variant(0)
                row["variant_us"] = variant_us
                if variant_err:
                    row["variant_rel_err"] = variant_err
                if args.graph and 0 in variant_us:
                    def call(i):
                        kern(*sets[i], out=out)
                    variant_graph_us = {}
                    for variant in variant_us:
                        try:
                            kern.select_variant(variant)
                            variant_graph_us[variant] = graph_us(call, len(sets))
                            if variant == 0:
                                row["flashgen_host_us"] = host_us(call, len(sets))
                        except Exception as error:  # noqa: BLE001
                            row.setdefault("flashgen_graph_error", short(error))
                            print(f"flashgen v{variant} in a CUDA graph at {label}: {short(error)}")
                    kern.select_variant(0)
                    row["variant_graph_us"] = variant_graph_us
                    if 0 in variant_graph_us:
                        row["flashgen_graph_us"] = variant_graph_us[0]
                        best = min(variant_graph_us, key=variant_graph_us.get)
                        row["best_graph_variant"] = best
                        row["best_graph_us"] = variant_graph_us[best]
                if 0 in variant_us:
                    row["flashgen_us"] = variant_us[0]
                    best = min(variant_us, key=variant_us.get)
                    row["best_variant"], row["best_us"] = best, variant_us[best]
                else:
                    row["status"] = "failed"

        # -- peers: SDPA cuDNN (explicit bottom-right mask for N>1), SDPA FA2
        # (causal_lower_right for N>1: FA2's own causal is bottom-right),
        # FlexAttention (block mask for N>1). Each checked, then timed.
        peers = []
        if not args.no_peers:
            mask = None
            if n > 1:
                mask = (torch.arange(m, device=dev)[None, :]
                        <= torch.arange(n, device=dev)[:, None] + (m - n))
            peers.append(("cudnn", SDPBackend.CUDNN_ATTENTION, mask))
            peers.append(("fa2", SDPBackend.FLASH_ATTENTION,
                          causal_lower_right(n, m) if n > 1 else None))
        for key, backend, mask in peers:
            def run_sdpa(q=None, k=None, v=None, backend=backend, mask=mask):
                if q is None:
                    q, k, v = pick()
                with sdpa_kernel(backend):
                    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                          enable_gqa=True)
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    try:
                        got = run_sdpa(q0, k0, v0)
                        torch.cuda.synchronize()
                    except Exception as error:  # noqa: BLE001
                        why = " | ".join(str(w.message).strip() for w in caught)[:600]
                        raise RuntimeError(short(error) + (f" [{why}]" if why else "")) from None
                row[key + "_rel_err"] = rel_err(got, ref)
                del got
                if not row[key + "_rel_err"] < TOL:
                    row[key + "_error"] = f"output disagrees (rel_err {row[key + '_rel_err']:.3g})"
                    print(f"!!!!! {PEER_NAMES[key]} disagrees with the reference at {label}")
                    continue
                row[key + "_us"] = us(run_sdpa)
                if args.graph:
                    def call_sdpa(i, run_sdpa=run_sdpa):
                        run_sdpa(*sets[i])
                    try:
                        row[key + "_graph_us"] = graph_us(call_sdpa, len(sets))
                        row[key + "_host_us"] = host_us(call_sdpa, len(sets))
                    except Exception as error:  # noqa: BLE001
                        row[key + "_graph_error"] = short(error)
                        print(f"{PEER_NAMES[key]} in a CUDA graph at {label}: {short(error)}")
            except Exception as error:  # noqa: BLE001
                row[key + "_error"] = short(error)
                print(f"{PEER_NAMES[key]} refused {label}: {row[key + '_error']}")
        if flex is not None:
            if state["flex_spent"] > args.flex_budget_s:
                row["flex_error"] = f"Flex time budget ({args.flex_budget_s:.0f} s) spent"
            else:
                t0 = time.perf_counter()
                try:
                    block_mask = None
                    if n > 1:
                        offset = m - n

                        def bottom_right(bb, hh, qi, ki, offset=offset):
                            return ki <= qi + offset
                        block_mask = create_block_mask(bottom_right, None, None, n, m,
                                                       device="cuda")

                    def run_flex(q=None, k=None, v=None):
                        if q is None:
                            q, k, v = pick()
                        return flex(q, k, v, block_mask=block_mask, enable_gqa=True)
                    got = run_flex(q0, k0, v0)
                    torch.cuda.synchronize()
                    row["flex_first_call_s"] = time.perf_counter() - t0
                    row["flex_rel_err"] = rel_err(got, ref)
                    del got
                    if row["flex_rel_err"] < TOL:
                        row["flex_us"] = us(run_flex)
                    else:
                        row["flex_error"] = f"output disagrees (rel_err {row['flex_rel_err']:.3g})"
                        print(f"!!!!! FlexAttention disagrees with the reference at {label}")
                except Exception as error:  # noqa: BLE001
                    row["flex_error"] = short(error)
                    print(f"FlexAttention failed at {label}: {row['flex_error']}")
                state["flex_spent"] += time.perf_counter() - t0

        for key in ("flashgen", "best") + PEERS:
            t = row.get(key + "_us")
            if t:
                gbs = row["kv_bytes"] / (t * 1e-6) / 1e9
                row[key + "_gbs"] = gbs
                row[key + "_pct_copy"] = 100.0 * gbs / copy_gbs
        for key in PEERS:  # speedups of v0 over each peer: peer time / v0 time
            if row.get("flashgen_us") and row.get(key + "_us"):
                row["speedup_vs_" + key] = row[key + "_us"] / row["flashgen_us"]
            if row.get("flashgen_graph_us") and row.get(key + "_graph_us"):
                row["graph_speedup_vs_" + key] = row[key + "_graph_us"] / row["flashgen_graph_us"]

    rows = []
    for b, n, m in shapes:
        row = {"batch": b, "n": n, "m": m, "heads": HEADS, "kv_heads": KV_HEADS, "d": D,
               "kv_bytes": kv_bytes(b, m), "status": "ok"}
        rows.append(row)
        label = f"B={b} N={n} M={m}"
        # NVRTC compiles of the variants' first calls do not count.
        elapsed = time.perf_counter() - started - sum(first_call.values())
        if elapsed > args.budget_s:
            row["status"], row["skip_reason"] = "skipped", f"time budget ({args.budget_s:.0f} s) spent"
            print(f"skip {label}: {row['skip_reason']}")
            continue
        torch.cuda.empty_cache()
        free, _ = torch.cuda.mem_get_info()
        copies, reason = plan_memory(b, n, m, free)
        if reason:
            row["status"], row["skip_reason"] = "skipped", reason
            print(f"skip {label}: {reason}")
            continue
        row["copies"] = copies
        shape_start = time.perf_counter()
        try:
            sets = [(torch.randn(b, HEADS, n, D, device=dev, dtype=bf16),
                     torch.randn(b, KV_HEADS, m, D, device=dev, dtype=bf16),
                     torch.randn(b, KV_HEADS, m, D, device=dev, dtype=bf16))
                    for _ in range(copies)]
        except torch.cuda.OutOfMemoryError as error:
            row["status"], row["skip_reason"] = "skipped", "allocation failed: " + short(error)
            print(f"skip {label}: {row['skip_reason']}")
            torch.cuda.empty_cache()
            continue
        try:
            measure(row, label, b, n, m, sets)
        except Exception as error:  # noqa: BLE001 (e.g. out of memory in a peer)
            row["status"], row["error"] = "failed", short(error)
            print(f"!!!!! {label} FAILED: {row['error']}")
        del sets
        row["seconds"] = time.perf_counter() - shape_start
        print(f"{label}: {row['status']}, v0 {row.get('flashgen_us', 0):.1f} us, "
              f"best {row.get('best_us', 0):.1f} us (v{row.get('best_variant', '-')}), "
              f"cuDNN {row.get('cudnn_us', 0):.1f}, FA2 {row.get('fa2_us', 0):.1f}, "
              f"Flex {row.get('flex_us', 0):.1f} us  [{row['seconds']:.1f} s]")
        torch.cuda.empty_cache()

    # N>1 against N=1 at the same B, M (the time of N new tokens over one).
    single = {(r["batch"], r["m"]): r for r in rows if r["n"] == 1}
    for r in rows:
        base = single.get((r["batch"], r["m"]))
        if r["n"] > 1 and base:
            for key in ("flashgen", "best") + PEERS:
                if r.get(key + "_us") and base.get(key + "_us"):
                    r[key + "_vs_n1"] = r[key + "_us"] / base[key + "_us"]

    os.makedirs(args.out, exist_ok=True)
    result = {"kind": "attention-decode", "device": torch.cuda.get_device_name(),
              "torch": torch.__version__, "cudnn": torch.backends.cudnn.version(),
              "flash_impl": getattr(torch.nn.attention, "current_flash_attention_impl",
                                    lambda: None)(),
              "bundle": path, "kernel": KERNEL,
              "num_variants": num_variants, "variants": variants_info,
              "copy_bandwidth_gbs": copy_gbs, "copy_bytes": copy_bytes,
              "first_call_seconds": first_call, "tolerance": TOL,
              "seconds": time.perf_counter() - started, "rows": rows}
    json_path = os.path.join(args.out, "attention-decode-results.json")
    with open(json_path, "w") as f:
        json.dump(result, f, indent=1)

    print_table(result)
    failed = [r for r in rows if r["status"] == "failed" or r.get("lse_ok") is False]
    print(f"\n{json_path}; {time.perf_counter() - started:.0f} s in all")
    if failed:
        print("!!!!! FAILED: " + ", ".join(f"B={r['batch']} N={r['n']} M={r['m']}" for r in failed))
        return 1
    return 0


def print_table(result):
    """The markdown table of one run's result (also usable on a saved JSON)."""
    def fmt(value, spec="{:.1f}"):
        return spec.format(value) if value else "-"

    notes = []
    for r in result["rows"]:
        if r.get("error"):
            notes.append(f"B={r['batch']} N={r['n']} M={r['m']}: {r['error'][:200]}")
        for key in ("flashgen",) + PEERS:
            if r.get(key + "_error"):
                notes.append(f"B={r['batch']} N={r['n']} M={r['m']} {key}: {r[key + '_error'][:200]}")
    if notes:
        print("not timed:\n" + "\n".join("- " + x for x in notes))
    print(f"\n### Decode, GQA {HEADS}/{KV_HEADS}, d={D}, bf16 ({result['device']}; "
          f"copy bandwidth {result['copy_bandwidth_gbs']:.0f} GB/s)\n")
    print("| B | N | M | K+V MB | err | **v0 us** | best us (v) | cuDNN us | FA2 us | Flex us "
          "| v0 GB/s | v0 % copy | best % copy | cuDNN/v0 | FA2/v0 | Flex/v0 | v0 vs N=1 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in result["rows"]:
        head = f"| {r['batch']} | {r['n']} | {r['m']} | {r['kv_bytes'] / 1e6:.0f} "
        if r["status"] == "skipped":
            print(head + f"| skipped: {r.get('skip_reason', '')} |" + " |" * 12)
            continue
        err = r.get("rel_err")
        err_text = f"{err:.1e}" if err is not None else "-"
        if r["status"] == "failed":
            err_text = f"**FAILED** {err_text}"
        best = (f"{r['best_us']:.1f} ({r['best_variant']})" if r.get("best_us") else "-")
        print(head + f"| {err_text} | **{fmt(r.get('flashgen_us'))}** | {best} "
              f"| {fmt(r.get('cudnn_us'))} | {fmt(r.get('fa2_us'))} | {fmt(r.get('flex_us'))} "
              f"| {fmt(r.get('flashgen_gbs'), '{:.0f}')} | {fmt(r.get('flashgen_pct_copy'), '{:.0f}%')} "
              f"| {fmt(r.get('best_pct_copy'), '{:.0f}%')} "
              f"| {fmt(r.get('speedup_vs_cudnn'), '{:.2f}')} | {fmt(r.get('speedup_vs_fa2'), '{:.2f}')} "
              f"| {fmt(r.get('speedup_vs_flex'), '{:.2f}')} | {fmt(r.get('flashgen_vs_n1'), '{:.2f}')} |")
    graph_rows = [r for r in result["rows"] if r.get("flashgen_graph_us")]
    if graph_rows:
        print("\nIn a CUDA graph (back-to-back calls, replayed), us per call; host enqueue us per call:\n")
        print("| B | N | M | **v0 us** | v0 % copy | best us (v) | cuDNN us | FA2 us | cuDNN/v0 | FA2/v0 "
              "| v0 host us | cuDNN host us | FA2 host us |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        copy = result["copy_bandwidth_gbs"]
        for r in graph_rows:
            pct = 100.0 * r["kv_bytes"] / (r["flashgen_graph_us"] * 1e-6) / 1e9 / copy
            best = (f"{r['best_graph_us']:.1f} ({r['best_graph_variant']})"
                    if r.get("best_graph_us") else "-")
            print(f"| {r['batch']} | {r['n']} | {r['m']} | **{r['flashgen_graph_us']:.1f}** | {pct:.0f}% "
                  f"| {best} | {fmt(r.get('cudnn_graph_us'))} | {fmt(r.get('fa2_graph_us'))} "
                  f"| {fmt(r.get('graph_speedup_vs_cudnn'), '{:.2f}')} "
                  f"| {fmt(r.get('graph_speedup_vs_fa2'), '{:.2f}')} "
                  f"| {fmt(r.get('flashgen_host_us'))} | {fmt(r.get('cudnn_host_us'))} "
                  f"| {fmt(r.get('fa2_host_us'))} |")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1].endswith(".json") and os.path.isfile(sys.argv[1]):
        with open(sys.argv[1]) as f:  # re-print the table of a saved run
            print_table(json.load(f))
        sys.exit(0)
    sys.exit(main())
