#!/usr/bin/env python3
"""Checks that a bundle's explain.json describes the kernels the bundle
launches: for every explained op, the bundle has a kernel of that name and
its variant 0 (what the traffic run launches) has the schedule explain chose.
Otherwise the modeled bytes beside the measured ones would belong to another
schedule. bench/prepare-bench.sh runs it after writing explain.json.

    python3 bench/traffic/check_explain.py BUNDLE_DIR
"""

import json
import os
import sys


def mismatches(bundle):
    with open(os.path.join(bundle, "manifest.json")) as f:
        kernels = {k["name"]: k for k in json.load(f)["kernels"]}
    with open(os.path.join(bundle, "explain.json")) as f:
        ops = json.load(f)
    if not ops:
        yield "explain.json explains no op"
    for op in ops:
        name = op["op"]
        if "error" in op:
            yield f"{name}: explain has no schedule ({op['error']})"
        elif name not in kernels:
            yield f"{name}: no kernel of that name in manifest.json"
        elif kernels[name]["variants"][0].get("schedule") != op["schedule"]:
            yield (f"{name}: variant 0 is {kernels[name]['variants'][0].get('schedule')}, "
                   f"explain chose {op['schedule']} at {op.get('dims')}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    problems = list(mismatches(sys.argv[1]))
    for problem in problems:
        print(f"check_explain.py: {sys.argv[1]}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
