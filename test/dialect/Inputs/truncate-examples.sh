#!/usr/bin/env bash
# Feeds every prefix (by lines) of every example spec to the given tool and
# counts runs that end in a signal (exit status >= 128) instead of a clean
# success or error. The prefixes go to one process as the chunks of one
# file (-split-input-file: each chunk is parsed and verified on its own), as
# one process a prefix spent a minute starting the tool; where that process
# dies of a signal, every prefix runs alone to name the ones that crash.
examples=$1
tool=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=0
for spec in "$examples"/*.mlir; do
  lines=$(wc -l < "$spec")
  for ((n = 1; n < lines; n++)); do
    head -n "$n" "$spec"
    printf '\n// -----\n'
    runs=$((runs + 1))
  done
done > "$work/prefixes.mlir"
"$tool" "$work/prefixes.mlir" -split-input-file > /dev/null 2>&1
status=$?
crashes=0
if [ "$status" -ge 128 ]; then
  echo "the tool died of a signal (status $status) on the prefixes together; running each alone"
  for spec in "$examples"/*.mlir; do
    lines=$(wc -l < "$spec")
    for ((n = 1; n < lines; n++)); do
      head -n "$n" "$spec" | "$tool" - > /dev/null 2>&1
      status=$?
      if [ "$status" -ge 128 ]; then
        crashes=$((crashes + 1))
        echo "crash: $spec truncated to $n lines (status $status)"
      fi
    done
  done
  # A crash that only happens with the chunks together still counts.
  [ "$crashes" -eq 0 ] && crashes=1
fi
echo "runs: $runs"
echo "crashes: $crashes"
