"""``rnnlab evaluate RUN --data TSV``: accuracy, loss, precision, recall, F1, confusion matrix."""

from __future__ import annotations

from pathlib import Path

import typer

from rnnlab.cli.app import app
from rnnlab.errors import RnnlabError
from rnnlab.cli.common import console


def run_evaluate(*, run: Path, data: str, batch_size: int = 256) -> dict:
    from rnnlab.data.sources import load_examples
    from rnnlab.runs import load_run
    from rnnlab.training import evaluate_examples

    if batch_size < 1:
        raise RnnlabError(f"--batch-size: must be at least 1, got {batch_size}")
    r = load_run(run)
    return evaluate_examples(r.model, r.vocab, load_examples(data, r.labels), max_length=r.max_length,
                             batch_size=batch_size)


def format_metrics(m: dict, labels=("neg", "pos")) -> str:
    (tn, fp), (fn, tp) = m["confusion"]
    w = max(len(str(x)) for x in (tn, fp, fn, tp)) + 2
    neg, pos = labels
    return "\n".join([
        f"examples   {m['n']:,}",
        f"accuracy   {m['acc']:.4f}",
        f"loss       {m['loss']:.4f}",
        f"precision  {m['precision']:.4f}",
        f"recall     {m['recall']:.4f}",
        f"F1         {m['f1']:.4f}",
        "confusion matrix (rows: true, columns: predicted)",
        f"{'':>10}{neg:>{w}}{pos:>{w}}",
        f"{neg:>10}{tn:>{w}}{fp:>{w}}",
        f"{pos:>10}{fn:>{w}}{tp:>{w}}",
    ])


@app.command("evaluate")
def evaluate_command(
    run: Path = typer.Argument(..., help="Run directory."),
    data: str = typer.Option(..., help="Labelled TSV file (or imdb:test) to evaluate on."),
    batch_size: int = typer.Option(256, help="Texts per batch."),
) -> None:
    """Evaluate a trained run on labelled data."""
    m = run_evaluate(run=run, data=data, batch_size=batch_size)
    from rnnlab.runs import read_config

    console.print(format_metrics(m, tuple(read_config(run)["labels"])))
