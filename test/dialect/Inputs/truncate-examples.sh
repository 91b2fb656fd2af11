#!/usr/bin/env bash
# Feeds every prefix (by lines) of every example spec to the given tool and
# counts runs that end in a signal (exit status >= 128) instead of a clean
# success or error.
examples=$1
tool=$2
runs=0
crashes=0
for spec in "$examples"/*.mlir; do
  lines=$(wc -l < "$spec")
  for ((n = 1; n < lines; n++)); do
    head -n "$n" "$spec" | "$tool" - > /dev/null 2>&1
    status=$?
    runs=$((runs + 1))
    if [ "$status" -ge 128 ]; then
      crashes=$((crashes + 1))
      echo "crash: $spec truncated to $n lines (status $status)"
    fi
  done
done
echo "runs: $runs"
echo "crashes: $crashes"
