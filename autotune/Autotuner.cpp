//===- Autotuner.cpp - Timing the scheduler's candidates ------------------===//

#include "autotune/Autotuner.h"

#include "autotune/Progress.h"
#include "runtime/Log.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <thread>

namespace flashgen {

double quantile(std::vector<double> samples, double q) {
  if (samples.empty())
    return INFINITY;
  std::sort(samples.begin(), samples.end());
  const double pos = q * double(samples.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, samples.size() - 1);
  return samples[lo] + (samples[hi] - samples[lo]) * (pos - double(lo));
}

namespace {

/// First line of a message: enough for a table cell or a progress line
/// (NVRTC logs run to many lines).
std::string firstLine(const std::string &text) {
  size_t end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end) + " ...";
}

/// compile() for every candidate, on up to hardware_concurrency threads.
std::vector<Status> compileAll(CandidateRunner &runner, int n) {
  std::vector<Status> results(n);
  std::atomic<int> next{0};
  auto work = [&] {
    for (int i; (i = next.fetch_add(1)) < n;)
      results[i] = runner.compile(i);
  };
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<unsigned>(threads, static_cast<unsigned>(n));
  std::vector<std::thread> pool;
  try {
    for (unsigned t = 1; t < threads; ++t)
      pool.emplace_back(work);
  } catch (...) {
    // No more threads to be had: the ones started and this one finish the
    // work.
  }
  work();
  for (std::thread &t : pool)
    t.join();
  return results;
}

void setTimes(TuneCandidate &c, const std::vector<double> &samples) {
  c.medianMs = quantile(samples, 0.5);
  c.p20Ms = quantile(samples, 0.2);
  c.p80Ms = quantile(samples, 0.8);
  c.reps = static_cast<int>(samples.size());
}

} // namespace

Status runTuning(CandidateRunner &runner, const TuneSubject &subject,
                 const TuneOptions &options, TuneReport &report) {
  const int n = runner.numCandidates();
  report.kernel = subject.kernel;
  report.bucket = subject.bucket;
  report.candidates.assign(n, TuneCandidate());
  report.notes.clear();
  for (int i = 0; i < n; ++i) {
    report.candidates[i].variant = i;
    report.candidates[i].schedule =
        i < int(subject.schedules.size()) ? subject.schedules[i] : "-";
  }
  if (n == 0)
    return Status(StatusCode::Internal,
                  "kernel " + subject.kernel + " has no variants to tune");
  const std::string what = subject.kernel + " [" + subject.bucket + "]";
  auto progress = [&](int i, double bestMs, int bestVariant) {
    if (options.progress)
      logLine(progressLine(subject.kernel, subject.bucket, i, n,
                           report.candidates[i], bestMs, bestVariant));
  };
  auto lost = [&](int i, const std::string &why) {
    return Status(StatusCode::CudaError,
                  "tuning " + what + ": candidate v" + std::to_string(i) +
                      " left the device unusable (" + why +
                      "); no further candidate can run in this process");
  };

  // 1-2. Compile everything; load; variant 0 is the reference.
  std::vector<Status> compiled = compileAll(runner, n);
  if (!compiled[0])
    return Status(compiled[0].code(), "tuning " + what +
                                          ": variant 0 failed to compile: " +
                                          compiled[0].message());
  for (int i = 0; i < n; ++i) {
    Status st = compiled[i] ? runner.load(i) : compiled[i];
    if (st)
      continue;
    if (i == 0)
      return Status(st.code(),
                    "tuning " + what +
                        ": variant 0 failed to load: " + st.message());
    report.candidates[i].problem =
        std::string(compiled[i] ? "load" : "compile") +
        " failed: " + firstLine(st.message());
  }

  std::vector<HostTensor> reference;
  if (Status st = runner.run(0, reference); !st)
    return Status(st.code(), "tuning " + what +
                                 ": variant 0 failed to run: " + st.message());
  for (const HostTensor &out : reference) {
    Comparison self = compareOutputs(out, out, 0.0);
    if (self.referenceNonFinite > 0)
      report.notes.push_back(
          "variant 0 wrote " + std::to_string(self.referenceNonFinite) +
          " non-finite values to " + out.name +
          " (elements it does not write keep the NaN poison)");
  }
  std::vector<double> v0Samples;
  if (Status st = runner.time(0, options.reps, options.warmupMs,
                              options.maxMsPerCandidate, v0Samples);
      !st)
    return Status(st.code(), "tuning " + what +
                                 ": timing variant 0 failed: " + st.message());
  TuneCandidate &v0 = report.candidates[0];
  v0.ok = true;
  setTimes(v0, v0Samples);
  double bestMs = v0.medianMs;
  int best = 0;
  progress(0, bestMs, best);

  // 3. The other candidates.
  for (int i = 1; i < n; ++i) {
    TuneCandidate &c = report.candidates[i];
    if (!c.problem.empty()) {
      progress(i, bestMs, best);
      continue;
    }
    std::vector<HostTensor> outputs;
    Status st = runner.run(i, outputs);
    if (!st) {
      c.problem = "launch failed: " + firstLine(st.message());
      progress(i, bestMs, best);
      std::string why;
      if (!runner.usable(why))
        return lost(i, why);
      continue;
    }
    if (outputs.size() != reference.size()) {
      c.problem = "returned " + std::to_string(outputs.size()) +
                  " outputs, variant 0 " + std::to_string(reference.size());
      progress(i, bestMs, best);
      continue;
    }
    for (size_t o = 0; o < outputs.size(); ++o) {
      const double tolerance =
          options.tolerance >= 0 ? options.tolerance
                                 : defaultTolerance(reference[o].dtype,
                                                    subject.lowPrecisionParams);
      Comparison cmp = compareOutputs(reference[o], outputs[o], tolerance);
      c.relError = std::max(c.relError, cmp.relError);
      if (!cmp.ok && c.problem.empty())
        c.problem = "output differs from v0 (" + cmp.what + ")";
    }
    if (!c.problem.empty()) {
      progress(i, bestMs, best);
      continue;
    }
    std::vector<double> samples;
    st = runner.time(i, options.reps, options.warmupMs,
                     options.maxMsPerCandidate, samples);
    if (!st) {
      c.problem = "timing failed: " + firstLine(st.message());
      progress(i, bestMs, best);
      std::string why;
      if (!runner.usable(why))
        return lost(i, why);
      continue;
    }
    c.ok = true;
    setTimes(c, samples);
    if (c.medianMs < bestMs) {
      bestMs = c.medianMs;
      best = i;
    }
    progress(i, bestMs, best);
  }

  // 4. Variant 0 once more: its drift is the noise a winner must beat.
  bool othersOk = false;
  for (int i = 1; i < n; ++i)
    othersOk |= report.candidates[i].ok;
  report.variant0Spread = 0.0;
  if (othersOk) {
    std::vector<double> again;
    if (runner.time(0, options.reps, options.warmupMs,
                    options.maxMsPerCandidate, again)) {
      const double m1 = v0.medianMs, m2 = quantile(again, 0.5);
      report.variant0Spread = std::fabs(m2 - m1) / std::min(m1, m2);
      v0Samples.insert(v0Samples.end(), again.begin(), again.end());
      setTimes(v0, v0Samples);
    }
  }

  // 5. The winner, and how the measured order compares with the model's.
  int fastest = 0;
  for (int i = 1; i < n; ++i)
    if (report.candidates[i].ok &&
        report.candidates[i].medianMs < report.candidates[fastest].medianMs)
      fastest = i;
  std::vector<int> order;
  for (int i = 0; i < n; ++i)
    if (report.candidates[i].ok)
      order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return report.candidates[a].medianMs < report.candidates[b].medianMs;
  });
  report.modelRankMatched = true;
  for (size_t r = 0; r < order.size(); ++r) {
    report.candidates[order[r]].timeRank = static_cast<int>(r + 1);
    if (r > 0 && order[r] < order[r - 1])
      report.modelRankMatched = false;
  }

  report.variant0Ms = v0.medianMs;
  const double threshold =
      std::max(options.minImprovement, report.variant0Spread);
  report.winner = fastest;
  if (fastest != 0 &&
      !(report.candidates[fastest].medianMs < v0.medianMs * (1 - threshold))) {
    char buf[200];
    std::snprintf(buf, sizeof(buf),
                  "v%d was %.1f%% faster than v0, within the noise threshold "
                  "of %.1f%%: v0 kept",
                  fastest,
                  100.0 *
                      (1 - report.candidates[fastest].medianMs / v0.medianMs),
                  100.0 * threshold);
    report.notes.push_back(buf);
    report.winner = 0;
  }
  report.winnerMs = report.candidates[report.winner].medianMs;
  report.speedup = report.variant0Ms / report.winnerMs;
  if (options.progress)
    logLine(summaryLine(report));
  return Status::success();
}

} // namespace flashgen
