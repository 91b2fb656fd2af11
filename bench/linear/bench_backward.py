#!/usr/bin/env python3
"""Linear recurrences, forward + backward (training), on the anchor shapes
of 65,536 tokens (16 heads 128/128 at T=4096 and 16384, 8 heads 256/512 at
T=8192): flashgen's decay, vector (GLA), ungated, mlstm_sig and mlstm_exp
kernels and their gradient kernels (`X` and `X_backward` of a bundle
compiled with `flashgen compile --backward`) against flash-linear-attention's
chunk_simple_gla with and without g, its chunk_gla for vector gates, and
TFLA's mlstm_siging_chunkwise__xl_chunk (mlstm_kernels, chunk 128,
normalize=True) for mlstm_sig (forward through autograd), same inputs, same
process; TFLA's mlstm_chunkwise__xl_chunk for mlstm_exp in a child process
(its Triton kernel has aborted in an LLVM assertion on this stack).

fla refuses its gated backward on Hopper with Triton 3.4-3.7.0 ("produces
incorrect results for gated chunk_bwd_dqkwg", fla #640). Where it does, the
row records the refusal, then times fla with that guard lifted (its
gradients checked against the same float64 reference as flashgen's, so
the row says whether they were right on this machine).

    python3 bench/linear/bench_backward.py --bundles DIR --peers DIR --out $OUT [--profile]

DIR holds one bundle per spec of bench/linear/specs (decay_h16_k128_v128
...), compiled with --backward; --peers a folder holding the `fla` and
`mlstm_kernels` packages (fetched, never committed).

Times (triton's do_bench median): flashgen fwd = the forward kernel, bwd =
the gradient kernels (variant 0, the compiler's first choice, the headline;
the other ranked variants beside it), fwd+bwd their sum. For mlstm_sig and
mlstm_exp the forward also writes the rows' normalisers `norm` [B, H, T, 2]
f32 (N_t, floor_t) and the backward reads them with the forward's o, as
flashgen.torch runs them (so fwd includes that write). fla fwd, fwd+bwd
(o = chunk_simple_gla(...); torch.autograd.grad(o, (q, k, v, g), do)) and
bwd (the same grad over a graph built before timing, retain_graph). Every
flashgen gradient is first checked against float64 autograd through the
step-by-step recurrence on the first 128 steps of batch 0 (its own
launches, forward then backward, on that slice), and against fla's
gradients on the whole shape. TFLA's mlstm_sig gradients are checked on
the same slice against that float64 reference and against a second one
whose normaliser denominator is detached (a constant to autograd):
`tfla_rel_err_f64_detached_den`, which tells whether TFLA leaves the
normaliser out of its backward.
"""

import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import flashgen  # noqa: E402
from triton.testing import do_bench  # noqa: E402

TOKENS = 65536
SHAPES = [("decay", 16, 128, 128, 4096), ("decay", 16, 128, 128, 16384),
          ("none", 16, 128, 128, 4096), ("decay", 8, 256, 512, 8192),
          ("vector", 16, 128, 128, 4096), ("vector", 16, 128, 128, 16384),
          ("vector", 8, 256, 512, 8192), ("mlstm_sig", 16, 128, 128, 4096),
          ("mlstm_sig", 16, 128, 128, 16384), ("mlstm_sig", 8, 256, 512, 8192),
          ("mlstm_exp", 16, 128, 128, 4096), ("mlstm_exp", 16, 128, 128, 16384)]
# The bench spec of each gate kind: <prefix>_h<heads>_k<dk>_v<dv>.
SPEC_PREFIX = {"decay": "decay", "none": "plain", "vector": "vector",
               "mlstm_sig": "mlstm_sig", "mlstm_exp": "mlstm_exp"}
# The mLSTM kinds: input and forget preactivations instead of log-decays.
MLSTM = ("mlstm_sig", "mlstm_exp")


def time_ms(fn):
    return do_bench(fn, warmup=10, rep=60, return_mode="median")


def rel_err(out, ref):
    out, ref = out.double(), ref.double()
    if torch.isnan(out).any():
        return float("nan")
    return ((out - ref).norm() / ref.norm()).item()


def reference_grads(q, k, v, g, do, scale):
    """Float64 autograd through S_t = diag(exp(g_t)) S_{t-1} + k_t v_t^T,
    o_t = S_t^T (scale q_t): g [B, H, T] one log-decay a step (0: no gate)
    or [B, H, T, Dk] one a key dim (vector)."""
    q, k, v, g = (x.detach().double().requires_grad_() for x in (q, k, v, g))
    b, h, t, dk = q.shape
    s = torch.zeros(b, h, dk, v.shape[-1], dtype=torch.float64, device=q.device)
    outs = []
    for i in range(t):
        decay = torch.exp(g[:, :, i])[..., :, None] if g.dim() == 4 else torch.exp(g[:, :, i])[..., None, None]
        s = decay * s + k[:, :, i, :, None] * v[:, :, i, None, :]
        outs.append(torch.einsum("bhk,bhkv->bhv", scale * q[:, :, i], s))
    o = torch.stack(outs, dim=2)
    return torch.autograd.grad(o, (q, k, v, g), do.double())


def reference_sig_grads(q, k, v, ig, fg, do, scale, eps=1e-6, detach_den=False):
    """Float64 autograd through mlstm_sig (docs/semantics.md §3.1): C_t =
    a_t C_{t-1} + b_t k_t v_t^T, n_t likewise, o_t = C_t^T q~_t /
    (max(|n_t . q~_t|, 1) + eps), a, b the sigmoids of fg, ig. With
    ``detach_den`` the denominator is a constant to autograd (no gradient
    through the normaliser n), to tell what a peer differentiates."""
    q, k, v, ig, fg = (x.detach().double().requires_grad_() for x in (q, k, v, ig, fg))
    b, h, t, dk = q.shape
    c = torch.zeros(b, h, dk, v.shape[-1], dtype=torch.float64, device=q.device)
    n = torch.zeros(b, h, dk, dtype=torch.float64, device=q.device)
    outs = []
    for i in range(t):
        a, w = torch.sigmoid(fg[:, :, i])[..., None], torch.sigmoid(ig[:, :, i])[..., None]
        c = a[..., None] * c + w[..., None] * k[:, :, i, :, None] * v[:, :, i, None, :]
        n = a * n + w * k[:, :, i]
        qs = scale * q[:, :, i]
        den = torch.clamp((n * qs).sum(-1, keepdim=True).abs(), min=1.0) + eps
        if detach_den:
            den = den.detach()
        outs.append(torch.einsum("bhk,bhkv->bhv", qs, c) / den)
    o = torch.stack(outs, dim=2)
    return torch.autograd.grad(o, (q, k, v, ig, fg), do.double())


def reference_exp_grads(q, k, v, ig, fg, do, scale, eps=1e-6):
    """Float64 autograd through mlstm_exp (docs/semantics.md §3.1), the
    max-stabilised step recurrence from zero states (m0 = 0)."""
    q, k, v, ig, fg = (x.detach().double().requires_grad_() for x in (q, k, v, ig, fg))
    b, h, t, dk = q.shape
    c = torch.zeros(b, h, dk, v.shape[-1], dtype=torch.float64, device=q.device)
    n = torch.zeros(b, h, dk, dtype=torch.float64, device=q.device)
    m = torch.zeros(b, h, dtype=torch.float64, device=q.device)
    outs = []
    for i in range(t):
        lf = F.logsigmoid(fg[:, :, i])
        m_new = torch.maximum(lf + m, ig[:, :, i])
        a, w = torch.exp(lf + m - m_new)[..., None], torch.exp(ig[:, :, i] - m_new)[..., None]
        m = m_new
        c = a[..., None] * c + w[..., None] * k[:, :, i, :, None] * v[:, :, i, None, :]
        n = a * n + w * k[:, :, i]
        qs = scale * q[:, :, i]
        den = torch.maximum((n * qs).sum(-1, keepdim=True).abs(), torch.exp(-m)[..., None]) + eps
        outs.append(torch.einsum("bhk,bhkv->bhv", qs, c) / den)
    o = torch.stack(outs, dim=2)
    return torch.autograd.grad(o, (q, k, v, ig, fg), do.double())


def isolated_tfla_exp(peers, row, heads, dk, dv, t):
    """TFLA's mlstm_chunkwise__xl_chunk (chunk 128) forward and forward +
    backward, timed in a child process (bench.py: its Triton kernel has
    aborted in an LLVM assertion on this stack), or how it failed."""
    import subprocess
    code = f"""
import sys, torch
sys.path.insert(0, {peers!r})
from triton.testing import do_bench
from mlstm_kernels.torch.chunkwise.triton_xl_chunk import mlstm_chunkwise__xl_chunk as f
B = {TOKENS} // {t}
q = torch.randn(B, {heads}, {t}, {dk}, device='cuda', dtype=torch.bfloat16, requires_grad=True)
k = torch.randn_like(q, requires_grad=True)
v = torch.randn(B, {heads}, {t}, {dv}, device='cuda', dtype=torch.bfloat16, requires_grad=True)
i = torch.randn(B, {heads}, {t}, device='cuda', dtype=torch.bfloat16, requires_grad=True)
fg = (3.0 + torch.randn(B, {heads}, {t}, device='cuda', dtype=torch.bfloat16)).requires_grad_()
do = torch.randn(B, {heads}, {t}, {dv}, device='cuda', dtype=torch.bfloat16)
run = lambda: f(q=q, k=k, v=v, i=i, f=fg, chunk_size=128)
with torch.no_grad():
    print('FWD', do_bench(run, return_mode='median'), flush=True)
print('FWDBWD', do_bench(lambda: torch.autograd.grad(run(), (q, k, v, i, fg), do), return_mode='median'), flush=True)
"""
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=300)
    except subprocess.TimeoutExpired:
        row["tfla_error"] = "timed out after 300 s"
        return
    for line in done.stdout.splitlines():
        if line.startswith("FWD "):
            row["tfla_fwd_ms"] = float(line.split()[1])
        if line.startswith("FWDBWD "):
            row["tfla_fwd_bwd_ms"] = float(line.split()[1])
    if "tfla_fwd_bwd_ms" not in row:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        row["tfla_error"] = f"exit {done.returncode}: {tail[:200]}"


def tfla_peer(tfla_sig, row, q, k, v, ig, fg, do, scale, ours):
    """TFLA's mlstm_siging_chunkwise__xl_chunk (chunk 128, normalize=True,
    its default eps 1e-6: docs/semantics.md §3.4) forward and its autograd
    backward into `row`, its gradients checked as fla's are. The gates
    reach it in bf16, as bench.py passes them (the caller rounds ours the
    same way)."""
    leaves = [x.detach().clone().requires_grad_() for x in (q, k, v)]
    leaves += [x.detach().to(torch.bfloat16).requires_grad_() for x in (ig, fg)]

    def fwd(x=leaves):
        out = tfla_sig(q=x[0], k=x[1], v=x[2], i=x[3], f=x[4], chunk_size=128,
                       normalize=True)
        return out[0] if isinstance(out, tuple) else out

    graph = fwd()
    grads = torch.autograd.grad(graph, leaves, do, retain_graph=True)
    names = ("dq", "dk", "dv", "digate", "dfgate")
    steps = 128
    sl = [x[:1, :, :steps].contiguous().detach().requires_grad_() for x in leaves]
    got = torch.autograd.grad(fwd(sl), sl, do[:1, :, :steps])
    sliced = [x[:1, :, :steps] for x in (q, k, v, ig, fg)]
    want = reference_sig_grads(*sliced, do[:1, :, :steps], scale)
    row["tfla_rel_err_f64"] = {n: rel_err(a, b) for n, a, b in zip(names, got, want)}
    # Against the same float64 definition with the denominator detached:
    # small errors here (and ~0.5 above) mean TFLA's backward treats the
    # normaliser as a constant.
    want = reference_sig_grads(*sliced, do[:1, :, :steps], scale, detach_den=True)
    row["tfla_rel_err_f64_detached_den"] = {n: rel_err(a, b)
                                            for n, a, b in zip(names, got, want)}
    if ours is not None:
        row["rel_err_vs_tfla"] = {n: rel_err(a, b) for n, a, b in zip(names, ours, grads)}
    with torch.no_grad():
        row["tfla_fwd_ms"] = time_ms(fwd)
    row["tfla_fwd_bwd_ms"] = time_ms(lambda: torch.autograd.grad(fwd(), leaves, do))
    row["tfla_bwd_ms"] = time_ms(lambda: torch.autograd.grad(graph, leaves, do, retain_graph=True))


def fla_peer(chunk_fn, row, q, k, v, g, do, scale, ours):
    """fla's times (and gradient errors) into `row` (chunk_fn its
    chunk_simple_gla or chunk_gla); its gated backward with the
    Hopper/Triton guard lifted where it refuses (module doc)."""
    leaves = [x.transpose(1, 2).contiguous().requires_grad_() for x in (q, k, v)]
    if g is not None:
        leaves.append(g.transpose(1, 2).contiguous().requires_grad_())
    dot = do.transpose(1, 2).contiguous()

    def fwd():
        return chunk_fn(*leaves[:3], g=leaves[3] if g is not None else None, scale=scale)[0]

    try:
        graph = fwd()
        grads = torch.autograd.grad(graph, leaves, dot, retain_graph=True)
    except RuntimeError as error:
        if "chunk_bwd_dqkwg" not in str(error):
            raise
        row["fla_refused"] = str(error)[:200]
        import fla.ops.common.chunk_o as chunk_o
        chunk_o.TRITON_ABOVE_3_7_1 = True
        row["fla_guard_lifted"] = True
        graph = fwd()
        grads = torch.autograd.grad(graph, leaves, dot, retain_graph=True)
    names = ("dq", "dk", "dv", "dg")
    # fla's gradients on the slice the float64 check reads.
    steps = 128
    sl = [x[:1, :steps].contiguous().detach().requires_grad_() for x in leaves]
    o_sl = chunk_fn(*sl[:3], g=sl[3] if g is not None else None, scale=scale)[0]
    got = torch.autograd.grad(o_sl, sl, dot[:1, :steps])
    gs = g[:1, :, :steps] if g is not None else torch.zeros_like(q[:1, :, :steps, 0], dtype=torch.float32)
    want = reference_grads(q[:1, :, :steps], k[:1, :, :steps], v[:1, :, :steps], gs, do[:1, :, :steps], scale)
    row["fla_rel_err_f64"] = {n: rel_err(a.transpose(1, 2), b) for n, a, b in zip(names, got, want)}
    if ours is not None:
        row["rel_err_vs_fla"] = {n: rel_err(a, b.transpose(1, 2)) for n, a, b in zip(names, ours, grads)}
    with torch.no_grad():
        row["fla_fwd_ms"] = time_ms(fwd)
    row["fla_fwd_bwd_ms"] = time_ms(lambda: torch.autograd.grad(fwd(), leaves, dot))
    row["fla_bwd_ms"] = time_ms(lambda: torch.autograd.grad(graph, leaves, dot, retain_graph=True))


def launch_us(run, reps=10):
    """Median device microseconds of each flashgen kernel `run` launches
    (torch.profiler), by the kernel's name without its variant suffix."""
    import statistics
    from torch.profiler import ProfilerActivity, profile
    run()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(reps):
            run()
        torch.cuda.synchronize()
    times = {}
    for event in prof.events():
        if event.device_type.name == "CUDA" and event.name.startswith("flashgen_"):
            times.setdefault(event.name, []).append(event.device_time)
    return {name.rsplit("_v", 1)[-1]: statistics.median(x) for name, x in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundles", required=True)
    parser.add_argument("--peers", default=None)
    parser.add_argument("--out", default=".")
    parser.add_argument("--quick", action="store_true", help="the first shape only")
    parser.add_argument("--profile", action="store_true",
                        help="also time each launch of v0's gradient on its own "
                             "(torch.profiler medians: where the backward's time goes)")
    parser.add_argument("--gates", default=None,
                        help="comma-separated gate kinds to run (default: every row)")
    parser.add_argument("--heads", default=None,
                        help="comma-separated head counts to run (default: every row)")
    args = parser.parse_args()
    shapes = SHAPES[:1] if args.quick else SHAPES
    if args.gates:
        shapes = [s for s in shapes if s[0] in args.gates.split(",")]
    if args.heads:
        shapes = [s for s in shapes if str(s[1]) in args.heads.split(",")]
    torch.manual_seed(0)
    dev = torch.device("cuda")
    peers = {}
    if args.peers:
        sys.path.insert(0, args.peers)
        try:
            from fla.ops.simple_gla import chunk_simple_gla
            from fla.ops.gla import chunk_gla
            peers = {"decay": ("chunk_simple_gla", chunk_simple_gla),
                     "none": ("chunk_simple_gla", chunk_simple_gla),
                     "vector": ("chunk_gla", chunk_gla)}
        except Exception as error:  # noqa: BLE001
            print("fla unavailable:", repr(error)[:300])
        try:
            from mlstm_kernels.torch.chunkwise.triton_xl_chunk_siging import \
                mlstm_siging_chunkwise__xl_chunk
            peers["mlstm_sig"] = ("tfla_mlstm_siging_c128", mlstm_siging_chunkwise__xl_chunk)
        except Exception as error:  # noqa: BLE001
            print("mlstm_kernels unavailable:", repr(error)[:300])

    rows = []
    for gate, heads, dk, dv, t in shapes:
        batch = TOKENS // t
        gated = gate != "none"
        spec = f"{SPEC_PREFIX[gate]}_h{heads}_k{dk}_v{dv}"
        row = {"gate": gate, "heads": heads, "dk": dk, "dv": dv, "T": t, "batch": batch}
        q = torch.randn(batch, heads, t, dk, device=dev, dtype=torch.bfloat16)
        k = torch.randn(batch, heads, t, dk, device=dev, dtype=torch.bfloat16)
        v = torch.randn(batch, heads, t, dv, device=dev, dtype=torch.bfloat16)
        gate_shape = (batch, heads, t) + ((dk,) if gate == "vector" else ())
        g = F.logsigmoid(3.0 + torch.randn(gate_shape, device=dev))  # log-decays
        if not gated:
            g.zero_()
        sig = gate in MLSTM
        # mlstm_sig's preactivations, as bench.py draws them.
        # Rounded to bf16, as TFLA reads them.
        ig = torch.randn(batch, heads, t, device=dev).bfloat16().float()
        fg = (3.0 + torch.randn(batch, heads, t, device=dev)).bfloat16().float()
        do = torch.randn(batch, heads, t, dv, device=dev, dtype=torch.bfloat16)
        scale = dk ** -0.5
        try:
            bundle = flashgen.load(os.path.join(args.bundles, spec))
            fwd, bwd = bundle.kernel(spec), bundle.kernel(spec + "_backward")
            o = torch.empty_like(v)
            # The mLSTM kinds' rows (N_t, floor_t): the forward writes them,
            # the backward reads them with o.
            norm = (torch.empty(batch, heads, t, 2, device=dev, dtype=torch.float32)
                    if sig else None)
            dq, dk_, dv_ = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
            dg = torch.empty_like(g)
            dig, dfg = torch.empty_like(ig), torch.empty_like(fg)

            gate_args = (dict(igate=ig, fgate=fg, digate=dig, dfgate=dfg, o=o, norm=norm)
                         if sig else dict(g=g, dg=dg) if gated else {})

            def run_fwd(q=q, k=k, v=v, g=g, o=o):
                if sig:
                    fwd(q=q, k=k, v=v, igate=ig, fgate=fg, o=o, norm=norm)
                else:
                    fwd(q, k, v, g, o) if gated else fwd(q, k, v, o)

            def run_bwd(q=q, k=k, v=v, do=do, dq=dq, dk_=dk_, dv_=dv_):
                bwd(q=q, k=k, v=v, dq=dq, dk=dk_, dv=dv_, **gate_args, **{"do": do})

            # The float64 check on a slice: its own launch at T = 128.
            steps = 128
            qs, ks, vs, dos = (x[:1, :, :steps].contiguous() for x in (q, k, v, do))
            gs = g[:1, :, :steps].contiguous()
            igs, fgs = ig[:1, :, :steps].contiguous(), fg[:1, :, :steps].contiguous()
            if sig:
                got = [torch.full_like(x, float("nan")) for x in (qs, ks, vs, igs, fgs)]
                # The slice's own forward: the o and norm its backward reads.
                o_s = torch.empty_like(vs)
                norm_s = torch.empty(1, heads, steps, 2, device=dev, dtype=torch.float32)
                fwd(q=qs, k=ks, v=vs, igate=igs, fgate=fgs, o=o_s, norm=norm_s)
                slice_gates = dict(igate=igs, fgate=fgs, digate=got[3], dfgate=got[4],
                                   o=o_s, norm=norm_s)
            else:
                got = [torch.full_like(x, float("nan")) for x in (qs, ks, vs, gs)]
                slice_gates = dict(g=gs, dg=got[3]) if gated else {}
            bwd(q=qs, k=ks, v=vs, dq=got[0], dk=got[1], dv=got[2], **slice_gates, **{"do": dos})
            torch.cuda.synchronize()
            if sig:
                reference = reference_exp_grads if gate == "mlstm_exp" else reference_sig_grads
                want = reference(qs, ks, vs, igs, fgs, dos, scale)
                names = ("dq", "dk", "dv", "digate", "dfgate")
            else:
                want = reference_grads(qs, ks, vs, gs, dos, scale)
                names = ("dq", "dk", "dv", "dg") if gated else ("dq", "dk", "dv")
            row["rel_err_f64"] = {n: rel_err(a, b) for n, a, b in zip(names, got, want)}
            for x in (dq, dk_, dv_, dg, dig, dfg):
                x.fill_(float("nan"))
            run_fwd()  # the o (and norm) that every run_bwd reads
            run_bwd()
            torch.cuda.synchronize()
            row["flashgen_fwd_ms"] = time_ms(run_fwd)
            variant_ms = {}
            for variant in range(bwd.num_variants):
                bwd.select_variant(variant)
                variant_ms[variant] = time_ms(run_bwd)
            bwd.select_variant(0)
            row["flashgen_bwd_variant_ms"] = variant_ms
            row["flashgen_bwd_ms"] = variant_ms[0]
            row["flashgen_bwd_best_ms"] = min(variant_ms.values())
            row["flashgen_fwd_bwd_ms"] = row["flashgen_fwd_ms"] + row["flashgen_bwd_ms"]
            if args.profile:
                row["flashgen_bwd_launch_us"] = launch_us(run_bwd)
        except Exception as error:  # noqa: BLE001
            row["flashgen_error"] = repr(error)[:300]
        if gate == "mlstm_exp" and args.peers:
            row["tfla_op"] = "tfla_mlstm_chunkwise_xl_chunk_c128 (child process)"
            isolated_tfla_exp(args.peers, row, heads, dk, dv, t)
        elif sig and gate in peers:
            row["tfla_op"] = peers[gate][0]
            try:
                tfla_peer(peers[gate][1], row, q, k, v, ig, fg, do, scale,
                          (dq, dk_, dv_, dig, dfg) if "flashgen_bwd_ms" in row else None)
            except Exception as error:  # noqa: BLE001
                row["tfla_error"] = repr(error)[:300]
        elif gate in peers:
            row["fla_op"] = peers[gate][0]
            try:
                fla_peer(peers[gate][1], row, q, k, v, g if gated else None, do, scale,
                         (dq, dk_, dv_, dg) if "flashgen_bwd_ms" in row else None)
            except Exception as error:  # noqa: BLE001
                row["fla_error"] = repr(error)[:300]
        rows.append(row)
        print(json.dumps(row), flush=True)
        del q, k, v, do
        torch.cuda.empty_cache()

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "linear-backward-results.json"), "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "rows": rows}, f, indent=1)

    def ms(x):
        return f"{x:8.3f}" if isinstance(x, float) else "       -"

    # The peer columns: fla's, or TFLA's for mlstm_sig.
    print(f"{'gate':<10}{'H':>3}{'dk':>5}{'dv':>5}{'T':>7} {'fg fwd':>8} {'fg bwd':>8} {'fg f+b':>8}"
          f" {'peer fwd':>8} {'peer bwd':>8} {'peer f+b':>8} {'f+b x':>6} {'bwd x':>6}")
    for r in rows:
        peer = "tfla" if r["gate"] in MLSTM else "fla"
        fb, ffb = r.get("flashgen_fwd_bwd_ms"), r.get(peer + "_fwd_bwd_ms")
        b, fbw = r.get("flashgen_bwd_ms"), r.get(peer + "_bwd_ms")
        speed = f"{ffb / fb:6.2f}" if fb and ffb else "     -"
        bspeed = f"{fbw / b:6.2f}" if b and fbw else "     -"
        print(f"{r['gate']:<10}{r['heads']:>3}{r['dk']:>5}{r['dv']:>5}{r['T']:>7} {ms(r.get('flashgen_fwd_ms'))}"
              f" {ms(b)} {ms(fb)} {ms(r.get(peer + '_fwd_ms'))} {ms(fbw)} {ms(ffb)} {speed} {bspeed}")


if __name__ == "__main__":
    main()
