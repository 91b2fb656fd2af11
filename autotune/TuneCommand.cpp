//===- TuneCommand.cpp - The flashgen-tune command ------------------------===//

#include "autotune/TuneCommand.h"

#include "autotune/Progress.h"
#include "autotune/TuneReportJson.h"
#include "autotune/TuningFile.h"
#include "autotune/TuningInputs.h"
#include "flashgen/autotune.h"
#include "flashgen/runtime.h"
#include "runtime/BundleData.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>

namespace flashgen {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitTuneFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNoGpu = 3;

void usage(FILE *out) {
  std::fprintf(
      out,
      "usage: flashgen-tune BUNDLE... [--kernel NAME]... --dim NAME=VALUE... "
      "[options]\n"
      "  Times every variant (the scheduler's ranked candidates) of each "
      "kernel on\n"
      "  the GPU at the given sizes, keeps the fastest in the tuning file and "
      "prints\n"
      "  a table per kernel and a summary.\n"
      "  --kernel NAME          only this kernel (repeatable; default: all)\n"
      "  --dim NAME=VALUE       a symbol's size (repeatable; every symbol of "
      "every\n"
      "                         tuned kernel needs one)\n"
      "  --scalar NAME=VALUE    a run-time scalar (needed when it has no "
      "default)\n"
      "  --omit PARAM           pass an optional param as null\n"
      "  --skip-missing-dims    skip kernels with a symbol no --dim gives "
      "(to tune\n"
      "                         a folder of bundles of several kinds at "
      "their sizes)\n"
      "  --reps N               timed runs per candidate (default 50)\n"
      "  --warmup-ms MS         warm-up per candidate (default 25)\n"
      "  --tolerance X          relative L2 error allowed against variant 0 "
      "(default:\n"
      "                         2e-2 for kernels with bf16/f16 params, else "
      "2e-3)\n"
      "  --min-improvement X    a candidate must beat variant 0 by this "
      "fraction\n"
      "                         (default 0.01) and by variant 0's own spread\n"
      "  --device N             GPU ordinal (default 0)\n"
      "  --no-write             do not write the tuning file\n"
      "  --quiet                no progress lines\n"
      "  --json                 one JSON document on stdout\n"
      "  --help, --version\n"
      "Tuning files: $FLASHGEN_TUNING_DIR, else "
      "$FLASHGEN_CACHE_DIR/tuning-v1.\n"
      "Exit status: 0 tuned, 1 a kernel failed to tune, 2 usage/bundle/size "
      "error,\n"
      "3 no GPU.\n");
}

bool parseInt(const std::string &text, int64_t &out) {
  if (text.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno || *end)
    return false;
  out = v;
  return true;
}

bool parseDouble(const std::string &text, double &out) {
  if (text.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  out = std::strtod(text.c_str(), &end);
  return !errno && !*end && std::isfinite(out);
}

/// "NAME=VALUE" -> (NAME, VALUE).
bool splitAssignment(const std::string &text, std::string &name,
                     std::string &value) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    return false;
  name = text.substr(0, eq);
  value = text.substr(eq + 1);
  return true;
}

struct Args {
  std::vector<std::string> bundles;
  std::vector<std::string> kernels;
  std::map<std::string, int64_t> dims;
  std::map<std::string, std::string> scalars;
  std::vector<std::string> omit;
  TuneOptions options;
  int device = 0;
  bool json = false;
  bool skipMissingDims = false;
};

enum class Parsed { Ok, Help, Error };

/// Fills `args`; on a usage error prints it.
Parsed parseArgs(const std::vector<std::string> &argv, Args &args, FILE *err) {
  auto fail = [&](const std::string &message) {
    std::fprintf(err, "flashgen-tune: %s\n", message.c_str());
    usage(err);
    return Parsed::Error;
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string &a = argv[i];
    // "--opt value" and "--opt=value".
    auto value = [&](const char *flag, std::string &out) {
      const std::string f = flag;
      if (a == f && i + 1 < argv.size()) {
        out = argv[++i];
        return true;
      }
      if (a.compare(0, f.size() + 1, f + "=") == 0) {
        out = a.substr(f.size() + 1);
        return true;
      }
      return false;
    };
    std::string v, name, val;
    int64_t n = 0;
    double x = 0;
    if (a == "--json") {
      args.json = true;
    } else if (a == "--skip-missing-dims") {
      args.skipMissingDims = true;
    } else if (a == "--quiet") {
      args.options.progress = false;
    } else if (a == "--no-write") {
      args.options.writeFile = false;
    } else if (value("--kernel", v)) {
      args.kernels.push_back(v);
    } else if (value("--dim", v)) {
      if (!splitAssignment(v, name, val) || !parseInt(val, n))
        return fail("--dim " + v + ": expected NAME=INTEGER");
      if (args.dims.count(name))
        return fail("--dim " + name + " given twice");
      args.dims[name] = n;
    } else if (value("--scalar", v)) {
      if (!splitAssignment(v, name, val) || !parseDouble(val, x))
        return fail("--scalar " + v + ": expected NAME=NUMBER");
      args.scalars[name] = val;
    } else if (value("--omit", v)) {
      args.omit.push_back(v);
    } else if (value("--reps", v)) {
      if (!parseInt(v, n) || n < 1 || n > 100000)
        return fail("--reps " + v + ": expected an integer in [1, 100000]");
      args.options.reps = static_cast<int>(n);
    } else if (value("--warmup-ms", v)) {
      if (!parseDouble(v, x) || x < 0)
        return fail("--warmup-ms " + v + ": expected a number >= 0");
      args.options.warmupMs = x;
    } else if (value("--tolerance", v)) {
      if (!parseDouble(v, x) || x < 0)
        return fail("--tolerance " + v + ": expected a number >= 0");
      args.options.tolerance = x;
    } else if (value("--min-improvement", v)) {
      if (!parseDouble(v, x) || x < 0 || x >= 1)
        return fail("--min-improvement " + v + ": expected a number in [0, 1)");
      args.options.minImprovement = x;
    } else if (value("--device", v)) {
      if (!parseInt(v, n) || n < 0)
        return fail("--device " + v + ": expected a GPU ordinal");
      args.device = static_cast<int>(n);
    } else if (a == "--help" || a == "-h") {
      return Parsed::Help;
    } else if (!a.empty() && a[0] != '-') {
      args.bundles.push_back(a);
    } else {
      return fail("unexpected argument '" + a + "'");
    }
  }
  if (args.bundles.empty())
    return fail("no bundle given");
  return Parsed::Ok;
}

/// One kernel to tune, checked on the CPU.
struct Job {
  std::shared_ptr<Bundle> bundle;
  std::string kernel;
  TuneProblem problem;
};

/// The problem of `kernel` from the command line: its own dims (others'
/// dims are ignored), scalars typed by the manifest.
Status problemFor(const KernelSpec &kernel, const Args &args,
                  TuneProblem &out) {
  for (const SymbolSpec &s : kernel.symbols) {
    auto it = args.dims.find(s.name);
    if (it == args.dims.end())
      return Status(StatusCode::InvalidArgument,
                    "kernel " + kernel.name + ": no --dim " + s.name + "=...");
    out.sizes[s.name] = it->second;
  }
  for (const auto &entry : args.scalars) {
    const ScalarSpec *spec = nullptr;
    for (const ScalarSpec &s : kernel.scalars)
      if (s.name == entry.first)
        spec = &s;
    if (!spec)
      continue; // another kernel's scalar
    int64_t i = 0;
    double f = 0.0;
    if (spec->isInteger()) {
      if (!parseInt(entry.second, i))
        return Status(StatusCode::InvalidArgument,
                      "--scalar " + entry.first + ": kernel " + kernel.name +
                          " takes an integer (" + dtypeName(spec->dtype) + ")");
      out.scalars[entry.first] = ScalarArg::ofInt(i);
    } else {
      parseDouble(entry.second, f);
      out.scalars[entry.first] = ScalarArg::ofFloat(f);
    }
  }
  for (const std::string &p : args.omit)
    for (const ParamSpec &param : kernel.params)
      if (param.name == p)
        out.omitOptional.push_back(p);
  return Status::success();
}

std::string fixed(double v, const char *format) {
  if (!std::isfinite(v))
    return "-";
  char buf[48];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

} // namespace

std::string formatTuneTable(const TuneReport &r, int reps, double tolerance) {
  std::string text;
  char line[1024];
  auto add = [&](int n) {
    text.append(line,
                std::min<size_t>(size_t(std::max(n, 0)), sizeof(line) - 1));
  };
  add(std::snprintf(line, sizeof(line), "%s [%s] on %s\n", r.kernel.c_str(),
                    r.bucket.c_str(), r.device.c_str()));
  add(std::snprintf(line, sizeof(line),
                    "  sizes %s; %d rotating input sets; %d reps; tolerance "
                    "%s\n",
                    r.sizes.c_str(), r.inputSets, reps,
                    tolerance < 0 ? "by dtype"
                                  : fixed(tolerance, "%.1e").c_str()));
  add(std::snprintf(line, sizeof(line), "  %-5s %10s %17s %8s %9s %10s  %s\n",
                    "cand", "median ms", "p20-p80 ms", "vs v0", "time rank",
                    "model rank", "schedule"));
  for (const TuneCandidate &c : r.candidates) {
    // The winner is starred; ranks count from 1, the model's rank is the
    // manifest order.
    std::string cand = "v" + std::to_string(c.variant);
    if (c.variant == r.winner)
      cand += "*";
    if (c.ok)
      add(std::snprintf(line, sizeof(line),
                        "  %-5s %10s %17s %7sx %9d %10d  %s\n", cand.c_str(),
                        formatMs(c.medianMs).c_str(),
                        (formatMs(c.p20Ms) + "-" + formatMs(c.p80Ms)).c_str(),
                        fixed(r.variant0Ms / c.medianMs, "%.2f").c_str(),
                        c.timeRank, c.variant + 1, c.schedule.c_str()));
    else
      add(std::snprintf(line, sizeof(line),
                        "  %-5s %10s %17s %8s %9s %10d  %s\n"
                        "        dropped: %s\n",
                        cand.c_str(), "-", "-", "-", "-", c.variant + 1,
                        c.schedule.c_str(), c.problem.c_str()));
  }
  add(std::snprintf(line, sizeof(line),
                    "  winner: v%d, %.2fx vs v0; variant 0 was the winner: %s; "
                    "model rank matched: %s; v0 spread %.1f%%\n",
                    r.winner, r.speedup, r.winner == 0 ? "yes" : "no",
                    r.modelRankMatched ? "yes" : "no",
                    100.0 * r.variant0Spread));
  for (const std::string &n : r.notes)
    add(std::snprintf(line, sizeof(line), "  note: %s\n", n.c_str()));
  add(std::snprintf(line, sizeof(line), "  tuning file: %s\n",
                    r.tuningFile.empty() ? "(not written)"
                                         : r.tuningFile.c_str()));
  return text;
}

TuneSummary summarizeTuning(const std::vector<TuneReport> &reports,
                            int failed) {
  TuneSummary s;
  s.failed = failed;
  double logSpeedup = 0.0;
  for (const TuneReport &r : reports) {
    ++s.tuned;
    s.variant0Won += r.winner == 0 ? 1 : 0;
    s.rankMatched += r.modelRankMatched ? 1 : 0;
    logSpeedup += std::log(r.speedup);
    if (r.speedup > s.maxSpeedup) {
      s.maxSpeedup = r.speedup;
      s.maxWhere = r.kernel + " [" + r.bucket + "]";
    }
  }
  s.geomeanSpeedup = s.tuned ? std::exp(logSpeedup / s.tuned) : 1.0;
  return s;
}

std::string TuneSummary::text() const {
  char line[512];
  std::snprintf(line, sizeof(line),
                "%d kernel(s) tuned, %d failed; variant 0 was already the "
                "winner for %d of %d; tuned vs v0: geomean %.3fx, max %.3fx%s; "
                "model rank matched for %d of %d",
                tuned, failed, variant0Won, tuned, geomeanSpeedup, maxSpeedup,
                maxWhere.empty() ? "" : (" (" + maxWhere + ")").c_str(),
                rankMatched, tuned);
  return line;
}

int runTune(const std::vector<std::string> &argv, FILE *out, FILE *err) {
  Args args;
  switch (parseArgs(argv, args, err)) {
  case Parsed::Help:
    usage(out);
    return kExitOk;
  case Parsed::Error:
    return kExitUsage;
  case Parsed::Ok:
    break;
  }

  // Everything that can be wrong on the CPU is reported before any GPU work.
  std::vector<Job> jobs;
  std::set<std::string> usedDims, foundKernels;
  for (const std::string &path : args.bundles) {
    std::shared_ptr<Bundle> bundle;
    if (Status st = Bundle::load(path, bundle); !st) {
      std::fprintf(err, "flashgen-tune: %s\n", st.toString().c_str());
      return kExitUsage;
    }
    for (const KernelSpec &k : bundle->data().manifest.kernels) {
      if (!args.kernels.empty() &&
          std::find(args.kernels.begin(), args.kernels.end(), k.name) ==
              args.kernels.end())
        continue;
      foundKernels.insert(k.name);
      if (args.skipMissingDims) {
        std::string missing;
        for (const SymbolSpec &s : k.symbols)
          if (!args.dims.count(s.name))
            missing += (missing.empty() ? "" : ", ") + s.name;
        if (!missing.empty()) {
          std::fprintf(err, "flashgen-tune: skipping %s (no --dim for %s)\n",
                       k.name.c_str(), missing.c_str());
          continue;
        }
      }
      for (const SymbolSpec &s : k.symbols)
        usedDims.insert(s.name);
      Job job;
      job.bundle = bundle;
      job.kernel = k.name;
      jobs.push_back(std::move(job));
    }
  }
  for (const std::string &k : args.kernels)
    if (!foundKernels.count(k)) {
      std::fprintf(err, "flashgen-tune: no bundle has a kernel named %s\n",
                   k.c_str());
      return kExitUsage;
    }
  if (jobs.empty()) {
    std::fprintf(err, "flashgen-tune: no kernel to tune%s\n",
                 args.skipMissingDims
                     ? ": every kernel lacks a --dim for some symbol"
                     : "");
    return kExitUsage;
  }
  // A misspelt dim would otherwise surface as a missing one.
  for (const auto &d : args.dims)
    if (!usedDims.count(d.first)) {
      std::fprintf(err,
                   "flashgen-tune: --dim %s: no kernel being tuned has a "
                   "symbol of that name\n",
                   d.first.c_str());
      return kExitUsage;
    }
  for (Job &job : jobs) {
    const KernelSpec &k = *job.bundle->data().manifest.findKernel(job.kernel);
    TuningInputs inputs;
    Status st = problemFor(k, args, job.problem);
    if (st)
      st = planInputs(k, job.problem, inputs);
    if (!st) {
      const std::string &m = st.message();
      std::fprintf(err, "flashgen-tune: %s: %s%s\n", job.bundle->path().c_str(),
                   m.compare(0, 7, "kernel ") == 0
                       ? ""
                       : ("kernel " + job.kernel + ": ").c_str(),
                   m.c_str());
      return kExitUsage;
    }
  }

  std::shared_ptr<Device> device;
  if (Status st = Device::open(args.device, device); !st) {
    std::fprintf(err,
                 "flashgen-tune: cannot tune without a GPU: %s\n"
                 "(tuning times the variants on the device; run this on the "
                 "GPU machine)\n",
                 st.toString().c_str());
    return kExitNoGpu;
  }
  if (!args.json)
    std::fprintf(
        out, "tuning on %s (GPU %d, %s); tuning files under %s\n\n",
        device->name().c_str(), device->ordinal(), device->arch().c_str(),
        TuningFile::defaultDir().empty() ? "(none: no cache directory)"
                                         : TuningFile::defaultDir().c_str());

  TuneOptions options = args.options;
  options.force = true; // measuring is this command's purpose
  std::vector<TuneReport> reports;
  json::Value results = json::Value::array();
  json::Value failures = json::Value::array();
  for (const Job &job : jobs) {
    std::unique_ptr<Kernel> kernel;
    TuneReport report;
    Status st = job.bundle->getKernel(job.kernel, device, kernel);
    if (st)
      st = tune(*kernel, job.problem, options, report);
    if (!st) {
      std::fprintf(err, "flashgen-tune: %s: kernel %s: %s\n",
                   job.bundle->path().c_str(), job.kernel.c_str(),
                   st.toString().c_str());
      json::Value f = json::Value::object();
      f.set("bundle", json::Value::string(job.bundle->path()));
      f.set("kernel", json::Value::string(job.kernel));
      f.set("error", json::Value::string(st.toString()));
      failures.push(std::move(f));
      continue;
    }
    if (args.json) {
      json::Value v = reportToValue(report);
      v.set("bundle", json::Value::string(job.bundle->path()));
      results.push(std::move(v));
    } else {
      std::fprintf(
          out, "%s\n",
          formatTuneTable(report, options.reps, options.tolerance).c_str());
    }
    reports.push_back(std::move(report));
  }

  const int failed = static_cast<int>(failures.items().size());
  const TuneSummary summary = summarizeTuning(reports, failed);
  if (args.json) {
    json::Value s = json::Value::object();
    s.set("tuned", json::Value::integer(summary.tuned));
    s.set("failed", json::Value::integer(failed));
    s.set("variant0_won", json::Value::integer(summary.variant0Won));
    s.set("geomean_speedup", json::Value::number(summary.geomeanSpeedup));
    s.set("max_speedup", json::Value::number(summary.maxSpeedup));
    s.set("model_rank_matched", json::Value::integer(summary.rankMatched));
    s.set("text", json::Value::string(summary.text()));
    json::Value root = json::Value::object();
    root.set("device", json::Value::string(device->name()));
    root.set("results", std::move(results));
    root.set("failures", std::move(failures));
    root.set("summary", std::move(s));
    std::fprintf(out, "%s\n", root.dump().c_str());
  } else {
    std::fprintf(out, "summary: %s\n", summary.text().c_str());
  }
  return failed == 0 ? kExitOk : kExitTuneFailed;
}

int runTune(int argc, char **argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i)
    args.push_back(argv[i]);
  return runTune(args, stdout, stderr);
}

} // namespace flashgen
