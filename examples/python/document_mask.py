#!/usr/bin/env python3
"""Document-masked attention from a Python session: a spec written with
flashgen.spec, compiled with flashgen.compile, run on random inputs and
checked against a float64 reference; then timed, beside FlexAttention with
the same mask where torch has it.

The spec: causal grouped-query attention (16 query heads over 4 kv heads,
head_dim 128, bf16) over packed documents. Each token carries the id of its
document, ``doc`` [B, N] int32, given at launch with q, k and v (an extra,
docs/semantics.md §2.7), and a query sees only earlier keys of its own
document:

    doc = spec.tensor("doc", ("B", "N"), "int32")
    def same_document(b, h, q_idx, kv_idx):
        return doc[b, q_idx] == doc[b, kv_idx]
    spec.attention(..., mask="causal", mask_mod=same_document)

Compiling needs the flashgen tool (LLVM), running needs a GPU and torch; a
machine with one but not the other compiles here and runs there:

    PYTHONPATH=python python3 examples/python/document_mask.py --compile-only out/document_mask_gqa
    # on the GPU machine (the runtime built, e.g. -DFLASHGEN_RUNTIME_ONLY=ON):
    PYTHONPATH=python python3 examples/python/document_mask.py --bundle out/document_mask_gqa

Without --bundle and --compile-only it does both in one process. The run
draws q, k, v (bf16, standard normal) at a ragged size (B=2, N=1000: no tile
divides it) and per row a random number of documents of random lengths,
fills the output with NaN (so a row the kernel never writes cannot pass),
launches the kernel through the plain Kernel API (``kernel(q, k, v,
doc=ids, out=o)``) and through flashgen.torch's operator (``attn(q, k, v,
doc=ids)``), and compares both with masked softmax attention in float64
(rows with no visible key give 0). It prints the max abs error and the
relative L2 error, and exits 1 when an output holds a NaN or its relative
L2 error exceeds 1e-2 (2 when the bundle cannot be used). Training: the
bundle holds the gradient kernels too (``backward=True``), whose first
launches list, from the ids, the tiles each document leaves (the
mask_lists pre-passes), and ``torch.autograd.grad`` through the operator's
output gives dq, dk, dv, checked against float64 autograd of the same
reference (relative L2 error at most 2e-2, no NaN). Then it times the
kernel (CUDA events) and reports TFLOP/s over the visible (query, key)
pairs, and FlexAttention's time with the equivalent mask_mod and a block
mask built from the same ids (skipped, never failed, without it).
"""

import argparse
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import flashgen  # noqa: E402
from flashgen import spec  # noqa: E402

NAME = "document_mask_gqa"
Q_HEADS, KV_HEADS, HEAD_DIM = 16, 4, 128
REL_TOL = 1e-2
GRAD_REL_TOL = 2e-2  # bf16 gradients: dS and P are rounded for the MMAs


def build_spec():
    """The MLIR text of the kernel: causal GQA, same document only."""
    doc = spec.tensor("doc", ("B", "N"), "int32")

    def same_document(b, h, q_idx, kv_idx):
        return doc[b, q_idx] == doc[b, kv_idx]

    return spec.attention(NAME, q_heads=Q_HEADS, kv_heads=KV_HEADS,
                          head_dim=HEAD_DIM, mask="causal",
                          mask_mod=same_document)


def compile_bundle(out, args):
    """flashgen.compile with the sizes the schedule is planned for, with
    the gradient kernels (training through flashgen.torch)."""
    return flashgen.compile(build_spec(), out, backward=True,
                            dims={"B": args.batch, "N": args.n})


def document_ids(torch, batch, n, docs, gen):
    """[batch, n] int32, non-decreasing per row: row b holds between 2 and
    2 * docs - 1 documents (at most n) whose boundaries are random."""
    ids = torch.zeros(batch, n, dtype=torch.int32)
    for b in range(batch):
        count = int(torch.randint(2, max(3, 2 * docs), (1,), generator=gen))
        count = max(1, min(count, n))
        cuts = torch.randperm(n - 1, generator=gen)[:count - 1] + 1
        for c in cuts.tolist():
            ids[b, c:] += 1
    return ids


def visible(torch, doc):
    """[B, N, N] bool: key j is visible to query i (causal, same document;
    N == M, so the causal diagonal is i == j)."""
    n = doc.shape[1]
    i = torch.arange(n, device=doc.device)
    causal = i[None, :] <= i[:, None]
    return causal[None] & (doc[:, :, None] == doc[:, None, :])


def reference(torch, q, k, v, vis):
    """Masked softmax attention in float64, one batch row at a time;
    a row without a visible key gives 0."""
    group = q.shape[1] // k.shape[1]
    out = torch.empty(q.shape[:3] + (v.shape[3],), dtype=torch.float64,
                      device=q.device)
    scale = 1.0 / math.sqrt(q.shape[3])
    for b in range(q.shape[0]):
        qb = q[b].double()
        kb = k[b].double().repeat_interleave(group, dim=0)
        vb = v[b].double().repeat_interleave(group, dim=0)
        s = (qb @ kb.transpose(-1, -2)) * scale
        s = s.masked_fill(~vis[b][None], float("-inf"))
        p = torch.softmax(s, dim=-1)
        p = p.masked_fill(~vis[b].any(-1)[None, :, None], 0.0)
        out[b] = p @ vb
    return out


def errors(torch, o, ref):
    """(max abs error, relative L2 error, whether o holds a NaN)."""
    of = o.double()
    nan = bool(torch.isnan(of).any())
    diff = (of - ref).nan_to_num(nan=float("inf"))
    return (diff.abs().max().item(),
            (diff.norm() / ref.norm()).item(), nan)


def time_ms(torch, fn, reps):
    """Mean milliseconds per call over ``reps`` calls after 3 warm-ups,
    timed with CUDA events on the current stream."""
    for _ in range(3):
        fn()
    start = torch.cuda.Event(enable_timing=True)
    stop = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    stop.record()
    torch.cuda.synchronize()
    return start.elapsed_time(stop) / reps


def run_flex(torch, q, k, v, doc, ref, flops, reps):
    """FlexAttention with the same mask on the same inputs; prints its
    error and time, or why it did not run."""
    try:
        from torch.nn.attention.flex_attention import (create_block_mask,
                                                       flex_attention)
    except ImportError as e:
        print("FlexAttention: not available in torch %s (%s)"
              % (torch.__version__, e))
        return
    try:
        def mask_mod(b, h, q_idx, kv_idx):
            return (q_idx >= kv_idx) & (doc[b, q_idx] == doc[b, kv_idx])
        batch, n = doc.shape
        block_mask = create_block_mask(mask_mod, batch, None, n, n,
                                       device=q.device)
        flex = torch.compile(flex_attention, dynamic=False)

        def call():
            return flex(q, k, v, block_mask=block_mask, enable_gqa=True)
        of = call()
        torch.cuda.synchronize()
        max_abs, rel, nan = errors(torch, of, ref)
        ms = time_ms(torch, call, reps)
        print("FlexAttention: max abs error %.3e, relative L2 error %.3e%s; "
              "%.3f ms, %.1f TFLOP/s" % (max_abs, rel, " (NaN)" if nan else "",
                                         ms, flops / (ms * 1e-3) / 1e12))
        return ms
    except Exception as e:  # noqa: BLE001 (a comparison, never a failure)
        print("FlexAttention: failed (%s: %s)" % (type(e).__name__,
                                                 str(e).splitlines()[0]
                                                 if str(e) else ""))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compile-only", metavar="OUT",
                        help="compile the spec into the bundle folder OUT and "
                        "exit (no GPU, no torch)")
    parser.add_argument("--bundle", metavar="DIR",
                        help="run a bundle compiled earlier (--compile-only) "
                        "instead of compiling")
    parser.add_argument("--print-spec", action="store_true",
                        help="print the traced MLIR and exit")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--n", type=int, default=1000,
                        help="tokens per row (queries = keys)")
    parser.add_argument("--docs", type=int, default=4,
                        help="documents per row: random in [2, 2*docs-1]")
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-flex", action="store_true",
                        help="skip FlexAttention")
    args = parser.parse_args()

    if args.print_spec:
        sys.stdout.write(build_spec())
        return 0
    if args.compile_only:
        bundle = compile_bundle(args.compile_only, args)
        print("compiled %s into %s (kernels: %s, target %s)"
              % (NAME, bundle.path, ", ".join(bundle.kernel_names),
                 bundle.target))
        return 0

    try:
        import torch
    except ImportError:
        print("running needs torch (and a GPU); --compile-only OUT compiles "
              "without either", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("no CUDA device: use --compile-only OUT here and --bundle OUT "
              "on a GPU machine", file=sys.stderr)
        return 2
    from flashgen.torch import register

    try:
        bundle = (flashgen.load(args.bundle) if args.bundle
                  else compile_bundle(None, args))
        kernel = bundle.kernel(NAME, device=torch.cuda.current_device())
    except flashgen.FlashgenError as e:
        print("cannot use the bundle: %s" % e, file=sys.stderr)
        return 2
    print("bundle %s: kernel %s, %d variants, on %s"
          % (bundle.path, NAME, kernel.num_variants,
             torch.cuda.get_device_name()))

    dev = torch.device("cuda")
    gen = torch.Generator().manual_seed(args.seed)
    B, N, D = args.batch, args.n, HEAD_DIM
    q = torch.randn(B, Q_HEADS, N, D, generator=gen).to(dev, torch.bfloat16)
    k = torch.randn(B, KV_HEADS, N, D, generator=gen).to(dev, torch.bfloat16)
    v = torch.randn(B, KV_HEADS, N, D, generator=gen).to(dev, torch.bfloat16)
    doc = document_ids(torch, B, N, args.docs, gen).to(dev)
    lengths = [torch.unique_consecutive(doc[b], return_counts=True)[1].tolist()
               for b in range(B)]
    print("B=%d N=%d, %d query heads over %d kv heads, D=%d; document "
          "lengths per row: %s" % (B, N, Q_HEADS, KV_HEADS, D, lengths))

    vis = visible(torch, doc)
    ref = reference(torch, q, k, v, vis)
    pairs = int(vis.sum())
    # Useful work: QK^T and PV over the visible pairs only.
    flops = 2.0 * Q_HEADS * pairs * (D + D)

    # The plain Kernel API, into an output poisoned with NaN.
    o = torch.full((B, Q_HEADS, N, D), float("nan"), device=dev,
                   dtype=torch.bfloat16)
    try:
        kernel(q, k, v, doc=doc, out=o)
    except flashgen.FlashgenError as e:
        print("cannot launch: %s" % e, file=sys.stderr)
        return 2
    torch.cuda.synchronize()
    failed = False
    results = [("Kernel API", o)]
    # flashgen.torch's operator takes the extras by keyword too.
    attn = register(bundle, NAME)
    results.append(("flashgen.torch op", attn(q, k, v, doc=doc)))
    torch.cuda.synchronize()
    for label, out in results:
        max_abs, rel, nan = errors(torch, out, ref)
        bad = nan or not rel <= REL_TOL
        failed |= bad
        print("%-18s max abs error %.3e, relative L2 error %.3e%s  %s"
              % (label + ":", max_abs, rel, " (NaN in the output)" if nan
                 else "", "FAILED" if bad else "ok"))
    if failed:
        print("FAILED: relative L2 error above %g or NaN against the float64 "
              "reference" % REL_TOL)
        return 1

    # Training: the operator's autograd runs the gradient kernels; float64
    # autograd of the reference gives the expected gradients.
    if not attn.has_backward:
        print("FAILED: the bundle has no %s_backward" % NAME)
        return 1
    do = torch.randn(B, Q_HEADS, N, D, generator=gen).to(dev, torch.bfloat16)
    leaves = [x.detach().requires_grad_() for x in (q, k, v)]
    got = torch.autograd.grad(attn(*leaves, doc=doc), leaves, do)
    exact = [x.detach().double().requires_grad_() for x in (q, k, v)]
    want = torch.autograd.grad(reference(torch, *exact, vis), exact,
                               do.double())
    for name, g, w in zip(("dq", "dk", "dv"), got, want):
        max_abs, rel, nan = errors(torch, g, w)
        bad = nan or not rel <= GRAD_REL_TOL
        failed |= bad
        print("%-18s max abs error %.3e, relative L2 error %.3e%s  %s"
              % ("gradient " + name + ":", max_abs, rel,
                 " (NaN in the gradient)" if nan else "",
                 "FAILED" if bad else "ok"))
    if failed:
        print("FAILED: gradient relative L2 error above %g or NaN against "
              "float64 autograd" % GRAD_REL_TOL)
        return 1

    ms = time_ms(torch, lambda: kernel(q, k, v, doc=doc, out=o), args.reps)
    print("flashgen (variant %d): %.3f ms, %.1f TFLOP/s (%.1f%% of the "
          "(query, key) pairs visible)"
          % (kernel.variant, ms, flops / (ms * 1e-3) / 1e12,
             100.0 * pairs / (B * N * N)))
    if not args.no_flex:
        flex_ms = run_flex(torch, q, k, v, doc, ref, flops, args.reps)
        if flex_ms:
            print("flashgen takes %.2fx FlexAttention's time (both skip the "
                  "tiles of other documents: Flex from a block mask built from "
                  "the ids, flashgen from lists its first launch writes)"
                  % (ms / flex_ms))
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
