//===- Log.cpp - Runtime log lines ----------------------------------------===//

#include "runtime/Log.h"

#include "flashgen/runtime.h"
#include "runtime/Env.h"

#include <cstdio>
#include <mutex>
#include <set>

namespace flashgen {

namespace {

struct Sink {
  std::mutex mutex;
  LogCallback callback = nullptr;
  void *user = nullptr;
  std::set<std::string> seen;
};

Sink &sink() {
  static Sink s;
  return s;
}

} // namespace

void setLogCallback(LogCallback callback, void *user) {
  std::lock_guard<std::mutex> lock(sink().mutex);
  sink().callback = callback;
  sink().user = user;
}

void logLine(const std::string &message) {
  Sink &s = sink();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.callback)
    s.callback(message.c_str(), s.user);
  else
    std::fprintf(stderr, "flashgen: %s\n", message.c_str());
}

void logLineOnce(const std::string &onceKey, const std::string &message) {
  {
    std::lock_guard<std::mutex> lock(sink().mutex);
    if (!sink().seen.insert(onceKey).second)
      return;
  }
  logLine(message);
}

bool verboseLogging() { return env::getBool(env::kLog); }

} // namespace flashgen
