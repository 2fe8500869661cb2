"""A small MLP on sklearn's digits, trained in numpy in well under a second, for the adapter accuracy tests."""

from __future__ import annotations

import numpy as np


def digits_mlp(hidden: int = 32, epochs: int = 300, seed: int = 0):
    """(W1, W2, X_test, y_test, float accuracy) of a 64-hidden-10 ReLU MLP without biases (Adam, full batch)."""
    import pytest

    load_digits = pytest.importorskip("sklearn.datasets", reason="scikit-learn not installed (test extras)").load_digits
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # tiny matrices: BLAS threads only contend with each other
        return _train(load_digits, hidden, epochs, seed)


def _train(load_digits, hidden, epochs, seed):
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(y))
    tr, te = idx[:1300], idx[1300:]
    w1 = rng.standard_normal((64, hidden)) / 8.0
    w2 = rng.standard_normal((hidden, 10)) / np.sqrt(hidden)
    params = [w1, w2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    onehot = np.eye(10)[y[tr]]
    for k in range(1, epochs + 1):
        h = np.maximum(x[tr] @ w1, 0.0)
        z = h @ w2
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        dz = (p - onehot) / len(tr)
        grads = [x[tr].T @ ((dz @ w2.T) * (h > 0)), h.T @ dz]
        for i, g in enumerate(grads):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g**2
            params[i] -= 0.01 * (m[i] / (1 - 0.9**k)) / (np.sqrt(v[i] / (1 - 0.999**k)) + 1e-8)
    acc = accuracy(lambda a: a @ w1, lambda a: a @ w2, x[te], y[te])
    return w1, w2, x[te], y[te], acc


def accuracy(layer1, layer2, x, y) -> float:
    """Test accuracy of the MLP whose two matrix products are ``layer1`` and ``layer2`` (callables)."""
    z = layer2(np.maximum(layer1(x), 0.0))
    return float(np.mean(np.argmax(z, axis=1) == y))
