#!/usr/bin/env python3
"""Test vectors for come's reimplementations of the reference's random row selection.

- numpy.random.default_rng(seed).permutation(n) and the raw PCG64 outputs (as decimal strings): what the HF `datasets` shuffle uses
  (reference-algorithms.md §2.1, §8.1.2); PCG64 seeded through SeedSequence, numpy's
  Fisher–Yates with masked rejection.
- Python's random.seed(seed) then random.shuffle twice (the mmlu subject list, then the
  per-subject count list: §2.1 mmlu steps 2–3).

    python3 scripts/oracles/random_vectors.py > Tests/CompressionTests/Data/random_vectors.json

Needs numpy only. The output is committed; Tests/CompressionTests/RandomTests.swift reads it.
"""
import json
import random
import sys

import numpy as np

cases = []
for seed, n in [(10, 3760), (10, 1), (10, 2), (0, 10), (1, 100), (42, 1000), (123, 57),
                (2**32 - 1, 300), (2**32 + 7, 64), (2**40 + 5, 77), (9999, 5000)]:
    p = np.random.default_rng(seed).permutation(n).tolist()
    cases.append({"seed": seed, "n": n, "permutation": p})

raw = [{"seed": s, "next64": [str(int(x)) for x in np.random.default_rng(s).bit_generator.random_raw(8)]} for s in [0, 10, 2**33 + 1]]

shuffles = []
for seed, n1, n2 in [(10, 57, 5), (0, 57, 57), (12345, 20, 7), (2**33 + 7, 100, 3)]:
    random.seed(seed)
    a = list(range(n1))
    random.shuffle(a)
    b = list(range(n2))
    random.shuffle(b)
    shuffles.append({"seed": seed, "first": a, "second": b})

json.dump({"numpy_permutation": cases, "pcg64_raw": raw, "python_shuffle": shuffles,
           "versions": {"numpy": np.__version__, "python": sys.version.split()[0]}}, sys.stdout)
sys.stdout.write("\n")
