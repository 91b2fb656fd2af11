#!/usr/bin/env python3
"""Prints the README's attention table (markdown) from bench.py's
attention-results.json: the compiler's own first choice (v0) first, its
schedule, the fastest of the ranked candidates beside it, and the peers of the
same run with v0's ratios to them.

    python3 bench/attention/table.py docs/results/attention-h200-v0.json

Given bench_backward.py's attention-backward-results.json (its "kind" is
"attention-forward-backward") it prints the forward+backward table instead:
v0 (the forward and backward kernels' variant 0) against SDPA cuDNN, SDPA FA2
and Flex, fwd+bwd and bwd alone, TFLOP/s (backward 2.5x and fwd+bwd 3.5x the
forward's FLOPs, causal halved), v0's ratios to cuDNN and Flex, the fastest
backward variant beside v0, and the largest relative error of v0's o, dq, dk,
dv against the f32 reference.
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


def backward_table(results):
    rows = results["rows"]
    print("| spec | N | B | v0 max err | **v0 fwd+bwd** | cuDNN | FA2 | Flex | v0/cuDNN | v0/Flex "
          "| **v0 bwd** | best bwd (variant) | cuDNN bwd | FA2 bwd | Flex bwd | bwd v0/cuDNN "
          "| bwd v0/Flex | missing |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        err = r.get("err", {}).get("flashgen")
        err = "WRONG" if r.get("wrong") else (f"{max(err.values()):.1e}" if err else "-")
        v0, v0b = r.get("flashgen_fwdbwd_tflops"), r.get("flashgen_bwd_tflops")
        best = (f"{tflops(r.get('best_bwd_tflops'))} (v{r['best_bwd_variant']})"
                if r.get("best_bwd_tflops") else "-")
        derived = [k for k in ("flashgen", "cudnn", "fa2", "flex") if r.get(k + "_bwd_derived")]
        missing = "; ".join(f"{k}: {why}" for k, why in sorted(r.get("missing", {}).items())
                            if not why.startswith("SDPA takes no score_mod"))
        if derived:
            missing = "; ".join(filter(None, [missing, "bwd = fwd+bwd - fwd: " + ", ".join(derived)]))
        print(f"| {NAMES.get(r['spec'], r['spec'])} | {r['n']} | {r['batch']} | {err} | **{tflops(v0)}** "
              f"| {tflops(r.get('cudnn_fwdbwd_tflops'))} | {tflops(r.get('fa2_fwdbwd_tflops'))} "
              f"| {tflops(r.get('flex_fwdbwd_tflops'))} | {ratio(v0, r.get('cudnn_fwdbwd_tflops'))} "
              f"| {ratio(v0, r.get('flex_fwdbwd_tflops'))} | **{tflops(v0b)}** | {best} "
              f"| {tflops(r.get('cudnn_bwd_tflops'))} | {tflops(r.get('fa2_bwd_tflops'))} "
              f"| {tflops(r.get('flex_bwd_tflops'))} | {ratio(v0b, r.get('cudnn_bwd_tflops'))} "
              f"| {ratio(v0b, r.get('flex_bwd_tflops'))} | {missing.replace('|', '/') or '-'} |")


def main(path):
    results = json.load(open(path))
    if results.get("kind") == "attention-forward-backward":
        backward_table(results)
        return
    rows = results["rows"]
    print("| spec | N | B | **v0** (own schedule) | v0 schedule | best of the ranked (variant) "
          "| SDPA FA2 | cuDNN | Flex | v0/cuDNN | v0/FA2 | v0/Flex | v0/best |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        s = r["variant_schedules"][r.get("first_choice", 0)]
        schedule = f"{s['algorithm']} {s['tile_q']}x{s['tile_kv']} s{s['stages']} w{s['warps']}"
        if s.get("persistent"):
            schedule += " persistent"
        if s.get("rotary_prepass"):
            schedule += " rotary_prepass"
        if s.get("mask_lists"):
            schedule += " mask_lists"
        if r.get("first_choice", 0):
            schedule += f" (v{r['first_choice']}: the size rule's)"
        v0 = r.get("flashgen_tflops")
        print(f"| {NAMES.get(r['spec'], r['spec'])} | {r['n']} | {r['batch']} | **{tflops(v0)}** | {schedule} "
              f"| {tflops(r.get('best_tflops'))} (v{r.get('best_variant')}) | {tflops(r.get('fa2_tflops'))} "
              f"| {tflops(r.get('cudnn_tflops'))} | {tflops(r.get('flex_tflops'))} "
              f"| {ratio(v0, r.get('cudnn_tflops'))} | {ratio(v0, r.get('fa2_tflops'))} "
              f"| {ratio(v0, r.get('flex_tflops'))} | {ratio(v0, r.get('best_tflops'))} |")


if __name__ == "__main__":
    main(sys.argv[1])
