"""jrelu.train: optax training in one jit-compiled scan, reproducible, with kink counts."""

from __future__ import annotations

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jrelu
from jrelu.examples import degenerate_deep_example
from jrelu.gradients import empirical_risk
from jrelu.train import TrainHistory, train


def _regression(M=64, dtype=jnp.float64):
    xs = jnp.linspace(-1.0, 1.0, M, dtype=dtype)[:, None]
    return xs, jnp.sin(3.0 * xs)


def _leaves_equal(a, b):
    return all(bool(np.array_equal(np.asarray(u), np.asarray(v)))  # NumPy: no compilation
               for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_adam_fits_a_small_regression():
    """Stated threshold: 1→32→32→1 on sin(3x), 64 points, 1500 Adam steps (lr 1e-2,
    batch 32) reach a full-data mean squared error below 2e-3 (the data variance is 0.5)."""
    xs, ys = _regression()
    net = jrelu.init(jax.random.key(0), (1, 32, 32, 1))
    before = float(empirical_risk(net, xs, ys))
    trained, hist = train(net, (xs, ys), optimizer=optax.adam(1e-2), steps=1500, batch_size=32,
                          key=jax.random.key(1))
    after = float(empirical_risk(trained, xs, ys))
    assert isinstance(hist, TrainHistory)
    assert hist.loss.shape == (1500,) and hist.kinks.shape == (1500,)
    assert hist.preactivations_per_step == 32 * 64
    assert after < 2e-3 < before
    assert float(np.mean(np.asarray(hist.loss)[-100:])) < 5e-3


def test_same_key_same_history_and_segments_equal_one_run():
    xs, ys = _regression(32)
    net = helpers.np_init(2, (1, 8, 8, 1))  # generic (no init compilations)
    sched = optax.exponential_decay(1e-2, transition_steps=10, decay_rate=0.9)
    opt = optax.adam(sched)
    key = jax.random.key(3)
    full, h_full = train(net, (xs, ys), optimizer=opt, steps=60, batch_size=8, key=key)
    again, h_again = train(net, (xs, ys), optimizer=opt, steps=60, batch_size=8, key=key)
    assert _leaves_equal(full, again)
    np.testing.assert_array_equal(h_full.loss, h_again.loss)
    np.testing.assert_array_equal(h_full.kinks, h_again.kinks)
    first, h1 = train(net, (xs, ys), optimizer=opt, steps=30, batch_size=8, key=key)
    second, h2 = train(first, (xs, ys), optimizer=opt, steps=30, batch_size=8, key=key,
                       opt_state=h1.opt_state, start_step=30)
    assert _leaves_equal(second, full)
    np.testing.assert_array_equal(np.concatenate([h1.loss, h2.loss]), h_full.loss)
    np.testing.assert_array_equal(h2.step, np.arange(30, 60))
    assert _leaves_equal(h2.opt_state, h_full.opt_state)
    other, h_other = train(net, (xs, ys), optimizer=opt, steps=60, batch_size=8,
                           key=jax.random.key(4))
    assert not np.array_equal(h_other.loss, h_full.loss)


def test_history_is_the_minibatch_loss_before_the_update():
    """Step i uses fold_in(key, i) to draw batch_size uniform indices with replacement."""
    xs, ys = _regression(16)
    net = helpers.np_init(5, (1, 6, 1))
    key = jax.random.key(6)
    opt = optax.sgd(0.1)
    one, h = train(net, (xs, ys), optimizer=opt, steps=2, batch_size=5, key=key, start_step=7)
    idx = jax.random.randint(jax.random.fold_in(key, 7), (5,), 0, 16)
    np.testing.assert_allclose(h.loss[0], empirical_risk(net, xs[idx], ys[idx]), rtol=1e-14)
    g = jrelu.generalized_gradient(net, xs[idx], ys[idx])
    step1 = jax.tree.map(lambda p, d: np.asarray(p) - 0.1 * np.asarray(d), net, g)
    idx2 = jax.random.randint(jax.random.fold_in(key, 8), (5,), 0, 16)
    np.testing.assert_allclose(h.loss[1], empirical_risk(step1, xs[idx2], ys[idx2]), rtol=1e-13)


def test_kink_counts_are_exact():
    """The degenerate example has its layer-2 pre-activation exactly 0 at every data
    point and no other zero: with a zero learning rate every step hits batch_size kinks."""
    net, xs, ys = degenerate_deep_example()
    _, h = train(net, (xs, ys), optimizer=optax.sgd(0.0), steps=5, batch_size=4,
                 key=jax.random.key(0))
    np.testing.assert_array_equal(h.kinks, 4)
    _, h = train(net, (xs, ys), optimizer=optax.sgd(0.0), steps=5, batch_size=4,
                 key=jax.random.key(0), count_kinks=False)
    np.testing.assert_array_equal(h.kinks, 0)
    # a generic network: the count agrees with kink_report on the same minibatch
    rng = np.random.default_rng(0)
    xs = rng.integers(-4, 5, (12, 2)) / 4
    xs[::2, 0] = 0.25  # neuron 0 below is x_0 − 1/4: exactly 0 at half the points
    xs = jnp.asarray(xs)
    layers = [(jnp.asarray(rng.integers(-4, 5, (5, 2)) / 4), jnp.asarray(rng.integers(-4, 5, 5)
                                                                            / 4)),
              (jnp.asarray(rng.integers(-4, 5, (1, 5)) / 4), jnp.zeros(1))]
    layers[0] = (layers[0][0].at[0].set(jnp.array([1.0, 0.0])), layers[0][1].at[0].set(-0.25))
    dyadic = jrelu.Network(layers)
    ys = jnp.zeros((12, 1))
    key = jax.random.key(9)
    _, h = train(dyadic, (xs, ys), optimizer=optax.sgd(0.0), steps=3, batch_size=6, key=key)
    from jrelu.derivative import kink_report
    for i in range(3):
        idx = jax.random.randint(jax.random.fold_in(key, i), (6,), 0, 12)
        assert int(h.kinks[i]) == int(kink_report(dyadic, xs[idx]).total_exact)
    assert int(np.sum(np.asarray(h.kinks))) > 0


def test_callable_data_and_cross_entropy():
    def data(key, batch):
        x = helpers.uniform(key, (batch, 2), minval=-1.0, maxval=1.0)
        return x, (x[:, 0] * x[:, 1] > 0).astype(jnp.int32)

    net = jrelu.init(jax.random.key(1), (2, 16, 16, 2))
    trained, h = train(net, data, optimizer=optax.adam(1e-2), steps=400, batch_size=64,
                       key=jax.random.key(2), loss="softmax_cross_entropy")
    xs, labels = data(jax.random.key(99), 512)
    acc = float(np.mean(np.argmax(np.asarray(jrelu.realize(trained, xs)), -1)
                        == np.asarray(labels)))
    loss = np.asarray(h.loss)
    assert acc > 0.9 and float(np.mean(loss[-50:])) < float(np.mean(loss[:50]))
    # fresh samples per step are reproducible as well
    _, h2 = train(net, data, optimizer=optax.adam(1e-2), steps=400, batch_size=64,
                  key=jax.random.key(2), loss="softmax_cross_entropy")
    np.testing.assert_array_equal(h.loss, h2.loss)


def test_float32_training():
    xs, ys = _regression(32, jnp.float32)
    net = helpers.np_init(0, (1, 8, 1), np.float32)
    trained, h = train(net, (xs, ys), optimizer=optax.adam(1e-2), steps=50, batch_size=8,
                       key=jax.random.key(0))
    assert h.loss.dtype == jnp.float32 and trained.dtype == jnp.float32


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(data=(np.zeros((5, 1)), np.zeros((4, 1)))), ValueError, "same number of samples"),
    (dict(data=(np.zeros((5, 2)), np.zeros((5, 1)))), ValueError, r"xs must have shape \(M, N_0\)"),
    (dict(data=(np.zeros((5, 1)), np.zeros((5, 2)))), ValueError, r"ys must have shape \(M, N_L\)"),
    (dict(data=(np.zeros(5), np.zeros((5, 1)))), ValueError, "xs must have shape"),
    (dict(data=(np.zeros((0, 1)), np.zeros((0, 1)))), ValueError, "empty"),
    (dict(data=(np.array([[0.0], [np.nan], [1.0]]), np.zeros((3, 1)))), ValueError,
     "data: xs has a non-finite value nan at row 1, column 0"),
    (dict(data=(np.zeros((3, 1)), np.array([[0.0], [1.0], [-np.inf]]))), ValueError,
     "ys has a non-finite value -inf at row 2"),
    (dict(data=(np.zeros((3, 1)),)), ValueError, "pair"),
    (dict(data="abc"), TypeError, "data must be"),
    (dict(data=lambda k, b: (jnp.zeros((b, 3)), jnp.zeros((b, 1)))), ValueError,
     "xs must have shape"),
    (dict(data=lambda k, b: (jnp.zeros((b + 1, 1)), jnp.zeros((b + 1, 1)))), ValueError,
     "returned xs of shape"),
    (dict(steps=0), ValueError, "steps must be an integer >= 1"),
    (dict(batch_size=0), ValueError, "batch_size must be an integer >= 1"),
    (dict(batch_size=2.5), TypeError, "batch_size must be an integer"),
    (dict(start_step=-1), ValueError, "start_step"),
    (dict(optimizer="adam"), TypeError, "optax.GradientTransformation"),
    (dict(loss="hinge"), ValueError, "unknown loss"),
    (dict(steps=True), TypeError, "steps must be an integer, got bool"),
    (dict(key=0), TypeError, "key must be a JAX PRNG key"),
    (dict(activation=jax.nn.relu), TypeError, "activation must be a jrelu.Activation"),
    (dict(net=[(np.ones((4, 1)), np.zeros(4))]), TypeError, "net must be a jrelu.Network"),
])
def test_train_errors(kwargs, error, match):
    args = dict(net=helpers.np_init(0, (1, 4, 1)),
                data=(np.zeros((5, 1)), np.zeros((5, 1))), optimizer=optax.sgd(0.1), steps=3,
                batch_size=2, key=jax.random.key(0), start_step=0, loss="mse",
                activation=jrelu.ReLU()) | kwargs
    with pytest.raises(error, match=match):
        train(args["net"], args["data"], optimizer=args["optimizer"], steps=args["steps"],
              batch_size=args["batch_size"], key=args["key"], loss=args["loss"],
              start_step=args["start_step"], activation=args["activation"])
