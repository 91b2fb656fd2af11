#!/usr/bin/env python3
"""Block-sparse attention's backward through flashgen.torch: the transposed
block lists.

A block-sparse kernel X (FlexAttention's BlockMask, docs/semantics.md
§2.10) takes the kv lists ``kv_num_blocks``, ``kv_indices`` (and
``full_kv_num_blocks``, ``full_kv_indices``); its ``X_backward`` also takes
the transposed lists ``q_num_blocks``, ``q_indices`` (and
``full_q_num_blocks``, ``full_q_indices``), which the forward does not.

- flashgen.block_mask.transpose_lists against a brute-force loop on random
  lists: counts out of range, entries -1 and KB inside and past the counts,
  blocks in both lists (full wins), partial and full pairs broadcasting
  different dims, QB != KB; on CUDA where there is a GPU, and under
  torch.compile(fullgraph=True) with torch >= 2.4.
- An op on a manifest-only bundle with a float64 TEST DOUBLE as its kernels
  (the backward double reads the mask from the transposed lists): the
  lists it receives (computed when the caller leaves them out, the
  caller's otherwise), the forward never getting them, the gradients, the
  launch glue, and, with torch >= 2.4, the schemas, opcheck and
  torch.compile(fullgraph=True). No GPU needed.

    PYTHONPATH=python python3 test/unit/torch/torch_block_mask_test.py

Needs torch; without it, exits 77 (skipped) as torch_test.py does.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ensure_torch import ensure_torch  # noqa: E402

if __name__ == "__main__":
    ensure_torch()

import torch_test  # noqa: E402  (its launch recorder)

import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import types  # noqa: E402
import unittest  # noqa: E402

import torch  # noqa: E402

import flashgen  # noqa: E402
import flashgen.torch as ft  # noqa: E402
from flashgen.block_mask import transpose_lists  # noqa: E402

torch.set_num_threads(1)
F64, I32 = torch.float64, torch.int32
TMP = tempfile.mkdtemp(prefix="flashgen-torch-block-mask-test-")
_count = [0]
NO_CUSTOM_OP = torch_test.NO_CUSTOM_OP
HAS_COMPILE = hasattr(torch, "compile") and ft.HAS_CUSTOM_OP
NO_COMPILE = "torch %s: no torch.compile to test with" % torch.__version__
KV = ("kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices")
TRANSPOSED = ("q_num_blocks", "q_indices", "full_q_num_blocks",
              "full_q_indices")


# -- the brute force --------------------------------------------------------

def named_sets(num, idx, key_blocks):
    """Per (b, h, qb) of the pair's broadcast dims, the set of key blocks
    its list names (docs/semantics.md §2.10), by plain loops."""
    Bn, Hn, QB = num.shape
    Bi, Hi, _, E = idx.shape
    n, x = num.tolist(), idx.tolist()
    out = []
    for b in range(max(Bn, Bi)):
        out.append([])
        for h in range(max(Hn, Hi)):
            rows = []
            for qb in range(QB):
                count = min(max(n[min(b, Bn - 1)][min(h, Hn - 1)][qb], 0),
                            key_blocks)
                row = x[min(b, Bi - 1)][min(h, Hi - 1)][qb]
                rows.append({row[j] for j in range(min(count, E))
                             if 0 <= row[j] < key_blocks})
            out[-1].append(rows)
    return out


def transposed_of(sets, QB, KB):
    """(counts, indices) nested lists: per (b, h, kb) the query blocks
    whose set holds kb, ascending, then -1s."""
    counts, indices = [], []
    for per_b in sets:
        counts.append([])
        indices.append([])
        for rows in per_b:
            listed = [[qb for qb in range(QB) if kb in rows[qb]]
                      for kb in range(KB)]
            counts[-1].append([len(l) for l in listed])
            indices[-1].append([l + [-1] * (QB - len(l)) for l in listed])
    return counts, indices


def brute_transpose(num, idx, fnum=None, fidx=None, key_blocks=None):
    KB = idx.shape[-1] if key_blocks is None else key_blocks
    QB = num.shape[-1]
    part = named_sets(num, idx, KB)
    if fnum is None:
        return transposed_of(part, QB, KB) + (None, None)
    full = named_sets(fnum, fidx, KB)
    Bf, Hf = len(full), len(full[0]) if full else 0
    Bp, Hp = len(part), len(part[0]) if part else 0
    for b in range(Bp):
        for h in range(Hp):
            # The full lists this partial list stands beside: all of a dim
            # the partial pair broadcasts and the full pair does not.
            bs = range(Bf) if Bp == 1 else [min(b, Bf - 1)]
            hs = range(Hf) if Hp == 1 else [min(h, Hf - 1)]
            for qb in range(QB):
                part[b][h][qb] = {kb for kb in part[b][h][qb] if not all(
                    kb in full[bf][hf][qb] for bf in bs for hf in hs)}
    return transposed_of(part, QB, KB) + transposed_of(full, QB, KB)


def random_pair(g, B, H, QB, KB, entries=None):
    """Random kv lists [B, H, QB] / [B, H, QB, E]: counts from -2 to KB + 2,
    entries -1..KB (so -1 and KB inside and past counts), repeats."""
    E = KB if entries is None else entries
    num = torch.randint(-2, KB + 3, (B, H, QB), generator=g, dtype=I32)
    idx = torch.randint(-1, KB + 1, (B, H, QB, E), generator=g, dtype=I32)
    return num, idx


class TransposeLists(unittest.TestCase):
    def check(self, num, idx, fnum=None, fidx=None, key_blocks=None,
              msg=None):
        got = transpose_lists(num, idx, fnum, fidx, key_blocks=key_blocks)
        want = brute_transpose(num, idx, fnum, fidx, key_blocks)
        for name, t, w in zip(TRANSPOSED, got, want):
            if w is None:
                self.assertIsNone(t, msg=name)
                continue
            self.assertEqual(t.dtype, I32, msg=name)
            self.assertTrue(t.is_contiguous(), msg=name)
            self.assertEqual(t.device, num.device, msg=name)
            self.assertEqual(t.cpu().tolist(), w, msg="%s %s" % (name, msg))
        return got

    def test_a_hand_made_mask(self):
        # QB = 3, KB = 4. qb 0: partial [1, 0] (0 also full), qb 1: [3] and
        # a -1 inside the count, qb 2: count 9 (clamped) with entry KB.
        num = torch.tensor([[[2, 2, 9]]], dtype=I32)
        idx = torch.tensor([[[[1, 0, 2, 3], [3, -1, 0, 0],
                              [0, 4, 2, 1]]]], dtype=I32)
        fnum = torch.tensor([[[1, -3, 1]]], dtype=I32)
        fidx = torch.tensor([[[[0, 2, 2, 2], [2, 2, 2, 2],
                               [3, 2, 2, 2]]]], dtype=I32)
        q_num, q_idx, fq_num, fq_idx = self.check(num, idx, fnum, fidx)
        self.assertEqual(q_num.tolist(), [[[1, 2, 1, 1]]])
        self.assertEqual(q_idx.tolist(), [[[[2, -1, -1], [0, 2, -1],
                                            [2, -1, -1], [1, -1, -1]]]])
        self.assertEqual(fq_num.tolist(), [[[1, 0, 0, 1]]])
        self.assertEqual(fq_idx.tolist(), [[[[0, -1, -1], [-1, -1, -1],
                                             [-1, -1, -1], [2, -1, -1]]]])
        # Without the full lists, block 0 of qb 0 is partial.
        q_num, q_idx, none, none2 = self.check(num, idx)
        self.assertEqual(q_num.tolist(), [[[2, 2, 1, 1]]])
        self.assertIsNone(none)
        self.assertIsNone(none2)

    def test_random_lists_against_the_brute_force(self):
        g = torch.Generator().manual_seed(0)
        r = random.Random(0)
        B, H = 2, 3
        for case in range(60):
            QB, KB = r.randint(1, 6), r.randint(1, 6)
            dims = [(r.choice((1, B)), r.choice((1, H))) for _ in range(2)]
            num, idx = random_pair(g, *dims[0], QB, KB)
            with self.subTest(case=case, QB=QB, KB=KB, dims=dims):
                if case % 4 == 3:  # no full lists
                    self.check(num, idx, msg=case)
                else:
                    fnum, fidx = random_pair(g, *dims[1], QB, KB)
                    self.check(num, idx, fnum, fidx, msg=case)

    def test_partial_and_full_broadcasting_differently(self):
        # Every combination of B|1 and H|1 for each pair, QB != KB; the
        # full lists repeat many partial blocks (full wins).
        g = torch.Generator().manual_seed(1)
        B, H, QB, KB = 2, 2, 5, 3
        seen_overlap = False
        for pb in (1, B):
            for ph in (1, H):
                for fb in (1, B):
                    for fh in (1, H):
                        num, idx = random_pair(g, pb, ph, QB, KB)
                        fnum, fidx = random_pair(g, fb, fh, QB, KB)
                        fidx[..., :2] = idx[:1, :1, :, :2]
                        with self.subTest(partial=(pb, ph), full=(fb, fh)):
                            got = self.check(num, idx, fnum, fidx)
                            self.assertEqual(got[0].shape, (pb, ph, KB))
                            self.assertEqual(got[1].shape, (pb, ph, KB, QB))
                            self.assertEqual(got[2].shape, (fb, fh, KB))
                            self.assertEqual(got[3].shape, (fb, fh, KB, QB))
                        q = brute_transpose(num, idx)[0]
                        seen_overlap |= q != got[0].tolist()
        self.assertTrue(seen_overlap)  # full won somewhere

    def test_counts_and_indices_broadcasting_differently(self):
        g = torch.Generator().manual_seed(2)
        num, _ = random_pair(g, 1, 1, 4, 5)
        _, idx = random_pair(g, 2, 3, 4, 5)
        q_num, q_idx, _, _ = self.check(num, idx)
        self.assertEqual((q_num.shape, q_idx.shape), ((2, 3, 5), (2, 3, 5, 4)))

    def test_key_blocks_and_empty_lists(self):
        g = torch.Generator().manual_seed(3)
        num, idx = random_pair(g, 2, 1, 4, 5)
        got = self.check(num, idx, key_blocks=3)  # entries 3, 4 name none
        self.assertEqual(got[0].shape, (2, 1, 3))
        self.check(num, idx, key_blocks=7)  # wider than the rows
        for QB, KB in ((0, 3), (3, 0), (0, 0)):
            with self.subTest(QB=QB, KB=KB):
                num, idx = random_pair(g, 1, 2, QB, KB)
                got = self.check(num, idx, *random_pair(g, 2, 1, QB, KB))
                self.assertEqual(got[3].shape, (2, 1, KB, QB))

    def test_bad_lists(self):
        num, idx = random_pair(torch.Generator().manual_seed(4), 1, 1, 3, 2)
        with self.assertRaisesRegex(ValueError, "together or not at all"):
            transpose_lists(num, idx, num)
        with self.assertRaisesRegex(ValueError, "counts have 2 query blocks, "
                                                "indices 3"):
            transpose_lists(num[..., :2], idx)
        with self.assertRaisesRegex(ValueError, "counts are"):
            transpose_lists(num[0], idx)
        with self.assertRaisesRegex(ValueError, "the full ones 2"):
            transpose_lists(num, idx, num[..., :2], idx[..., :2, :])

    @unittest.skipUnless(torch.cuda.is_available(), "no GPU")
    def test_cuda(self):
        g = torch.Generator().manual_seed(5)
        for dims in (((1, 3), (2, 1)), ((2, 3), (2, 3)), ((2, 1), (1, 3))):
            num, idx = random_pair(g, *dims[0], 7, 5)
            fnum, fidx = random_pair(g, *dims[1], 7, 5)
            self.check(*(t.cuda() for t in (num, idx, fnum, fidx)))

    @unittest.skipUnless(HAS_COMPILE, NO_COMPILE)
    def test_torch_compile_fullgraph(self):
        import torch._dynamo
        torch._dynamo.reset()
        g = torch.Generator().manual_seed(6)
        compiled = torch.compile(transpose_lists, fullgraph=True,
                                 backend="aot_eager")
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for device in devices:
            for QB, KB in ((4, 3), (6, 6)):
                lists = [t.to(device) for t in random_pair(g, 2, 1, QB, KB)
                         + random_pair(g, 1, 3, QB, KB)]
                for got, want in zip(compiled(*lists),
                                     transpose_lists(*lists)):
                    self.assertEqual(got.dtype, I32)
                    self.assertTrue(torch.equal(got, want))
                got = compiled(*lists[:2])
                self.assertEqual(got[2:], (None, None))


# -- an op whose backward kernel takes the transposed lists ----------------

QBLOCK, KBLOCK = 2, 3  # block [Qb, Kb]


def write_bundle(name="sparse", Hq=4, Hkv=2, D=8, Dv=6, full=True,
                 batch="B", heads=None, full_batch=None, full_heads=None,
                 transposed=TRANSPOSED, bwd_extra=()):
    """A manifest-only bundle: kernel ``name`` over block lists (batch and
    head dims ``batch`` ("B" or 1) and ``heads`` (Hq or 1), the full pair's
    ``full_batch`` and ``full_heads`` (default: the same); the full pair
    where ``full``) and ``name_backward`` also over the transposed lists
    named in ``transposed``, each pair with its kv pair's dims."""
    _count[0] += 1
    path = os.path.join(TMP, "b%d" % _count[0], name + ".bundle")
    os.makedirs(path)
    heads = Hq if heads is None else heads

    def p(pname, io, shape, dtype="bf16", **kw):
        return dict(name=pname, io=io, dtype=dtype, shape=shape, **kw)
    q, k = ["B", Hq, "N", D], ["B", Hkv, "M", D]
    v, o = ["B", Hkv, "M", Dv], ["B", Hq, "N", Dv]
    qbs, kbs = "cdiv(N,%d)" % QBLOCK, "cdiv(M,%d)" % KBLOCK
    full_lead = [batch if full_batch is None else full_batch,
                 heads if full_heads is None else full_heads]

    def lists(names, rows, cols):
        return [p(n, "in", ([batch, heads] if "full" not in n else full_lead)
                  + ([rows, cols] if "indices" in n else [rows]), "i32",
                  pointer_align=4)
                for n in names]
    kv = lists(KV if full else KV[:2], qbs, kbs)
    tr = lists([n for n in transposed if full or "full" not in n], kbs, qbs)
    kernels = [dict(name=name, op="attention", symbols=["B", "N", "M"],
                    params=[p("q", "in", q), p("k", "in", k),
                            p("v", "in", v)] + kv
                    + [p("o", "out", o), p("lse", "out", ["B", Hq, "N"],
                                           "f32", optional=True)],
                    variants=[]),
               dict(name=name + "_backward", op="attention_grad",
                    symbols=["B", "N", "M"],
                    params=[p("q", "in", q), p("k", "in", k), p("v", "in", v),
                            p("o", "in", o), p("do", "in", o),
                            p("lse", "in", ["B", Hq, "N"], "f32")]
                    + kv + tr + list(bwd_extra)
                    + [p("dq", "out", q), p("dk", "out", k),
                       p("dv", "out", v)],
                    variants=[])]
    with open(os.path.join(path, "manifest.json"), "w") as f:
        json.dump(dict(format="flashgen-bundle", version=1,
                       flashgen_version="0.1.0", target="sm_90a",
                       kernels=kernels), f)
    return path


def listed_blocks(num, idx, rows, cols):
    """Dense [Bl, Hl, rows, cols] bool: list (b, h, r) names block c."""
    sets = named_sets(num, idx, cols)
    return torch.tensor([[[[c in s for c in range(cols)] for s in per_h]
                          for per_h in per_b] for per_b in sets],
                        dtype=torch.bool).view(len(sets), -1, rows, cols)


def visible(N, M, kv=None, transposed=None):
    """[B|1, Hq|1, N, M] bool from the kv lists (four, the full pair may
    be None) or from the transposed ones."""
    QB, KB = -(-N // QBLOCK), -(-M // KBLOCK)
    if kv is not None:
        blocks = listed_blocks(kv[0], kv[1], QB, KB)
        if kv[2] is not None:
            blocks = blocks | listed_blocks(kv[2], kv[3], QB, KB)
    else:
        blocks = listed_blocks(transposed[0], transposed[1], KB, QB)
        if transposed[2] is not None:
            blocks = blocks | listed_blocks(transposed[2], transposed[3],
                                            KB, QB)
        blocks = blocks.transpose(-1, -2)
    return (blocks.repeat_interleave(QBLOCK, 2)[:, :, :N]
            .repeat_interleave(KBLOCK, 3)[..., :M])


def probabilities(q, k, mask):
    """(p, lse): float64 softmax over the visible keys, GQA expanded; a row
    with none has p = 0 and lse = -inf. Differentiable without NaNs (rows
    with no visible key are scored 0 before the logsumexp)."""
    k = k.repeat_interleave(q.shape[1] // k.shape[1], 1)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    s = torch.where(mask, s, torch.full_like(s, -math.inf))
    rows = mask.any(-1, keepdim=True)
    s = torch.where(rows, s, torch.zeros_like(s))
    lse = torch.logsumexp(s, -1, keepdim=True)
    p = torch.where(mask, torch.exp(s - lse), torch.zeros_like(s))
    lse = torch.where(rows, lse, torch.full_like(lse, -math.inf))
    return p, lse.squeeze(-1)


def reference(q, k, v, mask):
    p, lse = probabilities(q, k, mask)
    return p @ v.repeat_interleave(q.shape[1] // v.shape[1], 1), lse


def reference_backward(q, k, v, do, mask):
    B, Hq, N, D = q.shape
    group = Hq // k.shape[1]
    p, _ = probabilities(q, k, mask)
    ke, ve = (t.repeat_interleave(group, 1) for t in (k, v))
    o = p @ ve
    dv = p.transpose(-1, -2) @ do
    dp = do @ ve.transpose(-1, -2)
    ds = p * (dp - (do * o).sum(-1, keepdim=True)) / math.sqrt(D)

    def fold(x):
        return x.view(B, k.shape[1], group, *x.shape[2:]).sum(2)
    return ds @ ke, fold(ds.transpose(-1, -2) @ q), fold(dv)


class Double:
    """The float64 reference as the op's kernels: the forward reads the
    mask from the kv lists, the backward from the transposed ones (as a
    kernel walking key blocks does). Records what each receives."""

    def __init__(self):
        self.forward_extras, self.backward_extras = [], []

    def forward(self, q, k, v, **extras):
        self.forward_extras.append(extras)
        kv = [extras.get(n) for n in KV]
        return reference(q, k, v, visible(q.shape[2], k.shape[2], kv=kv))

    def backward(self, q, k, v, o, do, lse, **extras):
        self.backward_extras.append(extras)
        tr = [extras.get(n) for n in TRANSPOSED]
        return reference_backward(
            q, k, v, do, visible(q.shape[2], k.shape[2], transposed=tr))


def registered(**bundle):
    op = ft.register(write_bundle(**bundle))
    double = Double()
    op._register_test_double(double.forward, double.backward)
    return op, double


def inputs(seed=0, B=2, N=8, M=9, Hq=4, Hkv=2, D=8, Dv=6, full=True,
           batch=None, heads=None, full_batch=None, full_heads=None):
    """q, k, v ([B, N, H, D] views) and the kv lists (a dict by name):
    QB = cdiv(N, 2) = 4 query blocks, KB = cdiv(M, 3) = 3 key blocks;
    random lists with a block in both lists, a -1 and a KB entry."""
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(B, n, h, d, generator=g, dtype=F64)
               .transpose(1, 2).requires_grad_(True)
               for n, h, d in ((N, Hq, D), (M, Hkv, D), (M, Hkv, Dv)))
    QB, KB = -(-N // QBLOCK), -(-M // KBLOCK)
    b, h = B if batch is None else batch, Hq if heads is None else heads
    num, idx = random_pair(g, b, h, QB, KB)
    num[0, 0, 0], idx[0, 0, 0, :2] = 2, torch.tensor([KB, 1])
    lists = dict(kv_num_blocks=num, kv_indices=idx)
    if full:
        fb = b if full_batch is None else full_batch
        fh = h if full_heads is None else full_heads
        fnum, fidx = random_pair(g, fb, fh, QB, KB)
        fnum[0, 0, 0], fidx[0, 0, 0, :2] = 2, torch.tensor([1, -1])
        lists.update(full_kv_num_blocks=fnum, full_kv_indices=fidx)
    return (q, k, v), lists


def expected(q, k, v, lists, do):
    """(o, grads) of the dense reference with autograd."""
    x = [t.detach().clone().requires_grad_(True) for t in (q, k, v)]
    mask = visible(q.shape[2], k.shape[2],
                   kv=[lists.get(n) for n in KV])
    o, _ = reference(*x, mask)
    return o, torch.autograd.grad(o, x, do)


class Keywords(unittest.TestCase):
    def test_extras_list_the_transposed_lists_as_optional(self):
        op, _ = registered()
        self.assertEqual(op.extras, {
            "kv_num_blocks": "tensor", "kv_indices": "tensor",
            "full_kv_num_blocks": "tensor", "full_kv_indices": "tensor",
            "q_num_blocks": "tensor?", "q_indices": "tensor?",
            "full_q_num_blocks": "tensor?", "full_q_indices": "tensor?"})
        op, _ = registered(full=False)
        self.assertEqual(op.extras, {
            "kv_num_blocks": "tensor", "kv_indices": "tensor",
            "q_num_blocks": "tensor?", "q_indices": "tensor?"})

    def test_manifests_flashgen_torch_cannot_serve(self):
        E = flashgen.FlashgenError
        other = dict(name="window", io="in", dtype="i32", shape=["B"])
        with self.assertRaisesRegex(E, "kernel sparse_backward takes param "
                                       "window, which sparse does not"):
            ft.register(write_bundle(bwd_extra=[other]))
        with self.assertRaisesRegex(E, "takes q_num_blocks without "
                                       "q_indices"):
            ft.register(write_bundle(transposed=TRANSPOSED[:1]))
        # full_q_* transposes full_kv_*, which the forward lacks: the
        # bundle's backward takes them, its forward not the full kv lists.
        path = write_bundle(full=True)
        manifest_path = os.path.join(path, "manifest.json")
        with open(manifest_path) as f:
            manifest = json.load(f)
        for kern in manifest["kernels"]:
            kern["params"] = [p for p in kern["params"]
                              if p["name"] not in KV[2:]]
        with open(manifest_path, "w") as f:
            json.dump(manifest, f)
        with self.assertRaisesRegex(E, "takes full_q_indices, but sparse "
                                       "takes no full_kv_num_blocks"):
            ft.register(path)

    def test_a_pair_is_given_together(self):
        op, _ = registered()
        (q, k, v), lists = inputs()
        t = transpose_lists(*(lists[n] for n in KV))
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    "q_num_blocks, q_indices: give both or "
                                    "neither"):
            op(q, k, v, **lists, q_num_blocks=t[0])
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    "full_q_num_blocks, full_q_indices"):
            op(q, k, v, **lists, full_q_indices=t[3])
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    "q_indices: dtype torch.int64"):
            op(q, k, v, **lists, q_num_blocks=t[0], q_indices=t[1].long())


class BlockMaskObject(unittest.TestCase):
    """block_mask=: a FlexAttention BlockMask (here an object with its
    fields) unpacked into the lists, its BLOCK_SIZE checked."""

    def mask(self, lists, block_size, transposed=True):
        fields = dict(lists, BLOCK_SIZE=block_size)
        t = transpose_lists(*(lists.get(n) for n in KV))
        for n, x in zip(TRANSPOSED, t):
            fields[n] = x if transposed else None
        return types.SimpleNamespace(**fields)

    def test_the_lists_come_from_the_mask(self):
        op, double = registered()
        (q, k, v), lists = inputs(11)
        bm = self.mask(lists, (QBLOCK, KBLOCK))
        o = op(q, k, v, block_mask=bm)
        torch.autograd.grad(o, (q, k, v), torch.ones_like(o))
        (fwd,), (bwd,) = double.forward_extras, double.backward_extras
        self.assertEqual(sorted(fwd), sorted(lists))
        for n in lists:
            self.assertIs(fwd[n], lists[n])
        for n in TRANSPOSED:
            self.assertIs(bwd[n], getattr(bm, n))
        # A keyword beside the mask wins; transposes the mask lacks are
        # computed.
        op, double = registered()
        other = inputs(12)[1]
        op(q, k, v, block_mask=self.mask(lists, (QBLOCK, KBLOCK), False),
           kv_indices=other["kv_indices"])
        self.assertIs(double.forward_extras[0]["kv_indices"], other["kv_indices"])

    def test_block_size_and_dense_kernels(self):
        op, _ = registered()
        (q, k, v), lists = inputs(13)
        with self.assertRaisesRegex(flashgen.FlashgenError,
                                    "BLOCK_SIZE \\(%d, %d\\), but kernel sparse "
                                    "was compiled for blocks of %d x %d"
                                    % (QBLOCK + 1, KBLOCK, QBLOCK, KBLOCK)):
            op(q, k, v, block_mask=self.mask(lists, (QBLOCK + 1, KBLOCK)))


class Autograd(unittest.TestCase):
    def run_case(self, seed, give=(), **kw):
        """Forward and backward through the op; returns the double and the
        transposed lists the caller gave (by name)."""
        full = kw.get("full", True)
        def batch(n):  # the manifest's batch dim: B or 1 (None: default)
            return None if n is None else 1 if n == 1 else "B"
        op, double = registered(
            full=full, heads=kw.get("heads"), full_heads=kw.get("full_heads"),
            batch=batch(kw.get("batch")) or "B",
            full_batch=batch(kw.get("full_batch")))
        (q, k, v), lists = inputs(seed, **kw)
        given = {}
        if give:
            # The caller's own lists: those of another mask's (so the
            # gradients tell whose lists the backward used).
            _, other = inputs(seed + 100, **kw)
            t = transpose_lists(*(other.get(n) for n in KV))
            given = {n: x for n, x in zip(TRANSPOSED, t)
                     if n in give and x is not None}
        o = op(q, k, v, **lists, **given)
        do = torch.randn(o.shape, dtype=F64,
                         generator=torch.Generator().manual_seed(seed + 1))
        grads = torch.autograd.grad(o, (q, k, v), do)
        o_ref, grads_ref = expected(q, k, v, lists, do)
        torch.testing.assert_close(o, o_ref, rtol=1e-12, atol=1e-12)
        (fwd,), (bwd,) = double.forward_extras, double.backward_extras
        self.assertEqual(sorted(fwd), sorted(lists))  # never the transposed
        names = [n for n in TRANSPOSED if full or "full" not in n]
        self.assertEqual(sorted(bwd), sorted(list(lists) + names))
        for n in lists:
            self.assertIs(bwd[n], lists[n])
        computed = transpose_lists(*(lists.get(n) for n in KV))
        for n, t in zip(TRANSPOSED, computed):
            if n in given:
                self.assertIs(bwd[n], given[n])
            elif n in names:
                self.assertTrue(torch.equal(bwd[n], t), msg=n)
        if not given:  # else the backward read another mask's lists
            for name, a, b in zip("qkv", grads, grads_ref):
                torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12,
                                           msg="d" + name)
        return double, given

    def test_lists_left_out_are_computed(self):
        self.run_case(0)

    def test_without_full_lists(self):
        self.run_case(1, full=False)

    def test_broadcast_lists(self):
        self.run_case(2, batch=1)
        self.run_case(3, heads=1, full_batch=1)
        self.run_case(4, batch=1, heads=1, full_batch=2, full_heads=4)

    def test_the_callers_lists_are_used(self):
        double, given = self.run_case(5, give=TRANSPOSED)
        self.assertEqual(len(given), 4)
        # Only the full pair given: the partial pair is computed.
        self.run_case(6, give=TRANSPOSED[2:])

    def test_gradcheck(self):
        op, _ = registered()
        (q, k, v), lists = inputs(7, B=1, N=5, M=4)
        self.assertTrue(torch.autograd.gradcheck(
            lambda q, k, v: op(q, k, v, **lists), (q, k, v), eps=1e-6,
            atol=1e-7))


class LaunchPath(unittest.TestCase):
    """The CUDA path's glue on CPU tensors: the forward launch gets no
    transposed list, the backward launch all four."""

    def test_the_launches(self):
        op, _ = registered()
        calls = []

        def mask(a, **kw):
            return visible(a["q"].shape[2], a["k"].shape[2], **kw)
        torch_test.record_launches(
            op, calls,
            lambda a: reference(a["q"], a["k"], a["v"],
                                mask(a, kv=[a.get(n) for n in KV])),
            lambda a: reference_backward(
                a["q"], a["k"], a["v"], a["do"],
                mask(a, transposed=[a.get(n) for n in TRANSPOSED])))
        (q, k, v), lists = inputs(8)
        o = op(q, k, v, **lists)
        (name, args), = calls
        self.assertEqual(sorted(args), sorted(["q", "k", "v", "o", "lse"]
                                              + list(lists)))
        do = torch.randn(o.shape, dtype=F64)
        grads = torch.autograd.grad(o, (q, k, v), do)
        name, args = calls[1]
        self.assertEqual(name, "sparse_backward")
        self.assertEqual(sorted(args), sorted(
            ["q", "k", "v", "o", "do", "lse", "dq", "dk", "dv"]
            + list(lists) + list(TRANSPOSED)))
        for n, t in zip(TRANSPOSED, transpose_lists(*(lists[n] for n in KV))):
            self.assertTrue(torch.equal(args[n], t), msg=n)
        for a, b in zip(grads, expected(q, k, v, lists, do)[1]):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@unittest.skipUnless(ft.HAS_CUSTOM_OP, NO_CUSTOM_OP)
class CustomOp(unittest.TestCase):
    def test_schemas(self):
        op, _ = registered()
        tail = ("Tensor x0_kv_num_blocks, Tensor x1_kv_indices, "
                "Tensor x2_full_kv_num_blocks, Tensor x3_full_kv_indices, "
                "Tensor? x4_q_num_blocks, Tensor? x5_q_indices, "
                "Tensor? x6_full_q_num_blocks, Tensor? x7_full_q_indices)")
        self.assertTrue(str(op.forward_op._schema).endswith(
            tail + " -> (Tensor, Tensor)"), str(op.forward_op._schema))
        self.assertTrue(str(op.backward_op._schema).endswith(
            tail + " -> (Tensor, Tensor, Tensor)"),
            str(op.backward_op._schema))

    def test_opcheck(self):
        op, _ = registered()
        (q, k, v), lists = inputs(9, B=1)
        kv = [lists[n] for n in KV]
        t = list(transpose_lists(*kv))
        for tr in ([None] * 4, t):
            with self.subTest(given=tr[0] is not None):
                torch.library.opcheck(op.forward_op, (q, k, v, *kv, *tr))
                o, lse = op.forward_op(q, k, v, *kv, *tr)
                do = torch.randn(o.shape, dtype=F64)
                torch.library.opcheck(
                    op.backward_op, (q.detach(), k.detach(), v.detach(),
                                     o.detach(), do, lse, *kv, *tr))

    def test_fake_tensors(self):
        from torch._subclasses.fake_tensor import FakeTensorMode
        op = ft.register(write_bundle())
        with FakeTensorMode():
            q, k, v = (torch.empty(2, n, h, d, device="cuda",
                                   dtype=torch.bfloat16).transpose(1, 2)
                       for n, h, d in ((8, 4, 8), (9, 2, 8), (9, 2, 6)))
            lists = {n: torch.empty((2, 4, 4) if "num" in n else (2, 4, 4, 3),
                                    device="cuda", dtype=I32) for n in KV}
            o, lse = op.forward_with_lse(q, k, v, **lists)
            tr = [torch.empty((2, 4, 3) if "num" in n else (2, 4, 3, 4),
                              device="cuda", dtype=I32) for n in TRANSPOSED]
            for given in ([None] * 4, tr):
                grads = op.backward_op(q, k, v, o, torch.empty_like(o), lse,
                                       *lists.values(), *given)
                self.assertEqual([g.shape for g in grads],
                                 [x.shape for x in (q, k, v)])
            with self.assertRaisesRegex(flashgen.FlashgenError,
                                        r"q_num_blocks: dim 0 \(B\) is 3"):
                bad = [torch.empty(3, 4, 3, device="cuda", dtype=I32)] + tr[1:]
                op.backward_op(q, k, v, o, torch.empty_like(o), lse,
                               *lists.values(), *bad)

    def compiled(self, f):
        """f compiled with fullgraph=True by a backend that keeps the
        forward and backward graphs."""
        from functorch.compile import make_boxed_func
        from torch._dynamo.backends.common import aot_autograd
        graphs = {}

        def keep(kind):
            def compiler(gm, example_inputs):
                graphs[kind] = gm
                return make_boxed_func(gm.forward)
            return compiler
        backend = aot_autograd(fw_compiler=keep("forward"),
                               bw_compiler=keep("backward"))
        return torch.compile(f, backend=backend, fullgraph=True), graphs

    @unittest.skipUnless(HAS_COMPILE, NO_COMPILE)
    def test_torch_compile_fullgraph(self):
        import torch._dynamo
        op, double = registered()
        for give in (False, True):
            with self.subTest(give=give):
                torch._dynamo.reset()
                (q, k, v), lists = inputs(10 + give)
                tr = {}
                if give:
                    t = transpose_lists(*(lists[n] for n in KV))
                    tr = dict(zip(TRANSPOSED, t))

                def f(q, k, v, lists, tr):
                    return op(q, k, v, **lists, **tr)
                compiled, graphs = self.compiled(f)
                o = compiled(q, k, v, lists, tr)
                grads = torch.autograd.grad(o.square().sum(), (q, k, v))
                o_ref = f(q, k, v, lists, tr)
                expect = torch.autograd.grad(o_ref.square().sum(), (q, k, v))
                torch.testing.assert_close(o, o_ref)
                for a, b in zip(grads, expect):
                    torch.testing.assert_close(a, b)
                computed = transpose_lists(*(lists[n] for n in KV))
                got = double.backward_extras[-2]  # the compiled backward's
                for n, t in zip(TRANSPOSED, computed):
                    self.assertTrue(torch.equal(got[n], t), msg=n)
                    if give:
                        self.assertEqual(got[n].data_ptr(),
                                         tr[n].data_ptr())
                targets = {kind: {str(n.target) for n in g.graph.nodes
                                  if n.op == "call_function"}
                           for kind, g in graphs.items()}
                self.assertIn("flashgen.%s.default" % op.op_name,
                              targets["forward"])
                self.assertIn("flashgen.%s_backward.default" % op.op_name,
                              targets["backward"])


def main():
    try:
        prog = unittest.main(argv=sys.argv, exit=False, verbosity=2)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
        shutil.rmtree(torch_test.TMP, ignore_errors=True)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
