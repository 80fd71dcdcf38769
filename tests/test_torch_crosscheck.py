"""G(θ) equals PyTorch autograd (ReLU'(0) = 0), kinks included (test-only extra ``torch``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch  # the test extra installs it: this test must run, never skip

import jrelu
from jrelu.examples import degenerate_deep_example


def _torch_gradient(net, xs, ys, loss):
    """Autograd of a plain torch MLP (torch.relu) with the matching torch loss, float64."""
    params = []
    for A, b in net.layers:
        params.append((torch.tensor(np.asarray(A), dtype=torch.float64, requires_grad=True),
                       torch.tensor(np.asarray(b), dtype=torch.float64, requires_grad=True)))
    h = torch.tensor(np.asarray(xs), dtype=torch.float64)
    for k, (A, b) in enumerate(params):
        h = h @ A.T + b
        if k < len(params) - 1:
            h = torch.relu(h)
    if loss == "mse":
        value = torch.nn.functional.mse_loss(h, torch.tensor(np.asarray(ys)))
    elif loss == "huber":
        value = torch.nn.functional.huber_loss(h, torch.tensor(np.asarray(ys)), delta=1.0)
    else:
        value = torch.nn.functional.cross_entropy(h, torch.tensor(np.asarray(ys)))
    value.backward()
    grads = [g for A, b in params for g in (A.grad, b.grad)]
    return float(value.detach()), np.concatenate([g.numpy().ravel() for g in grads])


def _dyadic(rng, shape, denom=4):
    return rng.integers(-2 * denom, 2 * denom + 1, shape) / denom


def test_torch_agrees_exactly_on_the_degenerate_example_and_planted_kinks():
    net, xs, ys = degenerate_deep_example()
    value, g_torch = _torch_gradient(net, xs, ys, "mse")
    np.testing.assert_allclose(value, float(jrelu.empirical_risk(net, xs, ys)), rtol=1e-15)
    theta = jrelu.flatten(net)  # G for the flat θ: compose unflatten and flatten
    G = np.asarray(jrelu.flatten(jrelu.generalized_gradient(jrelu.unflatten(theta, net.widths),
                                                            xs, ys)))
    np.testing.assert_allclose(G, g_torch, rtol=1e-15, atol=1e-16)
    assert G[6] == 0.0 and g_torch[6] == 0.0  # ∂/∂b_2 at the kink: ReLU'(0) = 0
    # dyadic network with kinks planted in both hidden layers: exact equality
    rng = np.random.default_rng(0)
    xs = _dyadic(rng, (4, 2))
    layers, h = [], xs
    for n_in, n_out in ((2, 4), (4, 3)):
        A, b = _dyadic(rng, (n_out, n_in)), _dyadic(rng, n_out)
        b[:2] -= (h @ A.T + b)[1, :2]  # neurons 0, 1 exactly 0 at data point 1
        h = np.maximum(h @ A.T + b, 0.0)
        layers.append((A, b))
    layers.append((_dyadic(rng, (1, 3)), _dyadic(rng, 1)))
    net = jrelu.Network(layers)
    ys = _dyadic(rng, (4, 1))
    assert not jrelu.differentiability_report(net, xs, ys=ys).certainly_c1
    _, g_torch = _torch_gradient(net, xs, ys, "mse")
    np.testing.assert_array_equal(jrelu.flatten(jrelu.generalized_gradient(net, xs, ys)), g_torch)


@pytest.mark.parametrize("loss", ["mse", "huber", "softmax_cross_entropy"])
def test_torch_agrees_at_random_theta(loss):
    rng = np.random.default_rng(1)
    net = jrelu.init(jax.random.key(1), (3, 6, 5, 4))
    xs = rng.normal(size=(10, 3))
    ys = rng.integers(0, 4, 10) if loss == "softmax_cross_entropy" else 2 * rng.normal(size=(10, 4))
    value, g_torch = _torch_gradient(net, xs, ys, loss)
    risk = float(jrelu.empirical_risk(net, xs, jnp.asarray(ys), loss=loss))
    np.testing.assert_allclose(risk, value, rtol=1e-13)
    G = np.asarray(jrelu.flatten(jrelu.generalized_gradient(net, xs, jnp.asarray(ys), loss=loss)))
    np.testing.assert_allclose(G, g_torch, rtol=1e-12, atol=1e-14)
