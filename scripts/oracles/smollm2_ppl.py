#!/usr/bin/env python3
"""Independent perplexity oracle for the default model (not used at run time).

A float64 numpy implementation of SmolLM2 (Llama) written from the fixtures README only:
weights dequantised by the `gguf` package (attn_q/attn_k un-permuted as README §4 says),
ids from the `tokenizers` library on fixtures/tokenizers/smollm2/tokenizer.json, the
WikiText-2 test rows joined with "\n\n" (reference-algorithms.md §2.2), S-token
non-overlapping windows, PPL = exp(mean of per-window mean NLL).

    pip install gguf tokenizers numpy
    python3 scripts/oracles/smollm2_ppl.py models/SmolLM2-135M-Instruct.Q4_1.gguf ../shared 256 16

Prints the token count, each window's mean NLL and the perplexity; the numbers are
committed in Tests/EvaluationTests/PerplexityTests.swift.
"""
import sys
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from tokenizers import Tokenizer

gguf_path, shared, S, W = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
r = GGUFReader(gguf_path)
T = {}
for t in r.tensors:
    a = dequantize(t.data, t.tensor_type).astype(np.float64)
    shape = [int(x) for x in reversed(t.shape)]
    T[t.name] = a.reshape(shape)

def unpermute(w, n_head):
    out, inp = w.shape
    hd = out // n_head
    return w.reshape(n_head, hd // 2, 2, inp).swapaxes(1, 2).reshape(out, inp)

L, H, nh, nkv, hd, eps, theta = 30, 576, 9, 3, 64, 9.999999747378752e-06, 100000.0
for i in range(L):
    T[f"blk.{i}.attn_q.weight"] = unpermute(T[f"blk.{i}.attn_q.weight"], nh)
    T[f"blk.{i}.attn_k.weight"] = unpermute(T[f"blk.{i}.attn_k.weight"], nkv)

def rms(x, w):
    return w * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))

inv = 1.0 / theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd)

def forward(ids):
    n = len(ids)
    x = T["token_embd.weight"][ids]
    pos = np.arange(n, dtype=np.float64)
    emb = np.concatenate([np.outer(pos, inv)] * 2, axis=1)
    cos, sin = np.cos(emb), np.sin(emb)
    def rope(q):
        rot = np.concatenate([-q[..., hd // 2:], q[..., :hd // 2]], axis=-1)
        return q * cos[:, None, :] + rot * sin[:, None, :]
    mask = np.triu(np.full((n, n), -np.inf), 1)
    for i in range(L):
        h = rms(x, T[f"blk.{i}.attn_norm.weight"])
        q = (h @ T[f"blk.{i}.attn_q.weight"].T).reshape(n, nh, hd)
        k = (h @ T[f"blk.{i}.attn_k.weight"].T).reshape(n, nkv, hd)
        v = (h @ T[f"blk.{i}.attn_v.weight"].T).reshape(n, nkv, hd)
        q, k = rope(q), rope(k)
        out = np.empty((n, nh, hd))
        for hh in range(nh):
            g = hh // (nh // nkv)
            s = q[:, hh, :] @ k[:, g, :].T / np.sqrt(hd) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            out[:, hh, :] = s @ v[:, g, :]
        x = x + out.reshape(n, nh * hd) @ T[f"blk.{i}.attn_output.weight"].T
        h = rms(x, T[f"blk.{i}.ffn_norm.weight"])
        gate = h @ T[f"blk.{i}.ffn_gate.weight"].T
        up = h @ T[f"blk.{i}.ffn_up.weight"].T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ T[f"blk.{i}.ffn_down.weight"].T
    x = rms(x, T["output_norm.weight"])
    return x @ T["token_embd.weight"].T

rows = []
raw = open(f"{shared}/data/wikitext-2-raw-v1/wiki.test.raw", encoding="utf-8", newline="").read()
for line in [l + "\n" for l in raw.split("\n")[:-1]] + ([raw.split("\n")[-1]] if not raw.endswith("\n") else []):
    rows.append("" if line.strip() == "" else line)
text = "\n\n".join(rows)
tok = Tokenizer.from_file(f"{shared}/fixtures/tokenizers/smollm2/tokenizer.json")
ids = tok.encode(text, add_special_tokens=True).ids
print("tokens", len(ids))
losses = []
for w in range(W):
    win = ids[w * S:(w + 1) * S]
    logits = forward(np.array(win))[:-1]
    m = logits.max(-1, keepdims=True)
    lse = (m[:, 0] + np.log(np.exp(logits - m).sum(-1)))
    nll = lse - logits[np.arange(S - 1), win[1:]]
    losses.append(nll.mean())
    print("window", w, repr(float(losses[-1])), flush=True)
print("mean_nll", repr(float(np.mean(losses))))
print("ppl", repr(float(np.exp(np.mean(losses)))))
