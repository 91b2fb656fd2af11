//===- Sandbox.h - What a bundle may make the runtime read ------*- C++ -*-===//
//
// A bundle is untrusted input (docs/bundle-format.md §7): nothing it says
// may make the runtime read or write a file outside its folder, or hang.
// Three checks keep it in: files are read without following symbolic links
// and only when they are regular files of bounded size; NVRTC options come
// from an allow-list; and every #include of every source and header names a
// header the variant lists (or one of a few toolkit headers), found by a
// scan that sees directives the way the preprocessor does (line splices,
// comments, string literals, digraphs).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_SANDBOX_H
#define FLASHGEN_RUNTIME_SANDBOX_H

#include <cstdint>
#include <string>
#include <vector>

namespace flashgen {

/// The largest file a bundle may hold (sources, headers, manifest.json).
constexpr int64_t kMaxBundleFileBytes = int64_t(64) << 20;

/// Reads `relative` (a path isSafeBundlePath accepts) under `dir`. No
/// component may be a symbolic link, and the file must be a regular file
/// (not a FIFO, device or socket) of at most kMaxBundleFileBytes; it is
/// opened non-blocking, so nothing can make the read wait. `error` says
/// which rule failed.
bool readBundleFile(const std::string &dir, const std::string &relative,
                    std::string &out, std::string &error);

/// True when a manifest may pass `option` to NVRTC; otherwise `why` says
/// what the allow-list takes (docs/bundle-format.md §1.4).
bool isAllowedNvrtcOption(const std::string &option, std::string &why);

/// The preprocessor directives of one file that can make the compiler read
/// a file.
struct IncludeScan {
  /// "name" and <name> includes, as written.
  std::vector<std::string> includes;
  /// `#include MACRO` operands (one identifier each).
  std::vector<std::string> macroIncludes;
  /// Every identifier the file #defines.
  std::vector<std::string> defines;
  /// Set for a construct the scan refuses outright (#include_next, an
  /// include operand that is neither a name nor one identifier, trigraphs).
  std::string error;
};
IncludeScan scanIncludes(const std::string &text);

/// Toolkit headers a bundle may include by name, resolved by NVRTC from
/// its own headers or the CUDA include folder (cuda_bf16.h, cstdint, ...).
bool isAllowedToolkitInclude(const std::string &name);

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_SANDBOX_H
