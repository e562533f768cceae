"""Speed of rnnlab against the naive teaching pipeline, and where recurrent time goes on CPU.

    RNNLAB_CACHE=/tmp/rnnlab-cache python benchmarks/speed.py --out benchmarks/speed.md

Sections (each can be skipped, see --help):

1. naive vs rnnlab on ../shared/data/imdb-sample, run side by side in alternation in
   one process (so machine load hits both alike): per-epoch median seconds, the ratio
   rnnlab / naive, and final test accuracies. The naive pipeline mirrors the classic
   teaching code: spaCy tokenization inside the collate function on every batch of
   every epoch, random batches without length bucketing, batch 8, SGD 0.01, the same
   models (frozen GloVe 50d; bag of embeddings, and a 50-unit tanh RNN).
2. tokenization of the 50,000 IMDB reviews: cold (fresh cache, both cores) and warm.
3. tokens per second for training and inference for each cell (rnn, lstm, gru; uni-
   and bidirectional) on bucketed full-IMDB batches, packed (what rnnlab runs) and
   plain padded input, with 1 and 2 threads.
4. batch inference with the imdb-bilstm-64 LSTM (imdb-best before it went to 96 units): reviews per second.

The machine load (``os.getloadavg``) is recorded before and after each section: the
machine is shared, so absolute seconds are noisy and the ratios are what to read.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "imdb-sample"
lines: list[str] = []


def out(msg: str = "") -> None:
    print(msg, flush=True)
    lines.append(msg)


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


# -- 1. naive vs rnnlab ------------------------------------------------------------------
def naive_vs_rnnlab(epochs: int, models: list[str]) -> None:
    from rnnlab.config import ModelConfig
    from rnnlab.data.batching import make_collate_fn, make_loader
    from rnnlab.data.tokenize import Tokenizer
    from rnnlab.data.tsv import read_tsv
    from rnnlab.models import build_model
    from rnnlab.training import evaluate, prepare_data, train_epoch

    train_ex = read_tsv(SAMPLE / "imdb-train.tsv")
    test_ex = read_tsv(SAMPLE / "imdb-test.tsv")
    prepared = prepare_data(train_ex, test_ex, log=lambda *_: None, progress=False)
    vocab, emb = prepared.vocab, prepared.embeddings
    raw_train = [(e.label, e.text) for e in train_ex]
    raw_test = [(e.label, e.text) for e in test_ex]
    out(f"## 1. naive pipeline vs rnnlab on imdb-sample ({len(train_ex):,} train / {len(test_ex):,} test reviews)")
    out()
    out(f"Batch 8, SGD lr 0.01, frozen GloVe 50d, {epochs} epochs each, alternating naive/rnnlab epoch by epoch. "
        f"Seconds are one training pass. The naive RNN packs each batch, as the classic code did; rnnlab runs "
        f"the padded batch through the cell kernels (same outputs within 1e-5, see section 3). {load()} at start.")
    out()
    out("| model | naive s/epoch (median) | rnnlab s/epoch (median) | ratio rnnlab/naive | naive test acc | rnnlab test acc |")
    out("|---|---:|---:|---:|---:|---:|")
    for name in models:
        cfg = ModelConfig(model=name, vocab_size=len(vocab))
        family = "boe" if name == "boe" else "recurrent"
        torch.manual_seed(1)
        naive_model = build_model(cfg, vocab, emb)
        if name != "boe":
            naive_model.cpu_padded = False  # the classic code packs every batch (pack_padded_sequence)
        torch.manual_seed(1)
        fast_model = build_model(cfg, vocab, emb)
        # naive: plain SGD (unfused), raw texts, tokenized in collate, random batches
        naive_opt = torch.optim.SGD([p for p in naive_model.parameters() if p.requires_grad], lr=0.01)
        g = torch.Generator().manual_seed(1)
        naive_loader = torch.utils.data.DataLoader(raw_train, batch_size=8, shuffle=True, generator=g,
                                                   collate_fn=make_collate_fn(family, vocab, Tokenizer()))
        fast_opt = torch.optim.SGD([p for p in fast_model.parameters() if p.requires_grad], lr=0.01, fused=True)
        fast_loader = make_loader(prepared.train, family, 8, shuffle=True, bucket=True, seed=1,
                                  pad_index=vocab.pad_index)
        t_naive, t_fast = [], []
        for _ in range(epochs):
            t0 = time.perf_counter()
            train_epoch(naive_model, naive_loader, naive_opt)
            t_naive.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            train_epoch(fast_model, fast_loader, fast_opt)
            t_fast.append(time.perf_counter() - t0)
        naive_test = torch.utils.data.DataLoader(raw_test, batch_size=8, collate_fn=make_collate_fn(family, vocab))
        acc_naive = evaluate(naive_model, naive_test)["acc"]
        acc_fast = evaluate(fast_model, make_loader(prepared.valid, family, 256, shuffle=False,
                                                    pad_index=vocab.pad_index))["acc"]
        mn, mf = statistics.median(t_naive), statistics.median(t_fast)
        out(f"| {name} | {mn:.2f} | {mf:.2f} | **{mf / mn:.3f}** | {acc_naive:.4f} | {acc_fast:.4f} |")
    out()
    out(f"{load()} at end.")
    out()


# -- 2. tokenization -----------------------------------------------------------------------
def tokenization() -> None:
    from rnnlab.data.sources import load_examples
    from rnnlab.data.tokenize import tokenize_cached

    texts = [e.text for e in load_examples("imdb:train")] + [e.text for e in load_examples("imdb:test")]
    out(f"## 2. tokenization of {len(texts):,} IMDB reviews (spaCy, lower-cased)")
    out()
    out(f"{load()} at start.")
    out()
    with tempfile.TemporaryDirectory(dir="/tmp") as root:
        import resource

        kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0, c0 = time.perf_counter(), time.process_time()
        corpus, cached = tokenize_cached(texts, cache_root=root, n_process=2)
        cold = time.perf_counter() - t0
        kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (time.process_time() - c0 + kids1.ru_utime - kids0.ru_utime + kids1.ru_stime - kids0.ru_stime)
        assert not cached
        warm = []
        for _ in range(3):
            t0 = time.perf_counter()
            _, cached = tokenize_cached(texts, cache_root=root)
            warm.append(time.perf_counter() - t0)
            assert cached
    out("| step | seconds |")
    out("|---|---:|")
    out(f"| cold: tokenize with 2 processes and write the cache ({int(corpus.offsets[-1]):,} tokens) | {cold:.1f} |")
    out(f"| cold: CPU seconds of the parent and the 2 worker processes (an idle 2-core machine needs about half "
        f"that in wall time) | {cpu:.1f} |")
    out(f"| warm: load from the cache (median of 3; includes hashing the texts) | {statistics.median(warm):.2f} |")
    out()
    out(f"{load()} at end.")
    out()


# -- 3. per-cell tokens/s --------------------------------------------------------------------
def _imdb_batches(n_batches: int, batch_size: int, max_length: int):
    from rnnlab.data.batching import EncodedDataset, make_loader
    from rnnlab.data.pipeline import TextPipeline
    from rnnlab.data.task import binary_task
    from rnnlab.data.sources import load_examples
    from rnnlab.data.tokenize import tokenize_cached
    from rnnlab.data.vocab import build_vocab_from_corpus

    ex = load_examples("imdb:train")
    corpus, _ = tokenize_cached([e.text for e in ex])
    vocab = build_vocab_from_corpus(corpus, min_freq=2)
    ds = EncodedDataset(TextPipeline(vocab, binary_task(), max_length).encode_corpus(corpus), [e.label for e in ex])
    loader = make_loader(ds, "recurrent", batch_size, shuffle=True, bucket=True, seed=1, pad_index=vocab.pad_index)
    batches = []
    for b in loader:
        batches.append(b)
        if len(batches) == n_batches:
            break
    return vocab, batches, ds


def cells(n_batches: int, threads: list[int]) -> None:
    from rnnlab.config import ModelConfig
    from rnnlab.models import build_model

    vocab, batches, _ = _imdb_batches(n_batches, 64, 400)
    tokens = int(sum(int(b[2].sum()) for b in batches))
    padded_tokens = int(sum(b[1].numel() for b in batches))
    out(f"## 3. tokens per second by cell (full-IMDB vocabulary {len(vocab):,}, {n_batches} bucketed batches of 64, "
        f"max_length 400, {tokens:,} tokens, {padded_tokens / tokens - 1:.1%} padding)")
    out()
    out("64 units per direction, fine-tuned embeddings, fused Adam. 'packed' is the reference (a PackedSequence "
        "through nn.RNN/LSTM/GRU); 'padded' is what rnnlab runs on CPU (the padded batch through each direction's fused "
        "kernel, the backward direction reversed within each text's length). Train = forward + backward + step; "
        "inference = forward under no_grad. The last column is the largest difference of the logits between the two.")
    out(f"{load()} at start.")
    out()
    out("| cell | dir | threads | train tok/s packed | train tok/s padded | infer tok/s packed | infer tok/s padded | max abs diff |")
    out("|---|---|---:|---:|---:|---:|---:|---:|")
    for th in threads:
        torch.set_num_threads(th)
        for cell in ("rnn", "lstm", "gru"):
            for bi in (False, True):
                torch.manual_seed(0)
                cfg = ModelConfig(model=cell, vocab_size=len(vocab), recurrent_dim=64, hidden_dim=64,
                                  bidirectional=bi, freeze_embeddings=False)
                model = build_model(cfg, vocab, torch.randn(len(vocab), 50))
                opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
                res = {}
                for mode in ("packed", "padded"):
                    model.cpu_padded = mode == "padded"
                    fwd = model.forward_logits
                    t0 = time.perf_counter()
                    for y, text, lengths in batches:
                        opt.zero_grad()
                        loss = torch.nn.functional.binary_cross_entropy_with_logits(fwd(text, lengths), y)
                        loss.backward()
                        opt.step()
                    res[f"train_{mode}"] = tokens / (time.perf_counter() - t0)
                    with torch.no_grad():
                        t0 = time.perf_counter()
                        for y, text, lengths in batches:
                            fwd(text, lengths)
                        res[f"infer_{mode}"] = tokens / (time.perf_counter() - t0)
                with torch.no_grad():
                    y, text, lengths = batches[-1]
                    model.cpu_padded = False
                    ref = model.forward_logits(text, lengths)
                    model.cpu_padded = True
                    diff = f"{float((model.forward_logits(text, lengths) - ref).abs().max()):.1e}"
                out(f"| {cell} | {'bi' if bi else 'uni'} | {th} | {res['train_packed']:,.0f} | {res['train_padded']:,.0f} | "
                    f"{res['infer_packed']:,.0f} | {res['infer_padded']:,.0f} | {diff} |")
    torch.set_num_threads(1)
    out()
    out(f"{load()} at end.")
    out()


# -- 4. inference ----------------------------------------------------------------------------
def inference(run: Path | None, bidirectional: bool = True) -> None:
    from rnnlab.data.batching import EncodedDataset, make_loader
    from rnnlab.data.pipeline import TextPipeline
    from rnnlab.data.task import binary_task
    from rnnlab.data.sources import load_examples
    from rnnlab.data.tokenize import Tokenizer, tokenize_cached
    from rnnlab.runs import load_run

    ex = load_examples("imdb:test")
    if bidirectional and run is not None and (run / "config.json").exists():
        r = load_run(run)
        model, vocab, max_length, what = r.model, r.vocab, r.max_length, f"run {run.name}"
    else:
        from rnnlab.config import ModelConfig
        from rnnlab.data.vocab import build_vocab_from_corpus
        from rnnlab.models import build_model
        from rnnlab.presets import get_preset

        p = get_preset("imdb-bilstm-64")
        corpus, _ = tokenize_cached([e.text for e in load_examples("imdb:train")])
        vocab = build_vocab_from_corpus(corpus, min_freq=2)
        model = build_model(ModelConfig(**{**p.model.__dict__, "vocab_size": len(vocab),
                                           "bidirectional": bidirectional}), vocab).eval()
        max_length = p.train.max_length
        what = ("imdb-bilstm-64 architecture" if bidirectional else "imdb-bilstm-64 made unidirectional") + ", untrained weights"
    out(f"## 4. batch inference with the {'bidirectional' if bidirectional else 'unidirectional'} LSTM ({what}) "
        f"on the {len(ex):,} IMDB test reviews")
    out()
    out(f"{load()} at start.")
    out()
    t0 = time.perf_counter()
    corpus, _ = tokenize_cached([e.text for e in ex])
    t_tok = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds = EncodedDataset(TextPipeline(vocab, binary_task(), max_length).encode_corpus(corpus), [e.label for e in ex])
    t_enc = time.perf_counter() - t0
    loader = make_loader(ds, "recurrent", 256, shuffle=False, bucket=True, pad_index=vocab.pad_index)
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for _, text, lengths in loader:
            model.forward_logits(text, lengths)
    t_model, c_model = time.perf_counter() - t0, time.process_time() - c0
    sample = [e.text for e in random.Random(0).sample(ex, 1000)]
    tok = Tokenizer()
    tok("warm up spaCy")
    t0 = time.perf_counter()
    list(tok.pipe(sample))
    t_spacy = (time.perf_counter() - t0) / len(sample)
    n = len(ex)
    out("| stage | seconds | reviews/s |")
    out("|---|---:|---:|")
    out(f"| tokens from the cache | {t_tok:.2f} | {n / t_tok:,.0f} |")
    out(f"| encode to ids (max_length {max_length}) | {t_enc:.2f} | {n / t_enc:,.0f} |")
    out(f"| model forward, batches of 256 grouped by length, 1 thread | {t_model:.2f} | **{n / t_model:,.0f}** |")
    out(f"| model forward, CPU seconds of this process (what an otherwise idle core would take) | {c_model:.2f} | "
        f"**{n / c_model:,.0f}** |")
    out(f"| cached tokens + encode + model | {t_tok + t_enc + t_model:.2f} | **{n / (t_tok + t_enc + t_model):,.0f}** |")
    out(f"| (new text: spaCy tokenization alone, 1 process, 1,000 reviews) | - | {1 / t_spacy:,.0f} |")
    out()
    out(f"{load()} at end.")
    out()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "speed.md", help="markdown file to write")
    ap.add_argument("--epochs", type=int, default=5, help="epochs per pipeline in section 1")
    ap.add_argument("--models", default="boe,rnn", help="models for section 1")
    ap.add_argument("--batches", type=int, default=20, help="batches per cell in section 3")
    ap.add_argument("--threads", default="1,2", help="thread counts for section 3")
    ap.add_argument("--run", type=Path, default=Path("/tmp/rnnlab-accuracy-runs/imdb-best-seed1"),
                    help="a trained imdb-bilstm-64 run for section 4 (else the untrained architecture)")
    ap.add_argument("--skip", default="", help="comma-separated sections to skip: naive,tokenize,cells,inference")
    args = ap.parse_args(argv)
    from rnnlab.training import configure_threads

    configure_threads(1)
    skip = set(filter(None, args.skip.split(",")))
    out("# rnnlab speed benchmarks")
    out()
    out(f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    out(f"- machine: {platform.platform()}, {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {sys.version.split()[0]}, torch {torch.__version__}")
    out(f"- command: `python benchmarks/speed.py {' '.join(argv if argv is not None else sys.argv[1:])}`")
    out(f"- {load()} (the machine is shared with other jobs: read ratios, not absolute seconds)")
    out()
    if "naive" not in skip:
        naive_vs_rnnlab(args.epochs, args.models.split(","))
    if "tokenize" not in skip:
        tokenization()
    if "cells" not in skip:
        cells(args.batches, [int(t) for t in args.threads.split(",")])
    if "inference" not in skip:
        inference(args.run)
        inference(None, bidirectional=False)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
