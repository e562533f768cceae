"""A deterministic, balanced sample of the imported IMDB reviews, kept in the cache.

``rnnlab data sample`` (or the first use of ``sample:train`` / ``sample:test``) draws
1,000 positive and 1,000 negative training reviews and 500 + 500 test reviews with a
fixed seed from an IMDB import in the cache, so every machine that imported the same
archive gets the same 2,000 / 1,000 reviews without shipping any data.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rnnlab.errors import RnnlabError
import shutil

TRAIN_SIZE = 2000
TEST_SIZE = 1000
SEED = 11
SPLITS = ("train", "test")


@dataclass(frozen=True)
class Sample:
    root: Path
    counts: dict          # {"train": {"neg": n, "pos": n}, "test": {...}}
    source: Path          # the IMDB import it was drawn from
    reused: bool = False

    def path(self, split: str) -> Path:
        return self.root / f"{split}.tsv"


def _draw(lines: list[str], n: int, rng: random.Random) -> list[str]:
    """``n`` lines, half of each label (in file order within a label, then interleaved by the rng)."""
    by_label: dict[str, list[str]] = {}
    for line in lines:
        by_label.setdefault(line.split("\t", 1)[0], []).append(line)
    labels = sorted(by_label)
    per = n // len(labels)
    short = [lab for lab in labels if len(by_label[lab]) < per]
    if short:
        raise RnnlabError(f"the IMDB import has too few {short[0]!r} reviews for a sample of {n}")
    chosen = [line for lab in labels for line in rng.sample(by_label[lab], per)]
    rng.shuffle(chosen)
    return chosen


def make_sample(imdb_root: Path, cache_root: Path, *, train_size: int = TRAIN_SIZE, test_size: int = TEST_SIZE,
                seed: int = SEED, force: bool = False) -> Sample:
    """Draw (or reuse) the sample of the import in ``imdb_root``; written atomically into the cache."""
    name = f"{imdb_root.name}-{train_size}-{test_size}-s{seed}"
    target = cache_root / "samples" / name
    manifest = target / "MANIFEST.json"
    if manifest.exists() and not force:
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            if all((target / f"{s}.tsv").exists() for s in SPLITS):
                return Sample(target, data["counts"], imdb_root, reused=True)
        except (json.JSONDecodeError, KeyError):
            pass  # damaged: draw again
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    try:
        counts = {}
        for split, n in (("train", train_size), ("test", test_size)):
            # split on "\n" only: review texts may hold other Unicode line separators
            lines = [l for l in (imdb_root / f"{split}.tsv").read_text(encoding="utf-8").split("\n") if l]
            chosen = _draw(lines, n, random.Random(f"{seed}-{split}"))
            (tmp / f"{split}.tsv").write_text("\n".join(chosen) + "\n", encoding="utf-8")
            counts[split] = {lab: sum(1 for l in chosen if l.startswith(lab + "\t"))
                             for lab in sorted({l.split("\t", 1)[0] for l in chosen})}
        (tmp / "MANIFEST.json").write_text(json.dumps({"imdb": str(imdb_root), "seed": seed, "counts": counts}),
                                           encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return Sample(target, counts, imdb_root)


__all__ = ["Sample", "make_sample", "TRAIN_SIZE", "TEST_SIZE", "SEED"]
