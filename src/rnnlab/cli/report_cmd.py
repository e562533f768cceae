"""``rnnlab report DIR``: Markdown + HTML report of a study folder (or of any folder of runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console


def run_report(*, directory: Path, out: Path | None = None) -> tuple[Path, Path]:
    from rnnlab.experiments.report import write_report

    md, page = write_report(directory, out)
    console.print(f"wrote {md} and {page}", markup=False)
    return md, page


@app.command("report")
def report_command(
    directory: Path = typer.Argument(..., help="A study output folder (rnnlab study run --out), one study, or runs."),
    out: Optional[Path] = typer.Option(None, help="Where to write report.md, report.html and figures/ (default DIR)."),
    summary: bool = typer.Option(False, "--summary", help="Print the results in brief as Markdown (one row per run, the gradient reports, the probes) instead of writing the report."),
) -> None:
    """Write report.md and a self-contained report.html: tables, learning curves, probes."""
    if summary:
        from rnnlab.experiments.report import build_summary, render_md

        print(render_md(build_summary(directory)), end="")
        return
    run_report(directory=directory, out=out)
