//===- GpuCase.cpp - read cases.json and the reference meta.json files ----===//

#include "test/gpu/GpuCase.h"

#include "runtime/Json.h"

#include <stdexcept>

using namespace flashgen;
using namespace flashgen::gputest;

static std::string folderOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::vector<GpuCase> flashgen::gputest::loadCases(const std::string &casesJson) {
  json::Value root = refcheck::readJsonFile(casesJson);
  std::string base = folderOf(casesJson);
  const json::Value *list = root.find("cases");
  if (!list || !list->isArray())
    throw std::runtime_error(casesJson + ": expected {\"cases\": [...]}");
  std::vector<GpuCase> cases;
  for (const json::Value &entry : list->items()) {
    GpuCase c;
    c.label = refcheck::stringField(entry, "label", casesJson);
    c.bundle = base + "/" + refcheck::stringField(entry, "bundle", casesJson);
    c.kernel = refcheck::stringField(entry, "kernel", casesJson);
    c.reference = base + "/" + refcheck::stringField(entry, "reference", casesJson);
    if (const json::Value *variant = entry.find("variant"))
      c.variant = static_cast<int>(variant->asInt());
    c.tensors = refcheck::readReferenceMeta(c.reference);
    c.scalars = refcheck::readReferenceScalars(c.reference);
    cases.push_back(std::move(c));
  }
  return cases;
}

void flashgen::gputest::PrintTo(const GpuCase &c, std::ostream *out) {
  *out << c.label;
}
