//===- DiskCacheTest.cpp - The on-disk cubin cache ------------------------===//
//
// Round trip, damage detection (truncated or altered cubin, broken
// metadata) with recompilation, FLASHGEN_CACHE_DIR / ALWAYS_COMPILE / DUMP,
// and two processes compiling the same kernel at once.
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"
#include "runtime/BundleData.h"
#include "runtime/CompileCache.h"
#include "runtime/DiskCache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace flashgen;
using namespace flashgen::test;

namespace {

#define EXPECT_CONTAINS(haystack, needle)                                      \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos)             \
      << "missing \"" << (needle) << "\" in: " << (haystack)

class DiskCacheTest : public ::testing::Test {
protected:
  void SetUp() override {
    bundle = loadAxpy();
    ASSERT_TRUE(bundle);
    source = bundle->data().moduleSource(
        bundle->data().manifest.kernels[0].variants[0], 0);
  }
  CompiledModule compile(const char *arch = "sm_80") {
    CompiledModule m;
    Status st = compileModule(source, arch, m);
    EXPECT_TRUE(isOk(st));
    return m;
  }
  std::string entryDir(const std::string &key) {
    return DiskCache(cache.dir()).entryDir(key);
  }

  IsolatedCache cache;
  std::shared_ptr<Bundle> bundle;
  ModuleSource source;
};

std::string readFile(const std::string &path) {
  std::string s;
  EXPECT_TRUE(readWholeFile(path, s)) << path;
  return s;
}

void writeFile(const std::string &path, const std::string &data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

TEST_F(DiskCacheTest, RoundTripUnderCacheDir) {
  CompiledModule first = compile();
  EXPECT_FALSE(first.report.cacheHit);
  const std::string dir = entryDir(first.report.cacheKey);
  // FLASHGEN_CACHE_DIR is honoured: <dir>/cubin-v1/<k[0:2]>/<k>/.
  EXPECT_EQ(dir, cache.dir() + "/cubin-v1/" + first.report.cacheKey.substr(0, 2) +
                     "/" + first.report.cacheKey);
  EXPECT_TRUE(fs::exists(dir + "/module.cubin"));
  EXPECT_TRUE(fs::exists(dir + "/module.json"));
  EXPECT_FALSE(fs::exists(dir + "/module.cu")); // only with FLASHGEN_DUMP
  EXPECT_EQ(readFile(dir + "/module.cubin"), first.cubin);
  // No temp files are left behind.
  for (const auto &e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos);

  CompiledModule second = compile();
  EXPECT_TRUE(second.report.cacheHit);
  EXPECT_EQ(second.cubin, first.cubin);
  EXPECT_EQ(second.report.cacheKey, first.report.cacheKey);
  // The resource report survives the round trip (it comes from the stored log).
  ASSERT_FALSE(second.report.functions.empty());
  EXPECT_EQ(second.report.functions[0].usage.registers,
            first.report.functions[0].usage.registers);
  EXPECT_EQ(second.report.functions[0].usage.spillStoreBytes, 0);

  // Another arch is another key.
  CompiledModule other = compile("sm_90a");
  EXPECT_FALSE(other.report.cacheHit);
  EXPECT_NE(other.report.cacheKey, first.report.cacheKey);
}

TEST_F(DiskCacheTest, TruncatedCubinIsDetectedAndRecompiled) {
  CompiledModule first = compile();
  const std::string cubinPath = entryDir(first.report.cacheKey) + "/module.cubin";
  writeFile(cubinPath, first.cubin.substr(0, first.cubin.size() / 3));
  LogCapture log;
  CompiledModule again = compile();
  EXPECT_FALSE(again.report.cacheHit);
  EXPECT_EQ(again.cubin, first.cubin);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_CONTAINS(log.lines()[0], "damaged cache entry");
  EXPECT_CONTAINS(log.lines()[0], "(truncated?)");
  // The entry was overwritten: now a hit again.
  EXPECT_EQ(readFile(cubinPath), first.cubin);
  EXPECT_TRUE(compile().report.cacheHit);
}

TEST_F(DiskCacheTest, AlteredCubinFailsTheChecksum) {
  CompiledModule first = compile();
  const std::string cubinPath = entryDir(first.report.cacheKey) + "/module.cubin";
  std::string altered = first.cubin;
  altered[altered.size() / 2] ^= 0x40; // same size, different bytes
  writeFile(cubinPath, altered);
  LogCapture log;
  CompiledModule again = compile();
  EXPECT_FALSE(again.report.cacheHit);
  EXPECT_EQ(again.cubin, first.cubin);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_CONTAINS(log.lines()[0], "fails its sha256 check");
}

TEST_F(DiskCacheTest, DamagedOrMissingMetadata) {
  CompiledModule first = compile();
  const std::string dir = entryDir(first.report.cacheKey);
  writeFile(dir + "/module.json", "{\"format\": \"flashgen-cubin-cache\", ");
  LogCapture log;
  EXPECT_FALSE(compile().report.cacheHit);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_CONTAINS(log.lines()[0], "is not valid JSON");
  EXPECT_TRUE(compile().report.cacheHit);

  // Metadata of another key (e.g. a copied directory) does not count.
  std::string meta = readFile(dir + "/module.json");
  std::string key = first.report.cacheKey;
  meta.replace(meta.find(key), key.size(), std::string(64, '0'));
  writeFile(dir + "/module.json", meta);
  EXPECT_FALSE(compile().report.cacheHit);

  // A cubin without metadata is a plain miss (a writer may be mid-way).
  fs::remove(dir + "/module.json");
  LogCapture quiet;
  EXPECT_FALSE(compile().report.cacheHit);
  EXPECT_TRUE(quiet.lines().empty());
}

TEST_F(DiskCacheTest, EditedMetadataFailsItsChecksum) {
  // The log (reported as the compile's) is covered like the cubin: an edit
  // makes the entry damaged, and it is recompiled and rewritten.
  CompiledModule first = compile();
  const std::string dir = entryDir(first.report.cacheKey);
  std::string meta = readFile(dir + "/module.json");
  size_t at = meta.find("\"arch\":\"");
  ASSERT_NE(at, std::string::npos) << meta;
  meta.replace(at, 9, "\"arch\":\"X");
  writeFile(dir + "/module.json", meta);
  LogCapture log;
  EXPECT_FALSE(compile().report.cacheHit);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_CONTAINS(log.lines()[0], "fails its checksum");
  EXPECT_TRUE(compile().report.cacheHit);
}

TEST_F(DiskCacheTest, AlwaysCompileAndDump) {
  CompiledModule first = compile();
  {
    env::ScopedOverride always(env::kAlwaysCompile, std::string("1"));
    EXPECT_FALSE(compile().report.cacheHit);
  }
  {
    env::ScopedOverride dump(env::kDump, std::string("1"));
    CompiledModule dumped = compile();
    EXPECT_FALSE(dumped.report.cacheHit);
    const std::string dir = entryDir(dumped.report.cacheKey);
    EXPECT_EQ(readFile(dir + "/module.cu"), *source.text);
    EXPECT_CONTAINS(readFile(dir + "/module.ptx"), ".entry fixture_axpy_v0");
  }
  EXPECT_TRUE(compile().report.cacheHit);
}

TEST_F(DiskCacheTest, DisabledAndUnwritableCaches) {
  {
    env::ScopedOverride off(env::kDisableDiskCache, std::string("1"));
    CompiledModule m = compile();
    EXPECT_FALSE(m.report.cacheHit);
    EXPECT_FALSE(fs::exists(cache.dir()));
  }
  // A cache root that cannot be created costs a compile, not a failure.
  TempDir dir;
  writeFile(dir.path() + "/file", "x");
  env::ScopedOverride bad(env::kCacheDir, dir.path() + "/file/cache");
  LogCapture log;
  CompiledModule m = compile();
  EXPECT_FALSE(m.report.cacheHit);
  EXPECT_FALSE(m.cubin.empty());
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_CONTAINS(log.lines()[0], "cannot write the cubin cache");
}

TEST_F(DiskCacheTest, DefaultRootFollowsXdgAndHome) {
  env::ScopedOverride noDir(env::kCacheDir, std::nullopt);
  {
    env::ScopedOverride xdg(env::kXdgCacheHome, std::string("/x/cache"));
    EXPECT_EQ(DiskCache::defaultRoot(), "/x/cache/flashgen");
  }
  env::ScopedOverride noXdg(env::kXdgCacheHome, std::nullopt);
  env::ScopedOverride home(env::kHome, std::string("/home/u"));
  EXPECT_EQ(DiskCache::defaultRoot(), "/home/u/.cache/flashgen");
}

TEST_F(DiskCacheTest, TwoProcessesCompilingTheSameKernelBothSucceed) {
  // Both children wait on one pipe so that they compile at the same time;
  // each exits 0 only if it got a cubin that the cache then serves intact.
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  pid_t children[2];
  for (pid_t &child : children) {
    child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(go[1]);
      char c;
      if (::read(go[0], &c, 1) != 1)
        ::_exit(3);
      CompiledModule m;
      Status st = compileModule(source, "sm_90a", m);
      if (!st.ok() || m.cubin.empty())
        ::_exit(1);
      CompiledModule again;
      st = compileModule(source, "sm_90a", again);
      ::_exit(st.ok() && again.cubin == m.cubin ? 0 : 2);
    }
  }
  ::close(go[0]);
  ASSERT_EQ(::write(go[1], "gg", 2), 2);
  ::close(go[1]);
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  CompiledModule m = compile("sm_90a");
  EXPECT_TRUE(m.report.cacheHit);
}

TEST(AtomicWrite, ReplacesWholeFiles) {
  TempDir dir;
  ASSERT_TRUE(isOk(writeFileAtomically(dir.path(), "f", "first")));
  ASSERT_TRUE(isOk(writeFileAtomically(dir.path(), "f", "second")));
  EXPECT_EQ(readFile(dir.path() + "/f"), "second");
  Status st = writeFileAtomically(dir.path() + "/missing", "f", "x");
  EXPECT_EQ(st.code(), StatusCode::FileError);
  EXPECT_CONTAINS(st.message(), dir.path() + "/missing/f.tmp.");
}

} // namespace
