"""The Large Movie Review Dataset (Maas et al., 2011): download and import.

The archive comes from an explicit path, else ``$RNNLAB_IMDB_ARCHIVE``, else a
download from the official URL (resumable, with a progress bar and a SHA-256
check of the official file). Import writes ``train.tsv`` and ``test.tsv`` into
the cache; both the download and the import go through temporary names that are
renamed into place only when complete, so an interrupted run never leaves an
entry that later looks complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rnnlab.data.limits import ARCHIVE_ENV as LIMIT_ARCHIVE_ENV
from rnnlab.data.limits import TEXT_ENV, max_archive_bytes, max_text_bytes
from rnnlab.errors import InputError, RnnlabError
from rnnlab.progress import progress_bar
from rnnlab.paths import cache_dir

OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
OFFICIAL_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
OFFICIAL_SIZE = 84125825
ARCHIVE_ENV = "RNNLAB_IMDB_ARCHIVE"
LABELS = ("neg", "pos")  # the archive's folder names (aclImdb/*/neg, */pos), not a task
_MEMBER = re.compile(r"^(?:\./)?aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


@dataclass(frozen=True)
class ImdbSplits:
    """Where an imported dataset lives, with its counts."""

    root: Path
    counts: dict  # {"train": {"pos": n, "neg": n}, "test": {...}}
    archive_sha256: str
    reused: bool = False

    @property
    def train(self) -> Path:
        return self.root / "train.tsv"

    @property
    def test(self) -> Path:
        return self.root / "test.tsv"

    def total(self, split: str) -> int:
        return sum(self.counts[split].values())


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: Path, sha256: str | None = None, progress: bool = True,
             timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest``, resuming a previous ``dest.part`` when the server allows.

    The file reaches ``dest`` only after it is complete and (when ``sha256`` is
    given) verified; a mismatch deletes the partial file so the next try restarts.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "rnnlab"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the part is already whole (or larger than the file): restart
            part.unlink()
            return download(url, dest, sha256, progress, timeout)
        raise RnnlabError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise RnnlabError(f"download of {url} failed: {getattr(exc, 'reason', exc)}; "
                          f"pass --archive PATH (or set {ARCHIVE_ENV}) to use a local copy") from None
    with response:
        resumed = have and response.status == 206
        if not resumed:
            have = 0  # the server ignored the range: start over
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        with open(part, "ab" if resumed else "wb") as f, \
                progress_bar("downloading", total=total, unit="bytes", enabled=progress) as advance:
            advance(have)
            try:
                while block := response.read(1 << 16):
                    f.write(block)
                    advance(len(block))
            except (OSError, urllib.error.URLError) as exc:
                raise RnnlabError(f"download of {url} broke off ({exc}); run again to resume") from None
    if total is not None and part.stat().st_size != total:
        raise RnnlabError(f"download of {url} is incomplete ({part.stat().st_size} of {total} bytes); "
                          "run again to resume")
    if sha256 is not None:
        got = sha256_file(part)
        if got != sha256:
            part.unlink()
            raise RnnlabError(f"download of {url} failed its integrity check (SHA-256 {got}, expected {sha256}); "
                              "the partial file was removed, run again to restart")
    os.replace(part, dest)
    return dest


def resolve_archive(archive: str | Path | None = None, url: str = OFFICIAL_URL, sha256: str | None = None,
                    cache_root: Path | None = None, progress: bool = True) -> Path:
    """The archive to import: ``archive``, else ``$RNNLAB_IMDB_ARCHIVE``, else a (cached) download."""
    chosen = archive or os.environ.get(ARCHIVE_ENV)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.exists():
            src = "--archive" if archive else ARCHIVE_ENV
            raise InputError(path, f"no such archive (given by {src})")
        if not path.is_file():
            src = "--archive" if archive else ARCHIVE_ENV
            raise InputError(path, f"is a directory, not an archive (given by {src}); give the aclImdb_v1.tar.gz file")
        return path
    if sha256 is None and url == OFFICIAL_URL:
        sha256 = OFFICIAL_SHA256
    dest = (cache_root or cache_dir()) / "downloads" / Path(url.split("?")[0]).name
    if dest.exists():
        return dest
    return download(url, dest, sha256=sha256, progress=progress)


def import_imdb(archive: str | Path | None = None, *, cache_root: str | Path | None = None,
                url: str = OFFICIAL_URL, sha256: str | None = None, progress: bool = True,
                force: bool = False, log: Callable[[str], None] = lambda s: None) -> ImdbSplits:
    """Import the labelled reviews of an aclImdb archive as ``train.tsv`` / ``test.tsv`` in the cache."""
    root_cache = Path(cache_root) if cache_root is not None else cache_dir()
    path = resolve_archive(archive, url=url, sha256=sha256, cache_root=root_cache, progress=progress)
    digest = sha256_file(path)
    target = root_cache / "imdb" / digest[:16]
    manifest = target / "MANIFEST.json"
    if manifest.exists() and not force:
        try:
            data = json.loads(manifest.read_text())
            if (target / "train.tsv").exists() and (target / "test.tsv").exists():
                return ImdbSplits(target, data["counts"], digest, reused=True)
        except (json.JSONDecodeError, KeyError):
            pass  # damaged: import again
    log(f"importing {path}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    try:
        counts = _extract(path, tmp, progress)
        for split in ("train", "test"):
            if sum(counts[split].values()) == 0:
                raise InputError(path, f"no {split} reviews found (expected aclImdb/{split}/pos|neg/*.txt)")
        (tmp / "MANIFEST.json").write_text(json.dumps({"archive": str(path), "sha256": digest, "counts": counts}))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ImdbSplits(target, counts, digest)


def _extract(archive: Path, out: Path, progress: bool) -> dict:
    """Stream the archive once; keep train|test / pos|neg reviews, skip everything else."""
    rows: dict[str, list[tuple[str, int, str]]] = {"train": [], "test": []}
    text_cap, total_cap, total = max_text_bytes(), max_archive_bytes(), 0
    try:
        with tarfile.open(archive, "r:*") as tar, \
                progress_bar("importing", total=50000, unit="reviews", enabled=progress) as advance:
            for member in tar:
                m = _MEMBER.match(member.name)
                if not m or not member.isfile():
                    continue  # README, imdb.vocab, train/unsup, *.feat, urls_*.txt ...
                split, label, rid, _rating = m.groups()
                if member.size > text_cap:  # checked before reading: a compression bomb is never inflated
                    raise InputError(f"{archive}:{member.name}", f"review of {member.size:,} bytes exceeds the "
                                     f"limit of {text_cap:,} (raise ${TEXT_ENV} if it is genuine)")
                total += member.size
                if total > total_cap:
                    raise InputError(archive, f"reviews exceed {total_cap:,} bytes uncompressed; refusing to read "
                                              f"more (raise ${LIMIT_ARCHIVE_ENV} if the archive is genuine)")
                raw = tar.extractfile(member).read(text_cap + 1)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InputError(f"{archive}:{member.name}", f"invalid UTF-8 at byte {exc.start}") from None
                text = text.replace("\r", " ").replace("\n", " ").strip()
                if text:
                    rows[split].append((label, int(rid), text))
                advance(1)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise InputError(archive, f"not a readable aclImdb tar.gz archive ({exc.__class__.__name__}: {exc}); "
                                  "it may be truncated: remove it and download again") from None
    counts = {}
    for split, items in rows.items():
        items.sort(key=lambda r: (r[0], r[1]))  # deterministic order: neg then pos, by review id
        with open(out / f"{split}.tsv", "w", encoding="utf-8", newline="\n") as f:
            for label, _, text in items:
                f.write(f"{label}\t{text}\n")
        counts[split] = {lab: sum(1 for r in items if r[0] == lab) for lab in LABELS}
    return counts
