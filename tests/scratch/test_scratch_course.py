"""rnnlab.scratch.course: the course's argument orders and shapes, agreeing with rnnlab.scratch.layers."""

import numpy as np
import pytest

from rnnlab.scratch import course, layers


def test_linear_takes_weights_first_and_adds_no_bias():
    w = np.array([[1.0, 2.0], [0.0, -1.0]])
    x = np.array([3.0, 4.0])
    assert np.allclose(course.linear(w, x), [11.0, -4.0])
    # with the bias inserted by the caller it is the layers.linear of the other order
    wb = np.array([[0.5, 1.0, 2.0]])
    assert np.allclose(course.linear(wb, course.insert_bias(x)), layers.linear(x, wb))


def test_logistic_layer_with_a_weight_matrix_gives_shape_1():
    wb = np.array([[0.5, 1.0, -2.0]])                 # one output unit, bias column first
    x = course.insert_bias(np.array([1.0, 0.25]))
    p = course.logistic_layer(wb, x)
    assert p.shape == (1,) and p[0] == pytest.approx(layers.logistic_layer(np.array([1.0, 0.25]), wb[0]))
    assert np.ndim(course.logistic_layer(wb[0], x)) == 0
    s = course.softmax_layer(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([2.0, 0.0]))
    assert s.shape == (2,) and s.sum() == pytest.approx(1.0) and s[0] > s[1]


def test_shape_1_deltas():
    delta = np.array([0.3])
    h = np.array([1.0, 0.5, -0.5])
    w = np.array([[0.2, -0.4, 0.6]])
    assert course.calculate_weights_gradient(delta, h).shape == (1, 3)
    assert np.allclose(course.calculate_weights_gradient(delta, h), [[0.3, 0.15, -0.15]])
    back = course.send_delta_back(delta, w)
    assert back.shape == (3,) and np.allclose(back, [0.06, -0.12, 0.18])
    assert np.allclose(course.send_delta_back(delta, w, remove_bias_term=True), [-0.12, 0.18])
    # a scalar delta still works and matches layers' version
    assert np.allclose(course.calculate_weights_gradient(0.3, h), 0.3 * h)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    w, x, y = rng.normal(size=(1, 4)), rng.normal(size=4), 1.0
    p = course.logistic_layer(w, x)
    grad = course.calculate_weights_gradient(course.crossent_loss_gradient(p, y), x)

    def loss(wm):
        q = course.logistic_layer(wm, x)[0]
        return -(y * np.log(q) + (1 - y) * np.log(1 - q))
    eps, num = 1e-6, np.zeros_like(w)
    for j in range(4):
        d = np.zeros_like(w); d[0, j] = eps
        num[0, j] = (loss(w + d) - loss(w - d)) / (2 * eps)
    assert np.allclose(grad, num, atol=1e-6)
