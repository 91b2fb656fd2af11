//===- Calibrate.cpp - flashgen calibrate ---------------------------------===//

#include "tools/flashgen/Calibrate.h"

#include "schedule/Calibration.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace sched = flashgen::schedule;
namespace cl = llvm::cl;

cl::SubCommand flashgen::cli::calibrateCommand(
    "calibrate", "the cost model against measured candidate times "
                 "(schedule/calibration/*.tsv)");
cl::OptionCategory flashgen::cli::calibrateCategory("flashgen calibrate options");

namespace {
using flashgen::cli::calibrateCategory;
using flashgen::cli::calibrateCommand;

cl::list<std::string> tableArgs(
    cl::Positional, cl::OneOrMore,
    cl::desc("<table.tsv>... (several are judged and fitted together)"),
    cl::sub(calibrateCommand), cl::cat(calibrateCategory));
cl::opt<std::string> targetArg("target", cl::init("sm_90"), cl::value_desc("target"),
                               cl::desc("sm_90 (default) or h200"),
                               cl::sub(calibrateCommand), cl::cat(calibrateCategory));
cl::opt<bool> fitArg("fit",
                     cl::desc("also fit the WarpgroupModel constants that order "
                              "the measurements best"),
                     cl::sub(calibrateCommand), cl::cat(calibrateCategory));
} // namespace

static void report(const sched::Target &t, const std::vector<sched::Measurement> &rows) {
  std::vector<sched::ShapeAgreement> shapes = sched::rankAgreement(t, rows);
  for (const sched::ShapeAgreement &a : shapes)
    llvm::outs() << llvm::format("  rho %5.2f  first choice +%4.1f%%  %2zu candidates  ",
                                 a.spearman, 100 * a.firstChoiceLoss, a.candidates)
                 << a.shape << "\n";
  sched::AgreementSummary s = sched::summarize(shapes);
  llvm::outs() << llvm::format("mean rho %.3f, mean first-choice loss %.1f%%, "
                               "first choice within 5%% on %zu of %zu shapes\n",
                               s.meanSpearman, 100 * s.meanFirstChoiceLoss,
                               s.within5Percent, s.shapes);
}

int flashgen::cli::runCalibrate() {
  const std::vector<std::string> tables(tableArgs.begin(), tableArgs.end());
  const std::string target = targetArg;
  const bool fit = fitArg;
  sched::Result<const sched::Target *> t = sched::lookupTarget(target);
  if (!t) {
    llvm::errs() << "flashgen calibrate: " << t.error() << "\n";
    return 1;
  }
  std::vector<sched::Measurement> all;
  for (const std::string &table : tables) {
    auto buffer = llvm::MemoryBuffer::getFile(table);
    if (!buffer) {
      llvm::errs() << "flashgen calibrate: cannot read " << table << ": "
                   << buffer.getError().message() << "\n";
      return 1;
    }
    sched::Result<std::vector<sched::Measurement>> rows =
        sched::parseMeasurements((*buffer)->getBuffer().str());
    if (!rows) {
      llvm::errs() << "flashgen calibrate: " << table << ": " << rows.error() << "\n";
      return 1;
    }
    // A shape is one ranking within one table: times of different tables
    // (devices, days) are not compared.
    for (sched::Measurement &m : *rows)
      m.shape = llvm::sys::path::filename(table).str() + ": " + m.shape;
    all.insert(all.end(), rows->begin(), rows->end());
  }
  const std::vector<sched::Measurement> *rows = &all;
  llvm::outs() << "cost model of " << (*t)->name << " against " << tables.size()
               << " table(s) (" << rows->size() << " measurements)\n";
  report(**t, *rows);
  if (!fit)
    return 0;
  sched::Target fitted = **t;
  fitted.warpgroup = sched::fitWarpgroupModel(**t, *rows);
  const sched::WarpgroupModel &m = fitted.warpgroup;
  llvm::outs() << "\nfitted WarpgroupModel:\n"
               << llvm::format("  {/*wgmmaEfficiency=*/%.2f, /*tileCycles=*/%.0f, "
                               "/*chainCycles=*/%.0f,\n   /*selfCopyCycles=*/%.0f, "
                               "/*stageCycles=*/%.0f, /*ctaCycles=*/%.0f}\n",
                               m.wgmmaEfficiency, m.tileCycles, m.chainCycles,
                               m.selfCopyCycles, m.stageCycles, m.ctaCycles);
  report(fitted, *rows);
  return 0;
}
