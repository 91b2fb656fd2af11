//===- WgmmaCompileTest.cpp - NVRTC compiles the flash3 (wgmma) kernels ---===//
//
// What the runtime does with a flash3 kernel on an H100, on the CPU: NVRTC
// compiles it for sm_90a with the headers in memory (the runtime's options,
// and the tests' -default-device), and ptxas must report no stack frame, no
// spill, no diagnostic (a "wgmma serialized" performance warning included);
// the SASS must hold HGMMA (both the shared-memory-A and the register-A
// forms) and LDGSTS and no LDL/STL. Kernels: the hand-written flash3 fixture
// and its schedule variants (head dims 64/128/256, 1-3 warpgroups, key tiles
// 64-192, 2-3 stages), the emitter's flash3 output for the example and
// benchmark specs (sm90a/*.cu, generated at build time into the build tree),
// and the wgmma primitive test kernels. SASS opcodes
// are counted without a disassembler, as DeviceLibraryCompileTest does; the
// HGMMA opcodes were identified with probe kernels (one wgmma.mma_async of
// each form).
//
//===----------------------------------------------------------------------===//
#include "test/unit/device/DeviceHeaders.h"

#include <gtest/gtest.h>
#include <nvrtc.h>

#include <dirent.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> list_dir(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
        names.push_back(n);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// Low 12 bits of the first 64-bit word of an sm_90 instruction.
enum : unsigned {
  kOpHgmmaSmemA = 0x9f0,  // wgmma.mma_async, A by descriptor
  kOpHgmmaRegA = 0xdf0,   // wgmma.mma_async, A in registers
  kOpHmma = 0x23c,
  kOpLdgsts = 0xfae,
  kOpBar = 0xb1d,
  kOpLdl = 0x983,
  kOpStl = 0x387,
};

struct SassCounts {
  int total = 0, hgmma_ss = 0, hgmma_rs = 0, hmma = 0, ldgsts = 0, bar = 0, ldl = 0, stl = 0;
};

std::map<std::string, SassCounts> sass_counts(const std::vector<char>& elf) {
  std::map<std::string, SassCounts> out;
  auto rd = [&](size_t off, size_t n) {
    uint64_t v = 0;
    if (off + n <= elf.size()) std::memcpy(&v, elf.data() + off, n);
    return v;
  };
  if (elf.size() < 64 || std::memcmp(elf.data(), "\x7f" "ELF", 4) != 0) return out;
  const uint64_t shoff = rd(0x28, 8), shentsize = rd(0x3a, 2), shnum = rd(0x3c, 2), shstrndx = rd(0x3e, 2);
  const uint64_t strtab = rd(shoff + shstrndx * shentsize + 24, 8);
  for (uint64_t i = 0; i < shnum; ++i) {
    const uint64_t sh = shoff + i * shentsize;
    const std::string name(elf.data() + strtab + rd(sh, 4));
    if (name.compare(0, 6, ".text.") != 0) continue;
    const uint64_t off = rd(sh + 24, 8), size = rd(sh + 32, 8);
    SassCounts& c = out[name.substr(6)];
    for (uint64_t at = off; at + 16 <= off + size && at + 16 <= elf.size(); at += 16) {
      ++c.total;
      switch (unsigned(rd(at, 8) & 0xfff)) {
        case kOpHgmmaSmemA: ++c.hgmma_ss; break;
        case kOpHgmmaRegA: ++c.hgmma_rs; break;
        case kOpHmma: ++c.hmma; break;
        case kOpLdgsts: ++c.ldgsts; break;
        case kOpBar: ++c.bar; break;
        case kOpLdl: ++c.ldl; break;
        case kOpStl: ++c.stl; break;
        default: break;
      }
    }
  }
  return out;
}

struct Function {
  std::string name;
  int registers = -1, stack = -1, spill_stores = -1, spill_loads = -1;
};

struct Result {
  bool ok = false;
  std::string log;
  std::vector<Function> functions;
  std::map<std::string, SassCounts> sass;
};

Result compile(const std::string& source, const std::string& name, bool default_device) {
  std::vector<std::string> hnames, htexts;
  const std::string dir = FLASHGEN_DEVICE_DIR;
  for (const std::string& n : fgtest::deviceHeaderPaths(dir)) {
    hnames.push_back("flashgen/device/" + n);
    htexts.push_back(read_file(dir + "/" + n));
  }
  std::vector<const char*> hn, ht;
  for (size_t i = 0; i < hnames.size(); ++i) {
    hn.push_back(hnames[i].c_str());
    ht.push_back(htexts[i].c_str());
  }
  Result r;
  nvrtcProgram prog;
  if (nvrtcCreateProgram(&prog, source.c_str(), name.c_str(), int(hn.size()), ht.data(), hn.data()) !=
      NVRTC_SUCCESS) {
    r.log = "nvrtcCreateProgram failed";
    return r;
  }
  // The runtime's options (runtime/NvrtcCompiler.cpp) and, optionally, the tests'.
  std::vector<const char*> opts = {"--gpu-architecture=sm_90a", "--ptxas-options=-v", "-std=c++17"};
  if (default_device) opts.push_back("-default-device");
  r.ok = nvrtcCompileProgram(prog, int(opts.size()), opts.data()) == NVRTC_SUCCESS;
  size_t log_size = 0;
  nvrtcGetProgramLogSize(prog, &log_size);
  r.log.assign(log_size, '\0');
  nvrtcGetProgramLog(prog, &r.log[0]);
  size_t cubin_bytes = 0;
  if (r.ok && nvrtcGetCUBINSize(prog, &cubin_bytes) == NVRTC_SUCCESS && cubin_bytes > 0) {
    std::vector<char> cubin(cubin_bytes);
    if (nvrtcGetCUBIN(prog, cubin.data()) == NVRTC_SUCCESS) r.sass = sass_counts(cubin);
  }
  nvrtcDestroyProgram(&prog);
  static const std::regex fn_re(R"(Function properties for (\S+))");
  static const std::regex frame_re(R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
  static const std::regex regs_re(R"(Used (\d+) registers)");
  std::istringstream lines(r.log);
  std::string line;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (std::regex_search(line, m, fn_re)) {
      r.functions.push_back(Function{m[1]});
    } else if (!r.functions.empty() && std::regex_search(line, m, frame_re)) {
      r.functions.back().stack = std::stoi(m[1]);
      r.functions.back().spill_stores = std::stoi(m[2]);
      r.functions.back().spill_loads = std::stoi(m[3]);
    } else if (!r.functions.empty() && std::regex_search(line, m, regs_re)) {
      r.functions.back().registers = std::stoi(m[1]);
    }
  }
  return r;
}

std::string diagnostics(const std::string& log) {
  std::istringstream lines(log);
  std::string line, out;
  while (std::getline(lines, line)) {
    line.erase(std::remove(line.begin(), line.end(), '\0'), line.end());
    if (line.find("ptxas info") == std::string::npos && line.find("ptxas         .") == std::string::npos &&
        !line.empty())
      out += line + "\n";
  }
  return out;
}

enum class Expect { kAnything, kAttention };

void expect_clean(const std::string& source, const std::string& name, Expect expect,
                  bool also_default_device = true) {
  for (bool dd : {false, true}) {
    if (dd && !also_default_device) continue;
    SCOPED_TRACE(name + (dd ? " (-default-device)" : " (runtime options)"));
    Result r = compile(source, name, dd);
    ASSERT_TRUE(r.ok) << r.log;
    EXPECT_EQ(diagnostics(r.log), "") << "diagnostics from NVRTC / ptxas";
    EXPECT_FALSE(r.functions.empty()) << r.log;
    for (const Function& f : r.functions) {
      EXPECT_EQ(f.stack, 0) << f.name << ": stack frame (local memory)";
      EXPECT_EQ(f.spill_stores, 0) << f.name << ": spill stores";
      EXPECT_EQ(f.spill_loads, 0) << f.name << ": spill loads";
      EXPECT_GT(f.registers, 0) << f.name;
      const SassCounts c = r.sass.count(f.name) ? r.sass.at(f.name) : SassCounts{};
      EXPECT_GT(c.total, 0) << f.name << ": no SASS found in the cubin";
      EXPECT_EQ(c.ldl + c.stl, 0) << f.name << ": local memory loads/stores in the SASS";
      // Rotary embedding's row kernels (family attention_rotate: the key
      // pre-pass `_rotate_keys`) beside the attention kernel only copy; a
      // mask_lists pre-pass (`_mask_lists`) only reads ids and writes lists.
      const bool rotatesRows = f.name.find("_rotate_") != std::string::npos ||
                               f.name.find("_mask_lists") != std::string::npos;
      if (!rotatesRows) EXPECT_GT(c.hgmma_ss + c.hgmma_rs, 0) << f.name << ": no HGMMA";
      if (expect == Expect::kAttention && !rotatesRows) {
        EXPECT_GT(c.hgmma_ss, 0) << f.name << ": no HGMMA with A from shared memory (S = Q K^T)";
        EXPECT_GT(c.hgmma_rs, 0) << f.name << ": no HGMMA with A from registers (O += P V)";
        EXPECT_EQ(c.hmma, 0) << f.name << ": HMMA (mma.sync) in a wgmma kernel";
        EXPECT_GT(c.ldgsts, 0) << f.name << ": no LDGSTS";
      }
      if (dd) continue;  // print the runtime-options figures only
      std::cout << "[resources] " << name << " sm_90a " << f.name << ": " << f.registers << " registers, " << f.stack
                << " B stack, " << f.spill_stores << "/" << f.spill_loads << " B spilled; SASS " << c.total
                << " instructions, HGMMA " << c.hgmma_ss << " (A smem) + " << c.hgmma_rs << " (A regs), LDGSTS "
                << c.ldgsts << ", BAR " << c.bar << ", LDL/STL " << c.ldl + c.stl << "\n";
    }
  }
}

std::string with_constants(std::string src, const std::map<std::string, int>& values) {
  for (const auto& kv : values) {
    const std::regex re("constexpr int " + kv.first + " = \\d+;");
    EXPECT_TRUE(std::regex_search(src, re)) << kv.first;
    src = std::regex_replace(src, re, "constexpr int " + kv.first + " = " + std::to_string(kv.second) + ";");
  }
  return src;
}

const std::string kTestDir = FLASHGEN_DEVICE_TEST_DIR;

TEST(WgmmaCompileTest, FixtureCompilesForSm90aWithHgmma) {
  expect_clean(read_file(kTestDir + "/kernels/attention_wgmma_causal_gqa.cu"), "attention_wgmma_causal_gqa.cu",
               Expect::kAttention);
}

TEST(WgmmaCompileTest, FixtureScheduleVariantsCompileWithoutSpills) {
  const std::string base = read_file(kTestDir + "/kernels/attention_wgmma_causal_gqa.cu");
  const std::vector<std::pair<std::string, std::map<std::string, int>>> variants = {
      {"d64", {{"kHeadDim", 64}}},
      {"d64_k192", {{"kHeadDim", 64}, {"kTileK", 192}}},
      {"d128_q192", {{"kTileQ", 192}, {"kWarps", 12}}},
      {"d128_q64_k64", {{"kTileQ", 64}, {"kWarps", 4}, {"kTileK", 64}, {"kMinBlocksPerSM", 2}}},
      {"d128_k176", {{"kTileK", 176}}},
      {"d128_s3", {{"kStages", 3}}},
      {"d256_k64", {{"kHeadDim", 256}, {"kTileK", 64}}},
  };
  for (const auto& v : variants)
    expect_clean(with_constants(base, v.second), "attention_wgmma_causal_gqa_" + v.first + ".cu", Expect::kAttention);
}

TEST(WgmmaCompileTest, EmittedFlash3KernelsCompileWithoutSpills) {
#ifdef FLASHGEN_EMITTED_KERNEL_DIR
  const std::string dir = FLASHGEN_EMITTED_KERNEL_DIR;
  const std::vector<std::string> files = list_dir(dir, ".cu");
  ASSERT_FALSE(files.empty()) << "no emitted flash3 kernels in " << dir;
  for (const std::string& f : files) expect_clean(read_file(dir + "/" + f), f, Expect::kAttention, false);
#else
  GTEST_SKIP() << "runtime-only build: no emitter, no emitted kernels";
#endif
}

// The small-cache kernels (flash3_dsplit: S accumulated over head-dim chunks
// by HGMMA from shared memory, O += P V from registers), emitted beside
// the flash3 ones (dsplit/dsplit3_*.cu; the dsplit_*.cu files are
// flash2_dsplit's mma.sync kernels, compiled by the sweep).
TEST(WgmmaCompileTest, EmittedSmallCacheKernelsCompileWithoutSpills) {
#ifdef FLASHGEN_EMITTED_KERNEL_DIR
  const std::string dir = std::string(FLASHGEN_EMITTED_KERNEL_DIR) + "/../dsplit";
  std::vector<std::string> files;
  for (const std::string& f : list_dir(dir, ".cu"))
    if (f.rfind("dsplit3_", 0) == 0) files.push_back(f);
  ASSERT_FALSE(files.empty()) << "no emitted flash3_dsplit kernels in " << dir;
  for (const std::string& f : files) expect_clean(read_file(dir + "/" + f), f, Expect::kAttention, false);
#else
  GTEST_SKIP() << "runtime-only build: no emitter, no emitted kernels";
#endif
}

TEST(WgmmaCompileTest, PrimitiveKernelsCompileForSm90aWithHgmma) {
  expect_clean(read_file(kTestDir + "/kernels/wgmma_kernels.cu"), "wgmma_kernels.cu", Expect::kAnything);
}

}  // namespace
