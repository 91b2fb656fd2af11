//===- Compile.h - `flashgen compile`: spec to bundle -----------*- C++ -*-===//
#ifndef FLASHGEN_TOOLS_FLASHGEN_COMPILE_H
#define FLASHGEN_TOOLS_FLASHGEN_COMPILE_H

namespace llvm::cl {
class OptionCategory;
class SubCommand;
} // namespace llvm::cl

namespace flashgen::cli {

/// `flashgen compile spec.mlir -o DIR [--target T] [--dim NAME=VALUE]...
/// [--top-k K]`: the subcommand and its options (llvm::cl, Compile.cpp).
extern llvm::cl::SubCommand compileCommand;
extern llvm::cl::OptionCategory compileCategory;

/// Runs the whole pipeline on the parsed options and writes a bundle.
int runCompile();

} // namespace flashgen::cli

#endif // FLASHGEN_TOOLS_FLASHGEN_COMPILE_H
