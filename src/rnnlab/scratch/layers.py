"""Building blocks shared by the classifier and the tagger.

Bias convention: a bias is never stored in a value vector. It lives in the *first column*
of a weight matrix (the first entry of a weight vector), and :func:`insert_bias` puts a 1
in front of the values right before they meet their weights, so ``W @ insert_bias(x)``
is ``W[:, 0] + W[:, 1:] @ x``.
"""

from __future__ import annotations

import numpy as np

from rnnlab.scratch.activations import sigmoid, softmax

Array = np.ndarray


def insert_bias(values: Array) -> Array:
    """Return a new vector ``[1, values...]`` (length F + 1); the input is not modified."""
    values = np.asarray(values)
    return np.concatenate([np.ones(1, dtype=np.result_type(values, float)), values])


def linear(values: Array, weights: Array) -> Array:
    """Affine map with the bias in the first column: ``weights @ [1, values]``.

    ``weights`` is (O, F + 1) -> result (O,), or a vector (F + 1,) -> a scalar.
    """
    return weights @ insert_bias(values)


def logistic_layer(values: Array, weights: Array) -> float:
    """Probability of class 1: ``sigmoid(weights . [1, values])`` with weights (H + 1,)."""
    return float(sigmoid(linear(values, weights)))


def softmax_layer(values: Array, weights: Array) -> Array:
    """Distribution over O classes: ``softmax(weights @ [1, values])`` with weights (O, H + 1)."""
    return softmax(linear(values, weights))


def crossent_loss_gradient(predicted, actual):
    """Gradient of cross-entropy w.r.t. the *logits* of a sigmoid/softmax output: p - a.

    Works for a scalar probability with a 0/1 label and for a distribution with a one-hot
    vector alike (that is why the output layer's derivative never appears on its own).
    """
    return np.asarray(predicted, dtype=float) - np.asarray(actual, dtype=float)


def calculate_weights_gradient(delta, values: Array, insert_bias_term: bool = True) -> Array:
    """Gradient of ``weights @ [1, values]`` w.r.t. ``weights``, given ``delta`` = dL/d(output).

    ``delta`` (O,) gives the outer product ``delta [1, values]^T`` of shape (O, F + 1);
    a scalar ``delta`` (a single output, e.g. the classifier's logit) gives a vector (F + 1,).
    With ``insert_bias_term=False`` there is no bias column (recurrent weights ``U``).
    """
    inputs = insert_bias(values) if insert_bias_term else np.asarray(values, dtype=float)
    if np.ndim(delta) == 0:
        return float(delta) * inputs
    return np.outer(delta, inputs)


def send_delta_back(delta, weights: Array, remove_bias_term: bool = True) -> Array:
    """Gradient reaching the inputs of ``weights @ [1, values]``: ``weights^T delta``.

    The bias "input" is the constant 1, so its entry is dropped when ``remove_bias_term``;
    the result then has the length of ``values``. A scalar ``delta`` with weight vector
    (H + 1,) is the classifier's output layer: ``v * eps``.
    """
    back = weights * float(delta) if np.ndim(delta) == 0 else weights.T @ delta
    return back[1:] if remove_bias_term else back
