# -*- Python -*-
# lit configuration for flashgen: runs flashgen-opt and friends on .mlir
# files and checks their output with FileCheck.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "flashgen"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.flashgen_obj_root, "test")
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "unit", "fuzz"]
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"

config.substitutions.append(("%flashgen_src_root", config.flashgen_src_root))
config.substitutions.append(("%examples", os.path.join(config.flashgen_src_root, "examples")))
# Python over the runtime library of this build (no GPU needed to validate).
config.substitutions.append(("%flashgen_python", "env FLASHGEN_LIB=%s PYTHONPATH=%s python3" % (
    os.path.join(config.flashgen_obj_root, "lib", "libflashgen_runtime.so"),
    os.path.join(config.flashgen_src_root, "python"))))

llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.use_default_substitutions()

tool_dirs = [config.flashgen_tools_dir, config.llvm_tools_dir]
tools = ["flashgen-opt", "flashgen", "flashgen-ref", "flashgen-nvrtc", "flashgen-run"]
llvm_config.add_tool_substitutions(
    [t for t in tools if any(os.path.exists(os.path.join(d, t)) for d in tool_dirs)],
    tool_dirs)
