"""Named data sources: a TSV path, or ``imdb:train`` / ``imdb:test`` (imported on first use)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from rnnlab.data.tsv import DEFAULT_LABELS, Example, read_tsv


def resolve_source(spec: str | Path) -> Path:
    """The TSV file behind ``spec``."""
    s = str(spec)
    if s in ("imdb", "imdb:train", "imdb:test"):
        from rnnlab.data.imdb import import_imdb

        splits = import_imdb(progress=True)
        return splits.test if s == "imdb:test" else splits.train
    return Path(spec)


def load_examples(spec: str | Path, labels: Sequence[str] = DEFAULT_LABELS, clean: bool = True) -> list[Example]:
    return read_tsv(resolve_source(spec), labels=labels, clean=clean)
