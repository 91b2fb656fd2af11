#!/usr/bin/env python3
"""One forward+backward of a flashgen bundle (variant 0, the compiler's first
choice) and one of PyTorch SDPA's cuDNN backend on the same inputs, for Nsight
Compute: where the gradient kernels' time goes against cuDNN's (tensor-pipe
activity, warp stall reasons, issue rate).

    ncu --kernel-name regex:'backward|bprop|dgrad|dq|dkdv' \\
        --section SpeedOfLight --section WarpStateStats \\
        --section ComputeWorkloadAnalysis --section LaunchStats \\
      python3 bench/attention/profile_backward.py --bundles DIR --spec mha_d128

DIR is what `FLASHGEN_BACKWARD=1 bench/prepare-bench.sh` wrote; FLASHGEN_LIB
names the runtime library where it is not in build*/lib.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", required=True)
    parser.add_argument("--spec", default="mha_d128",
                        help="a bundle of prepare-bench.sh without a score mod")
    parser.add_argument("--n", type=int, default=8192)
    parser.add_argument("--tokens", type=int, default=16384)
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    import flashgen.torch

    shapes = {"mha_d128": (128, 16, 16), "mha_d128_causal": (128, 16, 16),
              "mha_d64": (64, 32, 32), "mha_d64_causal": (64, 32, 32),
              "gqa48_d128_causal": (128, 48, 8)}
    if args.spec not in shapes:
        sys.exit(f"profile_backward.py: --spec {args.spec}: expected one of {sorted(shapes)}")
    d, heads, kv_heads = shapes[args.spec]
    causal = "causal" in args.spec
    batch = max(1, args.tokens // args.n)
    dev = torch.device("cuda")
    torch.manual_seed(0)

    def leaf(h):
        return torch.randn(batch, h, args.n, d, device=dev, dtype=torch.bfloat16,
                           requires_grad=True)
    q, k, v = leaf(heads), leaf(kv_heads), leaf(kv_heads)
    do = torch.randn(batch, heads, args.n, d, device=dev, dtype=torch.bfloat16)

    op = flashgen.torch.register(os.path.join(args.bundles, args.spec), args.spec)
    o = op(q, k, v)
    torch.autograd.grad(o, (q, k, v), do)
    torch.cuda.synchronize()

    group = heads // kv_heads
    ke = k.detach().repeat_interleave(group, 1).requires_grad_()
    ve = v.detach().repeat_interleave(group, 1).requires_grad_()
    with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
        o = F.scaled_dot_product_attention(q, ke, ve, is_causal=causal)
        torch.autograd.grad(o, (q, ke, ve), do)
    torch.cuda.synchronize()
    print(f"{args.spec}: B={batch} H={heads}/{kv_heads} N={args.n} d={d} causal={causal}: "
          "flashgen v0 and cuDNN forward+backward launched once each")


if __name__ == "__main__":
    main()
