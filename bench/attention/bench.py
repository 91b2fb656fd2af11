#!/usr/bin/env python3
"""Attention forward benchmark: flashgen against PyTorch SDPA (FlashAttention-2
and cuDNN backends) and FlexAttention, on the anchor shapes of
../shared/anchors/README.md (16,384 tokens per batch, d=128 with 16 heads,
d=64 with 32 heads and d=256 with 8 heads, causal and not; GQA 48/8 causal;
diffusion-transformer shapes, 24 heads of 128 and 48 heads of 64, N = 1024
and 4096; softcap and ALiBi+causal at d=128; the small-cache shapes where
M < d^2: head dim 512 with 8 heads and MLA's absorbed prefill, 16 query heads
of 576/512 sharing one key/value head, against SDPA's memory-efficient
backend, the only peer kernel there).

The headline column is variant 0, the compiler's own first choice (what
`flashgen compile` writes with its defaults); the fastest of the scheduler's
other ranked candidates is reported beside it. Every candidate's time is also
written as a calibration table (attention-candidates.tsv, the format of
schedule/calibration/, read by `flashgen calibrate`).

Run on the GPU machine, in one process, so every ratio compares kernels
measured minutes apart on the same card:

    python3 bench/attention/bench.py --bundles build/bench-bundles --out $OUT

A compiler change is measured the same way: `--baseline DIR` names bundles
of the same specs without the change (an older compiler's, or these with the
change undone in their sources); each shape then also times the baseline's
first choice on the same inputs and reports v0_speedup.

Every flashgen result is first checked against SDPA (math backend, f32) on the
same inputs; a kernel that disagrees is reported and not timed. Times are
medians of triton.testing.do_bench over rotating input sets (METHOD.md: the
working set of one shape must not sit in L2 between runs).
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import flashgen  # noqa: E402

TOKENS = 16384
ROTATE = 4  # input sets cycled through while timing
# The score_mod's SFU and FP32 ops per score as flash-schedule counts them in
# the examples' regions (the calibration table's score_sfu, score_alu).
SCORE_MOD_WORK = {"none": (0, 0), "softcap": (1, 2), "alibi": (1, 10)}
CALIBRATION_HEADER = "\t".join(
    "batch heads kv_heads n m d dv causal score_sfu score_alu algorithm tile_q "
    "tile_kv stages warps inner_q inner_kv ms persistent tile_d tile_dv".split())


def document_ids(batch, n, docs, gen):
    """[batch, n] int32 document ids: `docs` documents per row with random
    boundaries (packed sequences; bench_extras.py, bench_document.py)."""
    ids = torch.zeros(batch, n, dtype=torch.int32)
    for b in range(batch):
        cuts = torch.randperm(n - 1, generator=gen)[:docs - 1] + 1
        for c in cuts.tolist():
            ids[b, c:] += 1
    return ids


def flops(batch, heads, n, d, dv, causal):
    total = 2.0 * batch * heads * n * n * (d + dv)
    return total / 2 if causal else total


def softcap_mod(score, b, h, q_idx, kv_idx):
    return 30.0 * torch.tanh(score / 30.0)


def alibi_mod(heads):
    def mod(score, b, h, q_idx, kv_idx):
        slope = torch.exp2(-8.0 * (h + 1).to(torch.float32) / heads)
        return score + slope * (kv_idx - q_idx)
    return mod


def alibi_bias_reference(q, k, v, heads):
    """f32 reference for ALiBi+causal: explicit bias matrix."""
    n = q.shape[2]
    i = torch.arange(n, device=q.device)
    rel = (i[None, :] - i[:, None]).to(torch.float32)
    slopes = torch.exp2(-8.0 * (torch.arange(heads, device=q.device, dtype=torch.float32) + 1) / heads)
    bias = slopes[:, None, None] * rel[None]
    causal = i[None, :] <= i[:, None]
    bias = bias.masked_fill(~causal, float("-inf"))
    return F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=bias[None])


def time_ms(fn):
    # Imported here, so that bench_backward.py can share this module's
    # helpers without Triton.
    from triton.testing import do_bench
    return do_bench(fn, warmup=25, rep=100, return_mode="median")


def short(error):
    """An exception as one line of at most 400 characters, for a row's
    error field."""
    return f"{type(error).__name__}: {error}".strip().replace("\n", " ")[:400]


def rel_err(out, ref):
    out = out.float()
    ref = ref.float()
    if torch.isnan(out).any():
        return float("nan")
    return ((out - ref).norm() / ref.norm()).item()


def rotating(inputs):
    state = {"i": 0}

    def pick():
        state["i"] = (state["i"] + 1) % len(inputs)
        return inputs[state["i"]]
    return pick


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundles", required=True,
                        help="folder with one compiled bundle per spec (prepare-bench.sh)")
    parser.add_argument("--out", default=".", help="where results.json and the plot go")
    parser.add_argument("--quick", action="store_true", help="fewer shapes")
    parser.add_argument("--no-peers", action="store_true",
                        help="time flashgen's variants only (schedule experiments)")
    parser.add_argument("--specs", default="",
                        help="comma-separated spec names to run (default: all)")
    parser.add_argument("--baseline", default="",
                        help="a folder of bundles of the same specs (another "
                             "compiler's, or these with one change undone): "
                             "each shape also times the baseline's first "
                             "choice on the same inputs, in the same process "
                             "(baseline_ms, v0_speedup = baseline / v0)")
    args = parser.parse_args()
    torch.manual_seed(0)
    dev = torch.device("cuda")

    shapes = []  # (label, spec, d, heads, kv_heads, n, causal, mod[, dv])
    for d, heads in ((128, 16), (64, 32), (256, 8)):
        for n in ((512, 2048, 8192, 16384) if d == 128 else (2048, 8192)):
            for causal in (False, True):
                name = f"mha_d{d}" + ("_causal" if causal else "")
                shapes.append((name, name, d, heads, heads, n, causal, None))
    for n in (2048, 8192):
        shapes.append(("gqa48_d128_causal", "gqa48_d128_causal", 128, 48, 8, n, True, None))
    for n in (1024, 4096):
        shapes.append(("dit_h24_d128", "dit_h24_d128", 128, 24, 24, n, False, None))
        shapes.append(("dit_h48_d64", "dit_h48_d64", 64, 48, 48, n, False, None))
    for n in (2048, 8192):
        shapes.append(("softcap", "softcap", 128, 16, 16, n, False, "softcap"))
        shapes.append(("alibi_causal", "alibi_causal", 128, 16, 16, n, True, "alibi"))
    for n in (2048, 8192):
        for causal in (False, True):
            name = "mha_d512" + ("_causal" if causal else "")
            shapes.append((name, name, 512, 8, 8, n, causal, None))
        shapes.append(("mla_576_512_causal", "mla_576_512_causal", 576, 16, 1, n, True, None, 512))
    # MLA's prefill with the latent projections expanded: queries and keys
    # of 192, values of 128 (flash3 with D != Dv; SDPA's FA2 backend needs
    # equal head dims).
    for n in (2048, 8192):
        shapes.append(("mla_192_128_causal", "mla_192_128_causal", 192, 16, 16, n, True, None, 128))
    if args.quick:
        shapes = [s for s in shapes if s[5] in (1024, 2048, 8192)]
    if args.specs:
        wanted = set(args.specs.split(","))
        shapes = [s for s in shapes if s[1] in wanted]

    # One compiled FlexAttention kernel per shape and modifier: lift the
    # recompile limit, or dynamo falls back to the unfused eager path.
    from torch import _dynamo
    _dynamo.config.cache_size_limit = 1024
    if hasattr(_dynamo.config, "recompile_limit"):
        _dynamo.config.recompile_limit = 1024
    try:
        from torch.nn.attention.flex_attention import flex_attention, create_block_mask
        flex = torch.compile(flex_attention, dynamic=False)
    except Exception as error:  # noqa: BLE001
        print("FlexAttention unavailable:", error)
        flex = None
    from torch.nn.attention import sdpa_kernel, SDPBackend

    kernels = {}
    baselines = {}  # spec -> the --baseline bundle's kernel (unpinned)
    first_choices = {}  # spec -> an unpinned kernel object of the bundle
    schedules = {}  # spec -> the manifest's schedule of each variant
    first_call = {}
    rows = []
    calibration = [CALIBRATION_HEADER]
    for shape in shapes:
        (label, spec, d, heads, kv_heads, n, causal, mod), dv = shape[:8], (shape[8:] or shape[2:3])[0]
        # Past head dim 256 only SDPA's memory-efficient kernel runs: it is
        # the reference and the peer there.
        small_cache = d > 256
        batch = TOKENS // n
        sets = [(torch.randn(batch, heads, n, d, device=dev, dtype=torch.bfloat16),
                 torch.randn(batch, kv_heads, n, d, device=dev, dtype=torch.bfloat16),
                 torch.randn(batch, kv_heads, n, dv, device=dev, dtype=torch.bfloat16))
                for _ in range(ROTATE)]
        # SDPA's cuDNN and FA2 backends and the reference take K/V with every
        # query head's copy (expanded outside the timed region).
        group = heads // kv_heads
        sdpa_sets = [(q, k.repeat_interleave(group, 1), v.repeat_interleave(group, 1))
                     if group > 1 else (q, k, v) for (q, k, v) in sets]
        out = torch.empty(batch, heads, n, dv, device=dev, dtype=torch.bfloat16)
        pick = rotating(sets)
        pick_sdpa = rotating(sdpa_sets)
        row = {"spec": spec, "d": d, "dv": dv, "heads": heads, "kv_heads": kv_heads, "n": n,
               "batch": batch, "causal": causal, "mod": mod or "none"}
        fl = flops(batch, heads, n, d, dv, causal)

        if spec not in kernels:
            bundle = flashgen.load(os.path.join(args.bundles, spec))
            with open(os.path.join(args.bundles, spec, "manifest.json")) as f:
                schedules[spec] = [variant["schedule"] for variant in
                                   json.load(f)["kernels"][0]["variants"]]
            start = time.perf_counter()
            kernels[spec] = bundle.kernel(spec)
            # Never pinned by select_variant: variant_for says which variant
            # the runtime runs by default at each size (the manifest's size
            # rule, "dispatch"): the compiler's first choice for the shape.
            first_choices[spec] = bundle.kernel(spec)
            q, k, v = sets[0]
            kernels[spec](q, k, v, out)
            torch.cuda.synchronize()
            first_call[spec] = time.perf_counter() - start
        kern = kernels[spec]

        # Correctness first, against an f32 reference.
        q, k, v = sets[0]
        out.fill_(float("nan"))
        kern(q, k, v, out)
        torch.cuda.synchronize()
        if mod == "alibi":
            ref = alibi_bias_reference(q, k, v, heads)
        elif mod == "softcap":
            scale = 1.0 / math.sqrt(d)
            s = torch.einsum("bhnd,bhmd->bhnm", q.float(), k.float()) * scale
            s = 30.0 * torch.tanh(s / 30.0)
            ref = torch.softmax(s, dim=-1) @ v.float()
            del s
        else:
            # The FA2 backend's output (f32 statistics, ~1e-3 from exact) as
            # the reference: the math backend would materialise N x N scores.
            # FA2 needs equal head dims (MLA 192 / 128): the memory-efficient
            # kernel's output there.
            with sdpa_kernel(SDPBackend.EFFICIENT_ATTENTION if small_cache or dv != d
                             else SDPBackend.FLASH_ATTENTION):
                ref = F.scaled_dot_product_attention(*sdpa_sets[0], is_causal=causal)
        row["rel_err"] = rel_err(out, ref)
        ref_out = out.clone()
        if not row["rel_err"] < 2e-2:
            print(f"WRONG {label} N={n}: rel_err {row['rel_err']}")
            rows.append(row)
            continue

        def run_flashgen():
            q, k, v = pick()
            kern(q, k, v, out)
        # The scheduler's choice at this size (variant 0 at the planned size,
        # the size rule's pick elsewhere); the others are its ranked
        # candidates. Time each (a candidate that disagrees is dropped) and
        # report the scheduler's choice and the best.
        q, k, v = sets[0]
        first = first_choices[spec].variant_for(q, k, v, out)
        variant_ms = {}
        for variant in range(kern.num_variants):
            kern.select_variant(variant)
            if variant:
                out.fill_(float("nan"))
                q, k, v = sets[0]
                kern(q, k, v, out)
                torch.cuda.synchronize()
                if not rel_err(out, ref_out) < 2e-2:
                    print(f"variant {variant} of {spec} disagrees at N={n}")
                    continue
            variant_ms[variant] = time_ms(run_flashgen)
        kern.select_variant(0)
        baseline_path = os.path.join(args.baseline, spec) if args.baseline else ""
        if baseline_path and os.path.isdir(baseline_path):
            if spec not in baselines:
                baselines[spec] = flashgen.load(baseline_path).kernel(spec)
            base = baselines[spec]
            out.fill_(float("nan"))
            q, k, v = sets[0]
            base(q, k, v, out)
            torch.cuda.synchronize()
            if rel_err(out, ref_out) < 2e-2:
                def run_baseline():
                    q, k, v = pick()
                    base(q, k, v, out)
                row["baseline_ms"] = time_ms(run_baseline)
            else:
                print(f"the baseline of {spec} disagrees at N={n}")
        row["variant_ms"] = variant_ms
        row["variant_schedules"] = schedules[spec]
        sfu, alu = SCORE_MOD_WORK[mod or "none"]
        for variant, ms in variant_ms.items():
            sch = schedules[spec][variant]
            calibration.append("\t".join(str(x) for x in (
                batch, heads, kv_heads, n, n, d, dv, int(causal), sfu, alu, sch["algorithm"],
                sch["tile_q"], sch["tile_kv"], sch["stages"], sch["warps"], sch["inner_q"],
                sch["inner_kv"], f"{ms:.4f}", sch.get("persistent", 0), sch["tile_d"],
                sch["tile_dv"])))
        row["first_choice"] = first
        row["flashgen_ms"] = variant_ms.get(first)
        best = min(variant_ms, key=variant_ms.get)
        row["best_variant"] = best
        row["best_ms"] = variant_ms[best]
        if row.get("baseline_ms") and row["flashgen_ms"]:
            row["v0_speedup"] = row["baseline_ms"] / row["flashgen_ms"]
            print(f"{label} N={n}: v0 {row['flashgen_ms']:.3f} ms, baseline "
                  f"{row['baseline_ms']:.3f} ms ({row['v0_speedup']:.3f}x)")

        if mod is None and not args.no_peers:
            backends = [(SDPBackend.FLASH_ATTENTION, "fa2_ms"), (SDPBackend.CUDNN_ATTENTION, "cudnn_ms")]
            if small_cache or dv != d:
                backends.append((SDPBackend.EFFICIENT_ATTENTION, "mea_ms"))
            for backend, key in backends:
                def run_sdpa(backend=backend):
                    q, k, v = pick_sdpa()
                    with sdpa_kernel(backend):
                        F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                try:
                    row[key] = time_ms(run_sdpa)
                except Exception as error:  # noqa: BLE001
                    row[key] = None
                    print(f"{key} failed for {label} N={n}: {error}")
        if flex is not None and not args.no_peers:
            try:
                block_mask = None
                if causal:
                    block_mask = create_block_mask(lambda b, h, qi, ki: qi >= ki, None, None, n, n, device="cuda")
                score_mod = softcap_mod if mod == "softcap" else (alibi_mod(heads) if mod == "alibi" else None)

                def run_flex():
                    q, k, v = pick()
                    flex(q, k, v, score_mod=score_mod, block_mask=block_mask,
                         enable_gqa=kv_heads != heads)
                row["flex_ms"] = time_ms(run_flex)
            except Exception as error:  # noqa: BLE001
                row["flex_ms"] = None
                print(f"flex failed for {label} N={n}: {error}")

        for key in ("flashgen_ms", "best_ms", "fa2_ms", "cudnn_ms", "flex_ms", "mea_ms"):
            if row.get(key):
                row[key.replace("_ms", "_tflops")] = fl / (row[key] * 1e-3) / 1e12
        rows.append(row)
        del sets
        torch.cuda.empty_cache()

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "attention-candidates.tsv"), "w") as f:
        f.write(f"# {torch.cuda.get_device_name()}: bench/attention/bench.py, medians of do_bench\n")
        f.write("\n".join(calibration) + "\n")
    with open(os.path.join(args.out, "attention-results.json"), "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "rows": rows,
                   "first_call_seconds": first_call}, f, indent=1)

    header = (f"{'spec':<18}{'N':>6}{'B':>4} {'err':>8} {'v0':>6} {'best(v)':>10} {'FA2':>6} {'cuDNN':>6} {'Flex':>6}"
              f" {'MEA':>6}  {'v0/FA2':>6} {'v0/cuDNN':>8} {'v0/Flex':>7} {'v0/MEA':>6} {'v0/best':>7}")
    print(header)
    for r in rows:
        def fmt(key):
            v = r.get(key)
            return f"{v:6.0f}" if v else "     -"

        def ratio(key):
            a, b = r.get("flashgen_tflops"), r.get(key)
            return f"{a / b:.2f}" if a and b else "-"
        print(f"{r['spec']:<18}{r['n']:>6}{r['batch']:>4} {r.get('rel_err', float('nan')):8.1e} "
              f"{fmt('flashgen_tflops')} {fmt('best_tflops')}({r.get('best_variant', '-'):>2}) {fmt('fa2_tflops')} "
              f"{fmt('cudnn_tflops')} {fmt('flex_tflops')} {fmt('mea_tflops')}  {ratio('fa2_tflops'):>6} "
              f"{ratio('cudnn_tflops'):>8} {ratio('flex_tflops'):>7} {ratio('mea_tflops'):>6} {ratio('best_tflops'):>7}")
    print("first call (NVRTC compile or cache load + launch), s:",
          {k: round(v, 2) for k, v in first_call.items()})

    try:
        from plot import plot  # bench/attention/plot.py, also run on saved JSON
        plot(rows, os.path.join(args.out, "attention.png"), torch.cuda.get_device_name())
    except Exception as error:  # noqa: BLE001
        print("plot failed:", error)


if __name__ == "__main__":
    main()
