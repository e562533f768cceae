"""The NumPy recurrent classifier: helpers, hand-computed cases, finite differences, PyTorch."""

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
F, H = 3, 4


# ---------------------------------------------------------------- helpers, by hand


def test_insert_bias_puts_a_one_in_front_and_returns_a_new_vector():
    v = np.array([2.0, 3.0])
    out = s.insert_bias(v)
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(v, [2.0, 3.0])


def test_linear_uses_the_first_column_as_bias():
    W = np.array([[0.5, 1.0, 2.0], [-1.0, 0.0, 3.0]])
    np.testing.assert_allclose(s.linear(np.array([1.0, -1.0]), W), [0.5 + 1 - 2, -1 - 3])


def test_logistic_and_softmax_layers():
    assert s.logistic_layer(np.array([0.0]), np.array([0.0, 5.0])) == pytest.approx(0.5)
    p = s.softmax_layer(np.array([1.0]), np.array([[0.0, 1.0], [0.0, -1.0]]))
    np.testing.assert_allclose(p, [np.e / (np.e + 1 / np.e), (1 / np.e) / (np.e + 1 / np.e)])


def test_activation_derivatives_are_functions_of_the_output():
    z = np.array([-2.0, -0.5, 0.3, 1.7])
    for name, (g, g_prime) in ACTS.items():
        h = g(z)
        numeric = (g(z + 1e-6) - g(z - 1e-6)) / 2e-6
        np.testing.assert_allclose(g_prime(h), numeric, rtol=1e-6, atol=1e-9, err_msg=name)
    np.testing.assert_array_equal(s.relu_derivative(np.array([0.0, 2.0])), [0.0, 1.0])


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise"):
        np.testing.assert_allclose(s.sigmoid(np.array([-1000.0, 1000.0])), [0.0, 1.0])


def test_unknown_activation_name_lists_the_choices():
    with pytest.raises(ValueError, match="valid choices: relu, sigmoid, tanh"):
        s.get_activation("gelu")


def test_weights_gradient_and_send_delta_back_by_hand():
    delta = np.array([1.0, 2.0])
    np.testing.assert_array_equal(
        s.calculate_weights_gradient(delta, np.array([3.0])), [[1.0, 3.0], [2.0, 6.0]]
    )
    np.testing.assert_array_equal(
        s.calculate_weights_gradient(delta, np.array([3.0]), insert_bias_term=False), [[3.0], [6.0]]
    )
    np.testing.assert_array_equal(s.calculate_weights_gradient(2.0, np.array([3.0])), [2.0, 6.0])
    Wt = np.array([[9.0, 1.0], [9.0, 2.0]])
    np.testing.assert_array_equal(s.send_delta_back(delta, Wt), [5.0])
    np.testing.assert_array_equal(s.send_delta_back(delta, Wt, remove_bias_term=False), [27.0, 5.0])
    np.testing.assert_array_equal(s.send_delta_back(0.5, np.array([9.0, 2.0, 4.0])), [1.0, 2.0])
    np.testing.assert_array_equal(s.crossent_loss_gradient(0.75, 1), -0.25)


# ---------------------------------------------------------------- a two-step case, by hand


def hand_case():
    W = np.array([[0.5, 1.0]])  # bias 0.5, input weight 1
    U = np.array([[0.5]])
    v = np.array([0.1, 2.0])
    xs = [np.array([1.0]), np.array([2.0])]
    return W, U, v, xs


def test_two_step_forward_and_backward_by_hand():
    W, U, v, xs = hand_case()
    hidden, p = s.recurrent_classifier_forward(xs, W, U, v)
    # z_1 = 0.5 + 1 = 1.5; z_2 = 0.5 + 2 + 0.5 * 1.5 = 3.25; y = 0.1 + 2 * 3.25 = 6.6
    np.testing.assert_allclose([h[0] for h in hidden], [1.5, 3.25])
    assert p == pytest.approx(1 / (1 + np.exp(-6.6)), rel=1e-15)
    dW, dU, dv = s.recurrent_classifier_backward(p, 0, v, U, xs, hidden)
    # label 0: eps = p; delta_2 = 2p; delta_1 = 0.5 * 2p = p
    np.testing.assert_allclose(dv, [p, 3.25 * p])
    np.testing.assert_allclose(dW, [[2 * p + p, 2 * p * 2 + p * 1]])
    np.testing.assert_allclose(dU, [[2 * p * 1.5]])


def test_one_step_sequence_has_no_recurrent_gradient():
    W, U, v, xs = hand_case()
    hidden, p = s.recurrent_classifier_forward(xs[:1], W, U, v)
    _, dU, _ = s.recurrent_classifier_backward(p, 1, v, U, xs[:1], hidden)
    assert dU is None
    _, U_new, _ = s.train_epoch_classifier([(xs[:1], 1)], W, U, v, 0.1)
    np.testing.assert_array_equal(U_new, U)


def test_get_hidden_and_recurrent_linear_match_the_formula():
    W, U, v, xs = hand_case()
    h1 = np.array([1.5])
    np.testing.assert_allclose(s.recurrent_linear(xs[1], W, h1, U), [3.25])
    np.testing.assert_allclose(s.recurrent_linear(xs[1], W), [2.5])
    np.testing.assert_allclose(s.get_hidden(h1, U, xs[1], W, s.tanh), np.tanh([3.25]))
    dW_t, dU_t = s.get_weights_gradients(np.array([2.0]), xs[1], h1)
    np.testing.assert_allclose(dW_t, [[2.0, 4.0]])
    np.testing.assert_allclose(dU_t, [[3.0]])
    np.testing.assert_allclose(s.get_prev_delta(np.array([2.0]), U, h1), [1.0])
    np.testing.assert_allclose(s.get_prev_delta(np.array([2.0]), U, np.array([0.0])), [0.0])


# ---------------------------------------------------------------- finite differences


@pytest.mark.parametrize("name", sorted(ACTS))
@pytest.mark.parametrize("label", [0, 1])
def test_gradients_match_finite_differences(name, label, rng, check):
    g, g_prime = ACTS[name]
    W, U, v = check.random_weights(rng, F, H)
    xs = check.random_sequence(rng, 5, F)

    def loss():
        return s.recurrent_classifier_loss([(xs, label)], W, U, v, g)

    hidden, p = s.recurrent_classifier_forward(xs, W, U, v, g)
    dW, dU, dv = s.recurrent_classifier_backward(p, label, v, U, xs, hidden, g_prime)
    for analytic, param in [(dW, W), (dU, U), (dv, v)]:
        assert check.relative_error(analytic, check.numerical_gradient(loss, param)) < 1e-6


# ---------------------------------------------------------------- PyTorch, float64


@pytest.mark.parametrize("name", ["relu", "tanh"])
@pytest.mark.parametrize("n", [1, 2, 7])
def test_matches_torch_rnn_values_and_autograd_gradients(name, n, rng, check):
    g, g_prime = ACTS[name]
    W, U, v = check.random_weights(rng, F, H)
    xs = check.random_sequence(rng, n, F)
    label = n % 2
    hidden, p = s.recurrent_classifier_forward(xs, W, U, v, g)
    dW, dU, dv = s.recurrent_classifier_backward(p, label, v, U, xs, hidden, g_prime)

    rnn, lin = check.torch_twin(W, U, v, name)
    hs, _ = rnn(torch.from_numpy(np.array(xs))[None])  # (1, T, H)
    p_t = torch.sigmoid(lin(hs[0, -1]))[0]
    loss = -torch.log(p_t if label == 1 else 1 - p_t)
    loss.backward()
    tW, tU, tv = check.torch_grads(rnn, lin, vector_out=True)

    np.testing.assert_allclose(np.array(hidden), hs[0].detach().numpy(), rtol=1e-12, atol=1e-14)
    assert p == pytest.approx(p_t.item(), rel=1e-12)
    np.testing.assert_allclose(dW, tW, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(dv, tv, rtol=1e-10, atol=1e-13)
    if n == 1:
        assert dU is None and np.all(tU == 0)
    else:
        np.testing.assert_allclose(dU, tU, rtol=1e-10, atol=1e-13)


def test_one_sgd_epoch_matches_torch_sgd(rng, check):
    W, U, v = check.random_weights(rng, F, H)
    samples = [(check.random_sequence(rng, n, F), n % 2) for n in [3, 1, 5, 2, 4]]
    W1, U1, v1 = s.train_epoch_classifier(samples, W, U, v, 0.3, "tanh")

    rnn, lin = check.torch_twin(W, U, v, "tanh")
    opt = torch.optim.SGD([p for p in [*rnn.parameters(), *lin.parameters()] if p.requires_grad], lr=0.3)
    for xs, label in samples:
        opt.zero_grad()
        hs, _ = rnn(torch.from_numpy(np.array(xs))[None])
        y = lin(hs[0, -1])
        torch.nn.functional.binary_cross_entropy_with_logits(y, torch.tensor([float(label)], dtype=torch.float64)).backward()
        opt.step()
    tW = torch.cat([rnn.bias_ih_l0[:, None], rnn.weight_ih_l0], 1).detach().numpy()
    tv = torch.cat([lin.bias, lin.weight[0]]).detach().numpy()
    np.testing.assert_allclose(W1, tW, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(U1, rnn.weight_hh_l0.detach().numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(v1, tv, rtol=1e-10, atol=1e-13)


# ---------------------------------------------------------------- training, loss, inputs


def test_one_epoch_equals_manual_updates_in_order(rng, check):
    W, U, v = check.random_weights(rng, F, H)
    samples = [(check.random_sequence(rng, n, F), n % 2) for n in [4, 2, 3]]
    W1, U1, v1 = s.train_epoch_classifier(samples, W, U, v, 0.05, "relu")
    Wm, Um, vm = W, U, v
    for xs, label in samples:
        hidden, p = s.recurrent_classifier_forward(xs, Wm, Um, vm, s.relu)
        dW, dU, dv = s.recurrent_classifier_backward(p, label, vm, Um, xs, hidden, s.relu_derivative)
        Wm, Um, vm = Wm - 0.05 * dW, Um - 0.05 * dU, vm - 0.05 * dv
    np.testing.assert_array_equal(W1, Wm)
    np.testing.assert_array_equal(U1, Um)
    np.testing.assert_array_equal(v1, vm)


def test_training_lowers_the_loss(rng, check):
    W, U, v = check.random_weights(rng, F, H)
    samples = [(check.random_sequence(rng, 4, F), i % 2) for i in range(20)]
    before = s.recurrent_classifier_loss(samples, W, U, v, s.tanh)
    for _ in range(20):
        W, U, v = s.train_epoch_classifier(samples, W, U, v, 0.1, "tanh")
    assert s.recurrent_classifier_loss(samples, W, U, v, s.tanh) < before


def test_loss_is_mean_cross_entropy(rng, check):
    W, U, v = check.random_weights(rng, F, H)
    samples = [(check.random_sequence(rng, 3, F), 1), (check.random_sequence(rng, 2, F), 0)]
    p = [s.recurrent_classifier_forward(xs, W, U, v)[1] for xs, _ in samples]
    expected = (-np.log(p[0]) - np.log(1 - p[1])) / 2
    assert s.recurrent_classifier_loss(samples, W, U, v) == pytest.approx(expected, rel=1e-14)


def test_confident_wrong_prediction_costs_minus_log_eps_not_inf():
    W, U, v, xs = hand_case()
    v_sure = np.array([1000.0, 0.0])  # p rounds to exactly 1.0
    assert s.recurrent_classifier_loss([(xs, 0)], W, U, v_sure) == pytest.approx(18.420680743952367)
    assert s.recurrent_classifier_loss([(xs, 0)], W, U, v_sure, eps=1e-3) == pytest.approx(-np.log(1e-3))
    assert s.recurrent_classifier_loss([(xs, 1)], W, U, v_sure) == pytest.approx(0.0, abs=1e-12)


def test_inputs_are_left_unmodified(rng, check):
    W, U, v = check.random_weights(rng, F, H)
    xs = check.random_sequence(rng, 4, F)
    before = [a.copy() for a in (W, U, v, *xs)]
    hidden, p = s.recurrent_classifier_forward(xs, W, U, v)
    hidden_before = [h.copy() for h in hidden]
    s.recurrent_classifier_backward(p, 1, v, U, xs, hidden)
    s.train_epoch_classifier([(xs, 1), (xs, 0)], W, U, v, 0.5)
    s.recurrent_classifier_loss([(xs, 1)], W, U, v)
    for a, b in zip((W, U, v, *xs), before):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(hidden, hidden_before):
        np.testing.assert_array_equal(a, b)


def test_train_epoch_refuses_an_unknown_activation(rng, check):
    W, U, v = check.random_weights(rng, F, H)
    with pytest.raises(ValueError, match="unknown activation 'elu'"):
        s.train_epoch_classifier([([np.zeros(F)], 1)], W, U, v, 0.1, "elu")
