//===- ToolVersion.cpp - What every tool's --version prints ---------------===//

#include "runtime/tools/ToolVersion.h"

#include "flashgen/version.h"
#include "flashgen_git_revision.h"

namespace flashgen {

const char *gitRevision() { return FLASHGEN_GIT_REVISION; }

std::string toolVersion(const std::string &tool) {
  return tool + " " FLASHGEN_VERSION_STRING " (git " FLASHGEN_GIT_REVISION ")";
}

} // namespace flashgen
