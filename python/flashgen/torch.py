"""A bundle's attention kernel as a PyTorch operator with autograd.

    import flashgen.torch
    attn = flashgen.torch.register("out/softcap.bundle")   # kernel "softcap"
    o = attn(q, k, v)            # [B, Hq, N, D] x [B, Hkv, M, D] x [B, Hkv, M, Dv]
    o.sum().backward()           # runs kernel "softcap_backward"
    o = doc_attn(q, k, v, doc=doc_ids, prefix=64)   # a kernel with extras

``register`` reads the bundle's manifest (docs/bundle-format.md §1) and
defines two ``torch.library.custom_op``s in the ``flashgen`` namespace, named
after the kernel and a short hash of the bundle's real path (two bundles never
collide):

- ``flashgen::<X>_<hash>(q, k, v, *extras) -> (o, lse)`` launches kernel
  ``X``; ``lse`` is its optional f32 output ``[B, Hq, N]``, returned so that
  the backward can save it (an empty tensor when the kernel has no ``lse``);
- ``flashgen::<X>_<hash>_backward(q, k, v, o, grad_o, lse, *extras) -> (dq,
  dk, dv)`` launches ``X_backward``, the gradient kernels of
  ``flash.attention_grad`` (``flashgen compile --backward`` writes them into
  the bundle).

Extras: a kernel whose score_mod / mask_mod reads tensors or run-time
scalars (``spec.tensor`` / ``spec.scalar``; docs/semantics.md §2.7) lists
them in its manifest as ``in`` params besides q, k, v and as ``scalars``.
The op takes them by keyword, ``attn(q, k, v, doc=doc_ids, prefix=200)``:
tensors (the manifest's dtype, on q's device, shapes checked like q's) and
numbers. Both operators take them after their fixed arguments, in manifest
order (the schemas are made per kernel from its manifest: ``Tensor`` for a
param, ``SymInt`` for an i32 / i64 scalar, ``float`` for an f32 one, each
with ``?`` where it may be left out: an optional param, a scalar with a
default). Integer scalars take ints (i32 ones checked to fit), f32 ones any
finite number. The backward kernel gets the ones its manifest lists; they
have no gradient.

Block-sparse kernels (FlexAttention's BlockMask; docs/semantics.md §2.10)
take their lists as such extras, by Flex's names: ``attn(q, k, v,
kv_num_blocks=..., kv_indices=..., full_kv_num_blocks=...,
full_kv_indices=...)``. Their backward kernel also walks the *transposed*
lists, which the forward kernel never gets: ``q_num_blocks``, ``q_indices``
and, with full kv lists, ``full_q_num_blocks``, ``full_q_indices``, optional
keywords of the op (``tensor?`` in :attr:`AttentionOp.extras`), each pair
given together. A Flex user passes a BlockMask as it is,
``attn(q, k, v, block_mask=bm)`` (its BLOCK_SIZE checked against the
kernel's blocks; its lists become these keywords), or its fields one by
one; pairs left out are
computed by the backward from the kv lists with
``flashgen.block_mask.transpose_lists``. Given ones are trusted to say what
the kv lists say. Any other param or scalar that the backward kernel takes
and the forward does not is an error at ``register``.

Both have fake implementations (shapes from the manifest, so GQA head counts
and static dims are checked while tracing), and the forward has an autograd
formula that saves q, k, v, o and lse and calls the backward op: the pair
traces with ``torch.compile(fullgraph=True)`` without graph breaks.

Layouts: inputs may have any strides the runtime takes (§1.3: last dim
contiguous unless the param is ``strided_last_dim``, the others multiples of
the param's ``stride_align``, the data pointer aligned to ``pointer_align``),
e.g. ``x.view(B, N, H, D).transpose(1, 2)``, or a recurrence's gates kept
[B, T, H] as flash-linear-attention keeps them, passed as ``g.transpose(1,
2)``; only an input that breaks these rules is copied. Outputs are allocated
with ``torch.empty`` on q's device in the dim order of their model input (o and
dq like q, dk like k, dv like v; the last dim innermost), so for [B, N, H, D]
views ``o.transpose(1, 2).reshape(B, N, H * Dv)`` is free. lse is contiguous.

Needs torch >= 2.4 for the custom ops (and torch.compile). With an older torch
``register`` returns the same object over a ``torch.autograd.Function``: eager
autograd works, there is no operator to compile.

This module imports torch; ``import flashgen`` does not import this module.
"""

import hashlib
import json
import math
import operator
import os
import threading

import torch

from ._errors import FlashgenError

__all__ = ["register", "AttentionOp", "HAS_CUSTOM_OP", "register_recurrence",
           "RecurrenceOp"]

# torch.library.custom_op, register_fake and register_autograd: torch 2.4.
HAS_CUSTOM_OP = all(hasattr(torch.library, f) for f in
                    ("custom_op", "register_fake", "register_autograd"))

_INVALID, _FORMAT, _FILE, _NOT_FOUND = 1, 2, 3, 4  # flashgen_status_t codes

_FORWARD_PARAMS = (("q", "in"), ("k", "in"), ("v", "in"), ("o", "out"))
_BACKWARD_PARAMS = (("q", "in"), ("k", "in"), ("v", "in"), ("o", "in"),
                    ("do", "in"), ("lse", "in"), ("dq", "out"), ("dk", "out"),
                    ("dv", "out"))
# Params of the kernels' own; every other one is an extra (an "in" param).
_OWN_PARAMS = {"q", "k", "v", "o", "lse", "do", "dq", "dk", "dv"}
_TORCH_DTYPES = {"bf16": torch.bfloat16, "f16": torch.float16,
                 "f32": torch.float32, "f64": torch.float64,
                 "i32": torch.int32, "i64": torch.int64, "i8": torch.int8,
                 "u8": torch.uint8}
_SCALAR_TYPES = {"i32": "SymInt", "i64": "SymInt", "f32": "float"}
# The transposed block lists (docs/semantics.md §2.10; FlexAttention's
# BlockMask names) a block-sparse backward kernel takes and its forward does
# not, each pair with the kv pair it transposes: optional keywords of the op,
# computed by flashgen.block_mask.transpose_lists where left out.
_TRANSPOSED = {"q_num_blocks": ("kv_num_blocks", "kv_indices"),
               "q_indices": ("kv_num_blocks", "kv_indices"),
               "full_q_num_blocks": ("full_kv_num_blocks", "full_kv_indices"),
               "full_q_indices": ("full_kv_num_blocks", "full_kv_indices")}
_TRANSPOSED_PAIRS = (("q_num_blocks", "q_indices"),
                     ("full_q_num_blocks", "full_q_indices"))
# Every list a FlexAttention BlockMask carries, by its field names.
_BLOCK_LISTS = ("kv_num_blocks", "kv_indices", "full_kv_num_blocks",
                "full_kv_indices") + tuple(_TRANSPOSED)
_SYMBOLIC = tuple(getattr(torch, n) for n in ("SymInt", "SymFloat")
                  if hasattr(torch, n))

_registry = {}  # (bundle real path, kernel name) -> AttentionOp
_lock = threading.Lock()


def register(bundle, name=None):
    """The attention kernel ``name`` of ``bundle`` (a path or a
    ``flashgen.Bundle``) as an :class:`AttentionOp`. ``name`` may be left
    out when the bundle holds one forward kernel. Registering the same
    kernel of the same bundle again returns the same object (torch cannot
    redefine an operator). Needs no GPU: the runtime library is loaded at
    the first launch."""
    path, raw, kernels = _read_manifest(bundle)
    if name is None:
        forward = sorted(n for n, k in kernels.items()
                         if k.get("op") == "attention"
                         and not n.endswith("_backward"))
        if len(forward) != 1:
            raise FlashgenError(_NOT_FOUND, "%s: name the kernel to register "
                                "(attention kernels: %s)"
                                % (path, ", ".join(forward) or "none"))
        name = forward[0]
    digest = hashlib.sha256(raw).hexdigest()
    with _lock:
        op = _registry.get((path, name))
        if op is None:
            op = AttentionOp(path, name, kernels, digest)
            _registry[(path, name)] = op
        elif op._manifest_digest != digest:
            raise FlashgenError(_INVALID, "%s: the bundle changed since kernel "
                                "%s was registered in this process, and torch "
                                "cannot redefine an operator; compile to a new "
                                "path" % (path, name))
        if op._bundle is None and hasattr(bundle, "kernel"):
            op._bundle = bundle  # a loaded flashgen.Bundle: launch from it
        return op


def _read_manifest(bundle):
    """(real path, manifest bytes, kernels by name) of ``bundle``, a path or
    a ``flashgen.Bundle``; FlashgenError naming what is wrong otherwise."""
    path = getattr(bundle, "path", bundle)
    try:
        path = os.path.realpath(os.fspath(path))
    except TypeError:
        raise FlashgenError(_INVALID, "bundle: expected a path or a "
                            "flashgen.Bundle, got %s"
                            % type(bundle).__name__) from None
    manifest_path = os.path.join(path, "manifest.json")
    try:
        with open(manifest_path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise FlashgenError(_FILE, "%s: cannot read (%s)"
                            % (manifest_path, e.strerror or e)) from None
    try:
        kernels = {k["name"]: k for k in json.loads(raw)["kernels"]}
    except (ValueError, KeyError, TypeError) as e:
        raise FlashgenError(_FORMAT, "%s: not a bundle manifest (%s)"
                            % (manifest_path, e)) from None
    return path, raw, kernels


def _param_table(bundle_path, kernel, wanted):
    """The kernel's params by name, with the ones ``wanted`` checked."""
    params = {p["name"]: p for p in kernel.get("params", [])}
    for pname, io in wanted:
        p = params.get(pname)
        if p is None or p.get("io") != io:
            raise FlashgenError(_FORMAT, "%s: kernel %s has no %s param %r "
                                "(params: %s)"
                                % (bundle_path, kernel["name"], io, pname,
                                   ", ".join(params) or "none"))
    return params


class _Extra:
    """A tensor or scalar a kernel takes besides its own params: a keyword
    of the op. ``param`` is the manifest entry (a param or a scalar)."""

    def __init__(self, name, is_tensor, param, backward_only=False):
        self.name, self.is_tensor, self.param = name, is_tensor, param
        self.dtype = param.get("dtype")
        # A transposed block list of the backward kernel: never passed to
        # the forward one, optional (computed where left out).
        self.backward_only = backward_only
        self.required = not backward_only and (
            not param.get("optional", False) if is_tensor
            else "default" not in param)

    def schema(self, index):
        kind = "Tensor" if self.is_tensor else _SCALAR_TYPES[self.dtype]
        # Positional names of their own: an extra's name may be a word the
        # schema parser reserves (int, float, ...).
        return "%s%s x%d_%s" % (kind, "" if self.required else "?", index,
                                self.name)


def _extras_of(bundle_path, kernel):
    """The extras of ``kernel`` in manifest order: its params other than
    its own (io "in"), then its scalars."""
    extras = []
    for p in kernel.get("params", []):
        if p["name"] in _OWN_PARAMS:
            continue
        if p.get("io") != "in":
            raise FlashgenError(_FORMAT, "%s: kernel %s has %s param %r; "
                                "flashgen.torch passes extra tensors as "
                                "inputs only" % (bundle_path, kernel["name"],
                                                 p.get("io"), p["name"]))
        extras.append(_Extra(p["name"], True, p))
    for sc in kernel.get("scalars", []):
        if sc.get("dtype") not in _SCALAR_TYPES:
            raise FlashgenError(_FORMAT, "%s: kernel %s: scalar %s has dtype "
                                "%r (i32, i64 or f32)"
                                % (bundle_path, kernel["name"], sc["name"],
                                   sc.get("dtype")))
        extras.append(_Extra(sc["name"], False, sc))
    return extras


def _empty_in_order_of(ref, shape, dtype):
    """torch.empty(shape) whose leading dims are laid out in the order of
    ``ref``'s strides (outermost first; ties keep their order) and whose
    last dim is contiguous. Used by the real and the fake implementations
    alike, so that both give the same strides."""
    n = len(shape)
    order = sorted(range(n - 1), key=lambda d: -ref.stride(d)) + [n - 1]
    t = torch.empty([shape[d] for d in order], dtype=dtype, device=ref.device)
    return t.permute([order.index(d) for d in range(n)])


def _launchable(t, param):
    """``t`` when the runtime takes its layout (docs/bundle-format.md §1.3),
    else a contiguous copy."""
    align = param.get("stride_align", 1)
    strides = t.stride()
    # A strided_last_dim param (a recurrence's [B, H, T] gates) is read
    # through its last stride too: fla's time-major [B, T, H] gates pass as
    # they are.
    last_ok = param.get("strided_last_dim", False) or t.shape[-1] <= 1 or strides[-1] == 1
    ok = (last_ok
          and all(s >= 0 and s % align == 0 for s in strides[:-1])
          and t.data_ptr() % param.get("pointer_align", 16) == 0)
    return t if ok else t.clone(memory_format=torch.contiguous_format)


class AttentionOp:
    """A bundle's attention kernel (and its backward, where the bundle has
    one) as torch operators. Call it as ``op(q, k, v) -> o``, or with the
    kernel's extras by keyword, ``op(q, k, v, doc=doc_ids, prefix=200)``.

    Attributes: ``name`` (the kernel), ``bundle_path``, ``op_name`` (the
    operator's name in the ``flashgen`` namespace), ``extras`` (the
    keywords it takes), ``forward_op`` and ``backward_op`` (the
    ``torch.ops.flashgen`` overloads; None with a torch older than 2.4, and
    ``backward_op`` None without a backward kernel), ``has_backward``,
    ``has_lse``."""

    def __init__(self, bundle_path, name, kernels, manifest_digest):
        if name not in kernels:
            raise FlashgenError(_NOT_FOUND, "%s: no kernel %s (kernels: %s)"
                                % (bundle_path, name, ", ".join(kernels)))
        kernel = kernels[name]
        if kernel.get("op") != "attention":
            raise FlashgenError(_INVALID, "%s: kernel %s is a %s kernel; "
                                "flashgen.torch registers attention kernels"
                                % (bundle_path, name, kernel.get("op")))
        self.name, self.bundle_path = name, bundle_path
        self._manifest_digest = manifest_digest
        self._kernel = kernel
        self._params = _param_table(bundle_path, kernel, _FORWARD_PARAMS)
        self._symbols = set(s if isinstance(s, str) else s["name"]
                            for s in kernel.get("symbols", []))
        self.has_lse = "lse" in self._params
        self._extras = _extras_of(bundle_path, kernel)
        bwd = kernels.get(name + "_backward")
        self.has_backward = bwd is not None
        self._bwd_params = (_param_table(bundle_path, bwd, _BACKWARD_PARAMS)
                            if bwd is not None else None)
        self._bwd_extras = set()  # the extras the backward kernel takes
        if bwd is not None:
            ours = {e.name: e for e in self._extras}
            backward_only = []
            for e in _extras_of(bundle_path, bwd):
                if (e.name in _TRANSPOSED and e.is_tensor
                        and e.name not in ours):
                    backward_only.append(_Extra(e.name, True, e.param, True))
                elif (e.name not in ours
                      or ours[e.name].is_tensor != e.is_tensor):
                    raise FlashgenError(_FORMAT, "%s: kernel %s_backward "
                                        "takes %s %s, which %s does not"
                                        % (bundle_path, name, "param"
                                           if e.is_tensor else "scalar",
                                           e.name, name))
                self._bwd_extras.add(e.name)
            self._check_transposed(bundle_path, ours, backward_only)
            self._extras.extend(backward_only)
        self.op_name = "%s_%s" % (name, hashlib.sha256(
            bundle_path.encode()).hexdigest()[:8])
        self._bundle = None
        self._kernels = {}  # (kernel name, device index) -> flashgen.Kernel
        # device type -> (forward, backward) filling allocated outputs.
        self._impls = {"cuda": (self._launch_forward, self._launch_backward)}
        self.forward_op = self.backward_op = None
        if HAS_CUSTOM_OP:
            self._define_ops()

    def _check_transposed(self, bundle_path, ours, backward_only):
        """The backward-only transposed lists come in pairs, and the
        forward takes the kv lists they are computed from."""
        names = {e.name for e in backward_only}
        for pair in _TRANSPOSED_PAIRS:
            if len(names.intersection(pair)) == 1:
                raise FlashgenError(_FORMAT, "%s: kernel %s_backward takes "
                                    "%s without %s" % (
                                        bundle_path, self.name,
                                        *(sorted(names.intersection(pair))
                                          + sorted(set(pair) - names))))
        for n in sorted(names):
            for src in _TRANSPOSED[n]:
                if src not in ours or not ours[src].is_tensor:
                    raise FlashgenError(_FORMAT, "%s: kernel %s_backward "
                                        "takes %s, but %s takes no %s to "
                                        "compute it from" % (
                                            bundle_path, self.name, n,
                                            self.name, src))

    def __repr__(self):
        return "<flashgen.torch.AttentionOp %s of %s (op flashgen::%s%s%s)>" % (
            self.name, self.bundle_path, self.op_name,
            "".join(", %s=" % e.name for e in self._extras),
            ", with backward" if self.has_backward else "")

    @property
    def extras(self):
        """The keywords the op takes (manifest order): name -> "tensor" or
        "scalar", with "?" after one that may be left out."""
        return {e.name: ("tensor" if e.is_tensor else "scalar")
                + ("" if e.required else "?") for e in self._extras}

    # -- the public entry points --------------------------------------------

    def __call__(self, q, k, v, **extras):
        """``o [B, Hq, N, Dv]`` of attention over q [B, Hq, N, D], k [B, Hkv,
        M, D], v [B, Hkv, M, Dv] (shapes and dtype as the manifest says);
        differentiable in q, k and v where the bundle has ``<name>_backward``.
        ``extras``: the kernel's extra tensors and scalars by name
        (``doc=doc_ids, prefix=200``; see :attr:`extras`)."""
        return self._apply(q, k, v, extras)[0]

    def forward_with_lse(self, q, k, v, **extras):
        """``(o, lse)``: lse [B, Hq, N] f32, the natural log of each row's
        sum of exp(score) (-inf for a row with no visible key). lse carries
        no gradient (the backward kernel takes none for it)."""
        if not self.has_lse:
            raise FlashgenError(_INVALID, "kernel %s of %s has no lse output; "
                                "recompile the bundle (every attention kernel "
                                "flashgen compiles now writes lse)"
                                % (self.name, self.bundle_path))
        return self._apply(q, k, v, extras)

    def _apply(self, q, k, v, extras):
        if "block_mask" in extras:
            extras = self._unpack_block_mask(dict(extras))
        args = self._extra_args(extras)
        for pname, t in (("q", q), ("k", k), ("v", v)):
            if t.device.type not in self._impls and not (
                    t.device.type == "meta" and self.forward_op is not None):
                raise FlashgenError(_INVALID, "%s: tensor is on %s, not on a "
                                    "CUDA device" % (pname, t.device))
        for e, t in zip(self._extras, args):
            if e.is_tensor and t is not None and t.device != q.device:
                raise FlashgenError(_INVALID, "%s: tensor is on %s, q on %s"
                                    % (e.name, t.device, q.device))
        if self.forward_op is not None:
            return self.forward_op(q, k, v, *args)
        return _Function.apply(self, q, k, v, *args)

    def _unpack_block_mask(self, extras):
        """``block_mask=`` a FlexAttention BlockMask (or any object with
        its fields): its lists as the keywords of the same names that this
        op takes (a keyword given beside it wins), after checking its
        BLOCK_SIZE against the block sizes of the op's lists."""
        bm = extras.pop("block_mask")
        names = {e.name for e in self._extras}
        if not names.intersection(_BLOCK_LISTS):
            raise FlashgenError(_INVALID, "block_mask: kernel %s of %s is not "
                                "block-sparse (it takes no kv_num_blocks)"
                                % (self.name, self.bundle_path))
        want = self._block_sizes()
        size = getattr(bm, "BLOCK_SIZE", None)
        if want is not None and size is not None:
            size = tuple(int(x) for x in (size if isinstance(size, (tuple, list))
                                          else (size, size)))
            if size != want:
                raise FlashgenError(_INVALID, "block_mask: BLOCK_SIZE %s, but "
                                    "kernel %s was compiled for blocks of %d x "
                                    "%d (flash.block_mask ... block [%d, %d])"
                                    % (size, self.name, want[0], want[1],
                                       want[0], want[1]))
        for name in _BLOCK_LISTS:
            value = getattr(bm, name, None)
            if name in names and extras.get(name) is None and value is not None:
                extras[name] = value
        return extras

    def _block_sizes(self):
        """(Qb, Kb) from the kv_indices param's `cdiv(<dim>,<block>)`
        dims (dialect/BlockMask.h writes them so), None if not readable."""
        for e in self._extras:
            if e.name != "kv_indices":
                continue
            shape = e.param.get("shape", [])
            sizes = []
            for dim in shape[2:4]:
                text = str(dim)
                if not (text.startswith("cdiv(") and text.endswith(")")):
                    return None
                try:
                    sizes.append(int(text[5:-1].rsplit(",", 1)[1]))
                except (IndexError, ValueError):
                    return None
            return tuple(sizes) if len(sizes) == 2 else None
        return None

    def _extra_args(self, given):
        """The op's keywords as its positional extras, in manifest order
        (None for one left out); numbers as int / float."""
        names = [e.name for e in self._extras]
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise FlashgenError(_INVALID, "kernel %s of %s takes no %s %s "
                                "(its extras: %s)"
                                % (self.name, self.bundle_path,
                                   "keyword" if len(unknown) == 1
                                   else "keywords", ", ".join(unknown),
                                   ", ".join(names) or "none"))
        for a, b in _TRANSPOSED_PAIRS:
            if (a in names and (given.get(a) is None)
                    != (given.get(b) is None)):
                raise FlashgenError(_INVALID, "%s, %s: give both or neither "
                                    "(left out, the backward computes them "
                                    "from the kv lists)" % (a, b))
        args = []
        for e in self._extras:
            value = given.get(e.name)
            if value is None:
                if e.required:
                    raise FlashgenError(_INVALID, "%s: missing: kernel %s "
                                        "takes %s %s=... at every call"
                                        % (e.name, self.name, "a tensor"
                                           if e.is_tensor else "a number",
                                           e.name))
            elif e.is_tensor:
                if not isinstance(value, torch.Tensor):
                    raise FlashgenError(_INVALID, "%s: expected a tensor "
                                        "(%s %s), got %s"
                                        % (e.name, e.dtype,
                                           _spell(e.param.get("shape", [])),
                                           type(value).__name__))
                if value.dtype != _TORCH_DTYPES.get(e.dtype):
                    raise FlashgenError(_INVALID, "%s: dtype %s, kernel %s "
                                        "expects %s" % (e.name, value.dtype,
                                                        self.name, e.dtype))
            else:
                value = self._number(e, value)
            args.append(value)
        return args

    def _number(self, e, value):
        if isinstance(value, _SYMBOLIC):  # torch.compile's dynamic numbers
            return value
        if isinstance(value, bool) or isinstance(value, torch.Tensor):
            raise FlashgenError(_INVALID, "%s: scalar of kernel %s (%s): "
                                "expected a number, got %s"
                                % (e.name, self.name, e.dtype,
                                   type(value).__name__))
        try:
            if e.dtype == "f32":
                value = float(value)
                if not math.isfinite(value):
                    raise ValueError("not finite")
                return value
            value = operator.index(value)
        except (TypeError, ValueError) as err:
            raise FlashgenError(_INVALID, "%s: scalar of kernel %s (%s): %r "
                                "(%s)" % (e.name, self.name, e.dtype, value,
                                          err)) from None
        lo, hi = ((-(1 << 31), (1 << 31) - 1) if e.dtype == "i32"
                  else (-(1 << 63), (1 << 63) - 1))
        if not lo <= value <= hi:
            raise FlashgenError(_INVALID, "%s: %d does not fit in %s"
                                % (e.name, value, e.dtype))
        return value

    def _extras_dict(self, args, backward=False):
        """name -> value of the extras given (for a kernel launch)."""
        return {e.name: a for e, a in zip(self._extras, args)
                if a is not None and (e.name in self._bwd_extras if backward
                                      else not e.backward_only)}

    def _extra_tensors(self, args, backward=False):
        """(name, tensor) of the extra tensors given that the forward
        kernel (the backward one) takes."""
        return tuple((e.name, a) for e, a in zip(self._extras, args)
                     if e.is_tensor and a is not None
                     and (e.name in self._bwd_extras if backward
                          else not e.backward_only))

    def _with_transposed(self, args):
        """``args`` with the backward-only transposed block lists that were
        left out computed from the kv lists (flashgen.block_mask)."""
        index = {e.name: i for i, e in enumerate(self._extras)}
        missing = [pair for pair in _TRANSPOSED_PAIRS if pair[0] in index
                   and self._extras[index[pair[0]]].backward_only
                   and args[index[pair[0]]] is None]
        if not missing:
            return args
        kv = [args[index[n]] if n in index else None for n in
              ("kv_num_blocks", "kv_indices", "full_kv_num_blocks",
               "full_kv_indices")]
        if kv[0] is None or kv[1] is None:
            return args  # no lists to transpose (an optional kv pair)
        if kv[2] is None or kv[3] is None:
            kv[2] = kv[3] = None
        from .block_mask import transpose_lists
        lists = dict(zip(("q_num_blocks", "q_indices", "full_q_num_blocks",
                          "full_q_indices"), transpose_lists(*kv)))
        args = list(args)
        for pair in missing:
            for n in pair:
                args[index[n]] = lists[n]
        return tuple(args)

    # -- shapes and allocation (shared by the real and fake paths) ----------

    def _bind(self, params, tensors):
        """Checks ranks and the manifest's static dims; returns the symbols
        bound by the tensors' sizes."""
        sym = {}
        for pname, t in tensors:
            shape = params[pname]["shape"]
            if t.dim() != len(shape):
                raise FlashgenError(_INVALID, "%s: rank %d, %s of %s expects %d "
                                    "(%s)" % (pname, t.dim(), pname, self.name,
                                              len(shape), _spell(shape)))
            for d, (want, got) in enumerate(zip(shape, t.shape)):
                if isinstance(want, int):
                    if got != want:
                        raise FlashgenError(_INVALID, "%s: dim %d is %d, "
                                            "expected %d (shape %s)"
                                            % (pname, d, got, want,
                                               _spell(shape)))
                elif want in self._symbols:
                    if want in sym and sym[want] != got:
                        raise FlashgenError(_INVALID, "%s: dim %d (%s) is %d, "
                                            "but %s = %d from an earlier "
                                            "tensor" % (pname, d, want, got,
                                                        want, sym[want]))
                    sym.setdefault(want, got)
        return sym

    def _shape(self, params, pname, sym):
        out = []
        for want in params[pname]["shape"]:
            if isinstance(want, int):
                out.append(want)
            elif want in sym:
                out.append(sym[want])
            else:
                raise FlashgenError(_FORMAT, "%s: %s of %s has dim %r, which "
                                    "q, k and v do not bind"
                                    % (self.bundle_path, pname, self.name,
                                       want))
        return out

    def _allocate_forward(self, q, k, v, args=()):
        sym = self._bind(self._params, (("q", q), ("k", k), ("v", v))
                         + self._extra_tensors(args))  # the forward's only
        o = _empty_in_order_of(q, self._shape(self._params, "o", sym), q.dtype)
        if self.has_lse:
            lse = torch.empty(self._shape(self._params, "lse", sym),
                              dtype=torch.float32, device=q.device)
        else:
            lse = torch.empty((0,), dtype=torch.float32, device=q.device)
        return o, lse

    def _allocate_backward(self, q, k, v):
        return tuple(_empty_in_order_of(t, t.shape, t.dtype) for t in (q, k, v))

    def _forward(self, q, k, v, *args):
        o, lse = self._allocate_forward(q, k, v, args)
        self._impls[q.device.type][0](q, k, v, o, lse,
                                      self._extras_dict(args))
        return o, lse

    def _bind_backward(self, q, k, v, o, grad_o, lse, args):
        self._bind(self._bwd_params,
                   (("q", q), ("k", k), ("v", v), ("o", o), ("do", grad_o),
                    ("lse", lse)) + self._extra_tensors(args, backward=True))

    def _backward(self, q, k, v, o, grad_o, lse, *args):
        # Transposed block lists the caller left out: computed here, in the
        # backward operator's implementation, on the real tensors at run
        # time (see _define_ops).
        args = self._with_transposed(args)
        self._bind_backward(q, k, v, o, grad_o, lse, args)
        dq, dk, dv = self._allocate_backward(q, k, v)
        self._impls[q.device.type][1](q, k, v, o, grad_o, lse, dq, dk, dv,
                                      self._extras_dict(args, backward=True))
        return dq, dk, dv

    def _require_backward(self):
        if not self.has_backward:
            raise FlashgenError(_NOT_FOUND, "%s: no kernel %s_backward, so "
                                "flashgen.torch cannot differentiate %s: "
                                "compile the spec with flashgen compile "
                                "--backward"
                                % (self.bundle_path, self.name, self.name))

    # -- CUDA: the bundle's kernels ------------------------------------------

    def _kernel_for(self, kname, device):
        # torch.device("cuda") and a tensor's cuda:0 name one kernel object
        # (its selected variant is per object).
        index = device.index
        if index is None and device.type == "cuda":
            index = torch.cuda.current_device()
        device = torch.device(device.type, index)
        key = (kname, device.index)
        kern = self._kernels.get(key)
        if kern is None:
            if self._bundle is None:
                from ._bundle import load
                self._bundle = load(self.bundle_path)
            kern = self._bundle.kernel(kname, device=device.index or 0)
            self._kernels[key] = kern
        return kern

    def _launch_forward(self, q, k, v, o, lse, extras):
        if o.numel() == 0:
            return
        if k.shape[2] == 0:  # no keys: o = 0, lse = -inf (semantics.md §2.4)
            o.zero_()
            lse.fill_(-math.inf)
            return
        p = self._params
        args = dict(q=_launchable(q, p["q"]), k=_launchable(k, p["k"]),
                    v=_launchable(v, p["v"]), o=o)
        if self.has_lse:
            args["lse"] = lse
        args.update(self._launch_extras(p, extras))
        self._kernel_for(self.name, q.device)(**args)

    def _launch_extras(self, params, extras):
        """The extras as the kernel takes them: tensors in a layout the
        runtime accepts, scalars as Python numbers."""
        out = {}
        for name, value in extras.items():
            if name in params:
                out[name] = _launchable(value, params[name])
            else:
                out[name] = value
        return out

    def _launch_backward(self, q, k, v, o, grad_o, lse, dq, dk, dv, extras):
        if q.shape[2] == 0 or k.shape[2] == 0 or q.shape[0] == 0:
            for t in (dq, dk, dv):
                t.zero_()
            return
        p = self._bwd_params
        args = {n: _launchable(t, p[n]) for n, t in
                (("q", q), ("k", k), ("v", v), ("o", o), ("do", grad_o),
                 ("lse", lse))}
        args.update(dq=dq, dk=dk, dv=dv)
        args.update(self._launch_extras(p, extras))
        self._kernel_for(self.name + "_backward", q.device)(**args)

    # -- torch.library ------------------------------------------------------

    def _define_ops(self):
        spec = self
        lib = torch.library
        fwd_name = "flashgen::" + self.op_name
        n_extras = len(self._extras)
        # The schemas, made from the manifest: the extras after the fixed
        # arguments, in manifest order. The backward kernel's transposed
        # block lists (q_num_blocks, ...) are ``Tensor?`` extras of both
        # operators: a caller's (a Flex BlockMask's) reach the backward
        # through save_for_backward like any extra tensor, and the forward
        # never passes them to its kernel. Lists left out stay None through
        # the autograd formula and the backward operator's implementation
        # computes them (flashgen.block_mask.transpose_lists), so the fake
        # implementations and the traced graphs do no list work, the graph
        # holds no extra tensors for them, and a direct call of backward_op
        # gets them too; the cost is a few small kernels per backward.
        extras = "".join(", " + e.schema(i)
                         for i, e in enumerate(self._extras))
        fwd_schema = ("(Tensor q, Tensor k, Tensor v%s) -> (Tensor, Tensor)"
                      % extras)
        bwd_schema = ("(Tensor q, Tensor k, Tensor v, Tensor o, Tensor grad_o, "
                      "Tensor lse%s) -> (Tensor, Tensor, Tensor)" % extras)

        def forward(q, k, v, *args):
            return spec._forward(q, k, v, *args)

        forward = lib.custom_op(fwd_name, forward, mutates_args=(),
                                device_types="cuda", schema=fwd_schema)

        @forward.register_fake
        def _(q, k, v, *args):
            return spec._allocate_forward(q, k, v, args)

        backward = None
        if self.has_backward:
            def backward(q, k, v, o, grad_o, lse, *args):
                return spec._backward(q, k, v, o, grad_o, lse, *args)

            backward = lib.custom_op(fwd_name + "_backward", backward,
                                     mutates_args=(), device_types="cuda",
                                     schema=bwd_schema)

            @backward.register_fake
            def _(q, k, v, o, grad_o, lse, *args):
                spec._bind_backward(q, k, v, o, grad_o, lse, args)
                return spec._allocate_backward(q, k, v)

        def setup_context(ctx, inputs, output):
            q, k, v = inputs[:3]
            o, lse = output
            args = list(inputs[3:])
            # Tensors through save_for_backward; numbers on ctx.
            tensors = [i for i, e in enumerate(spec._extras) if e.is_tensor]
            ctx.save_for_backward(q, k, v, o, lse,
                                  *(args[i] for i in tensors))
            for i in tensors:
                args[i] = None
            ctx.extra_numbers, ctx.extra_tensors = args, tensors
            ctx.mark_non_differentiable(lse)

        def autograd_backward(ctx, grad_o, grad_lse):
            spec._require_backward()
            if grad_o is None:
                return (None,) * (3 + n_extras)
            q, k, v, o, lse, *saved = ctx.saved_tensors
            args = list(ctx.extra_numbers)
            for i, t in zip(ctx.extra_tensors, saved):
                args[i] = t
            # The extras are inputs without a gradient.
            return tuple(backward(q, k, v, o, grad_o, lse, *args)) + (
                (None,) * n_extras)

        forward.register_autograd(autograd_backward,
                                  setup_context=setup_context)
        self._custom_ops = (forward, backward)
        ops = getattr(torch.ops.flashgen, self.op_name)
        self.forward_op = ops.default
        self.backward_op = (getattr(torch.ops.flashgen, self.op_name
                                    + "_backward").default
                            if backward is not None else None)

    def _register_test_double(self, forward, backward, device_type="cpu"):
        """TEST DOUBLE, for tests only: runs ``forward(q, k, v, **extras)
        -> (o, lse)`` and ``backward(q, k, v, o, grad_o, lse, **extras) ->
        (dq, dk, dv)`` (e.g. a float64 reference) as this op's kernels for
        tensors on ``device_type``, so that the registration, fake
        implementations and autograd wiring can be tested without a GPU.
        ``extras`` are the ones given that each kernel takes (none for a
        kernel without). Their results are copied into the outputs the real
        path allocates (same shapes and strides); lse is stored as f32."""
        def fill_forward(q, k, v, o, lse, extras):
            o_ref, lse_ref = forward(q, k, v, **extras)
            o.copy_(o_ref)
            if self.has_lse:
                lse.copy_(lse_ref)

        def fill_backward(q, k, v, o, grad_o, lse, dq, dk, dv, extras):
            for t, ref in zip((dq, dk, dv),
                              backward(q, k, v, o, grad_o, lse, **extras)):
                t.copy_(ref)

        self._impls[device_type] = (fill_forward, fill_backward)
        if self.forward_op is not None:
            fwd, bwd = self._custom_ops
            fwd.register_kernel(device_type, self._forward)
            if bwd is not None:
                bwd.register_kernel(device_type, self._backward)


def _spell(shape):
    return "[%s]" % ", ".join(str(d) for d in shape)


class _Function(torch.autograd.Function):
    """The autograd formula for a torch without custom ops (< 2.4): the
    same saved tensors and backward as the registered one."""

    @staticmethod
    def forward(ctx, op, q, k, v, *args):
        o, lse = op._forward(q, k, v, *args)
        ctx.op = op
        tensors = [i for i, e in enumerate(op._extras) if e.is_tensor]
        ctx.save_for_backward(q, k, v, o, lse, *(args[i] for i in tensors))
        ctx.extra_numbers = [None if i in tensors else a
                             for i, a in enumerate(args)]
        ctx.extra_tensors = tensors
        ctx.mark_non_differentiable(lse)
        return o, lse

    @staticmethod
    def backward(ctx, grad_o, grad_lse):
        op = ctx.op
        op._require_backward()
        none = (None,) * len(ctx.extra_numbers)
        if grad_o is None:
            return (None, None, None, None) + none
        q, k, v, o, lse, *saved = ctx.saved_tensors
        args = list(ctx.extra_numbers)
        for i, t in zip(ctx.extra_tensors, saved):
            args[i] = t
        return ((None,) + tuple(op._backward(q, k, v, o, grad_o, lse, *args))
                + none)


# The recurrences' operators (flash.linear_attention, flash.delta_rule) live
# in their own module, on the helpers above.
from ._torch_recurrence import RecurrenceOp, register_recurrence  # noqa: E402
