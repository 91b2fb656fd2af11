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
"""

import math

__all__ = ["attention", "tanh", "exp", "exp2", "log", "log2", "sqrt", "abs",
           "maximum", "minimum", "where", "SpecError"]


class SpecError(ValueError):
    """A score_mod / mask_mod that cannot become a region, or a bad shape."""


F32, INDEX, I1, I64 = "f32", "index", "i1", "i64"


class _Region:
    """The ops of one region being traced, in order."""

    def __init__(self, args):
        self.lines = []
        self.count = 0
        self.args = args  # [(name, type)]

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
        return self.emit("arith.constant %d : index" % int(x), INDEX)


class _Value:
    """A traced value: an SSA name in a region, with its MLIR type."""

    def __init__(self, region, name, type_):
        self.region, self.name, self.type = region, name, type_

    # -- conversions ------------------------------------------------------
    def _lift(self, other, want=None):
        if isinstance(other, _Value):
            if other.region is not self.region:
                raise SpecError("a value from another region")
            return other
        if isinstance(other, bool):
            return self.region.const(other, I1)
        if isinstance(other, int) and want != F32 and self.type != F32:
            return self.region.const(other, INDEX)
        if isinstance(other, (int, float)):
            return self.region.const(other, F32)
        raise SpecError("cannot trace a %s in a region" % type(other).__name__)

    def _as_float(self):
        if self.type == F32:
            return self
        if self.type == INDEX:
            i = self.region.emit("arith.index_cast %s : index to i64" % self.name, I64)
            return self.region.emit("arith.sitofp %s : i64 to f32" % i.name, F32)
        raise SpecError("a boolean used as a number; use spec.where(cond, a, b)")

    def _binary(self, other, float_op, int_op, swap=False):
        other = self._lift(other)
        a, b = (other, self) if swap else (self, other)
        if a.type == INDEX and b.type == INDEX and int_op:
            return a.region.emit("arith.%s %s, %s : index" % (int_op, a.name, b.name), INDEX)
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
        if self.type == INDEX and other.type == INDEX:
            return self.region.emit("arith.cmpi %s, %s, %s : index"
                                    % (ipred, self.name, other.name), I1)
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
        other = self._lift(other)
        if self.type != I1 or other.type != I1:
            raise SpecError("& | take booleans (comparisons)")
        return self.region.emit("arith.%s %s, %s : i1" % (op, self.name, other.name), I1)

    def __and__(self, o): return self._logic(o, "andi")
    def __rand__(self, o): return self._logic(o, "andi")
    def __or__(self, o): return self._logic(o, "ori")
    def __ror__(self, o): return self._logic(o, "ori")

    def __invert__(self):
        if self.type != I1:
            raise SpecError("~ takes a boolean (a comparison)")
        return self._logic(True, "xori")

    def __bool__(self):
        raise SpecError("a Python `if`/`and`/`or` on a traced value cannot be "
                        "compiled; use spec.where(cond, a, b) and & | ~")


def _unary(name, x):
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
    """select: a where cond holds, else b (both floats, or both indices)."""
    if not isinstance(cond, _Value) or cond.type != I1:
        raise SpecError("spec.where's condition must be a comparison")
    a, b = cond._lift(a), cond._lift(b)
    if a.type != b.type:
        a, b = a._as_float(), b._as_float()
    return cond.region.emit("arith.select %s, %s, %s : %s"
                            % (cond.name, a.name, b.name, a.type), a.type)


def _trace(fn, args, result_type, what):
    region = _Region(args)
    values = [_Value(region, name, t) for name, t in args]
    out = fn(*values)
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
    head = "^bb0(%s):" % ", ".join("%s: %s" % a for a in args)
    body = region.lines + ["flash.yield %s : %s" % (out.name, result_type)]
    return head, body


_DTYPES = {"bf16": "bf16", "f16": "f16", "f32": "f32"}
_MASKS = ("none", "causal", "sliding_window")


def attention(name, *, q_heads, kv_heads=None, head_dim, value_dim=None,
              dtype="bf16", mask="none", window=None, scale=None,
              dims=("B", "N", "N"), score_mod=None, mask_mod=None):
    """The MLIR text of ``func.func @name`` holding one ``flash.attention``
    of q [B, q_heads, N, head_dim], k/v [B, kv_heads, M, head_dim/value_dim]
    (``dims`` names B, N and M; the same name twice ties them). ``score_mod``
    is ``(score, b, h, q_idx, kv_idx) -> score``, ``mask_mod``
    ``(b, h, q_idx, kv_idx) -> bool``, as in FlexAttention."""
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
    lines = ["func.func @%s(%%q: %s, %%k: %s, %%v: %s) -> %s {" % (name, tq, tk, tv, to),
             "  %%o = flash.attention %%q, %%k, %%v %s" % " ".join(attrs)]
    idx = [("%b", INDEX), ("%h", INDEX), ("%i", INDEX), ("%j", INDEX)]
    for label, fn, args, result in (
            ("score_mod", score_mod, [("%s", F32)] + idx, F32),
            ("mask_mod", mask_mod, idx, I1)):
        if fn is None:
            continue
        head, body = _trace(fn, args, result, label)
        lines.append("  %s {" % label)
        lines.append("  " + head)
        lines.extend("    " + line for line in body)
        lines.append("  }")
    lines.append("  : %s, %s, %s -> %s" % (tq, tk, tv, to))
    lines.append("  return %%o : %s" % to)
    lines.append("}")
    return "\n".join(lines) + "\n"
