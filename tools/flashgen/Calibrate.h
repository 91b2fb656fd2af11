//===- Calibrate.h - flashgen calibrate ---------------------------*- C++ -*-===//
//
// `flashgen calibrate TABLE.tsv [--target T] [--fit]`: how well the cost
// model orders the measured candidates of a table (schedule/Calibration.h),
// shape by shape, and with --fit the WarpgroupModel constants that order
// them best, to paste into schedule/Target.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_TOOLS_FLASHGEN_CALIBRATE_H
#define FLASHGEN_TOOLS_FLASHGEN_CALIBRATE_H

namespace flashgen::cli {
int runCalibrate(int argc, char **argv);
} // namespace flashgen::cli

#endif // FLASHGEN_TOOLS_FLASHGEN_CALIBRATE_H
