"""rnnlab's tokenizer (a memo of whitespace-free chunks) against spaCy's ``Doc`` per text, side by side.

Both give the same tokens (checked here again, and in tests/data/test_chunk_memo.py). Each
measurement is a fresh subprocess (cold: spaCy's and the memo's caches empty), one process, no
workers: spaCy ``Doc`` per text (the old ``Tokenizer.pipe``), the memo cold, then the same texts
again in the same process (warm). The two tokenizers alternate, ``--rounds`` times; medians of
CPU seconds. Texts: the first ``--reviews`` of imdb:train (needs ``rnnlab data imdb``).
Writes ``benchmarks/tokenize_memo.md``.

    PYTHONPATH=src python benchmarks/tokenize_memo.py [--reviews 5000,50000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(kind: str, n: int) -> dict:
    from rnnlab.data import tokenize as tk
    from rnnlab.data.sources import load_examples

    texts = [e.text for e in load_examples("imdb:train", None, clean=True)]
    if n > len(texts):
        texts += [e.text for e in load_examples("imdb:test", None, clean=True)]
    texts = texts[:n]
    tok = tk.Tokenizer()
    if kind == "spacy":
        sp = tk._spacy_tokenizer()
        t0 = time.process_time()
        out = [tok.doc_tokens(d) for d in sp.pipe(texts)]
        cold = time.process_time() - t0
        t0 = time.process_time()
        [tok.doc_tokens(d) for d in sp.pipe(texts)]
        warm = time.process_time() - t0
        whole = None
    else:
        tk.prepare(tok)
        t0 = time.process_time()
        out = list(tok.pipe(texts))
        cold = time.process_time() - t0
        t0 = time.process_time()
        list(tok.pipe(texts))
        warm = time.process_time() - t0
        whole = tk._memo(True).whole // 2
    digest = hash(tuple(tuple(t) for t in out))
    return {"cold": cold, "warm": warm, "digest": digest, "whole": whole,
            "tokens": sum(map(len, out)), "chunks": len(tk._memo(True).chunks) if kind == "memo" else None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reviews", default="5000,50000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "tokenize_memo.md")
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return 0
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT / "src")}
    load0 = os.getloadavg()
    rows = []
    for n in [int(x) for x in args.reviews.split(",")]:
        runs = {"spacy": [], "memo": []}
        for _ in range(args.rounds):
            for kind in ("spacy", "memo"):
                r = subprocess.run([sys.executable, __file__, "--child", kind, str(n)], env=env, capture_output=True,
                                   text=True, check=True)
                runs[kind].append(json.loads(r.stdout.strip().splitlines()[-1]))
        same = len({r["digest"] for k in runs for r in runs[k]}) == 1
        med = {k: {m: statistics.median(r[m] for r in runs[k]) for m in ("cold", "warm")} for k in runs}
        memo = runs["memo"][0]
        rows.append((n, med, same, memo["whole"], memo["chunks"], memo["tokens"]))
    load1 = os.getloadavg()
    lines = ["# Tokenizing: the chunk memo against a spaCy Doc per text, side by side", "",
             f"- measured: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; load average {load0[0]:.2f} at "
             f"start, {load1[0]:.2f} at end",
             f"- machine: {platform.machine()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}; "
             "one process each, no workers",
             f"- command: `PYTHONPATH=src python benchmarks/tokenize_memo.py --reviews {args.reviews} --rounds "
             f"{args.rounds}` (CPU seconds, medians; spaCy and the memo alternate, each in a fresh process)", "",
             "| IMDB reviews | tokens | spaCy Docs, cold | memo, cold | ratio | spaCy Docs, again | memo, again | "
             "ratio | same tokens | texts spaCy tokenized whole | distinct chunks |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
    for n, med, same, whole, chunks, tokens in rows:
        s, m = med["spacy"], med["memo"]
        lines.append(f"| {n:,} | {tokens:,} | {s['cold']:.2f} | {m['cold']:.2f} | {s['cold'] / m['cold']:.2f} | "
                     f"{s['warm']:.2f} | {m['warm']:.2f} | {s['warm'] / m['warm']:.2f} | {'yes' if same else 'NO'} | "
                     f"{whole:,} ({100 * whole / n:.1f}%) | {chunks:,} |")
    lines += ["", "Cold, most of the memo's time is spaCy cutting the chunks it has not seen (its prefix, suffix "
              "and infix rules); once they are known (a server, a second pass, the test set after the training "
              "set) a text costs a split and dictionary lookups.", ""]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
