"""How long a full trace of a 500-token review takes on CPU, per model type and per method.

Models have the default sizes (GloVe 50d embeddings, 50 recurrent units, 20 hidden
units, a 25,000-word vocabulary) with random weights: speed does not depend on the
values. One torch thread (the project default). Prints a Markdown table of medians.

    python benchmarks/trace_speed.py [--tokens 500] [--repeats 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time

import numpy as np
import torch

from rnnlab.config import ModelConfig
from rnnlab.data.vocab import Vocab
from rnnlab.models import build_model
from rnnlab.trace import gradient_input, occlusion, removal, running_probabilities, supports_running, trace

MODELS = {
    "rnn": dict(model="rnn"), "lstm": dict(model="lstm"), "gru": dict(model="gru"),
    "lstm 2 layers": dict(model="lstm", layers=2), "gru bidirectional": dict(model="gru", bidirectional=True),
    "boe": dict(model="boe"),
}


def median_seconds(fn, repeats: int) -> tuple[float, float]:
    """Median wall-clock and median process CPU seconds (CPU time is what an idle core would take)."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def cell(t) -> str:
    return "—" if t is None else f"{t[0]:.3f} ({t[1]:.3f})"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=500, help="Review length in tokens.")
    parser.add_argument("--repeats", type=int, default=5, help="Timed repeats (median reported).")
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("RNNLAB_THREADS", "1")))
    V = 25_000
    vocab = Vocab(["<unk>", "<pad>"] + [f"w{i}" for i in range(V - 2)])
    vectors = torch.randn(V, 50)
    ids = np.random.default_rng(0).integers(2, V, size=args.tokens)
    text = " ".join(vocab.lookup_tokens(ids))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# Trace speed: one {args.tokens}-token review\n")
    print(f"- date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"load average {load:.1f} at start; torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"- command: `python benchmarks/trace_speed.py --tokens {args.tokens} --repeats {args.repeats}`\n")
    print("Seconds, median wall clock (median CPU time in brackets).\n")
    print("| model | full trace | running | occlusion | removal | gradient×input |")
    print("|---|---:|---:|---:|---:|---:|")
    torch.manual_seed(0)
    for name, kw in MODELS.items():
        model = build_model(ModelConfig(vocab_size=V, **kw), vocab, vectors).eval()
        full = median_seconds(lambda: trace(model, vocab, text), args.repeats)
        run = (median_seconds(lambda: running_probabilities(model, [ids]), args.repeats)
               if supports_running(model) else None)
        occ = median_seconds(lambda: occlusion(model, ids), args.repeats)
        rem = median_seconds(lambda: removal(model, ids), args.repeats)
        gi = median_seconds(lambda: gradient_input(model, ids), args.repeats)
        print(f"| {name} | {cell(full)} | {cell(run)} | {cell(occ)} | {cell(rem)} | {cell(gi)} |")


if __name__ == "__main__":
    main()
