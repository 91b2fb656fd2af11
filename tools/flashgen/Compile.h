//===- Compile.h - `flashgen compile`: spec to bundle -----------*- C++ -*-===//
#ifndef FLASHGEN_TOOLS_FLASHGEN_COMPILE_H
#define FLASHGEN_TOOLS_FLASHGEN_COMPILE_H

namespace flashgen::cli {

/// `flashgen compile spec.mlir -o DIR [--target T] [--dim NAME=VALUE]...
/// [--top-k K]`: runs the whole pipeline and writes a bundle.
int runCompile(int argc, char **argv);

} // namespace flashgen::cli

#endif // FLASHGEN_TOOLS_FLASHGEN_COMPILE_H
