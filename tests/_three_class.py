"""A three-class run (neg / neu / pos) built with the Python API, for trace, serve and probe tests.

Untrained weights made deterministic: the output layer is scaled so the three
classes get clearly different probabilities; no reader, tokenizer cache or GloVe.
"""

from __future__ import annotations

from pathlib import Path

import torch

from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.data.vocab import Vocab
from rnnlab.models import build_model
from rnnlab.runs import save_run

LABELS = ["neg", "neu", "pos"]
WORDS = "i loved it at first , but by the end hated . a dull and wonderful film okay fine".split()


def three_class_run(path: Path, model: str = "lstm", seed: int = 0, **kw) -> Path:
    vocab = Vocab(["<unk>", "<pad>"] + WORDS)
    g = torch.Generator().manual_seed(seed)
    vectors = torch.randn(len(vocab), 8, generator=g)
    torch.manual_seed(seed)
    config = ModelConfig(model=model, vocab_size=len(vocab), embedding_dim=8, recurrent_dim=6, hidden_dim=5,
                         num_classes=3, **kw)
    net = build_model(config, vocab, vectors).eval()
    with torch.no_grad():
        net.output.weight.mul_(4.0)
    metrics = [{"epoch": 1, "train": {"loss": 1.0, "acc": 0.5}, "valid": {"loss": 1.05, "acc": 0.4}},
               {"epoch": 2, "train": {"loss": 0.9, "acc": 0.6}, "valid": {"loss": 1.01, "acc": 0.45}}]
    return save_run(path, net, vocab, config, TrainConfig(max_length=50), LABELS,
                    meta={"best_epoch": 2}, metrics=metrics)
