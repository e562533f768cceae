"""Batch prediction, old code against new, side by side in one run (issue 13, rows 2 and 3).

Row 2: ``rnnlab predict RUN --file F`` on 5,000 imdb:test reviews with the main job's LSTM
(``rnnlab.cli.quickstart_cmd.QUICKSTART``, as `make demo` trains it), beside the time one process needs only to tokenize the
same reviews with spaCy (the old code's ``Tokenizer.pipe``). Row 3: ``imdb-best`` (bidirectional
LSTM 96, final+max+mean pooling, max_length 1,000) inference in reviews per CPU-second, the
model on token ids and end to end.

The two runs have random weights (speed does not depend on the values) and the vocabulary the
main job builds (imdb:train, min_freq 2; tokenized once through the token cache). Every
measurement runs in a fresh subprocess with ``PYTHONPATH`` set to the old tree (``git archive
a61b555``, made here when missing) or to this tree; CPU seconds include child processes (the
tokenizer workers). In-process measurements use one torch thread for both trees; the ``predict``
command runs as each tree ships it. Writes ``benchmarks/batch_predict.md`` and
``benchmarks/results/speed13/{batch-predict,imdb-best-inference}.json``.

    python benchmarks/batch_predict.py [--reviews 5000] [--best-reviews 1000] [--old-src /tmp/old-batch13/src]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEW_SRC = ROOT / "src"
BASE = "a61b555"
COMMAND = "python benchmarks/batch_predict.py"


# -- jobs, run in a subprocess with the old or the new tree on PYTHONPATH ---------------------

def _usage() -> float:
    self_, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return self_.ru_utime + self_.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn):
    w0, c0 = time.perf_counter(), _usage()
    result = fn()
    return result, {"wall": time.perf_counter() - w0, "cpu": _usage() - c0}


def job_tokenize(texts_file: str) -> dict:
    """Tokenize only, one process, with the tree's ``Tokenizer.pipe`` (token strings, as predict needs)."""
    from rnnlab.data.tokenize import Tokenizer

    texts = Path(texts_file).read_text(encoding="utf-8").splitlines()
    tok = Tokenizer()
    list(tok.pipe(texts[:50]))  # spaCy's tokenizer built and warm
    _, t = _timed(lambda: sum(1 for _ in tok.pipe(texts)))
    return t


def job_predict_run(run: str, texts_file: str) -> dict:
    """``predict_run(load_run(run), texts)`` in this process, one torch thread (the run loaded first)."""
    import torch

    from rnnlab.inspect import predict_run
    from rnnlab.runs import load_run

    torch.set_num_threads(1)
    texts = Path(texts_file).read_text(encoding="utf-8").splitlines()
    r = load_run(run)
    r.pipeline.tokenizer("warm up")  # spaCy's tokenizer built, as after the first text
    df, t = _timed(lambda: predict_run(r, texts))
    t["probabilities"] = df.filter(like="p(").to_numpy()[:, -1].tolist()
    return t


def job_model(run: str, texts_file: str) -> dict:
    """The model on token ids (texts tokenized and encoded first, untimed), one torch thread."""
    import numpy as np
    import torch

    from rnnlab import inspect
    from rnnlab.runs import load_run

    torch.set_num_threads(1)
    texts = Path(texts_file).read_text(encoding="utf-8").splitlines()
    r = load_run(run)
    ids = [np.asarray(a, dtype=np.int64) for a in r.pipeline.encode_batch(texts)]
    if hasattr(inspect, "encoded_probabilities"):  # the new code
        probs, t = _timed(lambda: inspect.encoded_probabilities(r.model, r.pipeline, ids))
    else:  # the old code: class_probabilities encodes each text itself; hand it the ids instead
        class Encoded:
            vocab, task = r.pipeline.vocab, r.pipeline.task

            @staticmethod
            def encode(i):
                return ids[i]

        probs, t = _timed(lambda: inspect.class_probabilities(r.model, Encoded, list(range(len(ids)))))
    t["probabilities"] = probs[:, -1].tolist()
    t["tokens"] = int(sum(len(a) for a in ids))
    return t


JOBS = {"tokenize": job_tokenize, "predict_run": job_predict_run, "model": job_model}


# -- the driver ---------------------------------------------------------------------------------

def run_job(src: Path, job: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "RNNLAB_CACHE": os.environ.get("RNNLAB_CACHE", "")}
    if not env["RNNLAB_CACHE"]:
        env.pop("RNNLAB_CACHE")
    out = subprocess.run([sys.executable, __file__, "--job", job, *args], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_command(src: Path, argv: list[str]) -> dict:
    """Wall and CPU seconds (children included) of one CLI command, output to /dev/null."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rnnlab", *argv], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - w0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu}


def old_tree(path: Path) -> Path:
    if not (path / "rnnlab").is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASE, "src"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(path.parent)], input=archive.stdout, check=True)
    return path


def make_inputs(folder: Path, n_reviews: int, n_best: int) -> dict:
    """The review files and the two runs (random weights, the main job's vocabulary)."""
    import numpy as np
    import torch

    from rnnlab.config import ModelConfig, TrainConfig
    from rnnlab.data.readers import read_examples
    from rnnlab.data.tokenize import tokenize_cached
    from rnnlab.data.vocab import build_vocab_from_corpus
    from rnnlab.models import build_model
    from rnnlab.presets import PRESETS
    from rnnlab.cli.quickstart_cmd import QUICKSTART
    from rnnlab.runs import save_run

    test = [e.text.replace("\n", " ") for e in read_examples("imdb:test")]
    pick = np.random.default_rng(13).permutation(len(test))
    reviews = folder / "reviews.txt"
    reviews.write_text("\n".join(test[i] for i in pick[:n_reviews]) + "\n", encoding="utf-8")
    best_reviews = folder / "best-reviews.txt"
    best_reviews.write_text("\n".join(test[i] for i in pick[:n_best]) + "\n", encoding="utf-8")
    corpus, _ = tokenize_cached([e.text for e in read_examples("imdb:train")])
    vocab = build_vocab_from_corpus(corpus, min_freq=2)
    labels = ["neg", "pos"]
    best = PRESETS["imdb-best"]
    specs = {"lstm": QUICKSTART["lstm"],  # the main job's LSTM, as `make demo` trains it
             "best": (best.model, best.train)}
    runs = {}
    for name, (model_config, train_config) in specs.items():
        torch.manual_seed(1)
        model_config = type(model_config)(**{**model_config.__dict__, "vocab_size": len(vocab)})
        model = build_model(model_config, vocab, torch.randn(len(vocab), model_config.embedding_dim) * 0.3)
        pipeline = {"tokenizer": {"lowercase": True, "drop_space": True}, "max_length": train_config.max_length,
                    "labels": labels}
        runs[name] = save_run(folder / name, model, vocab, model_config, train_config, labels,
                              meta={"pipeline": pipeline, "tokenizer": pipeline["tokenizer"]})
    return {"reviews": reviews, "best_reviews": best_reviews, "runs": runs, "vocab": len(vocab)}


def max_diff(a: list, b: list) -> float:
    return max(abs(x - y) for x, y in zip(a, b)) if a else 0.0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--job", choices=sorted(JOBS), help=argparse.SUPPRESS)
    parser.add_argument("--reviews", type=int, default=5000, help="imdb:test reviews for predict --file (row 2).")
    parser.add_argument("--best-reviews", type=int, default=1000, help="imdb:test reviews for imdb-best (row 3).")
    parser.add_argument("--old-src", type=Path, default=Path(tempfile.gettempdir()) / "old-batch13" / "src",
                        help=f"The old tree's src folder (made with git archive {BASE} when missing).")
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.job:
        print(json.dumps(JOBS[args.job](*args.args)))
        return

    from rnnlab.cli.quickstart_cmd import QUICKSTART  # deferred as in make_inputs: this tree's rnnlab

    load_start = os.getloadavg()
    started = dt.datetime.now(dt.timezone.utc)
    old = old_tree(args.old_src)
    srcs = {"old": old, "new": NEW_SRC}
    with tempfile.TemporaryDirectory(prefix="batch-predict-") as tmp:
        inputs = make_inputs(Path(tmp), args.reviews, args.best_reviews)
        reviews, lstm, best = str(inputs["reviews"]), str(inputs["runs"]["lstm"]), str(inputs["runs"]["best"])
        r = {}
        for tree, src in srcs.items():
            print(f"{tree}: tokenize, predict_run, predict command, imdb-best", file=sys.stderr, flush=True)
            r[tree] = {
                "tokenize": run_job(src, "tokenize", reviews),
                "predict_run": run_job(src, "predict_run", lstm, reviews),
                "command": run_command(src, ["predict", lstm, "--file", reviews, "--csv", str(Path(tmp) / f"{tree}.csv")]),
                "best_model": run_job(src, "model", best, str(inputs["best_reviews"])),
                "best_e2e": run_job(src, "predict_run", best, str(inputs["best_reviews"])),
            }
    load_end = os.getloadavg()
    n, nb = args.reviews, args.best_reviews
    diff_lstm = max_diff(r["old"]["predict_run"].pop("probabilities"), r["new"]["predict_run"].pop("probabilities"))
    diff_best = max(max_diff(r["old"]["best_model"].pop("probabilities"), r["new"]["best_model"].pop("probabilities")),
                    max_diff(r["old"]["best_e2e"].pop("probabilities"), r["new"]["best_e2e"].pop("probabilities")))
    tokenize_ref = r["old"]["tokenize"]["wall"]
    new_pr = r["new"]["predict_run"]
    rate = n / new_pr["wall"]
    ratio = new_pr["wall"] / tokenize_ref
    best_old = nb / r["old"]["best_model"]["cpu"]
    best_new = nb / r["new"]["best_model"]["cpu"]
    measured = (f"{started:%Y-%m-%d %H:%M} UTC, load average {load_start[0]:.2f} at start, "
                f"{load_end[0]:.2f} at end")
    command = f"{COMMAND} --reviews {n} --best-reviews {nb}"

    def line(name, d, count):
        return (f"| {name} | {d['old']['wall']:.2f} | {d['old']['cpu']:.2f} | {d['new']['wall']:.2f} | "
                f"{d['new']['cpu']:.2f} | {count / d['old']['wall']:,.0f} → {count / d['new']['wall']:,.0f} | "
                f"{count / d['old']['cpu']:,.0f} → {count / d['new']['cpu']:,.0f} |")

    def both(key):
        return {tree: r[tree][key] for tree in srcs}

    md = [
        "# Batch prediction: old code against new (issue 13, rows 2 and 3)", "",
        f"- measured: {measured} (1, 5, 15 min at start: {', '.join(f'{x:.2f}' for x in load_start)}; "
        f"at end: {', '.join(f'{x:.2f}' for x in load_end)})",
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs; "
        f"Python {platform.python_version()}",
        f"- command: `{command}`",
        f"- old: `{BASE}` (`git archive`); new: this tree. Runs: random weights, the main job's vocabulary "
        f"({inputs['vocab']:,} entries: imdb:train, min_freq 2); main job's LSTM ({QUICKSTART['lstm'][0].recurrent_dim} units, "
        f"{QUICKSTART['lstm'][0].pooling} pooling, max_length {QUICKSTART['lstm'][1].max_length}) and imdb-best (bidirectional LSTM 96, final+max+mean, max_length 1,000).",
        "- CPU seconds include child processes (tokenizer workers). In-process rows use one torch thread in "
        "both trees; the command runs as each tree ships it (the old `predict` left torch at its default "
        f"{os.cpu_count()} threads).",
        f"- probabilities old vs new: largest difference {diff_lstm:.1e} (LSTM, {n:,} reviews), "
        f"{diff_best:.1e} (imdb-best, {nb:,} reviews)", "",
        "| what | old wall s | old CPU s | new wall s | new CPU s | reviews/s (wall) | reviews per CPU-s |",
        "|---|---:|---:|---:|---:|---:|---:|",
        line(f"tokenize only, one process (`Tokenizer.pipe`), {n:,} reviews", both("tokenize"), n),
        line(f"`predict_run`, main job's LSTM, {n:,} reviews (run loaded)", both("predict_run"), n),
        line(f"`rnnlab predict RUN --file F --csv C`, whole command, {n:,} reviews", both("command"), n),
        line(f"imdb-best, model on token ids, {nb:,} reviews", both("best_model"), nb),
        line(f"imdb-best, `predict_run` end to end, {nb:,} reviews", both("best_e2e"), nb),
        "",
        f"Row 2: new `predict_run` {rate:,.0f} reviews/s (goal ≥ 4,000 on 2 cores); its time is {ratio:.2f} × "
        f"the old single-process tokenize-only time (goal ≤ 0.6); the new tree tokenizes alone in one process in "
        f"{r['new']['tokenize']['wall']:.2f} s, so the ratio against that is "
        f"{new_pr['wall'] / r['new']['tokenize']['wall']:.2f}. Whole command: "
        f"{r['old']['command']['wall']:.1f} s → {r['new']['command']['wall']:.1f} s (start-up and printing the "
        f"table included).",
        "",
        f"Row 3: imdb-best on token ids {best_old:,.0f} → {best_new:,.0f} reviews per CPU-second "
        f"(goal ≥ 2,500); end to end {nb / r['old']['best_e2e']['cpu']:,.0f} → "
        f"{nb / r['new']['best_e2e']['cpu']:,.0f}.",
    ]
    out_md = ROOT / "benchmarks" / "batch_predict.md"
    out_md.write_text("\n".join(md) + "\n", encoding="utf-8")
    results = ROOT / "benchmarks" / "results" / "speed13"
    results.mkdir(parents=True, exist_ok=True)
    row2 = {"row": "end-to-end batch prediction, `rnnlab predict RUN --file F` (5,000 IMDB reviews, main job's LSTM)",
            "order": 2,
            "before": f"{n / r['old']['predict_run']['wall']:,.0f} reviews/s; "
                      f"{r['old']['predict_run']['wall'] / tokenize_ref:.2f} × tokenize-only",
            "after": f"{rate:,.0f} reviews/s; {ratio:.2f} × tokenize-only",
            "goal": "≥ 4,000 reviews/s on 2 cores; ≤ 0.6 × single-process tokenize-only time",
            "met": bool(rate >= 4000 and ratio <= 0.6), "command": command, "measured": measured}
    row3 = {"row": "batch inference, `imdb-best` (bidirectional LSTM 96, max+mean pooling)", "order": 3,
            "before": f"{best_old:,.0f} reviews per CPU-second", "after": f"{best_new:,.0f} reviews per CPU-second",
            "goal": "≥ 2,500 reviews per CPU-second", "met": bool(best_new >= 2500), "command": command,
            "measured": measured}
    (results / "batch-predict.json").write_text(json.dumps(row2, indent=2, ensure_ascii=False) + "\n")
    (results / "imdb-best-inference.json").write_text(json.dumps(row3, indent=2, ensure_ascii=False) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
