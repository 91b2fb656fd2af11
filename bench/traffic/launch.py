#!/usr/bin/env python3
"""Launches every benchmark kernel once, for Nsight Compute to count its DRAM
bytes (bench/traffic/measure.py runs this under `ncu --profile-from-start
off`; it is of no use alone).

Each bundle folder that `bench/prepare-bench.sh` wrote holds explain.json,
`flashgen explain --json` at the sizes the traffic is measured at (its ops'
"dims"). For every op of it, the bundle's kernel of that name runs once,
variant 0 (the schedule explain describes), on inputs of those sizes, between
cudaProfilerStart and cudaProfilerStop, so that the profiler sees exactly the
launches of that one call. Inputs are random (outputs and gradients
uninitialised): the values do not change which bytes these kernels move.

A kernel already launched at the same sizes from an earlier folder (the
forward kernel of a bundle compiled with --backward) runs once only.

    python3 bench/traffic/launch.py --bundles DIR [--bundles DIR2] --plan PLAN.json

PLAN.json lists what ran: bundle, kernel, dims, variant, the CUDA entry
points of its launches (how measure.py attributes profiled kernels), and any
kernel that failed to launch, with the error.
"""

import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import flashgen  # noqa: E402

EXPLAIN = "explain.json"  # what bench/prepare-bench.sh writes into each bundle
DTYPES = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32,
          "f64": torch.float64, "i8": torch.int8, "u8": torch.uint8,
          "i32": torch.int32, "i64": torch.int64}


def planned_kernels(folders):
    """(bundle path, explain op) for every explained op with a schedule, in
    folder and name order."""
    for folder in folders:
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            explain = os.path.join(path, EXPLAIN)
            if not os.path.isfile(explain):
                continue
            with open(explain) as f:
                for op in json.load(f):
                    yield path, op


def manifest_kernel(bundle, kernel):
    with open(os.path.join(bundle, "manifest.json")) as f:
        for k in json.load(f)["kernels"]:
            if k["name"] == kernel:
                return k
    raise KeyError(f"{bundle}/manifest.json has no kernel {kernel}")


def size(dim, dims, param):
    """One manifest shape entry at `dims`: an integer or a bare symbol (the
    benchmark kernels have no expression dims)."""
    if isinstance(dim, int):
        return dim
    if dim in dims:
        return dims[dim]
    raise ValueError(f"param {param}: shape entry {dim!r} is not a symbol explain "
                     f"bound ({', '.join(dims)})")


def arguments(kernel, dims, device):
    """The kernel's params in manifest order: random inputs, empty outputs,
    None for optional params (as the benchmarks launch them)."""
    args = []
    for p in kernel["params"]:
        if p.get("optional"):
            args.append(None)
            continue
        shape = [size(d, dims, p["name"]) for d in p["shape"]]
        dtype = DTYPES[p["dtype"]]
        if p["io"] == "out":
            args.append(torch.empty(shape, dtype=dtype, device=device))
        elif dtype.is_floating_point:
            args.append(torch.randn(shape, dtype=dtype, device=device))
        else:
            args.append(torch.zeros(shape, dtype=dtype, device=device))
    return args


def launch_once(bundle, kernel_name, dims, device):
    """Runs variant 0 of the kernel once inside the profiler's range."""
    manifest = manifest_kernel(bundle, kernel_name)
    kern = flashgen.load(bundle).kernel(kernel_name)
    kern.select_variant(0)
    args = arguments(manifest, dims, device)
    torch.cuda.synchronize()
    torch.cuda.profiler.start()
    try:
        kern(*args)
        torch.cuda.synchronize()
    finally:
        torch.cuda.profiler.stop()
    variant = manifest["variants"][0]
    return {"entries": [launch["entry"] for launch in variant["launches"]],
            "schedule": variant.get("schedule", {})}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", action="append", required=True,
                        help="a folder of bundles with explain.json (repeatable)")
    parser.add_argument("--plan", required=True, help="where to write what ran")
    args = parser.parse_args()
    torch.manual_seed(0)
    device = torch.device("cuda")

    launched, failed, seen = [], [], set()
    for bundle, op in planned_kernels(args.bundles):
        kernel, dims = op["op"], op.get("dims", {})
        row = {"bundle": os.path.basename(bundle), "bundle_path": bundle,
               "kernel": kernel, "dims": dims, "variant": 0}
        if "error" in op:
            failed.append(dict(row, error="explain: " + op["error"]))
            continue
        key = (kernel, json.dumps(dims, sort_keys=True))
        if key in seen:
            continue
        seen.add(key)
        try:
            row.update(launch_once(bundle, kernel, dims, device))
            launched.append(row)
            print(f"launched {kernel} ({row['bundle']}) at "
                  + " ".join(f"{k}={v}" for k, v in sorted(dims.items())), flush=True)
        except Exception as error:  # noqa: BLE001 (one kernel's failure is a row)
            failed.append(dict(row, error=f"{type(error).__name__}: {error}"[:500]))
            print(f"FAILED {kernel} ({row['bundle']}): {error}", flush=True)
        torch.cuda.empty_cache()

    with open(args.plan, "w") as f:
        json.dump({"device": torch.cuda.get_device_name(device), "launched": launched,
                   "failed": failed}, f, indent=1)


if __name__ == "__main__":
    main()
