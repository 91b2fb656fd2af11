#!/usr/bin/env python3
"""Measured DRAM traffic of every benchmark kernel, beside the modeled HBM
bytes and the lower bound (issue #16), on the GPU machine.

Runs bench/traffic/launch.py under Nsight Compute, which counts
dram__bytes_read.sum, dram__bytes_write.sum and gpu__time_duration.sum for
each flashgen launch (`--kernel-name regex:^flashgen_`) inside the launcher's
profiler ranges (one call of each kernel; its warm-up, NVRTC and the input
set-up are outside them). ncu flushes the caches before each profiled kernel
(its default --cache-control all), so each count starts from a cold L2, as
one launch on inputs in HBM does. A kernel of several launches (the
gradient's prep, kv and convert kernels) is the sum of them. Clocks are left
alone (--clock-control none; METHOD.md of the device entry).

    python3 bench/traffic/measure.py --bundles build/bench-bundles \\
        --bundles build/bench-bundles-backward --out $OUT/traffic-h200.json

Bundle folders come from bench/prepare-bench.sh, which also writes each
bundle's explain.json (the modeled bytes and the bound at the sizes
measured). The output (format "flashgen-traffic", version 1) is what
`flashgen explain --measured FILE` and bench/traffic/plot.py read: per kernel
its bundle, name, dims, variant, schedule, the measured bytes read and
written and their launches, and explain's modeled_hbm_bytes and
hbm_lower_bound_bytes copied beside them. A table goes to stdout.
"""

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
METRICS = ("dram__bytes_read.sum", "dram__bytes_write.sum", "gpu__time_duration.sum")
# Measured over modeled HBM bytes above this is a kernel the model does not
# explain (issue #16); flashgen explain --measured marks the same.
LIMIT = 1.3
# ncu's units (with --print-units base it prints the first of each).
UNITS = {"byte": 1, "Kbyte": 1e3, "Mbyte": 1e6, "Gbyte": 1e9, "Tbyte": 1e12,
         "nsecond": 1, "ns": 1, "usecond": 1e3, "us": 1e3, "msecond": 1e6, "ms": 1e6,
         "second": 1e9, "s": 1e9}


def find_ncu(given):
    for candidate in (given, shutil.which("ncu"), "/usr/local/cuda/bin/ncu"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    sys.exit("measure.py: no ncu (Nsight Compute) on PATH or in /usr/local/cuda/bin; "
             "pass --ncu PATH")


def ncu_command(ncu, report, launcher_args):
    return [ncu, "--target-processes", "all", "--profile-from-start", "off",
            "--clock-control", "none", "--kernel-name", "regex:^flashgen_",
            "--metrics", ",".join(METRICS), "--force-overwrite", "--export", report,
            sys.executable, os.path.join(HERE, "launch.py")] + launcher_args


def report_csv(ncu, report):
    """The report's details page as CSV, values in base units (bytes, ns)."""
    done = subprocess.run([ncu, "--import", report, "--csv", "--print-units", "base"],
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"measure.py: ncu --import {report} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def parse_ncu_csv(text):
    """{profiled launch id: {"entry": kernel name, metric: value in bytes or
    ns}} from ncu's --csv details page (one row per metric; any line that is
    not CSV, such as ncu's ==PROF== and ==WARNING== lines, is skipped)."""
    rows = [line for line in text.splitlines() if line.startswith('"')]
    launches = {}
    for row in csv.DictReader(rows):
        missing = {"ID", "Kernel Name", "Metric Name", "Metric Unit", "Metric Value"} - set(row)
        if missing:
            raise ValueError(f"ncu CSV without column(s) {', '.join(sorted(missing))}")
        unit = row["Metric Unit"]
        if unit not in UNITS:
            raise ValueError(f"ncu CSV: unit {unit!r} of {row['Metric Name']} unknown")
        value = float(row["Metric Value"].replace(",", "")) * UNITS[unit]
        launch = launches.setdefault(row["ID"], {"entry": row["Kernel Name"]})
        launch[row["Metric Name"]] = value
    return launches


def entry_name(kernel_name):
    """ncu may print a signature after the name; flashgen's are extern "C"."""
    return kernel_name.split("(", 1)[0].strip()


def attribute(plan, launches, explain_ops):
    """The measured kernels (each of its entries profiled exactly once) and
    the ones that could not be measured, with why."""
    by_entry = {}
    for launch in launches.values():
        by_entry.setdefault(entry_name(launch["entry"]), []).append(launch)
    kernels, failed = [], list(plan["failed"])
    for row in plan["launched"]:
        counts = {e: len(by_entry.get(e, [])) for e in row["entries"]}
        if any(n != 1 for n in counts.values()):
            failed.append(dict(row, error="profiled launches per entry point "
                               f"{counts} (expected one each)"))
            continue
        profiled = [by_entry[e][0] for e in row["entries"]]
        if any(m not in p for p in profiled for m in METRICS):
            failed.append(dict(row, error="ncu reported no value for some metric"))
            continue
        op = explain_ops[(row["bundle_path"], row["kernel"])]
        kernels.append({
            "bundle": row["bundle"], "kernel": row["kernel"], "dims": row["dims"],
            "variant": row["variant"], "schedule": row["schedule"],
            "dram_bytes_read": int(sum(p["dram__bytes_read.sum"] for p in profiled)),
            "dram_bytes_write": int(sum(p["dram__bytes_write.sum"] for p in profiled)),
            "duration_ns": sum(p["gpu__time_duration.sum"] for p in profiled),
            "launches": [{"entry": e, "dram_bytes_read": int(p["dram__bytes_read.sum"]),
                          "dram_bytes_write": int(p["dram__bytes_write.sum"]),
                          "duration_ns": p["gpu__time_duration.sum"]}
                         for e, p in zip(row["entries"], profiled)],
            "modeled_hbm_bytes": op["modeled_hbm_bytes"],
            "hbm_lower_bound_bytes": op["hbm_lower_bound_bytes"],
            "target": op["target"]})
    return kernels, failed


def explain_ops(plan):
    ops = {}
    for row in plan["launched"]:
        with open(os.path.join(row["bundle_path"], "explain.json")) as f:
            for op in json.load(f):
                ops[(row["bundle_path"], op["op"])] = op
    return ops


def print_table(kernels, failed):
    print(f"{'kernel':<30} {'dims':<16} {'bound MB':>9} {'model MB':>9} {'meas. MB':>9}"
          f" {'meas/model':>10} {'model/bound':>11}")
    for k in kernels:
        measured = k["dram_bytes_read"] + k["dram_bytes_write"]
        over = measured / k["modeled_hbm_bytes"] if k["modeled_hbm_bytes"] else float("nan")
        tight = (k["modeled_hbm_bytes"] / k["hbm_lower_bound_bytes"]
                 if k["hbm_lower_bound_bytes"] else float("nan"))
        dims = " ".join(f"{n}={v}" for n, v in sorted(k["dims"].items()))
        print(f"{k['kernel']:<30} {dims:<16} {k['hbm_lower_bound_bytes'] / 1e6:9.1f}"
              f" {k['modeled_hbm_bytes'] / 1e6:9.1f} {measured / 1e6:9.1f} {over:10.2f}"
              f" {tight:11.2f}{'  > %.1f x modeled' % LIMIT if over > LIMIT else ''}")
    for row in failed:
        print(f"NOT MEASURED {row['kernel']} ({row['bundle']}): {row['error']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", action="append", required=True,
                        help="a folder of bundles from bench/prepare-bench.sh (repeatable)")
    parser.add_argument("--out", required=True, help="the JSON to write")
    parser.add_argument("--ncu", default=None, help="the ncu to run (default: on PATH)")
    parser.add_argument("--report", default=None,
                        help="keep ncu's report here (NAME.ncu-rep; default: a "
                             "temporary file)")
    args = parser.parse_args()
    ncu = find_ncu(args.ncu)
    with tempfile.TemporaryDirectory() as work:
        report = args.report or os.path.join(work, "traffic.ncu-rep")
        if not report.endswith(".ncu-rep"):
            report += ".ncu-rep"
        plan_path = os.path.join(work, "plan.json")
        launcher_args = [a for d in args.bundles for a in ("--bundles", d)]
        command = ncu_command(ncu, report, launcher_args + ["--plan", plan_path])
        print("running:", " ".join(command), flush=True)
        done = subprocess.run(command)
        if not os.path.isfile(plan_path) or not os.path.isfile(report):
            sys.exit(f"measure.py: ncu exited {done.returncode} without "
                     + ("a report" if os.path.isfile(plan_path) else "the launcher's plan"))
        with open(plan_path) as f:
            plan = json.load(f)
        launches = parse_ncu_csv(report_csv(ncu, report))
        version = subprocess.run([ncu, "--version"], capture_output=True, text=True).stdout
    kernels, failed = attribute(plan, launches, explain_ops(plan))
    result = {"format": "flashgen-traffic", "version": 1, "device": plan["device"],
              "ncu": version.strip().splitlines()[-1] if version.strip() else "",
              "metrics": list(METRICS), "cache_control": "all (ncu default: cold L2)",
              "kernels": kernels, "failed": failed}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print_table(kernels, failed)
    print(f"wrote {args.out}: {len(kernels)} kernels measured, {len(failed)} not")
    return 1 if failed or not kernels else 0


if __name__ == "__main__":
    sys.exit(main())
