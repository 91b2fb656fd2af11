//===- EnvTest.cpp - Environment variable registry ------------------------===//

#include "runtime/Env.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>

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
  for (const char *yes : {"1", "true", "TRUE", "on", "Yes"}) {
    env::ScopedOverride o(env::kDump, std::string(yes));
    EXPECT_TRUE(env::getBool(env::kDump)) << yes;
  }
  for (const char *no : {"0", "false", "off", "", "2"}) {
    env::ScopedOverride o(env::kDump, std::string(no));
    EXPECT_FALSE(env::getBool(env::kDump, true)) << no;
  }
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
