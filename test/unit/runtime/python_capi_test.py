#!/usr/bin/env python3
"""The Python package's hand-written ctypes declarations against the C
headers, so that the two cannot drift: every function python/flashgen/_capi.py
declares must be declared by the header of the library it is bound to
(runtime_c.h for libflashgen_runtime.so, autotune_c.h for
libflashgen_autotune.so) with the same number of arguments and compatible
types, every function of those headers must be bound, and the ctypes
structs must match the C structs field for field. Reads only the headers:
no library, GPU or torch needed. Run by ctest (test/unit/runtime)."""

import ctypes
import os
import re
import unittest

from flashgen import _capi

SOURCE = os.environ.get("FLASHGEN_SOURCE_DIR") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
RUNTIME_C_H = os.path.join(SOURCE, "runtime", "include", "flashgen",
                           "runtime_c.h")
AUTOTUNE_C_H = os.path.join(SOURCE, "autotune", "include", "flashgen",
                            "autotune_c.h")

P = ctypes.POINTER
# Plain C types and what ctypes may declare for each. A char* passed back to
# be freed is declared c_void_p (c_char_p would copy it and lose the pointer).
SCALARS = {
    "void": {None},
    "int": {ctypes.c_int}, "int32_t": {ctypes.c_int32},
    "int64_t": {ctypes.c_int64}, "size_t": {ctypes.c_size_t},
    "double": {ctypes.c_double},
    "char*": {ctypes.c_char_p, ctypes.c_void_p},
    "void*": {ctypes.c_void_p},
    "char**": {P(ctypes.c_char_p), P(ctypes.c_void_p)},
    "int*": {P(ctypes.c_int)}, "size_t*": {P(ctypes.c_size_t)},
    "int64_t*": {P(ctypes.c_int64)},
}
# The ctypes struct mirroring each C struct.
STRUCTS = {"flashgen_tensor_t": _capi.Tensor, "flashgen_scalar_t": _capi.Scalar,
           "flashgen_launch_options_t": _capi.LaunchOptions,
           "flashgen_tune_options_t": _capi.TuneOptions}


def strip(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return "\n".join(l for l in text.splitlines()
                     if not l.lstrip().startswith("#"))


def normalize(ctype):
    """'const flashgen_tensor_t *' -> 'flashgen_tensor_t*'."""
    ctype = re.sub(r"\bconst\b", " ", ctype)
    return re.sub(r"\s+", "", ctype)


class Header:
    def __init__(self, *paths):
        text = ""
        for path in paths:
            with open(path) as f:
                text += strip(f.read()) + "\n"
        # typedef struct X *name_t;  (opaque handles)
        self.handles = set(re.findall(
            r"typedef\s+struct\s+\w+\s*\*\s*(\w+)\s*;", text))
        self.enums = set(re.findall(
            r"typedef\s+enum\s+\w*\s*\{[^}]*\}\s*(\w+)\s*;", text))
        self.structs = {}
        for body, name in re.findall(
                r"typedef\s+struct\s+\w*\s*\{([^}]*)\}\s*(\w+)\s*;", text):
            fields = []
            for decl in body.split(";"):
                m = re.match(r"\s*(.*?[\s*])(\w+)\s*$", decl, flags=re.S)
                if m:
                    fields.append((m.group(2), normalize(m.group(1))))
            self.structs[name] = fields
        # Drop the typedefs, then every remaining "ret name(args);" is a
        # function.
        text = re.sub(r"typedef[^;]*;", " ", text)
        self.functions = {}
        for ret, name, args in re.findall(
                r"([\w\s\*]+?)\b(flashgen_\w+)\s*\(([^)]*)\)\s*;", text):
            args = [a for a in (x.strip() for x in args.split(","))
                    if a and a != "void"]
            # Each parameter is "type name"; keep the type.
            types = [normalize(re.sub(r"\w+\s*$", "", a)) for a in args]
            self.functions[name] = (normalize(ret), types)

    def allowed(self, ctype, result=False):
        """The ctypes declarations compatible with C type `ctype`."""
        if ctype in SCALARS:
            return SCALARS[ctype]
        if ctype in self.enums:
            return {ctypes.c_int}
        if ctype in self.handles:
            return {ctypes.c_void_p}
        base = ctype.rstrip("*")
        depth = len(ctype) - len(base)
        if depth == 1 and base in self.handles:
            return {P(ctypes.c_void_p)}
        if depth == 1 and base in STRUCTS and not result:
            return {P(STRUCTS[base])}
        return set()


class CApiDeclarations(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.runtime = Header(RUNTIME_C_H)
        # autotune_c.h includes runtime_c.h; its types come from there.
        cls.autotune = Header(RUNTIME_C_H, AUTOTUNE_C_H)
        cls.autotune_own = set(cls.autotune.functions) - set(
            cls.runtime.functions)

    def check(self, header, functions, where):
        self.assertTrue(functions)
        for name, (restype, argtypes) in functions.items():
            with self.subTest(function=name):
                self.assertIn(name, header.functions,
                              "%s is declared in _capi.py but not in %s"
                              % (name, where))
                cret, cargs = header.functions[name]
                self.assertIn(restype, header.allowed(cret, result=True),
                              "%s returns %s in %s" % (name, cret, where))
                self.assertEqual(len(argtypes), len(cargs),
                                 "%s takes %d arguments in %s, %d in _capi.py"
                                 % (name, len(cargs), where, len(argtypes)))
                for i, (py, c) in enumerate(zip(argtypes, cargs)):
                    self.assertIn(py, header.allowed(c),
                                  "%s argument %d is %s in %s, %r in _capi.py"
                                  % (name, i, c, where, py))

    def test_runtime_functions_match_runtime_c_h(self):
        self.check(self.runtime, _capi.RUNTIME_FUNCTIONS, "runtime_c.h")

    def test_autotune_functions_match_autotune_c_h(self):
        own = Header(RUNTIME_C_H, AUTOTUNE_C_H)
        own.functions = {n: f for n, f in own.functions.items()
                         if n in self.autotune_own}
        self.check(own, _capi.AUTOTUNE_FUNCTIONS, "autotune_c.h")

    def test_every_header_function_is_bound(self):
        self.assertEqual(sorted(set(self.runtime.functions) -
                                set(_capi.RUNTIME_FUNCTIONS)), [])
        self.assertEqual(sorted(self.autotune_own -
                                set(_capi.AUTOTUNE_FUNCTIONS)), [])

    def test_structs_match_field_for_field(self):
        for cname, pystruct in STRUCTS.items():
            with self.subTest(struct=cname):
                self.assertIn(cname, self.autotune.structs)
                cfields = self.autotune.structs[cname]
                pyfields = pystruct._fields_
                self.assertEqual([n for n, _ in pyfields],
                                 [n for n, _ in cfields])
                for (name, py), (_, c) in zip(pyfields, cfields):
                    self.assertIn(py, self.autotune.allowed(c),
                                  "%s.%s is %s in C" % (cname, name, c))

    def test_the_parser_sees_the_headers(self):
        # Guards the checks above against a parser that finds nothing.
        self.assertGreaterEqual(len(self.runtime.functions), 30)
        self.assertEqual(self.runtime.functions["flashgen_kernel_launch"][1][0],
                         "flashgen_kernel_t")
        self.assertIn("flashgen_kernel_tune", self.autotune_own)


if __name__ == "__main__":
    unittest.main()
