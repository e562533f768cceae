"""sample:train / sample:test and the reuse of a cached IMDB import (a synthetic import in a temp cache)."""

from __future__ import annotations

import json

import pytest

from rnnlab.data import sources
from rnnlab.errors import RnnlabError


def _fake_import(cache, digest="abcdef0123456789", n=3000):
    root = cache / "imdb" / digest
    root.mkdir(parents=True)
    for split in ("train", "test"):
        # a review text with a Unicode line separator must not split a line
        lines = [f"{'pos' if i % 3 else 'neg'}\treview {split} {i}\u2028more" for i in range(n)]
        (root / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "MANIFEST.json").write_text(json.dumps({"sha256": digest, "counts": {"train": {}, "test": {}}}))
    return root


def test_sample_is_balanced_deterministic_and_named(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_CACHE", str(tmp_path))
    monkeypatch.delenv("RNNLAB_IMDB_ARCHIVE", raising=False)
    with pytest.raises(RnnlabError, match="rnnlab data imdb"):
        sources.resolve_source("sample:train")
    _fake_import(tmp_path)
    train = sources.resolve_source("sample:train")
    test = sources.resolve_source("sample:test")
    assert tmp_path in train.parents and train.name == "train.tsv" and test.name == "test.tsv"
    rows = train.read_text(encoding="utf-8").split("\n")[:-1]
    assert len(rows) == 2000 and sum(r.startswith("pos\t") for r in rows) == 1000
    assert len(test.read_text(encoding="utf-8").split("\n")[:-1]) == 1000
    first = train.read_bytes()
    again = sources.sample_splits(force=True)
    assert not again.reused and again.path("train").read_bytes() == first   # same draw every time
    assert sources.sample_splits().reused


def test_imdb_names_reuse_a_complete_cached_import(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_CACHE", str(tmp_path))
    monkeypatch.delenv("RNNLAB_IMDB_ARCHIVE", raising=False)

    def no_download(*a, **k):
        raise AssertionError("tried to import/download although the cache holds an import")

    monkeypatch.setattr("rnnlab.data.imdb.import_imdb", no_download)
    root = _fake_import(tmp_path)
    assert sources.resolve_source("imdb:test") == root / "test.tsv"
    assert sources.resolve_source("imdb:train") == root / "train.tsv"
    (root / "test.tsv").unlink()  # incomplete: not reused
    assert sources.cached_imdb(tmp_path) is None
