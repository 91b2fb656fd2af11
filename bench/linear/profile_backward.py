#!/usr/bin/env python3
"""Where a recurrence gradient's time goes: each of its launches (the state
pass, the state-gradient pass, the chunk kernel) timed on its own with
torch.profiler, for every bundle in a folder whose kernel of the same name
is a flash.linear_attention_grad (one bundle per hand-written chunk_grad
schedule, or a `--backward` bundle's `<X>_backward` with --kernel), on
16 heads 128/128 at 65,536 tokens (--t picks T, B = 65536 / T).

    python3 bench/linear/profile_backward.py --bundles DIR [--kernel NAME] --out $OUT

writes $OUT/linear-backward-profile.json and prints one row per bundle and
variant: the schedule, each launch's median microseconds and the total.
Gates: log-decays (decay, vector), or the mLSTM kinds' preactivations
(igate, fgate). A gradient kernel that reads the forward's o and norm (the
normaliser kinds mlstm_sig and mlstm_exp) gets them from one run of the
bundle's forward kernel (the gradient kernel's name less `_backward`);
without that kernel in the bundle it is skipped.
"""
import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", required=True)
    parser.add_argument("--kernel", default=None, help="kernel name (default: the bundle's name)")
    parser.add_argument("--t", type=int, default=4096)
    parser.add_argument("--out", default=".")
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    import torch
    import torch.nn.functional as F
    from torch.profiler import ProfilerActivity, profile
    import flashgen

    dev = torch.device("cuda")
    t, heads, dk, dv = args.t, 16, 128, 128
    batch = 65536 // t
    q, k = (torch.randn(batch, heads, t, dk, device=dev, dtype=torch.bfloat16) for _ in range(2))
    v, do = (torch.randn(batch, heads, t, dv, device=dev, dtype=torch.bfloat16) for _ in range(2))
    # Log-decays: one a step (decay) or one a key dim (vector).
    gates = {rank: F.logsigmoid(3.0 + torch.randn((batch, heads, t, dk)[:rank], device=dev))
             for rank in (3, 4)}
    dgates = {rank: torch.empty_like(x) for rank, x in gates.items()}
    # The mLSTM kinds' preactivations (as bench_backward.py draws them),
    # and the forward's o and rows' normalisers for the kinds that read them.
    ig = torch.randn(batch, heads, t, device=dev).bfloat16().float()
    fg = (3.0 + torch.randn(batch, heads, t, device=dev)).bfloat16().float()
    dig, dfg = torch.empty_like(ig), torch.empty_like(fg)
    o = torch.empty_like(v)
    norm = torch.empty(batch, heads, t, 2, device=dev, dtype=torch.float32)
    dq, dk_, dv_ = (torch.empty_like(x) for x in (q, k, v))
    rows = []
    for name in sorted(os.listdir(args.bundles)):
        path = os.path.join(args.bundles, name)
        if not os.path.isfile(os.path.join(path, "manifest.json")):
            continue
        manifest = json.load(open(os.path.join(path, "manifest.json")))
        kname = args.kernel or name
        entry = next((e for e in manifest["kernels"] if e["name"] == kname), None)
        if entry is None or entry["op"] != "linear_attention_grad":
            continue
        bundle = flashgen.load(path)
        kern = bundle.kernel(kname)
        params = {p["name"] for p in entry["params"]}
        rank = next((len(p["shape"]) for p in entry["params"] if p["name"] == "g"), 0)
        saved = {}
        if "norm" in params:
            # The forward's o and norm, from one run of its kernel.
            fname = kname[:-len("_backward")] if kname.endswith("_backward") else None
            if not any(e["name"] == fname for e in manifest["kernels"]):
                print(f"{name:<28} skipped: {kname} reads the forward's o and norm, and "
                      f"the bundle has no forward kernel {fname}", flush=True)
                continue
            bundle.kernel(fname)(q=q, k=k, v=v, igate=ig, fgate=fg, o=o, norm=norm)
            saved = dict(o=o, norm=norm)
        for variant in range(kern.num_variants):
            kern.select_variant(variant)
            launch = dict(q=q, k=k, v=v, dq=dq, dk=dk_, dv=dv_, **saved, **{"do": do})
            if rank:
                launch.update(g=gates[rank], dg=dgates[rank])
            if "igate" in params:
                launch.update(igate=ig, fgate=fg, digate=dig, dfgate=dfg)
            for _ in range(3):
                kern(**launch)
            torch.cuda.synchronize()
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                for _ in range(args.reps):
                    kern(**launch)
                torch.cuda.synchronize()
            times = {}
            for event in prof.events():
                if event.device_type.name == "CUDA" and event.name.startswith("flashgen_"):
                    times.setdefault(event.name, []).append(event.device_time)
            launches = {n.rsplit("_v", 1)[-1]: statistics.median(x) for n, x in times.items()}
            row = {"bundle": name, "variant": variant,
                   "schedule": entry["variants"][variant]["schedule"],
                   "launch_us": launches, "total_us": sum(launches.values())}
            rows.append(row)
            s = row["schedule"]
            print(f"{name:<28} v{variant} chunk={s.get('chunk')} tile_d={s.get('tile_d')} "
                  f"tile_dv={s.get('tile_dv')} warps={s.get('warps')} stages={s.get('stages')}  "
                  + "  ".join(f"{n}={us:8.1f}" for n, us in sorted(launches.items()))
                  + f"  total={row['total_us']:8.1f} us", flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "linear-backward-profile.json"), "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "T": t, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
