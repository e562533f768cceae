"""Helpers shared by the command modules."""

from __future__ import annotations

from rich.console import Console

console = Console(highlight=False, soft_wrap=True)


def _cell(v, float_format: str, max_text: int) -> str:
    if isinstance(v, float):
        return float_format.format(v)
    s = str(v)
    return s if len(s) <= max_text else s[: max_text - 1] + "…"


def print_df(df, title: str | None = None, float_format: str = "{:.4f}", max_text: int = 70) -> None:
    """Show a DataFrame: a rich table on a terminal, plain aligned text when piped (never cut)."""
    print_table([str(c) for c in df.columns], [[row[c] for c in df.columns] for _, row in df.iterrows()],
                [df[c].dtype.kind in "fiu" for c in df.columns], title, float_format, max_text)


def print_table(headers: list[str], rows: list[list], right: list[bool], title: str | None = None,
                float_format: str = "{:.4f}", max_text: int = 70) -> None:
    """:func:`print_df` without pandas: ``rows`` of values under ``headers``; ``right`` marks the numeric
    (right-aligned) columns."""
    rows = [[_cell(v, float_format, max_text) for v in r] for r in rows]
    if console.is_terminal:
        from rich.table import Table

        table = Table(title=title)
        for header, r in zip(headers, right):
            table.add_column(header, justify="right" if r else "left")
        for r in rows:
            table.add_row(*r)
        console.print(table)
        return
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()

    if title:
        console.print(title, markup=False)
    console.print(line(headers), markup=False)
    for r in rows:
        console.print(line(r), markup=False)


# -- data options shared by train, evaluate and predict ---------------------------------
import typer  # noqa: E402  (typer is loaded by every command anyway)

FORMAT_HELP = "Data format: tsv | csv | jsonl | json | parquet (default: from the file extension; - is TSV)."
TEXT_FIELD_HELP = "Column / key holding the text (CSV, JSON, Parquet; TSV is <label>\\t<text>)."
LABEL_FIELD_HELP = "Column / key holding the label (CSV, JSON, Parquet)."


def format_option():
    return typer.Option(None, "--format", help=FORMAT_HELP)


def text_field_option():
    return typer.Option("text", "--text-field", help=TEXT_FIELD_HELP)


def label_field_option():
    return typer.Option("label", "--label-field", help=LABEL_FIELD_HELP)


def data_options(format: str | None, text_field: str, label_field: str) -> dict:
    """The reader options (:func:`rnnlab.data.readers.read_examples` keywords) of a command."""
    return {"format": format, "text_field": text_field, "label_field": label_field}


def parse_labels(value: str | None) -> tuple[str, ...] | None:
    """``--labels a,b,c`` -> ``("a", "b", "c")``; a duplicate or empty name is a one-line error."""
    if value is None:
        return None
    from rnnlab.data.task import Task

    names = tuple(x.strip() for x in value.split(","))
    try:
        return Task(names).labels
    except Exception as exc:  # RnnlabError from Task's checks
        raise typer.BadParameter(f"--labels {value}: {exc}") from None
