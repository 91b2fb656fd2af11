#!/usr/bin/env python3
"""Trains a small transformer language model twice from the same seed, on the
same batches: once with flashgen's attention kernels (forward and backward,
through flashgen.torch) and once with torch.nn.functional.
scaled_dot_product_attention, and compares the two loss curves.

The model: token + position embeddings, --layers pre-norm blocks (LayerNorm,
causal self-attention with --heads heads of --head-dim, LayerNorm, 4x GELU
MLP), a final LayerNorm and a linear head; fp32 weights, bf16 autocast on
CUDA, AdamW. The data: a character-level corpus generated here from a seeded
word-level Markov chain (no downloads), so that predicting the next
character needs the context that attention brings.

q, k and v are views of one projection, [B, N, H, D] transposed to [B, H, N,
D] (q = qkv(x).view(B, N, 3, H, D).unbind(2)[0].transpose(1, 2)); flashgen's
op takes them without copies and returns o laid out so that
o.transpose(1, 2).reshape(B, N, H * D) is a view.

    build/bin/flashgen compile --backward examples/train/causal_block.mlir \\
        -o out/causal_block.bundle --dim B=16 --dim N=256
    PYTHONPATH=python python3 examples/train/train_block.py \\
        --bundle out/causal_block.bundle --kernel causal_block --out train-out

writes train-out/train_block.json (both loss curves, the config, the
comparison) and train-out/train_block.png (matplotlib; skipped with a
message without it), prints the largest relative difference of the two
losses over the last --window (50) steps, and exits 1 when it exceeds --tol
(5%) or a loss is not finite (2 when the bundle cannot be used).

    /usr/bin/python3 examples/train/train_block.py --dry-run

builds the model and runs 2 steps with SDPA only, on the CPU in float32 (no
GPU, no flashgen kernels; with --bundle the manifest's shapes are checked
against the model), and exits 0.
"""

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))


# -- data ------------------------------------------------------------------

def make_corpus(seed, n_chars):
    """Text from a word-level Markov chain over 96 made-up words: each word
    has 3 possible successors; sentences end with '.' after 4-11 words."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 8)))
             for _ in range(96)]
    successors = [rng.sample(range(len(words)), 3) for _ in words]
    parts, length, w, in_sentence = [], 0, 0, 0
    while length < n_chars:
        word = words[w]
        in_sentence += 1
        if in_sentence == 1:
            word = word.capitalize()
        if in_sentence >= rng.randint(4, 11):
            word += ". "
            in_sentence = 0
        else:
            word += " "
        parts.append(word)
        length += len(word)
        w = rng.choice(successors[w])
    text = "".join(parts)[:n_chars]
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    return torch.tensor([index[c] for c in text], dtype=torch.long), vocab


def batch_starts(seed, steps, batch, seq, n_tokens):
    """The start offsets of every step's sequences, the same for both runs."""
    g = torch.Generator().manual_seed(seed + 1)
    return torch.randint(0, n_tokens - seq - 1, (steps, batch), generator=g)


# -- model -----------------------------------------------------------------

def math_attention(q, k, v):
    """Causal attention with an explicit softmax (torch < 2.0 has no SDPA)."""
    n = q.shape[-2]
    s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    mask = torch.ones(n, n, dtype=torch.bool, device=q.device).triu(1)
    return torch.matmul(torch.softmax(s.masked_fill(mask, float("-inf")), -1), v)


def sdpa_attention(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


class Block(nn.Module):
    def __init__(self, dim, heads, head_dim, attend):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.attend = attend  # (q, k, v) [B, H, N, D] -> o [B, H, N, D]
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * heads * head_dim, bias=False)
        self.proj = nn.Linear(heads * head_dim, dim, bias=False)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        B, N, _ = x.shape
        H, D = self.heads, self.head_dim
        q, k, v = self.qkv(self.ln1(x)).view(B, N, 3, H, D).unbind(2)  # [B, N, H, D] views
        o = self.attend(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        x = x + self.proj(o.transpose(1, 2).reshape(B, N, H * D))
        return x + self.mlp(self.ln2(x))


class LanguageModel(nn.Module):
    def __init__(self, vocab, seq, dim, layers, heads, head_dim, attend):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(seq, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, head_dim, attend) for _ in range(layers))
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, tokens):
        x = self.tok(tokens) + self.pos(torch.arange(tokens.shape[1], device=tokens.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


# -- training ----------------------------------------------------------------

def build_model(args, vocab, attend, device):
    torch.manual_seed(args.seed)  # the same initial weights for every run
    return LanguageModel(vocab, args.seq, args.heads * args.head_dim, args.layers,
                         args.heads, args.head_dim, attend).to(device)


def loss_of(model, data, starts, seq, device, autocast):
    idx = starts[:, None] + torch.arange(seq + 1)[None]
    chunk = data[idx].to(device, non_blocking=True)
    inputs, targets = chunk[:, :-1], chunk[:, 1:]
    if autocast:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(inputs)
    else:
        logits = model(inputs)
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1))


def train(label, args, data, vocab, starts, attend, device, autocast):
    model = build_model(args, len(vocab), attend, device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95),
                            weight_decay=0.1)
    warmup = max(1, min(20, args.steps // 10))
    losses, step_times = [], []
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = args.lr * min(1.0, (step + 1) / warmup)
        start = time.perf_counter()
        loss = loss_of(model, data, starts[step], args.seq, device, autocast)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())  # synchronizes
        step_times.append(time.perf_counter() - start)
        if step % max(1, args.steps // 10) == 0 or step == args.steps - 1:
            print(f"  [{label}] step {step:4d}  loss {losses[-1]:.4f}", flush=True)
    timed = step_times[10:] or step_times
    return losses, 1e3 * sum(timed) / len(timed)


def initial_gradient_difference(args, data, vocab, starts, attends, device, autocast):
    """Relative difference of the whole parameter gradient at the initial
    weights on the first batch, between the two attention implementations
    (reported, not gated)."""
    grads = []
    for attend in attends:
        model = build_model(args, len(vocab), attend, device)
        loss_of(model, data, starts[0], args.seq, device, autocast).backward()
        grads.append(torch.cat([p.grad.float().flatten() for p in model.parameters()]))
        del model
    return ((grads[0] - grads[1]).norm() / grads[1].norm()).item()


def check_bundle(args):
    """The bundle's kernel fits the model (heads, head dim) and has a
    backward kernel; returns the registered op or exits 2."""
    import flashgen.torch
    try:
        op = flashgen.torch.register(args.bundle, args.kernel)
    except Exception as error:  # noqa: BLE001 (FlashgenError and OSError alike)
        sys.exit(f"train_block: cannot register {args.kernel} of {args.bundle}: {error}")
    with open(os.path.join(args.bundle, "manifest.json")) as f:
        kernel = next(k for k in json.load(f)["kernels"] if k["name"] == args.kernel)
    shape = next(p["shape"] for p in kernel["params"] if p["name"] == "q")
    if len(shape) != 4 or shape[1] != args.heads or shape[3] != args.head_dim:
        print(f"train_block: {args.kernel} takes q {shape}, the model makes "
              f"[B, {args.heads}, N, {args.head_dim}] (--heads, --head-dim)", file=sys.stderr)
        sys.exit(2)
    if not op.has_backward:
        print(f"train_block: {args.bundle} has no kernel {args.kernel}_backward; compile the "
              "spec with `flashgen compile --backward`", file=sys.stderr)
        sys.exit(2)
    return op


# -- report -------------------------------------------------------------------

def smooth(curve, width=10):
    """Moving average over the last `width` steps: two bf16 runs take
    different rounding paths, so single-batch losses drift apart step by
    step while the averaged curves (what a training run is judged by) stay
    together."""
    out, acc = [], 0.0
    for i, x in enumerate(curve):
        acc += x - (curve[i - width] if i >= width else 0.0)
        out.append(acc / min(i + 1, width))
    return out


def compare(curves, window):
    a, b = smooth(curves["flashgen"]), smooth(curves["sdpa"])
    tail = range(max(0, len(b) - window), len(b))
    diffs = [abs(a[i] - b[i]) / abs(b[i]) for i in tail]
    finite = all(math.isfinite(x) for x in a + b)
    return {"max_rel_diff": max(diffs) if finite else float("nan"),
            "mean_rel_diff": sum(diffs) / len(diffs) if finite else float("nan"),
            "first_step_rel_diff": abs(a[0] - b[0]) / abs(b[0]) if finite else float("nan"),
            "finite": finite}


def write_report(out, result):
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "train_block.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {path}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no matplotlib: skipped train_block.png (pip install matplotlib)")
        return
    curves = result["losses"]
    fig, axes = plt.subplots(1, 2 if len(curves) == 2 else 1, figsize=(11, 4), squeeze=False)
    ax = axes[0][0]
    for name, losses in curves.items():
        ax.plot(range(len(losses)), losses, label=name, linewidth=1)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (nats/char)")
    ax.set_title("train_block.py: " + result["config"].get("device", ""))
    ax.legend()
    if len(curves) == 2:
        a, b = curves["flashgen"], curves["sdpa"]
        ax = axes[0][1]
        ax.plot(range(len(b)), [abs(x - y) / abs(y) for x, y in zip(a, b)], linewidth=1)
        ax.axhline(result["tolerance"], color="red", linestyle="--", label="tolerance")
        ax.set_xlabel("step")
        ax.set_ylabel("|flashgen - sdpa| / sdpa")
        ax.set_yscale("log")
        ax.legend()
    fig.tight_layout()
    path = os.path.join(out, "train_block.png")
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", help="bundle compiled with `flashgen compile --backward` "
                        "from examples/train/causal_block.mlir")
    parser.add_argument("--kernel", default="causal_block", help="its attention kernel")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--window", type=int, default=50, help="last steps compared")
    parser.add_argument("--grad-tol", type=float, default=3e-2,
                        help="largest relative difference of the initial parameter gradient")
    parser.add_argument("--tol", type=float, default=0.05,
                        help="largest relative loss difference allowed over the window")
    parser.add_argument("--out", help="folder for train_block.json and .png "
                        "(default train-out; a temporary folder with --dry-run)")
    parser.add_argument("--dry-run", action="store_true",
                        help="CPU, float32, SDPA only, 2 steps (checks the script)")
    args = parser.parse_args()

    if args.dry_run:
        device, autocast = torch.device("cpu"), False
        args.steps = 2
        args.batch, args.seq = min(args.batch, 2), min(args.seq, 64)
        out = args.out or tempfile.mkdtemp(prefix="train_block-")
        if args.bundle:
            check_bundle(args)
            print(f"bundle {args.bundle}: {args.kernel} and {args.kernel}_backward fit the model")
    else:
        if not torch.cuda.is_available():
            sys.exit("train_block: needs a CUDA GPU (or --dry-run)")
        if not args.bundle:
            sys.exit("train_block: --bundle is required (or --dry-run)")
        device, autocast = torch.device("cuda"), True
        out = args.out or "train-out"
    reference = sdpa_attention if hasattr(F, "scaled_dot_product_attention") else math_attention

    data, vocab = make_corpus(args.seed, 400_000)
    starts = batch_starts(args.seed, args.steps, args.batch, args.seq, len(data))
    config = {k: v for k, v in vars(args).items() if k not in ("out",)}
    config["vocab"] = len(vocab)
    config["device"] = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    config["dtype"] = "bf16 autocast, fp32 weights" if autocast else "float32"
    config["torch"] = torch.__version__
    print(f"model: {args.layers} blocks, dim {args.heads * args.head_dim} ({args.heads} heads "
          f"of {args.head_dim}), vocab {len(vocab)}, batch {args.batch} x {args.seq} tokens, "
          f"{args.steps} steps on {config['device']} ({config['dtype']})")

    curves, step_ms = {}, {}
    if args.dry_run:
        if reference is math_attention:
            print("torch", torch.__version__, "has no scaled_dot_product_attention: "
                  "the dry run uses an explicit-softmax attention")
        curves["sdpa"], step_ms["sdpa"] = train("sdpa", args, data, vocab, starts, reference,
                                                device, autocast)
        write_report(out, {"config": config, "losses": curves, "step_ms": step_ms,
                           "tolerance": args.tol, "dry_run": True})
        print("dry run: ok")
        return 0

    flashgen_attention = check_bundle(args)
    grad_diff = initial_gradient_difference(args, data, vocab, starts,
                                            (flashgen_attention, reference), device, autocast)
    print(f"initial weights, first batch: relative difference of the parameter gradient "
          f"(flashgen vs SDPA) {grad_diff:.2e}")
    for label, attend in (("flashgen", flashgen_attention), ("sdpa", reference)):
        curves[label], step_ms[label] = train(label, args, data, vocab, starts, attend,
                                              device, autocast)
    cmp = compare(curves, args.window)
    # The gradients themselves agree to bf16 accuracy at the start (same
    # weights, same batch), and the smoothed loss curves stay together.
    passed = (cmp["finite"] and cmp["max_rel_diff"] <= args.tol
              and grad_diff <= args.grad_tol)
    result = {"config": config, "losses": curves, "step_ms": step_ms,
              "initial_grad_rel_diff": grad_diff, "window": args.window,
              "tolerance": args.tol, "passed": passed, **cmp}
    write_report(out, result)
    n = min(args.window, args.steps)
    last = {k: sum(v[-n:]) / n for k, v in curves.items()}
    print(f"mean loss over the last {n} steps: flashgen {last['flashgen']:.4f}, "
          f"sdpa {last['sdpa']:.4f}; ms/step: flashgen {step_ms['flashgen']:.2f}, "
          f"sdpa {step_ms['sdpa']:.2f}")
    print(f"max relative difference of the 10-step mean losses over the last {n} steps: "
          f"{cmp['max_rel_diff']:.4f} (mean {cmp['mean_rel_diff']:.4f}, tolerance {args.tol}); "
          f"initial gradient {grad_diff:.2e} (tolerance {args.grad_tol})")
    if not passed:
        print("FAIL: the loss curves diverge" if cmp["finite"] else "FAIL: a loss is not finite")
        return 1
    print("PASS: the loss curves agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
