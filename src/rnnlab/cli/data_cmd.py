"""``rnnlab data imdb``: import the Large Movie Review Dataset archive."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console

# rnnlab.data.imdb (tarfile, urllib, hashlib: ~0.2 s) loads only when a data command runs
OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"

data_app = typer.Typer(help="Import datasets into the cache.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def run_imdb(*, archive: Path | None = None, cache: Path | None = None, url: str = OFFICIAL_URL,
             sha256: str | None = None, force: bool = False):
    from rnnlab.data.imdb import import_imdb

    splits = import_imdb(archive, cache_root=cache, url=url, sha256=sha256, force=force, log=console.print)
    verb = "already imported" if splits.reused else "imported"
    for split in ("train", "test"):
        c = splits.counts[split]
        console.print(f"{split}: {splits.total(split):,} reviews ({c['pos']:,} pos, {c['neg']:,} neg) "
                      f"-> {splits.root / (split + '.tsv')}")
    console.print(f"{verb}: {splits.total('train'):,}/{splits.total('test'):,} train/test reviews")
    return splits


@data_app.command("imdb")
def imdb(
    archive: Optional[Path] = typer.Option(None, help="Local aclImdb_v1.tar.gz; default $RNNLAB_IMDB_ARCHIVE, "
                                           "else download from the official URL."),
    cache: Optional[Path] = typer.Option(None, help="Cache root (default $RNNLAB_CACHE or the user cache dir)."),
    url: str = typer.Option(OFFICIAL_URL, help="Where to download from when no archive is given."),
    sha256: Optional[str] = typer.Option(None, help="Expected SHA-256 of the download (default: the official file's)."),
    force: bool = typer.Option(False, help="Import again even if the cache holds this archive."),
) -> None:
    """Import the IMDB reviews (train/test, pos/neg) as TSV files in the cache and report counts."""
    run_imdb(archive=archive, cache=cache, url=url, sha256=sha256, force=force)


def run_sample(*, cache: Path | None = None, force: bool = False):
    from rnnlab.data.sources import sample_splits

    sample = sample_splits(cache_root=cache, force=force)
    for split in ("train", "test"):
        c = sample.counts[split]
        console.print(f"{split}: {sum(c.values()):,} reviews ({c.get('pos', 0):,} pos, {c.get('neg', 0):,} neg) "
                      f"-> {sample.path(split)}")
    verb = "already drawn" if sample.reused else "drawn"
    console.print(f"{verb} from {sample.source}; use it as sample:train / sample:test")
    return sample


@data_app.command("sample")
def sample(
    cache: Optional[Path] = typer.Option(None, help="Cache root (default $RNNLAB_CACHE or the user cache dir)."),
    force: bool = typer.Option(False, help="Draw again even if the cache holds the sample."),
) -> None:
    """Draw a balanced 2,000 / 1,000 train/test sample of the imported IMDB reviews (fixed seed) into the cache."""
    run_sample(cache=cache, force=force)
