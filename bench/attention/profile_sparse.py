#!/usr/bin/env python3
"""One launch of each variant of a block-sparse bundle and one of its dense
twin, on bench_sparse.py's inputs and lists, for Nsight Compute: where the
sparse kernel's time per listed tile goes beyond the dense kernel's (DRAM
bytes against the listed tiles' K and V, L2 hit rate, tensor-pipe activity).

    ncu --kernel-name regex:flashgen --metrics gpu__time_duration.sum,\\
        dram__bytes_read.sum,lts__t_sector_hit_rate.pct,\\
        sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active \\
      python3 bench/attention/profile_sparse.py --bundles DIR [--group 1] \\
        [--pattern random] [--batch 4] [--n 16384]

DIR is what bench/attention/prepare-sparse.sh wrote; FLASHGEN_LIB names
the runtime library where it is not in build*/lib.
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
    parser.add_argument("--group", type=int, default=1, choices=(1, 2, 4, 8))
    parser.add_argument("--pattern", default="random", choices=("random", "causal-local"))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--n", type=int, default=16384)
    args = parser.parse_args()

    import torch
    import bench_sparse as bs
    import flashgen

    dev = torch.device("cuda")
    torch.manual_seed(0)
    n, heads, d = args.n, bs.HEADS, bs.D
    q = torch.randn(args.batch, heads, n, d, device=dev, dtype=torch.bfloat16)
    k = torch.randn(args.batch, heads // args.group, n, d, device=dev, dtype=torch.bfloat16)
    v = torch.randn_like(k)
    out = torch.empty_like(q)
    blocks = bs.cdiv(n, bs.BLOCK)
    lists = bs.draw_lists(args.batch, blocks, blocks, args.pattern, bs.KEEP, 1000, dev)
    causal = args.pattern == "causal-local"
    sparse_name = bs.sparse_bundle(args.group, args.pattern)
    dense_name = bs.dense_bundle(args.group, causal)
    sparse = flashgen.load(os.path.join(args.bundles, sparse_name)).kernel(sparse_name)
    dense = flashgen.load(os.path.join(args.bundles, dense_name)).kernel(dense_name)
    for variant in range(sparse.num_variants):
        sparse.select_variant(variant)
        sparse(q, k, v, out=out, **lists)
    dense(q, k, v, out=out)
    torch.cuda.synchronize()
    print(f"{sparse_name}: {sparse.num_variants} variants and {dense_name} v0 launched once; "
          f"listed tiles {bs.listed_tiles(lists)}")


if __name__ == "__main__":
    main()
