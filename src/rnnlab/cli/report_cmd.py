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
) -> None:
    """Write report.md and a self-contained report.html: tables, learning curves, probes."""
    run_report(directory=directory, out=out)
