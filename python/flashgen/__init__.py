"""flashgen: compile specs into kernel bundles, load them and launch them.

A thin ctypes layer over the runtime's C API (docs/bundle-format.md §5)::

    import flashgen
    bundle = flashgen.load("out/causal_gqa.bundle")
    attn = bundle.kernel("causal_gqa")          # compiles (cached) for GPU 0
    attn(q, k, v, out=o)                        # torch tensors, current stream
    attn.tune(q, k, v, out=o)                   # time the variants at these sizes
    attn.autotune = True                        # or FLASHGEN_AUTOTUNE=1: tune
                                                # each new shape bucket on launch

    from flashgen import spec                   # specs from Python functions
    doc = spec.tensor("doc", ("B", "N"), "int32")
    text = spec.attention("doc_attn", q_heads=16, kv_heads=4, head_dim=128,
                          mask="causal",
                          mask_mod=lambda b, h, i, j: doc[b, i] == doc[b, j])
    bundle = flashgen.compile(text)             # runs `flashgen compile`; the
                                                # bundle is cached by its spec
    bundle.kernel("doc_attn")(q, k, v, doc=ids, out=o)

Tensors are PyTorch tensors, objects with ``__cuda_array_interface__``, or
``flashgen.DeviceArray(ptr, shape, dtype, strides)`` for raw pointers;
every argument is checked by the runtime before the launch, and a bad one
raises FlashgenError naming it.
"""

# One module per concern: _capi (the ctypes binding of the C API), _errors,
# _bundle (Device, Bundle, load), _kernel (Kernel), _torch (torch tensors,
# array interfaces, streams), _compile (compile: a spec to a loaded bundle
# through the flashgen tool, which needs LLVM and so is a subprocess). This
# file only names the public API.
# Subpackages that import torch are imported by name, never from here:
# flashgen.torch (attention kernels as torch custom ops with autograd,
# docs/torch.md), flashgen.block_mask (FlexAttention BlockMask lists:
# transpose_lists) and flashgen.distributed.
from ._bundle import Bundle, Device, device_count, load, version
from ._compile import compile  # noqa: A001 (shadows the builtin here only)
from ._version import __version__
from ._errors import FlashgenError
from ._kernel import Kernel
from ._torch import DeviceArray

__all__ = ["__version__", "load", "compile", "Bundle", "Kernel", "Device",
           "DeviceArray", "FlashgenError", "device_count", "version"]
