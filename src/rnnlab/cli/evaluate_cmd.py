"""``rnnlab evaluate RUN --data FILE``: accuracy, loss, macro-F1, per-class table, k×k confusion matrix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console, data_options, format_option, label_field_option, text_field_option
from rnnlab.errors import RnnlabError


def run_evaluate(*, run: Path, data: str, batch_size: int = 256, data_options: dict | None = None) -> dict:
    """Metrics of the run in ``run`` on labelled ``data`` (encoded by the run's own text pipeline)."""
    from rnnlab.data.readers import read_examples
    from rnnlab.runs import load_run
    from rnnlab.training import configure_threads, evaluate_examples

    if batch_size < 1:
        raise RnnlabError(f"--batch-size: must be at least 1, got {batch_size}")
    configure_threads()  # one torch thread unless $RNNLAB_THREADS says otherwise (two spin-wait on a busy machine)
    r = load_run(run)
    opts = {k: v for k, v in (data_options or {}).items() if v is not None}
    pipeline = r.pipeline
    m = evaluate_examples(r.model, pipeline, read_examples(data, labels=pipeline.labels, **opts),
                          batch_size=batch_size)
    m["labels"] = list(pipeline.labels)
    return m


def format_metrics(m: dict, labels) -> str:
    """The summary lines, a per-class precision/recall/F1/support table and the confusion matrix."""
    labels = [str(x) for x in labels]
    lines = [f"examples   {m['n']:,}", f"accuracy   {m['acc']:.4f}", f"loss       {m['loss']:.4f}",
             f"macro-F1   {m['macro_f1']:.4f}"]
    if "f1" in m:  # two classes: the positive class's figures, as before
        pos = labels[1]
        lines += [f"precision  {m['precision']:.4f}  ({pos})", f"recall     {m['recall']:.4f}  ({pos})",
                  f"F1         {m['f1']:.4f}  ({pos})"]
    name_w = max(10, max(len(x) for x in labels) + 2)
    lines += ["", f"{'class':<{name_w}}{'precision':>10}{'recall':>10}{'F1':>10}{'support':>10}"]
    for name in labels:
        c = m["per_class"][name]
        lines.append(f"{name:<{name_w}}{c['precision']:>10.4f}{c['recall']:>10.4f}{c['f1']:>10.4f}{c['support']:>10,}")
    conf = m["confusion"]
    w = max([len(x) for x in labels] + [len(str(v)) for row in conf for v in row]) + 2
    lines += ["", "confusion matrix (rows: true, columns: predicted)",
              f"{'':>{name_w}}" + "".join(f"{x:>{w}}" for x in labels)]
    for name, row in zip(labels, conf):
        lines.append(f"{name:>{name_w}}" + "".join(f"{v:>{w}}" for v in row))
    return "\n".join(lines)


@app.command("evaluate")
def evaluate_command(
    run: Path = typer.Argument(..., help="Run directory."),
    data: str = typer.Option(..., help="Labelled data to evaluate on: .tsv, .csv, .jsonl, .json, .parquet, - (stdin) or imdb:test."),
    batch_size: int = typer.Option(256, help="Texts per batch."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as one JSON object."),
    format: Optional[str] = format_option(),
    text_field: str = text_field_option(),
    label_field: str = label_field_option(),
) -> None:
    """Evaluate a trained run on labelled data."""
    m = run_evaluate(run=run, data=data, batch_size=batch_size,
                     data_options=data_options(format, text_field, label_field))
    if as_json:
        print(json.dumps(m, indent=2))
    else:
        console.print(format_metrics(m, m["labels"]), markup=False)
