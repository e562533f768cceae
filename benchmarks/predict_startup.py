"""Whole-process time of ``rnnlab predict RUN "one text"``, old code against new, side by side.

Two runs: the main job's LSTM (``rnnlab quickstart``'s: LSTM 64, ReLU layer 32, max_length 256,
fine-tuned GloVe 50d), trained for one epoch on sample:train (brief: start-up does not depend
on how well it learned); and an ``imdb-best``-shaped run (its preset's model and max_length:
bidirectional LSTM 96, final + max + mean pooling) with the same vocabulary and random weights.
Each command runs in a fresh process, old and new code interleaved, after one warm-up each;
the medians of wall-clock and CPU seconds (user + system of the child) are reported, with
``python -X importtime`` summaries of one run of each. The old code is ``git archive`` of the
base commit (``--old-src`` to give another tree). Writes the Markdown report into
``benchmarks/startup.md`` (between its markers) and ``benchmarks/results/speed13/predict-startup.json``.

    PYTHONPATH=src python benchmarks/predict_startup.py [--repeats 5]      # about 2 minutes
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEW_SRC = ROOT / "src"
BASE = "a61b555"                       # main before issue 13 (the "before" code)
TEXT = "A moving, beautifully acted film."
GOAL_S = 1.5
REPORT = ROOT / "benchmarks" / "startup.md"
BEGIN, END = "<!-- predict_startup.py: begin -->", "<!-- predict_startup.py: end -->"
RESULT = ROOT / "benchmarks" / "results" / "speed13" / "predict-startup.json"
ROW = '`rnnlab predict RUN "one text"`, whole process'


def rnnlab(src: Path, *args: str, importtime: bool = False) -> subprocess.CompletedProcess:
    flags = ["-X", "importtime"] if importtime else []
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([sys.executable, *flags, "-m", "rnnlab", *args], capture_output=True, text=True,
                          env=env, check=True)


def old_tree(work: Path) -> Path:
    """``src`` of the base commit, extracted once into ``work``."""
    dest = work / f"old-{BASE}"
    if not (dest / "src" / "rnnlab").is_dir():
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASE, "src"], capture_output=True,
                                 check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
    return dest / "src"


def make_runs(work: Path) -> dict[str, Path]:
    """The two runs (built once; reused on later calls)."""
    runs = {"main job's LSTM": work / "lstm", "imdb-best-shaped": work / "imdb-best"}
    if not (runs["main job's LSTM"] / "config.json").exists():
        rnnlab(NEW_SRC, "train", "--train", "sample:train", "--model", "lstm", "--recurrent-dim", "32",
               "--hidden-dim", "32", "--max-length", "256", "--min-freq", "2", "--optimizer", "adam",
               "--lr", "0.002", "--batch-size", "32", "--epochs", "1", "--fine-tune", "--pooling", "final+max+mean",
               "--dropout", "0", "--out", str(runs["main job's LSTM"]), "--overwrite")
    if not (runs["imdb-best-shaped"] / "config.json").exists():
        import torch  # deferred: only to build the random-weight run, in this process

        from rnnlab.config import replace
        from rnnlab.models import build_model
        from rnnlab.presets import get_preset
        from rnnlab.runs import load_run, save_run

        lstm = load_run(runs["main job's LSTM"])
        preset = get_preset("imdb-best")
        config = replace(preset.model, vocab_size=len(lstm.vocab))
        torch.manual_seed(0)
        model = build_model(config, lstm.vocab, torch.randn(len(lstm.vocab), config.embedding_dim))
        save_run(runs["imdb-best-shaped"], model, lstm.vocab, config, preset.train, lstm.labels,
                 meta={"tokenizer": lstm.meta.get("tokenizer", {}),
                       "pipeline": {**lstm.pipeline.to_dict(), "max_length": preset.train.max_length}})
    return runs


def timed(src: Path, run: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one whole ``rnnlab predict RUN TEXT`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    rnnlab(src, "predict", str(run), TEXT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


PACKAGES = ("torch", "spacy", "thinc", "pandas", "numpy", "safetensors", "typer", "rich.console", "rnnlab.cli")


def import_profile(src: Path, run: Path) -> dict[str, float | None]:
    """Cumulative ``-X importtime`` seconds of each of :data:`PACKAGES` (None: not imported) and of all
    imports together (``all imports``: the sum over the top-level ones)."""
    err = rnnlab(src, "predict", str(run), TEXT, importtime=True).stderr
    rows = re.findall(r"^import time:\s+\d+ \|\s+(\d+) \| ( *)(\S+)$", err, flags=re.M)
    seconds = {name: int(us) / 1e6 for us, _, name in rows}   # each module is timed once, where first imported
    out: dict[str, float | None] = {name: seconds.get(name) for name in PACKAGES}
    if "torch._C" not in seconds:  # spaCy's import meets a blocked `import torch` (logged, but nothing loads)
        out["torch"] = None
    out["all imports"] = sum(int(us) for us, indent, _ in rows if not indent) / 1e6
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="Timed processes per code and run (median).")
    parser.add_argument("--work", type=Path, default=Path("/tmp/rnnlab-predict-startup"),
                        help="Folder for the runs and the old code (reused between calls).")
    parser.add_argument("--old-src", type=Path, default=None, help=f"The old code's src/ (default: {BASE}).")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    runs = make_runs(args.work)
    codes = {"before": args.old_src or old_tree(args.work), "after": NEW_SRC}
    for src in codes.values():
        for run in runs.values():
            timed(src, run)  # warm-up: files in the page cache, .pyc written
    samples = {(c, r): [] for c in codes for r in runs}
    for _ in range(args.repeats):
        for r, run in runs.items():
            for c, src in codes.items():
                samples[c, r].append(timed(src, run))
    imports = {c: import_profile(src, runs["main job's LSTM"]) for c, src in codes.items()}
    load_end = os.getloadavg()

    def med(c, r):
        return statistics.median(s[0] for s in samples[c, r]), statistics.median(s[1] for s in samples[c, r])

    when = dt.datetime.now(dt.timezone.utc)
    command = f"PYTHONPATH=src python benchmarks/predict_startup.py --repeats {args.repeats}"
    lines = [BEGIN, "", f"## Whole process, before ({BASE}) and after, side by side", "",
             f"- measured: {when:%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} logical CPUs, load average "
             f"{load_start[0]:.2f} at start, {load_end[0]:.2f} at end", f"- command: `{command}`",
             f"- the text: `{TEXT}`; median of {args.repeats} fresh processes each, old and new interleaved", "",
             "| run | before: wall s | before: CPU s | after: wall s | after: CPU s | after / before (wall) |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in runs:
        (bw, bc), (aw, ac) = med("before", r), med("after", r)
        lines.append(f"| {r} | {bw:.2f} | {bc:.2f} | {aw:.2f} | {ac:.2f} | {aw / bw:.2f} |")
    lines += ["", "`python -X importtime` of one process each (main job's LSTM): cumulative seconds of each "
              "package where it is first imported (the profiler adds time of its own; — : not imported).", "",
              "| package | before | after |", "|---|---:|---:|"]
    for name in (*PACKAGES, "all imports"):
        b, a = imports["before"][name], imports["after"][name]
        lines.append(f"| `{name}` | {'—' if b is None else f'{b:.2f}'} | {'—' if a is None else f'{a:.2f}'} |")
    lines += ["", END]
    report = "\n".join(lines)
    print(report)
    text = REPORT.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + report + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + report + "\n"
    REPORT.write_text(text, encoding="utf-8")
    (bw, bc), (aw, ac) = med("before", "main job's LSTM"), med("after", "main job's LSTM")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps({
        "row": ROW, "order": 1, "before": f"{bw:.2f} s wall ({bc:.2f} s CPU)", "after": f"{aw:.2f} s wall ({ac:.2f} s CPU)",
        "goal": "≤ 1.5 s on an idle machine", "met": aw <= GOAL_S, "command": command,
        "measured": f"{when:%Y-%m-%d} UTC, load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end",
    }, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
