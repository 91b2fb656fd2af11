#!/usr/bin/env bash
# Builds flashgen and runs every test: GoogleTest unit tests and the lit suite
# through ctest, then the fuzz targets for a bounded time (scripts/fuzz.sh;
# FLASHGEN_FUZZ_SECONDS per target, 0 skips). GPU tests skip with a message
# where no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
# Slow emulation tests carry the label nightly: `ctest --test-dir build -L
# nightly` runs them (FLASHGEN_NIGHTLY=1 here runs everything).
source scripts/flag.sh
if [ "$(flashgen_flag FLASHGEN_NIGHTLY 0)" = 1 ]; then
  ctest --test-dir build --output-on-failure -j "${FLASHGEN_JOBS:-2}"
else
  ctest --test-dir build --output-on-failure -j "${FLASHGEN_JOBS:-2}" -LE nightly
fi
if [ "${FLASHGEN_FUZZ_SECONDS:-60}" != 0 ]; then
  scripts/fuzz.sh
fi
