"""Activation functions and their derivatives, written from the activation's *output*.

Backpropagation only ever needs ``g'(z)`` at points where ``h = g(z)`` is already stored,
so each ``*_derivative`` takes ``h`` (the output), not ``z``:

- sigmoid: ``g' = h (1 - h)``
- tanh:    ``g' = 1 - h^2``
- relu:    ``g' = 1 where h > 0 else 0`` (the kink at 0 gets derivative 0, as in PyTorch)

Training functions take the activation by *name*; :func:`get_activation` turns a name into
the ``(function, derivative)`` pair through one small table and refuses unknown names with
the list of valid ones.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Array = np.ndarray


def sigmoid(z: Array) -> Array:
    """Logistic function 1 / (1 + e^-z), computed without overflow for large |z|."""
    z = np.asarray(z, dtype=float)
    # exp(-|z|) never overflows; pick the algebraically equal form for each sign
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(h: Array) -> Array:
    """d sigmoid / dz, given the output h = sigmoid(z)."""
    return h * (1.0 - h)


def tanh(z: Array) -> Array:
    """Hyperbolic tangent."""
    return np.tanh(z)


def tanh_derivative(h: Array) -> Array:
    """d tanh / dz, given the output h = tanh(z)."""
    return 1.0 - h * h


def relu(z: Array) -> Array:
    """Rectified linear unit max(z, 0)."""
    return np.maximum(z, 0.0)


def relu_derivative(h: Array) -> Array:
    """d relu / dz, given the output h = relu(z): 1 where h > 0, else 0."""
    return (np.asarray(h) > 0).astype(np.result_type(h, np.float32))


def softmax(z: Array) -> Array:
    """Softmax over the last axis, shifted by the maximum so exp never overflows."""
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACTIVATIONS: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "relu": (relu, relu_derivative),
    "tanh": (tanh, tanh_derivative),
    "sigmoid": (sigmoid, sigmoid_derivative),
}


def get_activation(name: str) -> tuple[Callable[[Array], Array], Callable[[Array], Array]]:
    """Return ``(activation, derivative_from_output)`` for ``name``; ValueError lists choices."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        valid = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {name!r}; valid choices: {valid}") from None
