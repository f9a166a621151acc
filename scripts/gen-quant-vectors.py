#!/usr/bin/env python3
# Generates the committed dequantisation test vectors of Tests/CheckpointsTests, from an
# implementation independent of ours: the python `gguf` package (pip install gguf numpy;
# made with gguf 0.19.0, numpy 2.4).
#
#   Data/quant_vectors.safetensors  for each ggml type T: `T.raw` U8 [rows, row bytes] (the
#       stored blocks) and `T.expected` F32 [rows, 512] (gguf.quants.dequantize of them).
#       Q4_0/Q4_1/Q5_0/Q5_1/Q8_0/BF16 blocks come from gguf.quants.quantize of random data;
#       gguf cannot quantise Q4_K/Q5_K/Q6_K, so their blocks are random bytes with finite f16
#       scales (every bit pattern of the packed scales and quants is legal).
#   Data/tiny_v3.gguf  a GGUF v3 file written by gguf.GGUFWriter with alignment 64, one
#       metadata key of every value type (nested arrays included) and one tensor per type,
#       `t.<T>` holding the rows above; plus `t.f32_3d` (ne [4, 3, 2], values 0..23) and
#       `t.f32_odd` (5 values 0.5, 1.5, …) to exercise padding.
# Run from the repository root: python3 scripts/gen-quant-vectors.py
import json, struct
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf.constants import GGUFValueType as V

OUT = Path("Tests/CheckpointsTests/Data")
ROWS, N = 2, 512
rng = np.random.default_rng(20250101)


def data_rows():
    a = np.empty((ROWS, N), dtype=np.float32)
    a[0] = rng.normal(0, 0.1, N)
    a[1] = rng.uniform(-3, 5, N)
    a[1, 0:32] = 0.0                       # an all-zero block: d = 0
    a[1, 32:64] = 0.75                     # a constant block
    a[1, 100] = 40.0                       # an outlier
    return a


def f16_bytes(x):
    return np.array([x], dtype=np.float16).view(np.uint8)


def random_k_blocks(qtype):
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    nb = ROWS * N // block
    raw = rng.integers(0, 256, size=(nb, size), dtype=np.uint8)
    for b in range(nb):
        d = rng.normal(0, 0.02) if b != 1 else 3.0e-6   # block 1: a subnormal f16 scale
        if qtype == Q.Q6_K:
            raw[b, 208:210] = f16_bytes(d)
        else:
            raw[b, 0:2] = f16_bytes(d)
            raw[b, 2:4] = f16_bytes(abs(rng.normal(0, 0.02)))
    return raw.reshape(ROWS, -1)


vectors = {}
for qtype in [Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0, Q.BF16]:
    raw = gguf.quants.quantize(data_rows(), qtype).reshape(ROWS, -1)
    vectors[qtype.name] = raw
for qtype in [Q.Q4_K, Q.Q5_K, Q.Q6_K]:
    vectors[qtype.name] = random_k_blocks(qtype)
f16 = data_rows().astype(np.float16)
f16[0, :4] = [6.0e-8, -6.0e-8, -0.0, 65504.0]   # subnormals, negative zero, the largest half
vectors["F16"] = f16.view(np.uint8).reshape(ROWS, -1)
vectors["F32"] = data_rows().view(np.uint8).reshape(ROWS, -1)

expected = {name: gguf.quants.dequantize(raw, Q[name]).astype(np.float32).reshape(ROWS, N)
            for name, raw in vectors.items()}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, arr in tensors:
        dtype = {np.dtype(np.uint8): "U8", np.dtype(np.float32): "F32"}[arr.dtype]
        b = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


names = sorted(vectors)
write_safetensors(OUT / "quant_vectors.safetensors",
                  [(f"{n}.raw", vectors[n]) for n in names] + [(f"{n}.expected", expected[n]) for n in names])

w = gguf.GGUFWriter(OUT / "tiny_v3.gguf", "testarch")
w.add_custom_alignment(64)
w.add_uint8("test.u8", 200)
w.add_int8("test.i8", -100)
w.add_uint16("test.u16", 60000)
w.add_int16("test.i16", -30000)
w.add_uint32("test.u32", 4_000_000_000)
w.add_int32("test.i32", -2_000_000_000)
w.add_float32("test.f32", 0.1)
w.add_bool("test.bool", True)
w.add_string("test.string", "héllo ▁wörld")
w.add_uint64("test.u64", 2**63 + 5)
w.add_int64("test.i64", -(2**62))
w.add_float64("test.f64", 1.0 / 3.0)
w.add_array("test.strings", ["a", "", "ĠĊ"])
w.add_key_value("test.u16s", [1, 2, 65535], V.ARRAY, sub_type=V.UINT16)
w.add_array("test.floats", [0.5, -1.25])
w.add_array("test.nested", [[1, 2], ["x"], [[True]]])
for n in names:
    w.add_tensor(f"t.{n}", vectors[n], raw_dtype=Q[n])  # byte rows; the writer derives ne
w.add_tensor("t.f32_3d", np.arange(24, dtype=np.float32).reshape(2, 3, 4))
w.add_tensor("t.f32_odd", np.arange(5, dtype=np.float32) + 0.5)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
