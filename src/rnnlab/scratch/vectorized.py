"""The same classifier and tagger on whole batches: arrays in, arrays out, same numbers.

:mod:`rnnlab.scratch.classifier` and :mod:`rnnlab.scratch.tagger` walk Python lists of
vectors one timestep (and, in the tagger, one target step) at a time. Here a batch of
sequences is one padded array and every step is a few matrix products over the batch:

    X  (B, T, F)   inputs, padded after each sequence's length
    Hs (B, T, H)   hidden states; past its length a sequence's state is copied forward
    P  (B, T, O)   tagger distributions (classifier: p (B,) read at each sequence's last step)

The only Python loop left runs over T (the recurrence itself). The tagger's per-target-step
average, O(n^2) as written in :mod:`rnnlab.scratch.tagger`, becomes one backward sweep:
backpropagation is linear in the errors it carries, so injecting every ``eps_tau`` at its
step and sweeping once gives ``sum_tau dW_tau`` (likewise dU, dV); each sample's sums are
then divided by n (dW, dV) and n - 1 (dU) exactly as the per-step convention says.

Gradients are means over the batch, so a batch of one gives exactly the per-sample
gradients of the step-by-step code, and ``batch_size=1`` training gives its SGD epoch.
A sequence of length 1 contributes a zero ``dU`` here (the step-by-step code says None).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from rnnlab.scratch.activations import get_activation, sigmoid, softmax

Array = np.ndarray


# ---------------------------------------------------------------- packing


def pad_sequences(values_lists: Sequence[Sequence[Array]]) -> tuple[Array, Array]:
    """Lists of vectors -> ``(X (B, T, F) zero-padded, lengths (B,))`` in float64."""
    lengths = np.array([len(seq) for seq in values_lists], dtype=np.int64)
    if lengths.min() < 1:
        raise ValueError("every sequence needs at least one step; got an empty one")
    F = len(values_lists[0][0])
    X = np.zeros((len(values_lists), int(lengths.max()), F))  # (B, T, F)
    for b, seq in enumerate(values_lists):
        X[b, : len(seq)] = np.asarray(seq, dtype=float)
    return X, lengths


def one_hot(ids: Array, num_classes: int) -> Array:
    """Integer ids of any shape -> one-hot float64 array with a trailing axis of size O."""
    return np.eye(num_classes)[np.asarray(ids)]


def _step_mask(lengths: Array, T: int) -> Array:
    """(B, T) float mask: 1 where t < length (a real step), 0 on padding."""
    return (np.arange(T)[None, :] < np.asarray(lengths)[:, None]).astype(float)


# ---------------------------------------------------------------- the recurrence: forward / backward


def hidden_forward(X: Array, lengths: Array, W: Array, U: Array, activation: str = "relu") -> Array:
    """All hidden states ``Hs (B, T, H)``: ``h_t = g(W [1, x_t] + U h_{t-1})``, ``h_0 = 0``."""
    g, _ = get_activation(activation)
    B, T, _ = X.shape
    m = _step_mask(lengths, T)[:, :, None]  # (B, T, 1)
    Zx = X @ W[:, 1:].T + W[:, 0]  # (B, T, H) input part of z for every step at once
    Hs = np.empty((B, T, W.shape[0]))  # (B, T, H)
    h = np.zeros((B, W.shape[0]))  # (B, H) h_0 = 0, so z_1 = W [1, x_1]
    for t in range(T):
        h_new = g(Zx[:, t] + h @ U.T)  # (B, H)
        h = m[:, t] * h_new + (1.0 - m[:, t]) * h  # (B, H) padding copies the state on
        Hs[:, t] = h
    return Hs


def hidden_backward(dH: Array, lengths: Array, Hs: Array, U: Array, activation: str = "relu") -> Array:
    """Backpropagation through time for a whole batch.

    ``dH (B, T, H)`` is the gradient each output puts directly on ``h_t``; returns
    ``delta (B, T, H)`` = dL/dz_t (zero on padding).
    """
    _, g_prime = get_activation(activation)
    B, T, H = Hs.shape
    m = _step_mask(lengths, T)[:, :, None]  # (B, T, 1)
    delta = np.zeros((B, T, H))  # (B, T, H)
    dh = np.zeros((B, H))  # (B, H) dL/dh_t arriving from later steps
    for t in range(T - 1, -1, -1):
        dh = dh + dH[:, t]  # (B, H) plus the output's own share at step t
        delta[:, t] = m[:, t] * g_prime(Hs[:, t]) * dh  # (B, H) dL/dz_t
        dh = delta[:, t] @ U + (1.0 - m[:, t]) * dh  # (B, H) dL/dh_{t-1}: U^T delta, or the copy
    return delta


def _input_gradients(delta: Array, X: Array, Hs: Array, cW: Array, cU: Array) -> tuple[Array, Array]:
    """``dW = sum_b cW_b sum_t delta [1, x_t]^T``, ``dU = sum_b cU_b sum_{t>=2} delta h_{t-1}^T``."""
    dW_delta = delta * cW[:, None, None]  # (B, T, H) each sample's weight applied
    dW = np.concatenate(
        [dW_delta.sum(axis=(0, 1))[:, None], _sum_outer(dW_delta, X)], axis=1
    )  # (H, F+1): bias column, then inputs
    dU = _sum_outer(delta[:, 1:] * cU[:, None, None], Hs[:, :-1])  # (H, H)
    return dW, dU


def _sum_outer(a: Array, b: Array) -> Array:
    """``sum_{b,t} a[b, t] b[b, t]^T`` as one matrix product: (B, T, I), (B, T, J) -> (I, J)."""
    return a.reshape(-1, a.shape[-1]).T @ b.reshape(-1, b.shape[-1])


# ---------------------------------------------------------------- classifier


def classifier_forward(
    X: Array, lengths: Array, W: Array, U: Array, v: Array, activation: str = "relu"
) -> tuple[Array, Array]:
    """``(Hs (B, T, H), p (B,))`` with ``p = sigmoid(v . [1, h_n])`` at each sequence's end."""
    Hs = hidden_forward(X, lengths, W, U, activation)
    h_last = Hs[np.arange(len(lengths)), np.asarray(lengths) - 1]  # (B, H)
    return Hs, sigmoid(h_last @ v[1:] + v[0])  # (B,)


def classifier_loss_and_gradients(
    X: Array,
    lengths: Array,
    labels: Array,
    W: Array,
    U: Array,
    v: Array,
    activation: str = "relu",
    eps: float = 1e-8,
) -> tuple[float, Array, Array, Array]:
    """Mean loss and batch-mean gradients ``(loss, dW, dU, dv)`` of the binary classifier."""
    B = len(lengths)
    labels = np.asarray(labels, dtype=float)
    Hs, p = classifier_forward(X, lengths, W, U, v, activation)
    loss = -np.mean(np.log(np.maximum(np.where(labels == 1, p, 1.0 - p), eps)))
    h_last = Hs[np.arange(B), np.asarray(lengths) - 1]  # (B, H)
    err = p - labels  # (B,) dL/dy per sample
    dv = np.concatenate([[err.sum()], err @ h_last]) / B  # (H+1,) mean of err [1, h_n]
    dH = np.zeros_like(Hs)  # (B, T, H)
    dH[np.arange(B), np.asarray(lengths) - 1] = err[:, None] * v[1:]  # dL/dh_n = (v err)[1:]
    delta = hidden_backward(dH, lengths, Hs, U, activation)  # (B, T, H)
    c = np.full(B, 1.0 / B)  # batch mean
    dW, dU = _input_gradients(delta, X, Hs, c, c)
    return float(loss), dW, dU, dv


def train_epoch_classifier_vectorized(
    X: Array,
    lengths: Array,
    labels: Array,
    W: Array,
    U: Array,
    v: Array,
    learning_rate: float,
    activation_name: str = "relu",
    batch_size: int = 1,
) -> tuple[Array, Array, Array]:
    """SGD over the samples in order; ``batch_size=1`` equals :func:`train_epoch_classifier`."""
    get_activation(activation_name)  # refuse an unknown name before any work
    W, U, v = W.copy(), U.copy(), v.copy()
    for s in range(0, len(lengths), batch_size):
        L = lengths[s : s + batch_size]
        Xb = X[s : s + batch_size, : int(L.max())]  # trim padding the batch does not need
        _, dW, dU, dv = classifier_loss_and_gradients(
            Xb, L, labels[s : s + batch_size], W, U, v, activation_name
        )
        W, U, v = W - learning_rate * dW, U - learning_rate * dU, v - learning_rate * dv
    return W, U, v


# ---------------------------------------------------------------- tagger


def tagger_forward(
    X: Array, lengths: Array, W: Array, U: Array, V: Array, activation: str = "relu"
) -> tuple[Array, Array]:
    """``(Hs (B, T, H), P (B, T, O))`` with ``P[:, t] = softmax(V [1, h_t])``."""
    Hs = hidden_forward(X, lengths, W, U, activation)
    return Hs, softmax(Hs @ V[:, 1:].T + V[:, 0])


def tagger_loss_and_gradients(
    X: Array,
    A: Array,
    lengths: Array,
    W: Array,
    U: Array,
    V: Array,
    activation: str = "relu",
    eps: float = 1e-8,
) -> tuple[float, Array, Array, Array]:
    """Loss and gradients ``(loss, dW, dU, dV)`` of the tagger, averaged as in the loop code.

    ``A (B, T, O)`` holds one-hot targets. Per sample ``dW``, ``dV`` are means over its n
    steps and ``dU`` the sum over steps 2..n divided by n - 1; then the mean over the batch.
    """
    B, T, _ = X.shape
    lengths = np.asarray(lengths)
    m = _step_mask(lengths, T)  # (B, T)
    Hs, P = tagger_forward(X, lengths, W, U, V, activation)
    p_actual = np.maximum((P * A).sum(axis=-1), eps)  # (B, T) probability of the target
    loss = np.mean((-np.log(p_actual) * m).sum(axis=1) / lengths)
    E = (P - A) * m[:, :, None]  # (B, T, O) eps_tau at every real step
    cW = 1.0 / (B * lengths)  # (B,) mean over tau = 1..n, then over the batch
    cU = np.where(lengths > 1, 1.0 / (B * np.maximum(lengths - 1, 1)), 0.0)  # (B,) tau = 2..n
    Ew = E * cW[:, None, None]  # (B, T, O)
    dV = np.concatenate(
        [Ew.sum(axis=(0, 1))[:, None], _sum_outer(Ew, Hs)], axis=1
    )  # (O, H+1) mean of eps [1, h_t]^T
    dH = E @ V[:, 1:]  # (B, T, H) dL_t/dh_t = (V^T eps_t)[1:]
    delta = hidden_backward(dH, lengths, Hs, U, activation)  # (B, T, H) all taus in one sweep
    dW, dU = _input_gradients(delta, X, Hs, cW, cU)
    return float(loss), dW, dU, dV


def train_epoch_tagger_vectorized(
    X: Array,
    A: Array,
    lengths: Array,
    W: Array,
    U: Array,
    V: Array,
    learning_rate: float,
    activation_name: str = "relu",
    batch_size: int = 1,
) -> tuple[Array, Array, Array]:
    """SGD over the samples in order; ``batch_size=1`` equals :func:`train_epoch_tagger`."""
    get_activation(activation_name)
    W, U, V = W.copy(), U.copy(), V.copy()
    for s in range(0, len(lengths), batch_size):
        L = lengths[s : s + batch_size]
        T = int(L.max())
        _, dW, dU, dV = tagger_loss_and_gradients(
            X[s : s + batch_size, :T], A[s : s + batch_size, :T], L, W, U, V, activation_name
        )
        W, U, V = W - learning_rate * dW, U - learning_rate * dU, V - learning_rate * dV
    return W, U, V
