"""flashgen: load compiler-generated kernel bundles and launch them.

A thin ctypes layer over the runtime's C API (docs/bundle-format.md §5)::

    import flashgen
    bundle = flashgen.load("out/causal_gqa.bundle")
    attn = bundle.kernel("causal_gqa")          # compiles (cached) for GPU 0
    attn(q, k, v, out=o)                        # torch tensors, current stream
    attn.tune(q, k, v, out=o)                   # time the variants at these sizes
    attn.autotune = True                        # or FLASHGEN_AUTOTUNE=1: tune
                                                # each new shape bucket on launch

Tensors are PyTorch tensors, objects with ``__cuda_array_interface__``, or
``flashgen.DeviceArray(ptr, shape, dtype, strides)`` for raw pointers;
every argument is checked by the runtime before the launch, and a bad one
raises FlashgenError naming it.
"""

import ctypes
import json

from . import _capi

__all__ = ["load", "Bundle", "Kernel", "Device", "DeviceArray",
           "FlashgenError", "device_count", "version"]

_lib = None


def _api():
    global _lib
    if _lib is None:
        _lib, _ = _capi.load_library()
    return _lib


class FlashgenError(RuntimeError):
    """A failed runtime call. ``status`` is the status name (e.g.
    "InvalidArgument", "NoDriver"), ``code`` its number, and the message is
    the runtime's, naming the argument, file or resource."""

    def __init__(self, code, message):
        self.code = code
        self.status = (_capi.STATUS_NAMES[code]
                       if 0 <= code < len(_capi.STATUS_NAMES) else str(code))
        super().__init__("%s: %s" % (self.status, message))


def _check(code):
    if code != 0:
        raise FlashgenError(code, _api().flashgen_last_error().decode())


def version():
    return _api().flashgen_version().decode()


def device_count():
    """Number of GPUs; raises FlashgenError (NoDriver) without a driver."""
    n = ctypes.c_int(0)
    _check(_api().flashgen_device_count(ctypes.byref(n)))
    return n.value


class Device:
    """An open GPU (its primary context, shared with PyTorch)."""

    def __init__(self, ordinal=0):
        self._handle = ctypes.c_void_p()
        _check(_api().flashgen_device_open(int(ordinal), ctypes.byref(self._handle)))
        self.ordinal = int(ordinal)

    @property
    def name(self):
        return _api().flashgen_device_name(self._handle).decode()

    @property
    def arch(self):
        return _api().flashgen_device_arch(self._handle).decode()

    def __del__(self):
        if getattr(self, "_handle", None) and _lib is not None:
            _lib.flashgen_device_release(self._handle)
            self._handle = None


def load(bundle_dir):
    """Loads a bundle directory (manifest.json + sources); no GPU needed."""
    return Bundle(bundle_dir)


class Bundle:
    def __init__(self, bundle_dir):
        self.path = str(bundle_dir)
        self._handle = ctypes.c_void_p()
        _check(_api().flashgen_bundle_load(self.path.encode(),
                                           ctypes.byref(self._handle)))

    @property
    def target(self):
        return _api().flashgen_bundle_target(self._handle).decode()

    @property
    def kernel_names(self):
        lib = _api()
        return [lib.flashgen_bundle_kernel_name(self._handle, i).decode()
                for i in range(lib.flashgen_bundle_num_kernels(self._handle))]

    def kernel(self, name, device=0):
        """Prepares kernel ``name`` for ``device`` (an ordinal or Device).
        ``device=None`` gives a kernel that validates but cannot launch."""
        if device is not None and not isinstance(device, Device):
            device = Device(int(getattr(device, "index", device) or 0))
        return Kernel(self, name, device)

    def compile(self, kernel, variant=0, arch=None):
        """Compiles one variant for ``arch`` (default: the bundle's target)
        without a GPU; returns the compile report as a dict."""
        report = ctypes.c_void_p()
        _check(_api().flashgen_bundle_compile_variant(
            self._handle, kernel.encode(), int(variant),
            (arch or self.target).encode(), ctypes.byref(report)))
        try:
            return json.loads(ctypes.string_at(report.value).decode())
        finally:
            _api().flashgen_free_string(report)

    def __del__(self):
        if getattr(self, "_handle", None) and _lib is not None:
            _lib.flashgen_bundle_release(self._handle)
            self._handle = None


# torch dtype names -> flashgen dtypes (compared by name: no torch import).
_TORCH_DTYPES = {
    "torch.bfloat16": _capi.BF16, "torch.float16": _capi.F16,
    "torch.float32": _capi.F32, "torch.float64": _capi.F64,
    "torch.int8": _capi.I8, "torch.uint8": _capi.U8, "torch.bool": _capi.U8,
    "torch.int32": _capi.I32, "torch.int64": _capi.I64,
}
# __cuda_array_interface__ typestrs (bf16 has none in the protocol).
_TYPESTRS = {
    "<f2": _capi.F16, "<f4": _capi.F32, "<f8": _capi.F64, "|i1": _capi.I8,
    "|u1": _capi.U8, "|b1": _capi.U8, "<i4": _capi.I32, "<i8": _capi.I64,
}
_ITEMSIZE = {_capi.BF16: 2, _capi.F16: 2, _capi.F32: 4, _capi.F64: 8,
             _capi.I8: 1, _capi.U8: 1, _capi.I32: 4, _capi.I64: 8}
_IO_NAMES = ("in", "out", "inout")


class DeviceArray:
    """A raw device pointer with its shape: for memory that is neither a torch
    tensor nor exposes __cuda_array_interface__ (which has no bf16).
    ``dtype`` is a manifest spelling ("bf16", "f32", ...); ``strides`` are in
    elements, None for contiguous."""

    def __init__(self, ptr, shape, dtype, strides=None):
        codes = {v: k for k, v in _capi.DTYPE_NAMES.items()}
        if dtype not in codes:
            raise FlashgenError(1, "dtype: unknown %r (known: %s)"
                                % (dtype, ", ".join(sorted(codes))))
        self.ptr, self.shape, self.dtype = int(ptr), tuple(shape), dtype
        self.strides = None if strides is None else tuple(strides)
        self._code = codes[dtype]


def _is_torch_tensor(obj):
    return type(obj).__module__.startswith("torch") and hasattr(obj, "data_ptr")


def _describe(name, obj):
    """(data pointer, dtype, sizes, strides in elements) of one argument."""
    if isinstance(obj, DeviceArray):
        return obj.ptr, obj._code, obj.shape, obj.strides
    if _is_torch_tensor(obj):
        if obj.device.type != "cuda":
            raise FlashgenError(1, "%s: tensor is on %s, not on a CUDA device"
                                % (name, obj.device))
        dtype = _TORCH_DTYPES.get(str(obj.dtype))
        if dtype is None:
            raise FlashgenError(1, "%s: unsupported dtype %s" % (name, obj.dtype))
        return obj.data_ptr(), dtype, tuple(obj.shape), tuple(obj.stride())
    cai = getattr(obj, "__cuda_array_interface__", None)
    if cai is None:
        raise FlashgenError(1, "%s: expected a torch tensor or an object with "
                            "__cuda_array_interface__, got %s"
                            % (name, type(obj).__name__))
    typestr = cai["typestr"]
    dtype = _TYPESTRS.get(typestr)
    if dtype is None:
        raise FlashgenError(1, "%s: unsupported typestr %r" % (name, typestr))
    itemsize = int(typestr[2:])
    shape = tuple(int(s) for s in cai["shape"])
    strides = cai.get("strides")
    if strides is None:
        elems = None
    else:
        if any(s % itemsize for s in strides):
            raise FlashgenError(1, "%s: byte strides %s are not multiples of "
                                "the element size %d" % (name, strides, itemsize))
        elems = tuple(s // itemsize for s in strides)
    return int(cai["data"][0] or 0), dtype, shape, elems


def _stream_handle(stream, tensors):
    """CUstream from None (PyTorch's current stream when torch tensors are
    passed, else the default stream), an int, a torch.cuda.Stream, or an
    object with __cuda_stream__."""
    if stream is None:
        for t in tensors:
            if t is not None and _is_torch_tensor(t):
                import torch
                return torch.cuda.current_stream(t.device).cuda_stream
        return 0
    if isinstance(stream, int):
        return stream
    if hasattr(stream, "__cuda_stream__"):
        return int(stream.__cuda_stream__()[1])
    if hasattr(stream, "cuda_stream"):
        return int(stream.cuda_stream)
    raise FlashgenError(1, "stream: expected None, an int, or a CUDA stream "
                        "object, got %s" % type(stream).__name__)


class Kernel:
    """A prepared kernel. Call it with the manifest's params: positionally
    in order, by name, and/or ``out=`` for the output param(s); scalars by
    name (``scale=0.1``)."""

    def __init__(self, bundle, name, device):
        lib = _api()
        self.bundle, self.device, self.name = bundle, device, name
        self._handle = ctypes.c_void_p()
        _check(lib.flashgen_bundle_get_kernel(
            bundle._handle, name.encode(),
            device._handle if device is not None else None,
            ctypes.byref(self._handle)))
        h = self._handle
        self.params = [dict(name=lib.flashgen_kernel_param_name(h, i).decode(),
                            io=_IO_NAMES[lib.flashgen_kernel_param_io(h, i)],
                            optional=bool(lib.flashgen_kernel_param_optional(h, i)),
                            dtype=_capi.DTYPE_NAMES.get(
                                lib.flashgen_kernel_param_dtype(h, i)),
                            rank=lib.flashgen_kernel_param_rank(h, i))
                       for i in range(lib.flashgen_kernel_num_params(h))]
        self.scalars = [dict(name=lib.flashgen_kernel_scalar_name(h, i).decode(),
                             dtype=_capi.DTYPE_NAMES.get(
                                 lib.flashgen_kernel_scalar_dtype(h, i)),
                             has_default=bool(
                                 lib.flashgen_kernel_scalar_has_default(h, i)))
                        for i in range(lib.flashgen_kernel_num_scalars(h))]

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
            return json.loads(ctypes.string_at(report.value).decode())
        finally:
            lib.flashgen_free_string(report)

    def variant_for(self, *args, **kwargs):
        """The variant a launch with these arguments runs now (the bucket's
        tuned winner while autotuning, else ``variant``); never tunes."""
        t, nt, _, _, _, _keep = self._bind(args, kwargs)
        return _api().flashgen_kernel_variant_for(self._handle, t, nt)

    def _bind(self, args, kwargs):
        """Maps Python arguments to the C arrays, in manifest order."""
        values = [None] * len(self.params)
        names = [p["name"] for p in self.params]
        if len(args) > len(names):
            raise FlashgenError(1, "%s takes %d tensors (%s), got %d positional"
                                % (self.name, len(names), ", ".join(names),
                                   len(args)))
        for i, a in enumerate(args):
            values[i] = a
        out = kwargs.pop("out", None)
        if out is not None:
            outs = list(out) if isinstance(out, (tuple, list)) else [out]
            slots = [i for i, p in enumerate(self.params)
                     if p["io"] != "in" and values[i] is None]
            if len(outs) > len(slots):
                raise FlashgenError(1, "out: %d tensors given, %s has %d "
                                    "unfilled output params" %
                                    (len(outs), self.name, len(slots)))
            for i, t in zip(slots, outs):
                values[i] = t
        scalar_names = [s["name"] for s in self.scalars]
        scalars = (_capi.Scalar * max(1, len(self.scalars)))()
        for key, value in kwargs.items():
            if key in names:
                if values[names.index(key)] is not None:
                    raise FlashgenError(1, "%s: given twice" % key)
                values[names.index(key)] = value
            elif key in scalar_names:
                s = scalars[scalar_names.index(key)]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise FlashgenError(1, "scalar %s: expected a number, got %s"
                                        % (key, type(value).__name__))
                if isinstance(value, int):
                    s.dtype, s.i = _capi.I64, value
                else:
                    s.dtype, s.f = _capi.F32, float(value)
            else:
                raise FlashgenError(1, "%s has no param or scalar named %s "
                                    "(params: %s; scalars: %s)" %
                                    (self.name, key, ", ".join(names),
                                     ", ".join(scalar_names) or "none"))
        tensors = (_capi.Tensor * max(1, len(values)))()
        keep = []  # the ctypes arrays must outlive the call
        for i, (p, v) in enumerate(zip(self.params, values)):
            if v is None:
                if not p["optional"]:
                    raise FlashgenError(1, "%s: missing (required %s param of %s)"
                                        % (p["name"], p["io"], self.name))
                tensors[i].rank = p["rank"]
                continue
            ptr, dtype, shape, strides = _describe(p["name"], v)
            sizes = (ctypes.c_int64 * max(1, len(shape)))(*shape)
            keep.append(sizes)
            tensors[i].data = ptr or None
            tensors[i].dtype = dtype
            tensors[i].rank = len(shape)
            tensors[i].sizes = sizes
            if strides is not None:
                st = (ctypes.c_int64 * max(1, len(strides)))(*strides)
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
            ptr, dtype, shape, _ = _describe("workspace", workspace)
            n = 1
            for extent in shape:
                n *= extent
            opts.workspace = ptr
            opts.workspace_bytes = n * _ITEMSIZE[dtype]
        _check(_api().flashgen_kernel_launch(self._handle, t, nt, s, ns,
                                             ctypes.byref(opts)))
        return out

    def __del__(self):
        if getattr(self, "_handle", None) and _lib is not None:
            _lib.flashgen_kernel_release(self._handle)
            self._handle = None

