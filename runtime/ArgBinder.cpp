//===- ArgBinder.cpp - Check launch arguments against a kernel ------------===//

#include "runtime/ArgBinder.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace flashgen {

namespace {

Status invalid(std::string message) {
  return Status(StatusCode::InvalidArgument, std::move(message));
}

std::string shapeText(const ParamSpec &p) {
  std::string s = "[";
  for (size_t d = 0; d < p.shape.size(); ++d)
    s += (d ? ", " : "") + p.shape[d].text;
  return s + "]";
}

std::string paramList(const KernelSpec &k) {
  std::string s;
  for (size_t i = 0; i < k.params.size(); ++i)
    s += (i ? ", " : "") + k.params[i].name;
  return s;
}

std::string pointerText(const void *p) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%p", p);
  return buf;
}

bool fitsInt32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/// Where a symbol got its value, for messages.
struct BindSite {
  int param = -1;
  int dim = -1;
};

bool hasZeroSize(const TensorArg &t) {
  if (!t.sizes || t.rank <= 0 || t.rank > kMaxRank)
    return false;
  for (int d = 0; d < t.rank; ++d)
    if (t.sizes[d] == 0)
      return true;
  return false;
}

/// The last byte an argument addresses plus one, from its data pointer.
struct Span {
  uintptr_t begin = 0, end = 0;
  bool overlaps(const Span &o) const { return begin < o.end && o.begin < end; }
};

/// Whether two elements of an output land on one address: strides sorted
/// ascending must each step past everything the smaller ones reach.
bool selfOverlaps(const int64_t *sizes, const int64_t *strides, int rank) {
  int order[kMaxRank];
  int n = 0;
  for (int d = 0; d < rank; ++d)
    if (sizes[d] > 1)
      order[n++] = d;
  std::sort(order, order + n,
            [&](int a, int b) { return strides[a] < strides[b]; });
  uint64_t reach = 1; // elements covered by the dims so far
  for (int k = 0; k < n; ++k) {
    const int d = order[k];
    if (static_cast<uint64_t>(strides[d]) < reach)
      return true;
    reach = static_cast<uint64_t>(strides[d]) *
                static_cast<uint64_t>(sizes[d] - 1) +
            reach; // bounded by the extent, checked for overflow before
  }
  return false;
}

} // namespace

bool outputsAreEmpty(const KernelSpec &kernel, const TensorArg *tensors,
                     size_t numTensors) {
  if (!tensors || numTensors != kernel.params.size())
    return false;
  bool anyOutput = false;
  for (size_t i = 0; i < numTensors; ++i) {
    if (kernel.params[i].io == ParamIo::In)
      continue;
    const TensorArg &t = tensors[i];
    if (!t.data && !hasZeroSize(t) && kernel.params[i].optional)
      continue; // an absent optional output
    if (!hasZeroSize(t))
      return false;
    anyOutput = true;
  }
  return anyOutput;
}

Status bindArguments(const KernelSpec &kernel, const VariantSpec &variant,
                     const TensorArg *tensors, size_t numTensors,
                     const ScalarArg *scalars, size_t numScalars,
                     const DeviceLimits &limits, BoundArgs &out) {
  const size_t numParams = kernel.params.size();
  if (numTensors != numParams)
    return invalid("kernel " + kernel.name + " takes " +
                   std::to_string(numParams) + " tensors (" +
                   paramList(kernel) + "), got " + std::to_string(numTensors));
  if (numTensors > 0 && !tensors)
    return invalid("tensors: null array");

  BindSite sites[kMaxSlots];
  bool bound[kMaxSlots] = {};
  out.noop = outputsAreEmpty(kernel, tensors, numTensors);
  out.slots[kernel.multiprocessorsSlot()] = limits.multiprocessors > 0 ? limits.multiprocessors : 1;

  // Steps 1 and 2: per tensor, then binding of symbols across tensors.
  for (size_t i = 0; i < numParams; ++i) {
    const ParamSpec &p = kernel.params[i];
    const TensorArg &t = tensors[i];
    const int rank = static_cast<int>(p.shape.size());
    // An empty tensor may come with a null pointer (PyTorch's do).
    const bool emptyWithoutData = !t.data && !p.optional && hasZeroSize(t);
    if (!t.data && !emptyWithoutData) {
      if (!p.optional)
        return invalid(p.name + ": null data pointer");
      out.tensorData[i] = nullptr;
      out.tensorExtentBytes[i] = 0;
      for (int d = 0; d < rank; ++d)
        out.tensorStrides[i][d] = 0;
      continue;
    }
    if (t.dtype != p.dtype)
      return invalid(p.name + ": dtype is " + dtypeName(t.dtype) +
                     ", expected " + dtypeName(p.dtype));
    if (t.rank != rank)
      return invalid(p.name + ": rank is " + std::to_string(t.rank) +
                     ", expected " + std::to_string(rank) + " (shape " +
                     shapeText(p) + ")");
    if (!t.sizes)
      return invalid(p.name + ": null sizes array");
    if (t.data && reinterpret_cast<uintptr_t>(t.data) %
                          static_cast<uintptr_t>(p.pointerAlign) !=
                      0)
      return invalid(p.name + ": data pointer " + pointerText(t.data) +
                     " is not " + std::to_string(p.pointerAlign) +
                     "-byte aligned");

    // Contiguous row-major strides when the caller passes none.
    int64_t strides[kMaxRank];
    if (t.strides) {
      for (int d = 0; d < rank; ++d)
        strides[d] = t.strides[d];
    } else {
      int64_t s = 1;
      for (int d = rank - 1; d >= 0; --d) {
        strides[d] = s;
        if (t.sizes[d] > 0 && __builtin_mul_overflow(s, t.sizes[d], &s))
          return invalid(p.name + ": size overflows 64 bits");
      }
    }

    // An empty tensor addresses no memory; PyTorch gives it zero strides,
    // so only its sizes are checked (a zero symbol is then reported as out
    // of range below).
    bool empty = false;
    for (int d = 0; d < rank; ++d)
      empty |= t.sizes[d] == 0;
    uint64_t lastElement = 0; // in elements
    for (int d = 0; d < rank; ++d) {
      const DimSpec &ds = p.shape[d];
      const int64_t size = t.sizes[d];
      if (size < 0)
        return invalid(p.name + ": dim " + std::to_string(d) + " has size " +
                       std::to_string(size));
      switch (ds.kind) {
      case DimSpec::Kind::Static:
        if (size != ds.value)
          return invalid(p.name + ": dim " + std::to_string(d) + " is " +
                         std::to_string(size) + ", expected " +
                         std::to_string(ds.value) + " (shape " + shapeText(p) +
                         ")");
        break;
      case DimSpec::Kind::Symbol: {
        const int slot = ds.slot;
        if (!bound[slot]) {
          bound[slot] = true;
          out.slots[slot] = size;
          sites[slot] = {static_cast<int>(i), d};
        } else if (out.slots[slot] != size) {
          const BindSite &s = sites[slot];
          return invalid(p.name + ": dim " + std::to_string(d) + " (" +
                         ds.text + ") is " + std::to_string(size) + " but " +
                         kernel.params[s.param].name + " dim " +
                         std::to_string(s.dim) + " bound " + ds.text + "=" +
                         std::to_string(out.slots[slot]));
        }
        break;
      }
      case DimSpec::Kind::Derived:
        break; // checked once all symbols and scalars are bound
      }

      int64_t stride = strides[d];
      if (empty) {
        out.tensorStrides[i][d] = stride < 0 ? 0 : stride;
        continue;
      }
      if (stride < 0)
        return invalid(p.name + ": stride " + std::to_string(d) + " is " +
                       std::to_string(stride) + " (negative strides are not "
                                                "supported)");
      // A strided_last_dim param's last dim is checked as the outer dims
      // are: its kernels step it by its stride.
      if (d == rank - 1 && !p.stridedLastDim) {
        if (size > 1 && stride != 1)
          return invalid(p.name + ": the last dim must be contiguous (stride "
                                  "1), got stride " +
                         std::to_string(stride));
        stride = 1; // a last dim of size 1 may come with any stride
      } else if (size > 1) {
        if (stride == 0 && p.io != ParamIo::In)
          return invalid(p.name + ": stride " + std::to_string(d) +
                         " is 0 on a dim of size " + std::to_string(size) +
                         "; an output cannot be broadcast");
        if (stride % p.strideAlign != 0)
          return invalid(p.name + ": stride " + std::to_string(d) + " is " +
                         std::to_string(stride) + ", not a multiple of " +
                         std::to_string(p.strideAlign) + " elements");
      }
      out.tensorStrides[i][d] = stride;
      uint64_t span;
      if (__builtin_mul_overflow(static_cast<uint64_t>(size - 1),
                                 static_cast<uint64_t>(stride), &span) ||
          __builtin_add_overflow(lastElement, span, &lastElement))
        return invalid(p.name + ": extent overflows 64 bits");
    }
    out.tensorData[i] = t.data;
    uint64_t extent = 0;
    if (!empty &&
        (__builtin_add_overflow(lastElement, 1, &extent) ||
         __builtin_mul_overflow(extent, dtypeSize(p.dtype), &extent)))
      return invalid(p.name + ": extent overflows 64 bits");
    out.tensorExtentBytes[i] = extent;
    if (p.io != ParamIo::In && !empty &&
        selfOverlaps(t.sizes, out.tensorStrides[i], rank))
      return invalid(p.name + ": strides make two elements of this output "
                              "share memory");
  }

  if (out.noop) {
    out.workspaceBytes = 0;
    return Status::success();
  }

  // Symbol ranges: sizes reach kernels as int.
  for (size_t s = 0; s < kernel.symbols.size(); ++s) {
    const SymbolSpec &sym = kernel.symbols[s];
    if (!bound[s]) // only when every binding param was optional and absent
      return invalid("symbol " + sym.name +
                     " is not bound by any tensor passed");
    int64_t v = out.slots[s];
    if (v < sym.min || v > sym.max) {
      const BindSite &site = sites[s];
      return invalid(sym.name + " = " + std::to_string(v) + " (" +
                     kernel.params[site.param].name + " dim " +
                     std::to_string(site.dim) + ") is out of range [" +
                     std::to_string(sym.min) + ", " + std::to_string(sym.max) +
                     "]");
    }
  }

  // Step 3a: scalars.
  if (numScalars > kernel.scalars.size())
    return invalid("kernel " + kernel.name + " takes " +
                   std::to_string(kernel.scalars.size()) + " scalars, got " +
                   std::to_string(numScalars));
  for (size_t i = 0; i < kernel.scalars.size(); ++i) {
    const ScalarSpec &s = kernel.scalars[i];
    const int slot = kernel.scalarSlot(static_cast<int>(i));
    const ScalarArg *a =
        i < numScalars && scalars && scalars[i].dtype != DType::None
            ? &scalars[i]
            : nullptr;
    if (!s.isInteger()) {
      double v;
      if (a) {
        if (a->dtype != DType::F32 && a->dtype != DType::F64)
          return invalid("scalar " + s.name + ": expected a float (f32), got " +
                         dtypeName(a->dtype));
        v = a->f;
      } else if (s.hasDefault) {
        v = s.defaultFloat;
      } else {
        return invalid("scalar " + s.name + " has no default; pass a value");
      }
      if (!std::isfinite(v))
        return invalid("scalar " + s.name + " is not finite");
      if ((s.hasMin && v < s.minFloat) || (s.hasMax && v > s.maxFloat))
        return invalid("scalar " + s.name + " = " + std::to_string(v) +
                       " is out of range");
      out.scalarFloat[i] = static_cast<float>(v);
      out.slots[slot] = 0;
      continue;
    }
    int64_t v;
    if (a) {
      if (a->dtype != DType::I32 && a->dtype != DType::I64)
        return invalid("scalar " + s.name + ": expected an integer (" +
                       dtypeName(s.dtype) + "), got " + dtypeName(a->dtype));
      v = a->i;
    } else if (s.hasDefault) {
      v = s.defaultInt;
    } else {
      return invalid("scalar " + s.name + " has no default; pass a value");
    }
    if (s.dtype == DType::I32 && !fitsInt32(v))
      return invalid("scalar " + s.name + " = " + std::to_string(v) +
                     " does not fit in i32");
    if ((s.hasMin && v < s.minInt) || (s.hasMax && v > s.maxInt))
      return invalid("scalar " + s.name + " = " + std::to_string(v) +
                     " is out of range [" +
                     (s.hasMin ? std::to_string(s.minInt) : "-inf") + ", " +
                     (s.hasMax ? std::to_string(s.maxInt) : "inf") + "]");
    out.slots[slot] = v;
    out.scalarFloat[i] = 0.0f;
  }

  // Step 2, continued: derived dims ("B+1") now that all names are bound.
  for (size_t i = 0; i < numParams; ++i) {
    const ParamSpec &p = kernel.params[i];
    if (!tensors[i].data)
      continue;
    for (size_t d = 0; d < p.shape.size(); ++d) {
      const DimSpec &ds = p.shape[d];
      if (ds.kind != DimSpec::Kind::Derived)
        continue;
      int64_t expected;
      ExprError e = ds.expr.evaluate(out.slots, expected);
      if (e != ExprError::None)
        return invalid(p.name + ": dim " + std::to_string(d) + " (" + ds.text +
                       "): " + exprErrorText(e));
      if (tensors[i].sizes[d] != expected)
        return invalid(p.name + ": dim " + std::to_string(d) + " is " +
                       std::to_string(tensors[i].sizes[d]) + ", expected " +
                       ds.text + " = " + std::to_string(expected));
    }
  }

  // Step 3b: constraints.
  for (const Constraint &c : kernel.constraints) {
    bool holds;
    int64_t lhs, rhs;
    ExprError e = c.evaluate(out.slots, holds, lhs, rhs);
    if (e != ExprError::None)
      return invalid("constraint \"" + c.text + "\": " + exprErrorText(e));
    if (!holds) {
      std::string values;
      for (int slot : c.lhs.slotsUsed())
        values += (values.empty() ? "" : ", ") + kernel.slotName(slot) + "=" +
                  std::to_string(out.slots[slot]);
      for (int slot : c.rhs.slotsUsed()) {
        std::string item = kernel.slotName(slot) + "=" +
                           std::to_string(out.slots[slot]);
        if (values.find(item) == std::string::npos)
          values += (values.empty() ? "" : ", ") + item;
      }
      return invalid("constraint \"" + c.text + "\" does not hold (" + values +
                     ")");
    }
  }

  // Step 5 (sizes): scratch layout in the workspace.
  uint64_t offset = 0;
  for (size_t s = 0; s < variant.scratch.size(); ++s) {
    const ScratchSpec &sc = variant.scratch[s];
    int64_t dims[kMaxRank];
    uint64_t elements = 1;
    for (size_t d = 0; d < sc.shape.size(); ++d) {
      ExprError e = sc.shape[d].evaluate(out.slots, dims[d]);
      if (e != ExprError::None || dims[d] < 0)
        return invalid("scratch " + sc.name + ": dim " + std::to_string(d) +
                       " (" + sc.shape[d].text() + ") " +
                       (e != ExprError::None ? exprErrorText(e)
                                             : "is negative"));
      if (__builtin_mul_overflow(elements, static_cast<uint64_t>(dims[d]),
                                 &elements))
        return invalid("scratch " + sc.name + ": size overflows 64 bits");
    }
    int64_t stride = 1;
    for (int d = static_cast<int>(sc.shape.size()) - 1; d >= 0; --d) {
      out.scratchDims[s][d] = dims[d];
      out.scratchStrides[s][d] = stride;
      stride *= dims[d] > 0 ? dims[d] : 1; // bounded by `elements`
    }
    uint64_t bytes;
    if (__builtin_mul_overflow(elements, dtypeSize(sc.dtype), &bytes))
      return invalid("scratch " + sc.name + ": size overflows 64 bits");
    offset = (offset + kScratchAlignment - 1) / kScratchAlignment *
             kScratchAlignment;
    out.scratchOffset[s] = offset;
    out.scratchBytes[s] = bytes;
    if (__builtin_add_overflow(offset, bytes, &offset))
      return invalid("scratch " + sc.name + ": workspace size overflows");
  }
  out.workspaceBytes = offset;

  // Step 4: launch geometry.
  for (size_t li = 0; li < variant.launches.size(); ++li) {
    const LaunchSpec &l = variant.launches[li];
    // Built only on failure: the success path must not allocate.
    auto where = [&] {
      return "launch " + std::to_string(li) + " (" + l.entry + ")";
    };
    static const char *const kAxis[3] = {"x", "y", "z"};
    static const int64_t kMaxGrid[3] = {2147483647, 65535, 65535};
    for (int d = 0; d < 3; ++d) {
      int64_t g;
      ExprError e = l.grid[d].evaluate(out.slots, g);
      if (e != ExprError::None)
        return invalid(where() + ": grid." + kAxis[d] + " (" +
                       l.grid[d].text() + "): " + exprErrorText(e));
      if (g < 1 || g > kMaxGrid[d])
        return invalid(where() + ": grid." + kAxis[d] + " = " + l.grid[d].text() +
                       " = " + std::to_string(g) + " is outside [1, " +
                       std::to_string(kMaxGrid[d]) + "]");
      if (l.hasCluster && g % l.cluster[d] != 0)
        return invalid(where() + ": grid." + kAxis[d] + " = " +
                       std::to_string(g) + " is not a multiple of the cluster "
                                           "dim " +
                       std::to_string(l.cluster[d]));
      out.launches[li].grid[d] = static_cast<unsigned>(g);
    }
    int64_t smem;
    ExprError e = l.dynamicSmemBytes.evaluate(out.slots, smem);
    if (e != ExprError::None)
      return invalid(where() + ": dynamic_smem_bytes (" +
                     l.dynamicSmemBytes.text() + "): " + exprErrorText(e));
    if (smem < 0 || smem > 0x7fffffff)
      return invalid(where() + ": dynamic_smem_bytes = " + std::to_string(smem) +
                     " is out of range");
    if (limits.maxDynamicSharedBytes &&
        smem > limits.maxDynamicSharedBytes[li])
      return Status(StatusCode::OutOfResources,
                    where() + " needs " + std::to_string(smem) +
                        " bytes of dynamic shared memory; the " + limits.arch +
                        " device " + std::to_string(limits.ordinal) +
                        " allows " +
                        std::to_string(limits.maxDynamicSharedBytes[li]) +
                        " (its opt-in maximum minus the entry's static shared "
                        "memory)");
    out.launches[li].dynamicSmemBytes = static_cast<unsigned>(smem);
    for (size_t ai = 0; ai < l.args.size(); ++ai) {
      if (l.args[ai].kind != ArgSpec::Kind::Expr)
        continue;
      int64_t v;
      ExprError ae = l.args[ai].expr.evaluate(out.slots, v);
      if (ae != ExprError::None || !fitsInt32(v))
        return invalid(where() + ": arg " + std::to_string(ai) + " (" +
                       l.args[ai].expr.text() + ") " +
                       (ae != ExprError::None
                            ? exprErrorText(ae)
                            : "= " + std::to_string(v) +
                                  " does not fit in int"));
    }
  }

  // Outputs may share no byte with any other argument: the kernels read
  // inputs while they write outputs, in no order that would make an
  // in-place launch safe (inputs may overlap each other).
  for (size_t i = 0; i < numParams; ++i) {
    if (kernel.params[i].io == ParamIo::In || out.tensorExtentBytes[i] == 0)
      continue;
    const uintptr_t at = reinterpret_cast<uintptr_t>(out.tensorData[i]);
    const Span mine{at, at + out.tensorExtentBytes[i]};
    for (size_t j = 0; j < numParams; ++j) {
      if (j == i || out.tensorExtentBytes[j] == 0)
        continue;
      const uintptr_t other = reinterpret_cast<uintptr_t>(out.tensorData[j]);
      // An output the manifest lets be one input (may_alias) may be it
      // exactly: same pointer, same strides, never another view of it.
      if (kernel.params[i].mayAlias == static_cast<int>(j) && other == at &&
          std::equal(out.tensorStrides[i],
                     out.tensorStrides[i] + kernel.params[i].shape.size(),
                     out.tensorStrides[j]))
        continue;
      if (mine.overlaps(Span{other, other + out.tensorExtentBytes[j]}))
        return invalid(kernel.params[i].name + ": output memory overlaps " +
                       kernel.params[j].name +
                       (kernel.params[i].mayAlias == static_cast<int>(j)
                            ? " (it may be " + kernel.params[j].name +
                                  " itself, with the same strides, but no "
                                  "other view of it)"
                            : std::string(" (outputs may not alias or "
                                          "overlap any other argument)")));
    }
  }
  return Status::success();
}

Status checkWorkspace(const BoundArgs &bound, const void *workspace,
                      size_t workspaceBytes) {
  if (!workspace)
    return invalid("workspace: null pointer with workspaceBytes " +
                   std::to_string(workspaceBytes));
  if (reinterpret_cast<uintptr_t>(workspace) % 16 != 0)
    return invalid("workspace: pointer " + pointerText(workspace) +
                   " is not 16-byte aligned");
  if (workspaceBytes < bound.workspaceBytes)
    return invalid("workspace: " + std::to_string(workspaceBytes) +
                   " bytes given, these sizes need " +
                   std::to_string(bound.workspaceBytes));
  return Status::success();
}

} // namespace flashgen
