"""The device-to-device copy bandwidth that the bandwidth-bound benchmarks
(bench/attention/bench_decode.py, bench_paged.py, bench/linear/bench.py)
report against, measured in their own run: a bf16 dst.copy_(src) of up to
`gib` GiB (at most 40% of the free memory), timed by the caller's `time_ms`;
GB/s counts the bytes read and written, so a kernel that only reads can
pass 100%."""

GIB = 1 << 30


def measure_copy(time_ms, gib=2.0):
    """(GB/s, bytes moved, microseconds) of one copy on the current device."""
    import torch
    free, _ = torch.cuda.mem_get_info()
    numel = int(min(gib, free * 0.4 / GIB) * GIB) // 2
    src = torch.ones(numel, device="cuda", dtype=torch.bfloat16)
    dst = torch.empty_like(src)
    ms = time_ms(lambda: dst.copy_(src))
    del src, dst
    torch.cuda.empty_cache()
    moved = 2 * numel * 2
    return moved / (ms * 1e-3) / 1e9, moved, ms * 1e3
