"""A recurrent binary classifier with backpropagation through time, one timestep at a time.

Shapes (letters as everywhere in rnnlab): F input features, H hidden units.

    W  (H, F + 1)   input weights, first column = bias
    U  (H, H)       recurrent weights, no bias
    v  (H + 1,)     output weights, first entry = bias

Forward::

    z_1 = W [1, x_1]                   h_1 = g(z_1)
    z_t = W [1, x_t] + U h_{t-1}       h_t = g(z_t)          t = 2..n
    y   = v . [1, h_n]                 p   = sigmoid(y)

Backward (a = 0/1 label, loss -log p or -log(1 - p))::

    eps     = p - a                                   dL/dy
    dv      = eps [1, h_n]
    delta_n = g'(h_n) * (v eps)[1:]                   dL/dz_n
    dW_t    = delta_t [1, x_t]^T   dU_t = delta_t h_{t-1}^T
    delta_{t-1} = g'(h_{t-1}) * (U^T delta_t)         t = n..2
    dW = sum_t dW_t,   dU = sum_{t>=2} dU_t  (None for a one-step sequence)

Each forward function sits right above the backward function that undoes it. Everything is
plain NumPy on 1-D vectors and Python lists of them; :mod:`rnnlab.scratch.vectorized` is
the same arithmetic on whole batches.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from rnnlab.scratch.activations import get_activation, relu, relu_derivative
from rnnlab.scratch.layers import (
    calculate_weights_gradient,
    crossent_loss_gradient,
    linear,
    logistic_layer,
    send_delta_back,
)

Array = np.ndarray
Activation = Callable[[Array], Array]


# ---------------------------------------------------------------- one step: forward / backward


def recurrent_linear(
    current_values: Array,
    input_weights: Array,
    prev_hidden: Array | None = None,
    recurrent_weights: Array | None = None,
) -> Array:
    """Pre-activation of one step: ``z_t = W [1, x_t] + U h_{t-1}`` (no U term at t = 1)."""
    z = linear(current_values, input_weights)  # (H,)
    if prev_hidden is not None:
        z = z + recurrent_weights @ prev_hidden  # (H,) += (H, H) @ (H,)
    return z


def get_hidden(
    prev_hidden: Array | None,
    recurrent_weights: Array | None,
    input_values: Array,
    input_weights: Array,
    activation_function: Activation = relu,
) -> Array:
    """One step of the recurrence: ``h_t = g(W [1, x_t] + U h_{t-1})``."""
    return activation_function(
        recurrent_linear(input_values, input_weights, prev_hidden, recurrent_weights)
    )


def get_weights_gradients(
    delta: Array, current_input: Array, prev_hidden: Array | None
) -> tuple[Array, Array | None]:
    """Gradients of one step given ``delta`` = dL/dz_t: ``(dW_t, dU_t)``.

    ``dU_t`` is None at the first step, where no ``U h_{t-1}`` term exists.
    """
    dW_t = calculate_weights_gradient(delta, current_input)  # (H, F+1) = delta [1, x_t]^T
    dU_t = (
        None
        if prev_hidden is None
        else calculate_weights_gradient(delta, prev_hidden, insert_bias_term=False)
    )  # (H, H) = delta h_{t-1}^T
    return dW_t, dU_t


def get_prev_delta(
    delta: Array,
    recurrent_weights: Array,
    prev_hidden: Array,
    activation_derivative: Activation = relu_derivative,
) -> Array:
    """Carry ``delta`` one step back in time: ``delta_{t-1} = g'(h_{t-1}) * (U^T delta_t)``."""
    dh_prev = send_delta_back(delta, recurrent_weights, remove_bias_term=False)  # (H,) dL/dh_{t-1}
    return activation_derivative(prev_hidden) * dh_prev  # (H,) dL/dz_{t-1}


# ---------------------------------------------------------------- whole sequence: forward / backward


def get_hidden_sequence(
    values_list: Sequence[Array],
    input_weights: Array,
    recurrent_weights: Array,
    activation_function: Activation = relu,
) -> list[Array]:
    """Run the recurrence over ``x_1..x_n`` and return ``[h_1, ..., h_n]``."""
    hidden_list: list[Array] = []
    prev_hidden = None
    for x_t in values_list:
        prev_hidden = get_hidden(
            prev_hidden, recurrent_weights, x_t, input_weights, activation_function
        )
        hidden_list.append(prev_hidden)
    return hidden_list


def get_overall_weights_gradients(
    delta: Array,
    recurrent_weights: Array,
    values_list: Sequence[Array],
    prev_hidden_list: Sequence[Array],
    activation_derivative: Activation = relu_derivative,
) -> tuple[Array, Array | None]:
    """Backpropagation through time from ``delta`` = dL/dz_n back to step 1.

    ``values_list`` holds ``x_1..x_n``; ``prev_hidden_list`` holds at least ``h_1..h_{n-1}``
    (the whole hidden sequence is fine: only the first n - 1 entries are read).
    Returns ``(dW, dU)`` summed over time; ``dU`` is None when n = 1.
    """
    n = len(values_list)
    dW = np.zeros((len(delta), len(values_list[0]) + 1))  # (H, F+1)
    dU = None if n == 1 else np.zeros((len(delta), len(delta)))  # (H, H)
    for t in range(n - 1, 0, -1):  # 0-based t: the step with a previous hidden state
        h_prev = prev_hidden_list[t - 1]
        dW_t, dU_t = get_weights_gradients(delta, values_list[t], h_prev)
        dW += dW_t  # dL/dW through step t
        dU += dU_t  # dL/dU through step t
        delta = get_prev_delta(delta, recurrent_weights, h_prev, activation_derivative)
    dW_1, _ = get_weights_gradients(delta, values_list[0], None)
    dW += dW_1  # step 1: z_1 = W [1, x_1], no U term
    return dW, dU


def recurrent_classifier_forward(
    values_list: Sequence[Array],
    input_weights: Array,
    recurrent_weights: Array,
    output_weights: Array,
    activation_function: Activation = relu,
) -> tuple[list[Array], float]:
    """Hidden sequence and ``p = sigmoid(v . [1, h_n])``: returns ``(hidden_list, p)``."""
    hidden_list = get_hidden_sequence(
        values_list, input_weights, recurrent_weights, activation_function
    )
    output_prob = logistic_layer(hidden_list[-1], output_weights)
    return hidden_list, output_prob


def recurrent_classifier_backward(
    predicted: float,
    actual,
    output_weights: Array,
    recurrent_weights: Array,
    values_list: Sequence[Array],
    hidden_list: Sequence[Array],
    activation_derivative: Activation = relu_derivative,
) -> tuple[Array, Array | None, Array]:
    """Gradients of the sample's cross-entropy: ``(dW, dU, dv)`` (``dU`` None when n = 1)."""
    h_n = hidden_list[-1]
    eps = float(crossent_loss_gradient(predicted, actual))  # dL/dy = p - a
    dv = calculate_weights_gradient(eps, h_n)  # (H+1,) = eps [1, h_n]
    s_n = send_delta_back(eps, output_weights)  # (H,) dL/dh_n = (v eps)[1:]
    delta_n = activation_derivative(h_n) * s_n  # (H,) dL/dz_n
    dW, dU = get_overall_weights_gradients(
        delta_n, recurrent_weights, values_list, hidden_list, activation_derivative
    )
    return dW, dU, dv


# ---------------------------------------------------------------- loss and training


def _floored_log(prob: float, eps: float) -> float:
    """log(max(prob, eps)): a confident wrong answer costs -log(eps), never inf."""
    return float(np.log(max(prob, eps)))


def recurrent_classifier_loss(
    samples: Sequence[tuple[Sequence[Array], int]],
    input_weights: Array,
    recurrent_weights: Array,
    output_weights: Array,
    activation_function: Activation = relu,
    eps: float = 1e-8,
) -> float:
    """Mean over samples of ``-log p`` (label 1) or ``-log(1 - p)`` (label 0), floored at eps."""
    total = 0.0
    for values_list, actual in samples:
        _, p = recurrent_classifier_forward(
            values_list, input_weights, recurrent_weights, output_weights, activation_function
        )
        total -= _floored_log(p if actual == 1 else 1.0 - p, eps)
    return total / len(samples)


def train_epoch_classifier(
    train_samples: Sequence[tuple[Sequence[Array], int]],
    input_weights: Array,
    recurrent_weights: Array,
    output_weights: Array,
    learning_rate: float,
    activation_name: str = "relu",
) -> tuple[Array, Array, Array]:
    """One epoch of plain SGD, one update per sample in order; returns new ``(W, U, v)``.

    The weights passed in are left untouched (updates go to copies).
    """
    g, g_prime = get_activation(activation_name)
    W, U, v = input_weights.copy(), recurrent_weights.copy(), output_weights.copy()
    for values_list, actual in train_samples:
        hidden_list, p = recurrent_classifier_forward(values_list, W, U, v, g)
        dW, dU, dv = recurrent_classifier_backward(p, actual, v, U, values_list, hidden_list, g_prime)
        W = W - learning_rate * dW
        if dU is not None:
            U = U - learning_rate * dU
        v = v - learning_rate * dv
    return W, U, v
