#!/usr/bin/env python3
"""Rotary position embedding fused into attention: examples/rope_attention.mlir
(causal GQA, 32 query heads over 8 key/value heads, d=128, bf16; q and k
arrive unrotated, the kernels rotate each tile on chip) against the same
attention on inputs rotated beforehand (examples/causal_gqa.mlir: the
target is the fused kernel within 3% of that time), against rotating with
PyTorch and then attending (flashgen, and SDPA's cuDNN backend: what a
model without fusion runs), and for decoding bench/attention/specs/rope/
rope_decode_gqa.mlir (a cache of unrotated keys) against
examples/decode_gqa.mlir on a rotated cache.

The tables are Llama's (base 500000, positions up to M), f32 [M, 64]; the
PyTorch rotation is Hugging Face's apply_rotary_pos_emb (rotate_half) in
f32, rounded to bf16, as the kernels round their rotated tiles. Every
fused output is first checked against cuDNN on the rotated inputs. Times
are medians of bench.py's time_ms (triton's do_bench, L2 flushed). The
headline is variant 0 of each bundle, the compiler's own first choice.

    python3 bench/attention/bench_rope.py --bundles DIR --out $OUT

DIR holds the bundles rope_attention, causal_gqa, rope_decode_gqa and
decode_gqa (flashgen compile with --target h200; the decode ones planned at
B=8, N=1, M=32768). Writes $OUT/attention-rope-results.json and prints a
markdown table.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HEADS, KV_HEADS, D = 32, 8, 128
PREFILL = ((8, 2048), (2, 8192), (1, 16384))     # B, N (causal, 16k tokens)
DECODE = ((8, 1, 32768), (64, 1, 8192), (8, 4, 32768))  # B, N, M
TOL = 2e-2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", required=True)
    parser.add_argument("--out", default=".")
    args = parser.parse_args(argv)

    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
    import flashgen  # noqa: E402
    from flashgen.rope import rotary_tables  # noqa: E402
    from bench import rel_err, short, time_ms  # noqa: E402

    dev = torch.device("cuda")
    bf16 = torch.bfloat16
    group = HEADS // KV_HEADS

    def kernel(name):
        return flashgen.load(os.path.join(args.bundles, name)).kernel(name)

    def rotate(x, cos, sin, offset):
        """HF's apply_rotary_pos_emb on [B, H, L, D] at positions offset.."""
        n = x.shape[2]
        c = torch.cat([cos[offset:offset + n]] * 2, dim=-1)
        s = torch.cat([sin[offset:offset + n]] * 2, dim=-1)
        xf = x.float()
        half = torch.cat([-xf[..., D // 2:], xf[..., :D // 2]], dim=-1)
        return (xf * c + half * s).to(bf16)

    def us(fn):
        return time_ms(fn) * 1e3

    def cudnn(q, k, v, causal):
        kx = k.repeat_interleave(group, dim=1)
        vx = v.repeat_interleave(group, dim=1)
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            return F.scaled_dot_product_attention(q, kx, vx, is_causal=causal)

    rows = []
    cases = [("prefill", b, n, n) for b, n in PREFILL] + [("decode", b, n, m) for b, n, m in DECODE]
    for kind, b, n, m in cases:
        label = f"{kind} B={b} N={n} M={m}"
        row = {"kind": kind, "B": b, "N": n, "M": m, "status": "ok"}
        fused_name, plain_name = (("rope_attention", "causal_gqa") if kind == "prefill"
                                  else ("rope_decode_gqa", "decode_gqa"))
        try:
            fused, plain = kernel(fused_name), kernel(plain_name)
        except Exception as error:  # noqa: BLE001
            row["status"], row["error"] = "failed", short(error)
            rows.append(row)
            print(f"!!!!! {label}: {row['error']}")
            continue
        torch.manual_seed(7 + b + n)
        q = torch.randn(b, HEADS, n, D, device=dev, dtype=bf16)
        k = torch.randn(b, KV_HEADS, m, D, device=dev, dtype=bf16)
        v = torch.randn(b, KV_HEADS, m, D, device=dev, dtype=bf16)
        cos, sin = rotary_tables(m, D, base=500000.0, device=dev)
        qr, kr = rotate(q, cos, sin, m - n), rotate(k, cos, sin, 0)
        out = torch.empty(b, HEADS, n, D, device=dev, dtype=bf16)
        try:
            # The reference: cuDNN on the rotated inputs, or (decode, whose
            # bottom-right mask SDPA's is_causal does not align) SDPA's
            # math backend in f32 one sequence at a time.
            if kind == "prefill":
                ref = cudnn(qr, kr, v, True).float()
            else:
                ref = torch.empty(b, HEADS, n, D, device=dev)
                mask = torch.ones(n, m, dtype=torch.bool, device=dev).tril(m - n)
                for s in range(b):
                    qf = qr[s].float()
                    with sdpa_kernel(SDPBackend.MATH):
                        ref[s] = F.scaled_dot_product_attention(
                            qf, kr[s].float().repeat_interleave(group, 0),
                            v[s].float().repeat_interleave(group, 0), attn_mask=mask)
            out.fill_(float("nan"))
            fused(q, k, v, out=out, cos=cos, sin=sin)
            torch.cuda.synchronize()
            row["fused_rel_err"] = rel_err(out, ref)
            out.fill_(float("nan"))
            plain(qr, kr, v, out=out)
            torch.cuda.synchronize()
            row["prerotated_rel_err"] = rel_err(out, ref)
            if not (row["fused_rel_err"] < TOL and row["prerotated_rel_err"] < TOL):
                row["status"] = "failed"
                print(f"!!!!! WRONG at {label}: fused {row['fused_rel_err']:.3g}, "
                      f"pre-rotated {row['prerotated_rel_err']:.3g}")
            fused.select_variant(0)
            plain.select_variant(0)
            row["fused_us"] = us(lambda: fused(q, k, v, out=out, cos=cos, sin=sin))
            row["prerotated_us"] = us(lambda: plain(qr, kr, v, out=out))
            row["torch_rotate_then_flashgen_us"] = us(
                lambda: plain(rotate(q, cos, sin, m - n), rotate(k, cos, sin, 0), v, out=out))
            variants = {}
            for variant in range(fused.num_variants):
                fused.select_variant(variant)
                variants[variant] = us(lambda: fused(q, k, v, out=out, cos=cos, sin=sin))
            fused.select_variant(0)
            row["fused_variant_us"] = variants
            row["fused_over_prerotated"] = row["fused_us"] / row["prerotated_us"]
        except Exception as error:  # noqa: BLE001
            row["status"], row["error"] = "failed", short(error)
            print(f"!!!!! flashgen FAILED at {label}: {row['error']}")
        if kind == "prefill":
            try:
                row["torch_rotate_then_cudnn_us"] = us(
                    lambda: cudnn(rotate(q, cos, sin, 0), rotate(k, cos, sin, 0), v, True))
                row["cudnn_prerotated_us"] = us(lambda: cudnn(qr, kr, v, True))
            except Exception as error:  # noqa: BLE001
                row["cudnn_error"] = short(error)
        rows.append(row)
        print(json.dumps(row))
        del q, k, v, qr, kr, out

    path = os.path.join(args.out, "attention-rope-results.json")
    with open(path, "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "rows": rows}, f, indent=1)
    print(f"\n| shape | fused v0 (us) | pre-rotated v0 (us) | fused / pre-rotated | "
          f"torch rotate + flashgen (us) | torch rotate + cuDNN (us) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        def f(key):
            return f"{r[key]:.1f}" if key in r else "-"
        ratio = f"{r['fused_over_prerotated']:.3f}" if "fused_over_prerotated" in r else "-"
        print(f"| {r['kind']} B={r['B']} N={r['N']} M={r['M']} | {f('fused_us')} | "
              f"{f('prerotated_us')} | {ratio} | {f('torch_rotate_then_flashgen_us')} | "
              f"{f('torch_rotate_then_cudnn_us')} |")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
