#!/usr/bin/env bash
# Builds flashgen and runs every test: GoogleTest unit tests and the lit suite
# through ctest. GPU tests skip with a message where no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure -j "${FLASHGEN_JOBS:-2}"
