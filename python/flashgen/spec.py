"""Specs from Python: ``flash.attention`` written with FlexAttention-style
``score_mod`` / ``mask_mod`` functions, traced into the MLIR text that
``flashgen compile`` and ``flashgen-ref`` read (docs/semantics.md §2).

    from flashgen import spec

    def softcap(score, b, h, q_idx, kv_idx):
        return 30.0 * spec.tanh(score / 30.0)

    text = spec.attention("softcap", q_heads=16, kv_heads=16, head_dim=128,
                          score_mod=softcap)
    open("softcap.mlir", "w").write(text)      # flashgen compile softcap.mlir

The functions run once, on symbolic values: ``score`` is an f32, the four
indices are integers (MLIR ``index``). Arithmetic, comparisons, ``//``,
``%``, ``&``, ``|``, ``~`` and the functions below record arith/math ops;
Python numbers become constants. An index used where a float is needed is
converted (``arith.index_cast`` to i64, then ``arith.sitofp``). What cannot be
traced (a Python ``if`` on a symbolic value, an unknown function) raises
``SpecError`` naming it. Pure Python: no compiler, no torch.

Extras: the functions may read tensors and run-time scalars that the kernel
takes at launch besides q, k and v (docs/semantics.md §2.7):

    doc = spec.tensor("doc", ("B", "N"), "int32")   # document id per token
    bias = spec.tensor("bias", (16, 64), "float32") # static sizes: ints
    prefix = spec.scalar("prefix", "int32")         # a number at each launch

    def document(b, h, q_idx, kv_idx):
        return (doc[b, q_idx] == doc[b, kv_idx]) | (kv_idx < prefix)

    text = spec.attention("doc_mask", q_heads=16, head_dim=128, mask="causal",
                          mask_mod=document,
                          score_mod=lambda s, b, h, i, j: s + bias[h, i - j])

``spec.tensor(name, shape, dtype="int32")``: ``shape`` holds ints (static
sizes) and names of ``attention``'s ``dims`` (dynamic sizes, bound by q, k,
v: "B", "N" with the default dims); ``dtype`` is "int32", "int64" or
"float32" (or "i32", "i64", "f32"). Indexing it in a function with one
index per dim (traced indices, Python ints, or traced integers such as
another tensor's element) reads one element (``tensor.extract``); an index
outside ``[0, size)`` is clamped to the nearest end. ``spec.scalar(name,
dtype="int32")`` is used like a number. Names are lower case identifiers,
unique, and neither q, k, v, o, lse, do, dq, dk, dv nor a dims name; they are
what the kernel's manifest (and ``flashgen.torch``'s keywords) call them.

``attention(..., extras=[doc, bias, prefix])`` fixes the order of the
extras (the func arguments after q, k, v, and the regions' block arguments
after their own); without ``extras=`` they are the ones the functions read,
in the order first read. Integer values (i32, i64) mix with indices and
with each other by ``arith.index_cast`` to ``index``, become floats by
``arith.sitofp``, and keep their own type (``arith.cmpi ... : i32``, Python
numbers as i32 constants) when both sides share it. ``spec.tensor`` and
``spec.scalar`` return :class:`Tensor` and :class:`Scalar` objects.

``spec.delta_rule(name, heads=, key_dim=, ...)`` writes a ``flash.delta_rule``
(DeltaNet, gated DeltaNet; docs/semantics.md §7) the same way; it has no
regions to trace.
"""

import math
import re

__all__ = ["attention", "delta_rule", "tensor", "scalar", "Tensor", "Scalar",
           "tanh", "exp", "exp2", "log", "log2", "sqrt", "abs", "maximum",
           "minimum", "where", "SpecError"]


class SpecError(ValueError):
    """A score_mod / mask_mod that cannot become a region, or a bad shape."""


F32, INDEX, I1, I32, I64 = "f32", "index", "i1", "i32", "i64"
_INTS = (INDEX, I32, I64)
_INT_RANGE = {I32: (-(1 << 31), (1 << 31) - 1), I64: (-(1 << 63), (1 << 63) - 1)}

# The region being traced (attention() traces one function at a time); an
# extra read in a function finds its region here.
_tracing = []


class _Region:
    """The ops of one region being traced, in order."""

    def __init__(self, args, what):
        self.lines = []
        self.count = 0
        self.args = args  # [(name, type)]
        self.what = what  # "score_mod" / "mask_mod"
        self.used = {}    # extra name -> the extra, in the order first read
        self.scalars = {}  # extra name -> its value, read once per region

    def fresh(self):
        self.count += 1
        return "%%v%d" % self.count

    def emit(self, text, type_):
        name = self.fresh()
        self.lines.append("%s = %s" % (name, text))
        return _Value(self, name, type_)

    def const(self, x, type_):
        if type_ == F32:
            lit = repr(float(x))
            if lit in ("inf", "-inf", "nan"):
                bits = {"inf": "0x7F800000", "-inf": "0xFF800000",
                        "nan": "0x7FC00000"}[lit]
                return self.emit("arith.constant %s : f32" % bits, F32)
            if "e" not in lit and "." not in lit:
                lit += ".0"
            return self.emit("arith.constant %s : f32" % lit, F32)
        if type_ == I1:
            return self.emit("arith.constant %s" % ("true" if x else "false"), I1)
        if type_ in _INT_RANGE:
            lo, hi = _INT_RANGE[type_]
            if not lo <= int(x) <= hi:
                raise SpecError("%s: the constant %d does not fit in %s"
                                % (self.what, int(x), type_))
            return self.emit("arith.constant %d : %s" % (int(x), type_), type_)
        return self.emit("arith.constant %d : index" % int(x), INDEX)

    def use(self, extra):
        """Records that this region reads ``extra``."""
        seen = self.used.get(extra.name)
        if seen is not None and seen is not extra:
            raise SpecError("%s reads two different extras named %r"
                            % (self.what, extra.name))
        self.used[extra.name] = extra


def _region_of(what):
    if not _tracing:
        raise SpecError("%s is read outside a score_mod / mask_mod / output_mod / feature_map "
                        "(extras exist only while spec.attention or "
                        "spec.linear_attention traces them)" % what)
    return _tracing[-1]


class _Value:
    """A traced value: an SSA name in a region, with its MLIR type."""

    def __init__(self, region, name, type_):
        self.region, self.name, self.type = region, name, type_

    # -- conversions ------------------------------------------------------
    def _lift(self, other, want=None):
        if isinstance(other, Scalar):
            other = other._value()
        if isinstance(other, _Value):
            if other.region is not self.region:
                raise SpecError("a value from another region")
            return other
        if isinstance(other, Tensor):
            raise SpecError("%s is a tensor: read an element (%s[...])"
                            % (other.name, other.name))
        if isinstance(other, bool):
            return self.region.const(other, I1)
        if isinstance(other, int) and want != F32 and self.type != F32:
            return self.region.const(other, self.type if self.type in _INT_RANGE
                                     else INDEX)
        if isinstance(other, (int, float)):
            return self.region.const(other, F32)
        raise SpecError("cannot trace a %s in a region" % type(other).__name__)

    def _as_float(self):
        if self.type == F32:
            return self
        if self.type == INDEX:
            i = self.region.emit("arith.index_cast %s : index to i64" % self.name, I64)
            return self.region.emit("arith.sitofp %s : i64 to f32" % i.name, F32)
        if self.type in (I32, I64):
            return self.region.emit("arith.sitofp %s : %s to f32"
                                    % (self.name, self.type), F32)
        raise SpecError("a boolean used as a number; use spec.where(cond, a, b)")

    def _as_index(self, what="an index"):
        if self.type == INDEX:
            return self
        if self.type in (I32, I64):
            return self.region.emit("arith.index_cast %s : %s to index"
                                    % (self.name, self.type), INDEX)
        raise SpecError("%s is a %s, not an integer"
                        % (what, "float" if self.type == F32 else "boolean"))

    def _unify(self, other):
        """Two integers in one type: their own when they share it, else
        both cast to index."""
        if self.type == other.type:
            return self, other
        return self._as_index(), other._as_index()

    def _binary(self, other, float_op, int_op, swap=False):
        other = self._lift(other)
        a, b = (other, self) if swap else (self, other)
        if a.type in _INTS and b.type in _INTS and int_op:
            a, b = a._unify(b)
            return a.region.emit("arith.%s %s, %s : %s"
                                 % (int_op, a.name, b.name, a.type), a.type)
        if float_op is None:
            raise SpecError("this operator takes integers (indices) only")
        a, b = a._as_float(), b._as_float()
        return a.region.emit("arith.%s %s, %s : f32" % (float_op, a.name, b.name), F32)

    def __add__(self, o): return self._binary(o, "addf", "addi")
    def __radd__(self, o): return self._binary(o, "addf", "addi", True)
    def __sub__(self, o): return self._binary(o, "subf", "subi")
    def __rsub__(self, o): return self._binary(o, "subf", "subi", True)
    def __mul__(self, o): return self._binary(o, "mulf", "muli")
    def __rmul__(self, o): return self._binary(o, "mulf", "muli", True)

    def __truediv__(self, o):
        return self._as_float()._binary(o, "divf", None)

    def __rtruediv__(self, o):
        return self._as_float()._binary(o, "divf", None, True)

    def __floordiv__(self, o): return self._binary(o, None, "floordivsi")
    def __rfloordiv__(self, o): return self._binary(o, None, "floordivsi", True)
    def __mod__(self, o): return self._binary(o, None, "remsi")
    def __rmod__(self, o): return self._binary(o, None, "remsi", True)

    def __neg__(self):
        if self.type == F32:
            return self.region.emit("arith.negf %s : f32" % self.name, F32)
        return 0 - self

    def _compare(self, other, fpred, ipred):
        other = self._lift(other)
        if self.type in _INTS and other.type in _INTS:
            a, b = self._unify(other)
            return self.region.emit("arith.cmpi %s, %s, %s : %s"
                                    % (ipred, a.name, b.name, a.type), I1)
        a, b = self._as_float(), other._as_float()
        return self.region.emit("arith.cmpf %s, %s, %s : f32"
                                % (fpred, a.name, b.name), I1)

    def __lt__(self, o): return self._compare(o, "olt", "slt")
    def __le__(self, o): return self._compare(o, "ole", "sle")
    def __gt__(self, o): return self._compare(o, "ogt", "sgt")
    def __ge__(self, o): return self._compare(o, "oge", "sge")
    def __eq__(self, o): return self._compare(o, "oeq", "eq")  # noqa: E501
    def __ne__(self, o): return self._compare(o, "une", "ne")
    __hash__ = None

    def _logic(self, other, op):
        """& | ^ of two booleans (logic), or of two integers (bitwise:
        bit-packed masks)."""
        other = self._lift(other)
        if self.type in _INTS and other.type in _INTS:
            return self._binary(other, None, op)
        if self.type != I1 or other.type != I1:
            raise SpecError("& | ^ take two booleans (comparisons) or two "
                            "integers (bits)")
        return self.region.emit("arith.%s %s, %s : i1" % (op, self.name, other.name), I1)

    def __and__(self, o): return self._logic(o, "andi")
    def __rand__(self, o): return self._logic(o, "andi")
    def __or__(self, o): return self._logic(o, "ori")
    def __ror__(self, o): return self._logic(o, "ori")
    def __xor__(self, o): return self._logic(o, "xori")
    def __rxor__(self, o): return self._logic(o, "xori")

    def _as_i64(self):
        if self.type == I64:
            return self
        i = self._as_index("a shifted value")
        return self.region.emit("arith.index_cast %s : index to i64" % i.name, I64)

    def _shift(self, other, op, swap=False):
        """<< and >> (arithmetic, as Python's) of integers. Shifts take
        i32 or i64 (docs/semantics.md §2.7): two i32 stay i32, anything else
        is shifted as i64."""
        other = self._lift(other)
        a, b = (other, self) if swap else (self, other)
        if a.type not in _INTS or b.type not in _INTS:
            raise SpecError("<< and >> take integers (indices, ids, bits)")
        if not (a.type == b.type == I32):
            a, b = a._as_i64(), b._as_i64()
        return a.region.emit("arith.%s %s, %s : %s" % (op, a.name, b.name, a.type),
                             a.type)

    def __lshift__(self, o): return self._shift(o, "shli")
    def __rlshift__(self, o): return self._shift(o, "shli", True)
    def __rshift__(self, o): return self._shift(o, "shrsi")
    def __rrshift__(self, o): return self._shift(o, "shrsi", True)

    def __invert__(self):
        if self.type != I1:
            raise SpecError("~ takes a boolean (a comparison)")
        return self._logic(True, "xori")

    def __bool__(self):
        raise SpecError("a Python `if`/`and`/`or` on a traced value cannot be "
                        "compiled; use spec.where(cond, a, b) and & | ~")


# -- extras: tensors and scalars the functions read ------------------------

_DTYPE_ALIASES = {"int32": I32, "i32": I32, "int64": I64, "i64": I64,
                  "float32": F32, "f32": F32}
_RESERVED = ("q", "k", "v", "o", "lse", "do", "dq", "dk", "dv")
_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
_MAX_STATIC = (1 << 31) - 1


def _extra_name(name, what):
    if not isinstance(name, str) or not _NAME.match(name):
        raise SpecError("%s name %r: a lower case identifier ([a-z_][a-z0-9_]*)"
                        % (what, name))
    if name in _RESERVED:
        raise SpecError("%s name %r is reserved (the kernel's own tensors: %s)"
                        % (what, name, ", ".join(_RESERVED)))
    return name


def _extra_dtype(dtype, name):
    d = _DTYPE_ALIASES.get(dtype) if isinstance(dtype, str) else None
    if d is None:
        raise SpecError("%s: dtype %r: one of int32, int64, float32"
                        % (name, dtype))
    return d


class _Extra:
    def __init__(self, name, dtype, shape, what):
        self.name = _extra_name(name, what)
        self.dtype = _extra_dtype(dtype, "%s %s" % (what, name))
        self.shape = shape

    @property
    def mlir_type(self):
        return "tensor<%s>" % "x".join(
            ["?" if isinstance(d, str) else str(d) for d in self.shape]
            + [self.dtype])

    @property
    def dynamic_dims(self):
        return [d for d in self.shape if isinstance(d, str)]

    @property
    def arg(self):
        """The block argument that stands for it in a region."""
        return "%%x_%s" % self.name


class Tensor(_Extra):
    """A tensor the functions read (``spec.tensor``): ``t[i, j]``."""

    def __init__(self, name, shape, dtype="int32"):
        _extra_name(name, "tensor")
        if isinstance(shape, (int, str)):
            shape = (shape,)
        try:
            shape = tuple(shape)
        except TypeError:
            raise SpecError("tensor %s: shape %r: a sequence of ints and dims "
                            "names" % (name, shape)) from None
        if not shape:
            raise SpecError("tensor %s: shape () has no dims; spec.scalar "
                            "declares a rank-0 extra" % name)
        for d in shape:
            if isinstance(d, bool) or not isinstance(d, (int, str)):
                raise SpecError("tensor %s: shape entry %r: an int (static "
                                "size) or a dims name" % (name, d))
            if isinstance(d, int) and not 1 <= d <= _MAX_STATIC:
                raise SpecError("tensor %s: static size %d is outside [1, %d]"
                                % (name, d, _MAX_STATIC))
            if isinstance(d, str) and not d.isidentifier():
                raise SpecError("tensor %s: shape entry %r is not a dims name"
                                % (name, d))
        super().__init__(name, dtype, shape, "tensor")

    def __repr__(self):
        return "spec.tensor(%r, %r, %r)" % (self.name, self.shape, self.dtype)

    def __getitem__(self, key):
        where = "%s[...]" % self.name
        key = key if isinstance(key, tuple) else (key,)
        if len(key) != len(self.shape):
            raise SpecError("%s takes %d indices (shape %s), got %d"
                            % (self.name, len(self.shape),
                               _spell(self.shape), len(key)))
        region = None
        for k in key:
            if isinstance(k, Scalar):
                k = k._value()
            if isinstance(k, _Value):
                region = k.region
                break
        region = region or _region_of(where)
        region.use(self)
        indices = []
        for n, k in enumerate(key):
            what = "%s: index %d" % (self.name, n)
            if isinstance(k, Scalar):
                k = k._value()
            if isinstance(k, _Value):
                if k.region is not region:
                    raise SpecError("%s: a value from another region" % what)
                indices.append(k._as_index(what).name)
            elif isinstance(k, bool) or not isinstance(k, int):
                raise SpecError("%s is %s %r: indices are integers (traced "
                                "indices or Python ints)"
                                % (what, "a float" if isinstance(k, float)
                                   else "a " + type(k).__name__, k))
            else:
                indices.append(region.const(k, INDEX).name)
        return region.emit("tensor.extract %s[%s] : %s"
                           % (self.arg, ", ".join(indices), self.mlir_type),
                           self.dtype)

    def __iter__(self):
        raise SpecError("%s cannot be iterated; read elements with %s[...]"
                        % (self.name, self.name))

    def __bool__(self):
        raise SpecError("%s is a tensor: read an element (%s[...])"
                        % (self.name, self.name))


def _forward(op):
    def method(self, *args):
        return getattr(self._value(), op)(*args)
    method.__name__ = op
    return method


class Scalar(_Extra):
    """A run-time scalar the functions read (``spec.scalar``): used like a
    number; each region reads it once (``tensor.extract %x[]``)."""

    def __init__(self, name, dtype="int32"):
        _extra_name(name, "scalar")
        super().__init__(name, dtype, (), "scalar")

    def __repr__(self):
        return "spec.scalar(%r, %r)" % (self.name, self.dtype)

    def _value(self):
        region = _region_of(self.name)
        region.use(self)
        v = region.scalars.get(self.name)
        if v is None:
            v = region.emit("tensor.extract %s[] : %s"
                            % (self.arg, self.mlir_type), self.dtype)
            region.scalars[self.name] = v
        return v

    __hash__ = None

    def __bool__(self):
        raise SpecError("a Python `if`/`and`/`or` on scalar %s cannot be "
                        "compiled; use spec.where(cond, a, b) and & | ~"
                        % self.name)


# A scalar in arithmetic or a comparison is its value in the region.
for _op in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__",
            "__rmul__", "__truediv__", "__rtruediv__", "__floordiv__",
            "__rfloordiv__", "__mod__", "__rmod__", "__neg__", "__lt__",
            "__le__", "__gt__", "__ge__", "__eq__", "__ne__", "__and__",
            "__rand__", "__or__", "__ror__", "__xor__", "__rxor__",
            "__lshift__", "__rlshift__", "__rshift__", "__rrshift__"):
    setattr(Scalar, _op, _forward(_op))
del _op


def tensor(name, shape, dtype="int32"):
    """A tensor extra named ``name``: ``shape`` of ints (static sizes) and
    dims names (dynamic sizes), ``dtype`` "int32", "int64" or "float32"."""
    return Tensor(name, shape, dtype)


def scalar(name, dtype="int32"):
    """A run-time scalar extra named ``name`` (``dtype`` "int32", "int64"
    or "float32"), given at each launch."""
    return Scalar(name, dtype)


def _spell(shape):
    return "(%s)" % ", ".join(str(d) for d in shape)


def _resolve(x):
    return x._value() if isinstance(x, Scalar) else x


def _unary(name, x):
    x = _resolve(x)
    if not isinstance(x, _Value):
        raise SpecError("spec.%s takes a traced value" % name.split(".")[1])
    x = x._as_float()
    return x.region.emit("%s %s : f32" % (name, x.name), F32)


def tanh(x): return _unary("math.tanh", x)
def exp(x): return _unary("math.exp", x)
def exp2(x): return _unary("math.exp2", x)
def log(x): return _unary("math.log", x)
def log2(x): return _unary("math.log2", x)
def sqrt(x): return _unary("math.sqrt", x)
def abs(x): return _unary("math.absf", x)  # noqa: A001


def _pair(a, b):
    a, b = _resolve(a), _resolve(b)
    v = a if isinstance(a, _Value) else b
    if not isinstance(v, _Value):
        raise SpecError("takes at least one traced value")
    return v._lift(a, F32)._as_float(), v._lift(b, F32)._as_float()


def maximum(a, b):
    a, b = _pair(a, b)
    return a.region.emit("arith.maximumf %s, %s : f32" % (a.name, b.name), F32)


def minimum(a, b):
    a, b = _pair(a, b)
    return a.region.emit("arith.minimumf %s, %s : f32" % (a.name, b.name), F32)


def where(cond, a, b):
    """select: a where cond holds, else b (both floats, or both integers)."""
    if not isinstance(cond, _Value) or cond.type != I1:
        raise SpecError("spec.where's condition must be a comparison")
    a, b = _resolve(a), _resolve(b)
    if isinstance(a, _Value) and not isinstance(b, _Value):
        a, b = cond._lift(a), a._lift(b)
    elif isinstance(b, _Value) and not isinstance(a, _Value):
        a, b = b._lift(a), cond._lift(b)
    else:
        a, b = cond._lift(a), cond._lift(b)
    if a.type != b.type:
        if a.type in _INTS and b.type in _INTS:
            a, b = a._unify(b)
        else:
            a, b = a._as_float(), b._as_float()
    return cond.region.emit("arith.select %s, %s, %s : %s"
                            % (cond.name, a.name, b.name, a.type), a.type)


def _trace(fn, args, result_type, what):
    """(the region, its body lines): ``fn`` run on the region's values."""
    region = _Region(args, what)
    values = [_Value(region, name, t) for name, t in args]
    _tracing.append(region)
    try:
        out = _resolve(fn(*values))
        if isinstance(out, (int, float, bool)) and not isinstance(out, _Value):
            out = values[0]._lift(out, F32 if result_type == F32 else None)
        if not isinstance(out, _Value):
            raise SpecError("%s returned a %s, not a traced value"
                            % (what, type(out).__name__))
        if result_type == F32:
            out = out._as_float()
        elif out.type != I1:
            raise SpecError("%s must return a boolean (a comparison), got %s"
                            % (what, out.type))
    finally:
        _tracing.pop()
    body = region.lines + ["flash.yield %s : %s" % (out.name, result_type)]
    return region, body


def delta_rule(name, *, heads, key_dim, value_dim=None, dtype="bf16",
               beta_dtype="f32", gated=False, l2norm_qk=False,
               initial_state=False, return_final_state=False, scale=None,
               dims=("B", "T")):
    """The MLIR text of ``func.func @name`` holding one ``flash.delta_rule``
    (docs/semantics.md §7): q, k [B, heads, T, key_dim], v [B, heads, T,
    value_dim], beta [B, heads, T] in ``beta_dtype``; ``gated=True`` adds the
    log-decay g [B, heads, T] (f32; gated DeltaNet), ``l2norm_qk=True``
    normalises q and k (fla's use_qk_l2norm_in_kernel). ``initial_state``
    takes S_0 [B, heads, key_dim, value_dim] (f32) after the other operands,
    ``return_final_state`` returns S_T after o. ``dims`` names B and T."""
    value_dim = key_dim if value_dim is None else value_dim
    if not name.isidentifier():
        raise SpecError("name %r is not an identifier" % name)
    for what, d in (("dtype", dtype), ("beta_dtype", beta_dtype)):
        if d not in _DTYPES:
            raise SpecError("%s %r: one of %s" % (what, d, ", ".join(_DTYPES)))
    for what, n in (("heads", heads), ("key_dim", key_dim),
                    ("value_dim", value_dim)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise SpecError("%s = %r: a positive integer" % (what, n))
    for what, flag in (("gated", gated), ("l2norm_qk", l2norm_qk),
                       ("initial_state", initial_state),
                       ("return_final_state", return_final_state)):
        if not isinstance(flag, bool):
            raise SpecError("%s: True or False, not %r" % (what, flag))
    if len(dims) != 2 or not all(isinstance(d, str) and d.isidentifier()
                                 for d in dims) or dims[0] == dims[1]:
        raise SpecError("dims: two distinct size names (batch, length)")
    if scale is not None and not math.isfinite(scale):
        raise SpecError("scale must be finite")
    e = _DTYPES[dtype]
    tq = "tensor<?x%dx?x%dx%s>" % (heads, key_dim, e)
    tv = "tensor<?x%dx?x%dx%s>" % (heads, value_dim, e)
    tb = "tensor<?x%dx?x%s>" % (heads, _DTYPES[beta_dtype])
    tg = "tensor<?x%dx?xf32>" % heads
    ts = "tensor<?x%dx%dx%dxf32>" % (heads, key_dim, value_dim)
    params = ["%%q: %s" % tq, "%%k: %s" % tq, "%%v: %s" % tv, "%%beta: %s" % tb]
    parts = ["%q, %k, %v, %beta"]
    if gated:
        params.append("%%g: %s" % tg)
        parts.append("decay(%%g : %s)" % tg)
    if initial_state:
        params.append("%%s0: %s" % ts)
        parts.append("initial(%%s0 : %s)" % ts)
    if l2norm_qk:
        parts.append("l2norm_qk")
    if return_final_state:
        parts.append("return_final_state")
    if scale is not None:
        parts.append("scale %r" % float(scale))
    parts.append("dims [%s]" % ", ".join('"%s"' % d for d in dims))
    results = [tv] + ([ts] if return_final_state else [])
    names = ["%o"] + (["%s"] if return_final_state else [])
    lines = ["func.func @%s(%s) -> (%s) {" % (name, ", ".join(params),
                                             ", ".join(results)),
             "  %s = flash.delta_rule %s" % (", ".join(names), " ".join(parts)),
             "      : %s, %s, %s, %s -> %s" % (tq, tq, tv, tb, ", ".join(results)),
             "  return %s : %s" % (", ".join(names), ", ".join(results)),
             "}"]
    return "\n".join(lines) + "\n"


def _extras_line(extras):
    """The op's `extras(...) names [...] extra_dims [...]` line, [] without."""
    if not extras:
        return []
    return ["      extras(%s : %s) names [%s] extra_dims [%s]" % (
        ", ".join("%" + x.name for x in extras),
        ", ".join(x.mlir_type for x in extras),
        ", ".join('"%s"' % x.name for x in extras),
        ", ".join("[%s]" % ", ".join('"%s"' % d for d in x.dynamic_dims) for x in extras))]


def _region_lines(traced, extras):
    """Each traced region (label, block arguments, _, body), the extras
    appended to its block arguments."""
    lines = []
    for label, args, _region, body in traced:
        args = args + [(x.arg, x.mlir_type) for x in extras]
        lines.append("  %s {" % label)
        lines.append("  ^bb0(%s):" % ", ".join("%s: %s" % a for a in args))
        lines.extend("    " + line for line in body)
        lines.append("  }")
    return lines


_GATES = {"none": 0, "decay": 1, "vector": 1, "mlstm_exp": 2, "mlstm_sig": 2}


def linear_attention(name, *, heads, key_dim, value_dim=None, dtype="bf16",
                     gate="none", initial_state=False, return_final_state=False,
                     scale=None, dims=("B", "T"), output_mod=None, extras=None,
                     feature_map=None):
    """The MLIR text of ``func.func @name`` holding one
    ``flash.linear_attention`` (docs/semantics.md §3): q, k [B, heads, T,
    key_dim], v [B, heads, T, value_dim]; ``gate`` is "none", "decay" (g
    [B, heads, T]), "vector" (g [B, heads, T, key_dim]), "mlstm_exp" or
    "mlstm_sig" (igate, fgate [B, heads, T]), the gates f32.
    ``initial_state`` takes the state (C, and n, m for the mLSTM kinds)
    after the gates, ``return_final_state`` returns it after o.
    ``output_mod`` is ``(o, b, h, t, d) -> o``, applied to each output
    element after the normaliser (an output gate reads its gate from a
    ``spec.tensor``; docs/semantics.md §3.6); ``extras`` as attention's.
    ``feature_map`` is ``(x, b, h, t, d) -> x``, applied to each element
    of q and of k before the scale and the gates (a feature-mapped linear
    attention: ``lambda x, b, h, t, d: spec.where(x > 0, x + 1,
    spec.exp(x))`` is elu(x) + 1; docs/semantics.md §3.7)."""
    value_dim = key_dim if value_dim is None else value_dim
    if not name.isidentifier():
        raise SpecError("name %r is not an identifier" % name)
    if dtype not in _DTYPES:
        raise SpecError("dtype %r: one of %s" % (dtype, ", ".join(_DTYPES)))
    if gate not in _GATES:
        raise SpecError("gate %r: one of %s" % (gate, ", ".join(_GATES)))
    for what, n in (("heads", heads), ("key_dim", key_dim),
                    ("value_dim", value_dim)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise SpecError("%s = %r: a positive integer" % (what, n))
    for what, flag in (("initial_state", initial_state),
                       ("return_final_state", return_final_state)):
        if not isinstance(flag, bool):
            raise SpecError("%s: True or False, not %r" % (what, flag))
    if len(dims) != 2 or not all(isinstance(d, str) and d.isidentifier()
                                 for d in dims) or dims[0] == dims[1]:
        raise SpecError("dims: two distinct size names (batch, length)")
    dims = tuple(dims)
    if scale is not None and not math.isfinite(scale):
        raise SpecError("scale must be finite")
    traced = []
    # In the op's order: feature_map, then output_mod.
    if feature_map is not None:
        args = [("%x", F32), ("%b", INDEX), ("%h", INDEX), ("%t", INDEX), ("%d", INDEX)]
        traced.append(("feature_map", args) + _trace(feature_map, args, F32, "feature_map"))
    if output_mod is not None:
        args = [("%o", F32), ("%b", INDEX), ("%h", INDEX), ("%t", INDEX), ("%d", INDEX)]
        traced.append(("output_mod", args) + _trace(output_mod, args, F32, "output_mod"))
    extras = _extras_of(extras, [r for _, _, r, _ in traced], dims)
    e = _DTYPES[dtype]
    tq = "tensor<?x%dx?x%dx%s>" % (heads, key_dim, e)
    tv = "tensor<?x%dx?x%dx%s>" % (heads, value_dim, e)
    gates = []
    if gate == "decay":
        gates = [("g", "tensor<?x%dx?xf32>" % heads)]
    elif gate == "vector":
        gates = [("g", "tensor<?x%dx?x%dxf32>" % (heads, key_dim))]
    elif gate in ("mlstm_exp", "mlstm_sig"):
        gates = [(n, "tensor<?x%dx?xf32>" % heads) for n in ("igate", "fgate")]
    states = [("c0", "tensor<?x%dx%dx%dxf32>" % (heads, key_dim, value_dim))]
    if gate in ("mlstm_exp", "mlstm_sig"):
        states.append(("n0", "tensor<?x%dx%dxf32>" % (heads, key_dim)))
    if gate == "mlstm_exp":
        states.append(("m0", "tensor<?x%dxf32>" % heads))
    for x in extras:
        if x.name in [n for n, _ in gates + states] + ["q", "k", "v", "o"]:
            raise SpecError("extra name %r is one of the op's own tensors" % x.name)
    params = ["%%q: %s" % tq, "%%k: %s" % tq, "%%v: %s" % tv]
    params += ["%%%s: %s" % (n, t) for n, t in gates]
    if initial_state:
        params += ["%%%s: %s" % (n, t) for n, t in states]
    params += ["%%%s: %s" % (x.name, x.mlir_type) for x in extras]
    parts = ["%q, %k, %v"]
    if gate != "none":
        parts.append("gate %s" % gate)
        parts.append("gates(%s : %s)" % (", ".join("%" + n for n, _ in gates),
                                         ", ".join(t for _, t in gates)))
    if initial_state:
        parts.append("initial(%s : %s)" % (", ".join("%" + n for n, _ in states),
                                           ", ".join(t for _, t in states)))
    if return_final_state:
        parts.append("return_final_state")
    if scale is not None:
        parts.append("scale %r : f32" % float(scale))
    parts.append("dims [%s]" % ", ".join('"%s"' % d for d in dims))
    results = [tv] + ([t for _, t in states] if return_final_state else [])
    names = ["%o"] + (["%%%sf" % n[0] for n, _ in states] if return_final_state else [])
    lines = ["func.func @%s(%s) -> (%s) {" % (name, ", ".join(params), ", ".join(results)),
             "  %s = flash.linear_attention %s" % (", ".join(names), " ".join(parts))]
    lines += _extras_line(extras) + _region_lines(traced, extras)
    lines.append("  : %s, %s, %s -> %s" % (tq, tq, tv, ", ".join(results)))
    lines.append("  return %s : %s" % (", ".join(names), ", ".join(results)))
    lines.append("}")
    return "\n".join(lines) + "\n"


_DTYPES = {"bf16": "bf16", "f16": "f16", "f32": "f32"}
# The offsets of packed (varlen) sequences, as the func takes them.
_VARLEN_NAMES = ("cu_seqlens_q", "cu_seqlens_k")
_MASKS = ("none", "causal", "sliding_window")


def _extras_of(extras, regions, dims, tables=()):
    """The extras in operand order: ``extras`` as given (each one the
    regions read, and each of ``tables``, must be in it), else the ones
    read in the order first read, then ``tables`` (the rotary tables);
    checked against ``dims``."""
    used = []
    for region in regions:
        for e in region.used.values():
            if not any(u is e for u in used):
                used.append(e)
    for e in tables:
        if not any(u is e for u in used):
            used.append(e)
    if extras is None:
        out = used
    else:
        if isinstance(extras, (Tensor, Scalar)) or not isinstance(
                extras, (list, tuple)):
            raise SpecError("extras: a list of spec.tensor / spec.scalar "
                            "objects")
        out = list(extras)
        for n, e in enumerate(out):
            if not isinstance(e, (Tensor, Scalar)):
                raise SpecError("extras[%d] is a %s, not a spec.tensor or "
                                "spec.scalar" % (n, type(e).__name__))
        for region in regions:
            for e in region.used.values():
                if not any(x is e for x in out):
                    raise SpecError("%s reads %s, which extras= does not list"
                                    % (region.what, e.name))
        for e in tables:
            if not any(x is e for x in out):
                raise SpecError("rotary reads %s, which extras= does not list"
                                % e.name)
    seen = {}
    for e in out:
        if e.name in seen:
            raise SpecError("two extras are named %r" % e.name)
        seen[e.name] = e
        if e.name in dims:
            raise SpecError("extra name %r is one of the dims names (%s)"
                            % (e.name, ", ".join(dims)))
        for d in e.dynamic_dims:
            if d not in dims:
                raise SpecError("tensor %s: dim %r is not one of the op's "
                                "dims (%s)" % (e.name, d,
                                               ", ".join(sorted(set(dims),
                                                            key=dims.index))))
    unread = [e for e in out if not any(e is t for t in tables)]
    if unread and not regions:
        raise SpecError("extras %s: without a score_mod, mask_mod, output_mod or feature_map nothing "
                        "reads them" % ", ".join(e.name for e in unread))
    return out


_BLOCK_LIST_NAMES = ("kv_num_blocks", "kv_indices", "full_kv_num_blocks",
                     "full_kv_indices")


def _block_lists(block_mask, q_heads, varlen):
    """The (name, type) params of a block mask's lists, [] without one."""
    if block_mask is None:
        return []
    form = tuple(block_mask)
    if not (len(form) in (2, 3) and all(isinstance(n, int) and n > 0 for n in form[:2])
            and (len(form) == 2 or form[2] == "partial")):
        raise SpecError("block_mask %r: (Qb, Kb) or (Qb, Kb, \"partial\"), "
                        "block sizes in rows and keys" % (block_mask,))
    if varlen:
        raise SpecError("block_mask with varlen=True: packed sequences under "
                        "a block mask are not supported")
    counts = "tensor<?x%dx?xi32>" % q_heads
    indices = "tensor<?x%dx?x?xi32>" % q_heads
    names = _BLOCK_LIST_NAMES[:2] if len(form) == 3 else _BLOCK_LIST_NAMES
    return [(n, counts if "num" in n else indices) for n in names]


def attention(name, *, q_heads, kv_heads=None, head_dim, value_dim=None,
              dtype="bf16", mask="none", window=None, scale=None,
              dims=("B", "N", "N"), score_mod=None, mask_mod=None,
              extras=None, varlen=False, block_mask=None, output_mod=None,
              rotary=None):
    """The MLIR text of ``func.func @name`` holding one ``flash.attention``
    of q [B, q_heads, N, head_dim], k/v [B, kv_heads, M, head_dim/value_dim]
    (``dims`` names B, N and M; the same name twice ties them). ``score_mod``
    is ``(score, b, h, q_idx, kv_idx) -> score``, ``mask_mod``
    ``(b, h, q_idx, kv_idx) -> bool``, as in FlexAttention. ``extras``: the
    ``spec.tensor`` / ``spec.scalar`` objects they read, in the order the
    kernel takes them (default: the ones read, in the order first read).
    ``varlen=True``: q, k, v and the output are packed sequences [T, heads,
    dim] with offsets ``cu_seqlens_q`` / ``cu_seqlens_k`` [B + 1]
    (FlashAttention's varlen layout; docs/semantics.md §2.9).
    ``output_mod`` is ``(o, b, h, q_idx, d) -> o``, applied to each
    normalised output element before it is stored (a gated output reads its
    gate from a ``spec.tensor``; docs/semantics.md §2.11).
    ``block_mask=(Qb, Kb)`` or ``(Qb, Kb, "partial")``: block-sparse
    attention over FlexAttention's BlockMask lists, given at launch as
    ``kv_num_blocks``, ``kv_indices``, ``full_kv_num_blocks`` and
    ``full_kv_indices`` (the full pair left out with "partial"); the
    lists' batch and head dims are B and q_heads (docs/semantics.md
    §2.10). ``rotary=("half" | "interleaved", cos, sin)``: rotary position
    embedding of q and k by the angles of two ``spec.tensor`` extras,
    float32 [P, R/2] or [B, P, R/2] (``flashgen.rope.rotary_tables`` makes
    them; docs/semantics.md §2.12)."""
    kv_heads = q_heads if kv_heads is None else kv_heads
    value_dim = head_dim if value_dim is None else value_dim
    if not name.isidentifier():
        raise SpecError("name %r is not an identifier" % name)
    if dtype not in _DTYPES:
        raise SpecError("dtype %r: one of %s" % (dtype, ", ".join(_DTYPES)))
    if mask not in _MASKS:
        raise SpecError("mask %r: one of %s" % (mask, ", ".join(_MASKS)))
    if (mask == "sliding_window") != (window is not None):
        raise SpecError("window is given exactly when mask is sliding_window")
    for what, n in (("q_heads", q_heads), ("kv_heads", kv_heads),
                    ("head_dim", head_dim), ("value_dim", value_dim)):
        if not isinstance(n, int) or n < 1:
            raise SpecError("%s = %r: a positive integer" % (what, n))
    if q_heads % kv_heads:
        raise SpecError("q_heads = %d is not a multiple of kv_heads = %d"
                        % (q_heads, kv_heads))
    if len(dims) != 3 or not all(isinstance(d, str) and d.isidentifier() for d in dims):
        raise SpecError("dims: three size names (batch, queries, keys)")
    dims = tuple(dims)
    if scale is not None and not math.isfinite(scale):
        raise SpecError("scale must be finite")
    e = _DTYPES[dtype]
    tq = "tensor<?x%dx?x%dx%s>" % (q_heads, head_dim, e)
    tk = "tensor<?x%dx?x%dx%s>" % (kv_heads, head_dim, e)
    tv = "tensor<?x%dx?x%dx%s>" % (kv_heads, value_dim, e)
    to = "tensor<?x%dx?x%dx%s>" % (q_heads, value_dim, e)
    attrs = []
    if mask != "none":
        attrs.append("mask %s" % mask)
    if window is not None:
        attrs.append("window %d" % window)
    if scale is not None:
        attrs.append("scale %r : f32" % float(scale))
    attrs.append("dims [%s]" % ", ".join('"%s"' % d for d in dims))
    idx = [("%b", INDEX), ("%h", INDEX), ("%i", INDEX), ("%j", INDEX)]
    traced = []
    for label, fn, args, result in (
            ("score_mod", score_mod, [("%s", F32)] + idx, F32),
            ("mask_mod", mask_mod, idx, I1),
            ("output_mod", output_mod,
             [("%o", F32), ("%b", INDEX), ("%h", INDEX), ("%i", INDEX), ("%d", INDEX)], F32)):
        if fn is not None:
            traced.append((label, args) + _trace(fn, args, result, label))
    tables = ()
    if rotary is not None:
        if not (isinstance(rotary, (tuple, list)) and len(rotary) == 3
                and rotary[0] in ("half", "interleaved")
                and all(isinstance(t, Tensor) for t in rotary[1:])):
            raise SpecError("rotary: (\"half\" or \"interleaved\", cos, sin), "
                            "the tables spec.tensor objects")
        tables = tuple(rotary[1:])
        if tables[0] is tables[1]:
            raise SpecError("rotary: cos and sin are two tensors")
        for t in tables:
            if t.dtype not in ("f32", "float32") or len(t.shape) not in (2, 3) or \
                    not isinstance(t.shape[-1], int):
                raise SpecError("rotary table %s: float32 [P, R/2] or [B, P, R/2] "
                                "with a static R/2, got %s %s"
                                % (t.name, t.dtype, _spell(t.shape)))
    extras = _extras_of(extras, [r for _, _, r, _ in traced], dims, tables)
    if not isinstance(varlen, bool):
        raise SpecError("varlen: True (packed sequences) or False")
    for x in extras:
        if varlen and x.name in _VARLEN_NAMES:
            raise SpecError("extra name %r is one of the packed batch's "
                            "(%s)" % (x.name, ", ".join(_VARLEN_NAMES)))

    lists = _block_lists(block_mask, q_heads, varlen)
    for x in extras:
        if any(x.name == n for n, _ in lists):
            raise SpecError("extra name %r is one of the block mask's lists"
                            % x.name)

    def packed(t):  # tensor<?xHx?xDxe> -> tensor<?xHxDxe>
        return t.replace("x?x", "x", 1)
    offsets = "tensor<?xi32>"
    outer = {n: packed(t) if varlen else t for n, t in
             (("q", tq), ("k", tk), ("v", tv), ("o", to))}
    params = ["%%q: %s" % outer["q"], "%%k: %s" % outer["k"],
              "%%v: %s" % outer["v"]]
    if varlen:
        params += ["%%%s: %s" % (n, offsets) for n in _VARLEN_NAMES]
    params += ["%%%s: %s" % (n, t) for n, t in lists]
    params += ["%%%s: %s" % (x.name, x.mlir_type) for x in extras]
    lines = ["func.func @%s(%s) -> %s {" % (name, ", ".join(params), outer["o"])]
    operands = "%q, %k, %v"
    if varlen:
        for n, t, cu in (("q", tq, "cu_seqlens_q"), ("k", tk, "cu_seqlens_k"),
                         ("v", tv, "cu_seqlens_k")):
            lines.append("  %%%s_seqs = flash.varlen_view %%%s[%%%s] : %s, %s -> %s"
                         % (n, n, cu, packed(t), offsets, t))
        operands = "%q_seqs, %k_seqs, %v_seqs"
    if lists:
        names = ["%" + n for n, _ in lists]
        full = (" full [%s, %s]" % (names[2], names[3])) if len(lists) == 4 else ""
        lines.append("  %%k_blocks = flash.block_mask %%k[%s, %s]%s block [%d, %d] : %s, %s -> %s"
                     % (names[0], names[1], full, block_mask[0], block_mask[1], tk,
                        ", ".join(t for _, t in lists), tk))
        operands = "%q, %k_blocks, %v"
    lines.append("  %%o = flash.attention %s %s" % (operands, " ".join(attrs)))
    lines += _extras_line(extras)
    if rotary is not None:
        lines.append('      rotary %s tables ["%s", "%s"]' % (rotary[0], tables[0].name,
                                                            tables[1].name))
    lines += _region_lines(traced, extras)
    lines.append("  : %s, %s, %s -> %s" % (tq, tk, tv, to))
    if varlen:
        lines.append("  %%out = flash.varlen_pack %%o[%%cu_seqlens_q] : %s, %s -> %s"
                     % (to, offsets, outer["o"]))
        lines.append("  return %%out : %s" % outer["o"])
    else:
        lines.append("  return %%o : %s" % to)
    lines.append("}")
    return "\n".join(lines) + "\n"
