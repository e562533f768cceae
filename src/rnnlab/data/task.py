"""The task: which labels, in which order, and how a model's outputs become decisions.

One object answers every question that used to be written as ``p > 0.5`` or
``("neg", "pos")`` across the code:

- **two classes** keep the classic shape: one output (a logit), the sigmoid gives
  the probability of ``labels[1]``, the loss is binary cross-entropy and the
  targets are floats (0.0 / 1.0);
- **k > 2 classes** use k outputs, softmax probabilities, cross-entropy and
  integer targets.

``probabilities`` always returns one column per class (rows sum to 1), so code
that shows or compares predictions never needs to know which case it is in. It takes
PyTorch logits or NumPy ones (the torch-free one-text path, :mod:`rnnlab.lite`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from rnnlab.errors import RnnlabError


@dataclass(frozen=True)
class Task:
    """Classification into ``labels`` (index = class id)."""

    labels: tuple[str, ...]

    def __post_init__(self):
        labels = tuple(str(x) for x in self.labels)
        object.__setattr__(self, "labels", labels)
        if len(labels) < 2:
            raise RnnlabError(f"a task needs at least two labels, got {len(labels)} ({', '.join(labels) or 'none'})")
        seen: set[str] = set()
        for name in labels:
            if not name.strip():
                raise RnnlabError("a label name is empty")
            if name in seen:
                raise RnnlabError(f"label {name!r} is listed twice; every label needs its own name")
            seen.add(name)

    # -- shape --------------------------------------------------------------------------
    @property
    def k(self) -> int:
        """Number of classes."""
        return len(self.labels)

    @property
    def binary(self) -> bool:
        return self.k == 2

    @property
    def num_outputs(self) -> int:
        """Width of the model's output layer: 1 logit for two classes, else one per class."""
        return 1 if self.binary else self.k

    @classmethod
    def from_labels(cls, observed: Iterable[str], order: Sequence[str] | None = None) -> "Task":
        """The task for training data whose labels are ``observed``.

        ``order`` (``--labels a,b,c``) fixes the class ids; otherwise the sorted set of
        observed labels does. A training set with a single class is refused.
        """
        seen = set(observed)
        if order is not None:
            task = cls(tuple(order))
            unknown = sorted(seen - set(task.labels))
            if unknown:
                raise RnnlabError(f"label {unknown[0]!r} is not in --labels {','.join(task.labels)}")
            return task
        if len(seen) < 2:
            raise RnnlabError(f"the training data holds a single class ({', '.join(sorted(seen)) or 'none'}); "
                              "a classifier needs at least two")
        return cls(tuple(sorted(seen)))

    def index(self, label: str) -> int:
        try:
            return self.labels.index(label)
        except ValueError:
            raise RnnlabError(f"unknown label {label!r}; expected one of {'|'.join(self.labels)}") from None

    # -- what the model's outputs mean ----------------------------------------------------
    # torch is imported inside the methods that take or make tensors (deferred): a Task, and so a
    # TextPipeline, is built without torch on `rnnlab predict RUN "text"`, which saves ~2 s of start-up.
    def targets(self, ids) -> torch.Tensor:
        """Class ids as the loss wants them: float (B,) for two classes, int64 (B,) for k."""
        import torch  # deferred: see above

        t = torch.as_tensor(np.asarray(ids))
        return t.to(torch.float32) if self.binary else t.to(torch.int64)

    def loss_function(self, reduction: str = "mean") -> torch.nn.Module:
        """On logits: ``BCEWithLogitsLoss`` for two classes, ``CrossEntropyLoss`` for k."""
        import torch  # deferred: see targets()

        if self.binary:
            return torch.nn.BCEWithLogitsLoss(reduction=reduction)
        return torch.nn.CrossEntropyLoss(reduction=reduction)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """(B,) or (B, 1) logits of two classes, or (B, k) -> (B, k) probabilities, rows summing to 1.

        NumPy logits give a NumPy array of their dtype (no torch needed), tensors a tensor.
        """
        if isinstance(logits, np.ndarray):
            return _numpy_probabilities(logits, self.binary)
        import torch  # deferred: see targets()

        if self.binary:
            p = torch.sigmoid(logits.reshape(logits.shape[0], -1)[:, 0] if logits.dim() > 1 else logits)
            return torch.stack([1 - p, p], dim=-1)
        return torch.softmax(logits, dim=-1)

    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        """Class ids (B,): logit > 0 for two classes (p > 0.5), argmax for k."""
        import torch  # deferred: see targets()

        if self.binary:
            flat = logits.reshape(logits.shape[0], -1)[:, 0] if logits.dim() > 1 else logits
            return (flat > 0).to(torch.int64)
        return logits.argmax(dim=-1)

    def metrics(self, y_true, y_pred) -> dict:
        """Accuracy, macro-F1, per-class precision/recall/F1/support and the k×k confusion matrix.

        ``confusion[i][j]`` counts texts of true class ``i`` predicted as ``j``. For two
        classes ``precision``/``recall``/``f1`` are also given for ``labels[1]`` (the
        positive class), as the binary tables always showed them.
        """
        t = np.asarray(y_true, dtype=np.int64).reshape(-1)
        p = np.asarray(y_pred, dtype=np.int64).reshape(-1)
        k = self.k
        confusion = np.bincount(t * k + p, minlength=k * k).reshape(k, k) if len(t) else np.zeros((k, k), np.int64)
        tp = np.diag(confusion).astype(float)
        predicted, support = confusion.sum(axis=0), confusion.sum(axis=1)
        precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
        recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
        f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=precision + recall > 0)
        n = int(len(t))
        out = {"acc": float(tp.sum() / n) if n else float("nan"), "macro_f1": float(f1.mean()), "n": n,
               "per_class": {name: {"precision": float(precision[i]), "recall": float(recall[i]),
                                    "f1": float(f1[i]), "support": int(support[i])}
                             for i, name in enumerate(self.labels)},
               "confusion": confusion.tolist()}
        if self.binary:
            out.update(precision=float(precision[1]), recall=float(recall[1]), f1=float(f1[1]))
        return out

    def to_dict(self) -> dict:
        return {"labels": list(self.labels)}


def _numpy_probabilities(logits: np.ndarray, binary: bool) -> np.ndarray:
    """:meth:`Task.probabilities` on NumPy logits: the same sigmoid / softmax, computed without overflow."""
    if binary:
        flat = logits.reshape(logits.shape[0], -1)[:, 0] if logits.ndim > 1 else logits
        p = np.exp(-np.logaddexp(0, -flat))                                    # sigmoid, (B,)
        return np.stack([1 - p, p], axis=-1)
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))                    # (B, k)
    return e / e.sum(axis=-1, keepdims=True)


def binary_task() -> Task:
    """The classic IMDB task: ``neg`` (0) and ``pos`` (1)."""
    return Task(("neg", "pos"))


__all__ = ["Task", "binary_task"]
