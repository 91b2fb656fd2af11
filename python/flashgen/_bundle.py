"""Devices and bundles: the objects ``flashgen.load`` and ``Bundle.kernel``
hand out, each owning a C API handle."""

import ctypes
import json

from . import _capi
from ._capi import api as _api
from ._errors import _check
from ._kernel import Kernel


def version():
    return _capi.text(_api().flashgen_version())


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
        return _capi.text(_api().flashgen_device_name(self._handle))

    @property
    def arch(self):
        return _capi.text(_api().flashgen_device_arch(self._handle))

    def __del__(self):
        lib = _capi.loaded()
        if getattr(self, "_handle", None) and lib is not None:
            lib.flashgen_device_release(self._handle)
            self._handle = None


def load(bundle_dir):
    """Loads a bundle directory (manifest.json + sources); no GPU needed."""
    return Bundle(bundle_dir)


class Bundle:
    def __init__(self, bundle_dir):
        path = _capi.encode(bundle_dir, "bundle path")
        self.path = _capi.text(path)
        self._handle = ctypes.c_void_p()
        _check(_api().flashgen_bundle_load(path, ctypes.byref(self._handle)))

    @property
    def target(self):
        return _capi.text(_api().flashgen_bundle_target(self._handle))

    @property
    def kernel_names(self):
        lib = _api()
        return [_capi.text(lib.flashgen_bundle_kernel_name(self._handle, i))
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
            self._handle, _capi.encode(kernel, "kernel"), int(variant),
            _capi.encode(arch or self.target, "arch"), ctypes.byref(report)))
        try:
            return json.loads(_capi.text(ctypes.string_at(report.value)))
        finally:
            _api().flashgen_free_string(report)

    def __del__(self):
        lib = _capi.loaded()
        if getattr(self, "_handle", None) and lib is not None:
            lib.flashgen_bundle_release(self._handle)
            self._handle = None
