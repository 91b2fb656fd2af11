#!/usr/bin/env python3
"""Emits one flash3 kernel for the device tests, at build time.

  emit_flash3_kernel.py FLASHGEN_OPT SPEC.mlir OUT.cu SCHED [SCHED...]

Reads the spec (a func.func holding one flash.attention op, no schedule),
gives the op the flash3 schedules SCHED (the first one is flash.schedule,
all of them are flash.candidates), renames the function to OUT's stem
(ws_mha_d128.cu from mha_d128.mlir: the warp-specialized schedules of the
same spec, under another kernel name), and writes the CUDA that
flashgen-opt -flash-lower-kernels -flash-warp-specialize -canonicalize -cse
-flash-print-cuda
prints to OUT.cu. test/unit/device/CMakeLists.txt lists the kernels.

A first argument heads=HQ,HK gives the spec HQ query and HK key/value heads
(the emulator runs every head of the launch grid, and a grid whose query
tiles go heaviest first over all heads cannot be cut to a few). After the
kernels, OUT.cu defines NAME_k::launch_grid(B, N, M, grid): the grid
flash-print-cuda reported, as C++ over the sizes.

SCHED is tile_q,tile_kv,stages,warps[,inner_kv[,inner_q[,persistent[,rotary_prepass[,mask_lists]]]]]:
persistent = 1 loops one CTA per SM over the query tiles (claimed from a
counter under causal masks: the kernel then takes tile_claims);
rotary_prepass = 1 (rotary specs) rotates K in a first kernel
(NAME_rotate_keys) into the copy the attention kernel reads; mask_lists = 1
(a mask_mod that reads extras at positions) lists the key tiles in a first
kernel (NAME_mask_lists) that the attention kernel walks; inner_kv = 64
issues one P V wgmma per 64-column slab instead of one per K step; inner_q = 1
overlaps softmax with the warpgroup's own P V (producer form only). A
schedule with warps % 4 == 0 and tile_q == 16 (warps - 4) has a producer
warpgroup (mbarriers, ping-pong turns); tile_q == 16 warps has none.
"""
import os
import re
import subprocess
import sys
import tempfile

PIPELINE = ['-flash-lower-kernels', '-flash-warp-specialize', '-canonicalize', '-cse', '-flash-print-cuda']


def schedule_attr(sched, d, dv, rotary=False):
    f = [int(x) for x in sched.split(',')]
    tq, tk, st, w = f[:4]
    ikv = f[4] if len(f) > 4 else 0
    iq = f[5] if len(f) > 5 else 0
    persistent = f[6] if len(f) > 6 else 0
    prepass = f[7] if len(f) > 7 else 0
    lists = f[8] if len(f) > 8 else 0
    producer = w % 4 == 0 and tq == 16 * (w - 4)
    # Q tile(s) + K and V stages (bf16), 1 KiB alignment slack, and the
    # producer's 8-byte words (one barrier for Q, two per stage each way;
    # persistent: two Q slots with their empty barriers and the claims' six
    # words) rounded to 128.
    q_slots = 2 if persistent else 1
    # Rotary embedding: a ready barrier per Q and K slot (rotating warps;
    # none with the key pre-pass, whose consumers rotate their Q rows).
    words = q_slots + 4 * st + (q_slots + 6 if persistent else 0) + (q_slots + st if rotary and not prepass else 0)
    smem = (q_slots * tq * d + st * tk * (d + dv)) * 2 + 1024 + ((words * 8 + 127) // 128 * 128 if producer else 0)
    return (f'#flash.schedule<algorithm = flash3, tile_q = {tq}, tile_kv = {tk}, tile_d = {d}, '
            f'stages = {st}, warps = {w}, chunk = 0, inner_q = {iq}, inner_kv = {ikv}, tile_dv = {dv}, '
            f'smem_bytes = {smem}, persistent = {persistent}, rotary_prepass = {prepass}, '
            f'mask_lists = {lists}>')


def scheduled_spec(src, name, new_name, scheds):
    src, n = re.subn(r'@' + re.escape(name) + r'\(', '@' + new_name + '(', src)
    if n != 1:
        sys.exit(f'emit_flash3_kernel: expected one func @{name} in the spec, found {n}')
    if 'flash.schedule' in src:
        sys.exit('emit_flash3_kernel: the spec already has a schedule')
    # D from q (the first tensor type), Dv from v (the third): MLA's 192 / 128.
    dims = [int(x) for x in re.findall(r'tensor<\?x\d+x\?x(\d+)x', src)]
    d, dv = dims[0], dims[2] if len(dims) > 2 else dims[0]
    rotary = re.search(r'\brotary (half|interleaved)\b', src) is not None
    attrs = [schedule_attr(s, d, dv, rotary) for s in scheds]
    attr_dict = '{flash.schedule = ' + attrs[0] + ', flash.candidates = [' + ', '.join(attrs) + ']}'
    # The attribute dict goes right before the op's type list: after
    # `dims [...]` (and `extras(...)`, whose operand types come first), or
    # after the closing brace of a score_mod/mask_mod/output_mod region.
    op = src.find('flash.attention')
    start = op
    regions = re.compile(r'\}\s*:\s*tensor<').search(src, op) if op >= 0 else None
    if regions is not None:
        start = regions.start() + 1
    elif op >= 0 and 'extra_dims' in src[op:]:
        start = src.index('extra_dims', op)
    m = re.compile(r'\s*:\s*tensor<').search(src, start) if op >= 0 else None
    if m is None:
        sys.exit('emit_flash3_kernel: no flash.attention op with a tensor type list in the spec')
    return src[:m.start()] + ' ' + attr_dict + src[m.start():]


def with_heads(src, heads):
    """The spec with its query heads (those of its first tensor) set to hq and
    its key/value heads (those of the second) to hk."""
    hq, hk = (int(x) for x in heads.split(','))
    types = re.findall(r'tensor<\?x(\d+)x\?x\d+x\w+>', src)
    if len(types) < 2:
        sys.exit('emit_flash3_kernel: heads= needs q and k of the form tensor<?xHx?xDxT>')
    sq, sk = int(types[0]), int(types[1])
    if sq == sk and hq != hk:
        sys.exit('emit_flash3_kernel: heads= keeps a spec with as many query as key heads so')
    new = {sq: hq, sk: hk}
    return re.sub(r'tensor<\?x(\d+)x\?x',
                  lambda m: f'tensor<?x{new.get(int(m.group(1)), int(m.group(1)))}x?x', src)


def grid_functions(printed):
    """C++ launch_grid functions for each kernel's reported grid."""
    functions = {'cdiv': 'fg::ceildiv', 'min': 'fg::imin', 'max': 'fg::imax'}

    def cpp(extent):
        return re.sub(r'\b([A-Za-z_]\w*)\b(\s*\()?',
                      lambda m: functions[m.group(1)] + m.group(2) if m.group(2) else 'dim_' + m.group(1),
                      extent)
    out = ['', '// The launch grids flash-print-cuda reported (x, y, z), over the sizes,',
           '// for the host (the emulator); NVRTC compiles device code only.',
           '#if !defined(__CUDACC_RTC__)']
    for kernel, grid in re.findall(r'^// === kernel @(\w+) grid\((.*)\) block', printed, re.M):
        dims = [cpp(x.strip()) for x in re.split(r',\s(?![^()]*\))', grid)]
        if len(dims) != 3:
            sys.exit(f'emit_flash3_kernel: cannot read the grid of {kernel}: {grid}')
        out += [f'namespace {kernel}_k {{',
                'inline void launch_grid(int dim_B, int dim_N, int dim_M, unsigned grid[3]) {',
                '  (void)dim_B; (void)dim_N; (void)dim_M;',
                '  // num_sms: the emulated device\'s SMs (an H100\'s or H200\'s).',
                '  [[maybe_unused]] const int dim_num_sms = 132;']
        out += [f'  grid[{i}] = unsigned({d});' for i, d in enumerate(dims)]
        out += ['}', f'}}  // namespace {kernel}_k']
    out.append('#endif')
    return '\n'.join(out) + '\n'


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    opt, spec, out, scheds = argv[1], argv[2], argv[3], argv[4:]
    heads = None
    if scheds and scheds[0].startswith('heads='):
        heads, scheds = scheds[0][len('heads='):], scheds[1:]
    name = os.path.splitext(os.path.basename(spec))[0]
    new_name = os.path.splitext(os.path.basename(out))[0]
    with open(spec) as f:
        src = f.read()
    if heads:
        src = with_heads(src, heads)
    src = scheduled_spec(src, name, new_name, scheds)
    with tempfile.TemporaryDirectory() as tmp:
        mlir = os.path.join(tmp, new_name + '.mlir')
        with open(mlir, 'w') as f:
            f.write(src)
        r = subprocess.run([opt, mlir] + PIPELINE + ['-o', os.devnull], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        sys.exit(f'emit_flash3_kernel: flashgen-opt failed on {spec} with schedules {" ".join(scheds)}')
    rel = os.path.relpath(spec, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..'))
    header = (f'// Generated at build time by test/unit/device/kernels/emit_flash3_kernel.py:\n'
              f'// flashgen-opt {" ".join(PIPELINE)} on {rel}\n'
              f'// with flash3 schedules {" ".join(scheds)}'
              + (f' and heads {heads}' if heads else '') + '. Do not edit.\n')
    tmp_out = out + '.tmp'
    with open(tmp_out, 'w') as f:
        f.write(header + r.stdout + grid_functions(r.stdout))
    os.replace(tmp_out, out)


if __name__ == '__main__':
    main(sys.argv)
