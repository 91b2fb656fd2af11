"""Recomputes a flashgen-ref delta-rule case from its files, step by step
as docs/semantics.md §7.1 writes the recurrence, in plain Python (no NumPy,
no code shared with reference/), and compares the expected outputs and final
state flashgen-ref wrote. Usage: check_delta_rule.py CASE_DIR"""
import json
import math
import os
import struct
import sys


def load(path):
    """A .npy file (format 1.0, little-endian f4/f8/u2) as (shape, values);
    '<u2' holds bf16 bits."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:6] == b"\x93NUMPY", path
    header_len = struct.unpack("<H", data[8:10])[0]
    header = eval(data[10:10 + header_len].decode("latin1"))  # a dict literal
    body = data[10 + header_len:]
    shape = tuple(header["shape"])
    count = math.prod(shape)
    code = {"<f4": "f", "<f8": "d", "<u2": "H"}[header["descr"]]
    values = struct.unpack("<%d%s" % (count, code), body[:count * struct.calcsize(code)])
    if code == "H":  # bf16 bits
        values = [struct.unpack("<f", struct.pack("<I", bits << 16))[0] for bits in values]
    return shape, list(values)


def main(case):
    meta = json.load(open(os.path.join(case, "meta.json")))
    files = {t["name"]: os.path.join(case, t["file"]) for t in meta["tensors"]}
    (b, h, t, dk), q = load(files["q"])
    _, k = load(files["k"])
    (_, _, _, dv), v = load(files["v"])
    _, beta = load(files["beta"])
    _, g = load(files["g"]) if "g" in files else (None, [0.0] * (b * h * t))
    _, s0 = load(files["c0"]) if "c0" in files else (None, [0.0] * (b * h * dk * dv))
    _, o_expected = load(files["o"])
    _, s_expected = load(files["cf"])
    scale = 1 / math.sqrt(dk)
    worst = 0.0
    for bh in range(b * h):
        s = [s0[bh * dk * dv + i] for i in range(dk * dv)]  # S[d][e] at d * dv + e
        for step in range(t):
            row = bh * t + step
            qr = q[row * dk:(row + 1) * dk]
            kr = k[row * dk:(row + 1) * dk]
            if meta["l2norm_qk"]:
                qn = math.sqrt(sum(x * x for x in qr) + 1e-6)
                kn = math.sqrt(sum(x * x for x in kr) + 1e-6)
                qr = [x / qn for x in qr]
                kr = [x / kn for x in kr]
            alpha = math.exp(g[row])
            s = [alpha * x for x in s]
            read = [sum(kr[d] * s[d * dv + e] for d in range(dk)) for e in range(dv)]
            for d in range(dk):
                for e in range(dv):
                    s[d * dv + e] += beta[row] * kr[d] * (v[row * dv + e] - read[e])
            for e in range(dv):
                want = sum(scale * qr[d] * s[d * dv + e] for d in range(dk))
                got = o_expected[row * dv + e]
                worst = max(worst, abs(got - want) / (1 + abs(want)))
        for i in range(dk * dv):
            want = s[i]
            got = s_expected[bh * dk * dv + i]
            worst = max(worst, abs(got - want) / (1 + abs(want)))
    # o.expected is float64 (f8) and cf the float64 state rounded to f32.
    print("delta rule: worst error %.3g over %d steps of %d heads" % (worst, t, b * h))
    sys.exit(0 if worst < 1e-6 else 1)


if __name__ == "__main__":
    main(sys.argv[1])
