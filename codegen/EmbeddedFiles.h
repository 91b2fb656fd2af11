//===- EmbeddedFiles.h - device headers compiled into the binary -*- C++ -*-===//
//
// The device tile library (codegen/device/**/*.cuh) as text, embedded at build
// time (cmake/EmbedFiles.cmake), so the bundle writer can copy it into every
// bundle and NVRTC never needs the source tree.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_CODEGEN_EMBEDDEDFILES_H
#define FLASHGEN_CODEGEN_EMBEDDEDFILES_H

namespace flashgen::embedded {

struct EmbeddedFile {
  const char *path; ///< include path, e.g. "flashgen/device/matmul/mma.cuh"
  const char *text;
};

extern const EmbeddedFile kFiles[];
extern const unsigned kFileCount;

} // namespace flashgen::embedded

#endif // FLASHGEN_CODEGEN_EMBEDDEDFILES_H
