"""Arguments from PyTorch and friends: torch tensors, objects with
``__cuda_array_interface__``, and ``DeviceArray`` for raw pointers, turned
into (pointer, dtype, sizes, strides); and CUDA streams from torch or
``__cuda_stream__``. torch itself is imported only to ask for its current
stream, so the package works without it."""

from . import _capi
from ._errors import FlashgenError


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
        try:
            self.ptr, self.shape, self.dtype = int(ptr), tuple(shape), dtype
            self.strides = None if strides is None else tuple(strides)
        except (TypeError, ValueError) as e:
            raise FlashgenError(1, "DeviceArray: %s" % e) from None
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
