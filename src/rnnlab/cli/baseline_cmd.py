"""``rnnlab baseline nbsvm``: the classical NBSVM baseline (scikit-learn) for comparison."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console

baseline_app = typer.Typer(help="Classical baselines to compare the neural models with.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("nbsvm")
def nbsvm_command(
    train: str = typer.Option("imdb:train", help="Training data: a TSV file (<label>\\t<text>), imdb:train or sample:train."),
    test: str = typer.Option("imdb:test", help="Test data: a TSV file or imdb:test."),
    ngram: int = typer.Option(2, help="1: unigrams; 2: unigrams + bigrams (Wang & Manning 2012)."),
    c: float = typer.Option(1.0, "--C", help="SVM regularisation constant C."),
    beta: float = typer.Option(0.25, help="Interpolation between the SVM weights and their mean magnitude."),
    labels: str = typer.Option("neg,pos", help="Label names, negative class first, comma-separated."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the result as JSON to this file."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (progress lines go to stderr)."),
) -> None:
    """Train NBSVM on binarized n-grams of the rnnlab tokens and print its test accuracy."""
    import sys

    from rnnlab.baselines import run_nbsvm

    names = tuple(x.strip() for x in labels.split(","))
    log = (lambda m: print(m, file=sys.stderr)) if as_json else (lambda m: console.print(m, markup=False))
    try:
        result = run_nbsvm(train=train, test=test, labels=names, ngram=ngram, C=c, beta=beta, log=log)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    text = json.dumps(result, indent=2) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
    if as_json:
        sys.stdout.write(text)
