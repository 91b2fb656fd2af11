#!/usr/bin/env python3
"""Packed documents (examples/document_mask.mlir: causal within documents,
ids [B, N] int32 read by the mask_mod) forward and forward+backward,
training's step: flashgen's own first choice (variant 0, with the
mask_lists pre-passes that list the tiles each document leaves) against
FlexAttention with the block mask built from the same ids
(`create_block_mask`, which its backward transposes) and against the same
schedules without the lists (every causal tile visited and masked element
by element). 16 heads, d=128, bf16, 16,384 tokens per step, about 4
documents of random lengths per row. The bundles are
bench/attention/prepare-document.sh's:

    bench/attention/prepare-document.sh DIR
    python3 bench/attention/bench_document.py --bundles DIR --out $OUT

Every output and gradient is first checked against Flex's on the same
inputs (relative error < TOL; the float64 checks are the GPU tests'
document cases). Timed: median of triton.testing.do_bench (L2 flushed) of
o = attn(q, k, v, doc=ids), and of that with torch.autograd.grad(o, (q, k,
v), do). Writes attention-document-results.json under --out and prints a
table.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

TOKENS = 16384
HEADS, D = 16, 128
DOCS = 4
TOL = 3e-2
SHAPES = (2048, 8192)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundles", required=True, help="prepare-document.sh's folder")
    p.add_argument("--out", default=".")
    args = p.parse_args(argv)

    import torch
    import flashgen.torch
    from bench import document_ids, rel_err, time_ms
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    flex = torch.compile(flex_attention, dynamic=False)
    dev = torch.device("cuda")
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)

    ops = {}
    for side in ("lists", "no-lists"):
        path = os.path.join(args.bundles, side, "document_mask")
        op = flashgen.torch.register(path, "document_mask")
        if not op.has_backward:
            raise SystemExit(f"{path}: no document_mask_backward (prepare-document.sh "
                             "compiles with --backward)")
        ops[side] = op

    rows = []
    for n in SHAPES:
        batch = TOKENS // n
        doc = document_ids(batch, n, DOCS, gen).to(dev)

        def leaf():
            return torch.randn(batch, HEADS, n, D, device=dev, dtype=torch.bfloat16,
                               requires_grad=True)
        q, k, v = leaf(), leaf(), leaf()
        do = torch.randn(batch, HEADS, n, D, device=dev, dtype=torch.bfloat16)

        def doc_mask(b, h, qi, ki):
            return (doc[b, qi] == doc[b, ki]) & (qi >= ki)
        bm = create_block_mask(doc_mask, batch, None, n, n, device="cuda")
        attends = {
            "flex": lambda q_, k_, v_: flex(q_, k_, v_, block_mask=bm),
            "lists": lambda q_, k_, v_: ops["lists"](q_, k_, v_, doc=doc),
            "no-lists": lambda q_, k_, v_: ops["no-lists"](q_, k_, v_, doc=doc),
        }
        row = {"n": n, "batch": batch, "heads": HEADS, "d": D,
               "flex_density": 1.0 - bm.sparsity() / 100.0, "errors": {}, "ms": {}}
        results = {}
        for name, attend in attends.items():
            o = attend(q, k, v)
            results[name] = (o, *torch.autograd.grad(o, (q, k, v), do))
        torch.cuda.synchronize()
        ok = True
        for name in ("lists", "no-lists"):
            errs = [rel_err(x, y) for x, y in zip(results[name], results["flex"])]
            row["errors"][name] = dict(zip(("o", "dq", "dk", "dv"), errs))
            if not all(e < TOL for e in errs):  # NaN fails too
                print(f"WRONG {name} N={n}: {row['errors'][name]}")
                ok = False
        if ok:
            for name, attend in attends.items():
                def forward(attend=attend):
                    with torch.no_grad():
                        attend(q, k, v)

                def step(attend=attend):
                    o = attend(q, k, v)
                    torch.autograd.grad(o, (q, k, v), do)
                row["ms"][name] = {"fwd": time_ms(forward), "fwd_bwd": time_ms(step)}
        rows.append(row)

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "attention-document-results.json"), "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "rows": rows}, f, indent=1)
    print(f"{'N':>6}{'B':>4} {'density':>8} | {'fwd: v0':>8} {'Flex':>7} {'no lists':>8}"
          f" {'Flex/v0':>7} | {'fwd+bwd: v0':>11} {'Flex':>7} {'no lists':>8} {'Flex/v0':>7}"
          f" {'nolists/v0':>10}")
    for r in rows:
        ms = r["ms"]
        if not ms:
            print(f"{r['n']:>6}{r['batch']:>4} (wrong: not timed)")
            continue
        fw, st = ([ms[x][key] for x in ("lists", "flex", "no-lists")]
                  for key in ("fwd", "fwd_bwd"))
        print(f"{r['n']:>6}{r['batch']:>4} {r['flex_density']:8.3f} | {fw[0]:8.3f} {fw[1]:7.3f}"
              f" {fw[2]:8.3f} {fw[1] / fw[0]:7.2f} | {st[0]:11.3f} {st[1]:7.3f} {st[2]:8.3f}"
              f" {st[1] / st[0]:7.2f} {st[2] / st[0]:10.2f}")


if __name__ == "__main__":
    main()
