"""GPU time per call of a small step, as a serving engine runs it.

A decode step of tens of microseconds, launched from Python one call at a
time, is bound by the host: the GPU waits on the launch (bench_decode.py
measured 49-97 us a launch for flashgen, 37-122 for SDPA), so an eager
timing reports the host. Serving engines capture their step in a CUDA
graph; graph_us times the same way.
"""


def graph_us(torch, call, copies):
    """GPU time per call inside a CUDA graph of back-to-back calls, each on
    the next of `copies` input sets (call(i) runs on set i; use sets that
    together outgrow the L2, so no call finds the previous one's data
    there). The graph is replayed 10 times; the median per call, in us."""
    calls = max(copies, 8)
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for i in range(calls):  # warm-up: first-call compiles, workspaces
            call(i % copies)
    torch.cuda.current_stream().wait_stream(stream)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for i in range(calls):
            call(i % copies)
    graph.replay()
    torch.cuda.synchronize()
    times = []
    for _ in range(10):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1e3 / calls)
    del graph
    return sorted(times)[len(times) // 2]
