//===- EnvTest.cpp - Environment variable registry ------------------------===//

#include "runtime/Env.h"

#include "flashgen/runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace flashgen;

namespace {

TEST(Env, RegistryClassifiesEveryVariable) {
  std::set<std::string> names;
  for (const env::Variable *v = env::registry(); v->name; ++v) {
    EXPECT_TRUE(names.insert(v->name).second) << "registered twice: " << v->name;
    EXPECT_NE(std::string(v->meaning), "");
  }
  // Variables that change the compiled code must be cache-invalidating.
  for (const char *name : {env::kLineInfo, env::kNvrtcOptions,
                           env::kCudaInclude, env::kCudaHome, env::kCudaPath})
    EXPECT_EQ(env::lookup(name)->effect, env::CacheEffect::Invalidating) << name;
  for (const char *name : {env::kCacheDir, env::kAlwaysCompile, env::kDump,
                           env::kLaunchChecks, env::kLog, env::kDisableDiskCache})
    EXPECT_EQ(env::lookup(name)->effect, env::CacheEffect::Neutral) << name;
  EXPECT_EQ(env::lookup("FLASHGEN_NOT_A_VARIABLE"), nullptr);
}

TEST(Env, ScopedOverrideWinsOverTheEnvironmentAndNests) {
  ::setenv(env::kLog, "1", 1);
  EXPECT_TRUE(env::getBool(env::kLog));
  {
    env::ScopedOverride off(env::kLog, std::string("0"));
    EXPECT_FALSE(env::getBool(env::kLog));
    {
      env::ScopedOverride unset(env::kLog, std::nullopt);
      EXPECT_FALSE(env::getStr(env::kLog).has_value());
      EXPECT_TRUE(env::getBool(env::kLog, /*fallback=*/true));
    }
    EXPECT_EQ(*env::getStr(env::kLog), "0");
  }
  EXPECT_TRUE(env::getBool(env::kLog));
  ::unsetenv(env::kLog);
}

TEST(Env, BooleanSpellings) {
  for (const char *yes : {"1", "true", "TRUE", "on", "Yes", "YES"}) {
    EXPECT_EQ(env::parseBool(yes), true) << yes;
    env::ScopedOverride o(env::kDump, std::string(yes));
    EXPECT_TRUE(env::getBool(env::kDump)) << yes;
  }
  for (const char *no : {"0", "false", "Off", "no", "NO"}) {
    EXPECT_EQ(env::parseBool(no), false) << no;
    env::ScopedOverride o(env::kDump, std::string(no));
    EXPECT_FALSE(env::getBool(env::kDump, true)) << no;
  }
  for (const char *neither : {"", "2", "maybe", "enable", " 1", "yes!", "-1"})
    EXPECT_EQ(env::parseBool(neither), std::nullopt) << neither;
  // Empty reads as unset.
  env::ScopedOverride o(env::kLaunchChecks, std::string(""));
  EXPECT_TRUE(env::getBool(env::kLaunchChecks, true));
  EXPECT_FALSE(env::getBool(env::kLaunchChecks, false));
}

/// Collects what the runtime logs while alive.
struct CapturedLog {
  CapturedLog() {
    setLogCallback(
        [](const char *line, void *self) {
          static_cast<CapturedLog *>(self)->lines.push_back(line);
        },
        this);
  }
  ~CapturedLog() { setLogCallback(nullptr, nullptr); }
  std::vector<std::string> lines;
};

TEST(Env, AnUnrecognisedFlagWarnsOnceAndReadsAsTheDefault) {
  CapturedLog log;
  {
    env::ScopedOverride o(env::kAutotune, std::string("maybe"));
    EXPECT_FALSE(env::getBool(env::kAutotune)); // default off
    EXPECT_FALSE(env::getBool(env::kAutotune)); // warned once
  }
  ASSERT_EQ(log.lines.size(), 1u);
  EXPECT_EQ(log.lines[0],
            "warning: FLASHGEN_AUTOTUNE=maybe is not a recognised value "
            "(accepted: 1, true, on, yes or 0, false, off, no (any case)); "
            "read as off, its default");
  {
    env::ScopedOverride o(env::kLaunchChecks, std::string("nope"));
    EXPECT_TRUE(env::getBool(env::kLaunchChecks, true)); // default on
  }
  ASSERT_EQ(log.lines.size(), 2u);
  EXPECT_NE(log.lines[1].find("FLASHGEN_LAUNCH_CHECKS=nope"), std::string::npos);
  EXPECT_NE(log.lines[1].find("read as on, its default"), std::string::npos);
  // Recognised values say nothing.
  env::ScopedOverride o(env::kAutotune, std::string("off"));
  EXPECT_FALSE(env::getBool(env::kAutotune));
  EXPECT_EQ(log.lines.size(), 2u);
}

// README.md's environment table lists every FLASHGEN_* variable the runtime
// registers, each with its accepted values for flags.
TEST(Env, ReadmeTableListsEveryRegisteredVariable) {
  std::ifstream in(FLASHGEN_README);
  ASSERT_TRUE(in) << "cannot read " << FLASHGEN_README;
  std::map<std::string, std::string> rows; // name -> the whole row
  for (std::string line; std::getline(in, line);)
    if (line.rfind("| `FLASHGEN_", 0) == 0)
      rows[line.substr(3, line.find('`', 3) - 3)] = line;
  for (const env::Variable *v = env::registry(); v->name; ++v) {
    std::string name = v->name;
    if (name.rfind("FLASHGEN_", 0) != 0)
      continue;
    auto row = rows.find(name);
    ASSERT_NE(row, rows.end()) << name << " is not in README.md's table";
    if (v->kind == env::ValueKind::Flag)
      EXPECT_NE(row->second.find("`1`"), std::string::npos)
          << name << "'s row does not give its values";
  }
}

TEST(EnvDeathTest, ReadingTextAsAFlagAborts) {
  EXPECT_DEATH(env::getBool(env::kCacheDir),
               "FLASHGEN_CACHE_DIR is read as a flag but registered as text");
}

TEST(Env, FingerprintHasOnlyInvalidatingVariablesSorted) {
  env::ScopedOverride a(env::kNvrtcOptions, std::string("-G"));
  env::ScopedOverride b(env::kLineInfo, std::string("1"));
  env::ScopedOverride c(env::kLog, std::string("1")); // neutral
  env::ScopedOverride d(env::kCudaHome, std::nullopt);
  env::ScopedOverride e(env::kCudaPath, std::nullopt);
  env::ScopedOverride f(env::kCudaInclude, std::nullopt);
  EXPECT_EQ(env::cacheInvalidatingFingerprint(),
            "FLASHGEN_LINEINFO=1\nFLASHGEN_NVRTC_OPTIONS=-G\n");
}

TEST(EnvDeathTest, ReadingAnUnregisteredVariableAborts) {
  EXPECT_DEATH(env::getStr("FLASHGEN_UNREGISTERED"),
               "FLASHGEN_UNREGISTERED is read but not registered");
}

} // namespace
