"""Shared fixtures: the sample data in ../shared/data and an isolated cache per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RNNLAB_SHARED_DATA", ROOT.parent / "shared" / "data"))
SAMPLE_TRAIN = SHARED / "imdb-sample" / "imdb-train.tsv"
SAMPLE_TEST = SHARED / "imdb-sample" / "imdb-test.tsv"
IMDB_ARCHIVE = SHARED / "aclImdb_v1.tar.gz"


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """Small models on a 2-core machine: one intra-op thread avoids OpenMP spin-wait stalls."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Every test session gets its own cache; the user's cache is never touched."""
    cache = tmp_path_factory.mktemp("rnnlab-cache")
    old = os.environ.get("RNNLAB_CACHE")
    os.environ["RNNLAB_CACHE"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("RNNLAB_CACHE", None)
    else:
        os.environ["RNNLAB_CACHE"] = old


@pytest.fixture(scope="session")
def sample_train() -> Path:
    if not SAMPLE_TRAIN.exists():
        pytest.skip(f"sample data missing: {SAMPLE_TRAIN}")
    return SAMPLE_TRAIN


@pytest.fixture(scope="session")
def sample_test() -> Path:
    if not SAMPLE_TEST.exists():
        pytest.skip(f"sample data missing: {SAMPLE_TEST}")
    return SAMPLE_TEST


@pytest.fixture(scope="session")
def imdb_archive() -> Path:
    if not IMDB_ARCHIVE.exists():
        pytest.skip(f"shared archive missing: {IMDB_ARCHIVE}")
    return IMDB_ARCHIVE


@pytest.fixture(scope="session")
def small_tsv(tmp_path_factory, sample_train) -> Path:
    """The first 200 sample reviews (100 pos / 100 neg or close), for quick end-to-end runs."""
    lines = sample_train.read_text(encoding="utf-8").splitlines()
    pos = [l for l in lines if l.startswith("pos\t")][:100]
    neg = [l for l in lines if l.startswith("neg\t")][:100]
    path = tmp_path_factory.mktemp("small") / "small.tsv"
    path.write_text("\n".join(p for pair in zip(pos, neg) for p in pair) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_vocab_and_vectors():
    """A vocabulary and random embeddings for model tests that need no data."""
    import torch

    from rnnlab.data.vocab import Vocab

    vocab = Vocab(["<unk>", "<pad>"] + [f"w{i}" for i in range(30)])
    g = torch.Generator().manual_seed(0)
    return vocab, torch.randn(len(vocab), 8, generator=g)


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory, small_tsv) -> dict:
    """Three tiny trained run directories on ``small_tsv``: ``lstm``, ``bigru`` (bidirectional GRU), ``boe``.

    Used by the trace and server tests; one shared vocabulary, a few seconds in all.
    """
    from rnnlab.config import ModelConfig, TrainConfig
    from rnnlab.data.tsv import read_tsv
    from rnnlab.training import fit, split_validation

    root = tmp_path_factory.mktemp("trained-runs")
    tr, va = split_validation(read_tsv(small_tsv), 0.2, seed=1)
    train_config = TrainConfig(optimizer="adam", lr=0.01, epochs=2, batch_size=16, max_length=200)
    configs = {"lstm": ModelConfig(model="lstm", recurrent_dim=8, hidden_dim=6),
               "bigru": ModelConfig(model="gru", recurrent_dim=6, hidden_dim=4, bidirectional=True),
               "boe": ModelConfig(model="boe", hidden_dim=8)}
    prepared, runs = None, {}
    for name, model_config in configs.items():
        _, _, prepared = fit(tr, va, model_config=model_config, train_config=train_config, out_dir=root / name,
                             prepared=prepared, log=lambda s: None, progress=False)
        runs[name] = root / name
    return runs
