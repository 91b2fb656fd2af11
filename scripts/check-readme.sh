#!/usr/bin/env bash
# Runs the shell commands README.md shows (its ```sh blocks) and fails on the
# first that exits non-zero, so that the README cannot drift from the tools.
# ctest readme-commands runs it after the build (about 30 s, no GPU).
#
# Each line of a block is a command (a trailing backslash continues it; `&&`
# chains are run part by part). They run from a scratch folder that links
# every top-level entry of the checkout, so relative paths resolve as from the
# checkout's root while what they write (out/, ref/, .device/) stays there;
# FLASHGEN_CACHE_DIR points there too. The commands SKIP lists are not run,
# each for the reason given; every entry must still match a README command.
# Other blocks (```python needs a GPU and torch; ```cmake is what
# test/install/ builds) are not run. Then README's environment table must
# list every FLASHGEN_* variable the code and scripts read.
#   scripts/check-readme.sh [BUILD_DIR]   (default build/)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
readme=$root/README.md

# pattern (an extended regex on the command) | why it is not run
SKIP=(
  '^bash scripts/install-deps\.sh$|re-runs the installer (apt-get, root)'
  '^bash scripts/build\.sh$|the build itself: done before this check runs'
  '^bash scripts/test\.sh$|the whole test suite, of which this check is part'
  '^build/bin/flashgen-tune |needs a GPU (exit 3 without one)'
  '^python3 bench/traffic/measure\.py |needs a GPU and Nsight Compute'
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
for entry in "$root"/* "$root"/.[!.]*; do
  name=$(basename "$entry")
  case "$name" in build | .git | .device | out | ref) continue ;; esac
  ln -s "$entry" "$work/root/$name"
done
ln -s "$build" "$work/root/build"
export FLASHGEN_CACHE_DIR=$work/cache

# The commands, one per line (continuations joined, && chains split).
awk '/^```sh[[:space:]]*$/ { inside = 1; next }
     /^```/ { inside = 0; next }
     inside {
       line = $0
       if (sub(/\\[[:space:]]*$/, "", line)) { pending = pending line; next }
       print pending line; pending = ""
     }' "$readme" |
  sed 's/[[:space:]]&&[[:space:]]/\n/g' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' |
  grep -v '^$' > "$work/commands"

status=0
used=()
ran=0
while IFS= read -r command; do
  reason=
  for i in "${!SKIP[@]}"; do
    pattern=${SKIP[$i]%%|*}
    # The command without its trailing comment.
    bare=$(sed 's/[[:space:]]\+#.*$//' <<< "$command")
    if grep -qE "$pattern" <<< "$bare"; then
      reason=${SKIP[$i]#*|}
      used[$i]=1
      break
    fi
  done
  if [ -n "$reason" ]; then
    echo "skip: $command  ($reason)"
    continue
  fi
  start=$SECONDS
  if (cd "$work/root" && bash -c "$command") > "$work/log" 2>&1 < /dev/null; then
    echo "ok:   $command  ($((SECONDS - start)) s)"
    ran=$((ran + 1))
  else
    echo "FAIL: $command"
    tail -20 "$work/log" | sed 's/^/      /'
    status=1
  fi
done < "$work/commands"
[ "$ran" -gt 0 ] || { echo "FAIL: no README command ran"; status=1; }
for i in "${!SKIP[@]}"; do
  [ -n "${used[$i]:-}" ] || { echo "FAIL: skip entry '${SKIP[$i]%%|*}' matches no README command"; status=1; }
done

# Every FLASHGEN_* variable read (the runtime's registry, getenv and
# os.environ, shell expansions) is a row of README's environment table.
read_vars=$(
  {
    grep -ohE 'k[A-Za-z]+\[\] = "FLASHGEN_[A-Z0-9_]+"' "$root/runtime/Env.h"
    grep -rhoE 'getenv\("FLASHGEN_[A-Z0-9_]+"' "$root"/{runtime,autotune,tools,test}
    grep -rhoE 'environ(\.get\(|\[)"FLASHGEN_[A-Z0-9_]+"' "$root"/{python,test,bench}
    grep -rhoE '\$\{?FLASHGEN_[A-Z0-9_]+' --include='*.sh' "$root"/{scripts,bench,test} "$root/.ci"
  } | grep -oE 'FLASHGEN_[A-Z0-9_]+' | sort -u)
for var in $read_vars; do
  grep -q "^| \`$var\` |" "$readme" ||
    { echo "FAIL: $var is read but not in README's environment table"; status=1; }
done
echo "environment table: checked the $(wc -w <<< "$read_vars") FLASHGEN_* variables read"
exit $status
