"""Shared checks for the from-scratch RNN tests: finite differences and a PyTorch twin.

Exposed as fixtures (not an importable module) so the tests work under any pytest
import mode.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch


def numerical_gradient(loss, param: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central differences of ``loss()`` w.r.t. every entry of ``param`` (changed in place, restored)."""
    grad = np.zeros_like(param)
    for idx in np.ndindex(param.shape):
        orig = param[idx]
        param[idx] = orig + step
        up = loss()
        param[idx] = orig - step
        down = loss()
        param[idx] = orig
        grad[idx] = (up - down) / (2 * step)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||): scale-free, 0 for equal arrays."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def random_weights(rng, F: int, H: int, O: int | None = None, scale: float = 0.5):
    """``(W (H, F+1), U (H, H), out)`` with ``out`` = v (H+1,) if O is None else V (O, H+1)."""
    W = rng.normal(scale=scale, size=(H, F + 1))
    U = rng.normal(scale=scale / np.sqrt(H), size=(H, H))
    out = rng.normal(scale=scale, size=H + 1) if O is None else rng.normal(scale=scale, size=(O, H + 1))
    return W, U, out


def random_sequence(rng, n: int, F: int) -> list[np.ndarray]:
    return [rng.normal(size=F) for _ in range(n)]


def random_targets(rng, n: int, O: int) -> list[np.ndarray]:
    return [np.eye(O)[rng.integers(O)] for _ in range(n)]


def torch_twin(W, U, out, nonlinearity: str):
    """``torch.nn.RNN`` + ``nn.Linear`` in float64 holding the same weights.

    Bias layout: our ``W[:, 0]`` is ``bias_ih``; PyTorch's second bias ``bias_hh`` is zero
    and frozen; ``out[..., 0]`` is the linear layer's bias.
    """
    H, F1 = W.shape
    O = 1 if out.ndim == 1 else out.shape[0]
    rnn = torch.nn.RNN(F1 - 1, H, nonlinearity=nonlinearity, batch_first=True, dtype=torch.float64)
    lin = torch.nn.Linear(H, O, dtype=torch.float64)
    out2 = out.reshape(O, H + 1)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(W[:, 1:]))
        rnn.bias_ih_l0.copy_(torch.from_numpy(W[:, 0]))
        rnn.weight_hh_l0.copy_(torch.from_numpy(U))
        rnn.bias_hh_l0.zero_()
        lin.weight.copy_(torch.from_numpy(out2[:, 1:]))
        lin.bias.copy_(torch.from_numpy(out2[:, 0]))
    rnn.bias_hh_l0.requires_grad_(False)
    return rnn, lin


def torch_grads(rnn, lin, vector_out: bool):
    """Autograd gradients laid out like ours: ``(dW, dU, dout)``."""
    dW = torch.cat([rnn.bias_ih_l0.grad[:, None], rnn.weight_ih_l0.grad], dim=1).numpy()
    dU = rnn.weight_hh_l0.grad.numpy()
    dout = torch.cat([lin.bias.grad[:, None], lin.weight.grad], dim=1).numpy()
    return dW, dU, (dout[0] if vector_out else dout)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def check():
    """The helpers above, bundled: ``check.numerical_gradient(...)`` etc."""
    return SimpleNamespace(
        numerical_gradient=numerical_gradient,
        relative_error=relative_error,
        random_weights=random_weights,
        random_sequence=random_sequence,
        random_targets=random_targets,
        torch_twin=torch_twin,
        torch_grads=torch_grads,
    )
