//===- flashgen-nvrtc.cpp - Compile every kernel of a bundle with NVRTC ---===//
//
// flashgen-nvrtc BUNDLE [--arch ARCH]... [--json] [--allow-spills]
// flashgen-nvrtc --help | --version
//
// Compiles every variant of every kernel of a bundle for each ARCH (default:
// the bundle's target) without a GPU, checks each launch's entry against the
// manifest, and prints registers, shared memory, stack and spills. Exit
// status: 0 when everything compiled without warnings or spills, 1 when any
// variant failed, warned or spilled, 2 on a usage or bundle error. CI runs
// it on every generated bundle for sm_80 and sm_90a.
//
//===----------------------------------------------------------------------===//

#include "flashgen/runtime.h"
#include "runtime/Json.h"
#include "runtime/tools/ToolVersion.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace flashgen;

namespace {

void usage(FILE *out) {
  std::fprintf(out,
               "usage: flashgen-nvrtc BUNDLE [--arch ARCH]... [--json] "
               "[--allow-spills]\n"
               "       flashgen-nvrtc --help | --version\n"
               "  Compiles every variant of every kernel of BUNDLE with NVRTC "
               "(no GPU needed)\n"
               "  and reports registers, shared memory and spills.\n"
               "  --arch ARCH     sm_80, sm_90a, ... (repeatable; default: the "
               "bundle's target)\n"
               "  --json          one JSON document on stdout\n"
               "  --allow-spills  do not fail on register spills\n"
               "Exit status: 0 clean, 1 a variant failed/warned/spilled, 2 "
               "usage or bundle error.\n");
}

} // namespace

int main(int argc, char **argv) {
  std::string bundlePath;
  std::vector<std::string> archs;
  bool asJson = false, allowSpills = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    }
    if (a == "--version") {
      std::printf("%s\n", toolVersion("flashgen-nvrtc").c_str());
      return 0;
    }
    if (a == "--json") {
      asJson = true;
    } else if (a == "--allow-spills") {
      allowSpills = true;
    } else if (a == "--arch" && i + 1 < argc) {
      archs.push_back(argv[++i]);
    } else if (a.compare(0, 7, "--arch=") == 0) {
      archs.push_back(a.substr(7));
    } else if (!a.empty() && a[0] != '-' && bundlePath.empty()) {
      bundlePath = a;
    } else {
      std::fprintf(stderr, "flashgen-nvrtc: unexpected argument '%s'\n",
                   a.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (bundlePath.empty()) {
    usage(stderr);
    return 2;
  }

  std::shared_ptr<Bundle> bundle;
  if (Status st = Bundle::load(bundlePath, bundle); !st) {
    std::fprintf(stderr, "flashgen-nvrtc: %s\n", st.toString().c_str());
    return 2;
  }
  if (archs.empty())
    archs.push_back(bundle->target());

  json::Value results = json::Value::array();
  int failures = 0;
  if (!asJson)
    std::printf("bundle %s (target %s)\n", bundle->path().c_str(),
                bundle->target().c_str());
  for (const std::string &kernel : bundle->kernelNames()) {
    std::unique_ptr<Kernel> k;
    if (Status st = bundle->getKernel(kernel, nullptr, k); !st) {
      std::fprintf(stderr, "flashgen-nvrtc: %s\n", st.toString().c_str());
      return 2;
    }
    for (const std::string &arch : archs)
      for (int v = 0; v < k->numVariants(); ++v) {
        CompileReport report;
        Status st = bundle->compileVariant(kernel, v, arch, report);
        std::vector<std::string> problems;
        if (!st.ok())
          problems.push_back(st.toString());
        for (const ModuleReport &m : report.modules) {
          for (const std::string &w : m.warnings)
            problems.push_back(m.source + ": " + w);
          for (const FunctionReport &f : m.functions)
            if (!allowSpills && f.usage.spillBytes() > 0)
              problems.push_back(
                  m.source + ": " + f.entry + " spills " +
                  std::to_string(f.usage.spillStoreBytes) +
                  " bytes (stores) / " + std::to_string(f.usage.spillLoadBytes) +
                  " bytes (loads)");
        }
        failures += problems.empty() ? 0 : 1;

        if (asJson) {
          json::Value entry;
          std::string err;
          if (st.ok() && json::parse(toJson(report), entry, err)) {
            entry.set("ok", json::Value::boolean(problems.empty()));
          } else {
            entry = json::Value::object();
            entry.set("kernel", json::Value::string(kernel));
            entry.set("variant", json::Value::integer(v));
            entry.set("arch", json::Value::string(arch));
            entry.set("ok", json::Value::boolean(false));
          }
          json::Value list = json::Value::array();
          for (const std::string &p : problems)
            list.push(json::Value::string(p));
          entry.set("problems", std::move(list));
          results.push(std::move(entry));
          continue;
        }

        std::printf("%s variant %d %s: %s\n", kernel.c_str(), v, arch.c_str(),
                    problems.empty() ? "ok" : "FAILED");
        for (const ModuleReport &m : report.modules) {
          if (m.cacheHit)
            std::printf("  %s: cache hit\n", m.source.c_str());
          else
            std::printf("  %s: compiled in %.2f s\n", m.source.c_str(),
                        m.compileSeconds);
          for (const FunctionReport &f : m.functions)
            std::printf("    %-40s registers %4d  smem %7lld  stack %5lld  "
                        "spill %lld/%lld\n",
                        f.entry.c_str(), f.usage.registers,
                        static_cast<long long>(f.usage.sharedBytes),
                        static_cast<long long>(f.usage.stackBytes),
                        static_cast<long long>(f.usage.spillStoreBytes),
                        static_cast<long long>(f.usage.spillLoadBytes));
        }
        for (const std::string &p : problems)
          std::printf("  error: %s\n", p.c_str());
      }
  }
  if (asJson) {
    json::Value root = json::Value::object();
    root.set("bundle", json::Value::string(bundle->path()));
    root.set("target", json::Value::string(bundle->target()));
    root.set("ok", json::Value::boolean(failures == 0));
    root.set("results", std::move(results));
    std::printf("%s\n", root.dump().c_str());
  } else if (failures) {
    std::printf("%d variant(s) failed\n", failures);
  }
  return failures ? 1 : 0;
}
