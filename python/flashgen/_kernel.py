"""Kernel: a prepared kernel of a bundle. Maps Python arguments to the C
API's tensor and scalar arrays in manifest order, launches, validates, and
tunes (the tuning entry points come from libflashgen_autotune.so)."""

import ctypes
import json
import operator

from . import _capi
from ._capi import api as _api
from ._errors import FlashgenError, _check
from ._torch import _ITEMSIZE, _describe, _stream_handle

_IO_NAMES = ("in", "out", "inout")
# ctypes array types of int64 by length: a type built per call costs more
# than the array.
_INT64_ARRAYS = [None] + [ctypes.c_int64 * n for n in range(1, 17)]


def _int64_array(values):
    n = max(1, len(values))
    kind = _INT64_ARRAYS[n] if n < len(_INT64_ARRAYS) else ctypes.c_int64 * n
    return kind(*values)


def _int64s(name, what, values, smallest):
    """`values` as a tuple of ints in [smallest, INT64_MAX]: the C API takes
    int64_t, and ctypes would wrap a larger Python int silently."""
    if all(type(v) is int for v in values) and (
            not values or (min(values) >= smallest and max(values) <= _capi.INT64_MAX)):
        return tuple(values)  # the common case, checked at C speed
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool):
            raise FlashgenError(1, "%s: %s[%d] is a bool" % (name, what, i))
        try:
            v = operator.index(v)
        except TypeError:
            raise FlashgenError(1, "%s: %s[%d] is %s, not an integer"
                                % (name, what, i, type(v).__name__)) from None
        if not smallest <= v <= _capi.INT64_MAX:
            raise FlashgenError(1, "%s: %s[%d] = %d is outside [%d, %d]"
                                % (name, what, i, v, smallest,
                                   _capi.INT64_MAX))
        out.append(v)
    return tuple(out)


def _checked(name, value):
    """_describe with every field checked: a pointer that fits 64 bits,
    sizes and strides that fit int64_t, one stride per dim; and any error on
    the way is a FlashgenError."""
    try:
        ptr, dtype, shape, strides = _describe(name, value)
        shape = tuple(shape)
        strides = None if strides is None else tuple(strides)
        ptr = operator.index(ptr or 0)
    except FlashgenError:
        raise
    except Exception as e:  # a malformed __cuda_array_interface__, ...
        raise FlashgenError(1, "%s: cannot read the tensor (%s: %s)"
                            % (name, type(e).__name__, e)) from None
    if not 0 <= ptr < (1 << 64):
        raise FlashgenError(1, "%s: pointer %d does not fit in 64 bits"
                            % (name, ptr))
    shape = _int64s(name, "shape", shape, 0)
    if strides is not None:
        strides = _int64s(name, "strides", strides, _capi.INT64_MIN)
        if len(strides) != len(shape):
            raise FlashgenError(1, "%s: %d strides for %d dims"
                                % (name, len(strides), len(shape)))
    return ptr, dtype, shape, strides


class Kernel:
    """A prepared kernel. Call it with the manifest's params: positionally
    in order, by name, and/or ``out=`` for the output param(s); scalars by
    name (``scale=0.1``)."""

    def __init__(self, bundle, name, device):
        lib = _api()
        self.bundle, self.device, self.name = bundle, device, name
        self._handle = ctypes.c_void_p()
        _check(lib.flashgen_bundle_get_kernel(
            bundle._handle, _capi.encode(name, "kernel name"),
            device._handle if device is not None else None,
            ctypes.byref(self._handle)))
        h = self._handle
        self.params = [dict(name=_capi.text(lib.flashgen_kernel_param_name(h, i)),
                            io=_IO_NAMES[lib.flashgen_kernel_param_io(h, i)],
                            optional=bool(lib.flashgen_kernel_param_optional(h, i)),
                            dtype=_capi.DTYPE_NAMES.get(
                                lib.flashgen_kernel_param_dtype(h, i)),
                            rank=lib.flashgen_kernel_param_rank(h, i))
                       for i in range(lib.flashgen_kernel_num_params(h))]
        self.scalars = [dict(name=_capi.text(lib.flashgen_kernel_scalar_name(h, i)),
                             dtype=_capi.DTYPE_NAMES.get(
                                 lib.flashgen_kernel_scalar_dtype(h, i)),
                             has_default=bool(
                                 lib.flashgen_kernel_scalar_has_default(h, i)))
                        for i in range(lib.flashgen_kernel_num_scalars(h))]
        # What every launch looks up, built once: the per-call binding is a
        # launch's host cost, which a small decode step is bound by.
        self._param_names = [p["name"] for p in self.params]
        self._param_index = {n: i for i, n in enumerate(self._param_names)}
        self._output_slots = [i for i, p in enumerate(self.params) if p["io"] != "in"]
        self._scalar_index = {s["name"]: i for i, s in enumerate(self.scalars)}

    @property
    def num_variants(self):
        return _api().flashgen_kernel_num_variants(self._handle)

    @property
    def variant(self):
        return _api().flashgen_kernel_variant(self._handle)

    def select_variant(self, index):
        """Runs variant ``index`` from now on (and turns autotuning off)."""
        _check(_api().flashgen_kernel_select_variant(self._handle, int(index)))

    @property
    def autotune(self):
        """While true, the first launch of each shape bucket times the
        variants (or reads the tuning file) and later launches run the
        winner. Starts as FLASHGEN_AUTOTUNE says."""
        return bool(_api().flashgen_kernel_autotune(self._handle))

    @autotune.setter
    def autotune(self, enabled):
        _check(_api().flashgen_kernel_set_autotune(self._handle,
                                                   1 if enabled else 0))

    def tune(self, *args, reps=None, warmup_ms=None, tolerance=None,
             min_improvement=None, progress=True, force=False,
             write_file=True, **kwargs):
        """Times the variants for the shape bucket of these arguments
        (passed as to a launch; only their sizes are used, their memory is
        never touched) and records the winner. Returns the report as a dict
        (docs/autotune.md): ``winner``, ``speedup`` over variant 0,
        ``candidates`` with each one's median ms or why it was dropped."""
        t, nt, s, ns, _, _keep = self._bind(args, kwargs)
        lib = _api()
        opts = _capi.TuneOptions()
        lib.flashgen_tune_options_init(ctypes.byref(opts))
        if reps is not None:
            opts.reps = int(reps)
        if warmup_ms is not None:
            opts.warmup_ms = float(warmup_ms)
        if tolerance is not None:
            opts.tolerance = float(tolerance)
        if min_improvement is not None:
            opts.min_improvement = float(min_improvement)
        opts.progress = 1 if progress else 0
        opts.force = 1 if force else 0
        opts.write_file = 1 if write_file else 0
        report = ctypes.c_void_p()
        _check(lib.flashgen_kernel_tune(self._handle, t, nt, s, ns,
                                        ctypes.byref(opts),
                                        ctypes.byref(report)))
        try:
            return json.loads(_capi.text(ctypes.string_at(report.value)))
        finally:
            lib.flashgen_free_string(report)

    def variant_for(self, *args, **kwargs):
        """The variant a launch with these arguments runs now (the bucket's
        tuned winner while autotuning; else, until select_variant, the
        manifest's size rule for these sizes; else ``variant``); never
        tunes."""
        t, nt, _, _, _, _keep = self._bind(args, kwargs)
        return _api().flashgen_kernel_variant_for(self._handle, t, nt)

    def _bind(self, args, kwargs):
        """Maps Python arguments to the C arrays, in manifest order."""
        values = [None] * len(self.params)
        names = self._param_names
        if len(args) > len(names):
            raise FlashgenError(1, "%s takes %d tensors (%s), got %d positional"
                                % (self.name, len(names), ", ".join(names),
                                   len(args)))
        for i, a in enumerate(args):
            values[i] = a
        out = kwargs.pop("out", None)
        if out is not None:
            outs = list(out) if isinstance(out, (tuple, list)) else [out]
            slots = [i for i in self._output_slots if values[i] is None]
            if len(outs) > len(slots):
                raise FlashgenError(1, "out: %d tensors given, %s has %d "
                                    "unfilled output params" %
                                    (len(outs), self.name, len(slots)))
            for i, t in zip(slots, outs):
                values[i] = t
        scalars = (_capi.Scalar * max(1, len(self.scalars)))()
        for key, value in kwargs.items():
            if key in self._param_index:
                if values[self._param_index[key]] is not None:
                    raise FlashgenError(1, "%s: given twice" % key)
                values[self._param_index[key]] = value
            elif key in self._scalar_index:
                s = scalars[self._scalar_index[key]]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise FlashgenError(1, "scalar %s: expected a number, got %s"
                                        % (key, type(value).__name__))
                if isinstance(value, int):
                    if not _capi.INT64_MIN <= value <= _capi.INT64_MAX:
                        raise FlashgenError(1, "scalar %s: %d does not fit "
                                            "in 64 bits" % (key, value))
                    s.dtype, s.i = _capi.I64, value
                else:
                    s.dtype, s.f = _capi.F32, float(value)
            else:
                raise FlashgenError(1, "%s has no param or scalar named %s "
                                    "(params: %s; scalars: %s)" %
                                    (self.name, key, ", ".join(names),
                                     ", ".join(self._scalar_index) or "none"))
        tensors = (_capi.Tensor * max(1, len(values)))()
        keep = []  # the ctypes arrays must outlive the call
        for i, (p, v) in enumerate(zip(self.params, values)):
            if v is None:
                if not p["optional"]:
                    raise FlashgenError(1, "%s: missing (required %s param of %s)"
                                        % (p["name"], p["io"], self.name))
                tensors[i].rank = p["rank"]
                continue
            ptr, dtype, shape, strides = _checked(p["name"], v)
            sizes = _int64_array(shape)
            keep.append(sizes)
            tensors[i].data = ptr or None
            tensors[i].dtype = dtype
            tensors[i].rank = len(shape)
            tensors[i].sizes = sizes
            if strides is not None:
                st = _int64_array(strides)
                keep.append(st)
                tensors[i].strides = st
        return tensors, len(values), scalars, len(self.scalars), values, keep

    def validate(self, *args, **kwargs):
        """Runs every check of a launch without launching (no GPU needed)."""
        t, nt, s, ns, _, _keep = self._bind(args, kwargs)
        _check(_api().flashgen_kernel_validate(self._handle, t, nt, s, ns))

    def workspace_bytes(self, *args, **kwargs):
        t, nt, s, ns, _, _keep = self._bind(args, kwargs)
        n = ctypes.c_size_t(0)
        _check(_api().flashgen_kernel_workspace_bytes(self._handle, t, nt, s, ns,
                                                      ctypes.byref(n)))
        return n.value

    def reserve_workspace(self, nbytes):
        _check(_api().flashgen_kernel_reserve_workspace(self._handle, int(nbytes)))

    def __call__(self, *args, stream=None, workspace=None, **kwargs):
        """Launches on ``stream`` (default: PyTorch's current stream). Returns
        ``out`` when given. ``workspace`` is an optional device tensor/buffer."""
        out = kwargs.get("out")
        t, nt, s, ns, values, _keep = self._bind(args, kwargs)
        opts = _capi.LaunchOptions()
        opts.stream = _stream_handle(stream, values) or None
        if workspace is not None:
            ptr, dtype, shape, _ = _checked("workspace", workspace)
            n = _ITEMSIZE[dtype]
            for extent in shape:
                n *= extent
            if n > (1 << 64) - 1:
                raise FlashgenError(1, "workspace: %d bytes do not fit in "
                                    "size_t" % n)
            opts.workspace = ptr
            opts.workspace_bytes = n
        _check(_api().flashgen_kernel_launch(self._handle, t, nt, s, ns,
                                             ctypes.byref(opts)))
        return out

    def __del__(self):
        lib = _capi.loaded()
        if getattr(self, "_handle", None) and lib is not None:
            lib.flashgen_kernel_release(self._handle)
            self._handle = None
