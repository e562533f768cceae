"""The NumPy recurrent tagger: a hand-computed case, finite differences, PyTorch, training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnlab.scratch as s

ACTS = {
    "relu": (s.relu, s.relu_derivative),
    "tanh": (s.tanh, s.tanh_derivative),
    "sigmoid": (s.sigmoid, s.sigmoid_derivative),
}
F, H, O = 3, 4, 5


def sigm(z):
    return 1 / (1 + np.exp(-z))


def test_two_step_tagger_by_hand():
    W = np.array([[0.5, 1.0]])
    U = np.array([[0.5]])
    V = np.array([[0.0, 1.0], [0.0, -1.0]])  # logits (h, -h): p = (sigm(2h), 1 - sigm(2h))
    xs = [np.array([1.0]), np.array([2.0])]
    actuals = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]
    hidden, outputs = s.recurrent_tagger_forward(xs, W, U, V)
    h1, h2 = 1.5, 3.25
    q1, q2 = sigm(2 * h1), sigm(2 * h2)
    np.testing.assert_allclose([h[0] for h in hidden], [h1, h2])
    np.testing.assert_allclose(outputs, [[q1, 1 - q1], [q2, 1 - q2]], rtol=1e-12)

    dW_l, dU_l, dV_l = s.get_intermediate_weights_gradients(outputs, actuals, V, U, xs, hidden)
    s1 = 2 * (q1 - 1)  # delta at step 1 from target 1: V^T eps = (q1-1) - (1-q1)
    np.testing.assert_allclose(dW_l[0], [[s1, s1 * 1.0]])
    assert dU_l[0] is None
    # target 2: eps = (q2, -q2); delta_2 = 2 q2; delta_1 = 0.5 * 2 q2 = q2
    np.testing.assert_allclose(dW_l[1], [[2 * q2 + q2, 2 * q2 * 2 + q2 * 1]])
    np.testing.assert_allclose(dU_l[1], [[2 * q2 * h1]])
    np.testing.assert_allclose(dV_l[0], np.outer([q1 - 1, 1 - q1], [1, h1]))
    np.testing.assert_allclose(dV_l[1], np.outer([q2, -q2], [1, h2]))

    dW, dU, dV = s.recurrent_tagger_backward(outputs, actuals, V, U, xs, hidden)
    np.testing.assert_allclose(dW, (dW_l[0] + dW_l[1]) / 2)
    np.testing.assert_allclose(dU, dU_l[1] / 1)  # averaged over tau = 2..n: one term
    np.testing.assert_allclose(dV, (dV_l[0] + dV_l[1]) / 2)
    loss = s.tagged_sample_loss(xs, actuals, W, U, V)
    assert loss == pytest.approx((-np.log(q1) - np.log(1 - q2)) / 2, rel=1e-14)


def test_get_output_sequence_is_softmax_per_step(rng, check):
    _, _, V = check.random_weights(rng, F, H, O)
    hidden = [rng.normal(size=H) for _ in range(3)]
    outputs = s.get_output_sequence(hidden, V)
    for h, p in zip(hidden, outputs):
        logits = V @ np.concatenate([[1.0], h])
        np.testing.assert_allclose(p, np.exp(logits) / np.exp(logits).sum(), rtol=1e-14)


@pytest.mark.parametrize("name", sorted(ACTS))
def test_gradients_match_finite_differences(name, rng, check):
    g, g_prime = ACTS[name]
    n = 5
    W, U, V = check.random_weights(rng, F, H, O)
    xs, actuals = check.random_sequence(rng, n, F), check.random_targets(rng, n, O)

    def loss():
        return s.tagged_sample_loss(xs, actuals, W, U, V, g)

    hidden, outputs = s.recurrent_tagger_forward(xs, W, U, V, g)
    dW, dU, dV = s.recurrent_tagger_backward(outputs, actuals, V, U, xs, hidden, g_prime)
    assert check.relative_error(dW, check.numerical_gradient(loss, W)) < 1e-6
    assert check.relative_error(dV, check.numerical_gradient(loss, V)) < 1e-6
    # dU averages over n - 1 target steps while the loss averages over n
    assert check.relative_error(dU, n / (n - 1) * check.numerical_gradient(loss, U)) < 1e-6


@pytest.mark.parametrize("name", sorted(ACTS))
def test_every_intermediate_gradient_matches_finite_differences(name, rng, check):
    """Each target step's gradients are those of its own loss -log p_tau[actual]."""
    g, g_prime = ACTS[name]
    n = 4
    W, U, V = check.random_weights(rng, F, H, O)
    xs, actuals = check.random_sequence(rng, n, F), check.random_targets(rng, n, O)
    hidden, outputs = s.recurrent_tagger_forward(xs, W, U, V, g)
    dW_l, dU_l, dV_l = s.get_intermediate_weights_gradients(
        outputs, actuals, V, U, xs, hidden, g_prime
    )
    for tau in range(n):

        def loss_tau():
            p = s.recurrent_tagger_forward(xs, W, U, V, g)[1][tau]
            return -np.log(p @ actuals[tau])

        assert check.relative_error(dW_l[tau], check.numerical_gradient(loss_tau, W)) < 1e-6
        assert check.relative_error(dV_l[tau], check.numerical_gradient(loss_tau, V)) < 1e-6
        if tau == 0:
            assert dU_l[0] is None
        else:
            assert check.relative_error(dU_l[tau], check.numerical_gradient(loss_tau, U)) < 1e-6


@pytest.mark.parametrize("name", ["relu", "tanh"])
@pytest.mark.parametrize("n", [2, 6])
def test_matches_torch_rnn_values_and_autograd_gradients(name, n, rng, check):
    g, g_prime = ACTS[name]
    W, U, V = check.random_weights(rng, F, H, O)
    xs, actuals = check.random_sequence(rng, n, F), check.random_targets(rng, n, O)
    hidden, outputs = s.recurrent_tagger_forward(xs, W, U, V, g)
    dW, dU, dV = s.recurrent_tagger_backward(outputs, actuals, V, U, xs, hidden, g_prime)

    rnn, lin = check.torch_twin(W, U, V, name)
    hs, _ = rnn(torch.from_numpy(np.array(xs))[None])  # (1, T, H)
    logits = lin(hs[0])  # (T, O)
    targets = torch.tensor([int(np.argmax(a)) for a in actuals])
    loss = torch.nn.functional.cross_entropy(logits, targets)  # mean over the T steps
    loss.backward()
    tW, tU, tV = check.torch_grads(rnn, lin, vector_out=False)

    np.testing.assert_allclose(np.array(hidden), hs[0].detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.array(outputs), torch.softmax(logits, -1).detach().numpy(), rtol=1e-12)
    assert s.tagged_sample_loss(xs, actuals, W, U, V, g) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(dW, tW, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(dV, tV, rtol=1e-10, atol=1e-13)
    # the convention averages dU over the n - 1 steps that have one: n/(n-1) x autograd's
    np.testing.assert_allclose(dU, n / (n - 1) * tU, rtol=1e-10, atol=1e-13)


def test_one_step_sequence_has_no_recurrent_gradient(rng, check):
    W, U, V = check.random_weights(rng, F, H, O)
    xs, actuals = check.random_sequence(rng, 1, F), check.random_targets(rng, 1, O)
    hidden, outputs = s.recurrent_tagger_forward(xs, W, U, V)
    assert s.recurrent_tagger_backward(outputs, actuals, V, U, xs, hidden)[1] is None
    np.testing.assert_array_equal(s.train_epoch_tagger([(xs, actuals)], W, U, V, 0.1)[1], U)


def test_one_epoch_equals_manual_updates_in_order(rng, check):
    W, U, V = check.random_weights(rng, F, H, O)
    samples = [(check.random_sequence(rng, n, F), check.random_targets(rng, n, O)) for n in [3, 5, 2]]
    W1, U1, V1 = s.train_epoch_tagger(samples, W, U, V, 0.2, "tanh")
    Wm, Um, Vm = W, U, V
    for xs, actuals in samples:
        hidden, outputs = s.recurrent_tagger_forward(xs, Wm, Um, Vm, s.tanh)
        dW, dU, dV = s.recurrent_tagger_backward(outputs, actuals, Vm, Um, xs, hidden, s.tanh_derivative)
        Wm, Um, Vm = Wm - 0.2 * dW, Um - 0.2 * dU, Vm - 0.2 * dV
    np.testing.assert_array_equal(W1, Wm)
    np.testing.assert_array_equal(U1, Um)
    np.testing.assert_array_equal(V1, Vm)


def test_training_lowers_the_loss(rng, check):
    W, U, V = check.random_weights(rng, F, H, O)
    samples = [(check.random_sequence(rng, 4, F), check.random_targets(rng, 4, O)) for _ in range(10)]
    before = s.recurrent_tagger_loss(samples, W, U, V, s.tanh)
    for _ in range(10):
        W, U, V = s.train_epoch_tagger(samples, W, U, V, 0.1, "tanh")
    assert s.recurrent_tagger_loss(samples, W, U, V, s.tanh) < before


def test_loss_is_mean_over_samples_of_mean_over_steps(rng, check):
    W, U, V = check.random_weights(rng, F, H, O)
    samples = [(check.random_sequence(rng, n, F), check.random_targets(rng, n, O)) for n in [2, 5]]
    per_sample = [s.tagged_sample_loss(xs, a, W, U, V) for xs, a in samples]
    assert s.recurrent_tagger_loss(samples, W, U, V) == pytest.approx(np.mean(per_sample), rel=1e-14)


def test_confident_wrong_prediction_costs_minus_log_eps_not_inf():
    W, U = np.array([[1.0, 0.0]]), np.array([[0.0]])  # h = 1 whatever the input
    V = np.array([[1000.0, 0.0], [0.0, 0.0]])  # class 0 gets all the mass
    xs, actuals = [np.array([0.0])] * 2, [np.array([0.0, 1.0])] * 2
    assert s.tagged_sample_loss(xs, actuals, W, U, V) == pytest.approx(18.420680743952367)
    assert s.recurrent_tagger_loss([(xs, actuals)], W, U, V) == pytest.approx(-np.log(1e-8))


def test_inputs_are_left_unmodified(rng, check):
    W, U, V = check.random_weights(rng, F, H, O)
    xs, actuals = check.random_sequence(rng, 4, F), check.random_targets(rng, 4, O)
    before = [a.copy() for a in (W, U, V, *xs, *actuals)]
    hidden, outputs = s.recurrent_tagger_forward(xs, W, U, V)
    saved = [a.copy() for a in (*hidden, *outputs)]
    s.recurrent_tagger_backward(outputs, actuals, V, U, xs, hidden)
    s.train_epoch_tagger([(xs, actuals)] * 2, W, U, V, 0.5)
    s.recurrent_tagger_loss([(xs, actuals)], W, U, V)
    for a, b in zip((W, U, V, *xs, *actuals), before):
        np.testing.assert_array_equal(a, b)
    for a, b in zip((*hidden, *outputs), saved):
        np.testing.assert_array_equal(a, b)
