//===- ToolVersion.h - What every tool's --version prints -------*- C++ -*-===//
//
// One format for all tools, runtime-only and compiler alike:
//   flashgen-ref 0.1.0 (git 5d5e9b7a1b2c)
// The version is project(VERSION) of the top-level CMakeLists.txt (through
// flashgen/version.h), the revision the checkout's commit at build time
// (cmake/GitRevision.cmake; "unknown" outside a git checkout).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_TOOLS_TOOLVERSION_H
#define FLASHGEN_RUNTIME_TOOLS_TOOLVERSION_H

#include <string>

namespace flashgen {

/// "<tool> <version> (git <revision>)", without a newline.
std::string toolVersion(const std::string &tool);

/// The commit the tools were built from, or "unknown".
const char *gitRevision();

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_TOOLS_TOOLVERSION_H
