#!/usr/bin/env python3
"""flashgen.tree: a speculative tree's ancestor matrix and the ancestor bits
examples/tree_verify.mlir's mask_mod reads.

- ancestor_matrix against a walk up each draft's parent chain, on random
  trees (chains, stars, and parents uniform among the earlier drafts and
  the prefix), batch of several;
- ancestor_bits: each bit read back with the region's own rule (word
  t >> 5 of the draft row, bit t & 31 of it, shifted as an unsigned 32-bit
  value) equals the matrix, 33 to 64 drafts in 2 words (bit 31 set makes
  a negative int32), 1 word for 32 drafts;
- bad parents (not earlier, below -1, a float tensor) and too few words are
  refused with a message that names them.

    PYTHONPATH=python python3 test/unit/torch/torch_tree_test.py

Needs torch; without it, exits 77 (skipped) as torch_test.py does.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ensure_torch import ensure_torch  # noqa: E402

if __name__ == "__main__":
    ensure_torch()

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "python"))
from flashgen.tree import ancestor_bits, ancestor_matrix  # noqa: E402


def walk(parents):
    """[B][N][N] lists by walking each draft's parent chain."""
    out = []
    for row in parents.tolist():
        n = len(row)
        matrix = [[False] * n for _ in range(n)]
        for i in range(n):
            t = i
            while t >= 0:
                matrix[i][t] = True
                t = row[t]
        out.append(matrix)
    return out


def random_parents(batch, n, gen):
    return torch.stack([torch.tensor([int(torch.randint(-1, t, (1,), generator=gen))
                                      for t in range(n)]) for _ in range(batch)])


def read_bit(bits, b, i, t):
    """The region's rule (examples/tree_verify.mlir), in Python."""
    word = int(bits[b, i, min(max(t >> 5, 0), bits.shape[2] - 1)]) & 0xFFFFFFFF
    return (word >> (t & 31)) & 1 == 1


class TreeTest(unittest.TestCase):
    def test_matrix_matches_walk(self):
        gen = torch.Generator().manual_seed(3)
        cases = [random_parents(4, 64, gen), random_parents(2, 37, gen),
                 torch.arange(-1, 19).unsqueeze(0),          # a chain
                 torch.full((1, 20), -1)]                     # a star
        for parents in cases:
            got = ancestor_matrix(parents).tolist()
            self.assertEqual(got, walk(parents))

    def test_bits_read_back(self):
        gen = torch.Generator().manual_seed(5)
        for n, words in ((64, 2), (33, 2), (40, None), (32, 1), (5, None)):
            parents = random_parents(3, n, gen)
            bits = ancestor_bits(parents, words=words)
            expect_words = words or -(-n // 32)
            self.assertEqual(bits.dtype, torch.int32)
            self.assertEqual(tuple(bits.shape), (3, n, expect_words))
            matrix = ancestor_matrix(parents)
            for b in range(3):
                for i in range(n):
                    for t in range(n):
                        self.assertEqual(read_bit(bits, b, i, t), bool(matrix[b, i, t]),
                                         (n, b, i, t))
        # The last of 32 drafts in a chain sets bit 31: a negative int32.
        chain = ancestor_bits(torch.arange(-1, 31).unsqueeze(0), words=1)
        self.assertEqual(int(chain[0, 31, 0]), -1)

    def test_one_dimensional_parents(self):
        self.assertEqual(tuple(ancestor_bits(torch.tensor([-1, 0, 0, 1])).shape), (1, 4, 1))

    def test_refusals(self):
        with self.assertRaisesRegex(ValueError, r"parents\[0, 2\] = 2"):
            ancestor_matrix(torch.tensor([[-1, 0, 2]]))
        with self.assertRaisesRegex(ValueError, r"parents\[1, 0\] = -2"):
            ancestor_matrix(torch.tensor([[-1, 0], [-2, 0]]))
        with self.assertRaisesRegex(ValueError, "integer"):
            ancestor_matrix(torch.zeros(1, 3))
        with self.assertRaisesRegex(ValueError, "40 drafts need 2 words"):
            ancestor_bits(torch.full((1, 40), -1), words=1)


if __name__ == "__main__":
    unittest.main()
