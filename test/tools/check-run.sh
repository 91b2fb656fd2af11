#!/usr/bin/env bash
# ctest runtime_run_cli: flashgen-run on the runtime tests' axpy bundle with
# reference data written here (python3, no numpy): usage, file and argument
# errors exit 2 and say what is wrong; good data exits 0, and without a GPU
# the tool says that it checked the arguments and that there is no GPU.
# With a GPU (nvidia-smi -L finds one) the kernel runs and must match, and
# a wrong expected output must exit 1 naming the output.
#   check-run.sh FLASHGEN_RUN BUNDLE_DIR
set -uo pipefail
run=$1
bundle=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }

# ref DIR HEADS OFFSET: an axpy reference (B=1, N=3; o = 2 x + y with the
# bundle's default alpha 2), expected o shifted by OFFSET. No rowsum: the
# optional param goes as null.
ref() {
  python3 - "$@" <<'EOF'
import json, os, struct, sys
out, heads, offset = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
os.makedirs(out, exist_ok=True)
shape = (1, heads, 3, 16)
n = 1 * heads * 3 * 16
def npy(name, descr, fmt, values):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, ", ".join(str(s) for s in shape))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(os.path.join(out, name), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header.encode() + struct.pack("<%d%s" % (n, fmt), *values))
x = [((i % 17) - 8) / 8 for i in range(n)]        # exact in bf16
y = [((i % 5) - 2) / 4 for i in range(n)]
bits = [struct.unpack("<I", struct.pack("<f", v))[0] >> 16 for v in x]
npy("x.bf16.npy", "<u2", "H", bits)
npy("y.npy", "<f4", "f", y)
npy("o.expected.npy", "<f4", "f", [2 * a + b + offset for a, b in zip(x, y)])
tensors = [{"name": "x", "role": "input", "dtype": "bf16", "file": "x.bf16.npy"},
           {"name": "y", "role": "input", "dtype": "f32", "file": "y.npy"},
           {"name": "o", "role": "output", "dtype": "f32", "file": "o.expected.npy"}]
for t in tensors:
    t["shape"] = list(shape)
json.dump({"name": "axpy", "dims": {"B": 1, "N": 3}, "tensors": tensors},
          open(os.path.join(out, "meta.json"), "w"), indent=2)
EOF
}
ref "$work/good" 4 0 || { echo "FAIL: python3 could not write the reference"; exit 1; }
ref "$work/wrong" 4 0.5
ref "$work/heads" 5 0

# expect NAME STATUS PATTERN ARGS...: flashgen-run ARGS exits STATUS and its
# output (stdout and stderr) matches the extended regex PATTERN.
expect() {
  local name=$1 want=$2 pattern=$3
  shift 3
  "$run" "$@" > "$work/out" 2>&1
  local got=$?
  if [ "$got" != "$want" ]; then
    fail "$name: exit $got, expected $want"; cat "$work/out"
  elif ! grep -qE -e "$pattern" "$work/out"; then
    fail "$name: output does not match '$pattern':"; cat "$work/out"
  else
    echo "ok: $name (exit $got)"
  fi
}

expect "no arguments" 2 "expected BUNDLE and KERNEL"
expect "no --reference" 2 "--reference DIR is required" "$bundle" axpy
expect "unknown option" 2 "unexpected argument '--fast'" "$bundle" axpy --fast
expect "bad --iters" 2 "--iters takes a count" "$bundle" axpy --reference "$work/good" --iters x
expect "bad --layout" 2 "--layout takes contiguous, bnhd or padded" \
  "$bundle" axpy --reference "$work/good" --layout rows
expect "no such bundle" 2 "FileError" "$work/none" axpy --reference "$work/good"
expect "no such kernel" 2 "the bundle's kernels: axpy" "$bundle" axpz --reference "$work/good"
expect "no such variant" 2 "--variant takes all or an index below 2" \
  "$bundle" axpy --reference "$work/good" --variant 2
expect "no meta.json" 2 "cannot read .*/meta.json" "$bundle" axpy --reference "$work"
expect "shape the kernel refuses" 2 "variant 0 refuses the reference's tensors: .*x" \
  "$bundle" axpy --reference "$work/heads"

if nvidia-smi -L > /dev/null 2>&1; then
  expect "runs and matches" 0 "every output within tolerance" \
    "$bundle" axpy --reference "$work/good" --variant all --iters 5
  expect "padded layout" 0 "every output within tolerance" \
    "$bundle" axpy --reference "$work/good" --layout padded --iters 0
  expect "a mismatch exits 1" 1 "output o: .*MISMATCH" \
    "$bundle" axpy --reference "$work/wrong" --iters 0
else
  expect "no GPU: arguments checked, then says so" 0 \
    "arguments checked for variant\(s\) 0\.\.1" \
    "$bundle" axpy --reference "$work/good" --variant all
  expect "no GPU: says so" 0 "no GPU \(" "$bundle" axpy --reference "$work/good"
  expect "no GPU: null optional param shown" 0 "rowsum .*passed as null" \
    "$bundle" axpy --reference "$work/good"
fi
exit $status
