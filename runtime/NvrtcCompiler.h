//===- NvrtcCompiler.h - One NVRTC compile, no caching ----------*- C++ -*-===//
//
// Compiles one CUDA C++ source with its embedded headers to a cubin for one
// real arch, and reads the resource report ptxas writes into the log
// (--ptxas-options=-v). Caching lives in CompileCache.h.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_NVRTCCOMPILER_H
#define FLASHGEN_RUNTIME_NVRTCCOMPILER_H

#include "flashgen/runtime.h"

#include <string>
#include <utility>
#include <vector>

namespace flashgen {

struct NvrtcInput {
  std::string sourceName; ///< shown in NVRTC messages
  std::string sourceText;
  std::vector<std::pair<std::string, std::string>> headers; ///< name, text
  std::vector<std::string> options; ///< complete, arch included
};

struct NvrtcOutput {
  std::string cubin;
  std::string log;
  std::string ptx; ///< only when requested
  double seconds = 0.0;
};

/// "13.0".
std::string nvrtcVersionString();

/// CUDA include dir handed to NVRTC with -I (docs/bundle-format.md §4), or
/// empty when none exists.
std::string cudaIncludeDir();

/// A fingerprint of the toolkit headers NVRTC may read from `includeDir`
/// (the name, size and modification time of each file in it), for the
/// cache key: a toolkit update changes it. Computed once per folder.
std::string toolkitHeadersFingerprint(const std::string &includeDir);

/// The complete option list for compiling for `arch`: --gpu-architecture,
/// -I<CUDA include>, --ptxas-options=-v, the manifest's options, then
/// -lineinfo (FLASHGEN_LINEINFO) and FLASHGEN_NVRTC_OPTIONS, so that the
/// environment can override the manifest.
std::vector<std::string>
nvrtcOptionsFor(const std::string &arch,
                const std::vector<std::string> &manifestOptions);

/// Compiles. On failure returns CompileError whose message names the source
/// and holds the full log. With `wantPtx`, also compiles for the matching
/// virtual arch and returns the PTX (FLASHGEN_DUMP).
Status nvrtcCompile(const NvrtcInput &input, bool wantPtx, NvrtcOutput &out);

/// Per-function figures from a ptxas -v log, and the log's warning lines.
void parsePtxasLog(const std::string &log, std::vector<FunctionReport> &functions,
                   std::vector<std::string> &warnings);

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_NVRTCCOMPILER_H
