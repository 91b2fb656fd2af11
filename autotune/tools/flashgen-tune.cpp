//===- flashgen-tune.cpp - Tune a bundle's kernels on the GPU -------------===//
//
// flashgen-tune BUNDLE... [--kernel NAME]... --dim NAME=VALUE... [options]
//
// Times every variant of each kernel at the given sizes, keeps the fastest
// in the tuning file and prints a table per kernel and a summary
// (autotune/TuneCommand.h; `flashgen tune` runs the same command). Exit
// status: 0 tuned, 1 a kernel failed to tune, 2 usage/bundle/size error,
// 3 no GPU.
//
//===----------------------------------------------------------------------===//

#include "autotune/TuneCommand.h"

int main(int argc, char **argv) { return flashgen::runTune(argc, argv); }
