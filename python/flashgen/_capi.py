"""ctypes declarations of the flashgen C API, and the libraries behind it.

Two shared libraries implement it: ``libflashgen_runtime.so``
(runtime/include/flashgen/runtime_c.h) and ``libflashgen_autotune.so``
(autotune/include/flashgen/autotune_c.h), which is layered on the runtime.
The runtime library is found, in order, at ``$FLASHGEN_LIB``, next to this
package, in ``<repo>/build*/lib/`` of a source checkout, and finally through
the dynamic loader's search path (``LD_LIBRARY_PATH``); the autotune library
is looked for beside it, then through the loader. Loading the autotune
library is also what makes ``FLASHGEN_AUTOTUNE=1`` tune kernels (it registers
its variant chooser with the runtime), so it is loaded first thing. Without
it everything but tuning works.

No build step: the declarations below mirror the headers by hand, and
``Tensor``/``Scalar`` match the C structs field for field;
test/unit/runtime/python_capi_test.py checks them against the headers.
"""

import ctypes
import glob
import os

LIB_NAME = "libflashgen_runtime.so"
AUTOTUNE_LIB_NAME = "libflashgen_autotune.so"

# flashgen_dtype_t
DTYPE_NONE, BF16, F16, F32, F64, I8, U8, I32, I64 = range(9)
DTYPE_NAMES = {BF16: "bf16", F16: "f16", F32: "f32", F64: "f64", I8: "i8",
               U8: "u8", I32: "i32", I64: "i64"}

# flashgen_status_t names, for exceptions.
STATUS_NAMES = ["Ok", "InvalidArgument", "BundleFormat", "FileError",
                "NotFound", "NoDriver", "NoDevice", "UnsupportedArch",
                "CompileError", "OutOfResources", "CudaError", "OutOfMemory",
                "Internal"]


class Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int32),
                ("rank", ctypes.c_int32),
                ("sizes", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64))]


class Scalar(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int32), ("reserved", ctypes.c_int32),
                ("f", ctypes.c_double), ("i", ctypes.c_int64)]


class LaunchOptions(ctypes.Structure):
    _fields_ = [("stream", ctypes.c_void_p), ("workspace", ctypes.c_void_p),
                ("workspace_bytes", ctypes.c_size_t)]


class TuneOptions(ctypes.Structure):
    _fields_ = [("reps", ctypes.c_int), ("progress", ctypes.c_int),
                ("force", ctypes.c_int), ("write_file", ctypes.c_int),
                ("warmup_ms", ctypes.c_double), ("tolerance", ctypes.c_double),
                ("min_improvement", ctypes.c_double)]


def _candidates():
    env = os.environ.get("FLASHGEN_LIB")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, LIB_NAME)
    repo = os.path.dirname(os.path.dirname(here))
    for path in sorted(glob.glob(os.path.join(repo, "build*", "lib", LIB_NAME))):
        yield path
    yield LIB_NAME  # the loader's own search


# name: (restype, argtypes), as the header declares it; handles are void*.
_int, _char_p, _void_p, _size_t = (ctypes.c_int, ctypes.c_char_p,
                                   ctypes.c_void_p, ctypes.c_size_t)
_handle = _void_p
_P = ctypes.POINTER
_ARGS = [_handle, _P(Tensor), _size_t, _P(Scalar), _size_t]  # launch-like

# runtime_c.h (libflashgen_runtime.so).
RUNTIME_FUNCTIONS = {
    "flashgen_last_error": (_char_p, []),
    "flashgen_status_name": (_char_p, [_int]),
    "flashgen_version": (_char_p, []),
    "flashgen_device_count": (_int, [_P(_int)]),
    "flashgen_device_open": (_int, [_int, _P(_handle)]),
    "flashgen_device_release": (None, [_handle]),
    "flashgen_device_name": (_char_p, [_handle]),
    "flashgen_device_arch": (_char_p, [_handle]),
    "flashgen_bundle_load": (_int, [_char_p, _P(_handle)]),
    "flashgen_bundle_release": (None, [_handle]),
    "flashgen_bundle_num_kernels": (_int, [_handle]),
    "flashgen_bundle_kernel_name": (_char_p, [_handle, _int]),
    "flashgen_bundle_target": (_char_p, [_handle]),
    "flashgen_bundle_compile_variant": (
        _int, [_handle, _char_p, _int, _char_p, _P(_void_p)]),
    "flashgen_free_string": (None, [_void_p]),
    "flashgen_bundle_get_kernel": (
        _int, [_handle, _char_p, _handle, _P(_handle)]),
    "flashgen_kernel_release": (None, [_handle]),
    "flashgen_kernel_num_params": (_int, [_handle]),
    "flashgen_kernel_param_name": (_char_p, [_handle, _int]),
    "flashgen_kernel_param_io": (_int, [_handle, _int]),
    "flashgen_kernel_param_optional": (_int, [_handle, _int]),
    "flashgen_kernel_param_dtype": (_int, [_handle, _int]),
    "flashgen_kernel_param_rank": (_int, [_handle, _int]),
    "flashgen_kernel_num_scalars": (_int, [_handle]),
    "flashgen_kernel_scalar_name": (_char_p, [_handle, _int]),
    "flashgen_kernel_scalar_dtype": (_int, [_handle, _int]),
    "flashgen_kernel_scalar_has_default": (_int, [_handle, _int]),
    "flashgen_kernel_num_variants": (_int, [_handle]),
    "flashgen_kernel_variant": (_int, [_handle]),
    "flashgen_kernel_select_variant": (_int, [_handle, _int]),
    "flashgen_kernel_validate": (_int, _ARGS),
    "flashgen_kernel_workspace_bytes": (_int, _ARGS + [_P(_size_t)]),
    "flashgen_kernel_reserve_workspace": (_int, [_handle, _size_t]),
    "flashgen_kernel_launch": (_int, _ARGS + [_P(LaunchOptions)]),
    "flashgen_kernel_variant_for": (_int, [_handle, _P(Tensor), _size_t]),
}

# autotune_c.h (libflashgen_autotune.so).
AUTOTUNE_FUNCTIONS = {
    "flashgen_tune_options_init": (None, [_P(TuneOptions)]),
    "flashgen_kernel_tune": (
        _int, _ARGS + [_P(TuneOptions), _P(_void_p)]),
    "flashgen_kernel_set_autotune": (_int, [_handle, _int]),
    "flashgen_kernel_autotune": (_int, [_handle]),
}


def _declare(lib, functions):
    for name, (restype, argtypes) in functions.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def _missing(name, why):
    def call(*args):
        raise OSError("flashgen: %s needs %s, which could not be loaded (%s)"
                      % (name, AUTOTUNE_LIB_NAME, why))
    return call


class Library:
    """The C API as one object: each function is an attribute, bound to the
    library that implements it. ``path`` is the runtime library's,
    ``autotune_path`` the autotune library's (None when it is missing)."""

    def __init__(self, runtime, path, autotune, autotune_path, why=None):
        self.path, self.autotune_path = path, autotune_path
        _declare(runtime, RUNTIME_FUNCTIONS)
        for name in RUNTIME_FUNCTIONS:
            setattr(self, name, getattr(runtime, name))
        if autotune is not None:
            _declare(autotune, AUTOTUNE_FUNCTIONS)
        for name in AUTOTUNE_FUNCTIONS:
            setattr(self, name, getattr(autotune, name) if autotune is not None
                    else _missing(name, why))
        # Keep the CDLLs alive as long as the functions.
        self._libs = (runtime, autotune)


def _load_autotune(runtime_path):
    """The autotune library beside the runtime's, else the loader's."""
    tried = []
    here = os.path.dirname(runtime_path)
    for path in ([os.path.join(here, AUTOTUNE_LIB_NAME)] if here else []) + \
            [AUTOTUNE_LIB_NAME]:
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (missing)")
            continue
        try:
            return ctypes.CDLL(path), path, None
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    return None, None, "tried: " + "; ".join(tried)


def load_library():
    """Loads and declares the C API: (Library, runtime library path). Raises
    OSError listing where it looked when the runtime library is missing."""
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (missing)")
            continue
        try:
            runtime = ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
            continue
        # Loaded after the runtime: its reference to libflashgen_runtime.so
        # then resolves to the copy just loaded, whatever its own search path.
        autotune, autotune_path, why = _load_autotune(path)
        return Library(runtime, path, autotune, autotune_path, why), path
    raise OSError("flashgen: cannot load %s; set FLASHGEN_LIB to its path. "
                  "Tried: %s" % (LIB_NAME, "; ".join(tried)))


_library = None

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def text(raw):
    """A C string from the library as str: None as "", bytes that are not
    UTF-8 (a path or a compiler log may hold any) replaced, never raising."""
    if raw is None:
        return ""
    return raw.decode("utf-8", "replace")


def encode(value, what):
    """str (or bytes/os.PathLike) to bytes for a C string argument; paths
    keep undecodable bytes (os.fsencode)."""
    import os
    from ._errors import FlashgenError
    try:
        if isinstance(value, bytes):
            data = value
        elif isinstance(value, str):
            data = value.encode("utf-8", "surrogateescape")
        else:
            data = os.fsencode(value)
    except (TypeError, ValueError) as e:
        raise FlashgenError(1, "%s: expected a string, got %s (%s)"
                            % (what, type(value).__name__, e)) from None
    if b"\0" in data:
        raise FlashgenError(1, "%s: contains a NUL byte" % what)
    return data


def api():
    """The C API (a Library), loaded on first use."""
    global _library
    if _library is None:
        _library, _ = load_library()
    return _library


def loaded():
    """The C API if it has been loaded, else None: finalizers release
    handles only through a library that is there."""
    return _library
