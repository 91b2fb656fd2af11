//===- TestSupport.h - Helpers for the runtime unit tests -------*- C++ -*-===//

#ifndef FLASHGEN_TEST_UNIT_RUNTIME_TESTSUPPORT_H
#define FLASHGEN_TEST_UNIT_RUNTIME_TESTSUPPORT_H

#include "flashgen/runtime.h"
#include "runtime/Env.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace flashgen {
namespace test {

inline std::string inputsDir() { return FLASHGEN_RUNTIME_TEST_INPUTS; }
inline std::string axpyBundleDir() { return inputsDir() + "/axpy.bundle"; }

/// A fresh directory under /tmp, removed with its contents.
class TempDir {
public:
  TempDir() {
    std::string tmpl = std::filesystem::temp_directory_path().string() +
                       "/flashgen-test-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    const char *made = ::mkdtemp(buf.data());
    path_ = made ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty())
      std::filesystem::remove_all(path_, ec);
  }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

/// Points the disk cache at a private temp dir for one test.
class IsolatedCache {
public:
  IsolatedCache() : cacheDir_(dir_.path() + "/cache") {
    override_ = std::make_unique<env::ScopedOverride>(env::kCacheDir, cacheDir_);
  }
  const std::string &dir() const { return cacheDir_; }

private:
  TempDir dir_;
  std::string cacheDir_;
  std::unique_ptr<env::ScopedOverride> override_;
};

/// Collects runtime log lines while alive.
class LogCapture {
public:
  LogCapture() { setLogCallback(&LogCapture::receive, this); }
  ~LogCapture() { setLogCallback(nullptr, nullptr); }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }

private:
  static void receive(const char *message, void *user) {
    auto *self = static_cast<LogCapture *>(user);
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->lines_.push_back(message);
  }
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

inline ::testing::AssertionResult isOk(const Status &st) {
  if (st.ok())
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << st.toString();
}

inline std::shared_ptr<Bundle> loadAxpy() {
  std::shared_ptr<Bundle> b;
  Status st = Bundle::load(axpyBundleDir(), b);
  EXPECT_TRUE(isOk(st));
  return b;
}

} // namespace test
} // namespace flashgen

#endif // FLASHGEN_TEST_UNIT_RUNTIME_TESTSUPPORT_H
