#!/usr/bin/env python3
"""Packed (varlen) recurrences, forward: flashgen's kernels over sequences
packed back to back against flash-linear-attention's with the same
cu_seqlens, initial states in and final states out, same inputs, same
process. 65,536 tokens, 16 heads 128/128, in sequences of ragged lengths
(drawn once from a fixed seed: a one-token sequence, the rest between 256
and 8192 tokens).

    python3 bench/linear/bench_varlen.py --bundle DIR --peers DIR --out $OUT [--kind K]

--kind decay (default): examples/decay_varlen.mlir's fused chunk kernel
against chunk_simple_gla; --kind gated_delta: examples/gated_delta_varlen.mlir
(gated DeltaNet, l2-normalised q and k: delta_prepare then delta_fused)
against chunk_gated_delta_rule (use_qk_l2norm_in_kernel=True). --bundle:
the compiled bundle; --peers: a folder holding the `fla` package (fetched,
never committed). Reports v0 (the compiler's first choice, the headline)
and the other ranked variants, fla's time over v0's, and both outputs' and
final states' error against a float32 recurrence run per sequence on the
first sequences.
"""

import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import flashgen  # noqa: E402
from triton.testing import do_bench  # noqa: E402

TOKENS, HEADS, DK, DV = 65536, 16, 128, 128


def lengths(total, seed=0):
    """Ragged lengths summing to `total`: one single-token sequence, the
    rest uniform in [256, 8192], the last trimmed to fit."""
    g = torch.Generator().manual_seed(seed)
    out, left = [1], total - 1
    while left > 0:
        n = min(left, int(torch.randint(256, 8193, (1,), generator=g)))
        out.append(n)
        left -= n
    return out


def rel_err(out, ref):
    out, ref = out.double(), ref.double()
    if torch.isnan(out).any():
        return float("nan")
    return ((out - ref).norm() / ref.norm()).item()


def reference(q, k, v, g, c0, cu, sequences):
    """o rows and final states of the first `sequences` sequences, float32,
    step by step: each its own recurrence from its own c0."""
    outs, finals = [], []
    scale = DK ** -0.5
    for b in range(sequences):
        c = c0[b].float().clone()
        for t in range(int(cu[b]), int(cu[b + 1])):
            c = torch.exp(g[t].float())[:, None, None] * c + k[t].float()[:, :, None] * v[t].float()[:, None, :]
            outs.append(torch.einsum("hk,hkv->hv", scale * q[t].float(), c))
        finals.append(c)
    return torch.stack(outs), torch.stack(finals)


def reference_gated_delta(q, k, v, beta, g, c0, cu, sequences):
    """The same for gated DeltaNet with l2-normalised q and k
    (docs/semantics.md §7.1)."""
    outs, finals = [], []
    scale = DK ** -0.5

    def unit(x):
        return x / torch.sqrt((x * x).sum(-1, keepdim=True) + 1e-6)
    for b in range(sequences):
        c = c0[b].float().clone()
        for t in range(int(cu[b]), int(cu[b + 1])):
            qt, kt = unit(q[t].float()), unit(k[t].float())
            c = torch.exp(g[t].float())[:, None, None] * c
            write = beta[t].float()[:, None] * (v[t].float() - torch.einsum("hk,hkv->hv", kt, c))
            c = c + kt[:, :, None] * write[:, None, :]
            outs.append(torch.einsum("hk,hkv->hv", scale * qt, c))
        finals.append(c)
    return torch.stack(outs), torch.stack(finals)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--peers", default=None)
    parser.add_argument("--out", default=".")
    parser.add_argument("--kind", default="decay", choices=("decay", "gated_delta"))
    args = parser.parse_args()
    delta = args.kind == "gated_delta"
    torch.manual_seed(0)
    dev = torch.device("cuda")
    lens = lengths(TOKENS)
    cu = torch.tensor([0] + torch.tensor(lens).cumsum(0).tolist(), dtype=torch.int32, device=dev)
    q = torch.randn(TOKENS, HEADS, DK, device=dev, dtype=torch.bfloat16)
    k = torch.randn_like(q)
    v = torch.randn(TOKENS, HEADS, DV, device=dev, dtype=torch.bfloat16)
    g = F.logsigmoid(3.0 + torch.randn(TOKENS, HEADS, device=dev))
    beta = torch.sigmoid(torch.randn(TOKENS, HEADS, device=dev)).to(torch.bfloat16)
    c0 = 0.1 * torch.randn(len(lens), HEADS, DK, DV, device=dev)
    o = torch.full_like(v, float("nan"))
    cf = torch.full_like(c0, float("nan"))
    row = {"kind": args.kind, "tokens": TOKENS, "heads": HEADS, "dk": DK, "dv": DV,
           "sequences": len(lens), "lengths": lens}
    kern = flashgen.load(args.bundle).kernel("gated_delta_varlen" if delta else "decay_varlen")
    # The prepare kernel's grid: the longest sequence (read on the host once).
    max_len = max(lens)

    def run():
        if delta:
            kern(q=q, k=k, v=v, beta=beta, g=g, c0=c0, o=o, cf=cf, cu_seqlens_q=cu,
                 max_seqlen_q=max_len)
        else:
            kern(q=q, k=k, v=v, g=g, c0=c0, o=o, cf=cf, cu_seqlens_q=cu)
    run()
    torch.cuda.synchronize()
    check = 3  # the first sequences: the single token and two long ones
    want_o, want_c = (reference_gated_delta(q, k, v, beta, g, c0, cu, check) if delta
                      else reference(q, k, v, g, c0, cu, check))
    rows = int(cu[check])
    row["rel_err_o"] = rel_err(o[:rows], want_o)
    row["rel_err_cf"] = rel_err(cf[:check], want_c)
    variant_ms = {}
    for variant in range(kern.num_variants):
        kern.select_variant(variant)
        variant_ms[variant] = do_bench(run, warmup=25, rep=100, return_mode="median")
    kern.select_variant(0)
    row["flashgen_variant_ms"] = variant_ms
    row["flashgen_ms"] = variant_ms[0]
    if args.peers:
        sys.path.insert(0, args.peers)
        try:
            if delta:
                from bench_delta import load_fla
                chunk_gated_delta_rule = load_fla(args.peers)[1]

                def fla():
                    return chunk_gated_delta_rule(q[None], k[None], v[None], g[None], beta[None],
                                                  scale=DK ** -0.5, initial_state=c0,
                                                  output_final_state=True, cu_seqlens=cu.long(),
                                                  use_qk_l2norm_in_kernel=True)
            else:
                from fla.ops.simple_gla import chunk_simple_gla

                def fla():
                    return chunk_simple_gla(q[None], k[None], v[None], g=g[None], scale=DK ** -0.5,
                                            initial_state=c0, output_final_state=True,
                                            cu_seqlens=cu.long())
            fo, fc = fla()
            row["fla_rel_err_o"] = rel_err(fo[0][:rows], want_o)
            row["fla_rel_err_cf"] = rel_err(fc[:check], want_c)
            row["rel_err_vs_fla_o"] = rel_err(o, fo[0])
            row["fla_ms"] = do_bench(fla, warmup=25, rep=100, return_mode="median")
            row["fla_over_v0"] = row["fla_ms"] / row["flashgen_ms"]
        except Exception as error:  # noqa: BLE001
            row["fla_error"] = repr(error)[:300]
    print(json.dumps(row), flush=True)
    os.makedirs(args.out, exist_ok=True)
    name = "linear-varlen-gated-delta-results.json" if delta else "linear-varlen-results.json"
    with open(os.path.join(args.out, name), "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "row": row}, f, indent=1)


if __name__ == "__main__":
    main()
