//===- CubinInfo.h - What a cubin says about its kernels --------*- C++ -*-===//
//
// Reads the ELF that NVRTC returns, without cuobjdump: the entry functions
// (.text.<name> sections), their register counts, launch bounds and
// parameter tables (.nv.info.<name>, EIATTR_KPARAM_INFO). The parameter
// table is what lets the runtime check a manifest's argument packing on a
// machine without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_CUBININFO_H
#define FLASHGEN_RUNTIME_CUBININFO_H

#include "runtime/ParamPacking.h"

#include <string>
#include <vector>

namespace flashgen {

struct CubinFunction {
  std::string name;
  int registers = -1;
  /// Launch bounds (EIATTR_MAX_THREADS); 0 when the kernel declares none.
  int maxThreads[3] = {0, 0, 0};
  bool hasParamInfo = false;
  std::vector<CubinParam> params;
};

/// Parses a cubin. Fails (with a message) only on a malformed ELF; attributes
/// it does not know are skipped.
bool readCubin(const std::string &image, std::vector<CubinFunction> &out,
               std::string &error);

const CubinFunction *findCubinFunction(const std::vector<CubinFunction> &fns,
                                       const std::string &name);

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_CUBININFO_H
