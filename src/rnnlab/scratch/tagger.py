"""A recurrent tagger (and, fed its own next character, a language model), step by step.

Same hidden recurrence as :mod:`rnnlab.scratch.classifier`; the output is read at *every*
step. Shapes: F input features, H hidden units, O output classes.

    W (H, F + 1)   U (H, H)   V (O, H + 1)  (first columns = biases)

Forward::

    h_t = g(W [1, x_t] + U h_{t-1})        p_t = softmax(V [1, h_t])      t = 1..n

Backward. Each target step tau is its own little classifier problem: its error
``eps_tau = p_tau - a_tau`` (a_tau one-hot) is backpropagated exactly like the classifier's,
through the sequence truncated at tau::

    dV_tau      = eps_tau [1, h_tau]^T
    delta_tau   = g'(h_tau) * (V^T eps_tau)[1:]
    dW_tau, dU_tau = BPTT from delta_tau over x_1..x_tau     (dU_1 = None)

The sequence's gradients are averages: ``dW`` and ``dV`` over tau = 1..n, ``dU`` over
tau = 2..n (divided by n - 1, since step 1 has no recurrent gradient). ``dW`` and ``dV`` are
thus the exact gradients of the time-averaged loss; ``dU`` is n / (n - 1) times it.
This per-tau form costs O(n^2) per sequence; it is kept because it reads like the
classifier. :mod:`rnnlab.scratch.vectorized` gets the same numbers in O(n).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from rnnlab.scratch.activations import get_activation, relu, relu_derivative
from rnnlab.scratch.classifier import get_hidden_sequence, get_overall_weights_gradients
from rnnlab.scratch.layers import (
    calculate_weights_gradient,
    crossent_loss_gradient,
    send_delta_back,
    softmax_layer,
)

Array = np.ndarray
Activation = Callable[[Array], Array]


# ---------------------------------------------------------------- forward / backward


def get_output_sequence(hidden_list: Sequence[Array], weights: Array) -> list[Array]:
    """``[softmax(V [1, h_t]) for each t]``: one distribution (O,) per step."""
    return [softmax_layer(h_t, weights) for h_t in hidden_list]


def recurrent_tagger_forward(
    values_list: Sequence[Array],
    input_weights: Array,
    recurrent_weights: Array,
    output_weights: Array,
    activation_function: Activation = relu,
) -> tuple[list[Array], list[Array]]:
    """Hidden sequence and per-step distributions: ``(hidden_list, outputs_list)``."""
    hidden_list = get_hidden_sequence(
        values_list, input_weights, recurrent_weights, activation_function
    )
    return hidden_list, get_output_sequence(hidden_list, output_weights)


def get_intermediate_weights_gradients(
    outputs_list: Sequence[Array],
    actuals_list: Sequence[Array],
    output_weights: Array,
    recurrent_weights: Array,
    values_list: Sequence[Array],
    hidden_list: Sequence[Array],
    activation_derivative: Activation = relu_derivative,
) -> tuple[list[Array], list[Array | None], list[Array]]:
    """Per-target-step gradients ``(dW_list, dU_list, dV_list)``; ``dU_list[0]`` is None."""
    dW_list, dU_list, dV_list = [], [], []
    for tau in range(len(values_list)):  # 0-based target step
        h_tau = hidden_list[tau]
        eps_tau = crossent_loss_gradient(outputs_list[tau], actuals_list[tau])  # (O,) dL_tau/dlogits
        dV_tau = calculate_weights_gradient(eps_tau, h_tau)  # (O, H+1) = eps [1, h_tau]^T
        s_tau = send_delta_back(eps_tau, output_weights)  # (H,) dL_tau/dh_tau = (V^T eps)[1:]
        delta_tau = activation_derivative(h_tau) * s_tau  # (H,) dL_tau/dz_tau
        dW_tau, dU_tau = get_overall_weights_gradients(
            delta_tau,
            recurrent_weights,
            values_list[: tau + 1],
            hidden_list[: tau + 1],
            activation_derivative,
        )  # BPTT over the sequence truncated at tau
        dW_list.append(dW_tau)
        dU_list.append(dU_tau)
        dV_list.append(dV_tau)
    return dW_list, dU_list, dV_list


def recurrent_tagger_backward(
    outputs_list: Sequence[Array],
    actuals_list: Sequence[Array],
    output_weights: Array,
    recurrent_weights: Array,
    values_list: Sequence[Array],
    hidden_list: Sequence[Array],
    activation_derivative: Activation = relu_derivative,
) -> tuple[Array, Array | None, Array]:
    """Averaged gradients ``(dW, dU, dV)``; ``dU`` averages tau = 2..n (None when n = 1)."""
    dW_list, dU_list, dV_list = get_intermediate_weights_gradients(
        outputs_list,
        actuals_list,
        output_weights,
        recurrent_weights,
        values_list,
        hidden_list,
        activation_derivative,
    )
    n = len(values_list)
    dW = sum(dW_list) / n  # mean over tau = 1..n
    dU = None if n == 1 else sum(dU_list[1:]) / (n - 1)  # mean over tau = 2..n
    dV = sum(dV_list) / n  # mean over tau = 1..n
    return dW, dU, dV


# ---------------------------------------------------------------- loss and training


def tagged_sample_loss(
    values_list: Sequence[Array],
    actuals_list: Sequence[Array],
    input_weights: Array,
    recurrent_weights: Array,
    output_weights: Array,
    activation_function: Activation = relu,
    eps: float = 1e-8,
) -> float:
    """Mean over timesteps of ``-log p_t[actual_t]``, the probability floored at ``eps``."""
    _, outputs_list = recurrent_tagger_forward(
        values_list, input_weights, recurrent_weights, output_weights, activation_function
    )
    total = 0.0
    for p_t, a_t in zip(outputs_list, actuals_list):
        total -= np.log(max(float(p_t[int(np.argmax(a_t))]), eps))
    return total / len(values_list)


def recurrent_tagger_loss(
    samples: Sequence[tuple[Sequence[Array], Sequence[Array]]],
    input_weights: Array,
    recurrent_weights: Array,
    output_weights: Array,
    activation_function: Activation = relu,
    eps: float = 1e-8,
) -> float:
    """Mean over samples of :func:`tagged_sample_loss`."""
    losses = [
        tagged_sample_loss(
            values_list,
            actuals_list,
            input_weights,
            recurrent_weights,
            output_weights,
            activation_function,
            eps,
        )
        for values_list, actuals_list in samples
    ]
    return float(np.mean(losses))


def train_epoch_tagger(
    train_samples: Sequence[tuple[Sequence[Array], Sequence[Array]]],
    input_weights: Array,
    recurrent_weights: Array,
    output_weights: Array,
    learning_rate: float,
    activation_name: str = "relu",
) -> tuple[Array, Array, Array]:
    """One epoch of plain SGD, one update per sample in order; returns new ``(W, U, V)``.

    The weights passed in are left untouched (updates go to copies).
    """
    g, g_prime = get_activation(activation_name)
    W, U, V = input_weights.copy(), recurrent_weights.copy(), output_weights.copy()
    for values_list, actuals_list in train_samples:
        hidden_list, outputs_list = recurrent_tagger_forward(values_list, W, U, V, g)
        dW, dU, dV = recurrent_tagger_backward(
            outputs_list, actuals_list, V, U, values_list, hidden_list, g_prime
        )
        W = W - learning_rate * dW
        if dU is not None:
            U = U - learning_rate * dU
        V = V - learning_rate * dV
    return W, U, V
