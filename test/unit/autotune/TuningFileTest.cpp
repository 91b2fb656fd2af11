//===- TuningFileTest.cpp - Tuning results on disk ------------------------===//

#include "TestSupport.h"

#include "autotune/TuningFile.h"
#include "autotune/TuningKey.h"
#include "runtime/DiskCache.h"
#include "runtime/Sha256.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace flashgen;
using namespace flashgen::test;

namespace {

json::Value entry(int variant, double ms) {
  json::Value e = json::Value::object();
  e.set("variant", json::Value::integer(variant));
  e.set("winner_ms", json::Value::number(ms));
  return e;
}

json::Value header() {
  json::Value h = json::Value::object();
  h.set("kernel", json::Value::string("axpy"));
  h.set("device", json::Value::string("Test GPU"));
  return h;
}

DeviceIdentity h100() {
  DeviceIdentity d;
  d.name = "NVIDIA H100 80GB HBM3";
  d.arch = "sm_90a";
  d.ccMajor = 9;
  d.ccMinor = 0;
  d.driverVersion = 13000;
  d.nvrtcVersion = "13.0";
  d.flashgenVersion = "0.1.0";
  return d;
}

std::string readFile(const std::string &path) {
  std::string text;
  EXPECT_TRUE(readWholeFile(path, text)) << path;
  return text;
}

void writeFile(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

class TuningFileTest : public ::testing::Test {
protected:
  TempDir tmp;
  std::string dir() const { return tmp.path() + "/tuning"; }
  TuningFile file(const std::string &key = std::string(64, 'a'),
                  int variants = 4) {
    return TuningFile(dir(), "axpy", key, header(), variants);
  }
};

TEST_F(TuningFileTest, RoundTripsEntriesPerBucket) {
  TuningFile f = file();
  EXPECT_EQ(f.path(), dir() + "/axpy/" + std::string(64, 'a') + ".json");
  EXPECT_EQ(f.load(), TuningFile::State::Missing);
  ASSERT_TRUE(isOk(f.store("B=2,N=8192", entry(2, 0.398))));
  ASSERT_TRUE(isOk(f.store("B=4,N=8192", entry(1, 0.75))));

  TuningFile again = file();
  ASSERT_EQ(again.load(), TuningFile::State::Loaded);
  EXPECT_EQ(again.size(), 2u);
  const json::Value *e = again.find("B=2,N=8192");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->find("variant")->asInt(), 2);
  EXPECT_DOUBLE_EQ(e->find("winner_ms")->asDouble(), 0.398);
  EXPECT_EQ(again.find("B=4,N=8192")->find("variant")->asInt(), 1);
  EXPECT_EQ(again.find("B=8,N=8192"), nullptr);
  // Informative header fields are in the file.
  EXPECT_NE(readFile(f.path()).find("\"device\":\"Test GPU\""),
            std::string::npos);
}

TEST_F(TuningFileTest, StoreMergesWithWhatAnotherProcessWrote) {
  TuningFile mine = file(), theirs = file();
  ASSERT_EQ(mine.load(), TuningFile::State::Missing);
  ASSERT_TRUE(isOk(theirs.store("B=1,N=64", entry(3, 1.0))));
  // `mine` read the file before `theirs` wrote: its store must re-read.
  ASSERT_TRUE(isOk(mine.store("B=2,N=64", entry(0, 2.0))));
  TuningFile check = file();
  ASSERT_EQ(check.load(), TuningFile::State::Loaded);
  EXPECT_TRUE(check.find("B=1,N=64"));
  EXPECT_TRUE(check.find("B=2,N=64"));
}

TEST_F(TuningFileTest, WritesLeaveNoTempFiles) {
  TuningFile f = file();
  ASSERT_TRUE(isOk(f.store("B=1,N=1", entry(0, 1.0))));
  ASSERT_TRUE(isOk(f.store("B=1,N=2", entry(0, 1.0))));
  int files = 0;
  for (const auto &e : std::filesystem::directory_iterator(dir() + "/axpy")) {
    ++files;
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos);
  }
  EXPECT_EQ(files, 1);
}

/// Each way a file can be damaged: detected, reported once, rebuilt.
struct Damage {
  const char *name;
  std::string (*apply)(const std::string &good);
  const char *why; // part of the reason
};

const Damage kDamages[] = {
    {"truncated",
     [](const std::string &g) { return g.substr(0, g.size() / 2); },
     "not valid JSON"},
    {"empty", [](const std::string &) { return std::string(); },
     "not valid JSON"},
    {"garbage",
     [](const std::string &) {
       return std::string("\x7f"
                          "ELF...");
     },
     "not valid JSON"},
    {"other format",
     [](const std::string &) {
       return std::string(
           "{\"format\":\"flashgen-cubin-cache\",\"version\":1}");
     },
     "not a version-1 flashgen tuning file"},
    {"altered variant",
     [](const std::string &g) {
       std::string s = g;
       size_t at = s.find("\"variant\":2");
       s.replace(at, 11, "\"variant\":1");
       return s;
     },
     "sha256"},
    {"other key",
     [](const std::string &g) {
       std::string s = g;
       size_t at = s.find(std::string(64, 'a'));
       s.replace(at, 64, std::string(64, 'b'));
       return s;
     },
     "key does not match"},
};

TEST_F(TuningFileTest, DamagedFilesAreReportedOnceAndRebuilt) {
  for (const Damage &d : kDamages) {
    SCOPED_TRACE(d.name);
    TempDir own;
    TuningFile f(own.path(), "axpy", std::string(64, 'a'), header(), 4);
    ASSERT_TRUE(isOk(f.store("B=2,N=8192", entry(2, 0.4))));
    writeFile(f.path(), d.apply(readFile(f.path())));

    LogCapture log;
    std::string why;
    TuningFile reader(own.path(), "axpy", std::string(64, 'a'), header(), 4);
    EXPECT_EQ(reader.load(&why), TuningFile::State::Damaged);
    EXPECT_NE(why.find(d.why), std::string::npos) << why;
    EXPECT_EQ(reader.size(), 0u);
    EXPECT_EQ(reader.find("B=2,N=8192"), nullptr);
    // A second load in this process does not report again.
    EXPECT_EQ(reader.load(), TuningFile::State::Damaged);
    std::vector<std::string> lines = log.lines();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("damaged tuning file " + reader.path()),
              std::string::npos)
        << lines[0];

    // The next store rewrites the whole file, valid again.
    ASSERT_TRUE(isOk(reader.store("B=1,N=64", entry(1, 0.1))));
    TuningFile after(own.path(), "axpy", std::string(64, 'a'), header(), 4);
    ASSERT_EQ(after.load(), TuningFile::State::Loaded);
    EXPECT_EQ(after.size(), 1u);
    EXPECT_TRUE(after.find("B=1,N=64"));
  }
}

TEST_F(TuningFileTest, AnEntryNamingAVariantTheKernelLacksIsDamage) {
  // Written for a kernel with 4 variants, read for one with 2: cannot
  // happen through the key (it hashes the variants), so it is damage.
  TuningFile four = file(std::string(64, 'a'), 4);
  ASSERT_TRUE(isOk(four.store("B=2,N=64", entry(3, 0.5))));
  TuningFile two = file(std::string(64, 'a'), 2);
  std::string why;
  EXPECT_EQ(two.load(&why), TuningFile::State::Damaged);
  EXPECT_NE(why.find("names no variant"), std::string::npos) << why;
  // And storing one is refused outright.
  EXPECT_FALSE(two.store("B=2,N=64", entry(5, 0.5)).ok());
}

TEST_F(TuningFileTest, AnUnwritableDirectoryIsAnErrorNotACrash) {
  writeFile(tmp.path() + "/blocker", "a file where a directory should be");
  TuningFile f(tmp.path() + "/blocker", "axpy", std::string(64, 'a'), header(),
               4);
  EXPECT_EQ(f.load(), TuningFile::State::Missing);
  Status st = f.store("B=1,N=1", entry(0, 1.0));
  EXPECT_EQ(st.code(), StatusCode::FileError);
  EXPECT_NE(st.message().find("blocker"), std::string::npos) << st.message();
}

TEST_F(TuningFileTest, DefaultDirFollowsTheEnvironment) {
  {
    env::ScopedOverride tuning(env::kTuningDir, std::string("/x/tune"));
    EXPECT_EQ(TuningFile::defaultDir(), "/x/tune");
  }
  env::ScopedOverride tuning(env::kTuningDir, std::nullopt);
  env::ScopedOverride cache(env::kCacheDir, std::string("/y/cache"));
  EXPECT_EQ(TuningFile::defaultDir(), "/y/cache/tuning-v1");
}

TEST(TuningKey, DeviceDriverAndVersionsEachSelectAnotherFile) {
  const std::string identity(64, 'c');
  const std::string base = tuningFileKey(identity, h100());
  EXPECT_EQ(base, tuningFileKey(identity, h100()));
  EXPECT_EQ(base.size(), 64u);
  DeviceIdentity d = h100();
  d.name = "NVIDIA H200";
  EXPECT_NE(tuningFileKey(identity, d), base);
  d = h100();
  d.ccMinor = 1;
  EXPECT_NE(tuningFileKey(identity, d), base);
  d = h100();
  d.driverVersion = 12080;
  EXPECT_NE(tuningFileKey(identity, d), base);
  d = h100();
  d.nvrtcVersion = "12.8";
  EXPECT_NE(tuningFileKey(identity, d), base);
  d = h100();
  d.flashgenVersion = "0.2.0";
  EXPECT_NE(tuningFileKey(identity, d), base);
  EXPECT_NE(tuningFileKey(std::string(64, 'd'), h100()), base);
  // The arch string follows from the CC; it is informative only.
  d = h100();
  d.arch = "whatever";
  EXPECT_EQ(tuningFileKey(identity, d), base);
  EXPECT_EQ(h100().describe(),
            "NVIDIA H100 80GB HBM3 (sm_90a, CC 9.0, driver 13.0)");
}

TEST(TuningKey, DifferentDevicesAndBucketsKeepSeparateEntries) {
  TempDir tmp;
  const std::string identity(64, 'c');
  DeviceIdentity other = h100();
  other.driverVersion = 12080;
  TuningFile onNew(tmp.path(), "axpy", tuningFileKey(identity, h100()),
                   header(), 4);
  TuningFile onOld(tmp.path(), "axpy", tuningFileKey(identity, other), header(),
                   4);
  ASSERT_NE(onNew.path(), onOld.path());
  ASSERT_TRUE(isOk(onNew.store("B=2,N=8192", entry(1, 0.4))));
  ASSERT_TRUE(isOk(onNew.store("B=2,N=16384", entry(3, 0.8))));
  ASSERT_TRUE(isOk(onOld.store("B=2,N=8192", entry(2, 0.5))));

  TuningFile a(tmp.path(), "axpy", tuningFileKey(identity, h100()), header(),
               4);
  TuningFile b(tmp.path(), "axpy", tuningFileKey(identity, other), header(), 4);
  ASSERT_EQ(a.load(), TuningFile::State::Loaded);
  ASSERT_EQ(b.load(), TuningFile::State::Loaded);
  EXPECT_EQ(a.find("B=2,N=8192")->find("variant")->asInt(), 1);
  EXPECT_EQ(a.find("B=2,N=16384")->find("variant")->asInt(), 3);
  EXPECT_EQ(b.find("B=2,N=8192")->find("variant")->asInt(), 2);
  EXPECT_EQ(b.find("B=2,N=16384"), nullptr);
}

/// The axpy fixture's files, with one source changed by `edit`.
std::shared_ptr<Bundle> axpyEdited(const std::string &file,
                                   const std::string &appended,
                                   const std::string &label) {
  const std::string dir = axpyBundleDir();
  std::map<std::string, std::string> files;
  for (const char *name :
       {"axpy.v0.cu", "axpy.v1.cu", "flashgen/device/fixture_math.cuh",
        "flashgen/device/fixture_types.cuh"}) {
    std::string text;
    EXPECT_TRUE(readWholeFile(dir + "/" + name, text)) << name;
    files[name] = text;
  }
  files[file] += appended;
  std::string manifest;
  EXPECT_TRUE(readWholeFile(dir + "/manifest.json", manifest));
  std::shared_ptr<Bundle> b;
  EXPECT_TRUE(isOk(Bundle::fromMemory(manifest, files, label, b)));
  return b;
}

TEST(TuningKey, KernelIdentityHashesSourcesAndHeadersNotThePath) {
  auto onDisk = loadAxpy();
  auto same = axpyEdited("axpy.v1.cu", "", "/somewhere/else");
  auto v1 = axpyEdited("axpy.v1.cu", "\n// changed\n", "x");
  auto header = axpyEdited("flashgen/device/fixture_math.cuh", "\n", "x");
  auto id = [](const std::shared_ptr<Bundle> &b) {
    return kernelIdentityHash(b->data(),
                              *b->data().manifest.findKernel("axpy"));
  };
  EXPECT_EQ(id(onDisk), id(same));
  EXPECT_NE(id(onDisk), id(v1));
  EXPECT_NE(id(onDisk), id(header));
  EXPECT_NE(id(v1), id(header));
  // Code-changing environment changes the compiled kernels, so the timings.
  const std::string before = id(onDisk);
  env::ScopedOverride opts(env::kNvrtcOptions, std::string("-G"));
  EXPECT_NE(id(onDisk), before);
}

} // namespace
