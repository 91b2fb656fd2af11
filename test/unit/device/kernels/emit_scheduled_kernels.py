#!/usr/bin/env python3
"""Emits the kernels of one spec under the scheduler's own schedules of one
algorithm, for the device tests, at build time.

  emit_scheduled_kernels.py FLASHGEN_OPT SPEC.mlir OUT.cu ALGORITHM[*K] DIMS [SCHED]

Renames the spec's function to OUT's stem (so the same spec can be emitted
for several algorithms into one test binary), derives its backward
(flash-derive-backward) when ALGORITHM is a gradient one (flash2_grad,
flash3_grad or a _deterministic form), lets flash-schedule choose the best
ALGORITHM schedule for sm_80 (sm_90 for the warpgroup algorithms) at DIMS
("B=1,N=4096"), lowers and prints every kernel (the forward's too: nothing
is hand-scheduled here, these are the compiler's own choices) into OUT.cu.
`*K` keeps the K best schedules as variants _v0 .. _v(K-1) (default 1).
test/unit/device/CMakeLists.txt lists the kernels; AttentionGradEmuTest.cpp
and AttentionDSplitEmuTest.cpp run them on the emulator. SCHED
(tile_q,tile_kv,stages,warps) replaces the scheduler's choice of a gradient
schedule by that ALGORITHM schedule, for shapes the scheduler does not pick
at DIMS (still checked by flash-lower-kernels' verifiers).
"""
import os
import re
import subprocess
import sys
import tempfile


def main(argv):
    if len(argv) not in (6, 7):
        sys.exit(__doc__)
    opt, spec, out, algorithm, dims = argv[1:6]
    forced = argv[6] if len(argv) == 7 else None
    algorithm, _, top_k = algorithm.partition('*')
    top_k = int(top_k or 1)
    gradient = '_grad' in algorithm
    name = os.path.splitext(os.path.basename(spec))[0]
    new_name = os.path.splitext(os.path.basename(out))[0]
    with open(spec) as f:
        src, n = re.subn(r'@' + re.escape(name) + r'\(', '@' + new_name + '(', f.read())
    if n != 1:
        sys.exit(f'emit_scheduled_kernels: expected one func @{name} in {spec}, found {n}')
    if forced and not gradient:
        sys.exit('emit_scheduled_kernels: SCHED replaces gradient schedules only')
    # The warpgroup kernels need a target with wgmma.
    target = 'sm_90' if algorithm.startswith('flash3') else 'sm_80'
    schedule = (['-flash-derive-backward'] if gradient else []) + [
        f'-flash-io-bounds=target={target} dims={dims}',
        f'-flash-schedule=target={target} dims={dims} top-k={top_k} algorithm={algorithm}']
    lower = [f'-flash-lower-kernels=target={target}', '-flash-warp-specialize', '-canonicalize', '-cse',
             '-flash-print-cuda']
    pipeline = schedule + lower
    with tempfile.TemporaryDirectory() as tmp:
        mlir = os.path.join(tmp, new_name + '.mlir')
        with open(mlir, 'w') as f:
            f.write(src)
        if forced:
            # Any schedule the scheduler returns is rewritten to the forced
            # one (the algorithm's own space may have none that fits).
            schedule = schedule[:-1] + [schedule[-1].replace(f' algorithm={algorithm}', '')]
            r = subprocess.run([opt, mlir] + schedule, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                sys.stderr.write(r.stderr)
                sys.exit(f'emit_scheduled_kernels: flashgen-opt failed to schedule {spec}')
            tq, tk, st, w = (int(x) for x in forced.split(','))
            text = r.stdout
            grad = text.index('flash.attention_grad')
            sched = re.compile(r'(flash\.schedule = #flash\.schedule<algorithm = )\w+(, tile_q = )\d+'
                               r'(, tile_kv = )\d+(, tile_d = \d+, stages = )\d+(, warps = )\d+')
            m = sched.search(text, grad)
            if m is None:
                sys.exit('emit_scheduled_kernels: no flash.schedule on the attention_grad op')
            text = (text[:m.start()] + f'{m.group(1)}{algorithm}{m.group(2)}{tq}{m.group(3)}{tk}{m.group(4)}{st}'
                    f'{m.group(5)}{w}'
                    + text[m.end():])
            # Only the forced schedule is lowered (no other candidates).
            text = re.sub(r', flash\.candidates = \[[^\]]*\]', '', text)
            with open(mlir, 'w') as f:
                f.write(text)
            pipeline = lower
        r = subprocess.run([opt, mlir] + (lower if forced else pipeline) + ['-o', os.devnull],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        sys.exit(f'emit_scheduled_kernels: flashgen-opt failed on {spec} ({algorithm})')
    rel = os.path.relpath(spec, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..'))
    header = (f'// Generated at build time by test/unit/device/kernels/emit_scheduled_kernels.py:\n'
              f'// flashgen-opt {" ".join(pipeline)} on {rel}. Do not edit.\n')
    tmp_out = out + '.tmp'
    with open(tmp_out, 'w') as f:
        f.write(header + r.stdout)
    os.replace(tmp_out, out)


if __name__ == '__main__':
    main(sys.argv)
