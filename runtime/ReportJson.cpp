//===- ReportJson.cpp - Compile reports as JSON ---------------------------===//
//
// Shared by flashgen-nvrtc --json and the C API, so CI scripts and Python
// read one format.
//
//===----------------------------------------------------------------------===//

#include "flashgen/runtime.h"

#include "runtime/Json.h"

namespace flashgen {

std::string toJson(const CompileReport &report) {
  using json::Value;
  Value root = Value::object();
  root.set("kernel", Value::string(report.kernel));
  root.set("variant", Value::integer(report.variant));
  root.set("arch", Value::string(report.arch));
  Value modules = Value::array();
  for (const ModuleReport &m : report.modules) {
    Value mod = Value::object();
    mod.set("source", Value::string(m.source));
    mod.set("cache_key", Value::string(m.cacheKey));
    mod.set("cache_hit", Value::boolean(m.cacheHit));
    mod.set("compile_seconds", Value::number(m.compileSeconds));
    mod.set("cubin_bytes", Value::integer(static_cast<int64_t>(m.cubinBytes)));
    Value warnings = Value::array();
    for (const std::string &w : m.warnings)
      warnings.push(Value::string(w));
    mod.set("warnings", std::move(warnings));
    Value fns = Value::array();
    for (const FunctionReport &f : m.functions) {
      Value fn = Value::object();
      fn.set("entry", Value::string(f.entry));
      fn.set("registers", Value::integer(f.usage.registers));
      fn.set("shared_bytes", Value::integer(f.usage.sharedBytes));
      fn.set("stack_bytes", Value::integer(f.usage.stackBytes));
      fn.set("spill_store_bytes", Value::integer(f.usage.spillStoreBytes));
      fn.set("spill_load_bytes", Value::integer(f.usage.spillLoadBytes));
      fns.push(std::move(fn));
    }
    mod.set("functions", std::move(fns));
    mod.set("log", Value::string(m.log));
    modules.push(std::move(mod));
  }
  root.set("modules", std::move(modules));
  return root.dump();
}

} // namespace flashgen
