"""Batches for both model families.

A batch is ``(labels, text, extra)``, as in the classic teaching code:
- bag-of-embeddings: ``text`` is every id of the batch in one flat tensor and
  ``extra`` the offset where each text starts (``EmbeddingBag``'s input);
- recurrent: ``text`` is a (B, T) tensor padded with ``<pad>`` and ``extra`` the
  true lengths (the model packs them).

Two routes lead to a batch: collate functions bound to a vocabulary and a
tokenizer, which take raw ``(label, text)`` items and tokenize on the fly (the
notebook route), and the fast route, where every text is tokenized once
(cached), encoded as an id array, and batched by :class:`BucketBatchSampler`.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Sequence

import numpy as np
import torch

from rnnlab.data.task import binary_task, Task
from rnnlab.data.pipeline import TextPipeline
from rnnlab.data.tokenize import Tokenizer

DEFAULT_LABELS = binary_task().labels
FAMILIES = ("boe", "recurrent")


def family_of(model_type: str) -> str:
    return "boe" if model_type == "boe" else "recurrent"


def _as_tensor(ids) -> torch.Tensor:
    return torch.as_tensor(np.asarray(ids, dtype=np.int64))


def collate_encoded_boe(batch: Sequence[tuple[np.ndarray, int]]):
    """``[(ids, label), ...]`` -> ``(labels (B,), flat ids (N,), offsets (B,))``."""
    lengths = [len(ids) for ids, _ in batch]
    text = _as_tensor(np.concatenate([ids for ids, _ in batch]))
    offsets = torch.tensor([0] + lengths[:-1], dtype=torch.int64).cumsum(0)
    labels = torch.tensor([label for _, label in batch], dtype=torch.float32)
    return labels, text, offsets


def collate_encoded_padded(batch: Sequence[tuple[np.ndarray, int]], pad_index: int = 1):
    """``[(ids, label), ...]`` -> ``(labels (B,), padded ids (B, T), lengths (B,))``."""
    lengths = torch.tensor([len(ids) for ids, _ in batch], dtype=torch.int64)
    padded = torch.full((len(batch), int(lengths.max())), pad_index, dtype=torch.int64)
    for i, (ids, _) in enumerate(batch):
        padded[i, : len(ids)] = _as_tensor(ids)
    labels = torch.tensor([label for _, label in batch], dtype=torch.float32)
    return labels, padded, lengths


def encoded_collate(family: str, pad_index: int = 1) -> Callable:
    if family == "boe":
        return collate_encoded_boe
    if family == "recurrent":
        return partial(collate_encoded_padded, pad_index=pad_index)
    raise ValueError(f"unknown model family {family!r}; choose one of {', '.join(FAMILIES)}")


def _label_id(label, task) -> int:
    return task.index(label) if isinstance(label, str) else int(label)


def _collate_raw(batch, *, pipeline, family):
    encoded = [(pipeline.encode(text), _label_id(label, pipeline.task)) for label, text in batch]
    return encoded_collate(family, pipeline.vocab.pad_index)(encoded)


def make_collate_fn(family: str, vocab, tokenizer=None, labels: Sequence[str] = DEFAULT_LABELS,
                    max_length: int | None = None) -> Callable:
    """A collate function for raw ``(label, text)`` items, bound to a vocabulary and tokenizer.

    ``family`` is ``"boe"`` (flat ids + offsets) or ``"recurrent"`` (padded ids + lengths);
    model types (``"rnn"``, ``"lstm"``, ``"gru"``) are accepted too.
    """

    family = family if family in FAMILIES else family_of(family)
    pipeline = TextPipeline(vocab, Task(tuple(labels)), max_length, tokenizer or Tokenizer())
    return partial(_collate_raw, pipeline=pipeline, family=family)


def collate_boe(batch, vocab, tokenizer=None, labels: Sequence[str] = DEFAULT_LABELS, max_length=None):
    """Raw items -> bag-of-embeddings batch (see :func:`make_collate_fn`)."""
    return make_collate_fn("boe", vocab, tokenizer, labels, max_length)(batch)


def collate_padded(batch, vocab, tokenizer=None, labels: Sequence[str] = DEFAULT_LABELS, max_length=None):
    """Raw items -> recurrent batch (see :func:`make_collate_fn`)."""
    return make_collate_fn("recurrent", vocab, tokenizer, labels, max_length)(batch)


class EncodedDataset(torch.utils.data.Dataset):
    """Pre-encoded texts (already cut by :meth:`TextPipeline.truncate
    <rnnlab.data.pipeline.TextPipeline.truncate>`): item ``i`` is ``(ids[i], labels[i])``."""

    def __init__(self, ids: Sequence[np.ndarray], labels: Sequence[int]):
        if len(ids) != len(labels):
            raise ValueError(f"{len(ids)} texts but {len(labels)} labels")
        self.ids = list(ids)
        self.labels = [int(y) for y in labels]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int):
        return self.ids[i], self.labels[i]

    def lengths(self) -> np.ndarray:
        return np.fromiter((len(a) for a in self.ids), dtype=np.int64, count=len(self.ids))


class BucketBatchSampler(torch.utils.data.Sampler):
    """Shuffled batches of texts of similar length, so little work goes to padding.

    Each epoch: shuffle, cut into pools of ``pool_batches`` batches, sort each pool
    by length, cut into batches, shuffle the batches. ``bucket=False`` gives plain
    random batches. The order depends only on ``(seed, epoch)``, so runs repeat and
    a resumed run continues where it stopped.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True, bucket: bool = True,
                 seed: int = 1, pool_batches: int = 50, drop_last: bool = False):
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.bucket = bucket
        self.seed = seed
        self.pool = pool_batches * batch_size
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self, epoch: int) -> list[np.ndarray]:
        n = len(self.lengths)
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        if self.bucket:
            pools = [order[i:i + self.pool] for i in range(0, n, self.pool)]
            order = np.concatenate([p[np.argsort(self.lengths[p], kind="stable")] for p in pools]) if pools else order
        batches = [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if self.shuffle and self.bucket:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __iter__(self):
        batches = self.batches(self.epoch)
        self.epoch += 1
        for b in batches:
            yield b.tolist()

    def __len__(self) -> int:
        n = len(self.lengths)
        full = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return full


def make_loader(dataset: EncodedDataset, family: str, batch_size: int, shuffle: bool = True, bucket: bool = True,
                seed: int = 1, pad_index: int = 1) -> torch.utils.data.DataLoader:
    """A DataLoader over pre-encoded texts for one model family.

    Evaluation loaders (``shuffle=False``) draw from a generator of their own: a DataLoader
    draws a number from the global random generator each time it is iterated, so without
    one, measuring (a pass over the training data after each epoch) would change the
    dropout masks of the epochs after it, and with them the weights trained.
    """
    sampler = BucketBatchSampler(dataset.lengths(), batch_size, shuffle=shuffle,
                                 bucket=bucket and family == "recurrent",
                                 seed=seed)
    return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=encoded_collate(family, pad_index),
                                       generator=None if shuffle else torch.Generator())
