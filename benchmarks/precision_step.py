"""One training step in float32 against bfloat16 autocast, side by side (issue 13, row 4).

The step of ``rnnlab train --preset imdb-best`` (bidirectional LSTM 96, final + max + mean
pooling, fine-tuned embeddings, Adam, gradient clipping) and of the demo's LSTM (32 units,
``QUICKSTART["lstm"]``), on random ids of realistic lengths, with random weights (speed does not
depend on the values). The two precisions alternate, ``--rounds`` times, each round timing
``--steps`` steps after one warm-up; the table gives the median CPU milliseconds per step (one
torch thread), wall beside it, and the ratio. Writes ``benchmarks/precision_step.md``.

    PYTHONPATH=src python benchmarks/precision_step.py [--rounds 5] [--steps 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def make_step(preset_model, batch: int, steps_long: int, clip: float, vocab: int = 46_000):
    from rnnlab.models import build_model

    cfg = preset_model.__class__(**{**preset_model.__dict__, "vocab_size": vocab, "embedding_dim": 50})
    torch.manual_seed(0)
    model = build_model(cfg, None, torch.randn(vocab, 50))
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), 2e-3, fused=True)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, vocab, (batch, steps_long), generator=g)
    lengths = torch.randint(int(steps_long * 0.9), steps_long + 1, (batch,), generator=g)
    lengths[0] = steps_long
    labels = torch.randint(0, 2, (batch,), generator=g).float()

    def step(bf16: bool):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model.forward_logits(ids, lengths)
        loss = loss_fn(logits.float(), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        optimizer.zero_grad()
    return step


def measure(step, rounds: int, steps: int) -> dict:
    times = {False: [], True: []}
    walls = {False: [], True: []}
    for _ in range(rounds):
        for bf16 in (False, True):
            step(bf16)  # warm-up
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(steps):
                step(bf16)
            times[bf16].append((time.process_time() - c0) / steps * 1000)
            walls[bf16].append((time.perf_counter() - w0) / steps * 1000)
    f32, b16 = statistics.median(times[False]), statistics.median(times[True])
    return {"float32": f32, "bfloat16": b16, "float32_wall": statistics.median(walls[False]),
            "bfloat16_wall": statistics.median(walls[True]), "ratio": f32 / b16}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "precision_step.md")
    args = ap.parse_args(argv)

    from rnnlab.cli.quickstart_cmd import QUICKSTART
    from rnnlab.presets import get_preset
    from rnnlab.training import configure_threads, cpu_has_bfloat16, reuse_freed_memory

    configure_threads(1)
    reuse_freed_memory()
    if not cpu_has_bfloat16():
        raise SystemExit("this CPU has no native bfloat16 (AVX512-BF16 or AMX): nothing to compare")
    load0 = os.getloadavg()
    rows = [("imdb-best (BiLSTM 96, max+mean), batch 64, ~270 steps",
             measure(make_step(get_preset("imdb-best").model, 64, 270, 1.0), args.rounds, args.steps)),
            ("demo LSTM (32 units, max+mean), batch 32, ~256 steps",
             measure(make_step(QUICKSTART["lstm"][0], 32, 256, 5.0), args.rounds, args.steps))]
    load1 = os.getloadavg()
    lines = ["# Training step: float32 against bfloat16 autocast, side by side", "",
             f"- measured: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; load average "
             f"{load0[0]:.2f} at start, {load1[0]:.2f} at end",
             f"- machine: {platform.machine()}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, "
             f"{torch.backends.cpu.get_cpu_capability()}; one torch thread",
             f"- command: `PYTHONPATH=src python benchmarks/precision_step.py --rounds {args.rounds} "
             f"--steps {args.steps}` (median over the rounds; the precisions alternate within each round)", "",
             "| model and batch | float32 ms CPU (wall) | bfloat16 ms CPU (wall) | float32 / bfloat16 |",
             "|---|---:|---:|---:|"]
    for name, r in rows:
        lines.append(f"| {name} | {r['float32']:.1f} ({r['float32_wall']:.1f}) | {r['bfloat16']:.1f} "
                     f"({r['bfloat16_wall']:.1f}) | {r['ratio']:.2f} |")
    lines += ["", "`imdb-best` trains with `--precision auto` (bfloat16 where the CPU has it); the demo's small "
              "LSTM gains little, so it stays float32.", ""]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
