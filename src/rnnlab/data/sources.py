"""Named data sources: the one place that maps a data name to a file.

``imdb``/``imdb:train``/``imdb:test`` are imported on first use; anything else is
a path (or ``-``, standard input) that :func:`rnnlab.data.readers.read_examples` reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence


def resolve_source(spec: str | Path) -> Path | str:
    """The file behind ``spec`` (``-`` stays ``-``)."""
    s = str(spec)
    if s in ("imdb", "imdb:train", "imdb:test"):
        from rnnlab.data.imdb import import_imdb

        splits = import_imdb(progress=True)
        return splits.test if s == "imdb:test" else splits.train
    return s if s == "-" else Path(spec)


def load_examples(spec: str | Path, labels: Sequence[str] | None = None, clean: bool = True, **options):
    """:func:`~rnnlab.data.readers.read_examples` under its older name (``options``: format, fields)."""
    from rnnlab.data.readers import read_examples

    return read_examples(spec, labels=labels, clean=clean, **options)
