"""Part-2 building blocks in the course's argument orders and shapes.

:mod:`rnnlab.scratch.layers` keeps its own convention (``linear(values, weights)``, the
bias inserted inside). Course notebooks call these instead:

- ``linear(weights, values)``: ``weights @ values``, no bias added (insert it yourself with
  :func:`insert_bias` when the weights have a bias column);
- ``logistic_layer(weights, values)`` / ``softmax_layer(weights, values)``: a weight *matrix*
  ``(O, F)`` gives an array ``(O,)`` (a single-output layer gives shape ``(1,)``); a weight
  vector ``(F,)`` gives a scalar;
- deltas of shape ``(1,)`` (one output unit) work everywhere: ``calculate_weights_gradient``
  returns ``(1, F)``, ``send_delta_back`` returns ``(F,)``.
"""

from __future__ import annotations

import numpy as np

from rnnlab.scratch.activations import sigmoid, softmax
from rnnlab.scratch.layers import crossent_loss_gradient, insert_bias

Array = np.ndarray


def linear(weights: Array, values: Array) -> Array:
    """``weights @ values``: (O, F) @ (F,) -> (O,); (F,) . (F,) -> scalar."""
    return np.asarray(weights, dtype=float) @ np.asarray(values, dtype=float)


def logistic_layer(weights: Array, values: Array) -> Array:
    """``sigmoid(weights @ values)``, shaped as :func:`linear`'s result."""
    return sigmoid(linear(weights, values))


def softmax_layer(weights: Array, values: Array) -> Array:
    """``softmax(weights @ values)`` over the O outputs."""
    return softmax(linear(weights, values))


def calculate_weights_gradient(delta: Array, values: Array) -> Array:
    """dL/d(weights) of ``weights @ values`` given ``delta = dL/d(output)``: the outer product, (O, F).

    A shape-(1,) delta (one output unit) gives (1, F), the shape of that layer's weight matrix;
    a scalar delta gives (F,).
    """
    delta, values = np.asarray(delta, dtype=float), np.asarray(values, dtype=float)
    return float(delta) * values if delta.ndim == 0 else np.outer(delta, values)


def send_delta_back(delta: Array, weights: Array, remove_bias_term: bool = False) -> Array:
    """dL/d(values) of ``weights @ values``: ``weights.T @ delta`` (F,); drop entry 0 with ``remove_bias_term``."""
    delta, weights = np.asarray(delta, dtype=float), np.asarray(weights, dtype=float)
    back = weights * float(delta) if delta.ndim == 0 else weights.T @ delta
    return back[1:] if remove_bias_term else back


__all__ = ["insert_bias", "linear", "logistic_layer", "softmax_layer", "crossent_loss_gradient",
           "calculate_weights_gradient", "send_delta_back"]
