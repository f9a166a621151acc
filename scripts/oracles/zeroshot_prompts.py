#!/usr/bin/env python3
"""Oracle for the zero-shot task templates: rebuilds every document of the seven tasks the
way lm-evaluation-harness's 0-shot task definitions do (its YAML templates, hellaswag's
preprocess and winogrande's partial scoring, written here with Python's own str and re
semantics) and prints, per task, the document count and the sha256 of

    for each doc: "\x1f".join(contexts) "\x1e" "\x1f".join(continuations) "\x1e"
                  "\x1f".join(choices) "\x1e" str(gold) "\n"

With a tokenizer.json as a second argument it prints instead, per task, the sha256 of
lm-eval's token split of every request of the first 40 documents (token_oracle).

Usage: python3 scripts/oracles/zeroshot_prompts.py ../shared/data [TOKENIZER_JSON]
"""
import hashlib
import json
import re
import sys


def rows(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def hellaswag_pre(text):
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def mc(prompt, choices, gold):
    return ([prompt] * len(choices), [" " + c for c in choices], choices, gold)


def docs(task, d):
    if task == "piqa":
        labels = open(f"{d}/piqa/valid-labels.lst").read().split("\n")
        for i, r in enumerate(rows(f"{d}/piqa/valid.jsonl")):
            yield mc(f"Question: {r['goal']}\nAnswer:", [r["sol1"], r["sol2"]], int(labels[i]))
    elif task == "hellaswag":
        for r in rows(f"{d}/hellaswag/hellaswag_val.jsonl"):
            ctx = r["ctx_a"] + " " + r["ctx_b"].capitalize()
            yield mc(hellaswag_pre(r["activity_label"] + ": " + ctx), [hellaswag_pre(e) for e in r["endings"]], int(r["label"]))
    elif task == "winogrande":
        for r in rows(f"{d}/winogrande/dev.jsonl"):
            s = r["sentence"]
            i = s.index("_")
            ctxs = [s[:i] + o for o in [r["option1"], r["option2"]]]
            tgt = s[i + 1:].strip()
            yield (ctxs, [" " + tgt] * 2, ctxs, {"1": 0, "2": 1}[r["answer"]])
    elif task in ("arc_easy", "arc_challenge", "openbookqa"):
        f = {"arc_easy": "arc_easy/ARC-Easy-Test.jsonl", "arc_challenge": "arc_challenge/ARC-Challenge-Test.jsonl",
             "openbookqa": "openbookqa/test.jsonl"}[task]
        for r in rows(f"{d}/{f}"):
            q = r["question"]
            texts = [c["text"] for c in q["choices"]]
            labels = [c["label"] for c in q["choices"]]
            key = r["answerKey"].lstrip() if task == "openbookqa" else r["answerKey"]
            prompt = q["stem"] if task == "openbookqa" else f"Question: {q['stem']}\nAnswer:"
            yield mc(prompt, texts, labels.index(key))
    elif task == "boolq":
        for r in rows(f"{d}/boolq/val.jsonl"):
            lab = r["label"]
            gold = (1 if lab == "true" else 0) if isinstance(lab, str) else int(lab)
            yield mc(f"{r['passage']}\nQuestion: {r['question']}?\nAnswer:", ["no", "yes"], gold)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
    if len(sys.argv) > 2:
        return token_oracle(d, sys.argv[2])
    for task in ["piqa", "hellaswag", "winogrande", "arc_easy", "arc_challenge", "boolq", "openbookqa"]:
        h = hashlib.sha256()
        n = 0
        for ctxs, conts, choices, gold in docs(task, d):
            line = "\x1f".join(ctxs) + "\x1e" + "\x1f".join(conts) + "\x1e" + "\x1f".join(choices) + "\x1e" + str(gold) + "\n"
            h.update(line.encode("utf-8"))
            n += 1
        print(f'"{task}": ({n}, "{h.hexdigest()}"),')




def token_oracle(d, tokenizer_json, per_task=40):
    """sha256 over the first `per_task` documents of each task of every request's
    lm-eval token split (_encode_pair with add_special_tokens=False) under tokenizer_json:
    per request "ctx ids" "|" "cont ids" "\n", ids space-separated."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(tokenizer_json)
    enc = lambda s: tok.encode(s, add_special_tokens=False).ids
    for task in ["piqa", "hellaswag", "winogrande", "arc_easy", "arc_challenge", "boolq", "openbookqa"]:
        h = hashlib.sha256()
        for k, (ctxs, conts, _, _) in enumerate(docs(task, d)):
            if k >= per_task:
                break
            for c, x in zip(ctxs, conts):
                n = len(c) - len(c.rstrip())
                if n > 0:
                    x = c[-n:] + x
                    c = c[:-n]
                whole = enc(c + x)
                ce = enc(c)
                h.update((" ".join(map(str, ce)) + "|" + " ".join(map(str, whole[len(ce):])) + "\n").encode())
        print(f'"{task}": "{h.hexdigest()}",')


if __name__ == "__main__":
    main()
