"""The vectorised NumPy code gives the step-by-step code's numbers, batch or not."""

from __future__ import annotations

import numpy as np
import pytest

import rnnlab.scratch as s
from rnnlab.scratch import vectorized as vec

ACTS = {
    "relu": (s.relu, s.relu_derivative),
    "tanh": (s.tanh, s.tanh_derivative),
    "sigmoid": (s.sigmoid, s.sigmoid_derivative),
}
F, H, O = 3, 4, 5
LENGTHS = [4, 1, 6, 2, 5]
TOL = dict(rtol=1e-10, atol=1e-13)


def test_pad_sequences_and_one_hot():
    X, L = s.pad_sequences([[np.ones(2)] * 3, [np.full(2, 2.0)]])
    assert X.shape == (2, 3, 2)
    np.testing.assert_array_equal(L, [3, 1])
    np.testing.assert_array_equal(X[1], [[2.0, 2.0], [0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(s.one_hot(np.array([[2, 0]]), 3), [[[0, 0, 1], [1, 0, 0]]])
    with pytest.raises(ValueError, match="at least one step"):
        s.pad_sequences([[np.ones(2)], []])


@pytest.mark.parametrize("name", sorted(ACTS))
def test_classifier_batch_equals_mean_of_per_sample_gradients(name, rng, check):
    g, g_prime = ACTS[name]
    W, U, v = check.random_weights(rng, F, H)
    seqs = [check.random_sequence(rng, n, F) for n in LENGTHS]
    labels = np.array([1, 0, 1, 1, 0])
    X, L = s.pad_sequences(seqs)

    Hs, p = s.classifier_forward(X, L, W, U, v, name)
    loss, dW, dU, dv = s.classifier_loss_and_gradients(X, L, labels, W, U, v, name)

    grads = []
    for b, (xs, a) in enumerate(zip(seqs, labels)):
        hidden, p_b = s.recurrent_classifier_forward(xs, W, U, v, g)
        np.testing.assert_allclose(Hs[b, : len(xs)], np.array(hidden), **TOL)
        assert p[b] == pytest.approx(p_b, rel=1e-12)
        gW, gU, gv = s.recurrent_classifier_backward(p_b, a, v, U, xs, hidden, g_prime)
        grads.append((gW, np.zeros((H, H)) if gU is None else gU, gv))
    samples = list(zip(seqs, labels))
    assert loss == pytest.approx(s.recurrent_classifier_loss(samples, W, U, v, g), rel=1e-12)
    for ours, theirs in zip((dW, dU, dv), zip(*grads)):
        np.testing.assert_allclose(ours, np.mean(theirs, axis=0), **TOL)


@pytest.mark.parametrize("name", sorted(ACTS))
def test_tagger_batch_equals_mean_of_per_sample_gradients(name, rng, check):
    g, g_prime = ACTS[name]
    W, U, V = check.random_weights(rng, F, H, O)
    seqs = [check.random_sequence(rng, n, F) for n in LENGTHS]
    targets = [check.random_targets(rng, n, O) for n in LENGTHS]
    X, L = s.pad_sequences(seqs)
    A, _ = s.pad_sequences(targets)

    Hs, P = s.tagger_forward(X, L, W, U, V, name)
    loss, dW, dU, dV = s.tagger_loss_and_gradients(X, A, L, W, U, V, name)

    grads = []
    for b, (xs, acts) in enumerate(zip(seqs, targets)):
        hidden, outputs = s.recurrent_tagger_forward(xs, W, U, V, g)
        np.testing.assert_allclose(Hs[b, : len(xs)], np.array(hidden), **TOL)
        np.testing.assert_allclose(P[b, : len(xs)], np.array(outputs), **TOL)
        gW, gU, gV = s.recurrent_tagger_backward(outputs, acts, V, U, xs, hidden, g_prime)
        grads.append((gW, np.zeros((H, H)) if gU is None else gU, gV))
    samples = list(zip(seqs, targets))
    assert loss == pytest.approx(s.recurrent_tagger_loss(samples, W, U, V, g), rel=1e-12)
    for ours, theirs in zip((dW, dU, dV), zip(*grads)):
        np.testing.assert_allclose(ours, np.mean(theirs, axis=0), **TOL)


def test_vectorised_gradients_match_finite_differences(rng, check):
    W, U, V = check.random_weights(rng, F, H, O)
    n = 5
    X = rng.normal(size=(1, n, F))
    A = s.one_hot(rng.integers(O, size=(1, n)), O)
    L = np.array([n])
    _, dW, dU, dV = s.tagger_loss_and_gradients(X, A, L, W, U, V, "tanh")

    def loss():
        return s.tagger_loss_and_gradients(X, A, L, W, U, V, "tanh")[0]

    assert check.relative_error(dW, check.numerical_gradient(loss, W)) < 1e-6
    assert check.relative_error(dV, check.numerical_gradient(loss, V)) < 1e-6
    assert check.relative_error(dU, n / (n - 1) * check.numerical_gradient(loss, U)) < 1e-6

    labels = np.array([1])
    _, cW, cU, cv = s.classifier_loss_and_gradients(X, L, labels, W, U, V[0], "relu")

    def closs():
        return s.classifier_loss_and_gradients(X, L, labels, W, U, V[0], "relu")[0]

    v = V[0]  # a view: perturbing it perturbs V[0]
    for analytic, param in [(cW, W), (cU, U), (cv, v)]:
        assert check.relative_error(analytic, check.numerical_gradient(closs, param)) < 1e-6


@pytest.mark.parametrize("name", ["relu", "tanh"])
def test_batch_of_one_training_equals_the_step_by_step_epoch(name, rng, check):
    W, U, v = check.random_weights(rng, F, H)
    seqs = [check.random_sequence(rng, n, F) for n in LENGTHS]
    labels = np.array([1, 0, 0, 1, 1])
    X, L = s.pad_sequences(seqs)
    loop = s.train_epoch_classifier(list(zip(seqs, labels)), W, U, v, 0.1, name)
    fast = s.train_epoch_classifier_vectorized(X, L, labels, W, U, v, 0.1, name)
    for a, b in zip(loop, fast):
        np.testing.assert_allclose(a, b, **TOL)

    _, _, V = check.random_weights(rng, F, H, O)
    targets = [check.random_targets(rng, n, O) for n in LENGTHS]
    A, _ = s.pad_sequences(targets)
    loop = s.train_epoch_tagger(list(zip(seqs, targets)), W, U, V, 0.1, name)
    fast = s.train_epoch_tagger_vectorized(X, A, L, W, U, V, 0.1, name)
    for a, b in zip(loop, fast):
        np.testing.assert_allclose(a, b, **TOL)


def test_minibatch_training_steps_on_the_mean_gradient(rng, check):
    W, U, V = check.random_weights(rng, F, H, O)
    seqs = [check.random_sequence(rng, n, F) for n in LENGTHS]
    targets = [check.random_targets(rng, n, O) for n in LENGTHS]
    X, L = s.pad_sequences(seqs)
    A, _ = s.pad_sequences(targets)
    got = s.train_epoch_tagger_vectorized(X, A, L, W, U, V, 0.1, "tanh", batch_size=2)
    Wm, Um, Vm = W, U, V
    for start in range(0, len(seqs), 2):
        _, dW, dU, dV = s.tagger_loss_and_gradients(
            X[start : start + 2], A[start : start + 2], L[start : start + 2], Wm, Um, Vm, "tanh"
        )
        Wm, Um, Vm = Wm - 0.1 * dW, Um - 0.1 * dU, Vm - 0.1 * dV
    for a, b in zip(got, (Wm, Um, Vm)):
        np.testing.assert_allclose(a, b, **TOL)


def test_vectorised_code_leaves_inputs_unmodified(rng, check):
    W, U, V = check.random_weights(rng, F, H, O)
    X, L = s.pad_sequences([check.random_sequence(rng, n, F) for n in LENGTHS])
    A, _ = s.pad_sequences([check.random_targets(rng, n, O) for n in LENGTHS])
    before = [a.copy() for a in (W, U, V, X, A, L)]
    s.tagger_loss_and_gradients(X, A, L, W, U, V)
    s.train_epoch_tagger_vectorized(X, A, L, W, U, V, 0.5, batch_size=2)
    s.train_epoch_classifier_vectorized(X, L, np.ones(len(L)), W, U, V[0], 0.5)
    for a, b in zip((W, U, V, X, A, L), before):
        np.testing.assert_array_equal(a, b)


def test_eps_floor_in_vectorised_losses():
    W, U = np.array([[1.0, 0.0]]), np.array([[0.0]])
    X, L = np.zeros((1, 2, 1)), np.array([2])
    V = np.array([[1000.0, 0.0], [0.0, 0.0]])
    A = s.one_hot(np.array([[1, 1]]), 2)
    assert s.tagger_loss_and_gradients(X, A, L, W, U, V)[0] == pytest.approx(18.420680743952367)
    v = np.array([1000.0, 0.0])
    assert s.classifier_loss_and_gradients(X, L, np.array([0]), W, U, v)[0] == pytest.approx(18.420680743952367)


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="valid choices"):
        vec.hidden_forward(np.zeros((1, 1, 1)), np.array([1]), np.zeros((1, 2)), np.zeros((1, 1)), "swish")
