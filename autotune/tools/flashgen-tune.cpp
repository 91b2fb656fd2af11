//===- flashgen-tune.cpp - Tune a bundle's kernels on the GPU -------------===//
//
// flashgen-tune BUNDLE... [--kernel NAME]... --dim NAME=VALUE... [options]
// flashgen-tune --help | --version
//
// Times every variant of each kernel at the given sizes, keeps the fastest
// in the tuning file and prints a table per kernel and a summary
// (autotune/TuneCommand.h; `flashgen tune` runs the same command). Exit
// status: 0 tuned, 1 a kernel failed to tune, 2 usage/bundle/size error,
// 3 no GPU.
//
//===----------------------------------------------------------------------===//

#include "autotune/TuneCommand.h"
#include "runtime/tools/ToolVersion.h"

#include <cstdio>
#include <cstring>

int main(int argc, char **argv) {
  // --version here: the library's command (shared with `flashgen tune`)
  // does not know the build's revision.
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("%s\n", flashgen::toolVersion("flashgen-tune").c_str());
      return 0;
    }
  return flashgen::runTune(argc, argv);
}
