//===- Manifest.cpp - Parsed and checked bundle manifest ------------------===//
//
// Field-by-field reader of manifest.json. Each message starts with the JSON
// path of the offending field so that the emitter's author can find it
// without guessing.
//
//===----------------------------------------------------------------------===//

#include "runtime/Manifest.h"

#include "runtime/ParamPacking.h"
#include "runtime/Sandbox.h"

#include <cctype>
#include <cstring>
#include <initializer_list>
#include <set>

namespace flashgen {

const std::string &KernelSpec::slotName(int slot) const {
  static const std::string multiprocessors = kMultiprocessorsName;
  if (slot < static_cast<int>(symbols.size()))
    return symbols[slot].name;
  if (slot == multiprocessorsSlot())
    return multiprocessors;
  return scalars[slot - symbols.size()].name;
}

const KernelSpec *Manifest::findKernel(const std::string &name) const {
  for (const KernelSpec &k : kernels)
    if (k.name == name)
      return &k;
  return nullptr;
}

bool parseArch(const std::string &arch, int &major, int &minor,
               bool &archSpecific) {
  if (arch.size() < 5 || arch.compare(0, 3, "sm_") != 0)
    return false;
  std::string rest = arch.substr(3);
  archSpecific = false;
  if (!rest.empty() && (rest.back() == 'a' || rest.back() == 'f')) {
    archSpecific = true;
    rest.pop_back();
  }
  if (rest.size() < 2 || rest.size() > 3)
    return false;
  for (char c : rest)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  major = std::stoi(rest.substr(0, rest.size() - 1));
  minor = rest.back() - '0';
  return major >= 5;
}

bool isSafeBundlePath(const std::string &path) {
  if (path.empty() || path[0] == '/' || path.size() > kMaxPathBytes)
    return false;
  // Portable file-name characters only: no backslashes, quotes, spaces,
  // control characters or NULs (a path also reaches NVRTC as an include
  // name and a source label).
  for (char c : path)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
          c == '_' || c == '-' || c == '+' || c == '/'))
      return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos)
      end = path.size();
    std::string part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." || part.size() > 255)
      return false;
    start = end + 1;
  }
  return true;
}

bool isIdentifier(const std::string &s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_'))
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

namespace {

bool isReservedName(const std::string &s) {
  return s == "cdiv" || s == "min" || s == "max";
}

/// Collects the first error, prefixed with the JSON path.
class Reader {
public:
  std::string error;

  bool fail(const std::string &path, const std::string &what) {
    if (error.empty())
      error = path + ": " + what;
    return false;
  }

  bool expectKind(const json::Value &v, const std::string &path,
                  json::Value::Kind kind) {
    if (v.kind() == kind)
      return true;
    return fail(path, std::string("expected ") + json::kindName(kind) +
                          ", found " + json::kindName(v.kind()));
  }

  /// Rejects keys outside `allowed`, except "x_" extensions.
  bool checkKeys(const json::Value &obj, const std::string &path,
                 std::initializer_list<const char *> allowed) {
    for (const auto &m : obj.members()) {
      if (m.first.compare(0, 2, "x_") == 0)
        continue;
      bool known = false;
      for (const char *a : allowed)
        known |= m.first == a;
      if (!known) {
        std::string list;
        for (const char *a : allowed)
          list += std::string(list.empty() ? "" : ", ") + a;
        return fail(path, "unknown key \"" + m.first + "\" (allowed: " +
                              list + "; extensions start with x_)");
      }
    }
    return true;
  }

  /// The member or null; fails when required and absent or of another kind.
  const json::Value *member(const json::Value &obj, const std::string &path,
                            const char *key, json::Value::Kind kind,
                            bool required, bool &ok) {
    const json::Value *v = obj.find(key);
    ok = true;
    if (!v) {
      if (required)
        ok = fail(path, std::string("missing required key \"") + key + "\"");
      return nullptr;
    }
    if (!expectKind(*v, path + "." + key, kind)) {
      ok = false;
      return nullptr;
    }
    return v;
  }

  bool readString(const json::Value &obj, const std::string &path,
                  const char *key, std::string &out, bool required) {
    bool ok;
    const json::Value *v =
        member(obj, path, key, json::Value::Kind::String, required, ok);
    if (v)
      out = v->asString();
    return ok;
  }

  bool readInt(const json::Value &v, const std::string &path, int64_t min,
               int64_t max, int64_t &out) {
    if (!v.isInteger())
      return fail(path, std::string("expected an integer, found ") +
                            (v.isNumber() ? "a non-integer number"
                                          : json::kindName(v.kind())));
    if (v.asInt() < min || v.asInt() > max)
      return fail(path, "value " + std::to_string(v.asInt()) +
                            " out of range [" + std::to_string(min) + ", " +
                            std::to_string(max) + "]");
    out = v.asInt();
    return true;
  }

  bool readStringArray(const json::Value &obj, const std::string &path,
                       const char *key, std::vector<std::string> &out,
                       bool required) {
    bool ok;
    const json::Value *v =
        member(obj, path, key, json::Value::Kind::Array, required, ok);
    if (!v)
      return ok;
    for (size_t i = 0; i < v->items().size(); ++i) {
      const json::Value &item = v->items()[i];
      if (!expectKind(item, path + "." + key + "[" + std::to_string(i) + "]",
                      json::Value::Kind::String))
        return false;
      out.push_back(item.asString());
    }
    return true;
  }
};

/// Resolves names in a kernel's expressions: symbols, then integer scalars.
Expr::Resolver resolverFor(const KernelSpec &k) {
  return [&k](const std::string &name) -> int {
    for (size_t i = 0; i < k.symbols.size(); ++i)
      if (k.symbols[i].name == name)
        return static_cast<int>(i);
    for (size_t i = 0; i < k.scalars.size(); ++i)
      if (k.scalars[i].name == name && k.scalars[i].isInteger())
        return k.scalarSlot(static_cast<int>(i));
    if (name == kMultiprocessorsName)
      return k.multiprocessorsSlot();
    return -1;
  };
}

class ManifestReader : public Reader {
public:
  bool readRoot(const json::Value &root, Manifest &m) {
    if (!expectKind(root, "manifest", json::Value::Kind::Object))
      return false;
    // Format and version first: a bundle from another tool or a future
    // format must be reported as such, not as a pile of unknown keys.
    std::string format;
    if (!readString(root, "manifest", "format", format, true))
      return false;
    if (format != kBundleFormatName)
      return fail("format", "\"" + format + "\" is not a flashgen bundle "
                                            "(expected \"" +
                                kBundleFormatName + "\")");
    const json::Value *version = root.find("version");
    if (!version)
      return fail("manifest", "missing required key \"version\"");
    if (!version->isInteger())
      return fail("version", "expected an integer");
    if (version->asInt() != kBundleFormatVersion)
      return fail("version",
                  "bundle format version " + std::to_string(version->asInt()) +
                      " is not supported by this runtime (supports " +
                      std::to_string(kBundleFormatVersion) +
                      "); rebuild the bundle with a matching flashgen");
    m.version = kBundleFormatVersion;
    if (!checkKeys(root, "manifest",
                   {"format", "version", "flashgen_version", "target",
                    "kernels"}))
      return false;
    if (!readString(root, "manifest", "flashgen_version", m.flashgenVersion,
                    true) ||
        !readString(root, "manifest", "target", m.target, true))
      return false;
    int major, minor;
    bool specific;
    if (!parseArch(m.target, major, minor, specific))
      return fail("target", "\"" + m.target +
                                "\" is not an arch like sm_80 or sm_90a");
    bool ok;
    const json::Value *kernels =
        member(root, "manifest", "kernels", json::Value::Kind::Array, true, ok);
    if (!kernels)
      return false;
    if (kernels->items().empty())
      return fail("kernels", "a bundle needs at least one kernel");
    if (kernels->items().size() > static_cast<size_t>(kMaxKernels))
      return fail("kernels", "more than " + std::to_string(kMaxKernels) +
                                 " kernels");
    for (size_t i = 0; i < kernels->items().size(); ++i) {
      KernelSpec k;
      if (!readKernel(kernels->items()[i],
                      "kernels[" + std::to_string(i) + "]", k))
        return false;
      if (m.findKernel(k.name))
        return fail("kernels[" + std::to_string(i) + "].name",
                    "duplicate kernel name \"" + k.name + "\"");
      m.kernels.push_back(std::move(k));
    }
    return true;
  }

private:
  std::set<std::string> kernelNames_;

  bool declareName(const std::string &path, const std::string &name) {
    if (!isIdentifier(name))
      return fail(path, "\"" + name + "\" is not an identifier");
    if (isReservedName(name))
      return fail(path, "\"" + name + "\" is reserved (cdiv, min, max)");
    if (!kernelNames_.insert(name).second)
      return fail(path, "name \"" + name +
                            "\" is already used by a symbol, scalar, param "
                            "or scratch buffer of this kernel");
    return true;
  }

  bool readExpr(const KernelSpec &k, const json::Value &v,
                const std::string &path, Expr &out) {
    if (v.isInteger()) {
      out = Expr::constant(v.asInt());
      return true;
    }
    if (!v.isString())
      return fail(path, std::string("expected an integer or an expression "
                                    "string, found ") +
                            json::kindName(v.kind()));
    std::string err;
    if (!Expr::parse(v.asString(), resolverFor(k), out, err))
      return fail(path, err);
    return true;
  }

  bool readKernel(const json::Value &v, const std::string &path,
                  KernelSpec &k) {
    kernelNames_.clear();
    if (!expectKind(v, path, json::Value::Kind::Object) ||
        !checkKeys(v, path,
                   {"name", "op", "symbols", "scalars", "params",
                    "constraints", "variants", "flops", "dispatch"}) ||
        !readString(v, path, "name", k.name, true) ||
        !readString(v, path, "op", k.op, true))
      return false;
    if (!isIdentifier(k.name))
      return fail(path + ".name", "\"" + k.name + "\" is not an identifier");

    bool ok;
    const json::Value *symbols =
        member(v, path, "symbols", json::Value::Kind::Array, true, ok);
    if (!ok)
      return false;
    for (size_t i = 0; i < symbols->items().size(); ++i)
      if (!readSymbol(symbols->items()[i],
                      path + ".symbols[" + std::to_string(i) + "]", k))
        return false;

    if (const json::Value *scalars =
            member(v, path, "scalars", json::Value::Kind::Array, false, ok)) {
      for (size_t i = 0; i < scalars->items().size(); ++i)
        if (!readScalar(scalars->items()[i],
                        path + ".scalars[" + std::to_string(i) + "]", k))
          return false;
    } else if (!ok) {
      return false;
    }
    if (k.numSlots() + 1 > kMaxSlots)
      return fail(path, "more than " + std::to_string(kMaxSlots - 1) +
                            " symbols and scalars");
    for (int slot = 0; slot < k.numSlots(); ++slot)
      if (k.slotName(slot) == kMultiprocessorsName)
        return fail(path, std::string("'") + kMultiprocessorsName +
                              "' names the device's SM count in expressions; no "
                              "symbol or scalar may take it");

    const json::Value *params =
        member(v, path, "params", json::Value::Kind::Array, true, ok);
    if (!ok)
      return false;
    if (params->items().size() > static_cast<size_t>(kMaxParams))
      return fail(path + ".params",
                  "more than " + std::to_string(kMaxParams) + " params");
    for (size_t i = 0; i < params->items().size(); ++i)
      if (!readParam(params->items()[i],
                     path + ".params[" + std::to_string(i) + "]", k))
        return false;
    // may_alias names an input of the same dtype and shape.
    for (size_t i = 0; i < k.params.size(); ++i) {
      ParamSpec &p = k.params[i];
      if (p.mayAliasName.empty())
        continue;
      std::string where = path + ".params[" + std::to_string(i) + "].may_alias";
      if (p.io != ParamIo::Out)
        return fail(where, "only an output may alias an input");
      for (size_t j = 0; j < k.params.size(); ++j)
        if (k.params[j].name == p.mayAliasName)
          p.mayAlias = static_cast<int>(j);
      if (p.mayAlias < 0)
        return fail(where, "\"" + p.mayAliasName + "\" is not a param");
      const ParamSpec &q = k.params[p.mayAlias];
      bool sameShape = q.shape.size() == p.shape.size();
      for (size_t d = 0; sameShape && d < p.shape.size(); ++d)
        sameShape = q.shape[d].text == p.shape[d].text;
      if (q.io != ParamIo::In || q.dtype != p.dtype || !sameShape)
        return fail(where, "\"" + p.mayAliasName +
                               "\" is not an input of the same dtype and shape");
    }

    // Launches bind symbols from tensor sizes, so each needs a bare dim in a
    // tensor the caller must pass.
    for (size_t s = 0; s < k.symbols.size(); ++s) {
      bool bound = false;
      for (const ParamSpec &p : k.params)
        for (const DimSpec &d : p.shape)
          bound |= !p.optional && d.kind == DimSpec::Kind::Symbol &&
                   d.slot == static_cast<int>(s);
      if (!bound)
        return fail(path + ".symbols[" + std::to_string(s) + "]",
                    "symbol \"" + k.symbols[s].name +
                        "\" is not a dimension of any non-optional param, so "
                        "no launch can bind it");
    }

    std::vector<std::string> constraints;
    if (!readStringArray(v, path, "constraints", constraints, false))
      return false;
    if (constraints.size() > static_cast<size_t>(kMaxConstraints))
      return fail(path + ".constraints", "more than " +
                                             std::to_string(kMaxConstraints) +
                                             " constraints");
    for (size_t i = 0; i < constraints.size(); ++i) {
      Constraint c;
      std::string err;
      if (!Constraint::parse(constraints[i], resolverFor(k), c, err))
        return fail(path + ".constraints[" + std::to_string(i) + "]", err);
      k.constraints.push_back(std::move(c));
    }

    if (const json::Value *flops = v.find("flops")) {
      if (!readExpr(k, *flops, path + ".flops", k.flops))
        return false;
      k.hasFlops = true;
    }

    const json::Value *variants =
        member(v, path, "variants", json::Value::Kind::Array, true, ok);
    if (!ok)
      return false;
    if (variants->items().empty())
      return fail(path + ".variants", "a kernel needs at least one variant");
    if (variants->items().size() > static_cast<size_t>(kMaxVariants))
      return fail(path + ".variants", "more than " +
                                          std::to_string(kMaxVariants) +
                                          " variants");
    for (size_t i = 0; i < variants->items().size(); ++i) {
      VariantSpec var;
      if (!readVariant(variants->items()[i],
                       path + ".variants[" + std::to_string(i) + "]", k, var))
        return false;
      k.variants.push_back(std::move(var));
    }
    if (const json::Value *dispatch = v.find("dispatch"))
      return readDispatch(*dispatch, path + ".dispatch", k);
    return true;
  }

  /// {"by": SYMBOL, "upper_bounds": [ascending ints], "variants": [one
  /// more index than bounds]}.
  bool readDispatch(const json::Value &v, const std::string &path, KernelSpec &k) {
    std::string by;
    if (!expectKind(v, path, json::Value::Kind::Object) ||
        !checkKeys(v, path, {"by", "upper_bounds", "variants"}) ||
        !readString(v, path, "by", by, true))
      return false;
    DispatchSpec d;
    for (size_t s = 0; s < k.symbols.size(); ++s)
      if (k.symbols[s].name == by)
        d.slot = static_cast<int>(s);
    if (d.slot < 0)
      return fail(path + ".by", "\"" + by + "\" is not a symbol of the kernel");
    for (size_t p = 0; p < k.params.size() && d.param < 0; ++p)
      for (size_t i = 0; i < k.params[p].shape.size(); ++i)
        if (!k.params[p].optional &&
            k.params[p].shape[i].kind == DimSpec::Kind::Symbol &&
            k.params[p].shape[i].slot == d.slot) {
          d.param = static_cast<int>(p);
          d.dim = static_cast<int>(i);
          break;
        }
    bool ok;
    const json::Value *bounds =
        member(v, path, "upper_bounds", json::Value::Kind::Array, true, ok);
    if (!ok)
      return false;
    for (size_t i = 0; i < bounds->items().size(); ++i) {
      int64_t bound = 0;
      std::string at = path + ".upper_bounds[" + std::to_string(i) + "]";
      if (!readInt(bounds->items()[i], at, 1, 2147483647, bound))
        return false;
      if (!d.upperBounds.empty() && bound <= d.upperBounds.back())
        return fail(at, "upper bounds must increase");
      d.upperBounds.push_back(bound);
    }
    const json::Value *variants =
        member(v, path, "variants", json::Value::Kind::Array, true, ok);
    if (!ok)
      return false;
    if (variants->items().size() != d.upperBounds.size() + 1)
      return fail(path + ".variants", "needs one variant more than upper_bounds (" +
                                          std::to_string(d.upperBounds.size() + 1) + ")");
    for (size_t i = 0; i < variants->items().size(); ++i) {
      int64_t index = 0;
      if (!readInt(variants->items()[i], path + ".variants[" + std::to_string(i) + "]",
                   0, static_cast<int64_t>(k.variants.size()) - 1, index))
        return false;
      d.variants.push_back(static_cast<int>(index));
    }
    k.dispatch = std::move(d);
    return true;
  }

  bool readSymbol(const json::Value &v, const std::string &path,
                  KernelSpec &k) {
    SymbolSpec s;
    if (v.isString()) {
      s.name = v.asString();
    } else {
      if (!expectKind(v, path, json::Value::Kind::Object) ||
          !checkKeys(v, path, {"name", "min", "max"}) ||
          !readString(v, path, "name", s.name, true))
        return false;
      if (const json::Value *min = v.find("min"))
        if (!readInt(*min, path + ".min", 0, 2147483647, s.min))
          return false;
      if (const json::Value *max = v.find("max"))
        if (!readInt(*max, path + ".max", 0, 2147483647, s.max))
          return false;
      if (s.min > s.max)
        return fail(path, "min > max");
    }
    if (!declareName(path, s.name))
      return false;
    k.symbols.push_back(std::move(s));
    return true;
  }

  bool readScalar(const json::Value &v, const std::string &path,
                  KernelSpec &k) {
    ScalarSpec s;
    std::string dtype;
    if (!expectKind(v, path, json::Value::Kind::Object) ||
        !checkKeys(v, path, {"name", "dtype", "default", "min", "max"}) ||
        !readString(v, path, "name", s.name, true) ||
        !readString(v, path, "dtype", dtype, true))
      return false;
    if (!declareName(path + ".name", s.name))
      return false;
    if (dtype == "f32")
      s.dtype = DType::F32;
    else if (dtype == "i32")
      s.dtype = DType::I32;
    else if (dtype == "i64")
      s.dtype = DType::I64;
    else
      return fail(path + ".dtype", "scalar dtype \"" + dtype +
                                       "\" is not one of f32, i32, i64");
    int64_t lo = s.dtype == DType::I32 ? INT32_MIN : INT64_MIN;
    int64_t hi = s.dtype == DType::I32 ? INT32_MAX : INT64_MAX;
    auto readValue = [&](const char *key, bool &has, double &f,
                         int64_t &i) -> bool {
      const json::Value *x = v.find(key);
      if (!x)
        return true;
      has = true;
      if (s.isInteger())
        return readInt(*x, path + "." + key, lo, hi, i);
      if (!expectKind(*x, path + "." + key, json::Value::Kind::Number))
        return false;
      f = x->asDouble();
      return true;
    };
    if (!readValue("default", s.hasDefault, s.defaultFloat, s.defaultInt) ||
        !readValue("min", s.hasMin, s.minFloat, s.minInt) ||
        !readValue("max", s.hasMax, s.maxFloat, s.maxInt))
      return false;
    k.scalars.push_back(std::move(s));
    return true;
  }

  bool readDtype(const json::Value &v, const std::string &path, DType &out) {
    std::string text;
    if (!readString(v, path, "dtype", text, true))
      return false;
    if (!parseDType(text, out))
      return fail(path + ".dtype",
                  "unknown dtype \"" + text +
                      "\" (known: bf16, f16, f32, f64, i8, u8, i32, i64)");
    return true;
  }

  bool readParam(const json::Value &v, const std::string &path,
                 KernelSpec &k) {
    ParamSpec p;
    std::string io;
    if (!expectKind(v, path, json::Value::Kind::Object) ||
        !checkKeys(v, path,
                   {"name", "io", "dtype", "shape", "optional",
                    "pointer_align", "stride_align", "strided_last_dim", "may_alias"}) ||
        !readString(v, path, "name", p.name, true) ||
        !readString(v, path, "io", io, true) || !readDtype(v, path, p.dtype))
      return false;
    if (!declareName(path + ".name", p.name))
      return false;
    if (io == "in")
      p.io = ParamIo::In;
    else if (io == "out")
      p.io = ParamIo::Out;
    else if (io == "inout")
      p.io = ParamIo::InOut;
    else
      return fail(path + ".io", "\"" + io + "\" is not in, out or inout");
    bool ok;
    if (const json::Value *opt =
            member(v, path, "optional", json::Value::Kind::Bool, false, ok))
      p.optional = opt->asBool();
    if (!ok)
      return false;
    if (const json::Value *a = v.find("pointer_align")) {
      if (!readInt(*a, path + ".pointer_align", 1, 4096, p.pointerAlign))
        return false;
      if (p.pointerAlign & (p.pointerAlign - 1))
        return fail(path + ".pointer_align", "must be a power of two");
    }
    if (const json::Value *a = v.find("stride_align"))
      if (!readInt(*a, path + ".stride_align", 1, 1 << 20, p.strideAlign))
        return false;
    if (const json::Value *s = member(v, path, "strided_last_dim",
                                      json::Value::Kind::Bool, false, ok))
      p.stridedLastDim = s->asBool();
    if (!ok)
      return false;
    if (v.find("may_alias") &&
        !readString(v, path, "may_alias", p.mayAliasName, true))
      return false;

    const json::Value *shape =
        member(v, path, "shape", json::Value::Kind::Array, true, ok);
    if (!ok)
      return false;
    if (shape->items().empty() ||
        shape->items().size() > static_cast<size_t>(kMaxRank))
      return fail(path + ".shape", "rank must be between 1 and " +
                                       std::to_string(kMaxRank));
    for (size_t d = 0; d < shape->items().size(); ++d) {
      const json::Value &dim = shape->items()[d];
      std::string dpath = path + ".shape[" + std::to_string(d) + "]";
      DimSpec ds;
      if (dim.isInteger()) {
        int64_t value;
        if (!readInt(dim, dpath, 1, INT64_MAX, value))
          return false;
        ds.kind = DimSpec::Kind::Static;
        ds.value = value;
        ds.text = std::to_string(value);
      } else if (dim.isString()) {
        ds.text = dim.asString();
        int slot = -1;
        for (size_t s = 0; s < k.symbols.size(); ++s)
          if (k.symbols[s].name == ds.text)
            slot = static_cast<int>(s);
        if (slot >= 0) {
          ds.kind = DimSpec::Kind::Symbol;
          ds.slot = slot;
        } else {
          ds.kind = DimSpec::Kind::Derived;
          if (!readExpr(k, dim, dpath, ds.expr))
            return false;
        }
      } else {
        return fail(dpath, std::string("expected an integer or a symbol/"
                                       "expression string, found ") +
                               json::kindName(dim.kind()));
      }
      p.shape.push_back(std::move(ds));
    }
    k.params.push_back(std::move(p));
    return true;
  }

  bool readVariant(const json::Value &v, const std::string &path,
                   const KernelSpec &k, VariantSpec &var) {
    if (!expectKind(v, path, json::Value::Kind::Object) ||
        !checkKeys(v, path,
                   {"schedule", "io", "sources", "headers", "nvrtc_options",
                    "resources", "scratch", "launches"}))
      return false;
    bool ok;
    for (auto field : {std::make_pair("schedule", &var.schedule),
                       std::make_pair("io", &var.io),
                       std::make_pair("resources", &var.resources)}) {
      if (const json::Value *x = member(v, path, field.first,
                                        json::Value::Kind::Object, false, ok))
        *field.second = *x;
      if (!ok)
        return false;
    }
    if (!readStringArray(v, path, "sources", var.sources, true) ||
        !readStringArray(v, path, "headers", var.headers, false) ||
        !readStringArray(v, path, "nvrtc_options", var.nvrtcOptions, false))
      return false;
    if (var.sources.empty())
      return fail(path + ".sources", "a variant needs at least one source");
    if (var.sources.size() + var.headers.size() >
            static_cast<size_t>(kMaxVariantFiles) ||
        var.nvrtcOptions.size() > static_cast<size_t>(kMaxNvrtcOptions))
      return fail(path, "more than " + std::to_string(kMaxVariantFiles) +
                            " sources and headers, or more than " +
                            std::to_string(kMaxNvrtcOptions) +
                            " nvrtc_options");
    std::set<std::string> seen;
    for (const auto *list : {&var.sources, &var.headers})
      for (size_t i = 0; i < list->size(); ++i) {
        const std::string &file = (*list)[i];
        std::string fpath = path + (list == &var.sources ? ".sources[" : ".headers[") +
                            std::to_string(i) + "]";
        if (!isSafeBundlePath(file))
          return fail(fpath, "\"" + file +
                                 "\" must be a relative path inside the "
                                 "bundle (no '..', no leading '/')");
        if (!seen.insert(file).second)
          return fail(fpath, "\"" + file + "\" is listed twice");
      }
    for (size_t i = 0; i < var.nvrtcOptions.size(); ++i) {
      const std::string &o = var.nvrtcOptions[i];
      const std::string opath =
          path + ".nvrtc_options[" + std::to_string(i) + "]";
      for (const char *banned :
           {"-arch", "--gpu-architecture", "-I", "--include-path"})
        if (o.compare(0, std::strlen(banned), banned) == 0)
          return fail(opath, "\"" + o +
                                 "\": the runtime sets the arch and include "
                                 "paths itself (docs/bundle-format.md §1.4)");
      // An allow-list: options such as --time=FILE or --pre-include=FILE
      // would make NVRTC write or read files outside the bundle.
      std::string why;
      if (!isAllowedNvrtcOption(o, why))
        return fail(opath, why);
    }

    if (const json::Value *scratch =
            member(v, path, "scratch", json::Value::Kind::Array, false, ok)) {
      if (scratch->items().size() > static_cast<size_t>(kMaxScratch))
        return fail(path + ".scratch", "more than " +
                                           std::to_string(kMaxScratch) +
                                           " scratch buffers");
      for (size_t i = 0; i < scratch->items().size(); ++i)
        if (!readScratch(scratch->items()[i],
                         path + ".scratch[" + std::to_string(i) + "]", k, var))
          return false;
    }
    if (!ok)
      return false;

    const json::Value *launches =
        member(v, path, "launches", json::Value::Kind::Array, true, ok);
    if (!ok)
      return false;
    if (launches->items().empty() ||
        launches->items().size() > static_cast<size_t>(kMaxLaunches))
      return fail(path + ".launches", "a variant needs 1 to " +
                                          std::to_string(kMaxLaunches) +
                                          " launches");
    for (size_t i = 0; i < launches->items().size(); ++i) {
      LaunchSpec l;
      if (!readLaunch(launches->items()[i],
                      path + ".launches[" + std::to_string(i) + "]", k, var, l))
        return false;
      var.launches.push_back(std::move(l));
    }
    return true;
  }

  bool readScratch(const json::Value &v, const std::string &path,
                   const KernelSpec &k, VariantSpec &var) {
    ScratchSpec s;
    if (!expectKind(v, path, json::Value::Kind::Object) ||
        !checkKeys(v, path, {"name", "dtype", "shape", "zero_init"}) ||
        !readString(v, path, "name", s.name, true) ||
        !readDtype(v, path, s.dtype))
      return false;
    if (!isIdentifier(s.name))
      return fail(path + ".name", "\"" + s.name + "\" is not an identifier");
    if (kernelNames_.count(s.name))
      return fail(path + ".name", "\"" + s.name +
                                      "\" is already used by a symbol, "
                                      "scalar or param of this kernel");
    for (const ScratchSpec &other : var.scratch)
      if (other.name == s.name)
        return fail(path + ".name", "duplicate scratch name \"" + s.name + "\"");
    bool ok;
    if (const json::Value *z =
            member(v, path, "zero_init", json::Value::Kind::Bool, false, ok))
      s.zeroInit = z->asBool();
    if (!ok)
      return false;
    const json::Value *shape =
        member(v, path, "shape", json::Value::Kind::Array, true, ok);
    if (!ok)
      return false;
    if (shape->items().empty() ||
        shape->items().size() > static_cast<size_t>(kMaxRank))
      return fail(path + ".shape", "rank must be between 1 and " +
                                       std::to_string(kMaxRank));
    for (size_t d = 0; d < shape->items().size(); ++d) {
      Expr e;
      if (!readExpr(k, shape->items()[d],
                    path + ".shape[" + std::to_string(d) + "]", e))
        return false;
      s.shape.push_back(std::move(e));
    }
    var.scratch.push_back(std::move(s));
    return true;
  }

  bool readLaunch(const json::Value &v, const std::string &path,
                  const KernelSpec &k, const VariantSpec &var, LaunchSpec &l) {
    if (!expectKind(v, path, json::Value::Kind::Object) ||
        !checkKeys(v, path,
                   {"entry", "grid", "block", "dynamic_smem_bytes", "cluster",
                    "overlaps_previous", "args"}) ||
        !readString(v, path, "entry", l.entry, true))
      return false;
    if (!isIdentifier(l.entry))
      return fail(path + ".entry",
                  "\"" + l.entry + "\" is not an extern \"C\" identifier");
    bool ok;
    const json::Value *grid =
        member(v, path, "grid", json::Value::Kind::Array, true, ok);
    if (!ok)
      return false;
    if (grid->items().size() != 3)
      return fail(path + ".grid", "expected 3 entries (x, y, z)");
    for (int d = 0; d < 3; ++d)
      if (!readExpr(k, grid->items()[d],
                    path + ".grid[" + std::to_string(d) + "]", l.grid[d]))
        return false;
    if (!readDim3(v, path, "block", true, 1024, l.block))
      return false;
    if (int64_t(l.block[0]) * l.block[1] * l.block[2] > 1024)
      return fail(path + ".block", "more than 1024 threads per block");
    if (v.find("cluster")) {
      l.hasCluster = true;
      if (!readDim3(v, path, "cluster", true, 16, l.cluster))
        return false;
    }
    if (const json::Value *overlap = member(v, path, "overlaps_previous",
                                            json::Value::Kind::Bool, false, ok))
      l.overlapsPrevious = overlap->asBool();
    if (!ok)
      return false;
    if (l.overlapsPrevious && var.launches.empty())
      return fail(path + ".overlaps_previous",
                  "the first launch of a variant has no previous launch to overlap");
    if (const json::Value *smem = v.find("dynamic_smem_bytes"))
      if (!readExpr(k, *smem, path + ".dynamic_smem_bytes",
                    l.dynamicSmemBytes))
        return false;

    const json::Value *args =
        member(v, path, "args", json::Value::Kind::Array, true, ok);
    if (!ok)
      return false;
    for (size_t i = 0; i < args->items().size(); ++i) {
      ArgSpec a;
      std::string apath = path + ".args[" + std::to_string(i) + "]";
      if (!readArg(args->items()[i], apath, k, var, a))
        return false;
      l.args.push_back(std::move(a));
    }
    return true;
  }

  bool readDim3(const json::Value &v, const std::string &path, const char *key,
                bool required, int64_t max, unsigned out[3]) {
    bool ok;
    const json::Value *arr =
        member(v, path, key, json::Value::Kind::Array, required, ok);
    if (!arr)
      return ok;
    std::string kpath = path + "." + key;
    if (arr->items().size() != 3)
      return fail(kpath, "expected 3 integers (x, y, z)");
    for (int d = 0; d < 3; ++d) {
      int64_t x;
      if (!readInt(arr->items()[d], kpath + "[" + std::to_string(d) + "]", 1,
                   max, x))
        return false;
      out[d] = static_cast<unsigned>(x);
    }
    return true;
  }

  bool readArg(const json::Value &v, const std::string &path,
               const KernelSpec &k, const VariantSpec &var, ArgSpec &a) {
    if (!expectKind(v, path, json::Value::Kind::Object))
      return false;
    if (!checkKeys(v, path,
                   {"tensor", "scratch", "symbol", "scalar", "expr", "float",
                    "int", "tensor_map"}))
      return false;
    const std::pair<std::string, json::Value> *kind = nullptr;
    for (const auto &m : v.members()) {
      if (m.first.compare(0, 2, "x_") == 0)
        continue;
      if (kind)
        return fail(path, "an arg has exactly one of tensor, scratch, "
                          "symbol, scalar, expr, float, int, tensor_map");
      kind = &m;
    }
    if (!kind)
      return fail(path, "an arg needs one of tensor, scratch, symbol, "
                        "scalar, expr, float, int, tensor_map");
    const std::string &key = kind->first;
    const json::Value &value = kind->second;
    std::string kpath = path + "." + key;
    auto nameOf = [&](std::string &out) {
      if (!expectKind(value, kpath, json::Value::Kind::String))
        return false;
      out = value.asString();
      return true;
    };
    std::string name;
    if (key == "tensor") {
      if (!nameOf(name))
        return false;
      a.kind = ArgSpec::Kind::Tensor;
      for (size_t i = 0; i < k.params.size(); ++i)
        if (k.params[i].name == name)
          a.index = static_cast<int>(i);
      if (a.index < 0)
        return fail(kpath, "no param named \"" + name + "\"");
    } else if (key == "scratch") {
      if (!nameOf(name))
        return false;
      a.kind = ArgSpec::Kind::Scratch;
      for (size_t i = 0; i < var.scratch.size(); ++i)
        if (var.scratch[i].name == name)
          a.index = static_cast<int>(i);
      if (a.index < 0)
        return fail(kpath, "no scratch buffer named \"" + name +
                               "\" in this variant");
    } else if (key == "symbol") {
      if (!nameOf(name))
        return false;
      a.kind = ArgSpec::Kind::Symbol;
      for (size_t i = 0; i < k.symbols.size(); ++i)
        if (k.symbols[i].name == name)
          a.index = static_cast<int>(i);
      if (a.index < 0)
        return fail(kpath, "no symbol named \"" + name + "\"");
    } else if (key == "scalar") {
      if (!nameOf(name))
        return false;
      a.kind = ArgSpec::Kind::Scalar;
      for (size_t i = 0; i < k.scalars.size(); ++i)
        if (k.scalars[i].name == name)
          a.index = static_cast<int>(i);
      if (a.index < 0)
        return fail(kpath, "no scalar named \"" + name + "\"");
    } else if (key == "tensor_map") {
      // {"tensor": NAME | "scratch": NAME, "box_rows": R, "box_cols": C,
      // "swizzle": 128}: a TMA map of a 16-bit param or scratch buffer of
      // this variant (runtime/TensorMaps.h).
      a.kind = ArgSpec::Kind::TensorMap;
      if (!expectKind(value, kpath, json::Value::Kind::Object) ||
          !checkKeys(value, kpath,
                     {"tensor", "scratch", "box_rows", "box_cols", "swizzle"}))
        return false;
      const json::Value *tensor = value.find("tensor");
      const json::Value *scratch = value.find("scratch");
      const json::Value *rows = value.find("box_rows");
      const json::Value *cols = value.find("box_cols");
      const json::Value *swizzle = value.find("swizzle");
      if (tensor && scratch)
        return fail(kpath, "a tensor_map has one of tensor and scratch, not both");
      if (!tensor && !scratch)
        return fail(kpath, "a tensor_map needs tensor (a param) or scratch (a "
                           "scratch buffer of this variant)");
      if (!rows || !cols || !swizzle)
        return fail(kpath, "a tensor_map needs box_rows, box_cols and swizzle");
      DType dtype = DType::None;
      size_t rank = 0;
      if (tensor) {
        if (!expectKind(*tensor, kpath + ".tensor", json::Value::Kind::String))
          return false;
        for (size_t i = 0; i < k.params.size(); ++i)
          if (k.params[i].name == tensor->asString())
            a.index = static_cast<int>(i);
        if (a.index < 0)
          return fail(kpath + ".tensor",
                      "no param named \"" + tensor->asString() + "\"");
        dtype = k.params[a.index].dtype;
        rank = k.params[a.index].shape.size();
      } else {
        if (!expectKind(*scratch, kpath + ".scratch", json::Value::Kind::String))
          return false;
        a.mapsScratch = true;
        for (size_t i = 0; i < var.scratch.size(); ++i)
          if (var.scratch[i].name == scratch->asString())
            a.index = static_cast<int>(i);
        if (a.index < 0)
          return fail(kpath + ".scratch", "no scratch buffer named \"" +
                                              scratch->asString() +
                                              "\" in this variant");
        dtype = var.scratch[a.index].dtype;
        rank = var.scratch[a.index].shape.size();
      }
      const std::string what = tensor ? "param" : "scratch buffer";
      const std::string wpath = kpath + (tensor ? ".tensor" : ".scratch");
      if (dtype != DType::BF16 && dtype != DType::F16)
        return fail(wpath, "a tensor map covers a bf16 or f16 " + what);
      if (rank < 2 || rank > 5)
        return fail(wpath, "a tensor map covers a " + what + " of 2 to 5 dims");
      int64_t r = 0, c = 0, sw = 0;
      if (!readInt(*rows, kpath + ".box_rows", 1, 256, r) ||
          !readInt(*cols, kpath + ".box_cols", 1, 256, c) ||
          !readInt(*swizzle, kpath + ".swizzle", 128, 128, sw))
        return false;
      if (c * 2 > sw)
        return fail(kpath + ".box_cols", "a box row of " + std::to_string(c * 2) +
                                             " bytes exceeds the " + std::to_string(sw) +
                                             "-byte swizzle");
      a.boxRows = static_cast<int>(r);
      a.boxCols = static_cast<int>(c);
      a.swizzleBytes = static_cast<int>(sw);
    } else if (key == "expr") {
      a.kind = ArgSpec::Kind::Expr;
      if (!readExpr(k, value, kpath, a.expr))
        return false;
    } else if (key == "float") {
      a.kind = ArgSpec::Kind::Float;
      if (!expectKind(value, kpath, json::Value::Kind::Number))
        return false;
      a.floatValue = value.asDouble();
    } else { // int
      a.kind = ArgSpec::Kind::Int;
      if (!readInt(value, kpath, INT32_MIN, INT32_MAX, a.intValue))
        return false;
    }
    return true;
  }
};

} // namespace

bool readManifest(const json::Value &root, Manifest &out, std::string &error) {
  ManifestReader reader;
  Manifest m;
  if (!reader.readRoot(root, m)) {
    error = reader.error;
    return false;
  }
  // Packed parameters must fit the driver's limit.
  for (size_t ki = 0; ki < m.kernels.size(); ++ki) {
    const KernelSpec &k = m.kernels[ki];
    for (size_t vi = 0; vi < k.variants.size(); ++vi)
      for (size_t li = 0; li < k.variants[vi].launches.size(); ++li) {
        ParamLayout layout = layoutLaunchParams(k, k.variants[vi],
                                                k.variants[vi].launches[li]);
        if (layout.totalBytes > kMaxParamBytes) {
          error = "kernels[" + std::to_string(ki) + "].variants[" +
                  std::to_string(vi) + "].launches[" + std::to_string(li) +
                  "].args: " + std::to_string(layout.totalBytes) +
                  " bytes of kernel parameters exceed the limit of " +
                  std::to_string(kMaxParamBytes);
          return false;
        }
      }
  }
  out = std::move(m);
  return true;
}

bool parseManifest(const std::string &text, Manifest &out,
                   std::string &error) {
  json::Value root;
  std::string err;
  if (!json::parse(text, root, err)) {
    error = "manifest.json is not valid JSON: " + err;
    return false;
  }
  if (!readManifest(root, out, err)) {
    error = "manifest.json: " + err;
    return false;
  }
  return true;
}

} // namespace flashgen
