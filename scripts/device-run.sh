#!/usr/bin/env bash
# What one call on the GPU machine runs (it has CUDA and PyTorch, no LLVM):
# builds the runtime half (-DFLASHGEN_RUNTIME_ONLY=ON), runs the runtime and
# GPU correctness tests against the carried cases, then the attention
# benchmark against the carried bundles. Logs go to $OUT (or ./device-out).
#   scripts/device-run.sh CARRY_DIR   (with CARRY_DIR/gpu-cases, CARRY_DIR/bench-bundles,
#                                      CARRY_DIR/bench-bundles-backward)
# SKIP_ATTENTION_BENCH, SKIP_BACKWARD_BENCH, SKIP_EXTRAS_BENCH,
# SKIP_DECODE_BENCH, SKIP_PAGED_BENCH, SKIP_VARLEN_BENCH, SKIP_SPARSE_BENCH, SKIP_DOCUMENT_BENCH, SKIP_LINEAR_BENCH, SKIP_DELTA_BENCH, SKIP_TRAFFIC, SKIP_TUNE,
# SKIP_SANITIZER, SKIP_DECODE_LOOP
# and SKIP_RUN_EXAMPLE (=1) skip their steps.
set -uo pipefail
cd "$(dirname "$0")/.."
carry=${1:?usage: scripts/device-run.sh CARRY_DIR}
out=${OUT:-device-out}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv > "$out/gpu.txt" 2>&1
{
  cmake -G Ninja -S . -B build-device -DFLASHGEN_RUNTIME_ONLY=ON -DCMAKE_BUILD_TYPE=Release &&
  ninja -C build-device flashgen_runtime flashgen-gpu-tests flashgen_runtime_tests flashgen-nvrtc flashgen-run flashgen-tune flashgen_autotune_tests flashgen-decode-loop flashgen-recurrent-decode-loop
} > "$out/build.log" 2>&1 || { echo "runtime-only build failed"; tail -30 "$out/build.log"; }
echo "== runtime tests (GPU launch tests included)"
ctest --test-dir build-device -L runtime --output-on-failure > "$out/runtime-tests.log" 2>&1; tail -4 "$out/runtime-tests.log"
build-device/test/bin/flashgen_runtime_tests --gtest_filter='GpuLaunch*' > "$out/gpu-launch.log" 2>&1
grep -E "overhead|Failure|Expected|Which is|Value of|OK \]|FAILED|PASSED" "$out/gpu-launch.log" | head -30
# The kernels of this run share one cache (the tests above use their own).
export FLASHGEN_CACHE_DIR=/tmp/flashgen-cache
if [ -d "$carry/gpu-cases" ]; then
  echo "== GPU correctness"
  FLASHGEN_GPU_CASES="$carry/gpu-cases/cases.json" build-device/test/bin/flashgen-gpu-tests \
    > "$out/gpu-tests.log" 2>&1
  grep -E "^\[gpu-case\]|FAILED|PASSED|tests ran" "$out/gpu-tests.log" | tail -60
fi
# The main job's step 4 on one carried case (the first causal_gqa one, else
# the first): flashgen-run checks every variant's outputs against the
# reference and times it, as scripts/run-example.sh does where compiler and
# GPU meet. SKIP_RUN_EXAMPLE=1 skips it.
if [ -f "$carry/gpu-cases/cases.json" ] && [ -z "${SKIP_RUN_EXAMPLE:-}" ] &&
   [ -x build-device/bin/flashgen-run ]; then
  picked=$(python3 -c '
import json, sys
cases = json.load(open(sys.argv[1]))["cases"]
pick = next((c for c in cases if c["label"].startswith("causal_gqa")), cases[0] if cases else None)
if pick:
    print(pick["label"], pick["bundle"], pick["kernel"], pick["reference"])
' "$carry/gpu-cases/cases.json")
  if [ -n "$picked" ]; then
    read -r label bundle kernel reference <<< "$picked"
    echo "== flashgen-run: $label ($kernel) against its reference, timed"
    build-device/bin/flashgen-run "$carry/gpu-cases/$bundle" "$kernel" \
      --reference "$carry/gpu-cases/$reference" --variant all > "$out/run-example.log" 2>&1
    echo "flashgen-run exit $?"
    grep -E "^variant|^flashgen-run: (GPU|every|no GPU|[0-9]+ variant)|FLOP per launch" \
      "$out/run-example.log" | head -20
  fi
fi

# compute-sanitizer over the GPU suite (issue #20): memcheck, racecheck and
# synccheck each run the GPU correctness tests (every kernel family, ragged
# sizes, strided inputs) and the runtime's GPU launch tests; the error count
# of each goes to $out/sanitizer-summary.txt (README: "compute-sanitizer").
# SKIP_SANITIZER=1 skips it; SANITIZER_FILTER narrows the gtest filter.
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
if [ -z "${SKIP_SANITIZER:-}" ] && [ -x "$sanitizer" ]; then
  echo "== compute-sanitizer (memcheck, racecheck, synccheck)"
  summary="$out/sanitizer-summary.txt"
  : > "$summary"
  for tool in memcheck racecheck synccheck; do
    for suite in gpu runtime; do
      log="$out/sanitizer-$tool-$suite.log"
      if [ "$suite" = gpu ]; then
        [ -d "$carry/gpu-cases" ] || continue
        FLASHGEN_GPU_CASES="$carry/gpu-cases/cases.json" "$sanitizer" --tool "$tool" \
          --error-exitcode 99 --print-limit 20 \
          build-device/test/bin/flashgen-gpu-tests --gtest_filter="${SANITIZER_FILTER:-*}" \
          > "$log" 2>&1
      else
        "$sanitizer" --tool "$tool" --error-exitcode 99 --print-limit 20 \
          build-device/test/bin/flashgen_runtime_tests --gtest_filter='GpuLaunch*' > "$log" 2>&1
      fi
      rc=$?
      errors=$(grep -Eo 'ERROR SUMMARY: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+$')
      hazards=$(grep -Eo 'RACECHECK SUMMARY: [0-9]+ hazards? displayed \([0-9]+ errors?' "$log" | tail -1)
      echo "$tool $suite: exit $rc, ${errors:-?} errors${hazards:+ ($hazards)}" | tee -a "$summary"
    done
  done
fi

export FLASHGEN_LIB=$PWD/build-device/lib/libflashgen_runtime.so
# Issue #21's plumbing on one GPU: the kernels' lse drives the ring merge
# (test/unit/distributed, class GpuPlumbing); and the torch custom op's
# forward, eager and compiled (test/unit/torch, class Gpu).
if [ -d "$carry/distributed-bundles" ]; then
  echo "== ring attention over the real kernels (one process)"
  FLASHGEN_DISTRIBUTED_BUNDLES="$carry/distributed-bundles" PYTHONPATH=python \
    python3 test/unit/distributed/distributed_test.py GpuPlumbing > "$out/distributed-gpu.log" 2>&1
  tail -4 "$out/distributed-gpu.log"
fi
if [ -d "$carry/torch-bundles" ]; then
  echo "== flashgen.torch on the GPU"
  FLASHGEN_TORCH_BUNDLES="$carry/torch-bundles" PYTHONPATH=python \
    python3 test/unit/torch/torch_test.py Gpu > "$out/torch-gpu.log" 2>&1
  tail -6 "$out/torch-gpu.log"
fi
# run_bench DIR SKIP_VAR TITLE SCRIPT LOG LINES [FLAG...]: the benchmark
# bench/attention/SCRIPT on the bundles of CARRY_DIR/DIR, unless DIR is
# missing or SKIP_VAR is set; its output goes to $out/LOG, its last LINES
# lines to the console.
run_bench() {
  local dir=$1 skip=$2 title=$3 script=$4 log=$5 lines=$6
  shift 6
  { [ -d "$carry/$dir" ] && [ -z "${!skip:-}" ]; } || return 0
  echo "== $title"
  PYTHONUNBUFFERED=1 python3 "bench/attention/$script" --bundles "$carry/$dir" \
    --out "$out" "$@" 2>&1 | tee "$out/$log" | tail -"$lines"
}
# The attention forward benchmark on CARRY_DIR/bench-bundles: bench.log.
# shellcheck disable=SC2086
run_bench bench-bundles SKIP_ATTENTION_BENCH "attention benchmark" bench.py bench.log 30 \
  ${BENCH_FLAGS:-}
# Regions that read extras (document ids, a bias table, a run-time prefix)
# against FlexAttention with the same modifiers (bench/attention/bench_extras.py)
# on the bundles of CARRY_DIR/bench-extras: attention-extras-results.json and
# bench-extras.log.
run_bench bench-extras SKIP_EXTRAS_BENCH "attention with extras against FlexAttention" \
  bench_extras.py bench-extras.log 12
# Decode (examples/decode_gqa.mlir: N new tokens over M cached keys, GQA 32/8,
# d=128) against SDPA's cuDNN and FA2 backends and FlexAttention, beside the
# copy bandwidth measured in the same run (bench/attention/bench_decode.py), on
# the bundle of CARRY_DIR/bench-decode (bench/prepare-bench.sh writes it):
# attention-decode-results.json and bench-decode.log; --graph also times
# every variant and the SDPA peers inside CUDA graphs (the README's table).
# DECODE_BENCH_FLAGS replaces the flags (--graph --quick, --graph --no-flex, ...).
# shellcheck disable=SC2086
run_bench bench-decode SKIP_DECODE_BENCH "decode attention against cuDNN, FA2 and Flex" \
  bench_decode.py bench-decode.log 60 ${DECODE_BENCH_FLAGS:---graph}
# Paged against contiguous caches (bench/attention/bench_paged.py) on the
# bundles of CARRY_DIR/bench-paged: attention-paged-results.json and
# bench-paged.log.
# shellcheck disable=SC2086
run_bench bench-paged SKIP_PAGED_BENCH "paged against contiguous KV caches" \
  bench_paged.py bench-paged.log 14 ${PAGED_BENCH_FLAGS:-}
# Varlen (packed) prefill against the dense kernel on the same tokens and
# FA2's varlen kernel (bench/attention/bench_varlen.py) on the bundles of
# CARRY_DIR/bench-varlen: attention-varlen-results.json and bench-varlen.log.
# shellcheck disable=SC2086
run_bench bench-varlen SKIP_VARLEN_BENCH "varlen prefill against dense batches and FA2 varlen" \
  bench_varlen.py bench-varlen.log 14 ${VARLEN_BENCH_FLAGS:-}
# Block-sparse attention (flash.block_mask) against FlexAttention with the
# same BlockMask lists and our dense kernel (bench/attention/bench_sparse.py)
# on the bundles of CARRY_DIR/bench-sparse (bench/attention/prepare-sparse.sh
# writes them): attention-sparse-results.json and bench-sparse.log.
# SPARSE_BENCH_FLAGS replaces the flags (--quick, --groups 1,8, ...).
# shellcheck disable=SC2086
run_bench bench-sparse SKIP_SPARSE_BENCH "block-sparse attention against FlexAttention" \
  bench_sparse.py bench-sparse.log 16 ${SPARSE_BENCH_FLAGS:-}
# Packed documents, forward and forward+backward, against FlexAttention and
# the same schedules without the tile lists (bench/attention/bench_document.py)
# on the bundles of CARRY_DIR/bench-document (bench/attention/prepare-document.sh
# writes them): attention-document-results.json and bench-document.log.
run_bench bench-document SKIP_DOCUMENT_BENCH "packed documents against FlexAttention" \
  bench_document.py bench-document.log 4
# Decoding gated DeltaNet from C++ (examples/host/recurrent_decode_loop.cpp)
# with one state buffer read and written in place, a CUDA graph per token,
# every step checked against a float64 host recurrence:
# recurrent-decode-loop.log. SKIP_DECODE_LOOP=1 skips it.
if [ -d "$carry/bench-step/gated_delta_rule" ] && [ -z "${SKIP_DECODE_LOOP:-}" ]; then
  echo "== recurrent decode loop, state in place (C++, CUDA graph)"
  build-device/examples/flashgen-recurrent-decode-loop "$carry/bench-step/gated_delta_rule" \
    --batch 64 --steps 16 > "$out/recurrent-decode-loop.log" 2>&1
  echo "exit $?" >> "$out/recurrent-decode-loop.log"
  tail -4 "$out/recurrent-decode-loop.log"
fi
# The C++ serving loop (examples/host/decode_loop.cpp) on the paged bundle:
# pages handed out in a shuffled order, one CUDA graph replayed per token,
# every step checked against a float64 host reference: decode-loop.log.
# SKIP_DECODE_LOOP=1 skips it.
if [ -d "$carry/bench-paged/decode_paged" ] && [ -z "${SKIP_DECODE_LOOP:-}" ]; then
  echo "== decode loop over a paged cache (C++, CUDA graph)"
  build-device/examples/flashgen-decode-loop "$carry/bench-paged/decode_paged" \
    --batch 8 --steps 32 --max-len 4096 > "$out/decode-loop.log" 2>&1
  echo "exit $?" >> "$out/decode-loop.log"
  tail -7 "$out/decode-loop.log"
fi
# Forward+backward against cuDNN, FA2 and Flex (bench/attention/bench_backward.py)
# on the bundles `FLASHGEN_BACKWARD=1 bench/prepare-bench.sh CARRY_DIR/bench-bundles-backward`
# writes: attention-backward-results.json (+ .png) and bench-backward.log.
# SKIP_BACKWARD_BENCH=1 skips it; BACKWARD_BENCH_FLAGS adds flags (--quick, --specs ...).
if [ -d "$carry/bench-bundles-backward" ] && [ -z "${SKIP_BACKWARD_BENCH:-}" ]; then
  echo "== attention forward+backward benchmark"
  # shellcheck disable=SC2086
  PYTHONUNBUFFERED=1 python3 bench/attention/bench_backward.py \
    --bundles "$carry/bench-bundles-backward" --out "$out" ${BACKWARD_BENCH_FLAGS:-} 2>&1 |
    tee "$out/bench-backward.log" | tail -40
  python3 bench/attention/table.py "$out/attention-backward-results.json" \
    > "$out/attention-backward-table.md" 2>&1
fi
if [ -d "$carry/bench-bundles" ] && [ -z "${SKIP_LINEAR_BENCH:-}" ]; then
  echo "== linear benchmark"
  peers=()
  [ -d "$carry/peers" ] && peers=(--peers "$carry/peers")
  PYTHONUNBUFFERED=1 python3 bench/linear/bench.py --bundles "$carry/bench-bundles" \
    "${peers[@]}" --out "$out" 2>&1 | tee "$out/linear-bench.log" | tail -12
fi
# DeltaNet and gated DeltaNet against fla's chunk_delta_rule and
# chunk_gated_delta_rule (bench/linear/bench_delta.py) on the delta_* and
# gated_delta_* bundles of CARRY_DIR/bench-bundles (a missing one is skipped):
# linear-delta-results.json and linear-delta-bench.log. SKIP_DELTA_BENCH=1 skips it.
if [ -d "$carry/bench-bundles" ] && [ -z "${SKIP_DELTA_BENCH:-}" ]; then
  echo "== delta-rule benchmark"
  peers=()
  [ -d "$carry/peers" ] && peers=(--peers "$carry/peers")
  PYTHONUNBUFFERED=1 python3 bench/linear/bench_delta.py --bundles "$carry/bench-bundles" \
    "${peers[@]}" --out "$out" 2>&1 | tee "$out/linear-delta-bench.log" | tail -16
fi
# Decoding the recurrences (bench/linear/bench_step.py): one token of 64 and
# 256 sequences, the state in place, against the copy bandwidth of the same
# run and fla's fused_recurrent_gated_delta_rule, on CARRY_DIR/bench-step:
# linear-step-results.json and linear-step-bench.log. SKIP_STEP_BENCH=1 skips it.
if [ -d "$carry/bench-step" ] && [ -z "${SKIP_STEP_BENCH:-}" ]; then
  echo "== recurrent step benchmark"
  peers=()
  [ -d "$carry/peers" ] && peers=(--peers "$carry/peers")
  PYTHONUNBUFFERED=1 python3 bench/linear/bench_step.py --bundles "$carry/bench-step" \
    "${peers[@]}" --out "$out" 2>&1 | tee "$out/linear-step-bench.log" | tail -10
fi

# Measured DRAM traffic (issue #16): every kernel of the carried bench bundles
# launched once under Nsight Compute (bench/traffic/measure.py), measured bytes
# beside the modeled ones and the bound of each bundle's explain.json:
# traffic-h200.json (for `flashgen explain --measured` and
# bench/traffic/plot.py) and traffic.log. SKIP_TRAFFIC=1 skips it.
traffic_dirs=()
for dir in bench-bundles bench-bundles-backward; do
  [ -d "$carry/$dir" ] && traffic_dirs+=(--bundles "$carry/$dir")
done
if [ ${#traffic_dirs[@]} -gt 0 ] && [ -z "${SKIP_TRAFFIC:-}" ]; then
  echo "== DRAM traffic under Nsight Compute: measured, modeled, lower bound"
  PYTHONUNBUFFERED=1 python3 bench/traffic/measure.py "${traffic_dirs[@]}" \
    --out "$out/traffic-h200.json" > "$out/traffic.log" 2>&1
  echo "measure.py exit $?"
  grep -vE '^(==PROF==|launched )' "$out/traffic.log" | tail -45
fi

if [ -d "$carry/bench-bundles" ] && [ -z "${SKIP_TUNE:-}" ]; then
  echo "== autotune: the scheduler's candidates timed on the GPU"
  build-device/test/bin/flashgen_autotune_tests > "$out/autotune-tests.log" 2>&1
  grep -E "^\[ tune|Failure|FAILED|PASSED" "$out/autotune-tests.log" | head -20
  export FLASHGEN_TUNING_DIR="$out/tuning"
  tune() {  # tune NAME DIM...: the bench bundles whose symbols these dims cover
    local name=$1 status; shift
    build-device/bin/flashgen-tune "$carry"/bench-bundles/*/ --skip-missing-dims "$@" \
      --reps "${TUNE_REPS:-50}" > "$out/tune-$name.txt" 2> "$out/tune-$name.log"
    status=$?
    echo "-- $name: flashgen-tune exit $status (tables in tune-$name.txt)"
    grep -v -e '^flashgen: tun' -e '^flashgen-tune: skipping' "$out/tune-$name.log" | tail -5
    grep -E '^[A-Za-z_][A-Za-z0-9_]* \[|^  winner|^summary' "$out/tune-$name.txt"
  }
  tune attention --dim B=2 --dim N=8192
  tune linear --dim B=4 --dim T=16384
fi

# Everything above in one archive (the tool returns at most 8 files).
tar -czf "$out/logs.tar.gz" -C "$out" --exclude logs.tar.gz . 2>/dev/null
