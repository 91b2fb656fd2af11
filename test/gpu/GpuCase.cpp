//===- GpuCase.cpp - read cases.json and the reference meta.json files ----===//

#include "test/gpu/GpuCase.h"

#include "runtime/Json.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

using namespace flashgen;
using namespace flashgen::gputest;

static json::Value readJson(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  json::Value value;
  std::string error;
  if (!json::parse(text.str(), value, error))
    throw std::runtime_error(path + ": " + error);
  return value;
}

static std::string stringField(const json::Value &object, const char *key,
                               const std::string &where) {
  const json::Value *value = object.find(key);
  if (!value || !value->isString())
    throw std::runtime_error(where + ": missing string field '" + key + "'");
  return value->asString();
}

static std::string folderOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::vector<GpuCase> flashgen::gputest::loadCases(const std::string &casesJson) {
  json::Value root = readJson(casesJson);
  std::string base = folderOf(casesJson);
  const json::Value *list = root.find("cases");
  if (!list || !list->isArray())
    throw std::runtime_error(casesJson + ": expected {\"cases\": [...]}");
  std::vector<GpuCase> cases;
  for (const json::Value &entry : list->items()) {
    GpuCase c;
    c.label = stringField(entry, "label", casesJson);
    c.bundle = base + "/" + stringField(entry, "bundle", casesJson);
    c.kernel = stringField(entry, "kernel", casesJson);
    c.reference = base + "/" + stringField(entry, "reference", casesJson);
    if (const json::Value *variant = entry.find("variant"))
      c.variant = static_cast<int>(variant->asInt());
    c.tensors = refcheck::readReferenceMeta(c.reference);
    cases.push_back(std::move(c));
  }
  return cases;
}

void flashgen::gputest::PrintTo(const GpuCase &c, std::ostream *out) {
  *out << c.label;
}
