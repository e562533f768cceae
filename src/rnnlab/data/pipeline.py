"""The text pipeline: how one run turns text into ids and ids into labels.

A :class:`TextPipeline` holds the tokenizer settings, the vocabulary,
``max_length`` and the :class:`~rnnlab.data.task.Task` (labels). Training,
evaluation, prediction and the inspection tools all encode through it, so a run
is always read the way it was trained. It is saved with every run
(``config.json`` keeps :meth:`to_dict`; the vocabulary has its own file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from rnnlab.data.task import Task
from rnnlab.data.tokenize import Tokenizer, tokenize_cached


@dataclass(frozen=True)
class TextPipeline:
    """Tokenizer + vocabulary + ``max_length`` + task."""

    vocab: object
    task: Task
    max_length: int | None = None
    tokenizer: Tokenizer = field(default_factory=Tokenizer)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.task.labels

    def truncate(self, seq):
        """The first ``max_length`` items of ``seq`` (all when ``max_length`` is None).

        The ONE place where texts are cut; everything that encodes calls it.
        """
        return seq if self.max_length is None else seq[: self.max_length]

    def tokens(self, text: str) -> list[str]:
        """The tokens the model sees, already truncated."""
        return self.truncate(self.tokenizer(text))

    def ids(self, tokens: Sequence[str]) -> np.ndarray:
        """Token strings -> truncated int64 ids; an empty text becomes ``[<unk>]`` (every model needs one step)."""
        ids = self.truncate(self.vocab.lookup_indices(list(tokens)))
        return self._nonempty(np.asarray(ids, dtype=np.int64))

    def encode(self, text: str) -> list[int]:
        return self.ids(self.tokenizer(text)).tolist()

    def encode_batch(self, texts: Sequence[str], *, progress: bool = False, cache_root=None) -> list[np.ndarray]:
        """Many texts -> truncated id arrays, tokenized through the cache (fast for thousands of texts)."""
        corpus, _ = tokenize_cached(list(texts), self.tokenizer, cache_root=cache_root, progress=progress)
        return self.encode_corpus(corpus)

    def encode_corpus(self, corpus) -> list[np.ndarray]:
        """A tokenized corpus (:class:`~rnnlab.data.tokenize.TokenizedCorpus`) -> truncated id arrays."""
        return [self._nonempty(self.truncate(a)) for a in corpus.encode(self.vocab)]

    def was_cut(self, text: str) -> bool:
        """Whether ``text`` has more than ``max_length`` tokens."""
        return self.max_length is not None and len(self.tokenizer(text)) > self.max_length

    def _nonempty(self, ids: np.ndarray) -> np.ndarray:
        return ids if len(ids) else np.asarray([self.vocab.unk_index], dtype=np.int64)

    def to_dict(self) -> dict:
        """Everything but the vocabulary (saved in its own file)."""
        return {"tokenizer": {"lowercase": self.tokenizer.lowercase, "drop_space": self.tokenizer.drop_space},
                "max_length": self.max_length, "labels": list(self.labels)}

    @classmethod
    def from_dict(cls, d: dict, vocab) -> "TextPipeline":
        return cls(vocab, Task(tuple(d["labels"])), d.get("max_length"), Tokenizer(**d.get("tokenizer", {})))


__all__ = ["TextPipeline"]
