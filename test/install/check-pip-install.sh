#!/usr/bin/env bash
# `pip install ./python` as a user runs it (README): into a scratch target,
# offline (--no-build-isolation: the installed setuptools builds it), then
# the installed package, not the checkout's, is imported and loads the
# runtime library the build made. The package version must be CMake's.
#   check-pip-install.sh SOURCE_DIR RUNTIME_LIBRARY PROJECT_VERSION
set -euo pipefail
src=$1 lib=$2 want=$3
# Debian's interpreter, whose pip, setuptools and wheel install-deps.sh
# installs, unless PYTHON names another.
python=${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)}
if ! "$python" -m pip --version > /dev/null 2>&1 ||
   ! "$python" -c 'import setuptools, wheel' > /dev/null 2>&1; then
  echo "SKIP: $python lacks pip, setuptools or wheel (Debian: python3-pip python3-setuptools python3-wheel)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src/python" "$work/src"   # pip builds in place: keep the checkout clean
"$python" -m pip install --quiet --root-user-action=ignore --no-build-isolation --no-deps --no-index \
  --target "$work/site" "$work/src"
cd "$work"
got=$(PYTHONPATH="$work/site" FLASHGEN_LIB="$lib" "$python" -c '
import flashgen, flashgen.distributed, os, sys
assert flashgen.__file__.startswith(sys.argv[1]), flashgen.__file__
print(flashgen.__version__, flashgen.version().split()[0])
' "$work/site")
echo "installed flashgen: $got"
[ "$got" = "$want $want" ] || { echo "FAIL: expected version $want from package and library, got: $got"; exit 1; }
