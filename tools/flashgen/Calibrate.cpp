//===- Calibrate.cpp - flashgen calibrate ---------------------------------===//

#include "tools/flashgen/Calibrate.h"

#include "schedule/Calibration.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace sched = flashgen::schedule;

static int usage() {
  llvm::errs() << "usage: flashgen calibrate TABLE.tsv... [--target sm_90|h200] [--fit]\n"
                  "  Tables of measured candidate times (schedule/calibration/);\n"
                  "  several are judged and fitted together.\n";
  return 2;
}

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

int flashgen::cli::runCalibrate(int argc, char **argv) {
  std::vector<std::string> tables;
  std::string target = "sm_90";
  bool fit = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--target" && i + 1 < argc)
      target = argv[++i];
    else if (arg == "--fit")
      fit = true;
    else if (arg == "--help" || arg == "-h")
      return usage(), 0;
    else if (!arg.empty() && arg[0] != '-')
      tables.push_back(arg);
    else
      return usage();
  }
  if (tables.empty())
    return usage();
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
