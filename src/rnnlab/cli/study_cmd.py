"""``rnnlab study list | run NAME... | run --all``: the classic experiments as reproducible studies."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console, print_df

study_app = typer.Typer(help="The study suite: classic experiments on these models, with a report.",
                        no_args_is_help=True)
app.add_typer(study_app, name="study")


def parse_seeds(seeds: str) -> list[int]:
    from rnnlab.errors import RnnlabError

    try:
        out = [int(s) for s in seeds.replace(" ", "").split(",") if s]
    except ValueError:
        raise RnnlabError(f"--seeds takes comma-separated integers like 1,2,3; got {seeds!r}") from None
    if not out:
        raise RnnlabError("--seeds needs at least one seed")
    return out


def run_list(as_json: bool = False) -> list[dict]:
    import pandas as pd

    from rnnlab.experiments.specs import study_table

    rows = study_table()
    if as_json:
        import json

        typer.echo(json.dumps(rows, indent=2, default=str))
    else:
        print_df(pd.DataFrame(rows), max_text=110)
    return rows


def run_run(*, names: list[str], all_: bool = False, data: str = "", valid: str | None = None,
            out: Path = Path("studies"), seeds: str = "1", epochs_scale: float = 1.0, epochs: int | None = None,
            report: bool = True, progress: bool = True, skip_existing: bool = False,
            bucket: bool = True) -> list[dict]:
    from rnnlab.errors import RnnlabError
    from rnnlab.experiments.runner import run_studies

    if all_ == bool(names):
        raise RnnlabError("give study names (e.g. `rnnlab study run 4`) or --all, not both or neither")
    if epochs_scale <= 0:
        raise RnnlabError(f"--epochs-scale must be positive, got {epochs_scale}")
    if epochs is not None and epochs < 1:
        raise RnnlabError(f"--epochs must be at least 1, got {epochs}")
    return run_studies(None if all_ else names, out=out, data=data, valid=valid, seeds=parse_seeds(seeds),
                       epochs_scale=epochs_scale, epochs=epochs, report=report, skip_existing=skip_existing,
                       bucket=bucket,
                       log=lambda m="": console.print(m, markup=False), progress=progress)


@study_app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """List the studies: number, name, runs, epochs and the question each answers."""
    run_list(as_json=as_json)


@study_app.command("run")
def run_command(
    names: Optional[List[str]] = typer.Argument(None, help="Studies to run: numbers (4), names or unique prefixes."),
    all_: bool = typer.Option(False, "--all", help="Run every study, in order."),
    data: str = typer.Option("", help="Training data: any data argument, e.g. a TSV file or imdb:train (default: sample:train, the balanced IMDB sample in the cache)."),
    valid: Optional[str] = typer.Option(None, help="Validation data (default: the matching *-test.tsv / imdb:test / sample:test, "
                                                   "else 10% of --data held out)."),
    out: Path = typer.Option(Path("studies"), help="Output folder: one sub-folder per study, the report at the top."),
    seeds: str = typer.Option("1", help="Comma-separated seeds; several give mean ± std in the report."),
    epochs_scale: float = typer.Option(1.0, help="Multiply every run's epochs (at least 1), e.g. 0.1 for a quick look."),
    epochs: Optional[int] = typer.Option(None, help="Train every run for exactly this many epochs (overrides the scale)."),
    report: bool = typer.Option(True, help="Write report.md / report.html in --out at the end."),
    skip_existing: bool = typer.Option(False, help="Keep runs already finished in --out; resume interrupted (or "
                                                   "stopped and snapshotted) ones from their checkpoint."),
    bucket: bool = typer.Option(True, "--bucket/--no-bucket",
                                help="Batch texts of similar length together (fast); --no-bucket draws random "
                                     "mini-batches, as the course does."),
) -> None:
    """Train the runs of one or more studies, take their probes and write the report."""
    run_run(names=names or [], all_=all_, data=data, valid=valid, out=out, seeds=seeds, epochs_scale=epochs_scale,
            epochs=epochs, report=report, skip_existing=skip_existing, bucket=bucket)


@study_app.command("questions")
def questions_command(
    data: str = typer.Option("", help="Training data (default: sample:train, the balanced IMDB sample in the cache)."),
    valid: Optional[str] = typer.Option(None, help="Validation data (default: the matching *-test.tsv)."),
    out: Path = typer.Option(Path("studies"), help="Folder for course-questions.md."),
) -> None:
    """Answer the course's questions that need no training (padding/packing, gradient cosines) in minutes."""
    from rnnlab.experiments.report import write_questions
    from rnnlab.experiments.runner import DataSource
    from rnnlab.training import configure_threads

    configure_threads()
    log = lambda m="": console.print(m, markup=False)  # noqa: E731
    path = write_questions(out, DataSource(data, valid, log=log), log=log)
    log(f"wrote {path}")

