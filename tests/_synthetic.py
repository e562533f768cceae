"""A small synthetic sentiment task (no tokenizer, no GloVe) for training-loop tests."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch


def synthetic_prepared(n_train: int = 64, n_valid: int = 32, seed: int = 0, vocab_size: int = 40, dim: int = 8):
    """Texts of random length over ``vocab_size`` words; words 2-9 push positive, 10-17 negative."""
    from rnnlab.data.batching import EncodedDataset
    from rnnlab.data.vocab import Vocab
    from rnnlab.training import Prepared

    rng = np.random.default_rng(seed)
    vocab = Vocab(["<unk>", "<pad>"] + [f"w{i}" for i in range(vocab_size - 2)])

    def make(n):
        ids, labels = [], []
        for _ in range(n):
            y = int(rng.integers(0, 2))
            t = rng.integers(18, vocab_size, size=int(rng.integers(3, 15)))
            cue = rng.integers(2, 10, size=2) if y else rng.integers(10, 18, size=2)
            t[rng.integers(0, len(t), size=2)] = cue
            ids.append(t.astype(np.int64))
            labels.append(y)
        return EncodedDataset(ids, labels)

    emb = torch.from_numpy(rng.standard_normal((vocab_size, dim)).astype(np.float32))
    coverage = SimpleNamespace(vocab_share=1.0, token_share=1.0)
    return Prepared(vocab, emb, coverage, make(n_train), make(n_valid) if n_valid else None, ["neg", "pos"])
