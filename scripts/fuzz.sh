#!/usr/bin/env bash
# Builds the libFuzzer targets (test/fuzz/) with clang-22, AddressSanitizer
# and UndefinedBehaviorSanitizer in build-fuzz/, and fuzzes each for a
# bounded time from the corpus in test/fuzz/corpus/ (new inputs go to
# build-fuzz/corpus/, never into the checkout). Fails on any crash, hang
# (an input running past -timeout), leak or sanitizer report; the input is
# left in build-fuzz/artifacts/.
#
#   FLASHGEN_FUZZ_SECONDS   seconds per target (default 60)
#   FLASHGEN_JOBS           build parallelism (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FLASHGEN_FUZZ_SECONDS:-60}
cc=${FLASHGEN_FUZZ_CC:-clang-22}
cxx=${FLASHGEN_FUZZ_CXX:-clang++-22}
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz.sh: $cxx not found (scripts/install-deps.sh installs clang-22 and libclang-rt-22-dev)" >&2
  exit 1
fi
export CCACHE_BASEDIR="$PWD"
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# The project's own code is instrumented (coverage for libFuzzer, ASan,
# UBSan); LLVM, MLIR and Z3 come from Debian uninstrumented. vptr checks
# need RTTI, which LLVM is built without.
sanitize="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -G Ninja -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" \
  -DFLASHGEN_FUZZ=ON -DCMAKE_CXX_FLAGS="$sanitize" -DCMAKE_C_FLAGS="$sanitize" \
  -DCMAKE_EXE_LINKER_FLAGS=-Wl,--as-needed -DCMAKE_SHARED_LINKER_FLAGS=-Wl,--as-needed >/dev/null
# (--as-needed, Debian gcc's default: the CUDA stub libcuda.so that CMake's
# CUDA::nvrtc brings along is dropped, as the runtime dlopens the driver.)
ninja -C build-fuzz -j "${FLASHGEN_JOBS:-2}" flashgen-fuzz-spec flashgen-fuzz-manifest
mkdir -p build-fuzz/artifacts
# Per-input limits: a manifest answers in milliseconds; a spec runs the Z3
# search (10 s per check before it falls back to enumeration) on a shared,
# sanitized build, so its hang limit leaves room for a loaded machine.
declare -A timeout=([manifest]=10 [spec]=60)
# The two targets fuzz at the same time (one process each, single-threaded:
# on CI's two cores this halves the wall time, each still gets its seconds).
fuzz_target() {
  local target=$1
  mkdir -p "build-fuzz/corpus/$target"
  # detect_leaks: an MLIR context per input must free what it allocates.
  # allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons new slabs when
  # inlined into this sanitized build, and the unsanitized libMLIR.so reads
  # them without unpoisoning (a false use-after-poison in StringAttr::get
  # whenever our code happens to start a slab); the mixed build cannot keep
  # those manual annotations consistent, ASan's own checks stay on.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allow_user_poisoning=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build-fuzz/test/bin/flashgen-fuzz-$target" \
      -max_total_time="$seconds" -timeout="${timeout[$target]}" -rss_limit_mb=6144 \
      -max_len=16384 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/artifacts/$target-" \
      "build-fuzz/corpus/$target" "test/fuzz/corpus/$target" \
      > "build-fuzz/fuzz-$target.log" 2>&1
}
declare -A pid
for target in manifest spec; do
  echo "fuzz.sh: flashgen-fuzz-$target for ${seconds}s"
  fuzz_target "$target" &
  pid[$target]=$!
done
status=0
for target in manifest spec; do
  if ! wait "${pid[$target]}"; then
    echo "fuzz.sh: flashgen-fuzz-$target FAILED (build-fuzz/fuzz-$target.log, build-fuzz/artifacts/):"
    grep -E "ERROR|SUMMARY|==[0-9]+==|timeout|Test unit written" "build-fuzz/fuzz-$target.log" | head -20
    status=1
  else
    echo -n "fuzz.sh: flashgen-fuzz-$target: "
    grep -E "stat::number_of_executed_units|stat::new_units_added" "build-fuzz/fuzz-$target.log" | tr '\n' ' '
    echo
  fi
done
exit $status
