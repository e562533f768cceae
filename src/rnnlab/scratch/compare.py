"""``rnnlab scratch classify``: the NumPy classifier beside the same model in PyTorch.

Both start from the same weights and see the same samples in the same order, one SGD update
per sample, in float64; their per-epoch loss and accuracy must coincide (they differ only by
floating-point rounding, reported as the largest weight difference after each epoch).

Inputs are frozen GloVe 6B 50d vectors: a review becomes ``x_1..x_n``, the vectors of its
first ``max_len`` tokens that GloVe knows (tokens without a vector are skipped).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from rnnlab.errors import RnnlabError
from rnnlab.scratch.activations import get_activation
from rnnlab.scratch.classifier import recurrent_classifier_forward, train_epoch_classifier
from rnnlab.scratch import vectorized as vec

IMPLEMENTATIONS = ("loop", "vectorized")
TORCH_ACTIVATIONS = ("relu", "tanh")  # the nonlinearities torch.nn.RNN offers


@dataclass(frozen=True)
class ClassifyConfig:
    """What ``rnnlab scratch classify`` trains; checked on construction."""

    train_path: Path | str = "sample:train"  # any data argument: a TSV path or a name (rnnlab.data.sources)
    test_path: Path | str = "sample:test"
    train_size: int = 400
    test_size: int = 200
    max_len: int = 40
    hidden: int = 16
    epochs: int = 5
    learning_rate: float = 0.02
    activation: str = "tanh"
    seed: int = 1  # the same default as rnnlab train
    impl: str = "loop"

    def __post_init__(self):
        for name in ("train_size", "test_size", "max_len", "hidden", "epochs"):
            if getattr(self, name) < 1:
                raise RnnlabError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise RnnlabError(f"learning-rate must be positive, got {self.learning_rate}")
        if self.activation not in TORCH_ACTIVATIONS:
            raise RnnlabError(
                f"unknown activation {self.activation!r}; torch.nn.RNN offers {', '.join(TORCH_ACTIVATIONS)}"
            )
        if self.impl not in IMPLEMENTATIONS:
            raise RnnlabError(f"unknown impl {self.impl!r}; choose one of {', '.join(IMPLEMENTATIONS)}")


@dataclass(frozen=True)
class EpochRow:
    """One epoch of both trainings (epoch 0 = the shared starting point)."""

    epoch: int
    numpy_loss: float
    torch_loss: float
    numpy_train_acc: float
    torch_train_acc: float
    numpy_test_acc: float
    torch_test_acc: float
    max_weight_diff: float
    numpy_seconds: float
    torch_seconds: float


@dataclass
class ClassifyResult:
    config: ClassifyConfig
    n_train: int
    n_test: int
    coverage: float  # share of tokens that have a GloVe vector
    rows: list[EpochRow] = field(default_factory=list)


# ---------------------------------------------------------------- data


def load_glove_sequences(
    path: Path, size: int, max_len: int, rng: np.random.Generator
) -> tuple[list[list[np.ndarray]], list[int], float]:
    """A random subset of ``size`` reviews as lists of GloVe vectors (float64) and labels."""
    from rnnlab.data.tsv import read_tsv  # deferred: scratch is imported by the CLI; these pull in torch
    from rnnlab.data.tokenize import tokenize  # deferred: scratch is imported by the CLI; these pull in torch
    from rnnlab.embeddings import load_vectors  # deferred: scratch is imported by the CLI; these pull in torch

    examples = read_tsv(path)
    chosen = [examples[i] for i in rng.permutation(len(examples))[:size]]
    glove = load_vectors()
    index = glove.index()
    sequences, labels, known, total = [], [], 0, 0
    for ex, tokens in zip(chosen, tokenize([ex.text for ex in chosen])):
        rows = [index[t] for t in tokens if t in index]
        known, total = known + len(rows), total + len(tokens)
        if rows:  # a review with no known token has nothing to read
            sequences.append(list(glove.vectors[rows[:max_len]].astype(np.float64)))
            labels.append(ex.label)
    if not sequences:
        raise RnnlabError(f"{path}: none of the chosen reviews has a token with a GloVe vector")
    return sequences, labels, known / max(total, 1)


def initial_weights(F: int, H: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Small random ``(W (H, F+1), U (H, H), v (H+1,))``, biases zero."""
    W = rng.normal(scale=1 / np.sqrt(F), size=(H, F + 1))
    W[:, 0] = 0.0
    U = rng.normal(scale=0.5 / np.sqrt(H), size=(H, H))
    v = rng.normal(scale=1 / np.sqrt(H), size=H + 1)
    v[0] = 0.0
    return W, U, v


# ---------------------------------------------------------------- the two trainers


class NumpyClassifier:
    """The scratch classifier: per-sample SGD through the loop or the vectorised code."""

    def __init__(self, W, U, v, activation: str, impl: str):
        self.W, self.U, self.v = W.copy(), U.copy(), v.copy()
        self.activation, self.impl = activation, impl

    def train_epoch(self, seqs, labels, lr: float) -> None:
        if self.impl == "loop":
            self.W, self.U, self.v = train_epoch_classifier(
                list(zip(seqs, labels)), self.W, self.U, self.v, lr, self.activation
            )
        else:
            X, L = vec.pad_sequences(seqs)
            self.W, self.U, self.v = vec.train_epoch_classifier_vectorized(
                X, L, np.asarray(labels), self.W, self.U, self.v, lr, self.activation
            )

    def probabilities(self, seqs) -> np.ndarray:
        if self.impl == "loop":
            g, _ = get_activation(self.activation)
            return np.array([recurrent_classifier_forward(x, self.W, self.U, self.v, g)[1] for x in seqs])
        X, L = vec.pad_sequences(seqs)
        return vec.classifier_forward(X, L, self.W, self.U, self.v, self.activation)[1]

    def weights(self):
        return self.W, self.U, self.v


class TorchClassifier:
    """``torch.nn.RNN`` + ``nn.Linear`` in float64 holding the same weights; plain SGD.

    Bias layout: ``W[:, 0]`` is ``bias_ih``; ``bias_hh`` stays zero (frozen), so the two
    models have the same parameters.
    """

    def __init__(self, W, U, v, activation: str):
        import torch  # deferred: scratch is numpy-only unless torch is compared

        if activation not in ("relu", "tanh"):
            raise RnnlabError(f"torch.nn.RNN supports relu and tanh, not {activation!r}")
        self.torch = torch
        H, F1 = W.shape
        self.rnn = torch.nn.RNN(F1 - 1, H, nonlinearity=activation, batch_first=True, dtype=torch.float64)
        self.out = torch.nn.Linear(H, 1, dtype=torch.float64)
        with torch.no_grad():
            self.rnn.weight_ih_l0.copy_(torch.from_numpy(W[:, 1:]))
            self.rnn.bias_ih_l0.copy_(torch.from_numpy(W[:, 0]))
            self.rnn.weight_hh_l0.copy_(torch.from_numpy(U))
            self.rnn.bias_hh_l0.zero_()
            self.out.weight.copy_(torch.from_numpy(v[None, 1:]))
            self.out.bias.copy_(torch.from_numpy(v[:1]))
        self.rnn.bias_hh_l0.requires_grad_(False)

    def _logit(self, xs):
        hs, _ = self.rnn(self.torch.from_numpy(np.asarray(xs))[None])  # (1, T, H)
        return self.out(hs[0, -1])  # (1,) logit from h_n

    def train_epoch(self, seqs, labels, lr: float) -> None:
        # one review at a time is thousands of tiny ops: extra threads only add overhead
        threads = self.torch.get_num_threads()
        self.torch.set_num_threads(1)
        try:
            self._train_epoch(seqs, labels, lr)
        finally:
            self.torch.set_num_threads(threads)

    def _train_epoch(self, seqs, labels, lr: float) -> None:
        torch = self.torch
        params = [p for p in [*self.rnn.parameters(), *self.out.parameters()] if p.requires_grad]
        opt = torch.optim.SGD(params, lr=lr)
        for xs, label in zip(seqs, labels):
            opt.zero_grad()
            target = torch.tensor([float(label)], dtype=torch.float64)
            torch.nn.functional.binary_cross_entropy_with_logits(self._logit(xs), target).backward()
            opt.step()

    def probabilities(self, seqs) -> np.ndarray:
        with self.torch.no_grad():
            return np.array([self.torch.sigmoid(self._logit(xs)).item() for xs in seqs])

    def weights(self):
        rnn, out = self.rnn, self.out
        W = np.concatenate([rnn.bias_ih_l0.detach().numpy()[:, None], rnn.weight_ih_l0.detach().numpy()], 1)
        v = np.concatenate([out.bias.detach().numpy(), out.weight.detach().numpy()[0]])
        return W, rnn.weight_hh_l0.detach().numpy(), v


def _loss_and_accuracy(p: np.ndarray, labels: Sequence[int], eps: float = 1e-8) -> tuple[float, float]:
    """Mean floored cross-entropy and accuracy at threshold 0.5."""
    a = np.asarray(labels)
    loss = -np.mean(np.log(np.maximum(np.where(a == 1, p, 1 - p), eps)))
    return float(loss), float(np.mean((p > 0.5) == (a == 1)))


# ---------------------------------------------------------------- the driver


def classify_vs_torch(
    *, config: ClassifyConfig, on_epoch: Callable[[EpochRow], None] | None = None
) -> ClassifyResult:
    """Train both models from the same start; one :class:`EpochRow` per epoch (0 = start)."""
    rng = np.random.default_rng(config.seed)
    train_x, train_y, coverage = load_glove_sequences(config.train_path, config.train_size, config.max_len, rng)
    test_x, test_y, _ = load_glove_sequences(config.test_path, config.test_size, config.max_len, rng)
    W, U, v = initial_weights(len(train_x[0][0]), config.hidden, rng)
    ours = NumpyClassifier(W, U, v, config.activation, config.impl)
    theirs = TorchClassifier(W, U, v, config.activation)
    result = ClassifyResult(config, len(train_x), len(test_x), coverage)

    for epoch in range(config.epochs + 1):
        t_np = t_torch = 0.0
        if epoch > 0:
            start = time.perf_counter()
            ours.train_epoch(train_x, train_y, config.learning_rate)
            t_np = time.perf_counter() - start
            start = time.perf_counter()
            theirs.train_epoch(train_x, train_y, config.learning_rate)
            t_torch = time.perf_counter() - start
        np_loss, np_acc = _loss_and_accuracy(ours.probabilities(train_x), train_y)
        t_loss, t_acc = _loss_and_accuracy(theirs.probabilities(train_x), train_y)
        _, np_test = _loss_and_accuracy(ours.probabilities(test_x), test_y)
        _, t_test = _loss_and_accuracy(theirs.probabilities(test_x), test_y)
        diff = max(float(np.max(np.abs(a - b))) for a, b in zip(ours.weights(), theirs.weights()))
        row = EpochRow(epoch, np_loss, t_loss, np_acc, t_acc, np_test, t_test, diff, t_np, t_torch)
        result.rows.append(row)
        if on_epoch is not None:
            on_epoch(row)
    return result
