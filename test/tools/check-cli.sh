#!/usr/bin/env bash
# ctest tools-cli: every tool answers --help (exit 0, usage on stdout, nothing
# on stderr) and --version (exit 0, one line "<tool> <version> (git <rev>)"
# on stdout), and so does every subcommand `flashgen --help` lists; an
# executable in bin/ that is not in the list fails (a new tool joins
# FLASHGEN_TOOLS in the top-level CMakeLists.txt, the one list, which is also
# what `cmake --install` installs).
#   check-cli.sh BIN_DIR VERSION TOOL...
set -uo pipefail
bin=$1
version=$2
shift 2
tools=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }

# check NAME ARGS...: NAME (for messages) runs ARGS with --help and --version.
check() {
  local name=$1
  shift
  if ! "$@" --help > "$work/out" 2> "$work/err"; then
    fail "$name --help exits non-zero"; cat "$work/err"
  elif [ -s "$work/err" ]; then
    fail "$name --help writes to stderr:"; cat "$work/err"
  elif ! grep -qi "usage" "$work/out" || ! grep -qF "${name%% *}" "$work/out"; then
    fail "$name --help prints no usage naming it:"; head -5 "$work/out"
  else
    echo "ok: $name --help"
  fi
  local tool=${name%% *}
  if ! "$@" --version > "$work/out" 2> "$work/err"; then
    fail "$name --version exits non-zero"; cat "$work/err"
  elif [ -s "$work/err" ]; then
    fail "$name --version writes to stderr:"; cat "$work/err"
  elif ! [ "$(wc -l < "$work/out")" = 1 ] ||
       ! grep -qxE "$tool ${version//./\\.} \(git ([0-9a-f]{12}|unknown)\)" "$work/out"; then
    fail "$name --version does not print '$tool $version (git <rev>)':"; cat "$work/out"
  else
    echo "ok: $name --version: $(cat "$work/out")"
  fi
}

for tool in "${tools[@]}"; do
  if [ ! -x "$bin/$tool" ]; then
    fail "$tool is in the list but not in $bin"
    continue
  fi
  check "$tool" "$bin/$tool"
done

# flashgen's subcommands, as its --help lists them ("  name - what").
if [ -x "$bin/flashgen" ]; then
  subs=$("$bin/flashgen" --help | sed -n '/^SUBCOMMANDS:/,/^OPTIONS:/p' |
         sed -n 's/^  \([a-z][a-z-]*\) *- .*/\1/p')
  [ -n "$subs" ] || fail "flashgen --help lists no subcommands"
  for sub in $subs; do
    check "flashgen $sub" "$bin/flashgen" "$sub"
  done
fi

# Nothing in bin/ that is not in the list.
for path in "$bin"/*; do
  [ -f "$path" ] && [ -x "$path" ] || continue
  name=$(basename "$path")
  listed=0
  for tool in "${tools[@]}"; do [ "$tool" = "$name" ] && listed=1; done
  [ $listed = 1 ] || fail "$name is in $bin but not in FLASHGEN_TOOLS (top-level CMakeLists.txt)"
done
exit $status
