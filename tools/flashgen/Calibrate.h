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

namespace llvm::cl {
class OptionCategory;
class SubCommand;
} // namespace llvm::cl

namespace flashgen::cli {
extern llvm::cl::SubCommand calibrateCommand;
extern llvm::cl::OptionCategory calibrateCategory;
int runCalibrate();
} // namespace flashgen::cli

#endif // FLASHGEN_TOOLS_FLASHGEN_CALIBRATE_H
