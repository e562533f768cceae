"""``rnnlab quickstart``: the main job.

Imports the IMDB archive, trains the bag-of-embeddings and the LSTM classifier
on the 25,000 training reviews (10% held out for validation and model
selection), evaluates both on the 25,000 test reviews, prints a comparison and
leaves two run directories.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console
from rnnlab.config import ModelConfig, TrainConfig

# Defaults chosen to finish well inside 20 minutes on a 2-core CPU.
QUICKSTART = {
    "boe": (ModelConfig(model="boe", hidden_dim=64, freeze_embeddings=False),
            TrainConfig(optimizer="adam", lr=0.002, epochs=4, batch_size=64, min_freq=2, seed=1)),
    "lstm": (ModelConfig(model="lstm", recurrent_dim=64, hidden_dim=32, freeze_embeddings=False),
             TrainConfig(optimizer="adam", lr=0.002, epochs=3, batch_size=32, min_freq=2, max_length=256,
                         clip_grad=5.0, seed=1)),
}


def run_quickstart(*, out: Path = Path("runs"), archive: Path | None = None, epochs_scale: float = 1.0,
                   train_spec: str | None = None, test_spec: str | None = None, progress: bool = True):
    """Train both models and return the comparison rows (one dict per model)."""
    from dataclasses import replace

    from rnnlab.cli.data_cmd import run_imdb
    from rnnlab.cli.train_cmd import run_train
    from rnnlab.runs import load_run

    t_start = time.perf_counter()
    if train_spec is None:
        splits = run_imdb(archive=archive)
        train_spec, test_spec = str(splits.train), str(splits.test)
    rows = []
    for name, (mcfg, tcfg) in QUICKSTART.items():
        tcfg = replace(tcfg, epochs=max(1, round(tcfg.epochs * epochs_scale)))
        console.rule(f"{name}")
        t0 = time.perf_counter()
        run_dir = out / f"quickstart-{name}"
        _, history, test_m = run_train(train=train_spec, test=test_spec, out=run_dir, model_config=mcfg,
                                       train_config=tcfg, valid_split=0.1, progress=progress,
                                       overwrite=True)  # its own output: a re-run replaces it (atomically)
        run = load_run(run_dir)
        epoch_s = [r["train_seconds"] for r in history if r["epoch"] > 0]
        rows.append({"model": name, "parameters": run.meta["trainable_parameters"],
                     "best epoch": run.meta.get("best_epoch"), "test acc": test_m["acc"],
                     "test F1": test_m["f1"], "test loss": test_m["loss"],
                     "s/epoch": sorted(epoch_s)[len(epoch_s) // 2] if epoch_s else 0.0,
                     "total s": time.perf_counter() - t0, "run": str(run_dir)})
    console.rule("comparison on the IMDB test set")
    console.print(format_comparison(rows))
    console.print(f"total time: {time.perf_counter() - t_start:.0f} s")
    return rows


def format_comparison(rows: list[dict]) -> str:
    lines = ["| model | trainable params | best epoch | test acc | test F1 | test loss | s/epoch (median) | total s | run |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['parameters']:,} | {r['best epoch']} | {r['test acc']:.4f} | "
                     f"{r['test F1']:.4f} | {r['test loss']:.4f} | {r['s/epoch']:.1f} | {r['total s']:.0f} | {r['run']} |")
    return "\n".join(lines)


@app.command("quickstart")
def quickstart_command(
    out: Path = typer.Option(Path("runs"), help="Folder for the two run directories."),
    archive: Path = typer.Option(None, help="aclImdb_v1.tar.gz (default $RNNLAB_IMDB_ARCHIVE, else download)."),
    epochs_scale: float = typer.Option(1.0, help="Multiply every model's epochs (e.g. 0.5 for a quicker look)."),
    train: str = typer.Option(None, help="Train on this TSV instead of IMDB (needs --test)."),
    test: str = typer.Option(None, help="Test on this TSV instead of IMDB."),
) -> None:
    """The main job: IMDB, bag-of-embeddings vs LSTM, trained, tested and compared."""
    if (train is None) != (test is None):
        raise typer.BadParameter("--train and --test go together")
    run_quickstart(out=out, archive=archive, epochs_scale=epochs_scale, train_spec=train, test_spec=test)
