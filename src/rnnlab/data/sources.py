"""Named data sources: the one place that maps a data name to a file.

- a path: the data file itself (any format :func:`rnnlab.data.readers.read_examples` reads), or ``-``
  for standard input;
- ``imdb:train`` / ``imdb:test``: the IMDB import in the cache (a complete import already
  there is reused; otherwise the archive is imported from ``$RNNLAB_IMDB_ARCHIVE`` or downloaded);
- ``sample:train`` / ``sample:test``: the deterministic 2,000 / 1,000 balanced sample of that
  import (``rnnlab data sample``; drawn on first use when an import is in the cache).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from rnnlab.errors import RnnlabError

IMDB_NAMES = ("imdb", "imdb:train", "imdb:test")
SAMPLE_NAMES = ("sample", "sample:train", "sample:test")


def cached_imdb(cache_root: Path | None = None):
    """The complete IMDB import in the cache (the official archive's first, else the newest), or None."""
    from rnnlab.data.imdb import OFFICIAL_SHA256, ImdbSplits  # deferred: sources is imported by the CLI; keeps help/version light
    from rnnlab.paths import cache_dir  # deferred: sources is imported by the CLI; keeps help/version light

    root = Path(cache_root) if cache_root is not None else cache_dir()
    found = []
    for manifest in (root / "imdb").glob("*/MANIFEST.json"):
        target = manifest.parent
        if not ((target / "train.tsv").exists() and (target / "test.tsv").exists()):
            continue
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            counts = data["counts"]
        except (OSError, json.JSONDecodeError, KeyError):
            continue
        digest = data.get("sha256", "")
        found.append((digest == OFFICIAL_SHA256, manifest.stat().st_mtime,
                      ImdbSplits(target, counts, digest, reused=True)))
    if not found:
        return None
    return max(found, key=lambda t: (t[0], t[1]))[2]


def imdb_splits(progress: bool = True, cache_root: Path | None = None):
    """The IMDB import: an explicit ``$RNNLAB_IMDB_ARCHIVE`` wins, else a complete import in the cache,
    else import (downloading when needed)."""
    from rnnlab.data.imdb import ARCHIVE_ENV, import_imdb  # deferred: sources is imported by the CLI; keeps help/version light

    if not os.environ.get(ARCHIVE_ENV):
        splits = cached_imdb(cache_root)
        if splits is not None:
            return splits
    return import_imdb(cache_root=cache_root, progress=progress)


def sample_splits(cache_root: Path | None = None, force: bool = False):
    """The balanced sample of the cached IMDB import (drawn now if missing)."""
    from rnnlab.data.sample import make_sample  # deferred: sources is imported by the CLI; keeps help/version light
    from rnnlab.paths import cache_dir  # deferred: sources is imported by the CLI; keeps help/version light

    root = Path(cache_root) if cache_root is not None else cache_dir()
    splits = cached_imdb(root)
    if splits is None:
        raise RnnlabError("sample data needs the IMDB reviews in the cache: run "
                          "`rnnlab data imdb --archive PATH` (or without --archive to download), "
                          "then `rnnlab data sample`")
    return make_sample(splits.root, root, force=force)

def resolve_source(spec: str | Path) -> Path | str:
    """The file behind ``spec`` (``-`` stays ``-``)."""
    s = str(spec)
    if s in IMDB_NAMES:
        splits = imdb_splits(progress=True)
        return splits.test if s == "imdb:test" else splits.train
    if s in SAMPLE_NAMES:
        return sample_splits().path("test" if s == "sample:test" else "train")
    return s if s == "-" else Path(spec)


def load_examples(spec: str | Path, labels: Sequence[str] | None = None, clean: bool = True, **options):
    """:func:`~rnnlab.data.readers.read_examples` under its older name (``options``: format, fields)."""
    from rnnlab.data.readers import read_examples  # deferred: circular (readers -> sources)

    return read_examples(spec, labels=labels, clean=clean, **options)
