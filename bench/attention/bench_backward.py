#!/usr/bin/env python3
"""Attention forward+backward benchmark: flashgen's kernels through
flashgen.torch (kernel X and X_backward of a bundle compiled with `flashgen
compile --backward`) against PyTorch SDPA's cuDNN and FlashAttention-2
backends and FlexAttention (torch.compile'd; the only peer for the softcap
and ALiBi+causal score mods), same inputs, same process.

Shapes (16,384 tokens per batch, B = 16384 / N): d=128 with 16 heads at N =
2048, 4096, 8192, 16384; d=64 with 32 heads and d=256 with 8 heads at N =
2048, 8192, 16384; causal and not; GQA 48/8 causal, softcap 30*tanh(s/30)
and ALiBi+causal at d=128, N = 2048 and 8192. --quick keeps N = 2048 and
8192.

For every implementation three times are taken, each the median over
--iters launches measured with CUDA events after --warmup launches, cycling
over ROTATE input sets (the working set must not sit in L2):

- fwd:     o = attn(q, k, v) with q, k, v requiring grad (training forward);
- fwd+bwd: o = attn(q, k, v); torch.autograd.grad(o, (q, k, v), do);
- bwd:     torch.autograd.grad(o, (q, k, v), do, retain_graph=True) over a
           graph built before timing (where an implementation refuses to
           re-run its graph, bwd = fwd+bwd - fwd and the row says so).

FLOPs (the FlashAttention convention): forward 4*B*H*N^2*D, backward 2.5x
that, forward+backward 3.5x; causal halves each. The headline is variant 0
of the flashgen kernels (the compiler's own first choice; the runtime
launches variant 0 unless told otherwise); the backward kernel's other ranked
variants are timed too (bwd alone, forward at variant 0) and the fastest is
reported beside it.

Every flashgen row is first checked against an f32 autograd reference (an
explicit softmax over a slice of heads of batch 0: o, dq, dk, dv relative
errors); the peers' errors on the same slice are recorded beside it. A
flashgen kernel that disagrees (max error >= --tol) is reported WRONG and not
timed. A peer that fails on a shape (cuDNN's d=256 backward, Flex running out
of shared memory) is reported missing; the script goes on.

On the GPU machine (bundles from `FLASHGEN_BACKWARD=1 bench/prepare-bench.sh
DIR`):

    python3 bench/attention/bench_backward.py --bundles DIR --out $OUT

writes $OUT/attention-backward-results.json (rewritten after every row, so
a run cut short keeps its rows) and $OUT/attention-backward.png (where
matplotlib is present), and prints the table; `bench/attention/table.py
$OUT/attention-backward-results.json` prints it as markdown.

    python3 bench/attention/bench_backward.py --cpu-smoke --out /tmp/bwd

runs the same code on the CPU at tiny sizes, without GPU or runtime library:
flashgen's op is a float64 test double (AttentionOp._register_test_double)
on a manifest-only bundle, the only peer is an explicit-softmax "math"
attention. It checks the script, not the kernels.
"""

import argparse
import collections
import json
import math
import os
import statistics
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
from bench import (TOKENS, alibi_mod, flops, rel_err,  # noqa: E402
                   rotating, softcap_mod)
import flashgen.torch  # noqa: E402

ROTATE = 3
BACKWARD_FACTOR = 2.5  # backward FLOPs per forward FLOP (fwd+bwd = 3.5x)
MODES = (("fwd", 1.0), ("bwd", BACKWARD_FACTOR), ("fwdbwd", 1.0 + BACKWARD_FACTOR))
PEERS = ("cudnn", "fa2", "flex")
RESULTS = "attention-backward-results.json"

# dv: the value head dim where it differs from d (MLA's 192 / 128), else None.
Shape = collections.namedtuple(
    "Shape", "spec d heads kv_heads n batch causal mod dv", defaults=(None,))


def value_dim(shape):
    return shape.dv or shape.d


def backward_shapes(quick):
    shapes = []
    for d, heads in ((128, 16), (64, 32), (256, 8)):
        ns = (2048, 4096, 8192, 16384) if d == 128 else (2048, 8192, 16384)
        for n in ns:
            for causal in (False, True):
                spec = f"mha_d{d}" + ("_causal" if causal else "")
                shapes.append(Shape(spec, d, heads, heads, n, TOKENS // n, causal, None))
    for n in (2048, 8192):
        shapes.append(Shape("gqa48_d128_causal", 128, 48, 8, n, TOKENS // n, True, None))
    for n in (2048, 8192):
        shapes.append(Shape("softcap", 128, 16, 16, n, TOKENS // n, False, "softcap"))
        shapes.append(Shape("alibi_causal", 128, 16, 16, n, TOKENS // n, True, "alibi"))
    # MLA's prefill with the latent projections expanded (queries and keys
    # of 192, values of 128): FA2 needs equal head dims.
    for n in (2048, 8192):
        shapes.append(Shape("mla_192_128_causal", 192, 16, 16, n, TOKENS // n, True, None, 128))
    if quick:
        shapes = [s for s in shapes if s.n in (2048, 8192)]
    return shapes


def smoke_shapes():
    """--cpu-smoke: tiny shapes covering causal, GQA and both score mods."""
    return [Shape("smoke_mha", 16, 4, 4, 64, 2, False, None),
            Shape("smoke_gqa_causal", 16, 4, 2, 48, 2, True, None),
            Shape("smoke_softcap", 16, 4, 4, 40, 1, False, "softcap"),
            Shape("smoke_alibi_causal", 16, 4, 4, 40, 1, True, "alibi")]


# -- the f32 reference ------------------------------------------------------

def explicit_attention(q, k, v, causal, mod, heads_total, scale=None):
    """Attention with an explicit softmax, in q's dtype: q [B, Hq, N, D],
    k/v [B, Hkv, M, D]; head h of the slice is head h of the model (ALiBi's
    slope takes ``heads_total``); the causal mask is bottom-right aligned."""
    group = q.shape[1] // k.shape[1]
    if group > 1:
        k = k.repeat_interleave(group, 1)
        v = v.repeat_interleave(group, 1)
    scale = scale if scale is not None else 1.0 / math.sqrt(q.shape[-1])
    s = torch.matmul(q, k.transpose(-1, -2)) * scale
    n, m = q.shape[2], k.shape[2]
    i = torch.arange(n, device=q.device)[:, None] + (m - n)
    j = torch.arange(m, device=q.device)[None, :]
    if mod == "softcap":
        s = 30.0 * torch.tanh(s / 30.0)
    elif mod == "alibi":
        h = torch.arange(q.shape[1], device=q.device, dtype=s.dtype)
        slope = torch.exp2(-8.0 * (h + 1) / heads_total)
        s = s + slope[:, None, None] * (j - i).to(s.dtype)
    if causal:
        s = s.masked_fill(j > i, float("-inf"))
    return torch.matmul(torch.softmax(s, dim=-1), v)


def check_slice(shape, check_heads):
    """(q heads, kv heads) of batch 0 the reference covers: whole GQA groups."""
    group = shape.heads // shape.kv_heads
    kv = 1 if group > 1 else min(check_heads, shape.kv_heads)
    return kv * group, kv


def reference(q, k, v, do, shape, qh, kvh):
    """f32 o, dq, dk, dv over batch 0, q heads [0, qh), kv heads [0, kvh)."""
    leaves = [t[:1, :h].detach().float().requires_grad_()
              for t, h in ((q, qh), (k, kvh), (v, kvh))]
    o = explicit_attention(*leaves, shape.causal, shape.mod, shape.heads)
    grads = torch.autograd.grad(o, leaves, do[:1, :qh].float())
    return (o.detach(),) + tuple(grads)


def errors(outs, ref, qh, kvh, group_expanded):
    """Relative errors of (o, dq, dk, dv) on the reference's slice; dk and dv
    of an implementation given K/V expanded to every query head are summed
    over each group first."""
    o, dq, dk, dv = outs
    if group_expanded > 1:
        dk, dv = (t[:1, :qh].unflatten(1, (kvh, group_expanded)).sum(2)
                  for t in (dk, dv))
    got = (o[:1, :qh], dq[:1, :qh], dk[:1, :kvh], dv[:1, :kvh])
    return {name: rel_err(g, r) for name, g, r in zip(("o", "dq", "dk", "dv"), got, ref)}


# -- timing ------------------------------------------------------------------

def time_ms(fn, warmup, iters, device):
    """Median of ``iters`` launches of ``fn`` after ``warmup``, each timed
    with its own pair of CUDA events (perf_counter on the CPU)."""
    for _ in range(warmup):
        fn()
    if device.type != "cuda":
        times = []
        for _ in range(iters):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
        return statistics.median(times)
    torch.cuda.synchronize()
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
              for _ in range(iters)]
    for start, end in events:
        start.record()
        fn()
        end.record()
    torch.cuda.synchronize()
    return statistics.median(start.elapsed_time(end) for start, end in events)


def time_impl(attend, sets, warmup, iters, device):
    """{'fwd', 'fwdbwd', 'bwd'} ms of ``attend(q, k, v) -> o`` over the
    rotating (q, k, v, do) sets, and whether bwd was derived."""
    pick = rotating(sets)
    result = {}

    def fwd():
        q, k, v, _ = pick()
        attend(q, k, v)

    def fwdbwd():
        q, k, v, do = pick()
        torch.autograd.grad(attend(q, k, v), (q, k, v), do)
    result["fwd"] = time_ms(fwd, warmup, iters, device)
    result["fwdbwd"] = time_ms(fwdbwd, warmup, iters, device)
    derived = False
    try:
        graphs = [(attend(q, k, v), (q, k, v), do) for q, k, v, do in sets]
        pick_graph = rotating(graphs)

        def bwd():
            o, inputs, do = pick_graph()
            torch.autograd.grad(o, inputs, do, retain_graph=True)
        result["bwd"] = time_ms(bwd, warmup, iters, device)
        del graphs
    except Exception as error:  # noqa: BLE001
        print(f"    bwd over a retained graph failed ({type(error).__name__}: "
              f"{str(error).splitlines()[0] if str(error) else ''}); bwd = fwd+bwd - fwd")
        result["bwd"] = max(result["fwdbwd"] - result["fwd"], 0.0) or None
        derived = True
    return result, derived


def time_backward_only(attend, sets, warmup, iters, device):
    graphs = [(attend(q, k, v), (q, k, v), do) for q, k, v, do in sets]
    pick_graph = rotating(graphs)

    def bwd():
        o, inputs, do = pick_graph()
        torch.autograd.grad(o, inputs, do, retain_graph=True)
    return time_ms(bwd, warmup, iters, device)


# -- implementations ---------------------------------------------------------

def sdpa_peer(backend, causal):
    import torch.nn.functional as F
    from torch.nn.attention import sdpa_kernel

    def attend(q, k, v):
        with sdpa_kernel(backend):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    return attend


def flex_peer(flex, create_block_mask, shape, device):
    block_mask = None
    if shape.causal:
        block_mask = create_block_mask(lambda b, h, qi, ki: qi >= ki, None, None,
                                       shape.n, shape.n, device=device.type)
    score_mod = (softcap_mod if shape.mod == "softcap"
                 else alibi_mod(shape.heads) if shape.mod == "alibi" else None)
    gqa = shape.kv_heads != shape.heads

    def attend(q, k, v):
        return flex(q, k, v, score_mod=score_mod, block_mask=block_mask, enable_gqa=gqa)
    return attend


def first_line(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


def run_row(shape, args, device, dtype, flashgen_op, peers, flex_setup):
    """One shape: correctness of every implementation on sets[0], then times."""
    dv = value_dim(shape)
    row = {"spec": shape.spec, "d": shape.d, "dv": dv, "heads": shape.heads,
           "kv_heads": shape.kv_heads, "n": shape.n, "batch": shape.batch,
           "causal": shape.causal, "mod": shape.mod or "none", "missing": {}}
    fl = flops(shape.batch, shape.heads, shape.n, shape.d, dv, shape.causal)
    row["fwd_flops"] = fl
    group = shape.heads // shape.kv_heads

    def randn(h, dim=shape.d):
        return torch.randn(shape.batch, h, shape.n, dim, device=device, dtype=dtype)
    raw = [(randn(shape.heads), randn(shape.kv_heads), randn(shape.kv_heads, dv), randn(shape.heads, dv))
           for _ in range(ROTATE)]

    def leaves(expand):
        out = []
        for q, k, v, do in raw:
            if expand and group > 1:
                k, v = k.repeat_interleave(group, 1), v.repeat_interleave(group, 1)
            out.append(tuple(t.detach().clone().requires_grad_() for t in (q, k, v))
                       + (do,))
        return out

    qh, kvh = check_slice(shape, args.check_heads)
    q0, k0, v0, do0 = raw[0]
    ref = reference(q0, k0, v0, do0, shape, qh, kvh)
    if device.type == "cuda":
        torch.cuda.synchronize()

    impls = []  # (key, attend, expanded K/V)
    if flashgen_op is not None:
        impls.append(("flashgen", flashgen_op, False))
    for key, make in peers.items():
        if key == "flex":
            continue
        impls.append((key, make, True))
    if flex_setup is not None and "flex" in peers:
        try:
            impls.append(("flex", flex_setup(shape), False))
        except Exception as error:  # noqa: BLE001
            row["missing"]["flex"] = first_line(error)
    row["err"] = {}
    for key, attend, expanded in impls:
        sets = leaves(expanded)
        try:
            q, k, v, do = sets[0]
            o = attend(q, k, v)
            grads = torch.autograd.grad(o, (q, k, v), do)
            if device.type == "cuda":
                torch.cuda.synchronize()
            err = errors((o,) + tuple(grads), ref, qh, kvh, group if expanded else 1)
            del o, grads
            row["err"][key] = err
            worst = max(err.values())
            if key == "flashgen" and not worst < args.tol:  # NaN fails too
                print(f"WRONG {shape.spec} N={shape.n}: flashgen errors "
                      + ", ".join(f"{n} {e:.1e}" for n, e in err.items()))
                row["wrong"] = True
                continue
            times, derived = time_impl(attend, sets, args.warmup, args.iters, device)
            if derived:
                row[f"{key}_bwd_derived"] = True
            for mode, factor in MODES:
                ms = times.get(mode)
                row[f"{key}_{mode}_ms"] = ms
                if ms:
                    row[f"{key}_{mode}_tflops"] = fl * factor / (ms * 1e-3) / 1e12
            if key == "flashgen" and args.variants:
                time_backward_variants(row, shape, attend, sets, ref, qh, kvh, args, device, fl)
        except Exception as error:  # noqa: BLE001
            row["missing"][key] = first_line(error)
            print(f"    {key} failed for {shape.spec} N={shape.n}: {first_line(error)}")
        finally:
            del sets
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return row


def time_backward_variants(row, shape, attend, sets, ref, qh, kvh, args, device, fl):
    """Every variant of X_backward, backward alone (the forward at its
    variant 0); a variant that disagrees with the reference is dropped."""
    kern = getattr(attend, "_backward_kernel", lambda: None)()
    if kern is None or kern.num_variants <= 1:
        if row.get("flashgen_bwd_ms"):
            row["bwd_variant_ms"] = {0: row["flashgen_bwd_ms"]}
            row["best_bwd_variant"], row["best_bwd_ms"] = 0, row["flashgen_bwd_ms"]
            row["best_bwd_tflops"] = row.get("flashgen_bwd_tflops")
        return
    variant_ms = {0: row["flashgen_bwd_ms"]} if row.get("flashgen_bwd_ms") else {}
    try:
        for variant in range(1, kern.num_variants):
            kern.select_variant(variant)
            q, k, v, do = sets[0]
            o = attend(q, k, v)
            grads = torch.autograd.grad(o, (q, k, v), do)
            err = errors((o,) + tuple(grads), ref, qh, kvh, 1)
            del o, grads
            if not max(err.values()) < args.tol:
                print(f"    backward variant {variant} of {shape.spec} disagrees at "
                      f"N={shape.n}: " + ", ".join(f"{n} {e:.1e}" for n, e in err.items()))
                continue
            variant_ms[variant] = time_backward_only(attend, sets, args.warmup, args.iters, device)
    finally:
        kern.select_variant(0)
    row["bwd_variant_ms"] = variant_ms
    if variant_ms:
        best = min(variant_ms, key=variant_ms.get)
        row["best_bwd_variant"], row["best_bwd_ms"] = best, variant_ms[best]
        row["best_bwd_tflops"] = fl * BACKWARD_FACTOR / (variant_ms[best] * 1e-3) / 1e12


class FlashgenAttend:
    """attn(q, k, v) of a registered AttentionOp, with access to its backward
    kernel object (for variant selection)."""

    def __init__(self, op, device):
        self.op, self.device = op, device

    def __call__(self, q, k, v):
        return self.op(q, k, v)

    def _backward_kernel(self):
        if self.device.type != "cuda":
            return None
        return self.op._kernel_for(self.op.name + "_backward", self.device)


def register_flashgen(bundles, spec, device, notes):
    path = os.path.join(bundles, spec)
    if not os.path.isfile(os.path.join(path, "manifest.json")):
        notes[spec] = f"no bundle {path}"
        return None
    op = flashgen.torch.register(path, spec)
    if not op.has_backward:
        notes[spec] = (f"{path} has no kernel {spec}_backward (compile it with "
                       "`flashgen compile --backward`, FLASHGEN_BACKWARD=1 bench/prepare-bench.sh)")
        return None
    return FlashgenAttend(op, device)


# -- the CPU smoke run ---------------------------------------------------------

def smoke_bundle(root, shape):
    """A manifest-only bundle of ``shape`` with kernels X and X_backward."""
    path = os.path.join(root, shape.spec)
    os.makedirs(path, exist_ok=True)

    def p(name, io, dims, dtype="f32"):
        return {"name": name, "io": io, "dtype": dtype, "shape": dims}
    q = ["B", shape.heads, "N", shape.d]
    k = ["B", shape.kv_heads, "N", shape.d]
    lse = ["B", shape.heads, "N"]
    kernels = [{"name": shape.spec, "op": "attention", "symbols": ["B", "N"], "variants": [],
                "params": [p("q", "in", q), p("k", "in", k), p("v", "in", k),
                           p("o", "out", q), p("lse", "out", lse)]},
               {"name": shape.spec + "_backward", "op": "attention_grad",
                "symbols": ["B", "N"], "variants": [],
                "params": [p("q", "in", q), p("k", "in", k), p("v", "in", k),
                           p("o", "in", q), p("do", "in", q), p("lse", "in", lse),
                           p("dq", "out", q), p("dk", "out", k), p("dv", "out", k)]}]
    with open(os.path.join(path, "manifest.json"), "w") as f:
        json.dump({"format": "flashgen-bundle", "version": 1, "flashgen_version": "0.1.0",
                   "target": "sm_90a", "kernels": kernels}, f)
    return path


def smoke_double(op, shape):
    """The float64 explicit attention as op's CPU kernels."""
    def forward(q, k, v):
        o = explicit_attention(q.double(), k.double(), v.double(), shape.causal,
                               shape.mod, shape.heads)
        return o, torch.zeros(q.shape[:3], dtype=torch.float32)

    def backward(q, k, v, o, grad_o, lse):
        with torch.enable_grad():  # autograd runs backward under no_grad
            leaves = [t.detach().double().requires_grad_() for t in (q, k, v)]
            out = explicit_attention(*leaves, shape.causal, shape.mod, shape.heads)
            return torch.autograd.grad(out, leaves, grad_o.double())
    op._register_test_double(forward, backward, "cpu")


# -- output --------------------------------------------------------------------

def write_results(out, device_name, rows, notes, args):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, RESULTS), "w") as f:
        json.dump({"kind": "attention-forward-backward", "device": device_name,
                   "torch": torch.__version__, "warmup": args.warmup, "iters": args.iters,
                   "flops": "forward 4*B*H*N^2*D (causal /2); backward 2.5x; fwd+bwd 3.5x",
                   "notes": notes, "rows": rows}, f, indent=1)


def print_table(rows):
    def fmt(r, key):
        v = r.get(key)
        return f"{v:6.0f}" if v else "     -"

    def ratio(r, a, b):
        x, y = r.get(a), r.get(b)
        return f"{x / y:.2f}" if x and y else "-"
    print(f"{'spec':<18}{'N':>6}{'B':>4} {'max err':>8} | fwd+bwd TFLOP/s: {'v0':>6} {'cuDNN':>6} "
          f"{'FA2':>6} {'Flex':>6} {'/cuDNN':>6} {'/Flex':>6} | bwd: {'v0':>6} {'best':>6} "
          f"{'cuDNN':>6} {'FA2':>6} {'Flex':>6} {'/cuDNN':>6} {'/Flex':>6}")
    for r in rows:
        err = r.get("err", {}).get("flashgen")
        err = f"{max(err.values()):8.1e}" if err else "       -"
        if r.get("wrong"):
            err = "   WRONG"
        print(f"{r['spec']:<18}{r['n']:>6}{r['batch']:>4} {err} | {'':16} "
              f"{fmt(r, 'flashgen_fwdbwd_tflops')} {fmt(r, 'cudnn_fwdbwd_tflops')} "
              f"{fmt(r, 'fa2_fwdbwd_tflops')} {fmt(r, 'flex_fwdbwd_tflops')} "
              f"{ratio(r, 'flashgen_fwdbwd_tflops', 'cudnn_fwdbwd_tflops'):>6} "
              f"{ratio(r, 'flashgen_fwdbwd_tflops', 'flex_fwdbwd_tflops'):>6} | {'':4} "
              f"{fmt(r, 'flashgen_bwd_tflops')} {fmt(r, 'best_bwd_tflops')} "
              f"{fmt(r, 'cudnn_bwd_tflops')} {fmt(r, 'fa2_bwd_tflops')} {fmt(r, 'flex_bwd_tflops')} "
              f"{ratio(r, 'flashgen_bwd_tflops', 'cudnn_bwd_tflops'):>6} "
              f"{ratio(r, 'flashgen_bwd_tflops', 'flex_bwd_tflops'):>6}")


SERIES = (("flashgen_fwdbwd_tflops", "flashgen v0"), ("cudnn_fwdbwd_tflops", "SDPA cuDNN"),
          ("fa2_fwdbwd_tflops", "SDPA FA2"), ("flex_fwdbwd_tflops", "FlexAttention"))


def plot(rows, out, device_name):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(13, 4.5))
    xs = range(len(rows))
    width = 0.2
    for i, (key, name) in enumerate(SERIES):
        offset = (i - (len(SERIES) - 1) / 2) * width
        ax.bar([x + offset for x in xs], [r.get(key) or 0 for r in rows], width, label=name)
    ax.set_xticks(list(xs))
    ax.set_xticklabels([f"{r['spec']}\nN={r['n']}" for r in rows], rotation=60, fontsize=7)
    ax.set_ylabel("TFLOP/s (bf16 forward+backward, 3.5x forward FLOPs)")
    ax.set_title(f"Attention forward+backward, 16k tokens, {device_name}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


# -- main ------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", help="folder with one bundle per spec, compiled with "
                        "--backward (FLASHGEN_BACKWARD=1 bench/prepare-bench.sh DIR)")
    parser.add_argument("--out", default=".", help=f"where {RESULTS} and the plot go")
    parser.add_argument("--quick", action="store_true", help="N = 2048 and 8192 only")
    parser.add_argument("--specs", default="", help="comma-separated spec names (default: all)")
    parser.add_argument("--no-peers", action="store_true", help="time flashgen only")
    parser.add_argument("--peers", default=",".join(PEERS),
                        help="comma-separated peers among cudnn,fa2,flex (default: all)")
    parser.add_argument("--no-variants", dest="variants", action="store_false",
                        help="time variant 0 of the backward kernel only")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--tol", type=float, default=3e-2,
                        help="largest relative error of o, dq, dk, dv against the f32 reference")
    parser.add_argument("--check-heads", type=int, default=2,
                        help="query heads of batch 0 the reference covers (GQA: one whole group)")
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="tiny shapes on the CPU with a float64 test double for flashgen")
    args = parser.parse_args()
    if not args.cpu_smoke and not args.bundles:
        parser.error("--bundles is required (or --cpu-smoke)")
    torch.manual_seed(0)
    notes = {}
    peer_names = [] if args.no_peers else [p for p in args.peers.split(",") if p]

    if args.cpu_smoke:
        device, dtype = torch.device("cpu"), torch.float32
        device_name = "CPU (smoke run: flashgen is a float64 test double)"
        shapes = smoke_shapes()
        bundles = tempfile.mkdtemp(prefix="flashgen-bwd-smoke-")
        ops = {}
        for shape in shapes:
            op = flashgen.torch.register(smoke_bundle(bundles, shape), shape.spec)
            smoke_double(op, shape)
            ops[shape.spec] = FlashgenAttend(op, device)

        def math_peer(shape):
            return lambda q, k, v: explicit_attention(q, k, v, shape.causal, shape.mod, shape.heads)
        peer_names = ["math"]
        args.warmup, args.iters = min(args.warmup, 1), min(args.iters, 3)
    else:
        device, dtype = torch.device("cuda"), torch.bfloat16
        device_name = torch.cuda.get_device_name()
        shapes = backward_shapes(args.quick)
        ops = {}
    if args.specs:
        wanted = set(args.specs.split(","))
        shapes = [s for s in shapes if s.spec in wanted]

    flex_setup = None
    if "flex" in peer_names:
        from torch import _dynamo
        _dynamo.config.cache_size_limit = 1024
        if hasattr(_dynamo.config, "recompile_limit"):
            _dynamo.config.recompile_limit = 1024
        try:
            from torch.nn.attention.flex_attention import flex_attention, create_block_mask
            flex = torch.compile(flex_attention, dynamic=False)

            def flex_setup(shape):
                return flex_peer(flex, create_block_mask, shape, device)
        except Exception as error:  # noqa: BLE001
            print("FlexAttention unavailable:", first_line(error))
            notes["flex"] = first_line(error)
    sdpa_backends = {}
    if any(p in peer_names for p in ("cudnn", "fa2")):
        try:
            from torch.nn.attention import SDPBackend
            sdpa_backends = {"cudnn": SDPBackend.CUDNN_ATTENTION,
                             "fa2": SDPBackend.FLASH_ATTENTION}
        except Exception as error:  # noqa: BLE001
            print("torch.nn.attention.SDPBackend unavailable:", first_line(error))
            notes["sdpa"] = first_line(error)

    rows = []
    for shape in shapes:
        start = time.perf_counter()
        if shape.spec not in ops and not args.cpu_smoke:
            try:
                ops[shape.spec] = register_flashgen(args.bundles, shape.spec, device, notes)
            except Exception as error:  # noqa: BLE001
                notes[shape.spec] = first_line(error)
                ops[shape.spec] = None
            if ops[shape.spec] is None:
                print(f"flashgen: {notes[shape.spec]}; timing the peers only")
        peers = {}
        for name in peer_names:
            if args.cpu_smoke and name == "math":
                peers[name] = math_peer(shape)
            elif name in sdpa_backends and shape.mod is None:
                peers[name] = sdpa_peer(sdpa_backends[name], shape.causal)
            elif name == "flex" and flex_setup is not None:
                peers[name] = None  # built per shape by flex_setup
        row = run_row(shape, args, device, dtype, ops.get(shape.spec), peers, flex_setup)
        if ops.get(shape.spec) is None:
            row["missing"]["flashgen"] = notes.get(shape.spec, "no kernel")
        for name in peer_names:
            if name in ("cudnn", "fa2") and shape.mod is not None:
                row["missing"][name] = "SDPA takes no score_mod"
        rows.append(row)
        write_results(args.out, device_name, rows, notes, args)
        print(f"  {shape.spec} N={shape.n} B={shape.batch}: {time.perf_counter() - start:.1f} s",
              flush=True)

    print_table(rows)
    print(f"wrote {os.path.join(args.out, RESULTS)}")
    try:
        plot(rows, os.path.join(args.out, "attention-backward.png"), device_name)
        print(f"wrote {os.path.join(args.out, 'attention-backward.png')}")
    except ImportError:
        print("no matplotlib: skipped attention-backward.png")
    except Exception as error:  # noqa: BLE001
        print("plot failed:", first_line(error))


if __name__ == "__main__":
    main()
