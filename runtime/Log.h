//===- Log.h - Runtime log lines --------------------------------*- C++ -*-===//
//
// One sink for the few things the runtime reports on its own (a damaged cache
// entry that was recompiled; compiles and cache hits with FLASHGEN_LOG=1).
// Goes to the callback set with flashgen::setLogCallback, else stderr.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_LOG_H
#define FLASHGEN_RUNTIME_LOG_H

#include <string>

namespace flashgen {

void logLine(const std::string &message);

/// Logs `message` only the first time this process sees `onceKey`.
void logLineOnce(const std::string &onceKey, const std::string &message);

/// FLASHGEN_LOG=1.
bool verboseLogging();

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_LOG_H
