//===- Calibrate.cpp - flashgen calibrate ---------------------------------===//

#include "tools/flashgen/Calibrate.h"

#include "schedule/Calibration.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace fs = flashgen::schedule;

static int usage() {
  llvm::errs() << "usage: flashgen calibrate TABLE.tsv... [--target sm_90|h200] [--fit]\n"
                  "  Tables of measured candidate times (schedule/calibration/);\n"
                  "  several are judged and fitted together.\n";
  return 2;
}

static void report(const fs::Target &t, const std::vector<fs::Measurement> &rows) {
  std::vector<fs::ShapeAgreement> shapes = fs::rankAgreement(t, rows);
  for (const fs::ShapeAgreement &a : shapes)
    llvm::outs() << llvm::format("  rho %5.2f  first choice +%4.1f%%  %2zu candidates  ",
                                 a.spearman, 100 * a.firstChoiceLoss, a.candidates)
                 << a.shape << "\n";
  fs::AgreementSummary s = fs::summarize(shapes);
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
  fs::Result<const fs::Target *> t = fs::lookupTarget(target);
  if (!t) {
    llvm::errs() << "flashgen calibrate: " << t.error() << "\n";
    return 1;
  }
  std::vector<fs::Measurement> all;
  for (const std::string &table : tables) {
    auto buffer = llvm::MemoryBuffer::getFile(table);
    if (!buffer) {
      llvm::errs() << "flashgen calibrate: cannot read " << table << ": "
                   << buffer.getError().message() << "\n";
      return 1;
    }
    fs::Result<std::vector<fs::Measurement>> rows =
        fs::parseMeasurements((*buffer)->getBuffer().str());
    if (!rows) {
      llvm::errs() << "flashgen calibrate: " << table << ": " << rows.error() << "\n";
      return 1;
    }
    // A shape is one ranking within one table: times of different tables
    // (devices, days) are not compared.
    for (fs::Measurement &m : *rows)
      m.shape = llvm::sys::path::filename(table).str() + ": " + m.shape;
    all.insert(all.end(), rows->begin(), rows->end());
  }
  const std::vector<fs::Measurement> *rows = &all;
  llvm::outs() << "cost model of " << (*t)->name << " against " << tables.size()
               << " table(s) (" << rows->size() << " measurements)\n";
  report(**t, *rows);
  if (!fit)
    return 0;
  fs::Target fitted = **t;
  fitted.warpgroup = fs::fitWarpgroupModel(**t, *rows);
  const fs::WarpgroupModel &m = fitted.warpgroup;
  llvm::outs() << "\nfitted WarpgroupModel:\n"
               << llvm::format("  {/*wgmmaEfficiency=*/%.2f, /*tileCycles=*/%.0f, "
                               "/*chainCycles=*/%.0f,\n   /*selfCopyCycles=*/%.0f, "
                               "/*stageCycles=*/%.0f, /*ctaCycles=*/%.0f}\n",
                               m.wgmmaEfficiency, m.tileCycles, m.chainCycles,
                               m.selfCopyCycles, m.stageCycles, m.ctaCycles);
  report(fitted, *rows);
  return 0;
}
