//===- Explain.h - `flashgen explain`: bounds, schedules, ratios -*- C++ -*-===//
#ifndef FLASHGEN_TOOLS_FLASHGEN_EXPLAIN_H
#define FLASHGEN_TOOLS_FLASHGEN_EXPLAIN_H

namespace llvm::cl {
class OptionCategory;
class SubCommand;
} // namespace llvm::cl

namespace flashgen::cli {

/// `flashgen explain SPEC.mlir [--target sm_90] [--dim NAME=VALUE]...
/// [--top-k K] [--json] [--measured FILE]`: runs flash-io-bounds and
/// flash-schedule and prints, per flash op, its sizes, IO lower bounds,
/// chosen schedule, modeled traffic and ratios, modeled time and binding
/// resource (a text block per op, or a JSON array), and with --measured the
/// DRAM bytes its kernel moved on a GPU beside the modeled ones. Returns 1
/// when an op has no schedule or FILE is unreadable or of other sizes.
extern llvm::cl::SubCommand explainCommand;
extern llvm::cl::OptionCategory explainCategory;
int runExplain();

} // namespace flashgen::cli

#endif // FLASHGEN_TOOLS_FLASHGEN_EXPLAIN_H
