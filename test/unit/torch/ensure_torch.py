"""The torch tests' start: run with an interpreter that has torch.

Debian's torch is python3-torch, for /usr/bin/python3, while ctest may run
another python3 (pyenv's). Without torch here, the script re-runs itself
with FLASHGEN_TORCH_PYTHON or /usr/bin/python3 (once: FLASHGEN_TORCH_REEXEC
marks the re-run); with torch nowhere it exits 77, which ctest reports as
skipped. Imports nothing that needs torch.
"""

import os
import sys

SKIP = 77


def ensure_torch():
    try:
        import torch  # noqa: F401
        return
    except ImportError:
        pass
    if not os.environ.get("FLASHGEN_TORCH_REEXEC"):
        for python in (os.environ.get("FLASHGEN_TORCH_PYTHON"),
                       "/usr/bin/python3"):
            if (python and os.path.exists(python) and os.path.realpath(python)
                    != os.path.realpath(sys.executable)):
                env = dict(os.environ, FLASHGEN_TORCH_REEXEC="1")
                os.execve(python, [python] + sys.argv, env)
    print("SKIP: torch is not installed for %s (apt-get install python3-torch)"
          % sys.executable)
    sys.exit(SKIP)
