"""Model families and :func:`build_model`, the one place a config becomes a module."""

from __future__ import annotations

import torch

from rnnlab.config import ModelConfig
from rnnlab.models.boe import BagOfEmbeddingsBinaryClassifier
from rnnlab.models.recurrent import CELLS, GRUClassifier, LSTMClassifier, RecurrentClassifier, RNNClassifier

__all__ = ["build_model", "BagOfEmbeddingsBinaryClassifier", "RecurrentClassifier", "RNNClassifier",
           "LSTMClassifier", "GRUClassifier", "CELLS", "config_of"]


def build_model(config: ModelConfig, vocab, embeddings: torch.Tensor | None = None):
    """The model ``config`` describes; ``embeddings`` (V, E) defaults to zeros (weights loaded later)."""
    if embeddings is None:
        embeddings = torch.zeros(config.vocab_size or len(vocab), config.embedding_dim)
    if config.model == "boe":
        return BagOfEmbeddingsBinaryClassifier(vocab, embeddings, config.hidden_dim,
                                               config.freeze_embeddings, config.dropout, config.num_classes)
    return RecurrentClassifier(vocab, embeddings, config.recurrent_dim, config.hidden_dim,
                               config.freeze_embeddings, config.model, config.activation,
                               config.layers, config.bidirectional, config.dropout, config.pooling,
                               config.num_classes)


def config_of(model) -> ModelConfig:
    """The :class:`ModelConfig` of a model built directly (notebook API), for saving it as a run."""
    V, E = model.embedding.weight.shape
    frozen = not model.embedding.weight.requires_grad
    dropout = model.dropout.p
    if isinstance(model, BagOfEmbeddingsBinaryClassifier):
        return ModelConfig(model="boe", vocab_size=V, embedding_dim=E, hidden_dim=model.hidden.out_features,
                           freeze_embeddings=frozen, dropout=dropout, num_classes=getattr(model, "num_classes", 2))
    rnn = model.rnn
    return ModelConfig(model=model.cell, vocab_size=V, embedding_dim=E, hidden_dim=model.hidden.out_features,
                       recurrent_dim=rnn.hidden_size, activation=getattr(rnn, "nonlinearity", "tanh"),
                       layers=rnn.num_layers, bidirectional=rnn.bidirectional, freeze_embeddings=frozen,
                       dropout=dropout, pooling=getattr(model, "pooling", "final"),
                       num_classes=getattr(model, "num_classes", 2))
