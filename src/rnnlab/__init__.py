"""rnnlab: train, compare and look inside recurrent and bag-of-embeddings text classifiers.

The public, notebook-facing API keeps the names of the classic teaching code; the
model classes come from :mod:`rnnlab.classic` (notebook inputs, a loss on probabilities),
which also holds the classic ``train``/``test`` loop and the Activity 1.2 helpers.
Heavy imports (torch, spaCy) are deferred so that ``import rnnlab`` stays cheap;
attributes are resolved lazily on first access.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "RnnlabError": "rnnlab.errors",
    "TSVDataset": "rnnlab.data.tsv",
    "read_tsv": "rnnlab.data.tsv",
    "Vocab": "rnnlab.data.vocab",
    "build_vocab": "rnnlab.data.vocab",
    "Tokenizer": "rnnlab.data.tokenize",
    "tokenize": "rnnlab.data.tokenize",
    "load_glove": "rnnlab.embeddings",
    "load_vectors": "rnnlab.embeddings",
    "embedding_matrix": "rnnlab.embeddings",
    "BagOfEmbeddingsBinaryClassifier": "rnnlab.classic",
    "RNNClassifier": "rnnlab.classic",
    "LSTMClassifier": "rnnlab.classic",
    "GRUClassifier": "rnnlab.classic",
    "collate_batch_boe": "rnnlab.classic",
    "collate_batch_rnn": "rnnlab.classic",
    "collate_batch_rnn_newwords": "rnnlab.classic",
    "newword_similarities": "rnnlab.classic",
    "view_untrained_gradients": "rnnlab.classic",
    "collate_boe": "rnnlab.data.batching",
    "collate_padded": "rnnlab.data.batching",
    "make_collate_fn": "rnnlab.data.batching",
    "train": "rnnlab.training",
    "test": "rnnlab.training",
    "predict_multiple": "rnnlab.inspect",
    "display_weights": "rnnlab.inspect",
    "load_run": "rnnlab.runs",
    "Run": "rnnlab.runs",
    "Predictions": "rnnlab.runs",
    "ModelConfig": "rnnlab.config",
    "TrainConfig": "rnnlab.config",
    "PRESETS": "rnnlab.presets",
    "get_preset": "rnnlab.presets",
    "fit": "rnnlab.training",
    "export_run": "rnnlab.export",
    "save_run": "rnnlab.runs",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __dir__() -> list[str]:
    """The public names (tab completion in notebooks), although they load on first use."""
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")
