"""flashgen.compile: a spec (MLIR text, e.g. from ``flashgen.spec``) to a
loaded bundle, by running the ``flashgen compile`` tool.

The compiler is a C++ program built against LLVM/MLIR; this package binds
only the runtime's C API, so compiling is a subprocess, not a call. The tool
is looked for, in order, at the ``compiler`` argument, ``$FLASHGEN_COMPILER``,
``flashgen`` on ``PATH``, and ``bin/flashgen`` beside the runtime library the
package would load (``<prefix>/lib/libflashgen_runtime.so`` ->
``<prefix>/bin/flashgen``: an install prefix or a build tree alike; the
library's candidates are _capi's: ``$FLASHGEN_LIB``, next to the package,
``<repo>/build*/lib/``).

Without ``out`` the bundle goes to the cache, ``$FLASHGEN_CACHE_DIR/
bundles-v1/<name>-<hash>`` (the cache root as the runtime finds it: else
``$XDG_CACHE_HOME/flashgen``, else ``~/.cache/flashgen``), the hash covering
the spec text, the options and the compiler binary (its path, size and
modification time: a rebuilt compiler compiles afresh). A folder that holds
a manifest.json is reused as is; a new one is compiled into a temporary
sibling and renamed into place, so that a reader (another process compiling
the same spec) sees a whole bundle or none. The same spec thus always gets
the same path, which is what ``flashgen.torch.register`` wants (it names its
operators after the bundle's path and cannot redefine one). The folders are
never cleaned up by flashgen; deleting them is safe.
"""

import hashlib
import json
import numbers
import os
import re
import shutil
import subprocess
import tempfile

from . import _capi
from ._errors import FlashgenError

_INVALID, _FILE, _NOT_FOUND, _COMPILE = 1, 3, 4, 8  # flashgen_status_t codes
COMPILER_NAME = "flashgen"
SPEC_FILE = "spec.mlir"  # the spec text, beside the manifest
CACHE_SUBDIR = "bundles-v1"
_MAX_LOG_LINES = 60  # of the compiler's stderr quoted in an error


def _executable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _named(value, what):
    """A compiler given as a path (has a separator) or a name (on PATH)."""
    value = os.fspath(value)
    if os.sep in value or (os.altsep and os.altsep in value):
        if _executable(value):
            return os.path.abspath(value), None
        return None, "%s %s (%s)" % (what, value, "not executable"
                                     if os.path.exists(value) else "missing")
    found = shutil.which(value)
    if found:
        return os.path.abspath(found), None
    return None, "%s %s (not on PATH)" % (what, value)


def _beside_library():
    """``<prefix>/bin/flashgen`` for each runtime library the package would
    load, in _capi's order (the loaded one first)."""
    libs = []
    lib = _capi.loaded()
    if lib is not None:
        libs.append(lib.path)
    libs.extend(_capi._candidates())
    seen = set()
    for path in libs:
        if os.sep not in path:  # the loader's own search: no folder to go by
            continue
        for p in (os.path.abspath(path), os.path.realpath(path)):
            bin_path = os.path.join(os.path.dirname(os.path.dirname(p)),
                                    "bin", COMPILER_NAME)
            if bin_path not in seen:
                seen.add(bin_path)
                yield bin_path


def find_compiler(compiler=None):
    """The path of the ``flashgen`` tool (see the module's docstring for
    the order). An explicit ``compiler`` or ``$FLASHGEN_COMPILER`` that is
    not there is an error, not a reason to look elsewhere: the caller asked
    for that one. Raises FlashgenError (NotFound) listing where it looked."""
    if compiler is not None:
        path, why = _named(compiler, "compiler=")
        if path is None:
            raise FlashgenError(_NOT_FOUND, "flashgen.compile: the compiler "
                                "was not found: looked at %s" % why)
        return path
    env = os.environ.get("FLASHGEN_COMPILER")
    if env:
        path, why = _named(env, "$FLASHGEN_COMPILER=")
        if path is None:
            raise FlashgenError(_NOT_FOUND, "flashgen.compile: the compiler "
                                "was not found: looked at %s" % why)
        return path
    tried = []
    path, why = _named(COMPILER_NAME, "PATH:")
    if path is not None:
        return path
    tried.append(why)
    for candidate in _beside_library():
        if _executable(candidate):
            return candidate
        tried.append("%s (%s)" % (candidate, "not executable" if
                                  os.path.exists(candidate) else "missing"))
    raise FlashgenError(_NOT_FOUND, "flashgen.compile: the flashgen compiler "
                        "was not found; pass compiler= or set "
                        "FLASHGEN_COMPILER to its path. Looked at: %s"
                        % "; ".join(tried))


def cache_root():
    """The runtime's cache root (runtime/DiskCache.cpp defaultRoot), or None
    when no variable names one."""
    for var, tail in (("FLASHGEN_CACHE_DIR", ""),
                      ("XDG_CACHE_HOME", "flashgen"),
                      ("HOME", os.path.join(".cache", "flashgen"))):
        value = os.environ.get(var)
        if value:
            return os.path.join(value, tail) if tail else value
    return None


def _spec_text(spec):
    """The spec's text: a str is the text itself (what flashgen.spec
    returns), a path object names a file holding it."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, os.PathLike):
        try:
            with open(spec, encoding="utf-8") as f:
                return f.read()
        except OSError as e:
            raise FlashgenError(_FILE, "flashgen.compile: cannot read the spec "
                                "%s (%s)" % (os.fspath(spec),
                                             e.strerror or e)) from None
    raise FlashgenError(_INVALID, "flashgen.compile: spec is a %s; pass the "
                        "MLIR text (a str, e.g. from flashgen.spec.attention) "
                        "or a pathlib.Path of a .mlir file"
                        % type(spec).__name__)


def _flags(dims, backward, deterministic, top_k, target):
    """The tool's options, checked here so that a mistake names the Python
    argument rather than a command-line flag."""
    flags = []
    items = list(dims.items() if hasattr(dims, "items") else (dims or ()))
    for entry in sorted(items, key=lambda e: str(e[0]) if isinstance(
            e, (tuple, list)) and e else ""):
        try:
            name, value = entry
        except (TypeError, ValueError):
            raise FlashgenError(_INVALID, "dims: %r is not a (name, size) "
                                "pair; pass a dict such as {'B': 2, "
                                "'N': 4096}" % (entry,)) from None
        if not isinstance(name, str) or not name.isidentifier():
            raise FlashgenError(_INVALID, "dims: %r is not a dims name" % (name,))
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
                or value < 1:
            raise FlashgenError(_INVALID, "dims: %s = %r: a positive integer "
                                "(the size to plan the schedule for)"
                                % (name, value))
        flags += ["--dim", "%s=%d" % (name, int(value))]
    if deterministic and not backward:
        raise FlashgenError(_INVALID, "deterministic=True is about the "
                            "gradient kernels: it needs backward=True")
    if backward:
        flags.append("--backward")
    if deterministic:
        flags.append("--deterministic")
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral):
            raise FlashgenError(_INVALID, "top_k = %r: an integer (ranked "
                                "schedules per op, 1 to 64)" % (top_k,))
        flags.append("--top-k=%d" % int(top_k))
    if target is not None:
        if not isinstance(target, str) or not target:
            raise FlashgenError(_INVALID, "target = %r: a name such as "
                                "'sm_90', 'h200' or 'sm_80'" % (target,))
        flags.append("--target=%s" % target)
    return flags


def _key(text, flags, compiler):
    """The cache folder's hash: everything that shapes the bundle."""
    st = os.stat(compiler)
    blob = json.dumps({"spec": text, "flags": flags,
                       "compiler": [os.path.realpath(compiler), st.st_size,
                                    st.st_mtime_ns]}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8", "surrogateescape")).hexdigest()


def _run(compiler, folder, flags):
    """Compiles ``folder``'s spec.mlir into ``folder``. Run from inside it,
    so that the diagnostics name spec.mlir, not a temporary folder."""
    cmd = [compiler, "compile", SPEC_FILE, "-o", "."] + flags
    try:
        r = subprocess.run(cmd, cwd=folder, capture_output=True, text=True,
                           errors="replace")
    except OSError as e:
        raise FlashgenError(_NOT_FOUND, "flashgen.compile: cannot run the "
                            "compiler %s (%s)" % (compiler,
                                                  e.strerror or e)) from None
    if r.returncode != 0:
        log = (r.stderr.strip() or r.stdout.strip()).splitlines()
        if len(log) > _MAX_LOG_LINES:
            log = ["... (%d lines before)" % (len(log) - _MAX_LOG_LINES)] + \
                log[-_MAX_LOG_LINES:]
        how = ("exit %d" % r.returncode if r.returncode > 0
               else "killed by signal %d" % -r.returncode)
        raise FlashgenError(_COMPILE, "flashgen.compile: the compiler failed "
                            "(%s): %s (in %s)\n%s"
                            % (how, " ".join(cmd), folder,
                               "\n".join(log) or "(no output)"))


def _write_spec(folder, text):
    with open(os.path.join(folder, SPEC_FILE), "w", encoding="utf-8",
              errors="surrogateescape") as f:
        f.write(text)


def _folder_error(what, path, e):
    return FlashgenError(_FILE, "flashgen.compile: cannot %s %s (%s)"
                         % (what, path, e.strerror or e))


def _compile_cached(text, flags, compiler):
    root = cache_root()
    if root is None:
        raise FlashgenError(_FILE, "flashgen.compile: no cache folder (none of "
                            "FLASHGEN_CACHE_DIR, XDG_CACHE_HOME, HOME is set); "
                            "set one or pass out=")
    m = re.search(r"func\.func\s+@([A-Za-z_][A-Za-z0-9_$.]*)", text)
    name = m.group(1) if m else "spec"
    parent = os.path.join(root, CACHE_SUBDIR)
    final = os.path.join(parent, "%s-%s" % (name, _key(text, flags,
                                                       compiler)[:20]))
    if os.path.isfile(os.path.join(final, "manifest.json")):
        return final
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".%s-" % name, dir=parent)
    except OSError as e:
        raise _folder_error("create a folder in", parent, e) from None
    try:
        _write_spec(tmp, text)
        _run(compiler, tmp, flags)
        try:
            os.rename(tmp, final)
        except OSError:
            # Another process published it first (keep theirs), or a
            # folder without a manifest is in the way (a crash of an older
            # version): replace it.
            if os.path.isfile(os.path.join(final, "manifest.json")):
                return final
            shutil.rmtree(final, ignore_errors=True)
            try:
                os.rename(tmp, final)
            except OSError as e:
                raise _folder_error("move the bundle to", final, e) from None
        return final
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def compile(spec, out=None, *, dims=None, backward=False,  # noqa: A001
            deterministic=False, top_k=None, target=None, compiler=None):
    """Compiles ``spec`` with ``flashgen compile`` and returns the bundle,
    loaded (``flashgen.load``; needs the runtime library, not a GPU).

    ``spec``: the MLIR text (``flashgen.spec.attention``'s result) or a
    pathlib.Path of a .mlir file. ``out``: the bundle's folder (created;
    the spec is written there as spec.mlir, and the tool's files replace
    any of the same names); None compiles into the cache, once per spec,
    options and compiler (see the module's docstring). ``dims``: sizes to
    plan the schedules for, ``{"B": 2, "N": 8192}`` (``--dim``); kernels
    still take every size at run time. ``backward`` (``--backward``) adds
    the gradient kernels ``<name>_backward`` that ``flashgen.torch``'s
    autograd runs, ``deterministic`` (``--deterministic``) makes them
    bitwise reproducible; ``top_k`` (``--top-k``) is the number of ranked
    schedules (variants) per op; ``target`` (``--target``): "sm_90"
    (default), "h200" or "sm_80". ``compiler``: the tool's path.

    Raises FlashgenError: NotFound when the compiler is not found (the
    message lists where it looked), CompileError quoting the compiler's
    diagnostics when it rejects the spec."""
    text = _spec_text(spec)
    flags = _flags(dims, backward, deterministic, top_k, target)
    tool = find_compiler(compiler)
    if out is None:
        folder = _compile_cached(text, flags, tool)
    else:
        folder = os.fspath(out)
        try:
            os.makedirs(folder, exist_ok=True)
            _write_spec(folder, text)
        except OSError as e:
            raise _folder_error("write the spec into", folder, e) from None
        _run(tool, folder, flags)
    from ._bundle import load
    return load(folder)
