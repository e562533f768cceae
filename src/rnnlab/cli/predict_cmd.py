"""``rnnlab predict RUN "text" ...``: each text's label and the probability of each class."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import format_option, print_df, text_field_option
from rnnlab.data.readers import EXTENSIONS, read_records
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


def read_texts(file: str, *, format: str | None = None, text_field: str = "text") -> list[str]:
    """The texts of ``file``: the text field of a .tsv/.csv/.jsonl/.json/.parquet file (a label
    column is never read as text) or, for .txt and other extensions, one text a line."""
    suffix = Path(file).suffix.lower()
    if format is None and (suffix == ".txt" or suffix not in EXTENSIONS):
        return read_lines(Path(file))
    # the text field stands in for the label too, so a file without labels reads as well
    records = read_records(file, format=format, text_field=text_field, label_field=text_field, clean=False)
    return [text for _, text, _ in records]


def run_predict(*, run: Path, texts: list[str], file: str | None = None, data_options: dict | None = None):
    """A DataFrame: text, label and each class's probability (``p(label)`` columns)."""
    from rnnlab.inspect import predict_run
    from rnnlab.runs import load_run
    from rnnlab.training import configure_threads

    opts = data_options or {}
    if "-" in texts:  # texts from standard input, one a line
        texts = [t for t in texts if t != "-"] + [l for l in sys.stdin.read().splitlines() if l.strip()]
    texts = list(texts) + (read_texts(file, format=opts.get("format"), text_field=opts.get("text_field", "text"))
                           if file else [])
    if not texts:
        raise RnnlabError("nothing to predict: give texts as arguments, - (standard input) or --file")
    configure_threads()  # one torch thread unless $RNNLAB_THREADS says otherwise (two spin-wait on a busy machine)
    r = load_run(run)
    df = predict_run(r, texts)  # many texts: tokenized in worker processes while the model runs
    df.attrs["max_length"] = r.pipeline.max_length
    return df


@app.command("predict")
def predict_command(
    run: Path = typer.Argument(..., help="Run directory."),
    texts: Optional[List[str]] = typer.Argument(None, help="Texts to classify; - reads one text a line from standard input."),
    file: Optional[str] = typer.Option(None, help="Also classify the texts of this file: .tsv/.csv/.jsonl/.json/.parquet (the text field; a label column is ignored) or one text a line."),
    csv: Optional[Path] = typer.Option(None, help="Write the table as CSV here too."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object a text: text, label, probabilities."),
    format: Optional[str] = format_option(),
    text_field: str = text_field_option(),
) -> None:
    """Classify texts with a trained run: the label and each class's probability."""
    if csv is not None and not csv.parent.is_dir():  # checked before any work, not after the table
        raise RnnlabError(f"--csv {csv}: the folder {csv.parent} does not exist")
    if texts and "-" not in texts and file is None and csv is None:
        from rnnlab.cli.predict_lite import predict_without_torch  # deferred: the run reader only when predicting (cli docstring)

        if predict_without_torch(run, texts, as_json):  # texts as arguments: NumPy, no torch import (start-up)
            return
    df = run_predict(run=run, texts=texts or [], file=file, data_options={"format": format, "text_field": text_field})
    if df.attrs.get("cut"):
        print(f"note: {df.attrs['cut']} text(s) longer than max_length {df.attrs['max_length']} tokens were cut "
              "to their first tokens, as in training", file=sys.stderr)
    if as_json:
        probs = [c for c in df.columns if c.startswith("p(")]
        for _, row in df.iterrows():
            print(json.dumps({"text": row["text"], "label": row["label"],
                              "probabilities": {c[2:-1]: float(row[c]) for c in probs}}))
    else:
        print_df(df, max_text=80)
    if csv:
        df.to_csv(csv, index=False)
