//===- TuneReportJson.h - TuneReport to and from JSON -----------*- C++ -*-===//
//
// One form for three readers: flashgen-tune --json, the C and Python API,
// and the tuning file, whose entries are reports (plus "variant"), so a
// bucket found there is reported as it was measured.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_AUTOTUNE_TUNEREPORTJSON_H
#define FLASHGEN_AUTOTUNE_TUNEREPORTJSON_H

#include "flashgen/autotune.h"
#include "runtime/Json.h"

namespace flashgen {

json::Value reportToValue(const TuneReport &report);

/// Reads what reportToValue wrote; false (with `why`) on a missing or
/// mistyped field.
bool reportFromValue(const json::Value &value, TuneReport &out,
                     std::string &why);

} // namespace flashgen

#endif // FLASHGEN_AUTOTUNE_TUNEREPORTJSON_H
