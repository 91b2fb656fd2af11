//===- LinearNvrtcTest.cpp - NVRTC compiles the emitted recurrence kernels ===//
//
// What the runtime does with a bundle's recurrence kernels, without a GPU:
// NVRTC compiles each file the build generated from the examples and specs/
// (the library's default fused and two-pass schedules, and the emulator
// specs' schedules) for sm_80 and sm_90a, with the device headers handed
// over in memory under "flashgen/device/<name>" and no include path. Every
// compile must succeed without a warning, and ptxas must report no stack
// frame and no spills for any kernel.
//
//===----------------------------------------------------------------------===//
#include "test/unit/device/DeviceHeaders.h"

#include <gtest/gtest.h>
#include <nvrtc.h>

#include <dirent.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> listDir(const std::string& dir, const std::string& suffix) {
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

struct Resources {
  std::string name;
  int registers = -1, stack = -1, spillStores = -1, spillLoads = -1;
};

struct Compiled {
  bool ok = false;
  std::string log;
  std::vector<Resources> functions;
};

Compiled compile(const std::string& source, const std::string& name, const std::string& arch) {
  static std::vector<std::string> headerNames, headerTexts;
  if (headerNames.empty())
    for (const std::string& n : fgtest::deviceHeaderPaths(FLASHGEN_DEVICE_DIR)) {
      headerNames.push_back("flashgen/device/" + n);
      headerTexts.push_back(readFile(std::string(FLASHGEN_DEVICE_DIR) + "/" + n));
    }
  std::vector<const char*> names, texts;
  for (size_t i = 0; i < headerNames.size(); ++i) {
    names.push_back(headerNames[i].c_str());
    texts.push_back(headerTexts[i].c_str());
  }
  Compiled r;
  nvrtcProgram prog;
  if (nvrtcCreateProgram(&prog, source.c_str(), name.c_str(), int(names.size()), texts.data(), names.data()) !=
      NVRTC_SUCCESS) {
    r.log = "nvrtcCreateProgram failed";
    return r;
  }
  const std::string archOption = "-arch=" + arch;
  const char* options[] = {archOption.c_str(), "-std=c++17", "-Xptxas", "-v"};
  r.ok = nvrtcCompileProgram(prog, 4, options) == NVRTC_SUCCESS;
  size_t size = 0;
  nvrtcGetProgramLogSize(prog, &size);
  r.log.assign(size, '\0');
  nvrtcGetProgramLog(prog, &r.log[0]);
  r.log.resize(std::strlen(r.log.c_str()));  // the size counts the terminating NUL
  nvrtcDestroyProgram(&prog);

  static const std::regex function(R"(Function properties for (\S+))");
  static const std::regex frame(R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
  static const std::regex registers(R"(Used (\d+) registers)");
  std::istringstream lines(r.log);
  std::string line;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (std::regex_search(line, m, function)) {
      r.functions.push_back(Resources{m[1]});
    } else if (!r.functions.empty() && std::regex_search(line, m, frame)) {
      r.functions.back().stack = std::stoi(m[1]);
      r.functions.back().spillStores = std::stoi(m[2]);
      r.functions.back().spillLoads = std::stoi(m[3]);
    } else if (!r.functions.empty() && std::regex_search(line, m, registers)) {
      r.functions.back().registers = std::stoi(m[1]);
    }
  }
  return r;
}

/// The log without ptxas's informational lines: what is left is a diagnostic.
std::string diagnostics(const std::string& log) {
  std::istringstream lines(log);
  std::string line, out;
  while (std::getline(lines, line))
    if (line.find("ptxas info") == std::string::npos && line.find("ptxas         .") == std::string::npos &&
        !line.empty())
      out += line + "\n";
  return out;
}

/// The extern "C" entry points a generated file defines.
std::vector<std::string> entries(const std::string& source) {
  static const std::regex entry(R"(\n(flashgen_\w+)\()");
  std::vector<std::string> found;
  for (std::sregex_iterator it(source.begin(), source.end(), entry), end; it != end; ++it)
    found.push_back((*it)[1]);
  return found;
}

class LinearNvrtcTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LinearNvrtcTest, CompilesCleanForSm80AndSm90a) {
  const std::string file = GetParam();
  const std::string source = readFile(std::string(FLASHGEN_LINEAR_KERNEL_DIR) + "/" + file);
  ASSERT_FALSE(source.empty()) << file;
  const std::vector<std::string> wanted = entries(source);
  ASSERT_FALSE(wanted.empty()) << file << " defines no flashgen_ entry";
  for (const char* arch : {"sm_80", "sm_90a"}) {
    SCOPED_TRACE(file + " for " + arch);
    const Compiled r = compile(source, file, arch);
    ASSERT_TRUE(r.ok) << r.log;
    EXPECT_EQ(diagnostics(r.log), "") << "NVRTC warned";
    for (const std::string& entry : wanted)
      EXPECT_TRUE(std::any_of(r.functions.begin(), r.functions.end(),
                              [&](const Resources& f) { return f.name == entry; }))
          << entry << " missing from the ptxas report";
    for (const Resources& f : r.functions) {
      EXPECT_EQ(f.stack, 0) << f.name << ": stack frame (local memory)";
      EXPECT_EQ(f.spillStores, 0) << f.name << ": spill stores";
      EXPECT_EQ(f.spillLoads, 0) << f.name << ": spill loads";
      EXPECT_GT(f.registers, 0) << f.name;
      EXPECT_LE(f.registers, 255) << f.name;
      std::cout << "[resources] " << arch << " " << f.name << ": " << f.registers << " registers, " << f.stack
                << " B stack, " << f.spillStores << "/" << f.spillLoads << " B spilled\n";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(GeneratedKernels, LinearNvrtcTest,
                         ::testing::ValuesIn(listDir(FLASHGEN_LINEAR_KERNEL_DIR, ".cu")),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param.substr(0, info.param.size() - 3);
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
