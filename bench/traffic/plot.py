#!/usr/bin/env python3
"""The traffic figure from bench/traffic/measure.py's JSON: per kernel, the
HBM lower bound, the modeled HBM bytes and the DRAM bytes Nsight Compute
measured, as grouped bars on a log scale; a kernel whose measured bytes
exceed the model by more than 1.3x (issue #16) gets its ratio written over
its bars.

    python3 bench/traffic/plot.py TRAFFIC.json OUT.png
"""

import json
import sys

from measure import LIMIT

SERIES = (("hbm_lower_bound_bytes", "lower bound"),
          ("modeled_hbm_bytes", "modeled"),
          ("measured_bytes", "measured (ncu)"))


def bars(kernel):
    """The three byte counts of one kernel, keyed as SERIES."""
    return {"hbm_lower_bound_bytes": kernel["hbm_lower_bound_bytes"],
            "modeled_hbm_bytes": kernel["modeled_hbm_bytes"],
            "measured_bytes": kernel["dram_bytes_read"] + kernel["dram_bytes_write"]}


def label(kernel):
    dims = " ".join(f"{n}={v}" for n, v in sorted(kernel["dims"].items()))
    return f"{kernel['kernel']}\n{dims}"


def plot(traffic, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    kernels = traffic["kernels"]
    if not kernels:
        raise ValueError("no measured kernels to plot")
    values = [bars(k) for k in kernels]
    fig, ax = plt.subplots(figsize=(max(8, 0.55 * len(kernels) + 2), 5))
    width = 0.27
    xs = range(len(kernels))
    for i, (key, name) in enumerate(SERIES):
        offset = (i - (len(SERIES) - 1) / 2) * width
        ax.bar([x + offset for x in xs], [v[key] for v in values], width, label=name)
    for x, v in zip(xs, values):
        ratio = v["measured_bytes"] / v["modeled_hbm_bytes"] if v["modeled_hbm_bytes"] else 0
        if ratio > LIMIT:
            ax.annotate(f"{ratio:.2f}x", (x + width, v["measured_bytes"]), ha="center",
                        va="bottom", fontsize=7, color="firebrick")
    ax.set_yscale("log")
    # From well below the smallest bar, so that bar heights compare.
    ax.set_ylim(bottom=min(min(v.values()) for v in values) / 4)
    ax.set_xticks(list(xs))
    ax.set_xticklabels([label(k) for k in kernels], rotation=70, fontsize=6)
    ax.set_ylabel("HBM / DRAM bytes per launch (log)")
    ax.set_title(f"DRAM traffic: lower bound, model, measured ({traffic.get('device', '?')}; "
                 f"ratio shown where measured > {LIMIT}x modeled)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        plot(json.load(f), sys.argv[2])


if __name__ == "__main__":
    main()
