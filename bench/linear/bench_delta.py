#!/usr/bin/env python3
"""DeltaNet and gated DeltaNet, forward (flash.delta_rule, docs/semantics.md
§7), at 65,536 tokens: 16 heads 128/128 at T=4096 (B=16) and T=16384 (B=4),
32 heads 128/128 at T=2048 (B=32). flashgen's delta_* and gated_delta_*
kernels (bench/linear/specs: bf16 q, k, v and beta, f32 log-decay g,
l2norm_qk, default scale 1/sqrt(Dk)) against flash-linear-attention's
chunk_delta_rule and chunk_gated_delta_rule (use_qk_l2norm_in_kernel=True,
the same scale, output_final_state=False), in one process.

Inputs are random: q, k, v standard normal (bf16), beta = sigmoid(randn)
(bf16), and for the gated kernel g = logsigmoid(randn) / 16 (f32: per-step
decays exp(g) of about 0.8 to 1, mostly above 0.9). They are drawn once in
fla's layout, contiguous [B, T, H, D]; flashgen gets the transpose(1, 2)
views of the same tensors ([B, H, T, D], strided, no copy; its o is a
contiguous [B, H, T, Dv]); beta and g, [B, T, H] there, reach the kernels
as [B, H, T] views whose last dim steps over the heads (the manifest marks
them strided_last_dim). Should the runtime refuse the strided views, the row
says so and uses contiguous copies. --copies hands flashgen contiguous
[B, H, T, D] copies instead, made before timing (what a caller had to do
while the runtime refused the gate views), so the two runs compare.

Each variant of a bundle writes o over a NaN-poisoned buffer and is checked
against fla's o: ||o - o_fla|| / ||o_fla|| < 2e-2 and no NaN anywhere, else
the variant (and, for variant 0, the row) is marked failed. Without fla the
check is against a float32 step-by-step recurrence (docs/semantics.md §7.1)
over the first 256 steps of batch 0, which is also reported beside fla
(ref_err for flashgen, fla_ref_err for fla) to tell which side is off.

Reports ms of v0 (variant 0, the compiler's first choice: the headline), of
the best correct variant and of fla, and fla's time over v0's (> 1: flashgen
is faster). Times are medians of bench.py's time_ms (triton do_bench).

The peers' sources are not part of this repository: pass --peers with a
folder holding the `fla` package (fetched, never committed). `import
fla.ops.delta_rule` needs torch, triton, einops and packaging (fla/ops and
fla/modules import every op); if that fails, the fla, fla.ops, fla.modules,
fla.ops.delta_rule and fla.ops.gated_delta_rule packages are stood in for by
bare ones and only the two chunk modules are imported (torch, triton,
packaging). A bundle that is missing is skipped with a message (fla is still
timed); an fla that fails to import or run is reported in each row and
flashgen is still timed and checked against the recurrence.

    python3 bench/linear/bench_delta.py --bundles DIR --peers DIR --out $OUT

Writes OUT/linear-delta-results.json and prints a table.
"""

import argparse
import importlib
import json
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENS = 65536
# (heads, dk, dv, T); batch = TOKENS // T.
SHAPES = [(16, 128, 128, 4096), (16, 128, 128, 16384), (32, 128, 128, 2048)]
GATES = ("delta", "gated_delta")
TOL = 2e-2
REF_STEPS = 256
FLA_NAMES = {"delta": "fla_chunk_delta_rule", "gated_delta": "fla_chunk_gated_delta_rule"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", required=True,
                        help="folder with one bundle per spec (bench/prepare-bench.sh)")
    parser.add_argument("--peers", default=None, help="folder holding the fla package")
    parser.add_argument("--out", default=".", help="folder for linear-delta-results.json")
    parser.add_argument("--quick", action="store_true",
                        help="the first shape only (16 heads, T=4096)")
    parser.add_argument("--copies", action="store_true",
                        help="time flashgen on contiguous copies of its inputs, not fla's views")
    return parser.parse_args(argv)


def load_fla(peers):
    """(chunk_delta_rule, chunk_gated_delta_rule, how they were imported),
    or raises with both attempts' errors."""
    sys.path.insert(0, peers)
    try:
        from fla.ops.delta_rule import chunk_delta_rule
        from fla.ops.gated_delta_rule import chunk_gated_delta_rule
        return chunk_delta_rule, chunk_gated_delta_rule, "fla.ops"
    except Exception as error:  # noqa: BLE001
        first = error
    # The light path: bare packages instead of the __init__ files that import
    # every op (and einops, transformers through fla.layers / fla.models).
    for name in [m for m in sys.modules if m == "fla" or m.startswith("fla.")]:
        del sys.modules[name]
    root = os.path.join(peers, "fla")
    for name in ("fla", "fla.ops", "fla.modules", "fla.ops.delta_rule",
                 "fla.ops.gated_delta_rule"):
        package = types.ModuleType(name)
        package.__path__ = [os.path.join(root, *name.split(".")[1:])]
        package.__package__ = name
        sys.modules[name] = package
        if name == "fla":  # fla.utils reads fla.__version__
            package.__version__ = fla_version(os.path.join(root, "__init__.py"))
        if "." in name:
            parent, _, child = name.rpartition(".")
            setattr(sys.modules[parent], child, package)
    try:
        delta = importlib.import_module("fla.ops.delta_rule.chunk").chunk_delta_rule
        gated = importlib.import_module("fla.ops.gated_delta_rule.chunk").chunk_gated_delta_rule
    except Exception as error:  # noqa: BLE001
        raise RuntimeError(f"import fla.ops.delta_rule: {first!r}; "
                           f"bare packages: {error!r}") from error
    return delta, gated, f"chunk modules under bare packages (fla.ops failed: {first!r})"


def fla_version(init):
    """The `__version__ = "..."` of fla/__init__.py, else "0"."""
    import re
    if not os.path.isfile(init):
        return "0"
    with open(init) as f:
        found = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", f.read(), re.M)
    return found.group(1) if found else "0"


def reference_delta(q, k, v, beta, g, scale, steps):
    """o of docs/semantics.md §7.1 (l2norm_qk, zero S_0) in float32, step by
    step, over the first `steps` steps of batch 0; q, k, v [B, H, T, D],
    beta and g [B, H, T] (g None: no decay). Returns [1, H, steps, Dv]."""
    import torch
    q, k, v = (x[:1, :, :steps].float() for x in (q, k, v))
    beta = beta[:1, :, :steps].float()
    q = q / torch.sqrt((q * q).sum(-1, keepdim=True) + 1e-6)
    k = k / torch.sqrt((k * k).sum(-1, keepdim=True) + 1e-6)
    b, h, t, dk = k.shape
    state = torch.zeros(b, h, dk, v.shape[-1], device=q.device)
    outs = []
    for s in range(t):
        if g is not None:
            state = torch.exp(g[:1, :, s].float())[..., None, None] * state
        ks = k[:, :, s]
        read = torch.einsum("bhk,bhkv->bhv", ks, state)
        write = beta[:, :, s, None] * (v[:, :, s] - read)
        state = state + ks[..., :, None] * write[..., None, :]
        outs.append(torch.einsum("bhk,bhkv->bhv", scale * q[:, :, s], state))
    return torch.stack(outs, dim=2)


def main(argv=None):
    args = parse_args(argv)
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
    import flashgen  # noqa: E402
    from bench import rel_err, time_ms  # noqa: E402

    torch.manual_seed(0)
    dev = torch.device("cuda")
    bf16 = torch.bfloat16

    fla, fla_import = {}, None
    if args.peers:
        try:
            delta, gated, fla_import = load_fla(args.peers)
            fla = {"delta": delta, "gated_delta": gated}
            print("fla imported:", fla_import, flush=True)
        except Exception as error:  # noqa: BLE001
            fla_import = "unavailable: " + repr(error)[:400]
            print("fla", fla_import, flush=True)
    else:
        fla_import = "unavailable: no --peers"

    kernels = {}  # spec -> kernel, or the error loading it
    rows = []
    shapes = SHAPES[:1] if args.quick else SHAPES
    for heads, dk, dv, t in shapes:
        batch = TOKENS // t
        scale = dk ** -0.5
        # fla's layout, contiguous [B, T, H, D]; flashgen reads the views.
        qf = torch.randn(batch, t, heads, dk, device=dev, dtype=bf16)
        kf = torch.randn(batch, t, heads, dk, device=dev, dtype=bf16)
        vf = torch.randn(batch, t, heads, dv, device=dev, dtype=bf16)
        betaf = torch.sigmoid(torch.randn(batch, t, heads, device=dev)).to(bf16)
        gf = F.logsigmoid(torch.randn(batch, t, heads, device=dev)) / 16
        views = [x.transpose(1, 2) for x in (qf, kf, vf, betaf, gf)]
        o = torch.empty(batch, heads, t, dv, device=dev, dtype=bf16)
        for gate in GATES:
            gated = gate == "gated_delta"
            spec = f"{gate}_h{heads}_k{dk}_v{dv}"
            row = {"spec": spec, "gate": gate, "heads": heads, "dk": dk, "dv": dv, "T": t,
                   "batch": batch}
            fla_name = FLA_NAMES[gate]
            row["peer"] = fla_name

            # fla's o, the check's reference where it ran.
            fla_fn, ref = None, None
            if gate in fla:
                def fla_fn(fn=fla[gate], gated=gated):
                    with torch.no_grad():
                        extra = (gf,) if gated else ()
                        return fn(qf, kf, vf, *extra, betaf, scale=scale, output_final_state=False,
                                  use_qk_l2norm_in_kernel=True)[0]
                try:
                    ref = fla_fn().transpose(1, 2)  # [B, H, T, Dv] view
                    torch.cuda.synchronize()
                    if torch.isnan(ref).any():
                        row["fla_error"] = "NaN in fla's o"
                        ref = None
                except Exception as error:  # noqa: BLE001
                    row["fla_error"] = repr(error)[:300]
                    fla_fn, ref = None, None
            else:
                row["fla_error"] = fla_import
            steps = min(t, REF_STEPS)
            step_ref = reference_delta(*views[:4], views[4] if gated else None, scale, steps)
            if ref is not None:
                row["fla_ref_err"] = rel_err(ref[:1, :, :steps], step_ref)

            path = os.path.join(args.bundles, spec)
            if spec not in kernels:
                if not os.path.isdir(path):
                    kernels[spec] = f"no bundle {path}"
                else:
                    try:
                        kernels[spec] = flashgen.load(path).kernel(spec)
                    except Exception as error:  # noqa: BLE001
                        kernels[spec] = "loading the bundle: " + repr(error)[:300]
            kern = kernels[spec]
            if isinstance(kern, str):
                print(f"{spec} (T={t}): skipped: {kern}", flush=True)
                row["status"] = "skipped: " + kern
            else:
                row["params"] = [p["name"] for p in kern.params]
                inputs = views[:4] + ([views[4]] if gated else [])
                row["flashgen_inputs"] = "strided [B, T, H, D] views"
                if args.copies:
                    inputs = [x.contiguous() for x in inputs]
                    row["flashgen_inputs"] = "contiguous copies (--copies)"

                def run():
                    kern(*inputs, o)
                try:
                    try:
                        row["default_variant"] = kern.variant_for(*inputs, o)
                    except Exception:  # noqa: BLE001
                        pass
                    kern.select_variant(0)
                    try:
                        o.fill_(float("nan"))
                        run()
                        torch.cuda.synchronize()
                    except flashgen.FlashgenError as error:
                        row["flashgen_inputs"] = ("contiguous copies (strided views refused: "
                                                  f"{str(error)[:200]})")
                        inputs = [x.contiguous() for x in inputs]
                    variant_err, variant_ms = {}, {}
                    for variant in range(kern.num_variants):
                        kern.select_variant(variant)
                        o.fill_(float("nan"))
                        run()
                        torch.cuda.synchronize()
                        if torch.isnan(o).any():
                            err = float("nan")
                        elif ref is not None:
                            err = rel_err(o, ref)
                        else:
                            err = rel_err(o[:1, :, :steps], step_ref)
                        if variant == 0:
                            row["ref_err"] = rel_err(o[:1, :, :steps], step_ref)
                        variant_err[variant] = err
                        variant_ms[variant] = time_ms(run)
                    kern.select_variant(0)
                    row["checked_against"] = (fla_name if ref is not None else
                                              f"f32 recurrence, first {steps} steps of batch 0")
                    row["rel_err"] = variant_err[0]
                    row["variant_rel_err"] = variant_err
                    row["variant_ms"] = variant_ms
                    row["flashgen_ms"] = variant_ms[0]
                    good = [v for v in variant_ms if variant_err[v] < TOL]  # NaN fails
                    if good:
                        row["best_variant"] = min(good, key=variant_ms.get)
                        row["best_ms"] = variant_ms[row["best_variant"]]
                    failed = [v for v in variant_ms if v not in good]
                    if 0 in failed:
                        row["status"] = (f"FAILED: v0 rel err {variant_err[0]:.2e} "
                                         f"against {row['checked_against']} (limit {TOL:g})")
                    else:
                        row["status"] = "ok"
                    if failed:
                        row["failed_variants"] = failed
                except Exception as error:  # noqa: BLE001
                    row["flashgen_error"] = repr(error)[:300]
                    row["status"] = "FAILED: " + repr(error)[:120]
            if fla_fn is not None:
                try:
                    row["fla_ms"] = time_ms(fla_fn)
                    if row.get("flashgen_ms"):
                        row["speedup"] = row["fla_ms"] / row["flashgen_ms"]
                except Exception as error:  # noqa: BLE001
                    row["fla_error"] = repr(error)[:300]
            rows.append(row)
            print(json.dumps(row), flush=True)
            del ref, step_ref
        del qf, kf, vf, betaf, gf, views, o
        torch.cuda.empty_cache()

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "linear-delta-results.json"), "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "fla_import": fla_import,
                   "tolerance": TOL, "rows": rows}, f, indent=1)
    print_table(rows, fla_import)
    return 1 if any(r["status"].startswith("FAILED") for r in rows) else 0


def print_table(rows, fla_import):
    def ms(value):
        return f"{value:8.3f}" if isinstance(value, float) else "       -"

    if fla_import.startswith("unavailable"):
        print(f"fla {fla_import[:300]}")
    print(f"{'spec':<26}{'B':>4}{'H':>4}{'T':>7} {'v0 ms':>8} {'best ms(var)':>13} {'fla ms':>8}"
          f" {'fla/v0':>6} {'rel err':>8}  status")
    for r in rows:
        best = (f"{r['best_ms']:8.3f}({r['best_variant']:>2})" if "best_ms" in r
                else "            -")
        speedup = f"{r['speedup']:6.2f}" if "speedup" in r else "     -"
        err = f"{r['rel_err']:8.1e}" if isinstance(r.get("rel_err"), float) else "       -"
        print(f"{r['spec']:<26}{r['batch']:>4}{r['heads']:>4}{r['T']:>7} {ms(r.get('flashgen_ms'))}"
              f" {best:>13} {ms(r.get('fla_ms'))} {speedup} {err}  {r['status']}")
        if "fla_error" in r and r["fla_error"] != fla_import:
            print(f"    fla: {r['fla_error'][:160]}")


if __name__ == "__main__":
    sys.exit(main())
