//===- DeviceLibraryCompileTest.cpp - NVRTC compiles the device library --===//
//
// What the runtime will do with every generated kernel, on the CPU: NVRTC
// compiles each device header on its own, the example kernels (the emitter's
// target shape), their head-dim variants and the primitive test kernels, for
// sm_80 and sm_90a, with the headers handed over in memory under
// "flashgen/device/<name>" and no include path. Each compile must succeed
// without a warning, and ptxas must report no stack frame and no spills for
// any function (registers <= 255 follows from __launch_bounds__). The SASS is
// checked without a disassembler: each 128-bit sm_80/sm_90 instruction
// carries its opcode in its low 12 bits, and the few opcodes counted here
// were identified with one-instruction probe kernels (same on both archs).
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

/// The device headers as NVRTC sees them: {"flashgen/device/x.cuh", text}.
struct Headers {
  std::vector<std::string> names, texts;
  Headers() {
    const std::string dir = FLASHGEN_DEVICE_DIR;
    for (const std::string& n : fgtest::deviceHeaderPaths(dir)) {
      names.push_back("flashgen/device/" + n);
      texts.push_back(read_file(dir + "/" + n));
    }
  }
};

const Headers& headers() {
  static const Headers h;
  return h;
}

/// ptxas figures of one compiled function.
struct FunctionResources {
  std::string name;
  int registers = -1;
  int stack = -1, spill_stores = -1, spill_loads = -1;
};

/// Instruction counts of one kernel's SASS, by opcode.
struct SassCounts {
  int total = 0, hmma = 0, ldsm = 0, ldgsts = 0, mufu = 0, bar = 0, ldl = 0, stl = 0;
};

/// Low 12 bits of the first 64-bit word of an sm_80 / sm_90 instruction.
enum : unsigned {
  kOpHmma = 0x23c,
  kOpLdsm = 0x83b,
  kOpLdgsts = 0xfae,
  kOpMufu = 0x308,
  kOpBar = 0xb1d,
  kOpLdl = 0x983,
  kOpStl = 0x387,
};

/// Counts of every ".text.<kernel>" section of an ELF64 cubin.
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
        case kOpHmma: ++c.hmma; break;
        case kOpLdsm: ++c.ldsm; break;
        case kOpLdgsts: ++c.ldgsts; break;
        case kOpMufu: ++c.mufu; break;
        case kOpBar: ++c.bar; break;
        case kOpLdl: ++c.ldl; break;
        case kOpStl: ++c.stl; break;
        default: break;
      }
    }
  }
  return out;
}

struct CompileResult {
  bool ok = false;
  std::string log;
  size_t cubin_bytes = 0;
  std::vector<FunctionResources> functions;
  std::map<std::string, SassCounts> sass;
};

CompileResult compile(const std::string& source, const std::string& name, const std::string& arch) {
  CompileResult r;
  const Headers& h = headers();
  std::vector<const char*> hn, ht;
  for (size_t i = 0; i < h.names.size(); ++i) {
    hn.push_back(h.names[i].c_str());
    ht.push_back(h.texts[i].c_str());
  }
  nvrtcProgram prog;
  if (nvrtcCreateProgram(&prog, source.c_str(), name.c_str(), int(hn.size()), ht.data(), hn.data()) !=
      NVRTC_SUCCESS) {
    r.log = "nvrtcCreateProgram failed";
    return r;
  }
  const std::string arch_opt = "-arch=" + arch;
  const char* opts[] = {arch_opt.c_str(), "-default-device", "-std=c++17", "-Xptxas", "-v"};
  r.ok = nvrtcCompileProgram(prog, int(sizeof(opts) / sizeof(opts[0])), opts) == NVRTC_SUCCESS;
  size_t log_size = 0;
  nvrtcGetProgramLogSize(prog, &log_size);
  r.log.assign(log_size, '\0');
  nvrtcGetProgramLog(prog, &r.log[0]);
  if (r.ok && nvrtcGetCUBINSize(prog, &r.cubin_bytes) == NVRTC_SUCCESS && r.cubin_bytes > 0) {
    std::vector<char> cubin(r.cubin_bytes);
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
      r.functions.push_back(FunctionResources{m[1]});
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

/// The log without ptxas's informational lines: what is left are diagnostics.
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

/// What a kernel's SASS must contain: attention kernels use the tensor cores
/// through ldmatrix and cp.async; nothing may use local memory.
enum class Expect { kAnything, kTensorCoreKernel };

void expect_clean(const std::string& source, const std::string& name, const std::string& arch,
                  bool expect_kernels, Expect expect = Expect::kAnything) {
  SCOPED_TRACE(name + " for " + arch);
  CompileResult r = compile(source, name, arch);
  ASSERT_TRUE(r.ok) << r.log;
  EXPECT_GT(r.cubin_bytes, 0u);
  EXPECT_EQ(diagnostics(r.log), "") << "warnings from NVRTC";
  if (expect_kernels) {
    EXPECT_FALSE(r.functions.empty()) << r.log;
  }
  for (const FunctionResources& f : r.functions) {
    EXPECT_EQ(f.stack, 0) << f.name << ": stack frame (local memory)";
    EXPECT_EQ(f.spill_stores, 0) << f.name << ": spill stores";
    EXPECT_EQ(f.spill_loads, 0) << f.name << ": spill loads";
    EXPECT_GT(f.registers, 0) << f.name;
    EXPECT_LE(f.registers, 255) << f.name;
    const SassCounts c = r.sass.count(f.name) ? r.sass.at(f.name) : SassCounts{};
    EXPECT_GT(c.total, 0) << f.name << ": no SASS found in the cubin";
    EXPECT_EQ(c.ldl + c.stl, 0) << f.name << ": local memory loads/stores in the SASS";
    if (expect == Expect::kTensorCoreKernel) {
      EXPECT_GT(c.hmma, 0) << f.name << ": no HMMA";
      EXPECT_GT(c.ldsm, 0) << f.name << ": no LDSM";
      EXPECT_GT(c.ldgsts, 0) << f.name << ": no LDGSTS";
    }
    std::cout << "[resources] " << name << " " << arch << " " << f.name << ": " << f.registers << " registers, "
              << f.stack << " B stack, " << f.spill_stores << "/" << f.spill_loads << " B spilled; SASS " << c.total
              << " instructions, HMMA " << c.hmma << ", LDSM " << c.ldsm << ", LDGSTS " << c.ldgsts << ", MUFU "
              << c.mufu << ", BAR " << c.bar << ", LDL/STL " << c.ldl + c.stl << "\n";
  }
}

const char* const kArchs[] = {"sm_80", "sm_90a"};

TEST(DeviceLibraryCompileTest, EveryHeaderCompilesAlone) {
  const Headers& h = headers();
  ASSERT_FALSE(h.names.empty()) << "no headers in " << FLASHGEN_DEVICE_DIR;
  for (const std::string& n : h.names) {
    for (const char* arch : kArchs)
      expect_clean("#include \"" + n + "\"\nextern \"C\" __global__ void probe() {}\n", "probe_" + n, arch, true);
  }
}

TEST(DeviceLibraryCompileTest, ExampleKernelsCompileWithoutSpills) {
  const std::string dir = FLASHGEN_DEVICE_TEST_DIR;
  const std::vector<std::string> files = list_dir(dir, ".cu");
  ASSERT_GE(files.size(), 2u);
  for (const std::string& f : files) {
    for (const char* arch : kArchs) expect_clean(read_file(dir + "/" + f), f, arch, true, Expect::kTensorCoreKernel);
  }
}

TEST(DeviceLibraryCompileTest, PrimitiveTestKernelsCompileWithoutSpills) {
  const std::string dir = std::string(FLASHGEN_DEVICE_TEST_DIR) + "/kernels";
  for (const std::string& f : list_dir(dir, ".cu")) {
    for (const char* arch : kArchs) expect_clean(read_file(dir + "/" + f), f, arch, true);
  }
}

/// attention_causal_gqa.cu with its schedule constants replaced, as the
/// emitter prints them for other head dims.
std::string with_constants(std::string src, const std::map<std::string, int>& values) {
  for (const auto& kv : values) {
    const std::regex re("constexpr int " + kv.first + " = \\d+;");
    EXPECT_TRUE(std::regex_search(src, re)) << kv.first;
    src = std::regex_replace(src, re, "constexpr int " + kv.first + " = " + std::to_string(kv.second) + ";");
  }
  return src;
}

TEST(DeviceLibraryCompileTest, HeadDimVariantsCompileWithoutSpills) {
  const std::string base = read_file(std::string(FLASHGEN_DEVICE_TEST_DIR) + "/attention_causal_gqa.cu");
  const std::vector<std::pair<std::string, std::map<std::string, int>>> variants = {
      {"d64", {{"kHeadDim", 64}, {"kTileQ", 128}, {"kTileK", 64}, {"kWarps", 4}, {"kStages", 2}}},
      {"d64_k32", {{"kHeadDim", 64}, {"kTileQ", 128}, {"kTileK", 32}, {"kWarps", 4}, {"kStages", 3}}},
      {"d256", {{"kHeadDim", 256}, {"kTileQ", 128}, {"kTileK", 64}, {"kWarps", 8}, {"kStages", 2},
                {"kMinBlocksPerSM", 1}}},
      {"d256_q64", {{"kHeadDim", 256}, {"kTileQ", 64}, {"kTileK", 32}, {"kWarps", 4}, {"kStages", 3},
                    {"kMinBlocksPerSM", 1}}},
  };
  for (const auto& v : variants) {
    for (const char* arch : kArchs)
      expect_clean(with_constants(base, v.second), "attention_causal_gqa_" + v.first + ".cu", arch, true,
                   Expect::kTensorCoreKernel);
  }
}

}  // namespace
