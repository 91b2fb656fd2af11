#!/usr/bin/env bash
# ctest `install`: installs the build into a temporary prefix, then uses it
# from outside as a user would, without a GPU:
#   - the layout (headers, libraries, tools, CMake package, pkg-config files);
#   - every installed tool finds its libraries from the installed tree (its
#     RPATH) and answers --version;
#   - test/install/ configures with find_package(flashgen) and builds and
#     runs against flashgen::runtime and flashgen::autotune, and with --compiler
#     against flashgen::compiler (parses and bounds an example spec);
#   - main.cpp compiles and runs once more with
#     `pkg-config --cflags --libs flashgen flashgen-autotune`.
#   check-install.sh BUILD_DIR SOURCE_DIR [--compiler]
set -euo pipefail
build=$1
src=$2
compiler=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$prefix" > "$work/install.log" ||
  { cat "$work/install.log"; fail "cmake --install"; }
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$build/CMakeCache.txt")
libdir=${libdir:-lib}

tools=(flashgen-nvrtc flashgen-run flashgen-tune)
expect=(include/flashgen/runtime.h include/flashgen/runtime_c.h
        include/flashgen/autotune.h include/flashgen/autotune_c.h
        include/flashgen/version.h
        "$libdir/libflashgen_runtime.so" "$libdir/libflashgen_autotune.so"
        "$libdir/cmake/flashgen/flashgenConfig.cmake"
        "$libdir/cmake/flashgen/flashgenConfigVersion.cmake"
        "$libdir/cmake/flashgen/flashgenTargets.cmake"
        "$libdir/pkgconfig/flashgen.pc" "$libdir/pkgconfig/flashgen-autotune.pc")
if [ "$compiler" = --compiler ]; then
  tools+=(flashgen flashgen-opt flashgen-ref)
  expect+=("$libdir/cmake/flashgen/flashgenCompilerTargets.cmake"
           include/flashgen/compiler/dialect/FlashDialect.h
           include/flashgen/compiler/dialect/FlashOps.h.inc
           include/flashgen/compiler/passes/Passes.h.inc
           include/flashgen/compiler/tools/FlashgenRegistration.h)
fi
for f in "${expect[@]}"; do
  [ -e "$prefix/$f" ] || fail "$f was not installed"
done
for t in "${tools[@]}"; do
  [ -x "$prefix/bin/$t" ] || fail "bin/$t was not installed"
  # The RPATH finds the installed libraries (and LLVM's, NVRTC's).
  missing=$(env -u LD_LIBRARY_PATH ldd "$prefix/bin/$t" | grep "not found" || true)
  [ -z "$missing" ] || fail "installed $t does not find: $missing"
  out=$(env -u LD_LIBRARY_PATH "$prefix/bin/$t" --version 2>&1) ||
    fail "installed $t --version: $out"
  echo "installed: $out"
done
# Only the public headers: the tree's internal ones stay in the tree.
extra=$(find "$prefix/include/flashgen" -maxdepth 1 -type f -printf '%f\n' | sort |
        grep -vxE 'runtime.h|runtime_c.h|autotune.h|autotune_c.h|version.h' || true)
[ -z "$extra" ] || fail "unexpected headers installed: $extra"

gen=()
if command -v ninja > /dev/null; then gen=(-G Ninja); fi
with_compiler=OFF
if [ "$compiler" = --compiler ]; then with_compiler=ON; fi
if ! cmake -S "$src/test/install" -B "$work/consumer" "${gen[@]}" \
       -DCMAKE_PREFIX_PATH="$prefix" -DWITH_COMPILER=$with_compiler \
       -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" 2>&1; then
  cat "$work/configure.log"; fail "find_package(flashgen) in an outside project"
fi
if ! cmake --build "$work/consumer" > "$work/build.log" 2>&1; then
  cat "$work/build.log"; fail "building the outside project"
fi
"$work/consumer/use-runtime" || fail "use-runtime (CMake package)"
if [ "$compiler" = --compiler ]; then
  "$work/consumer/use-compiler" "$src/examples/causal_gqa.mlir" || fail "use-compiler"
fi

command -v pkg-config > /dev/null || fail "pkg-config is not installed (scripts/install-deps.sh installs it)"
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
flags=$(pkg-config --cflags --libs flashgen flashgen-autotune) || fail "pkg-config flashgen"
echo "pkg-config --cflags --libs flashgen flashgen-autotune: $flags"
# shellcheck disable=SC2086  # the flags are words
c++ -std=c++17 "$src/test/install/main.cpp" -o "$work/use-runtime-pc" $flags ||
  fail "compiling with pkg-config's flags"
LD_LIBRARY_PATH=$(pkg-config --variable=libdir flashgen) "$work/use-runtime-pc" ||
  fail "use-runtime (pkg-config)"
echo "install: ok"
