"""``rnnlab probe contrast RUN...`` and ``rnnlab probe similarity RUN``: probes on any trained runs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import List, Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console, print_df

probe_app = typer.Typer(help="Probes inside trained runs: contrastive predictions, embedding similarity.",
                        no_args_is_help=True)
app.add_typer(probe_app, name="probe")


def _run_names(runs: list[Path]) -> list[str]:
    names = [r.name if not r.name.startswith("seed-") else f"{r.parent.name}/{r.name}" for r in runs]
    return [n if names.count(n) == 1 else str(r) for n, r in zip(names, runs)]


def _records(df) -> list[dict]:
    """DataFrame rows as JSON-ready dicts (NaN -> null)."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in df.to_dict(orient="records")]


def run_contrast(*, runs: list[Path], texts: list[str] | None = None, as_json: bool = False):
    """P(second class) of the contrastive texts (or ``texts``) for every run, side by side (one column per
    class for runs with more than two), and the permutation check."""
    from rnnlab.errors import RnnlabError
    from rnnlab.probes import CONTRAST_TEXTS, contrastive_predictions, permutation_check
    from rnnlab.runs import load_run

    if not runs:
        raise RnnlabError("give at least one run directory")
    models = {name: load_run(r) for name, r in zip(_run_names(runs), runs)}
    pairs = [("given", t) for t in texts] if texts else list(CONTRAST_TEXTS)
    preds = contrastive_predictions(models, pairs)
    perms = permutation_check(preds)
    if as_json:
        print(json.dumps({"predictions": _records(preds), "permutations": _records(perms)}, indent=2))
        return preds, perms
    print_df(preds, title="P(positive)" if all(c in models for c in preds.columns[2:]) else "probabilities")
    if len(perms):
        console.print("")
        print_df(perms, title="|P(a) - P(b)| for texts made of the same words", float_format="{:.2e}")
    return preds, perms


def parse_pairs(pairs: list[str]) -> list[tuple[str, str]]:
    from rnnlab.errors import RnnlabError

    out = []
    for p in pairs:
        a, sep, b = p.partition(":")
        if not sep or not a or not b:
            raise RnnlabError(f"--pair takes TOKEN:TOKEN, e.g. '<newneg>:boring'; got {p!r}")
        out.append((a, b))
    return out


def run_similarity(*, run: Path, pairs: list[str] | None = None, as_json: bool = False):
    from rnnlab.probes import SIMILARITY_PAIRS, similarity_table
    from rnnlab.runs import load_run

    r = load_run(run)
    df = similarity_table(r.model, r.vocab, parse_pairs(pairs) if pairs else SIMILARITY_PAIRS)
    if not pairs and df["cosine"].isna().all():
        from rnnlab.errors import RnnlabError

        raise RnnlabError(f"{run}: none of the default pairs' tokens ({', '.join(sorted({t for p in SIMILARITY_PAIRS for t in p}))}) "
                          "has an embedding in this run; give pairs with --pair a:b, e.g. --pair good:great")
    if as_json:
        print(json.dumps(_records(df), indent=2))
        return df
    print_df(df, title="cosine similarity of embedding rows (n/a: a zero vector or a missing token)")
    return df


@probe_app.command("contrast")
def contrast_command(
    runs: List[Path] = typer.Argument(..., help="Run directories, shown side by side."),
    text: Optional[List[str]] = typer.Option(None, help="Texts to use instead of the contrastive set (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print predictions and permutation check as JSON."),
) -> None:
    """Contrastive predictions of several runs side by side; permutations of the same words compared."""
    run_contrast(runs=runs, texts=text, as_json=as_json)


@probe_app.command("similarity")
def similarity_command(
    run: Path = typer.Argument(..., help="Run directory."),
    pair: Optional[List[str]] = typer.Option(None, help="TOKEN:TOKEN (repeatable); default the tell-tale pairs."),
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON."),
) -> None:
    """Cosine similarity of embedding rows of a run (default: <newneg>/<newpos> against each other, boring, outstanding)."""
    run_similarity(run=run, pairs=pair, as_json=as_json)
