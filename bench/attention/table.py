#!/usr/bin/env python3
"""Prints the README's attention table (markdown) from bench.py's
attention-results.json: the compiler's own first choice (v0) first, its
schedule, the fastest of the ranked candidates beside it, and the peers of the
same run with v0's ratios to them.

    python3 bench/attention/table.py docs/results/attention-h200-v0.json
"""
import json
import sys

NAMES = {
    "mha_d128": "d128", "mha_d128_causal": "d128 causal",
    "mha_d64": "d64", "mha_d64_causal": "d64 causal",
    "mha_d256": "d256", "mha_d256_causal": "d256 causal",
    "gqa48_d128_causal": "GQA 48/8 d128 causal",
    "dit_h24_d128": "DiT 24 heads d128", "dit_h48_d64": "DiT 48 heads d64",
    "softcap": "softcap 30·tanh(s/30) d128", "alibi_causal": "ALiBi + causal d128",
}


def tflops(value):
    return f"{value:.0f}" if value else "-"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


def main(path):
    rows = json.load(open(path))["rows"]
    print("| spec | N | B | **v0** (own schedule) | v0 schedule | best of the ranked (variant) "
          "| SDPA FA2 | cuDNN | Flex | v0/cuDNN | v0/FA2 | v0/Flex | v0/best |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        s = r["variant_schedules"][0]
        schedule = f"{s['algorithm']} {s['tile_q']}x{s['tile_kv']} s{s['stages']} w{s['warps']}"
        if s.get("persistent"):
            schedule += " persistent"
        v0 = r.get("flashgen_tflops")
        print(f"| {NAMES.get(r['spec'], r['spec'])} | {r['n']} | {r['batch']} | **{tflops(v0)}** | {schedule} "
              f"| {tflops(r.get('best_tflops'))} (v{r.get('best_variant')}) | {tflops(r.get('fa2_tflops'))} "
              f"| {tflops(r.get('cudnn_tflops'))} | {tflops(r.get('flex_tflops'))} "
              f"| {ratio(v0, r.get('cudnn_tflops'))} | {ratio(v0, r.get('fa2_tflops'))} "
              f"| {ratio(v0, r.get('flex_tflops'))} | {ratio(v0, r.get('best_tflops'))} |")


if __name__ == "__main__":
    main(sys.argv[1])
