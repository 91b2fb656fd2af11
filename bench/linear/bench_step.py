#!/usr/bin/env python3
"""Decoding a recurrence (docs/semantics.md §8): one new token of B
sequences, the state read and written in place, for the specs of
bench/linear/step-specs (16 heads 128/128: gated DeltaNet with l2norm_qk,
a scalar log-decay, mLSTMsig with its normaliser), planned at B=64, T=1
(bench/prepare-bench.sh writes the bundles into bench-step).

The step is bound by the state's round trip through HBM, so the headline is
the bandwidth it reaches: bytes the kernel must move (the f32 state read and
written, the token's q, k, v, gates and o) over its time, against the
device-to-device copy bandwidth measured in the same run (#14's target:
>= 85% at batch >= 64). flash-linear-attention's
fused_recurrent_gated_delta_rule (use_qk_l2norm_in_kernel=True, the same
scale, initial state in, final state out) is timed on the gated DeltaNet
rows where --peers holds the fla package (fetched, never committed).

Each variant runs in place (cf is c0's own buffer) on a copy of the same
initial state, its o NaN-poisoned, and is checked against a float32 step
in torch: ||o - o_ref|| / ||o_ref|| < 2e-2 and the updated state within
1e-3 of the reference's, no NaN. v0 is the compiler's first choice (the
headline); "best" is the fastest correct variant. Times are GPU time per
call inside a CUDA graph of back-to-back calls (bench/graph_timing.py, as a
serving engine captures its decode step), alternating between two copies of
the inputs and states (which together outgrow the L2), each call one decode
step on the state that copy's previous call left (the gates keep it
bounded); fla is timed the same way. Launched one at a time from Python a
step of 64 sequences is bound by the host (the GPU waits on the launch):
"eager" columns, triton's do_bench with the L2 flushed, show that.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SPECS = ("gated_delta_step_h16_k128_v128", "decay_step_h16_k128_v128",
         "mlstm_sig_step_h16_k128_v128")
HEADS, DK, DV = 16, 128, 128
BATCHES = (64, 256)
TOKENS = (1, 4, 16)
TOL, STATE_TOL = 2e-2, 1e-3


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", required=True, help="folder with the step bundles")
    parser.add_argument("--peers", default=None, help="folder holding the fla package")
    parser.add_argument("--out", default=".", help="folder for linear-step-results.json")
    parser.add_argument("--specs", nargs="+", default=list(SPECS), choices=SPECS,
                        help="the specs to run (default: all)")
    parser.add_argument("--batches", nargs="+", type=int, default=list(BATCHES),
                        help="sequences a step (default: 64 256)")
    parser.add_argument("--tokens", nargs="+", type=int, default=list(TOKENS),
                        help="tokens a step at the first batch (default: 1 4 16: speculative "
                             "verification); the other batches run one token")
    return parser.parse_args(argv)


def inputs_for(spec, batch, tokens, torch, F):
    """The kernel's inputs by param name ([B, H, T, D] rows, f32 states)."""
    dev, bf16 = "cuda", torch.bfloat16
    x = {"q": torch.randn(batch, HEADS, tokens, DK, device=dev, dtype=bf16),
         "k": torch.randn(batch, HEADS, tokens, DK, device=dev, dtype=bf16),
         "v": torch.randn(batch, HEADS, tokens, DV, device=dev, dtype=bf16),
         "c0": 0.1 * torch.randn(batch, HEADS, DK, DV, device=dev)}
    if spec.startswith("gated_delta"):
        x["beta"] = torch.sigmoid(torch.randn(batch, HEADS, tokens, device=dev)).to(bf16)
        x["g"] = F.logsigmoid(torch.randn(batch, HEADS, tokens, device=dev)) / 16
    elif spec.startswith("decay"):
        x["k"] = (x["k"].float() / DK ** 0.5).to(bf16)  # keeps repeated steps bounded
        x["g"] = F.logsigmoid(torch.randn(batch, HEADS, tokens, device=dev)) / 16
    else:
        x["k"] = (x["k"].float() / DK ** 0.5).to(bf16)
        x["igate"] = torch.randn(batch, HEADS, tokens, device=dev)
        x["fgate"] = 3.0 + torch.randn(batch, HEADS, tokens, device=dev)
        x["n0"] = 0.1 * torch.randn(batch, HEADS, DK, device=dev)
    return x


def reference_steps(spec, x, torch, F):
    """(o [B, H, T, Dv], C, n) after the T tokens in float32, one token at a
    time (docs/semantics.md §3.1, §7.1)."""
    scale = DK ** -0.5
    c = x["c0"].clone()
    n = x["n0"].clone() if "n0" in x else None
    outs = []
    for t in range(x["q"].shape[2]):
        q, k, v = (x[name][:, :, t].float() for name in ("q", "k", "v"))
        if spec.startswith("gated_delta"):
            q = q / torch.sqrt((q * q).sum(-1, keepdim=True) + 1e-6)
            k = k / torch.sqrt((k * k).sum(-1, keepdim=True) + 1e-6)
            c = torch.exp(x["g"][:, :, t])[..., None, None] * c
            read = torch.einsum("bhk,bhkv->bhv", k, c)
            write = x["beta"][:, :, t, None].float() * (v - read)
            c = c + k[..., :, None] * write[..., None, :]
            outs.append(torch.einsum("bhk,bhkv->bhv", scale * q, c))
        elif spec.startswith("decay"):
            c = torch.exp(x["g"][:, :, t])[..., None, None] * c + k[..., :, None] * v[..., None, :]
            outs.append(torch.einsum("bhk,bhkv->bhv", scale * q, c))
        else:
            a = torch.sigmoid(x["fgate"][:, :, t])[..., None]
            b = torch.sigmoid(x["igate"][:, :, t])[..., None]
            c = a[..., None] * c + b[..., None] * k[..., :, None] * v[..., None, :]
            n = a * n + b * k
            qs = scale * q
            num = torch.einsum("bhk,bhkv->bhv", qs, c)
            den = torch.clamp((n * qs).sum(-1, keepdim=True).abs(), min=1.0) + 1e-6
            outs.append(num / den)
    return torch.stack(outs, dim=2), c, n


def state_bytes(spec, batch, tokens=1):
    """Bytes a step must move: the states read and written, the tokens' rows."""
    state = batch * HEADS * DK * DV * 4 + (batch * HEADS * DK * 4 if spec.startswith("mlstm") else 0)
    rows = batch * HEADS * tokens * (2 * DK + 2 * DV) * 2  # q, k, v in, o out (bf16)
    return 2 * state + rows


def load_fla_fused(peers):
    """fla's fused_recurrent_gated_delta_rule, or raises."""
    sys.path.insert(0, peers)
    from fla.ops.gated_delta_rule import fused_recurrent_gated_delta_rule
    return fused_recurrent_gated_delta_rule


def main(argv=None):
    args = parse_args(argv)
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.join(HERE, ".."))
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
    import flashgen  # noqa: E402
    from bench import rel_err, time_ms  # noqa: E402
    from copy_bandwidth import measure_copy  # noqa: E402
    from graph_timing import graph_us  # noqa: E402

    torch.manual_seed(0)
    copy_gbs, copy_bytes, copy_us = measure_copy(time_ms)
    print(f"copy bandwidth {copy_gbs:.0f} GB/s ({copy_bytes / 1e9:.2f} GB in {copy_us:.0f} us)",
          flush=True)
    fla_fused, fla_import = None, "unavailable: no --peers"
    if args.peers:
        try:
            fla_fused, fla_import = load_fla_fused(args.peers), "fla.ops.gated_delta_rule"
        except Exception as error:  # noqa: BLE001
            fla_import = "unavailable: " + repr(error)[:300]
    rows = []
    for spec in args.specs:
        path = os.path.join(args.bundles, spec)
        try:
            kern = flashgen.load(path).kernel(spec)
        except Exception as error:  # noqa: BLE001
            print(f"{spec}: skipped: {error!r}"[:300], flush=True)
            rows.append({"spec": spec, "status": "skipped: " + repr(error)[:200]})
            continue
        shapes = [(b, t) for b in args.batches
                  for t in (args.tokens if b == args.batches[0] else [1])]
        for batch, tokens in shapes:
            row = {"spec": spec, "batch": batch, "heads": HEADS, "dk": DK, "dv": DV, "T": tokens,
                   "bytes": state_bytes(spec, batch, tokens)}
            x = inputs_for(spec, batch, tokens, torch, F)
            o_ref, c_ref, n_ref = reference_steps(spec, x, torch, F)
            # Two input sets (each with its own state, updated in place: cf
            # is c0's buffer), so the graph's calls alternate between them.
            sets = []
            for _ in range(2):
                work = {name: t.clone() for name, t in x.items()}
                finals = {"cf": work["c0"]}
                if "n0" in work:
                    finals["nf"] = torch.empty_like(work["n0"])  # n is shared by value tiles
                o = torch.empty(batch, HEADS, tokens, DV, device="cuda", dtype=torch.bfloat16)
                sets.append((work, finals, o))

            def run(i=0):
                work, finals, o = sets[i]
                kern(o=o, **work, **finals)
            variant_ms, variant_err, eager_ms = {}, {}, {}
            try:
                # Every variant checked (and JIT-compiled) first, then all
                # timed: no compile between two timings.
                work, finals, o = sets[0]
                for variant in range(kern.num_variants):
                    kern.select_variant(variant)
                    work["c0"].copy_(x["c0"])
                    o.fill_(float("nan"))
                    run()
                    torch.cuda.synchronize()
                    err = rel_err(o, o_ref)
                    state_err = rel_err(work["c0"], c_ref)
                    if n_ref is not None:
                        state_err = max(state_err, rel_err(finals["nf"], n_ref))
                    variant_err[variant] = (err, state_err)
                for variant in range(kern.num_variants):
                    kern.select_variant(variant)
                    variant_ms[variant] = graph_us(torch, run, len(sets)) / 1e3
                    if tokens == 1:
                        eager_ms[variant] = time_ms(run)
                kern.select_variant(0)
            except Exception as error:  # noqa: BLE001
                row["status"] = "FAILED: " + repr(error)[:200]
                rows.append(row)
                print(json.dumps(row), flush=True)
                continue
            good = [v for v, (e, s) in variant_err.items() if e < TOL and s < STATE_TOL]
            row["variant_ms"] = variant_ms
            row["eager_ms"] = eager_ms
            row["variant_err"] = variant_err
            row["flashgen_ms"] = variant_ms[0]
            row["gbs"] = row["bytes"] / (variant_ms[0] * 1e-3) / 1e9
            row["of_copy"] = row["gbs"] / copy_gbs
            if good:
                best = min(good, key=variant_ms.get)
                row["best_variant"], row["best_ms"] = best, variant_ms[best]
            row["status"] = "ok" if 0 in good else (
                f"FAILED: v0 o err {variant_err[0][0]:.2e}, state err {variant_err[0][1]:.2e}")
            if fla_fused is not None and spec.startswith("gated_delta"):
                qf, kf, vf = (x[n].transpose(1, 2).contiguous() for n in ("q", "k", "v"))
                gf = x["g"].transpose(1, 2).contiguous()
                bf = x["beta"].transpose(1, 2).contiguous()

                fla_states = [x["c0"].clone() for _ in sets]

                def fla_run(i=0):
                    return fla_fused(qf, kf, vf, g=gf, beta=bf, scale=DK ** -0.5,
                                     initial_state=fla_states[i], output_final_state=True,
                                     use_qk_l2norm_in_kernel=True)
                try:
                    fo, fs = fla_run()
                    row["fla_err"] = rel_err(fo.transpose(1, 2), o_ref)
                    if not row["fla_err"] < TOL:  # a peer computing something else is no peer
                        raise ValueError(f"fla's output is off: rel_err {row['fla_err']}")
                    row["fla_ms"] = graph_us(torch, fla_run, len(fla_states)) / 1e3
                    if tokens == 1:
                        row["fla_eager_ms"] = time_ms(fla_run)
                    row["fla_over_v0"] = row["fla_ms"] / row["flashgen_ms"]
                except Exception as error:  # noqa: BLE001
                    row["fla_error"] = repr(error)[:300]
            rows.append(row)
            print(json.dumps(row), flush=True)
            del x, sets
            torch.cuda.empty_cache()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "linear-step-results.json"), "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "copy_gbs": copy_gbs,
                   "fla_import": fla_import, "rows": rows}, f, indent=1)
    print(f"{'spec':<34}{'B':>5}{'T':>3} {'v0 us':>8} {'best us':>8} {'GB/s':>6} {'of copy':>7}"
          f" {'fla us':>8} {'fla/v0':>6} {'eager v0':>8} {'eager fla':>9}  status")
    for r in rows:
        def us(key):
            return f"{r[key] * 1e3:8.1f}" if key in r else "       -"
        print(f"{r['spec']:<34}{r.get('batch', '-'):>5}{r.get('T', '-'):>3} {us('flashgen_ms')} {us('best_ms')}"
              f" {r.get('gbs', 0):6.0f} {r.get('of_copy', 0):7.2f} {us('fla_ms')}"
              f" {r.get('fla_over_v0', 0):6.2f}"
              f" {r['eager_ms'][0] * 1e3 if r.get('eager_ms') else 0:8.1f}"
              f" {r.get('fla_eager_ms', 0) * 1e3:9.1f}  {r['status']}")
    return 1 if any(r["status"].startswith("FAILED") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
