"""Configuration: frozen dataclasses built at the edge (CLI, studies) and passed down.

Both are saved inside every run directory (``config.json``), so a run can be
rebuilt without the command line that made it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

MODEL_TYPES = ("boe", "rnn", "lstm", "gru")
ACTIVATIONS = ("tanh", "relu")
OPTIMIZERS = ("sgd", "adam")
POOLINGS = ("final", "final+max+mean")
LR_SCHEDULES = ("constant", "linear")
TRAIN_METRICS = ("full", "running")   # how the epoch table's train columns are measured
PRECISIONS = ("float32", "bfloat16", "auto")  # the CPU training passes' arithmetic (see rnnlab.training)


@dataclass(frozen=True)
class ModelConfig:
    """What to build. ``model`` is ``boe`` or a recurrent cell (``rnn``, ``lstm``, ``gru``)."""

    model: str = "rnn"
    vocab_size: int = 0
    embedding_dim: int = 50
    hidden_dim: int = 20             # the ReLU layer before the sigmoid output
    recurrent_dim: int = 50
    activation: str = "tanh"         # rnn cell only
    layers: int = 1
    bidirectional: bool = False
    freeze_embeddings: bool = True
    dropout: float = 0.0             # on the document embedding (and between stacked layers)
    pooling: str = "final"           # recurrent: final states only, or also max and mean over time
    num_classes: int = 2             # 2: one logit and a sigmoid (the classic shape); k > 2: k logits, softmax

    def __post_init__(self):
        if self.model not in MODEL_TYPES:
            raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(MODEL_TYPES)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose one of {', '.join(POOLINGS)}")
        for name in ("embedding_dim", "hidden_dim", "recurrent_dim", "layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {self.num_classes}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def recurrent(self) -> bool:
        return self.model != "boe"

    @property
    def num_outputs(self) -> int:
        """Width of the output layer: one logit for two classes, one per class otherwise."""
        return 1 if self.num_classes == 2 else self.num_classes


@dataclass(frozen=True)
class TrainConfig:
    """How to train."""

    optimizer: str = "sgd"
    lr: float = 0.01
    epochs: int = 10
    batch_size: int = 8
    print_every: int = 1
    seed: int = 1
    max_length: int | None = None    # keep the first max_length tokens of each text
    min_freq: int = 1
    max_vocab: int | None = None
    weight_decay: float = 0.0
    clip_grad: float | None = None
    bucket: bool = True              # group texts of similar length into batches (recurrent models)
    keep_best: bool = True           # keep the weights of the epoch with the lowest validation loss
    patience: int | None = None      # stop after this many epochs without a better validation loss
    lr_schedule: str = "constant"    # "linear": decay the learning rate linearly to 0 over the epochs
    train_metrics: str = "full"      # "running": train columns from the training passes, no extra pass
    precision: str = "float32"       # CPU training passes: "bfloat16" mixed precision, or "auto" where the CPU has it

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.epochs < 0 or self.batch_size < 1 or self.print_every < 1:
            raise ValueError("epochs must be >= 0, batch_size and print_every >= 1")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}")
        if self.train_metrics not in TRAIN_METRICS:
            raise ValueError(f"unknown train_metrics {self.train_metrics!r}; choose one of {', '.join(TRAIN_METRICS)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")
        if self.lr <= 0:
            raise ValueError(f"learning rate must be positive, got {self.lr}")
        if self.max_length is not None and self.max_length < 1:
            raise ValueError(f"max_length must be at least 1, got {self.max_length}")


def to_dict(cfg) -> dict[str, Any]:
    return asdict(cfg)


def from_dict(cls, data: dict[str, Any]):
    """Build ``cls`` from ``data``, ignoring unknown keys (older/newer runs) and using defaults for missing ones."""
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})


__all__ = ["ModelConfig", "TrainConfig", "to_dict", "from_dict", "replace"]
