#!/usr/bin/env python3
"""Gated linear recurrences, forward, on the anchor shapes of
../shared/anchors/README.md (65,536 tokens: 16 heads 128/128 at T=4096 and
16384; 8 heads 256/512 at T=8192): flashgen's decay, vector (GLA),
mlstm_exp and mlstm_sig kernels against flash-linear-attention's
chunk_simple_gla and chunk_gla and TFLA's mlstm_chunkwise__xl_chunk /
mlstm_siging_chunkwise__xl_chunk, in one process.

The peers' sources are not part of this repository: pass --peers with a folder
holding the `fla` and `mlstm_kernels` packages (fetched, never committed).

    python3 bench/linear/bench.py --bundles DIR --peers DIR --out $OUT

Each flashgen kernel is first checked against the peer computing the same
function where one exists (decay vs chunk_simple_gla; vector vs chunk_gla;
mlstm_sig vs TFLA
mLSTMsig with normalisation), else against a float32 chunk of the recurrence.
Reports ms of v0 (the compiler's first choice, the headline) and of the
best ranked variant, each peer's time over v0's, and v0 over the roofline
floor: reading q, k, v, gates and writing o once at the device-to-device
copy bandwidth measured at the start of the same run (a 2 GiB bf16
dst.copy_(src), GB/s = 2 x bytes / time).
"""

import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, os.path.join(HERE, ".."))
import flashgen  # noqa: E402
from copy_bandwidth import measure_copy  # noqa: E402
from triton.testing import do_bench  # noqa: E402

TOKENS = 65536
SHAPES = [(16, 128, 128, 4096), (8, 256, 512, 8192), (16, 128, 128, 16384)]


def time_ms(fn):
    return do_bench(fn, warmup=25, rep=100, return_mode="median")


def rel_err(out, ref):
    out, ref = out.float(), ref.float()
    if torch.isnan(out).any():
        return float("nan")
    return ((out - ref).norm() / ref.norm()).item()


def reference_recurrence(q, k, v, gate, i=None, f=None, g=None, steps=256):
    """Float32 step-by-step recurrence over the first `steps` steps of batch 0
    (docs/semantics.md), to check kernels that have no peer."""
    q, k, v = (x[:1, :, :steps].float() for x in (q, k, v))
    b, h, t, dk = q.shape
    dv = v.shape[-1]
    scale = dk ** -0.5
    c = torch.zeros(b, h, dk, dv, device=q.device)
    n = torch.zeros(b, h, dk, device=q.device)
    m = torch.zeros(b, h, device=q.device)
    outs = []
    for s in range(t):
        qs, ks, vs = q[:, :, s] * scale, k[:, :, s], v[:, :, s]
        if gate in ("decay", "vector"):
            a = torch.exp(g[:1, :, s].float())  # [1, H] or, vector, [1, H, Dk]
            a = a[..., :, None] if gate == "vector" else a[..., None, None]
            c = a * c + ks[..., :, None] * vs[..., None, :]
            outs.append(torch.einsum("bhk,bhkv->bhv", qs, c))
            continue
        ig, fg = i[:1, :, s].float(), f[:1, :, s].float()
        if gate == "mlstm_exp":
            lf = F.logsigmoid(fg)
            m_new = torch.maximum(lf + m, ig)
            a, bb = torch.exp(lf + m - m_new), torch.exp(ig - m_new)
            m = m_new
            floor = torch.exp(-m)
        else:
            a, bb = torch.sigmoid(fg), torch.sigmoid(ig)
            floor = torch.ones_like(a)
        c = a[..., None, None] * c + bb[..., None, None] * ks[..., :, None] * vs[..., None, :]
        n = a[..., None] * n + bb[..., None] * ks
        num = torch.einsum("bhk,bhkv->bhv", qs, c)
        den = torch.maximum(torch.einsum("bhk,bhk->bh", qs, n).abs(), floor) + 1e-6
        outs.append(num / den[..., None])
    return torch.stack(outs, dim=2)


def isolated_tfla_exp(peers, heads, dk, dv, t):
    """Times TFLA's mlstm_chunkwise__xl_chunk in a child process, so that its
    abort does not end this benchmark; returns ms or the way it failed."""
    import subprocess
    code = f"""
import sys, torch
sys.path.insert(0, {peers!r})
from triton.testing import do_bench
from mlstm_kernels.torch.chunkwise.triton_xl_chunk import mlstm_chunkwise__xl_chunk as f
B = {TOKENS} // {t}
q = torch.randn(B, {heads}, {t}, {dk}, device='cuda', dtype=torch.bfloat16)
k = torch.randn_like(q)
v = torch.randn(B, {heads}, {t}, {dv}, device='cuda', dtype=torch.bfloat16)
i = torch.randn(B, {heads}, {t}, device='cuda', dtype=torch.bfloat16)
fg = 3.0 + torch.randn_like(i)
print('MS', do_bench(lambda: f(q=q, k=k, v=v, i=i, f=fg, chunk_size=128), return_mode='median'))
"""
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "timed out after 300 s"
    for line in done.stdout.splitlines():
        if line.startswith("MS "):
            return float(line.split()[1])
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return f"crashed (exit {done.returncode}): {tail[:160]}"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundles", required=True)
    parser.add_argument("--peers", default=None)
    parser.add_argument("--out", default=".")
    parser.add_argument("--gates", default="decay,vector,mlstm_exp,mlstm_sig",
                        help="comma-separated gates to run (default: all four)")
    parser.add_argument("--shapes", default=None,
                        help="comma-separated HEADSxDKxDVxT shapes of SHAPES to run, e.g. 8x256x512x8192 "
                             "(default: all)")
    args = parser.parse_args()
    gate_names = args.gates.split(",")
    shapes = SHAPES if args.shapes is None else [
        tuple(int(x) for x in shape.split("x")) for shape in args.shapes.split(",")]
    torch.manual_seed(0)
    dev = torch.device("cuda")

    chunk_simple_gla = chunk_gla = tfla_exp = tfla_sig = None
    if args.peers:
        sys.path.insert(0, args.peers)
        try:
            from fla.ops.simple_gla import chunk_simple_gla  # noqa: F811
            from fla.ops.gla import chunk_gla  # noqa: F811
        except Exception as error:  # noqa: BLE001
            print("fla unavailable:", repr(error)[:300])
        try:
            from mlstm_kernels.torch.chunkwise.triton_xl_chunk import mlstm_chunkwise__xl_chunk as tfla_exp  # noqa: F811
            from mlstm_kernels.torch.chunkwise.triton_xl_chunk_siging import mlstm_siging_chunkwise__xl_chunk as tfla_sig  # noqa: F811
        except Exception as error:  # noqa: BLE001
            print("mlstm_kernels unavailable:", repr(error)[:300])

    copy = measure_copy(time_ms)[0]
    print(f"device-to-device copy: {copy:.0f} GB/s (the floors' bandwidth)", flush=True)
    rows = []
    for heads, dk, dv, t in shapes:
        batch = TOKENS // t
        q = torch.randn(batch, heads, t, dk, device=dev, dtype=torch.bfloat16)
        k = torch.randn(batch, heads, t, dk, device=dev, dtype=torch.bfloat16)
        v = torch.randn(batch, heads, t, dv, device=dev, dtype=torch.bfloat16)
        ig = torch.randn(batch, heads, t, device=dev, dtype=torch.float32)
        fg = 3.0 + torch.randn(batch, heads, t, device=dev, dtype=torch.float32)
        g = F.logsigmoid(fg)  # a log-decay in (-inf, 0)
        gv = F.logsigmoid(3.0 + torch.randn(batch, heads, t, dk, device=dev))  # one a key dim
        o = torch.empty(batch, heads, t, dv, device=dev, dtype=torch.bfloat16)

        def floor_ms(gate_elements):  # q, k, v, o in bf16 and the gates in f32, once
            io_bytes = 2 * (q.numel() + k.numel() + 2 * v.numel()) + 4 * gate_elements
            return io_bytes / (copy * 1e9) * 1e3
        peers = {}
        if chunk_simple_gla is not None:
            qt, kt, vt = (x.transpose(1, 2).contiguous() for x in (q, k, v))
            gt = g.transpose(1, 2).contiguous()
            peers["decay"] = ("fla_chunk_simple_gla",
                              lambda: chunk_simple_gla(qt, kt, vt, g=gt)[0].transpose(1, 2))
        if chunk_gla is not None:
            gvt = gv.transpose(1, 2).contiguous()
            peers["vector"] = ("fla_chunk_gla",
                               lambda: chunk_gla(qt, kt, vt, g=gvt)[0].transpose(1, 2))
        if tfla_sig is not None:
            igb, fgb = ig.to(torch.bfloat16), fg.to(torch.bfloat16)
            peers["mlstm_sig"] = ("tfla_mlstm_sig_c128",
                                  lambda: tfla_sig(q=q, k=k, v=v, i=igb, f=fgb, chunk_size=128, normalize=True))
            # TFLA's mLSTMexp kernel aborts the process inside Triton/LLVM on
            # this Triton (anchors: "crashed"); it runs in a child process.
        for gate in gate_names:
            spec = f"{gate}_h{heads}_k{dk}_v{dv}"
            row = {"gate": gate, "heads": heads, "dk": dk, "dv": dv, "T": t, "batch": batch,
                   "floor_ms": floor_ms(gv.numel() if gate == "vector" else 2 * g.numel()
                                        if gate.startswith("mlstm") else g.numel())}
            try:
                kern = flashgen.load(os.path.join(args.bundles, spec)).kernel(spec)
                gates = (g,) if gate == "decay" else (gv,) if gate == "vector" else (ig, fg)

                def run():
                    kern(q, k, v, *gates, o)
                o.fill_(float("nan"))
                run()
                torch.cuda.synchronize()
                ref = None
                if gate in peers:
                    try:
                        ref = peers[gate][1]()
                        row["checked_against"] = peers[gate][0]
                    except Exception as error:  # noqa: BLE001
                        row[peers[gate][0] + "_error"] = repr(error)[:200]
                if ref is None:
                    steps = min(t, 256)
                    ref = reference_recurrence(q, k, v, gate, i=ig, f=fg,
                                               g=gv if gate == "vector" else g, steps=steps)
                    row["checked_against"] = f"f32 recurrence, first {steps} steps"
                    row["rel_err"] = rel_err(o[:1, :, :steps], ref)
                else:
                    row["rel_err"] = rel_err(o, ref)
                variant_ms = {}
                for variant in range(kern.num_variants):
                    kern.select_variant(variant)
                    variant_ms[variant] = time_ms(run)
                kern.select_variant(0)
                row["variant_ms"] = variant_ms
                row["flashgen_ms"] = variant_ms[0]
                row["best_variant"] = min(variant_ms, key=variant_ms.get)
                row["best_ms"] = variant_ms[row["best_variant"]]
            except Exception as error:  # noqa: BLE001
                row["flashgen_error"] = repr(error)[:300]
            if gate in peers:
                name, fn = peers[gate]
                try:
                    row[name + "_ms"] = time_ms(fn)
                except Exception as error:  # noqa: BLE001
                    row[name + "_error"] = repr(error)[:200]
            if gate == "mlstm_exp" and args.peers:
                row["tfla_mlstm_exp_c128"] = isolated_tfla_exp(args.peers, heads, dk, dv, t)
            if gate == "mlstm_sig" and chunk_simple_gla is not None and "decay" in peers:
                # fla's simple-GLA is the anchor table's fastest peer overall.
                row["fla_chunk_simple_gla_ms"] = time_ms(peers["decay"][1])
            rows.append(row)
            print(json.dumps(row), flush=True)
        del q, k, v, o
        torch.cuda.empty_cache()

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "linear-results.json"), "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "copy_bandwidth_gbs": copy,
                   "rows": rows}, f, indent=1)
    def ms(value):
        return f"{value:8.3f}" if isinstance(value, float) else "       -"

    print(f"{'gate':<10}{'H':>3}{'dk':>5}{'dv':>5}{'T':>7} {'err':>8} {'v0 ms':>8} {'best':>8} {'floor':>8}"
          f" {'fla':>8} {'TFLA sig':>8} {'TFLA exp':>8}  {'vs fla':>6} {'vs TFLA':>7} {'/floor':>6}")
    for r in rows:
        v0, best = r.get("flashgen_ms"), r.get("best_ms")
        fla = r.get("fla_chunk_gla_ms") if r["gate"] == "vector" else r.get("fla_chunk_simple_gla_ms")
        tfla = r.get("tfla_mlstm_sig_c128_ms") if r["gate"] == "mlstm_sig" else r.get("tfla_mlstm_exp_c128")
        exp_text = r.get("tfla_mlstm_exp_c128")

        def ratio(peer):  # the peer's time over v0's
            return f"{peer / v0:6.2f}" if isinstance(peer, float) and v0 else "     -"
        print(f"{r['gate']:<10}{r['heads']:>3}{r['dk']:>5}{r['dv']:>5}{r['T']:>7} "
              f"{r.get('rel_err', float('nan')):8.1e} {ms(r.get('flashgen_ms'))} {ms(best)} {ms(r['floor_ms'])}"
              f" {ms(fla)} {ms(r.get('tfla_mlstm_sig_c128_ms'))} {ms(exp_text if isinstance(exp_text, float) else None)}"
              f"  {ratio(fla)} {ratio(tfla):>7} {(v0 / r['floor_ms']) if v0 else float('nan'):6.2f}")
        if isinstance(exp_text, str):
            print(f"    TFLA mLSTMexp: {exp_text}")


if __name__ == "__main__":
    main()
