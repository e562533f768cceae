"""``rnnlab scratch lm``: a character-level language model made of the NumPy tagger.

The tagger's output at step t is a distribution over the next character: inputs are one-hot
characters ``x_t``, targets the same text shifted by one (``a_t = x_{t+1}``), V = O = the
alphabet size. Text is cut into chunks of ``seq_len + 1`` characters; each chunk is one
sample (the hidden state starts from zero in every chunk). Training is the tagger's plain
per-sample SGD; the last tenth of the text is held out to report an honest loss.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from rnnlab.errors import RnnlabError
from rnnlab.scratch.activations import ACTIVATIONS, get_activation, softmax
from rnnlab.scratch.compare import IMPLEMENTATIONS
from rnnlab.scratch.tagger import train_epoch_tagger
from rnnlab.scratch import vectorized as vec


@dataclass(frozen=True)
class LMConfig:
    """What ``rnnlab scratch lm`` trains and samples; checked on construction."""

    text_path: Path | str = "sample:train"  # any data argument: a TSV path or a name (rnnlab.data.sources)
    chars: int = 100_000
    seq_len: int = 25
    hidden: int = 64
    epochs: int = 10
    learning_rate: float = 0.1
    activation: str = "tanh"
    batch_size: int = 1
    temperature: float = 0.7
    sample_length: int = 300
    prime: str = "this movie "
    seed: int = 1  # the same default as rnnlab train
    impl: str = "vectorized"

    def __post_init__(self):
        for name in ("chars", "seq_len", "hidden", "epochs", "batch_size", "sample_length"):
            if getattr(self, name) < 1:
                raise RnnlabError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.chars < 20 * (self.seq_len + 1):
            raise RnnlabError(
                f"chars={self.chars} is too little text for seq-len {self.seq_len}: "
                f"need at least {20 * (self.seq_len + 1)} (20 chunks, a tenth of them held out)"
            )
        if not self.learning_rate > 0:
            raise RnnlabError(f"learning-rate must be positive, got {self.learning_rate}")
        if not self.temperature > 0:
            raise RnnlabError(f"temperature must be positive, got {self.temperature}")
        if self.activation not in ACTIVATIONS:
            raise RnnlabError(
                f"unknown activation {self.activation!r}; choose one of {', '.join(sorted(ACTIVATIONS))}"
            )
        if self.impl not in IMPLEMENTATIONS:
            raise RnnlabError(f"unknown impl {self.impl!r}; choose one of {', '.join(IMPLEMENTATIONS)}")
        if self.impl == "loop" and self.batch_size != 1:
            raise RnnlabError("the loop implementation trains one sample at a time: use --batch-size 1")


@dataclass(frozen=True)
class LMEpoch:
    epoch: int
    train_loss: float
    heldout_loss: float
    seconds: float


@dataclass
class LMResult:
    config: LMConfig
    alphabet: str
    n_train: int  # chunks
    n_heldout: int
    rows: list[LMEpoch] = field(default_factory=list)
    sample: str = ""


# ---------------------------------------------------------------- text -> samples


def review_text(path: Path, chars: int) -> str:
    """The first ``chars`` characters of the reviews, lower-cased, one review per line."""
    from rnnlab.data.tsv import read_tsv  # deferred: scratch is imported by the CLI; data.tsv pulls in torch

    text, total = [], 0
    for ex in read_tsv(path):
        text.append(" ".join(ex.text.lower().split()) + "\n")
        total += len(text[-1])
        if total >= chars:
            break
    return "".join(text)[:chars]


def chunk_ids(ids: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping chunks: inputs ``(N, seq_len)`` and next-character targets ``(N, seq_len)``."""
    n = (len(ids) - 1) // seq_len
    inputs = ids[: n * seq_len].reshape(n, seq_len)
    targets = ids[1 : n * seq_len + 1].reshape(n, seq_len)
    return inputs, targets


def initial_weights(V: int, H: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W (H, V+1), U (H, H), Vout (V, H+1))``: small normal weights, zero biases."""
    W = rng.normal(scale=0.1, size=(H, V + 1))
    U = rng.normal(scale=0.5 / np.sqrt(H), size=(H, H))
    Vout = rng.normal(scale=0.1, size=(V, H + 1))
    W[:, 0] = Vout[:, 0] = 0.0
    return W, U, Vout


# ---------------------------------------------------------------- sampling


def sample_text(
    W: np.ndarray,
    U: np.ndarray,
    Vout: np.ndarray,
    alphabet: str,
    *,
    prime: str,
    length: int,
    temperature: float,
    activation: str,
    rng: np.random.Generator,
) -> str:
    """Feed ``prime``, then draw ``length`` characters from ``softmax(V [1, h] / temperature)``.

    Temperature below 1 sharpens the distribution (safer, more repetitive text); above 1
    flattens it (more varied, more misspelt).
    """
    g, _ = get_activation(activation)
    index = {c: i for i, c in enumerate(alphabet)}
    unknown = sorted(set(prime) - set(index))
    if unknown:
        raise RnnlabError(f"prime contains characters never seen in the training text: {''.join(unknown)!r}")
    eye = np.eye(len(alphabet))
    h = np.zeros(U.shape[0])  # (H,) h_0 = 0
    for c in prime or alphabet[0]:
        h = g(W[:, 0] + W[:, 1:] @ eye[index[c]] + U @ h)  # (H,)
    out = []
    for _ in range(length):
        p = softmax((Vout[:, 0] + Vout[:, 1:] @ h) / temperature)  # (V,) next-character distribution
        i = int(rng.choice(len(alphabet), p=p))
        out.append(alphabet[i])
        h = g(W[:, 0] + W[:, 1:] @ eye[i] + U @ h)  # (H,)
    return prime + "".join(out)


# ---------------------------------------------------------------- the driver


def train_char_lm(*, config: LMConfig, on_epoch: Callable[[LMEpoch], None] | None = None) -> LMResult:
    """Train the character LM; one :class:`LMEpoch` per epoch (0 = untrained), then a sample."""
    rng = np.random.default_rng(config.seed)
    text = review_text(config.text_path, config.chars)
    alphabet = "".join(sorted(set(text)))  # sorted: the same text gives the same ids
    unknown = sorted(set(config.prime) - set(alphabet))
    if unknown:  # refuse before training, not after
        raise RnnlabError(
            f"--prime {config.prime!r} has characters absent from the training text: {''.join(unknown)!r}; "
            "choose a prime made of characters the text contains"
        )
    ids = np.array([alphabet.index(c) for c in text])
    inputs, targets = chunk_ids(ids, config.seq_len)
    n_held = max(1, len(inputs) // 10)
    V = len(alphabet)
    X_all, A_all = vec.one_hot(inputs, V), vec.one_hot(targets, V)  # (N, T, V) each
    X_tr, A_tr, X_ho, A_ho = X_all[:-n_held], A_all[:-n_held], X_all[-n_held:], A_all[-n_held:]
    lengths_tr = np.full(len(X_tr), config.seq_len)
    lengths_ho = np.full(len(X_ho), config.seq_len)
    W, U, Vout = initial_weights(V, config.hidden, rng)
    result = LMResult(config, alphabet, len(X_tr), len(X_ho))

    def loss(X, A, L):
        return vec.tagger_loss_and_gradients(X, A, L, W, U, Vout, config.activation)[0]

    for epoch in range(config.epochs + 1):
        seconds = 0.0
        if epoch > 0:
            order = rng.permutation(len(X_tr))
            start = time.perf_counter()
            if config.impl == "loop":
                samples = [(list(X_tr[i]), list(A_tr[i])) for i in order]
                W, U, Vout = train_epoch_tagger(samples, W, U, Vout, config.learning_rate, config.activation)
            else:
                W, U, Vout = vec.train_epoch_tagger_vectorized(
                    X_tr[order], A_tr[order], lengths_tr[order], W, U, Vout,
                    config.learning_rate, config.activation, config.batch_size,
                )
            seconds = time.perf_counter() - start
        row = LMEpoch(epoch, loss(X_tr, A_tr, lengths_tr), loss(X_ho, A_ho, lengths_ho), seconds)
        result.rows.append(row)
        if on_epoch is not None:
            on_epoch(row)
    result.sample = sample_text(
        W, U, Vout, alphabet, prime=config.prime, length=config.sample_length,
        temperature=config.temperature, activation=config.activation, rng=rng,
    )
    return result
