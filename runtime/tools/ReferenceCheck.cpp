//===- ReferenceCheck.cpp - bind flashgen-ref data to a kernel, compare ---===//

#include "runtime/tools/ReferenceCheck.h"

#include "reference/Bf16.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

using namespace flashgen;
using namespace flashgen::refcheck;

json::Value refcheck::readJsonFile(const std::string &path) {
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

std::string refcheck::stringField(const json::Value &object, const char *key,
                                  const std::string &where) {
  const json::Value *value = object.find(key);
  if (!value || !value->isString())
    throw std::runtime_error(where + ": missing string field '" + key + "'");
  return value->asString();
}

std::vector<TensorFile>
flashgen::refcheck::readReferenceMeta(const std::string &dir) {
  std::string metaPath = dir + "/meta.json";
  json::Value meta = readJsonFile(metaPath);
  const json::Value *tensors = meta.find("tensors");
  if (!tensors || !tensors->isArray())
    throw std::runtime_error(metaPath + ": missing 'tensors'");
  std::vector<TensorFile> out;
  for (const json::Value &t : tensors->items()) {
    TensorFile file;
    file.name = stringField(t, "name", metaPath);
    file.role = stringField(t, "role", metaPath);
    file.dtype = stringField(t, "dtype", metaPath);
    file.file = stringField(t, "file", metaPath);
    if (const json::Value *tolerance = t.find("tolerance")) {
      if (!tolerance->isNumber() || !(tolerance->asDouble() > 0))
        throw std::runtime_error(metaPath + ": tensor " + file.name +
                                 " has a tolerance that is not a positive number");
      file.tolerance = tolerance->asDouble();
    }
    const json::Value *shape = t.find("shape");
    if (!shape || !shape->isArray())
      throw std::runtime_error(metaPath + ": tensor " + file.name +
                               " has no shape");
    for (const json::Value &d : shape->items()) {
      if (!d.isInteger() || d.asInt() < 0)
        throw std::runtime_error(metaPath + ": tensor " + file.name +
                                 " has a shape entry that is not a size");
      file.shape.push_back(d.asInt());
    }
    out.push_back(std::move(file));
  }
  return out;
}

std::vector<refcheck::ScalarValue>
flashgen::refcheck::readReferenceScalars(const std::string &dir) {
  std::string metaPath = dir + "/meta.json";
  json::Value meta = readJsonFile(metaPath);
  std::vector<ScalarValue> out;
  const json::Value *scalars = meta.find("scalars");
  if (!scalars)
    return out;
  if (!scalars->isArray())
    throw std::runtime_error(metaPath + ": 'scalars' is not an array");
  for (const json::Value &s : scalars->items()) {
    ScalarValue scalar;
    scalar.name = stringField(s, "name", metaPath);
    const json::Value *value = s.find("value");
    if (!value || !value->isNumber())
      throw std::runtime_error(metaPath + ": scalar " + scalar.name +
                               " has no numeric 'value'");
    scalar.value = value->asDouble();
    out.push_back(std::move(scalar));
  }
  return out;
}

bool flashgen::refcheck::planScalars(
    const std::vector<ScalarValue> &values,
    const std::vector<Kernel::ScalarInfo> &scalars, std::vector<ScalarArg> &out,
    std::string &error) {
  out.assign(scalars.size(), ScalarArg::useDefault());
  for (size_t i = 0; i < scalars.size(); ++i) {
    auto it = std::find_if(values.begin(), values.end(), [&](const ScalarValue &v) {
      return v.name == scalars[i].name;
    });
    if (it == values.end()) {
      if (!scalars[i].hasDefault) {
        error = "scalar " + scalars[i].name +
                " has no default and no value in the reference";
        return false;
      }
      continue;
    }
    out[i] = scalars[i].dtype == DType::F32
                 ? ScalarArg::ofFloat(it->value)
                 : ScalarArg::ofInt(static_cast<int64_t>(it->value));
  }
  return true;
}

double flashgen::refcheck::toleranceFor(const std::string &dtype) {
  return dtype == "f32" ? 2e-3 : 1e-2;
}

double flashgen::refcheck::toleranceFor(const TensorFile &file) {
  return file.tolerance > 0 ? file.tolerance : toleranceFor(file.dtype);
}

std::vector<double> flashgen::refcheck::asDoubles(const std::vector<uint8_t> &bytes,
                                                  DType dtype) {
  std::vector<double> values;
  if (dtype == DType::BF16) {
    values.resize(bytes.size() / 2);
    for (size_t i = 0; i < values.size(); ++i) {
      uint16_t bits;
      std::memcpy(&bits, bytes.data() + 2 * i, 2);
      values[i] = reference::floatFromBf16Bits(bits);
    }
  } else {
    values.resize(bytes.size() / 4);
    for (size_t i = 0; i < values.size(); ++i) {
      float f;
      std::memcpy(&f, bytes.data() + 4 * i, 4);
      values[i] = f;
    }
  }
  return values;
}

std::string Comparison::summary() const {
  char text[256];
  std::snprintf(text, sizeof text,
                "rel_err %.3e (tolerance %.1e) max_abs %.3e nan %zu "
                "inf_mismatch %zu",
                relError, tolerance, maxAbs, nans, infMismatches);
  std::string out = text;
  if (sizeMismatch)
    out += " size_mismatch " + std::to_string(sizeMismatch);
  return out;
}

Comparison flashgen::refcheck::compare(const std::vector<double> &got,
                                       const std::vector<double> &expected,
                                       double tolerance) {
  Comparison c;
  c.tolerance = tolerance;
  c.sizeMismatch = got.size() > expected.size() ? got.size() - expected.size()
                                                : expected.size() - got.size();
  const size_t n = std::min(got.size(), expected.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(got[i])) {
      ++c.nans;
      continue;
    }
    // An infinite expected value has no error scale: it must be met exactly.
    if (std::isinf(expected[i]) || std::isinf(got[i])) {
      c.infMismatches += got[i] != expected[i];
      continue;
    }
    double d = got[i] - expected[i];
    diff += d * d;
    norm += expected[i] * expected[i];
    c.maxAbs = std::max(c.maxAbs, std::fabs(d));
  }
  c.relError = norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
  return c;
}

TensorArg Operand::arg(void *base) const {
  void *data = base ? static_cast<char *>(base) +
                          layout.offset * int64_t(elementBytes)
                    : nullptr;
  return {data, dtype, int32_t(layout.sizes.size()), layout.sizes.data(),
          layout.strides.data()};
}

bool flashgen::refcheck::planOperands(const std::vector<TensorFile> &tensors,
                                      const std::vector<Kernel::ParamInfo> &params,
                                      Layout layout, std::vector<Operand> &out,
                                      std::string &error) {
  out.assign(params.size(), Operand{});
  for (size_t p = 0; p < params.size(); ++p) {
    for (const TensorFile &t : tensors)
      if (t.name == params[p].name)
        out[p].file = &t;
    if (!out[p].file && params[p].optional) {
      out[p].dtype = params[p].dtype;
      out[p].layout.sizes.assign(size_t(params[p].rank), 0);
      out[p].layout.strides.assign(size_t(params[p].rank), 0);
      continue;
    }
    if (!out[p].file) {
      error = "the reference data has no tensor '" + params[p].name +
              "', a required param of the kernel";
      return false;
    }
    DType dtype = DType::None;
    parseDType(out[p].file->dtype, dtype);
    out[p].dtype = dtype;
    out[p].elementBytes = dtypeSize(dtype);
    if (out[p].elementBytes == 0) {
      error = "tensor " + params[p].name + " has dtype '" +
              out[p].file->dtype + "'";
      return false;
    }
    out[p].layout = makeLayout(layout, out[p].file->shape, out[p].elementBytes,
                               params[p].stridedLastDim);
    out[p].output = out[p].file->role != "input";
  }
  return true;
}

void *flashgen::refcheck::fakeDeviceAddress(size_t param) {
  return reinterpret_cast<void *>((uintptr_t(1) << 40) +
                                  uintptr_t(param) * (uintptr_t(1) << 36));
}

std::vector<TensorArg>
flashgen::refcheck::fakeArgs(const std::vector<Operand> &operands) {
  std::vector<TensorArg> args(operands.size());
  for (size_t p = 0; p < operands.size(); ++p)
    args[p] = operands[p].arg(operands[p].file ? fakeDeviceAddress(p) : nullptr);
  return args;
}
