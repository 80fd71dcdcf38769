"""jrelu.losses: values from optax.losses, closed-form gradients equal to jax.grad."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jrelu
import jrelu.losses as losses


def _data(seed=0, M=6, n=4, scale=3.0):
    rng = np.random.default_rng(seed)
    p = jnp.asarray(scale * rng.normal(size=(M, n)))  # some |p − y| > 1: both Huber branches
    y = jnp.asarray(rng.normal(size=(M, n)))
    labels = jnp.asarray(rng.integers(0, n, M))
    return p, y, labels


def _dyadic(seed=0, M=6, n=4):
    rng = np.random.default_rng(seed)
    p = rng.integers(-12, 13, (M, n)) / 4
    y = rng.integers(-12, 13, (M, n)) / 4
    ties = np.abs(p - y) == 1.0
    p[ties] += 0.5  # no |p − y| exactly 1 (where the Huber pieces meet)
    return jnp.asarray(p), jnp.asarray(y)


def _autodiff_grad(loss, p, y):
    """Per-sample ∇_1 𝔏 by jax.grad of the value of one sample."""
    return jax.vmap(jax.grad(lambda q, t: loss.value(q[None], t[None])[0]))(p, y)


def test_public_names():
    assert sorted(losses.__all__) == sorted(
        ["Loss", "NAMES", "from_callable", "huber", "mse", "resolve", "softmax_cross_entropy"])
    for name in losses.__all__:
        assert getattr(losses, name).__doc__ or name == "NAMES"
    assert losses.NAMES == ("mse", "huber", "softmax_cross_entropy")


def test_values_are_optax_losses():
    p, y, labels = _data()
    np.testing.assert_array_equal(losses.mse(p, y),
                                  jnp.mean(optax.losses.squared_error(p, y), axis=-1))
    np.testing.assert_array_equal(losses.mse(p, y), jnp.mean((p - y) ** 2, axis=-1))
    np.testing.assert_array_equal(losses.huber(p, y),
                                  jnp.mean(optax.losses.huber_loss(p, y, delta=1.0), axis=-1))
    a = np.abs(np.asarray(p - y))
    assert np.any(a > 1) and np.any(a < 1)
    np.testing.assert_allclose(losses.huber(p, y),
                               np.mean(np.where(a <= 1, 0.5 * a * a, a - 0.5), axis=-1),
                               rtol=1e-14)
    ce = optax.losses.softmax_cross_entropy_with_integer_labels(p, labels)
    np.testing.assert_array_equal(losses.softmax_cross_entropy(p, labels), ce)
    np.testing.assert_allclose(ce, jax.nn.logsumexp(p, axis=-1) - p[jnp.arange(6), labels],
                               rtol=1e-14)
    onehot = jax.nn.one_hot(labels, 4, dtype=p.dtype)
    np.testing.assert_allclose(losses.softmax_cross_entropy(p, onehot), ce, rtol=1e-14)
    probs = jax.nn.softmax(y, axis=-1)
    np.testing.assert_array_equal(losses.softmax_cross_entropy(p, probs),
                                  optax.losses.softmax_cross_entropy(p, probs))


@pytest.mark.parametrize("name", ["mse", "huber"])
def test_gradients_equal_jax_grad(name):
    loss = losses.resolve(name)
    p, y, _ = _data(1)
    np.testing.assert_allclose(loss.grad(p, y), _autodiff_grad(loss, p, y), rtol=1e-14,
                               atol=1e-16)
    # exactly, at dyadic points (N_L = 4: every division is by a power of 2)
    p, y = _dyadic(2)
    np.testing.assert_array_equal(loss.grad(p, y), _autodiff_grad(loss, p, y))
    expected = {"mse": 2 * (p - y) / 4, "huber": jnp.clip(p - y, -1, 1) / 4}[name]
    np.testing.assert_array_equal(loss.grad(p, y), expected)


def test_cross_entropy_gradient_equals_jax_grad():
    p, y, labels = _data(3)
    ce = losses.softmax_cross_entropy
    for targets in (labels, jax.nn.one_hot(labels, 4, dtype=p.dtype),
                    jax.nn.softmax(y, axis=-1)):
        np.testing.assert_allclose(ce.grad(p, targets), _autodiff_grad(ce, p, targets),
                                   rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ce.grad(p, labels),
                               jax.nn.softmax(p, -1) - jax.nn.one_hot(labels, 4), rtol=1e-15)


def test_risk_and_its_gradient():
    p, y, _ = _data(4)
    w = jnp.array([0.5, 0.0, 2.0, 1.0, 3.0, 0.25])
    for loss in (losses.mse, losses.huber):
        np.testing.assert_array_equal(loss.risk(p, y), jnp.sum(jnp.full(6, 1 / 6) * loss(p, y)))
        np.testing.assert_array_equal(loss.risk(p, y, weights=w), jnp.sum(w * loss(p, y)))
        np.testing.assert_allclose(loss.risk_grad(p, y, weights=w),
                                   jax.grad(lambda q, f=loss: f.risk(q, y, weights=w))(p),
                                   rtol=1e-14, atol=1e-16)
        np.testing.assert_allclose(loss.risk_grad(p, y), jax.grad(loss.risk)(p, y),
                                   rtol=1e-14, atol=1e-16)


def test_callable_losses():
    def log_cosh(q, t):
        return jnp.sum(jnp.log(jnp.cosh(q - t)))

    loss = losses.from_callable(log_cosh)
    assert loss is losses.from_callable(log_cosh) is losses.resolve(log_cosh)  # cached
    assert loss.name == "callable:log_cosh" and loss.targets == "any"
    p, y, _ = _data(5)
    np.testing.assert_array_equal(loss(p, y), jax.vmap(log_cosh)(p, y))
    np.testing.assert_array_equal(loss.grad(p, y), jax.vmap(jax.grad(log_cosh))(p, y))
    np.testing.assert_allclose(loss(p, y), jnp.sum(optax.losses.log_cosh(p, y), -1),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="loss must return a scalar per sample"):
        losses.from_callable(lambda q, t: q - t)(p, y)


def test_losses_in_costs():
    """A Loss object, its name and (for callables) the function give the same cost."""
    rng = np.random.default_rng(6)
    net = jrelu.init(jax.random.key(6), (3, 5, 4))
    xs, ys = jnp.asarray(rng.normal(size=(6, 3))), jnp.asarray(3 * rng.normal(size=(6, 4)))
    pred = jrelu.realize(net, xs)
    for name in ("mse", "huber"):
        loss = losses.resolve(name)
        risk = jrelu.gradients.empirical_risk(net, xs, ys, loss=loss)
        assert risk == jrelu.gradients.empirical_risk(net, xs, ys, loss=name)
        np.testing.assert_allclose(risk, loss.risk(pred, ys), rtol=1e-14)  # jit vs eager
    assert hash(losses.mse) == hash(losses.resolve("mse"))


def test_float32():
    p, y, labels = _data(7)
    p32, y32 = p.astype(jnp.float32), y.astype(jnp.float32)
    for loss, t in ((losses.mse, y32), (losses.huber, y32),
                    (losses.softmax_cross_entropy, labels)):
        assert loss(p32, t).dtype == jnp.float32
        assert loss.grad(p32, t).dtype == jnp.float32
        assert loss.risk(p32, t).dtype == jnp.float32
        np.testing.assert_allclose(loss(p32, t), loss(p, t if t is labels else y), rtol=1e-5,
                                   atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match=r"loss must be one of \['huber', 'mse', "
                                         r"'softmax_cross_entropy'\] .*unknown loss 'l1'"):
        losses.resolve("l1")
    with pytest.raises(TypeError, match="loss must be one of .* got int: 3"):
        losses.resolve(3)
    with pytest.raises(TypeError, match="fn must be callable, got int"):
        losses.from_callable(3)
    with pytest.raises(ValueError, match="targets must be one of"):
        losses.Loss("mine", losses.mse.value, losses.mse.grad, targets="labels")
    with pytest.raises(TypeError, match="positional arguments"):  # targets is keyword-only
        losses.Loss("mine", losses.mse.value, losses.mse.grad, "values")
