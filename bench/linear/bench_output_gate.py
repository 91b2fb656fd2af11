#!/usr/bin/env python3
"""An output gate fused into the recurrence: flashgen's mLSTMsig with
output_mod o * silu(gate) (bench/linear/specs/gated_sig_h16_k128_v128.mlir,
docs/semantics.md §3.6) against the same recurrence without it followed by
PyTorch's element-wise gate (what a model does without the fusion), 16 heads
128/128, 65,536 tokens, the gate [B, T, H, Dv] f32 as a projection writes it.

    python3 bench/linear/bench_output_gate.py --bundles DIR --out $OUT

DIR is prepare-bench.sh's output (both specs' bundles). Reports v0 (the
compiler's first choice) of each, the unfused pair, fused / plain and
unfused / fused; the fused output is checked against the unfused one first.
--baseline BASE times BASE's gated bundle too (an earlier compiler's, e.g.
before the gate tile was staged with each chunk) in the same process.
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
    parser.add_argument("--baseline", help="a folder with an earlier gated bundle")
    args = parser.parse_args()
    torch.manual_seed(0)
    dev = torch.device("cuda")
    plain_name, gated_name = f"mlstm_sig_h{HEADS}_k{DK}_v{DV}", f"gated_sig_h{HEADS}_k{DK}_v{DV}"
    plain = flashgen.load(os.path.join(args.bundles, plain_name)).kernel(plain_name)
    gated = flashgen.load(os.path.join(args.bundles, gated_name)).kernel(gated_name)
    baseline = (flashgen.load(os.path.join(args.baseline, gated_name)).kernel(gated_name)
                if args.baseline else None)
    rows = []
    for t in (4096, 16384):
        b = TOKENS // t
        q, k = (torch.randn(b, HEADS, t, DK, device=dev, dtype=torch.bfloat16) for _ in range(2))
        v = torch.randn(b, HEADS, t, DV, device=dev, dtype=torch.bfloat16)
        ig = torch.randn(b, HEADS, t, device=dev)
        fg = 3.0 + torch.randn(b, HEADS, t, device=dev)
        gate = torch.randn(b, t, HEADS, DV, device=dev)
        o_plain = torch.empty(b, HEADS, t, DV, device=dev, dtype=torch.bfloat16)
        o_gated = torch.full_like(o_plain, float("nan"))

        def fused():
            gated(q, k, v, ig, fg, o_gated, gate)

        def unfused():
            plain(q, k, v, ig, fg, o_plain)
            return (o_plain.float() * F.silu(gate.transpose(1, 2))).to(torch.bfloat16)

        fused()
        want = unfused()
        torch.cuda.synchronize()
        err = ((o_gated.float() - want.float()).norm() / want.float().norm()).item()
        row = {"T": t, "batch": b, "rel_err": err,
               "plain_ms": time_ms(lambda: plain(q, k, v, ig, fg, o_plain)),
               "fused_ms": time_ms(fused), "unfused_ms": time_ms(unfused)}
        if baseline is not None:
            o_base = torch.full_like(o_plain, float("nan"))
            baseline(q, k, v, ig, fg, o_base, gate)
            torch.cuda.synchronize()
            row["baseline_rel_err"] = ((o_base.float() - want.float()).norm()
                                       / want.float().norm()).item()
            row["baseline_fused_ms"] = time_ms(lambda: baseline(q, k, v, ig, fg, o_base, gate))
            print(f"T={t:6d} baseline fused {row['baseline_fused_ms']:.3f} ms "
                  f"(this one {row['baseline_fused_ms'] / row['fused_ms']:.2f}x faster)", flush=True)
        rows.append(row)
        print(f"T={t:6d} B={b:3d} err {err:.1e}  plain {row['plain_ms']:.3f} ms  fused "
              f"{row['fused_ms']:.3f} ms ({row['fused_ms'] / row['plain_ms']:.2f}x plain)  "
              f"unfused {row['unfused_ms']:.3f} ms ({row['unfused_ms'] / row['fused_ms']:.2f}x fused)",
              flush=True)
        if not err < 2e-2:
            print(f"the fused output disagrees with the unfused one at T={t}")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "output-gate-results.json"), "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
