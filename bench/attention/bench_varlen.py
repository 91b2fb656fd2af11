#!/usr/bin/env python3
"""Varlen (packed, cu_seqlens) prefill benchmark: causal GQA 32/8, d=128,
bf16. examples/varlen_prefill.mlir reads the sequences packed back to back
([T, H, D] with cu_seqlens); examples/causal_gqa.mlir is the same attention
on [B, H, N, D] batches. Both bundles are planned at B=8, N=M=4096
(bench/prepare-bench.sh writes them to CARRY_DIR/bench-varlen); the headline
is variant 0 of each, the compiler's own first choice.

Two kinds of batch:
- equal lengths: the packed batch against the dense kernel on the same
  tokens (the packed tensors viewed as [B, H, N, D], no copy): what reading
  the sequences through cu_seqlens costs (target: within 5%).
- ragged lengths: the packed batch against the dense kernel run once per
  sequence on the same tokens (what a caller without varlen does without
  padding) and against the dense kernel on the batch padded to its longest
  sequence (what it does with padding).
Peer in the same process: FlashAttention-2's varlen kernel as PyTorch ships
it (torch.ops.aten._flash_attention_forward with cum_seq_q/k), where it
loads.

Every output is checked against the dense kernel's (same arithmetic, so a
tight tolerance). Each launch is timed with bench.py's time_ms in three
rounds over all of them in turn; the table has each one's median. Writes
$OUT/attention-varlen-results.json and prints a markdown table.
`--dry-run` prints the compositions without torch.

    python3 bench/attention/bench_varlen.py --bundles DIR --out $OUT
"""

import argparse
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HEADS, KV_HEADS, D = 32, 8, 128
TOL = 1e-2
ROUNDS = 3


def compositions():
    """(label, lengths): equal-length batches, then ragged ones."""
    out = [(f"{b}x{n} equal", [n] * b) for b, n in ((8, 2048), (4, 4096), (16, 1024), (2, 8192))]
    rng = random.Random(0)
    out.append(("16 uniform 256-4096", [rng.randint(256, 4096) for _ in range(16)]))
    out.append(("64 uniform 64-1024", [rng.randint(64, 1024) for _ in range(64)]))
    out.append(("long tail", [8192, 4096, 2048, 1024, 512, 256, 128, 64, 33, 17, 1]))
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", help="folder holding varlen_prefill and causal_gqa")
    parser.add_argument("--out", default=".")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--quick", action="store_true", help="the first two batches and one ragged")
    return parser.parse_args(argv)


def causal_flops(lengths):
    return sum(4 * HEADS * D * n * (n + 1) / 2 for n in lengths)


def main(argv=None):
    args = parse_args(argv)
    comps = compositions()
    if args.quick:
        comps = comps[:2] + comps[4:5]
    if args.dry_run:
        for label, lengths in comps:
            print(f"{label}: {len(lengths)} sequences, {sum(lengths)} tokens, longest {max(lengths)}")
        return 0

    import torch
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
    import flashgen  # noqa: E402
    from bench import rel_err, time_ms  # noqa: E402

    torch.manual_seed(0)
    dev = torch.device("cuda")
    bf16 = torch.bfloat16
    started = time.perf_counter()

    varlen = flashgen.load(os.path.join(args.bundles, "varlen_prefill")).kernel("varlen_prefill")
    dense = flashgen.load(os.path.join(args.bundles, "causal_gqa")).kernel("causal_gqa")
    varlen.select_variant(0)
    dense.select_variant(0)

    def fa2_varlen(q, k, v, cu, longest):
        return torch.ops.aten._flash_attention_forward(
            q, k, v, cu, cu, longest, longest, 0.0, True, False, scale=D ** -0.5)[0]

    rows = []
    for label, lengths in comps:
        row = {"label": label, "lengths": lengths, "status": "ok"}
        rows.append(row)
        b, total, longest = len(lengths), sum(lengths), max(lengths)
        offsets = [0]
        for n in lengths:
            offsets.append(offsets[-1] + n)
        cu = torch.tensor(offsets, device=dev, dtype=torch.int32)
        q = torch.randn(total, HEADS, D, device=dev, dtype=bf16)
        k = torch.randn(total, KV_HEADS, D, device=dev, dtype=bf16)
        v = torch.randn(total, KV_HEADS, D, device=dev, dtype=bf16)
        o = torch.empty(total, HEADS, D, device=dev, dtype=bf16)
        sizes = dict(cu_seqlens_q=cu, cu_seqlens_k=cu, max_seqlen_q=longest, max_seqlen_k=longest)

        def run_varlen():
            varlen(q, k, v, out=o, **sizes)

        timed = {}  # key -> launch, timed below in interleaved rounds
        try:
            o.fill_(float("nan"))
            run_varlen()
            torch.cuda.synchronize()
            timed["varlen_us"] = run_varlen
        except Exception as error:  # noqa: BLE001
            row["status"] = "failed"
            row["varlen_error"] = str(error).splitlines()[0][:300]
            print(f"!!!!! varlen failed at {label}: {row['varlen_error']}")
            continue

        # The same tokens through the dense kernel: [B, H, N, D] views of
        # the packed tensors (equal lengths), or one launch per sequence.
        def view(x, start, n):
            return x[start:start + n].unsqueeze(0).transpose(1, 2)

        want = torch.empty_like(o).fill_(float("nan"))
        if len(set(lengths)) == 1:
            n = lengths[0]
            qd, kd, vd = (x.view(b, n, x.shape[1], D).transpose(1, 2) for x in (q, k, v))
            od = want.view(b, n, HEADS, D).transpose(1, 2)
            run_dense = lambda: dense(qd, kd, vd, out=od)  # noqa: E731
            key = "dense_us"
        else:
            pieces = [(view(q, s, n), view(k, s, n), view(v, s, n), view(want, s, n))
                      for s, n in zip(offsets, lengths) if n > 0]
            def run_dense():
                for qd, kd, vd, od in pieces:
                    dense(qd, kd, vd, out=od)
            key = "per_sequence_us"
        try:
            run_dense()
            torch.cuda.synchronize()
            err = rel_err(o, want)
            row["rel_err_vs_dense"] = err
            if not err < TOL:
                row["status"] = "failed"
                print(f"!!!!! WRONG varlen at {label}: rel_err {err:.3g} against the dense kernel")
            timed[key] = run_dense
        except Exception as error:  # noqa: BLE001
            row["dense_error"] = str(error).splitlines()[0][:300]
            print(f"!!!!! dense failed at {label}: {row['dense_error']}")
        if key == "per_sequence_us":
            # Padded to the longest sequence: what the tokens cost in one
            # dense launch.
            try:
                qp = torch.zeros(b, HEADS, longest, D, device=dev, dtype=bf16)
                kp = torch.zeros(b, KV_HEADS, longest, D, device=dev, dtype=bf16)
                vp = torch.zeros_like(kp)
                op = torch.empty_like(qp)
                timed["padded_us"] = lambda: dense(qp, kp, vp, out=op)  # noqa: E731
            except Exception as error:  # noqa: BLE001
                row["padded_error"] = str(error).splitlines()[0][:300]
        try:
            fa = fa2_varlen(q, k, v, cu, longest)
            row["fa2_rel_err"] = rel_err(fa, want)
            timed["fa2_varlen_us"] = lambda: fa2_varlen(q, k, v, cu, longest)  # noqa: E731
        except Exception as error:  # noqa: BLE001
            row["fa2_error"] = str(error).splitlines()[0][:200]
        # Rounds over every launch in turn, the median of each: the H200's
        # clocks drift by several percent between back-to-back timings, so
        # a ratio of two single timings is noisier than the target.
        samples = {key: [] for key in timed}
        for _ in range(ROUNDS):
            for key, launch in timed.items():
                samples[key].append(time_ms(launch) * 1e3)
        for key, values in samples.items():
            row[key] = sorted(values)[len(values) // 2]
            row[key[:-3] + "_samples_us"] = values
        for base in ("dense_us", "per_sequence_us", "padded_us", "fa2_varlen_us"):
            if base in row:
                row["varlen_over_" + base[:-3]] = row["varlen_us"] / row[base]
        row["varlen_tflops"] = causal_flops(lengths) / (row["varlen_us"] * 1e-6) / 1e12
        print(label, {k2: round(v2, 3) if isinstance(v2, float) else v2
                      for k2, v2 in row.items()
                      if k2 != "lengths" and not k2.endswith("_samples_us")})
        del q, k, v, o, want, timed, samples
        torch.cuda.empty_cache()

    result = {"device": torch.cuda.get_device_name(), "seconds": time.perf_counter() - started,
              "rows": rows}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "attention-varlen-results.json"), "w") as f:
        json.dump(result, f, indent=1)
    print_table(result)
    return 0 if all(r["status"] != "failed" for r in rows) else 1


def print_table(result):
    def us(r, key):
        return f"{r[key]:.0f}" if key in r else "-"

    def ratio(r, key):
        return f"{r[key]:.3f}" if key in r else "-"
    print("\nv0 of each bundle, us; varlen / X < 1 means varlen is faster")
    print("| batch | seqs | tokens | **varlen v0** | TFLOP/s | dense same tokens | varlen/dense "
          "| per-sequence dense | varlen/per-seq | padded dense | varlen/padded | FA2 varlen | varlen/FA2 |")
    print("|---" * 13 + "|")
    for r in result["rows"]:
        lengths = r["lengths"]
        print(f"| {r['label']} | {len(lengths)} | {sum(lengths)} | **{us(r, 'varlen_us')}** | "
              f"{r.get('varlen_tflops', 0):.0f} | {us(r, 'dense_us')} | {ratio(r, 'varlen_over_dense')} | "
              f"{us(r, 'per_sequence_us')} | {ratio(r, 'varlen_over_per_sequence')} | "
              f"{us(r, 'padded_us')} | {ratio(r, 'varlen_over_padded')} | "
              f"{us(r, 'fa2_varlen_us')} | {ratio(r, 'varlen_over_fa2_varlen')} |")


if __name__ == "__main__":
    sys.exit(main())
