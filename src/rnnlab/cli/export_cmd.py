"""``rnnlab export RUN``: the model and its text pipeline for ONNX Runtime (or TorchScript)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console


@app.command("export")
def export_command(
    run: Path = typer.Argument(..., help="Run directory."),
    format: str = typer.Option("onnx", "--format", help="onnx | torchscript."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder to write (default RUN/export-FORMAT)."),
) -> None:
    """Write the model (ids in, class probabilities out) and pipeline.json (tokenizer, vocab, labels, max_length)."""
    from rnnlab.export import PIPELINE, export_run
    from rnnlab.runs import load_run

    folder = out or Path(run) / f"export-{format}"
    path = export_run(load_run(run), folder, format=format)
    console.print(f"wrote {path} and {folder / PIPELINE}", markup=False)
