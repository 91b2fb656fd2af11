#!/usr/bin/env python3
"""Speculative tree verification: examples/tree_verify.mlir (N draft tokens
in a tree after each sequence's P-token cached prefix; draft i sees the
prefix and its ancestors and itself; 32 query heads over 8 key/value heads,
d=128, bf16) against FlexAttention with the same mask (a mask_mod reading
the dense ancestor matrix, and its block mask) and, where it runs, SDPA with
the dense boolean mask.

flashgen computes the prefix's key tiles as ordinary attention (the region
keeps every key below the prefix, so those tiles skip the mask) and tests
the ancestor bits on the drafts' tiles alone; flash_decode packs the 4
query heads of a group into one tile's rows and splits the keys over CTAs,
merged by log-sum-exp (docs/semantics.md §2.7, passes/MaskModBounds.h).

Trees are random (each draft's parent uniform among the earlier drafts and
the prefix), from one seed; `flashgen.tree.ancestor_bits` packs them. Every
output is first checked against an f32 reference (SDPA's math backend with
the dense mask, one sequence at a time); a mismatch marks the row failed.
Times are medians of bench.py's time_ms (triton's do_bench, L2 flushed).
The headline is variant 0, the compiler's own first choice (planned at
B=1, N=64, M=32832); the fastest ranked variant is beside it.

    python3 bench/attention/bench_tree.py --bundle DIR/tree_verify --out $OUT

Writes $OUT/attention-tree-results.json and prints a markdown table.
"""

import argparse
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL = "tree_verify"
HEADS, KV_HEADS, D = 32, 8, 128
WORDS = 2
SHAPES = ((1, 64, 32768), (8, 64, 32768), (32, 64, 32768), (8, 16, 32768),
          (1, 64, 131072))  # B, N drafts, P prefix
TOL = 2e-2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", required=True, help="the tree_verify bundle")
    parser.add_argument("--out", default=".")
    parser.add_argument("--no-flex", action="store_true")
    parser.add_argument("--budget-s", type=float, default=200.0,
                        help="skip the remaining shapes once the run took this long")
    args = parser.parse_args(argv)

    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
    import flashgen  # noqa: E402
    from flashgen.tree import ancestor_bits, ancestor_matrix  # noqa: E402
    from bench import rel_err, short, time_ms  # noqa: E402

    dev = torch.device("cuda")
    bf16 = torch.bfloat16
    started = time.perf_counter()
    kern = flashgen.load(args.bundle).kernel(KERNEL)
    flex = create_block_mask = None
    if not args.no_flex:
        try:
            from torch import _dynamo
            _dynamo.config.cache_size_limit = 1024
            from torch.nn.attention.flex_attention import create_block_mask, flex_attention
            flex = torch.compile(flex_attention, dynamic=False)
        except Exception as error:  # noqa: BLE001
            print("FlexAttention unavailable:", short(error))

    def us(fn):
        return time_ms(fn) * 1e3

    rows = []
    for b, n, p in SHAPES:
        if time.perf_counter() - started > args.budget_s:
            print(f"budget spent: B={b} N={n} P={p} skipped")
            break
        m = p + n
        label = f"B={b} N={n} P={p}"
        row = {"B": b, "N": n, "prefix": p, "M": m, "status": "ok"}
        gen = torch.Generator(device="cpu").manual_seed(1000 + b * 7 + n)
        parents = torch.stack([
            torch.tensor([int(torch.randint(-1, t, (1,), generator=gen)) for t in range(n)])
            for _ in range(b)]).to(dev)
        anc = ancestor_matrix(parents)                       # [B, N, N] bool
        bits = ancestor_bits(parents, words=WORDS)           # [B, N, 2] int32
        prefix = torch.full((b,), p, dtype=torch.int32, device=dev)
        q = torch.randn(b, HEADS, n, D, device=dev, dtype=bf16)
        k = torch.randn(b, KV_HEADS, m, D, device=dev, dtype=bf16)
        v = torch.randn(b, KV_HEADS, m, D, device=dev, dtype=bf16)
        visible = torch.ones(b, n, m, dtype=torch.bool, device=dev)
        visible[:, :, p:] = anc                               # [B, N, M]
        row["visible_fraction_of_drafts"] = anc.float().mean().item()

        # f32 reference, one sequence at a time, heads of a group folded.
        ref = torch.empty(b, HEADS, n, D, device=dev, dtype=torch.float32)
        group = HEADS // KV_HEADS
        for s in range(b):
            qf = q[s].float().reshape(KV_HEADS, group * n, D)
            mask = visible[s].repeat(group, 1)                # [G N, M]
            with sdpa_kernel(SDPBackend.MATH):
                o = F.scaled_dot_product_attention(qf, k[s].float(), v[s].float(),
                                                   attn_mask=mask)
            ref[s] = o.reshape(HEADS, n, D)
            del qf, o

        out = torch.empty(b, HEADS, n, D, device=dev, dtype=bf16)
        try:
            kern.select_variant(0)
            out.fill_(float("nan"))
            kern(q, k, v, out=out, prefix=prefix, tree=bits)
            torch.cuda.synchronize()
            row["rel_err"] = rel_err(out, ref)
            if not row["rel_err"] < TOL:
                row["status"] = "failed"
                print(f"!!!!! WRONG flashgen v0 at {label}: rel_err {row['rel_err']:.3g}")
            variant_us = {}
            for variant in range(kern.num_variants):
                kern.select_variant(variant)
                out.fill_(float("nan"))
                kern(q, k, v, out=out, prefix=prefix, tree=bits)
                torch.cuda.synchronize()
                err = rel_err(out, ref)
                if not err < TOL:
                    print(f"variant {variant} disagrees at {label}: rel_err {err:.3g}")
                    continue
                variant_us[variant] = us(lambda: kern(q, k, v, out=out, prefix=prefix, tree=bits))
            kern.select_variant(0)
            row["variant_us"] = variant_us
            if 0 in variant_us:
                row["flashgen_us"] = variant_us[0]
                best = min(variant_us, key=variant_us.get)
                row["best_variant"], row["best_us"] = best, variant_us[best]
        except Exception as error:  # noqa: BLE001
            row["status"], row["flashgen_error"] = "failed", short(error)
            print(f"!!!!! flashgen FAILED at {label}: {row['flashgen_error']}")

        if flex is not None:
            try:
                def tree_mask(bi, hi, qi, kvi):
                    t = (kvi - p).clamp(min=0)
                    return (kvi < p) | anc[bi, qi, t]
                block_mask = create_block_mask(tree_mask, b, None, n, m, device=dev)
                options = None
                try:
                    got = flex(q, k, v, block_mask=block_mask, enable_gqa=True)
                except Exception as error:  # noqa: BLE001
                    # Flex's decoding kernel has no config for G x N packed
                    # rows past its limit (H100, 64 drafts x 4 heads): its
                    # general kernel then.
                    row["flex_decoding_error"] = short(error)
                    options = {"FORCE_USE_FLEX_ATTENTION": True}
                    got = flex(q, k, v, block_mask=block_mask, enable_gqa=True,
                               kernel_options=options)
                row["flex_kernel_options"] = options
                torch.cuda.synchronize()
                row["flex_rel_err"] = rel_err(got, ref)
                if row["flex_rel_err"] < TOL:
                    row["flex_us"] = us(lambda: flex(q, k, v, block_mask=block_mask,
                                                     enable_gqa=True,
                                                     kernel_options=options))
                else:
                    print(f"!!!!! FlexAttention disagrees at {label}")
                del got
            except Exception as error:  # noqa: BLE001
                row["flex_error"] = short(error)
                print(f"FlexAttention at {label}: {row['flex_error']}")
        # SDPA: the dense mask, K/V expanded to every query head (once,
        # outside the timing).
        mask4 = visible.unsqueeze(1)                          # [B, 1, N, M]
        kx = k.repeat_interleave(group, dim=1)
        vx = v.repeat_interleave(group, dim=1)
        for key, backend in (("sdpa_efficient", SDPBackend.EFFICIENT_ATTENTION),
                             ("sdpa_cudnn", SDPBackend.CUDNN_ATTENTION)):
            try:
                def run_sdpa(backend=backend):
                    with sdpa_kernel(backend):
                        return F.scaled_dot_product_attention(q, kx, vx, attn_mask=mask4)
                got = run_sdpa()
                torch.cuda.synchronize()
                row[key + "_rel_err"] = rel_err(got, ref)
                if row[key + "_rel_err"] < TOL:
                    row[key + "_us"] = us(run_sdpa)
                del got
            except Exception as error:  # noqa: BLE001
                row[key + "_error"] = short(error)
        del kx, vx, mask4
        for key in ("flex", "sdpa_efficient", "sdpa_cudnn"):
            if row.get("flashgen_us") and row.get(key + "_us"):
                row["v0_over_" + key] = row[key + "_us"] / row["flashgen_us"]
        rows.append(row)
        print(json.dumps(row), flush=True)
        del q, k, v, ref, out, visible
        torch.cuda.empty_cache()

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "attention-tree-results.json"), "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "rows": rows}, f, indent=1)
    print("\n| B | drafts | prefix | **v0** us | best (variant) | Flex us | SDPA mem-eff. (dense mask, K/V expanded) us | Flex/v0 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        def fmt(x):
            return "-" if x is None else (f"{x:.1f}" if isinstance(x, float) else str(x))
        print(f"| {r['B']} | {r['N']} | {r['prefix']} | **{fmt(r.get('flashgen_us'))}** | "
              f"{fmt(r.get('best_us'))} (v{r.get('best_variant', '-')}) | {fmt(r.get('flex_us'))} | "
              f"{fmt(r.get('sdpa_efficient_us'))} | {fmt(r.get('v0_over_flex'))} |")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
