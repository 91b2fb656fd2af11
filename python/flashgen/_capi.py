"""ctypes declarations of the flashgen C API (runtime/include/flashgen/runtime_c.h).

The shared library is found, in order, at ``$FLASHGEN_LIB``, next to this
package, in ``<repo>/build*/lib/`` of a source checkout, and finally through
the dynamic loader's search path (``LD_LIBRARY_PATH``). No build step: the
declarations below mirror the header by hand, and ``Tensor``/``Scalar`` match
the C structs field for field.
"""

import ctypes
import glob
import os

LIB_NAME = "libflashgen_runtime.so"

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


def _declare(lib):
    c_int, c_char_p, c_void_p = ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p
    handle = c_void_p
    sig = {
        "flashgen_last_error": (c_char_p, []),
        "flashgen_status_name": (c_char_p, [c_int]),
        "flashgen_version": (c_char_p, []),
        "flashgen_device_count": (c_int, [ctypes.POINTER(c_int)]),
        "flashgen_device_open": (c_int, [c_int, ctypes.POINTER(handle)]),
        "flashgen_device_release": (None, [handle]),
        "flashgen_device_name": (c_char_p, [handle]),
        "flashgen_device_arch": (c_char_p, [handle]),
        "flashgen_bundle_load": (c_int, [c_char_p, ctypes.POINTER(handle)]),
        "flashgen_bundle_release": (None, [handle]),
        "flashgen_bundle_num_kernels": (c_int, [handle]),
        "flashgen_bundle_kernel_name": (c_char_p, [handle, c_int]),
        "flashgen_bundle_target": (c_char_p, [handle]),
        "flashgen_bundle_compile_variant": (
            c_int, [handle, c_char_p, c_int, c_char_p,
                    ctypes.POINTER(ctypes.c_void_p)]),
        "flashgen_free_string": (None, [c_void_p]),
        "flashgen_bundle_get_kernel": (
            c_int, [handle, c_char_p, handle, ctypes.POINTER(handle)]),
        "flashgen_kernel_release": (None, [handle]),
        "flashgen_kernel_num_params": (c_int, [handle]),
        "flashgen_kernel_param_name": (c_char_p, [handle, c_int]),
        "flashgen_kernel_param_io": (c_int, [handle, c_int]),
        "flashgen_kernel_param_optional": (c_int, [handle, c_int]),
        "flashgen_kernel_param_dtype": (c_int, [handle, c_int]),
        "flashgen_kernel_param_rank": (c_int, [handle, c_int]),
        "flashgen_kernel_num_scalars": (c_int, [handle]),
        "flashgen_kernel_scalar_name": (c_char_p, [handle, c_int]),
        "flashgen_kernel_scalar_dtype": (c_int, [handle, c_int]),
        "flashgen_kernel_scalar_has_default": (c_int, [handle, c_int]),
        "flashgen_kernel_num_variants": (c_int, [handle]),
        "flashgen_kernel_variant": (c_int, [handle]),
        "flashgen_kernel_select_variant": (c_int, [handle, c_int]),
        "flashgen_kernel_validate": (
            c_int, [handle, ctypes.POINTER(Tensor), ctypes.c_size_t,
                    ctypes.POINTER(Scalar), ctypes.c_size_t]),
        "flashgen_kernel_workspace_bytes": (
            c_int, [handle, ctypes.POINTER(Tensor), ctypes.c_size_t,
                    ctypes.POINTER(Scalar), ctypes.c_size_t,
                    ctypes.POINTER(ctypes.c_size_t)]),
        "flashgen_kernel_reserve_workspace": (c_int, [handle, ctypes.c_size_t]),
        "flashgen_kernel_launch": (
            c_int, [handle, ctypes.POINTER(Tensor), ctypes.c_size_t,
                    ctypes.POINTER(Scalar), ctypes.c_size_t,
                    ctypes.POINTER(LaunchOptions)]),
        "flashgen_tune_options_init": (None, [ctypes.POINTER(TuneOptions)]),
        "flashgen_kernel_tune": (
            c_int, [handle, ctypes.POINTER(Tensor), ctypes.c_size_t,
                    ctypes.POINTER(Scalar), ctypes.c_size_t,
                    ctypes.POINTER(TuneOptions),
                    ctypes.POINTER(ctypes.c_void_p)]),
        "flashgen_kernel_set_autotune": (c_int, [handle, c_int]),
        "flashgen_kernel_autotune": (c_int, [handle]),
        "flashgen_kernel_variant_for": (
            c_int, [handle, ctypes.POINTER(Tensor), ctypes.c_size_t]),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def load_library():
    """Loads and declares the C API; raises OSError listing where it looked."""
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (missing)")
            continue
        try:
            return _declare(ctypes.CDLL(path)), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise OSError("flashgen: cannot load %s; set FLASHGEN_LIB to its path. "
                  "Tried: %s" % (LIB_NAME, "; ".join(tried)))
