"""``rnnlab predict RUN "text" ...``: a table of text, probability and label."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import print_df
from rnnlab.errors import InputError, RnnlabError


def read_lines(path: Path) -> list[str]:
    """One text per non-blank line of a UTF-8 file."""
    if not path.exists():
        raise InputError(path, "no such file")
    if not path.is_file():
        raise InputError(path, "is a directory, not a file of texts (one text per line)")
    texts = []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(path, f"invalid UTF-8 at byte {exc.start}", number) from None
        if line.strip():
            texts.append(line)
    if not texts:
        raise InputError(path, "the file holds no texts (expected one text per line)")
    return texts


def run_predict(*, run: Path, texts: list[str], file: Path | None = None):
    from rnnlab.inspect import predict_run
    from rnnlab.runs import load_run

    texts = list(texts) + (read_lines(file) if file else [])
    if not texts:
        raise RnnlabError("nothing to predict: give texts as arguments or --file")
    return predict_run(load_run(run), texts)


@app.command("predict")
def predict_command(
    run: Path = typer.Argument(..., help="Run directory."),
    texts: Optional[List[str]] = typer.Argument(None, help="Texts to classify."),
    file: Optional[Path] = typer.Option(None, help="Also classify each line of this file."),
    csv: Optional[Path] = typer.Option(None, help="Write the table as CSV here too."),
) -> None:
    """Classify texts with a trained run."""
    if csv is not None and not csv.parent.is_dir():  # checked before any work, not after the table
        raise RnnlabError(f"--csv {csv}: the folder {csv.parent} does not exist")
    df = run_predict(run=run, texts=texts or [], file=file)
    print_df(df, max_text=80)
    if csv:
        df.to_csv(csv, index=False)
