#!/usr/bin/env python3
"""Block-sparse attention forward+backward (flash.block_mask and its
gradient, docs/semantics.md §2.10) against FlexAttention with the same
BlockMask, and against our own dense kernels on the same tensors.

The shapes, patterns and lists are bench_sparse.py's (32 query heads over
32 / G key/value heads, d=128, bf16, 128 x 128 blocks, 10% of the eligible
key blocks listed; random: all full, no mask kind; causal-local: the
diagonal block partial under the causal mask, earlier blocks full), at
B=4, N=M=16,384 by default (--full: B=1, N=65,536). The bundles are
bench/attention/prepare-sparse.sh's compiled with --backward:

    FLASHGEN_COMPILE_FLAGS=--backward bench/attention/prepare-sparse.sh DIR
    python3 bench/attention/bench_sparse_backward.py --bundles DIR --out PREFIX

Each side gets the same lists: Flex a BlockMask.from_kv_blocks (which also
builds the transposed lists its backward walks), flashgen the same BlockMask
object (`block_mask=bm`: its four kv lists and its transposes q_num_blocks,
q_indices, full_q_num_blocks, full_q_indices) through flashgen.torch (kernels X
and X_backward; variant 0 of each, the compiler's first choice, the
headline). A second flashgen run without the transposes (flashgen.torch
then builds them with flashgen.block_mask.transpose_lists) must give the
same gradients.

Checked before timing: flashgen's o, dq, dk, dv against Flex's (relative
error < TOL, both bf16; Flex's gradients are the reference here: the
float64 checks are the GPU tests' bwd_sparse cases). Timed (median of
triton.testing.do_bench, L2 flushed): fwd+bwd, o = attn(q, k, v) then
torch.autograd.grad(o, (q, k, v), do), for flashgen, Flex and the dense
twin (dense_gG[_causal] --backward bundles, the same attention without the
block mask). Reported: ms, flex/flashgen, and flashgen / (twin density x
dense), where twin density = listed tiles / the tiles the dense twin
visits.

Writes PREFIX.json (rows) and prints a markdown table. --dry-run prints the
plan without torch.
"""

import argparse
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import bench_sparse as bs  # noqa: E402

TOL = 3e-2


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundles", required=True)
    p.add_argument("--out", default="attention-sparse-backward")
    p.add_argument("--full", action="store_true", help="B=1, N=65,536 (default B=4, N=16,384)")
    p.add_argument("--groups", default="1,4")
    p.add_argument("--patterns", default=",".join(bs.PATTERNS))
    p.add_argument("--keep", type=float, default=bs.KEEP)
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--no-flex", action="store_true")
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    args.groups = [int(g) for g in args.groups.split(",") if g]
    args.patterns = [x for x in args.patterns.split(",") if x]
    for g in args.groups:
        if g not in bs.GROUPS:
            p.error(f"--groups: {g} is not one of {bs.GROUPS}")
    for x in args.patterns:
        if x not in bs.PATTERNS:
            p.error(f"--patterns: {x} is not one of {bs.PATTERNS}")
    return args


def rel_err(a, b):
    a, b = a.float(), b.float()
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


def grads(attend, q, k, v, do):
    import torch  # not at the top: --dry-run runs without torch
    o = attend(q, k, v)
    dq, dk, dv = torch.autograd.grad(o, (q, k, v), do)
    return o, dq, dk, dv


def main(argv=None):
    args = parse_args(argv)
    batch, n = bs.FULL_SHAPE if args.full else bs.QUICK_SHAPE
    nqb = nkb = bs.cdiv(n, bs.BLOCK)
    rows = []
    plan = [(g, pat) for g in args.groups for pat in args.patterns]
    if args.dry_run:
        for g, pat in plan:
            listed, every, twin = bs.tile_counts(pat, batch, n, args.keep)
            print(f"G={g} {pat}: B={batch} N={n} bundles {bs.sparse_bundle(g, pat)}, "
                  f"{bs.dense_bundle(g, pat == 'causal-local')}; density {listed / every:.3f}, "
                  f"twin density {listed / twin:.3f}")
        return 0

    import torch
    import flashgen.torch
    dev = torch.device("cuda")
    flex = BlockMask = None
    if not args.no_flex:
        from torch.nn.attention.flex_attention import BlockMask, flex_attention
        flex = torch.compile(flex_attention, dynamic=False)

    def op_of(name):
        path = os.path.join(args.bundles, name)
        op = flashgen.torch.register(path, name)
        if not op.has_backward:
            raise SystemExit(f"{path}: no {name}_backward (compile with --backward: "
                             "FLASHGEN_COMPILE_FLAGS=--backward bench/attention/prepare-sparse.sh)")
        return op

    for group, pattern in plan:
        causal = pattern == "causal-local"
        kv_heads = bs.HEADS // group
        label = f"G={group} {pattern} B={batch} N={n}"
        row = {"group": group, "pattern": pattern, "batch": batch, "n": n,
               "heads": bs.HEADS, "kv_heads": kv_heads, "d": bs.D, "errors": {}}
        torch.manual_seed(args.seed + group)

        def leaf(h):
            return torch.randn(batch, h, n, bs.D, device=dev, dtype=torch.bfloat16,
                               requires_grad=True)
        q, k, v = leaf(bs.HEADS), leaf(kv_heads), leaf(kv_heads)
        do = torch.randn(batch, bs.HEADS, n, bs.D, device=dev, dtype=torch.bfloat16)
        seed = args.seed + 1000 * group + bs.PATTERNS.index(pattern)
        lists = bs.draw_lists(batch, nqb, nkb, pattern, args.keep, seed, dev)
        listed = bs.listed_tiles(lists)
        twin = batch * bs.HEADS * (nqb * (nqb + 1) // 2 if causal else nqb * nkb)
        row.update(density=listed / (batch * bs.HEADS * nqb * nkb), twin_density=listed / twin)

        ref = None
        transposed = None
        if flex is not None:
            bm = BlockMask.from_kv_blocks(
                lists["kv_num_blocks"], lists["kv_indices"], lists["full_kv_num_blocks"],
                lists["full_kv_indices"], BLOCK_SIZE=bs.BLOCK,
                mask_mod=bs.causal_mod if causal else None, seq_lengths=(n, n))
            transposed = {"q_num_blocks": bm.q_num_blocks, "q_indices": bm.q_indices,
                          "full_q_num_blocks": bm.full_q_num_blocks,
                          "full_q_indices": bm.full_q_indices}

            def flex_attend(q_, k_, v_):
                return flex(q_, k_, v_, block_mask=bm, enable_gqa=kv_heads != bs.HEADS)
            try:
                ref = grads(flex_attend, q, k, v, do)
                row["flex_ms"] = bs.time_ms(lambda: grads(flex_attend, q, k, v, do))
            except Exception as error:  # noqa: BLE001
                row["errors"]["flex"] = str(error).splitlines()[0][:300]
                print(f"!!!!! Flex failed at {label}: {row['errors']['flex']}")

        try:
            sparse = op_of(bs.sparse_bundle(group, pattern))
            # Flex's BlockMask as it is (its lists and transposes), or the
            # kv lists alone where Flex did not run.
            kw = {"block_mask": bm} if transposed is not None else dict(lists)

            def ours(q_, k_, v_, kw=kw):
                return sparse(q_, k_, v_, **kw)

            def ours_own_transposes(q_, k_, v_):
                return sparse(q_, k_, v_, **lists)
            got = grads(ours, q, k, v, do)
            own = grads(ours_own_transposes, q, k, v, do)
            row["own_transposes_err"] = max(rel_err(a, b) for a, b in zip(own, got))
            if ref is not None:
                errs = {name: rel_err(a, b) for name, a, b in zip(("o", "dq", "dk", "dv"), got, ref)}
                row["err_vs_flex"] = errs
                worst = max(errs.values())
                if not worst < TOL or not row["own_transposes_err"] < 1e-3:
                    row["errors"]["flashgen"] = (f"rel err vs Flex {worst:.3g}, own transposes "
                                                 f"{row['own_transposes_err']:.3g}")
                    print(f"!!!!! WRONG flashgen {label}: {row['errors']['flashgen']}")
            got = own = None
            if "flashgen" not in row["errors"]:
                row["flashgen_ms"] = bs.time_ms(lambda: grads(ours, q, k, v, do))
        except Exception as error:  # noqa: BLE001
            row["errors"]["flashgen"] = str(error).splitlines()[0][:300]
            print(f"!!!!! flashgen failed at {label}: {row['errors']['flashgen']}")

        try:
            dense = op_of(bs.dense_bundle(group, causal))
            row["dense_ms"] = bs.time_ms(lambda: grads(dense, q, k, v, do))
        except Exception as error:  # noqa: BLE001
            row["errors"]["dense"] = str(error).splitlines()[0][:300]

        if "flashgen_ms" in row and "flex_ms" in row:
            row["flex_over_flashgen"] = row["flex_ms"] / row["flashgen_ms"]
        if "flashgen_ms" in row and "dense_ms" in row:
            row["sparse_over_density_dense"] = row["flashgen_ms"] / (row["twin_density"] * row["dense_ms"])
        print(f"{label}: flashgen {row.get('flashgen_ms', float('nan')):.3f} ms, "
              f"Flex {row.get('flex_ms', float('nan')):.3f} ms, dense {row.get('dense_ms', float('nan')):.3f} ms, "
              f"flex/flashgen {row.get('flex_over_flashgen', float('nan')):.2f}")
        rows.append(row)
        q = k = v = do = ref = None
        torch.cuda.empty_cache()
        with open(args.out + ".json", "w") as f:
            json.dump({"device": torch.cuda.get_device_name(), "rows": rows}, f, indent=1)

    print("| G | pattern | fwd+bwd flashgen v0 ms | Flex ms | dense ms | flex/flashgen | "
          "flashgen / (density x dense) | max rel err vs Flex |")
    print("|---|---|---|---|---|---|---|---|")

    def num(x, fmt):
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)
    for r in rows:
        err = max(r["err_vs_flex"].values()) if "err_vs_flex" in r else None
        print(f"| {r['group']} | {r['pattern']} | {num(r.get('flashgen_ms'), '.3f')} | "
              f"{num(r.get('flex_ms'), '.3f')} | {num(r.get('dense_ms'), '.3f')} | "
              f"{num(r.get('flex_over_flashgen'), '.2f')} | "
              f"{num(r.get('sparse_over_density_dense'), '.2f')} | {num(err, '.1e')} |")
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
