"""Labelled text in the formats people have, behind one function: :func:`read_examples`.

=============  ====================================================================
``.tsv``       ``<label>\\t<text>`` a line, positional (the label is everything
               before the FIRST tab; no header)
``.csv``       a header row; columns picked by ``text_field`` / ``label_field``
``.jsonl``     one JSON object a line (``text_field`` / ``label_field`` keys)
``.json``      a JSON list of such objects
``.parquet``   a table with ``text_field`` / ``label_field`` columns
``-``          standard input (``format`` says which of the above; TSV by default)
=============  ====================================================================

The format comes from the extension unless ``format`` names it. Labels are
strings (a number in a JSON or Parquet file becomes its text: ``3`` -> ``"3"``).
Their order is ``labels`` when given, else the sorted set of labels found; an
example whose label is not in ``labels`` is an error naming the file and the
line (or record). Every problem raises one :class:`~rnnlab.errors.InputError`
naming the file, where in it, and the fix.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from rnnlab.data.limits import TEXT_ENV, max_text_bytes
from rnnlab.errors import RnnlabError, InputError

FORMATS = ("tsv", "csv", "jsonl", "json", "parquet")
EXTENSIONS = {".tsv": "tsv", ".txt": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
               ".json": "json", ".parquet": "parquet", ".pq": "parquet"}
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def clean_text(text: str) -> str:
    """Replace HTML line breaks (``<br />``) by spaces; everything else is kept."""
    return _BR.sub(" ", text)


@dataclass(frozen=True)
class Example:
    """One labelled text: ``label`` is the class id (index into the label names)."""

    label: int
    text: str


class Examples(list):
    """A list of :class:`Example` that knows its label names (``labels[i]`` is class ``i``) and its source."""

    def __init__(self, items=(), labels: Sequence[str] = (), source: str = ""):
        super().__init__(items)
        self.labels = tuple(labels)
        self.source = source


def format_of(source: str | Path, format: str | None = None) -> str:
    """The format of ``source``: ``format`` when given, else from the extension (``-`` is TSV)."""
    if format is not None:
        if format not in FORMATS:
            raise InputError(source, f"unknown format {format!r}; use --format {'|'.join(FORMATS)}")
        return format
    if str(source) == "-":
        return "tsv"
    suffix = Path(str(source)).suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    raise InputError(source, f"cannot tell the format from the extension {suffix or '(none)'!r}; "
                             f"name it with --format {'|'.join(FORMATS)}")


def read_records(source: str | Path, *, format: str | None = None, text_field: str = "text",
                 label_field: str = "label", clean: bool = True) -> list[tuple[str, str, int | str]]:
    """``(label, text, where)`` for every example of ``source``, in file order.

    ``where`` is the line number (TSV, CSV, JSON Lines) or ``"record N"`` (JSON,
    Parquet), for error messages.
    """
    fmt = format_of(source, format)
    name = "<stdin>" if str(source) == "-" else str(source)
    if fmt == "parquet":
        records = list(_parquet_rows(source, name, text_field, label_field))
    else:
        raw = _read_bytes(source, name)
        if fmt == "tsv":
            records = list(_tsv_rows(raw, name))
        else:
            text = _decode(raw, name)
            if fmt == "csv":
                records = list(_csv_rows(text, name, text_field, label_field))
            elif fmt == "jsonl":
                records = list(_jsonl_rows(text, name, text_field, label_field))
            else:
                records = list(_json_rows(text, name, text_field, label_field))
    if not records:
        raise InputError(name, "holds no examples" + (", expected lines of <label>\\t<text>" if fmt == "tsv" else
                                                        f", expected records with {text_field!r} and {label_field!r}"))
    cap = max_text_bytes()
    for _, text, where in records:
        if len(text) * 4 > cap and len(text.encode("utf-8")) > cap:  # cheap test first: at most 4 bytes a char
            raise _error(name, f"text of {len(text.encode('utf-8')):,} bytes exceeds the limit of {cap:,} per text "
                               f"(raise ${TEXT_ENV} if it is genuine)", where)
    return [(label, clean_text(text) if clean else text, where) for label, text, where in records]


def read_examples(source: str | Path, *, format: str | None = None, text_field: str = "text",
                  label_field: str = "label", labels: Sequence[str] | None = None,
                  clean: bool = True) -> Examples:
    """Read labelled examples from ``source`` (a path or ``-`` for standard input).

    Args:
        source: the file; its extension picks the reader unless ``format`` is given.
        format: ``tsv`` | ``csv`` | ``jsonl`` | ``json`` | ``parquet``.
        text_field, label_field: the column / key names (CSV, JSON, Parquet; TSV is positional).
        labels: the label names in class-id order; a label outside them is an error.
            ``None``: the sorted set of labels found.
        clean: turn ``<br />`` into spaces (``False`` keeps the text exactly as given).
    """
    from rnnlab.data.sources import resolve_source  # deferred: circular (sources -> readers)

    path = resolve_source(source)
    records = read_records(path, format=format, text_field=text_field, label_field=label_field, clean=clean)
    name = "<stdin>" if str(path) == "-" else str(path)
    if labels is None:
        names = tuple(sorted({label for label, _, _ in records}))
    else:
        names = tuple(labels)
        if len(set(names)) != len(names):
            dup = next(x for x in names if names.count(x) > 1)
            raise InputError(name, f"label {dup!r} is listed twice in the labels; give each name once")
    ids = {label: i for i, label in enumerate(names)}
    out = []
    for label, text, where in records:
        if label not in ids:
            shown = label if len(label) <= 40 else label[:40] + "..."
            raise _error(name, f"unknown label {shown!r}, expected one of {'|'.join(names)} "
                               "(fix the label, or train on data or --labels that include it)", where)
        out.append(Example(ids[label], text))
    return Examples(out, names, name)


def as_examples(data, labels: Sequence[str] | None = None) -> Examples:
    """Labelled data in any form the Python API takes, as :class:`Examples`.

    ``data``: a path (or data name, or ``-``) read by :func:`read_examples`; a
    ``TSVDataset``; :class:`Examples`; a list of :class:`Example` (class ids into
    ``labels``, default ``neg``/``pos``); or a list of ``(label, text)`` pairs with
    label names (order: ``labels`` when given, else sorted).
    """
    if isinstance(data, (str, Path)):
        return read_examples(data, labels=labels)
    if hasattr(data, "examples") and hasattr(data, "labels"):  # TSVDataset
        data = Examples(data.examples, data.labels, str(getattr(data, "path", "")))
    if isinstance(data, Examples):
        if labels is None or tuple(labels) == data.labels:
            return data
        ids = {name: i for i, name in enumerate(labels)}
        unknown = sorted({data.labels[e.label] for e in data} - set(ids))
        if unknown:
            raise RnnlabError(f"{data.source or 'the data'}: unknown label {unknown[0]!r}, expected one of "
                              f"{'|'.join(labels)}")
        return Examples([Example(ids[data.labels[e.label]], e.text) for e in data], labels, data.source)
    items = list(data)
    if all(isinstance(e, Example) for e in items):
        from rnnlab.data.task import binary_task  # deferred: data.task imports torch; readers is imported by the CLI

        return Examples(items, labels if labels is not None else binary_task().labels)
    pairs = []
    for i, item in enumerate(items):
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[1], str)):
            raise RnnlabError(f"item {i} of the data is {type(item).__name__}, expected a (label, text) pair")
        pairs.append((str(item[0]), item[1]))
    names = tuple(labels) if labels is not None else tuple(sorted({y for y, _ in pairs}))
    ids = {name: i for i, name in enumerate(names)}
    for i, (y, _) in enumerate(pairs):
        if y not in ids:
            raise RnnlabError(f"item {i} of the data: unknown label {y!r}, expected one of {'|'.join(names)}")
    return Examples([Example(ids[y], t) for y, t in pairs], names)


# -- one reader per format ----------------------------------------------------------
def _read_bytes(source, name: str) -> bytes:
    if str(source) == "-":
        return sys.stdin.buffer.read()
    path = Path(source)
    if not path.exists():
        raise InputError(name, "no such file")
    if path.is_dir():
        raise InputError(name, "is a directory, expected a data file")
    return path.read_bytes()


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise InputError(name, "invalid UTF-8; re-encode the file as UTF-8", line) from None


def _split_lines(raw: bytes) -> Iterator[bytes]:
    """Lines without their ending; ``\\r\\n`` and ``\\n`` both end a line."""
    for line in raw.split(b"\n"):
        yield line[:-1] if line.endswith(b"\r") else line


def _tsv_rows(raw: bytes, name: str):
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    cap = max_text_bytes()
    for number, line in enumerate(_split_lines(raw), start=1):
        if not line.strip():
            continue
        if len(line) > cap:
            raise InputError(name, f"line of {len(line):,} bytes exceeds the limit of {cap:,} per text "
                                   f"(raise ${TEXT_ENV} if it is genuine)", number)
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(name, f"invalid UTF-8 at byte {exc.start} of the line; re-encode the file as UTF-8",
                             number) from None
        label, sep, text = decoded.partition("\t")
        if not sep:
            raise InputError(name, "no TAB found, expected <label>\\t<text> (for a CSV or JSON file use its "
                                   "extension or --format)", number)
        if not label.strip():
            raise InputError(name, "empty label before the TAB, expected <label>\\t<text>", number)
        if not text.strip():
            raise InputError(name, "empty text after the label, expected <label>\\t<text>", number)
        yield label, text, number


def _error(name: str, message: str, where: int | str | None = None) -> InputError:
    """``file:LINE: message`` for a line number, ``file: record N: message`` for a record."""
    if isinstance(where, str):
        return InputError(f"{name}: {where}", message)
    return InputError(name, message, where)


def _field(record: dict, key: str, name: str, where, what: str, option: str) -> str:
    if key not in record:
        have = ", ".join(repr(k) for k in list(record)[:8])
        raise _error(name, f"no {what} field {key!r} (fields: {have}); pick one with {option}", where)
    value = record[key]
    if value is None or (isinstance(value, float) and value != value):
        raise _error(name, f"the {what} field {key!r} is empty", where)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dict, list)):
        raise _error(name, f"the {what} field {key!r} holds a {type(value).__name__}, expected a string", where)
    value = str(value)
    if not value.strip():
        raise _error(name, f"the {what} field {key!r} is empty", where)
    return value


def _pair(record, name: str, where, text_field: str, label_field: str):
    if not isinstance(record, dict):
        raise _error(name, f"expected a JSON object with {text_field!r} and {label_field!r}, "
                               f"got {type(record).__name__}", where)
    text = _field(record, text_field, name, where, "text", "--text-field")
    return _field(record, label_field, name, where, "label", "--label-field"), text, where


def _csv_rows(text: str, name: str, text_field: str, label_field: str):
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise InputError(name, f"malformed CSV header ({exc})", 1) from None
    for key, option in ((text_field, "--text-field"), (label_field, "--label-field")):
        if key not in header:
            raise InputError(name, f"no column {key!r} in the header ({', '.join(header)}); pick one with {option}",
                             1)
    try:
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            where = reader.line_num
            if len(row) != len(header):
                raise InputError(name, f"{len(row)} fields but the header has {len(header)}; quote fields that "
                                       "hold commas", where)
            yield _pair(dict(zip(header, row)), name, where, text_field, label_field)
    except csv.Error as exc:
        raise InputError(name, f"malformed CSV ({exc}); quote fields that hold commas or quotes",
                         reader.line_num) from None


def _jsonl_rows(text: str, name: str, text_field: str, label_field: str):
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(name, f"not valid JSON ({exc.msg}, column {exc.colno}); one object a line", number) \
                from None
        yield _pair(record, name, number, text_field, label_field)


def _json_rows(text: str, name: str, text_field: str, label_field: str):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(name, f"not valid JSON ({exc.msg}, column {exc.colno})", exc.lineno) from None
    if not isinstance(data, list):
        raise InputError(name, "expected a JSON list of records (for one record a line use .jsonl)")
    for number, record in enumerate(data, start=1):
        yield _pair(record, name, f"record {number}", text_field, label_field)


def _parquet_rows(source, name: str, text_field: str, label_field: str):
    import pyarrow  # deferred: pyarrow costs ~0.3 s to import and only Parquet needs it
    import pyarrow.parquet as pq  # deferred: pyarrow only for parquet input

    if str(source) == "-":
        data = pyarrow.BufferReader(sys.stdin.buffer.read())
    else:
        path = Path(source)
        if not path.exists():
            raise InputError(name, "no such file")
        data = path
    try:
        table = pq.read_table(data)
    except (pyarrow.ArrowException, OSError) as exc:
        raise InputError(name, f"not a readable Parquet file ({str(exc).splitlines()[0][:200]})") from None
    for key, option in ((text_field, "--text-field"), (label_field, "--label-field")):
        if key not in table.column_names:
            raise InputError(name, f"no column {key!r} (columns: {', '.join(table.column_names)}); pick one "
                                   f"with {option}")
    texts = table.column(text_field).to_pylist()
    labels = table.column(label_field).to_pylist()
    for number, (t, y) in enumerate(zip(texts, labels), start=1):
        yield _pair({label_field: y, text_field: t}, name, f"record {number}", text_field, label_field)


__all__ = ["EXTENSIONS", "FORMATS", "Example", "Examples", "as_examples", "clean_text", "format_of", "read_examples", "read_records"]
