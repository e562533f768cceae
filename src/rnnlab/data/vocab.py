"""Vocabulary: ``<unk>`` (0) and ``<pad>`` (1) first, then tokens by descending frequency.

Ties are broken by first occurrence, so a vocabulary is a pure function of its
corpus (no set/dict-order nondeterminism).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

from rnnlab.errors import InputError

UNK, PAD = "<unk>", "<pad>"


class Vocab:
    """Token <-> index mapping; unknown tokens map to ``<unk>``."""

    def __init__(self, itos: Sequence[str]):
        if len(itos) < 2 or itos[0] != UNK or itos[1] != PAD:
            raise ValueError(f"a vocabulary starts with {UNK!r}, {PAD!r}; got {list(itos[:2])}")
        self.itos: list[str] = list(itos)
        self.stoi: dict[str, int] = {}
        for i, t in enumerate(self.itos):
            if t in self.stoi:
                raise ValueError(f"duplicate token {t!r} at index {i} (first at {self.stoi[t]})")
            self.stoi[t] = i

    unk_index = 0
    pad_index = 1

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.unk_index)

    def __call__(self, tokens: Iterable[str]) -> list[int]:
        """Indices of ``tokens`` (torchtext style: ``vocab(tokens)``)."""
        return self.lookup_indices(tokens)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, first={self.itos[:6]})"

    def lookup_indices(self, tokens: Iterable[str]) -> list[int]:
        get, unk = self.stoi.get, self.unk_index
        return [get(t, unk) for t in tokens]

    def lookup_tokens(self, indices: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in indices]

    def get_itos(self) -> list[str]:
        return list(self.itos)

    def get_stoi(self) -> dict[str, int]:
        return dict(self.stoi)

    def append_token(self, token: str) -> int:
        """Add ``token`` at the end (if new) and return its index."""
        if token not in self.stoi:
            self.stoi[token] = len(self.itos)
            self.itos.append(token)
        return self.stoi[token]

    # -- persistence -------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"format": "rnnlab-vocab", "version": 1, "itos": self.itos}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, source: str = "<string>") -> "Vocab":
        try:
            data = json.loads(text)
            itos = data["itos"] if isinstance(data, dict) else data
            if not isinstance(itos, list) or not all(isinstance(t, str) for t in itos):
                raise ValueError("'itos' must be a list of strings")
            return cls(itos)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(source, f"not a valid vocabulary file ({exc})") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        path = Path(path)
        if not path.exists():
            raise InputError(path, "no such vocabulary file")
        return cls.from_json(path.read_text(encoding="utf-8"), source=str(path))


def vocab_from_counts(
    tokens_in_first_occurrence_order: Sequence[str],
    counts: Sequence[int],
    min_freq: int = 1,
    max_size: int | None = None,
) -> Vocab:
    """Specials, then tokens with ``count >= min_freq`` by descending count (stable: ties keep order).

    ``max_size`` counts the specials too.
    """
    if min_freq < 1:
        raise ValueError(f"min_freq must be at least 1, got {min_freq}")
    order = sorted(
        (i for i, c in enumerate(counts) if c >= min_freq and tokens_in_first_occurrence_order[i] not in (UNK, PAD)),
        key=lambda i: -counts[i],
    )
    itos = [UNK, PAD] + [tokens_in_first_occurrence_order[i] for i in order]
    if max_size is not None:
        if max_size < 2:
            raise ValueError(f"max_size must leave room for the 2 specials, got {max_size}")
        itos = itos[:max_size]
    return Vocab(itos)


def build_vocab(token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None) -> Vocab:
    """A vocabulary from tokenized texts."""
    counter: Counter[str] = Counter()
    for tokens in token_lists:
        counter.update(tokens)  # Counter keeps first-insertion order
    words = list(counter)
    return vocab_from_counts(words, [counter[w] for w in words], min_freq, max_size)


def build_vocab_from_corpus(corpus, min_freq: int = 1, max_size: int | None = None) -> Vocab:
    """A vocabulary from a :class:`~rnnlab.data.tokenize.TokenizedCorpus` (fast: one bincount)."""
    return vocab_from_counts(corpus.table, corpus.counts().tolist(), min_freq, max_size)
