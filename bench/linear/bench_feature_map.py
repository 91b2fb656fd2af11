#!/usr/bin/env python3
"""A feature map fused into the recurrence: flashgen's decay recurrence with
feature_map elu(w[h, d] x) + 1 on q and k
(bench/linear/specs/fmap_decay_h16_k128_v128.mlir, docs/semantics.md §3.7)
against the same recurrence on inputs mapped beforehand (its floor: the map
costs nothing there) and against PyTorch mapping q and k, then the plain
recurrence (what a model does without the fusion), 16 heads 128/128, 65,536
tokens.

    python3 bench/linear/bench_feature_map.py --bundles DIR --out $OUT

DIR is prepare-bench.sh's output (both specs' bundles). Reports v0 (the
compiler's first choice) of each, fused / premapped and unfused / fused; the
fused output is checked against the unfused one first.
"""

import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import flashgen  # noqa: E402
from triton.testing import do_bench  # noqa: E402

TOKENS = 65536
HEADS, DK, DV = 16, 128, 128


def time_ms(fn):
    return do_bench(fn, warmup=25, rep=100, return_mode="median")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundles", required=True)
    parser.add_argument("--out", default=".")
    args = parser.parse_args()
    torch.manual_seed(0)
    dev = torch.device("cuda")
    plain_name, mapped_name = f"decay_h{HEADS}_k{DK}_v{DV}", f"fmap_decay_h{HEADS}_k{DK}_v{DV}"
    plain = flashgen.load(os.path.join(args.bundles, plain_name)).kernel(plain_name)
    mapped = flashgen.load(os.path.join(args.bundles, mapped_name)).kernel(mapped_name)
    w = 0.5 + torch.rand(HEADS, DK, device=dev)
    rows = []
    for t in (4096, 16384):
        b = TOKENS // t
        q, k = (torch.randn(b, HEADS, t, DK, device=dev, dtype=torch.bfloat16) for _ in range(2))
        v = torch.randn(b, HEADS, t, DV, device=dev, dtype=torch.bfloat16)
        g = -0.05 * torch.rand(b, HEADS, t, device=dev)
        o_plain = torch.empty(b, HEADS, t, DV, device=dev, dtype=torch.bfloat16)
        o_fused = torch.full_like(o_plain, float("nan"))

        def phi(x):
            return (F.elu(x.float() * w[None, :, None, :]) + 1.0).to(torch.bfloat16)

        qm, km = phi(q), phi(k)

        def fused():
            mapped(q, k, v, g, o_fused, w)

        def unfused():
            plain(phi(q), phi(k), v, g, o_plain)
            return o_plain

        fused()
        want = unfused().clone()
        torch.cuda.synchronize()
        err = ((o_fused.float() - want.float()).norm() / want.float().norm()).item()
        row = {"T": t, "batch": b, "rel_err": err,
               "premapped_ms": time_ms(lambda: plain(qm, km, v, g, o_plain)),
               "fused_ms": time_ms(fused), "unfused_ms": time_ms(unfused)}
        rows.append(row)
        print(f"T={t:6d} B={b:3d} err {err:.1e}  premapped {row['premapped_ms']:.3f} ms  fused "
              f"{row['fused_ms']:.3f} ms ({row['fused_ms'] / row['premapped_ms']:.2f}x premapped)  "
              f"unfused {row['unfused_ms']:.3f} ms ({row['unfused_ms'] / row['fused_ms']:.2f}x fused)",
              flush=True)
        if not err < 2e-2:
            print(f"the fused output disagrees with the unfused one at T={t}")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "feature-map-results.json"), "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
