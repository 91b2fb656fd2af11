#!/usr/bin/env bash
# The main job: compile an example spec through the pipeline and show what the
# compiler made of it; where a GPU is present, run it.
set -euo pipefail
cd "$(dirname "$0")/.."
spec=${1:-examples/causal_gqa.mlir}
echo "== $spec: parsed, verified and printed back by flashgen-opt"
build/bin/flashgen-opt "$spec"
