#!/usr/bin/env python3
"""The attention benchmark's figure from its results JSON: per shape, the
compiler's own first choice (v0, the headline), the best of its ranked
candidates (what tuning picks), and the peers, side by side, TFLOP/s.
    plot.py RESULTS.json OUT.png"""

import json
import sys

SERIES = (("flashgen_tflops", "flashgen v0 (own schedule)"),
          ("best_tflops", "flashgen tuned (best ranked)"),
          ("fa2_tflops", "SDPA FA2"),
          ("cudnn_tflops", "SDPA cuDNN"),
          ("flex_tflops", "FlexAttention"))


def plot(rows, out, device):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(13, 4.5))
    labels = [f"{r['spec']}\nN={r['n']}" for r in rows]
    xs = range(len(rows))
    width = 0.16
    for i, (key, name) in enumerate(SERIES):
        offset = (i - (len(SERIES) - 1) / 2) * width
        ax.bar([x + offset for x in xs], [r.get(key) or 0 for r in rows], width,
               label=name)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, rotation=60, fontsize=7)
    ax.set_ylabel("TFLOP/s (bf16 forward)")
    ax.set_title(f"Attention forward, 16k tokens, {device}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        results = json.load(f)
    plot(results["rows"], sys.argv[2], results.get("device", "GPU"))


if __name__ == "__main__":
    main()
