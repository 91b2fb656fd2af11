//===- SandboxTest.cpp - A bundle reads nothing outside itself ------------===//
//
// Issue #20: a manifest could make the runtime write (--time=PATH) and read
// (--pre-include=PATH, absolute #include, symlinks) files outside its
// bundle, and a FIFO or a /dev/zero link hung the load. Each of those is a
// case here; none needs a GPU.
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"
#include "runtime/Manifest.h"
#include "runtime/Sandbox.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace flashgen;
using namespace flashgen::test;
namespace fs = std::filesystem;

namespace {

#define EXPECT_CONTAINS(haystack, needle)                                      \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos)             \
      << "missing \"" << (needle) << "\" in: " << (haystack)

std::string readText(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeText(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

/// A copy of the axpy fixture bundle to tamper with.
class SandboxBundle : public ::testing::Test {
protected:
  void SetUp() override {
    dir = tmp.path() + "/axpy.bundle";
    fs::remove_all(dir);
    fs::copy(axpyBundleDir(), dir, fs::copy_options::recursive);
  }
  /// Loads the copy and returns the failure's message ("" on success);
  /// every load must answer in well under a second.
  std::string loadError() {
    auto start = std::chrono::steady_clock::now();
    std::shared_ptr<Bundle> b;
    Status st = Bundle::load(dir, b);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                            start)
                  .count(),
              2.0);
    return st.ok() ? std::string() : st.message();
  }
  void editManifest(const std::string &from, const std::string &to) {
    std::string m = readText(dir + "/manifest.json");
    size_t at = m.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    m.replace(at, from.size(), to);
    writeText(dir + "/manifest.json", m);
  }
  void prependToSource(const std::string &text) {
    std::string src = readText(dir + "/axpy.v0.cu");
    writeText(dir + "/axpy.v0.cu", text + src);
  }
  TempDir tmp;
  std::string dir;
};

TEST_F(SandboxBundle, TheUntouchedCopyLoads) { EXPECT_EQ(loadError(), ""); }

TEST_F(SandboxBundle, SymbolicLinksAreRefused) {
  writeText(tmp.path() + "/outside.cu", readText(dir + "/axpy.v0.cu"));
  fs::remove(dir + "/axpy.v0.cu");
  fs::create_symlink(tmp.path() + "/outside.cu", dir + "/axpy.v0.cu");
  EXPECT_CONTAINS(loadError(), "is a symbolic link");
}

TEST_F(SandboxBundle, LinkedFoldersAreRefused) {
  fs::rename(dir + "/flashgen", tmp.path() + "/flashgen");
  fs::create_directory_symlink(tmp.path() + "/flashgen", dir + "/flashgen");
  EXPECT_CONTAINS(loadError(), "link");
}

TEST_F(SandboxBundle, AFifoDoesNotHangTheLoad) {
  fs::remove(dir + "/axpy.v0.cu");
  ASSERT_EQ(::mkfifo((dir + "/axpy.v0.cu").c_str(), 0600), 0);
  EXPECT_CONTAINS(loadError(), "is not a regular file");
  fs::remove(dir + "/manifest.json");
  ASSERT_EQ(::mkfifo((dir + "/manifest.json").c_str(), 0600), 0);
  EXPECT_CONTAINS(loadError(), "is not a regular file");
}

TEST_F(SandboxBundle, ADevZeroLinkDoesNotHangTheLoad) {
  fs::remove(dir + "/axpy.v0.cu");
  fs::create_symlink("/dev/zero", dir + "/axpy.v0.cu");
  EXPECT_CONTAINS(loadError(), "is a symbolic link");
}

TEST_F(SandboxBundle, NvrtcOptionsComeFromAnAllowList) {
  for (const char *bad :
       {"--time=/tmp/flashgen-pwned", "--pre-include=/etc/passwd",
        "-include=/etc/passwd", "-I/", "--include-path=/etc",
        "-DX=\\\"/etc/passwd\\\"", "-DX=<stdio.h>", "-DX=Y",
        "--fdevice-time-trace=/tmp/x", "-optix-ir", "-std=c++17 -I/"}) {
    SetUp(); // a fresh copy
    editManifest("\"-std=c++17\"", std::string("\"") + bad + "\"");
    EXPECT_NE(loadError(), "") << bad;
  }
  SetUp();
  editManifest("\"-std=c++17\"",
               "\"-std=c++17\", \"-DFLASHGEN_X=1\", \"--fmad=false\", "
               "\"-maxrregcount=128\", \"-lineinfo\"");
  EXPECT_EQ(loadError(), "");
}

TEST_F(SandboxBundle, IncludesResolveOnlyToListedHeaders) {
  const char *bad[] = {
      "#include \"/etc/passwd\"\n",
      "#include </etc/passwd>\n",
      "#include \"../outside.cuh\"\n",
      "#include \"flashgen/device/unlisted.cuh\"\n",
      // Hidden from a naive scan: a comment where the '#' is, a line
      // splice, a digraph, a string that looks like a comment opener.
      "#/**/include \"/etc/passwd\"\n",
      "#inc\\\nlude \"/etc/passwd\"\n",
      "%:include \"/etc/passwd\"\n",
      "const char *s = \"/*\";\n#include \"/etc/passwd\"\n// */\n",
      "int x = 1'2'R\"(\";\n#include \"/etc/passwd\"\n// )\"\n",
      // A macro include whose macro the bundle defines.
      "#define EVIL \"/etc/passwd\"\n#include EVIL\n",
      "#include_next <cuda_bf16.h>\n",
      "#if __has_include(\"/etc/passwd\")\n#endif\n",
      "??=include \"/etc/passwd\"\n",
  };
  for (const char *text : bad) {
    SetUp();
    prependToSource(text);
    EXPECT_CONTAINS(loadError(), "axpy.v0.cu") << text;
  }
  // What stays allowed: listed headers, toolkit headers by name, a macro
  // include of a macro the bundle never defines (the device library's
  // emulation hook), and lookalikes inside literals and comments.
  SetUp();
  prependToSource("#include \"flashgen/device/fixture_types.cuh\"\n"
                  "#include <cuda_bf16.h>\n"
                  "#if defined(HOOK)\n#include HOOK\n#endif\n"
                  "// #include \"/etc/passwd\"\n"
                  "/* #include \"/etc/passwd\" */\n"
                  "static const char *s = \"#include </etc/passwd>\";\n"
                  "static const int big = 1'000'000;\n");
  EXPECT_EQ(loadError(), "");
}

TEST(Sandbox, FileNamesAreCheckedInTheManifest) {
  for (const char *bad : {"a b.cu", "a\\b.cu", "a\"b.cu", "\x01.cu", "a/../b.cu",
                          "/abs.cu", "a//b.cu"})
    EXPECT_FALSE(isSafeBundlePath(bad)) << bad;
  EXPECT_FALSE(isSafeBundlePath(std::string(300, 'a')));
  EXPECT_TRUE(isSafeBundlePath("flashgen/device/x.cuh"));
  EXPECT_TRUE(isSafeBundlePath("attn_v0.cu"));
}

TEST(Sandbox, ScanFindsEveryIncludeForm) {
  IncludeScan s = scanIncludes("  #  include \"a.h\"\n#include<b.h>\n"
                               "#define M 1\n#include N\n");
  EXPECT_EQ(s.error, "");
  EXPECT_EQ(s.includes, (std::vector<std::string>{"a.h", "b.h"}));
  EXPECT_EQ(s.macroIncludes, (std::vector<std::string>{"N"}));
  EXPECT_EQ(s.defines, (std::vector<std::string>{"M"}));
  EXPECT_NE(scanIncludes("#include F(\"x\")\n").error, "");
  EXPECT_NE(scanIncludes("#include \"a.h\" junk\n").error, "");
}

} // namespace
