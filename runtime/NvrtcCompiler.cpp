//===- NvrtcCompiler.cpp - One NVRTC compile, no caching ------------------===//

#include "runtime/NvrtcCompiler.h"

#include "runtime/Env.h"
#include "runtime/Sha256.h"

#include <nvrtc.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <sys/stat.h>

#ifndef FLASHGEN_BUILD_CUDA_INCLUDE_DIR
#define FLASHGEN_BUILD_CUDA_INCLUDE_DIR ""
#endif

namespace flashgen {

std::string nvrtcVersionString() {
  int major = 0, minor = 0;
  if (nvrtcVersion(&major, &minor) != NVRTC_SUCCESS)
    return "unknown";
  return std::to_string(major) + "." + std::to_string(minor);
}

namespace {

bool hasFile(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

} // namespace

std::string cudaIncludeDir() {
  if (auto dir = env::getStr(env::kCudaInclude))
    return *dir;
  // A directory counts when it holds cuda_bf16.h, which kernels include.
  for (const char *var : {env::kCudaHome, env::kCudaPath})
    if (auto root = env::getStr(var))
      if (hasFile(*root + "/include/cuda_bf16.h"))
        return *root + "/include";
  if (hasFile("/usr/local/cuda/include/cuda_bf16.h"))
    return "/usr/local/cuda/include";
  std::string built = FLASHGEN_BUILD_CUDA_INCLUDE_DIR;
  if (!built.empty() && hasFile(built + "/cuda_bf16.h"))
    return built;
  return "";
}

std::string toolkitHeadersFingerprint(const std::string &includeDir) {
  static std::mutex mutex;
  static std::map<std::string, std::string> known;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = known.find(includeDir);
  if (it != known.end())
    return it->second;
  std::vector<std::string> entries;
  std::error_code ec;
  if (!includeDir.empty())
    for (std::filesystem::directory_iterator d(includeDir, ec), end;
         !ec && d != end; d.increment(ec)) {
      struct stat st;
      const std::string path = d->path().string();
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        continue;
      entries.push_back(d->path().filename().string() + ":" +
                        std::to_string(st.st_size) + ":" +
                        std::to_string(st.st_mtim.tv_sec) + "." +
                        std::to_string(st.st_mtim.tv_nsec));
    }
  std::sort(entries.begin(), entries.end());
  Sha256 h;
  h.updateField(includeDir);
  for (const std::string &e : entries)
    h.updateField(e);
  return known[includeDir] = h.finishHex();
}

std::vector<std::string>
nvrtcOptionsFor(const std::string &arch,
                const std::vector<std::string> &manifestOptions) {
  std::vector<std::string> opts = {"--gpu-architecture=" + arch};
  std::string inc = cudaIncludeDir();
  if (!inc.empty())
    opts.push_back("-I" + inc);
  opts.push_back("--ptxas-options=-v");
  opts.insert(opts.end(), manifestOptions.begin(), manifestOptions.end());
  if (env::getBool(env::kLineInfo))
    opts.push_back("-lineinfo");
  if (auto extra = env::getStr(env::kNvrtcOptions)) {
    size_t i = 0;
    const std::string &s = *extra;
    while (i < s.size()) {
      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
        ++i;
      size_t j = i;
      while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j])))
        ++j;
      if (j > i)
        opts.push_back(s.substr(i, j - i));
      i = j;
    }
  }
  return opts;
}

namespace {

/// Owns an nvrtcProgram.
struct Program {
  nvrtcProgram handle = nullptr;
  ~Program() {
    if (handle)
      nvrtcDestroyProgram(&handle);
  }
};

std::string programLog(nvrtcProgram p) {
  size_t size = 0;
  if (nvrtcGetProgramLogSize(p, &size) != NVRTC_SUCCESS || size <= 1)
    return "";
  std::string log(size, '\0');
  if (nvrtcGetProgramLog(p, &log[0]) != NVRTC_SUCCESS)
    return "";
  // The size counts the terminator, and ptxas' part of the log may bring
  // its own; drop them all.
  while (!log.empty() && log.back() == '\0')
    log.pop_back();
  return log;
}

Status runOnce(const NvrtcInput &input,
               const std::vector<std::string> &options, bool wantCubin,
               std::string &binary, std::string &log) {
  std::vector<const char *> headerTexts, headerNames, opts;
  for (const auto &h : input.headers) {
    headerNames.push_back(h.first.c_str());
    headerTexts.push_back(h.second.c_str());
  }
  for (const auto &o : options)
    opts.push_back(o.c_str());
  Program prog;
  nvrtcResult r = nvrtcCreateProgram(
      &prog.handle, input.sourceText.c_str(), input.sourceName.c_str(),
      static_cast<int>(headerTexts.size()), headerTexts.data(),
      headerNames.data());
  if (r != NVRTC_SUCCESS)
    return Status(StatusCode::CompileError,
                  "nvrtcCreateProgram failed for " + input.sourceName + ": " +
                      nvrtcGetErrorString(r));
  r = nvrtcCompileProgram(prog.handle, static_cast<int>(opts.size()),
                          opts.data());
  log = programLog(prog.handle);
  if (r != NVRTC_SUCCESS) {
    std::string optText;
    for (const auto &o : options)
      optText += " " + o;
    return Status(StatusCode::CompileError,
                  "NVRTC failed to compile " + input.sourceName + " (" +
                      nvrtcGetErrorString(r) + ", options:" + optText +
                      "):\n" + log);
  }
  size_t size = 0;
  if (wantCubin) {
    r = nvrtcGetCUBINSize(prog.handle, &size);
    if (r == NVRTC_SUCCESS && size > 0) {
      binary.assign(size, '\0');
      r = nvrtcGetCUBIN(prog.handle, &binary[0]);
    }
  } else {
    r = nvrtcGetPTXSize(prog.handle, &size);
    if (r == NVRTC_SUCCESS && size > 0) {
      binary.assign(size, '\0');
      r = nvrtcGetPTX(prog.handle, &binary[0]);
      binary.resize(size - 1);
    }
  }
  if (r != NVRTC_SUCCESS || binary.empty())
    return Status(StatusCode::CompileError,
                  std::string("NVRTC produced no ") +
                      (wantCubin ? "cubin" : "PTX") + " for " +
                      input.sourceName + ": " + nvrtcGetErrorString(r));
  return Status::success();
}

} // namespace

Status nvrtcCompile(const NvrtcInput &input, bool wantPtx, NvrtcOutput &out) {
  auto start = std::chrono::steady_clock::now();
  Status st = runOnce(input, input.options, true, out.cubin, out.log);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                              start)
                    .count();
  if (!st.ok() || !wantPtx)
    return st;
  // A real-arch compile yields no PTX; compile again for the virtual arch
  // (sm_90a -> compute_90a).
  std::vector<std::string> ptxOptions;
  for (const auto &o : input.options) {
    const std::string prefix = "--gpu-architecture=sm_";
    if (o.compare(0, prefix.size(), prefix) == 0)
      ptxOptions.push_back("--gpu-architecture=compute_" +
                           o.substr(prefix.size()));
    else if (o.compare(0, 15, "--ptxas-options") != 0)
      ptxOptions.push_back(o);
  }
  std::string ptxLog;
  return runOnce(input, ptxOptions, false, out.ptx, ptxLog);
}

namespace {

/// A diagnostic line, not the source excerpt or remark that follows it:
/// NVRTC writes "file(line): warning #N-D: ...", ptxas "ptxas warning : ...".
bool isWarningLine(const std::string &line) {
  return line.find("): warning") != std::string::npos ||
         line.compare(0, 13, "ptxas warning") == 0 ||
         line.compare(0, 8, "warning:") == 0;
}

/// The number right before `suffix` in `line`, or -1.
int64_t numberBefore(const std::string &line, const std::string &suffix) {
  size_t at = line.find(suffix);
  if (at == std::string::npos)
    return -1;
  size_t end = at;
  while (end > 0 && line[end - 1] == ' ')
    --end;
  size_t begin = end;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(line[begin - 1])))
    --begin;
  if (begin == end)
    return -1;
  return std::stoll(line.substr(begin, end - begin));
}

/// The text between the first pair of single quotes after `marker`.
std::string quotedAfter(const std::string &line, const std::string &marker) {
  size_t at = line.find(marker);
  if (at == std::string::npos)
    return "";
  size_t open = line.find('\'', at + marker.size());
  if (open == std::string::npos)
    return "";
  size_t close = line.find('\'', open + 1);
  if (close == std::string::npos)
    return "";
  return line.substr(open + 1, close - open - 1);
}

FunctionReport &reportFor(std::vector<FunctionReport> &fns,
                          const std::string &name) {
  for (FunctionReport &f : fns)
    if (f.entry == name)
      return f;
  fns.push_back({name, {}});
  return fns.back();
}

} // namespace

void parsePtxasLog(const std::string &log,
                   std::vector<FunctionReport> &functions,
                   std::vector<std::string> &warnings) {
  // ptxas -v, per entry:
  //   ptxas info    : Compiling entry function 'k' for 'sm_90a'
  //   ptxas info    : Function properties for k
  //   ptxas         .     0 bytes stack frame, 0 bytes spill stores, ...
  //   ptxas info    : Used 12 registers, used 1 barriers, 1024 bytes smem
  std::string entry, properties;
  size_t pos = 0;
  while (pos < log.size()) {
    size_t end = log.find('\n', pos);
    if (end == std::string::npos)
      end = log.size();
    std::string line = log.substr(pos, end - pos);
    pos = end + 1;
    if (isWarningLine(line))
      warnings.push_back(line);
    std::string name = quotedAfter(line, "Compiling entry function");
    if (!name.empty()) {
      entry = name;
      reportFor(functions, entry);
      continue;
    }
    size_t props = line.find("Function properties for ");
    if (props != std::string::npos) {
      properties = line.substr(props + 24);
      while (!properties.empty() &&
             std::isspace(static_cast<unsigned char>(properties.back())))
        properties.pop_back();
      continue;
    }
    if (line.find("bytes stack frame") != std::string::npos) {
      // Only entries are reported; device functions that were not inlined
      // show up here too and are skipped unless they are entries.
      for (FunctionReport &f : functions)
        if (f.entry == properties) {
          f.usage.stackBytes = numberBefore(line, "bytes stack frame");
          f.usage.spillStoreBytes = numberBefore(line, "bytes spill stores");
          f.usage.spillLoadBytes = numberBefore(line, "bytes spill loads");
        }
      continue;
    }
    if (line.find("Used ") != std::string::npos && !entry.empty() &&
        line.find(" registers") != std::string::npos) {
      FunctionReport &f = reportFor(functions, entry);
      f.usage.registers = static_cast<int>(numberBefore(line, "registers"));
      int64_t smem = numberBefore(line, "bytes smem");
      f.usage.sharedBytes = smem >= 0 ? smem : 0;
    }
  }
}

} // namespace flashgen
