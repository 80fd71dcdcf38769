"""Error sweeps (jrelu/errors.py): samplers, exactness, planted errors, statistics, bad input."""

import json
import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jrelu
from jrelu.errors import QUANTILE_RESOLUTION, _exact_sum, _value_and_derivative

TIMING = ("seconds", "points_per_second")


def _untimed(report):
    d = report.to_dict()
    for k in TIMING:
        d.pop(k)
    return d


def _l1_network(d, dtype=jnp.float64):
    """R Phi(x) = ||x||_1 = sum_j relu(x_j) + relu(-x_j), exactly."""
    eye = jnp.eye(d, dtype=dtype)
    return jrelu.Network([(jnp.concatenate([eye, -eye]), jnp.zeros(2 * d, dtype)),
                          (jnp.ones((1, 2 * d), dtype), jnp.zeros(1, dtype))])


# -- the fused forward pass -------------------------------------------------------------


@pytest.mark.parametrize("widths", [(5, 7, 6, 2), (2, 9, 4), (3, 4)])
def test_value_and_derivative_equal_realize_and_derivative_exactly(widths):
    net = jrelu.init(jax.random.key(0), widths)
    x = jax.random.normal(jax.random.key(1), (33, widths[0]))
    y, J = jax.jit(_value_and_derivative, static_argnums=(2, 3))(net, x, jrelu.relu, True)
    np.testing.assert_array_equal(y, jax.jit(jrelu.realize)(net, x))
    np.testing.assert_array_equal(J, jax.jit(jrelu.derivative)(net, x))


# -- samplers ------------------------------------------------------------------------------


def test_random_samplers_are_per_index_and_keyed():
    key = jax.random.key(3)
    idx = jnp.concatenate([jnp.arange(39, 19, -1), jnp.arange(20)])
    for s in (jrelu.UniformBox(4, -2.0, 3.0), jrelu.Gaussian(4, 1.0, 2.0),
              jrelu.RadialShells(4, 1e3, 5), jrelu.Halton(4, scramble=True),
              jrelu.PointSampler(4, lambda k: jax.random.laplace(k, (4,)), "laplace")):
        # point i depends only on (key, i): any index order or offset reproduces it
        full, perm, other = jax.jit(lambda k1, k2, s=s: (
            s.points(k1, jnp.arange(40)), s.points(k1, idx), s.points(k2, jnp.arange(40))))(
                key, jax.random.key(4))
        assert full.shape == (40, 4)
        np.testing.assert_array_equal(perm, full[np.asarray(idx)])
        assert not np.array_equal(other, full)
    np.testing.assert_array_equal(jrelu.Gaussian(3)(key, 5), jrelu.Gaussian(3).points(
        key, jnp.arange(5)))


def test_sampler_ranges():
    key = jax.random.key(0)
    x = jax.jit(jrelu.UniformBox(3, (-1.0, 0.0, 2.0), (1.0, 0.5, 2.0)), static_argnums=1)(key, 500)
    assert np.all(x[:, 0] >= -1) and np.all(x[:, 0] < 1)
    assert np.all(x[:, 1] >= 0) and np.all(x[:, 1] < 0.5) and np.all(x[:, 2] == 2)
    s = jrelu.RadialShells(6, r_max=1e4, num_shells=5, r_min=1.0)
    np.testing.assert_allclose(s.radii(), [1, 10, 100, 1e3, 1e4], rtol=1e-14)
    r = np.linalg.norm(jax.jit(s, static_argnums=1)(key, 50), axis=-1)
    np.testing.assert_allclose(r, np.tile(s.radii(), 10), rtol=1e-14)
    g = jax.jit(jrelu.Gaussian(2, (5.0, -5.0), 0.5), static_argnums=1)(key, 4000)
    np.testing.assert_allclose(g.mean(0), [5, -5], atol=0.05)
    np.testing.assert_allclose(g.std(0), [0.5, 0.5], atol=0.03)


def test_halton_known_values():
    u = jrelu.Halton(3)(None, 6)
    expect = [[1 / 2, 1 / 3, 1 / 5], [1 / 4, 2 / 3, 2 / 5], [3 / 4, 1 / 9, 3 / 5],
              [1 / 8, 4 / 9, 4 / 5], [5 / 8, 7 / 9, 1 / 25], [3 / 8, 2 / 9, 6 / 25]]
    np.testing.assert_allclose(u, expect, rtol=1e-15)
    # base-2 coordinate is exact; a shifted (scrambled) sequence stays in [0, 1)
    np.testing.assert_array_equal(u[:, 0], np.asarray(expect)[:, 0])
    v = jrelu.Halton(3, low=-1.0, high=1.0, scramble=True)(jax.random.key(2), 300)
    assert np.all(v >= -1) and np.all(v < 1)


def test_tensor_grid_order_and_exact_values():
    s = jrelu.TensorGrid(2, 3, low=-1.0, high=1.0)
    assert s.size == 9
    x = s(None)
    a, b = np.meshgrid([-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], indexing="ij")
    np.testing.assert_array_equal(x, np.stack([a.ravel(), b.ravel()], -1))
    np.testing.assert_array_equal(jrelu.TensorGrid(1, 1, 0.0, 1.0)(None), [[0.5]])


def test_sampler_bad_parameters():
    with pytest.raises(ValueError, match="low <= high"):
        jrelu.UniformBox(2, 1.0, 0.0)
    with pytest.raises(ValueError, match="shape"):
        jrelu.UniformBox(2, (0.0, 0.0, 0.0), 1.0)
    with pytest.raises(ValueError, match="dimension"):
        jrelu.Gaussian(0)
    with pytest.raises(ValueError, match="r_min"):
        jrelu.RadialShells(2, r_max=1.0, r_min=2.0)
    with pytest.raises(ValueError, match="std"):
        jrelu.Gaussian(2, std=-1.0)


# -- exactness, planted errors ---------------------------------------------------------------


def test_exact_representation_gives_zero_error():
    net = _l1_network(3)
    # on a grid through the kinks: D^N at 0 uses relu'(0) = 0, i.e. sign(x), which the target
    # gradient must state (jax.grad(jnp.abs)(0) = 1 would not be a Clarke-consistent choice)
    grid = jrelu.TensorGrid(3, 9, -1.0, 1.0)
    r = jrelu.error_sweep(net, lambda x: jnp.sum(jnp.abs(x)), grid, None, jax.random.key(0),
                          target_grad=jnp.sign, chunk_size=100)
    assert r.num_points == 729
    assert r.value.sup == 0 and r.derivative.sup == 0 and r.derivative.sup_unweighted == 0
    # max of affine maps, vector output: (max(x1, x2), -x3) = (x2 + relu(x1 - x2), -x3)
    net2 = jrelu.Network([
        (jnp.array([[1.0, -1.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0],
                    [0.0, 0.0, -1.0]]), jnp.zeros(5)),
        (jnp.array([[1.0, 1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 0.0, -1.0, 1.0]]), jnp.zeros(2))])
    r = jrelu.error_sweep(net2, lambda x: jnp.stack([jnp.maximum(x[0], x[1]), -x[2]]),
                          jrelu.UniformBox(3, -4.0, 4.0), 500, jax.random.key(1), chunk_size=64)
    assert r.value.sup == 0 and r.derivative.sup == 0


def test_planted_errors_found_on_grid():
    net = _l1_network(2)
    p = jnp.array([0.75, -1.0])  # ||p|| = 5/4 exactly
    q = jnp.array([-0.5, 0.25])
    c, g = 0.75, jnp.array([0.375, -0.5])  # ||g|| = 5/8

    def target(x):  # ||x||_1 + c (1 - ||x - p||^2 / h^2)_+^2, h = 1/8: only p on the 1/4-grid
        bump = jnp.maximum(0.0, 1.0 - jnp.sum((x - p) ** 2) * 64.0) ** 2
        return jnp.sum(jnp.abs(x)) + c * bump

    def target_grad(x):
        return jnp.sign(x) + jnp.where(jnp.all(x == q), g, 0.0)

    grid = jrelu.TensorGrid(2, 9, -1.0, 1.0)
    kappa = 2.0
    r = jrelu.error_sweep(net, target, grid, None, jax.random.key(0), kappa=kappa,
                          target_grad=target_grad, chunk_size=16)
    assert r.value.sup == c / (1 + 1.25**2)
    assert r.value.sup_unweighted == c
    np.testing.assert_array_equal(r.value.argmax, p)
    assert r.value.argmax_index == 7 * 9 + 0  # axis digits (7, 0), last axis fastest
    assert r.derivative.argmax_index == 2 * 9 + 5
    assert r.derivative.sup_unweighted == 0.625
    np.testing.assert_array_equal(r.derivative.argmax, q)
    qn2 = 0.5**2 + 0.25**2
    assert r.derivative.sup == 0.625 / (1 + math.sqrt(qn2) ** 2)
    # mean: exactly one point carries each error
    assert r.value.mean == float(Fraction(c / (1 + 1.25**2)) / 81)
    # radial profile: the error sits in the octave shell [1, 2) only
    for shell in r.radial_profile:
        inside = shell.r_min <= 1.25 < shell.r_max
        assert shell.value_sup == (r.value.sup if inside else 0.0)
    assert sum(s.count for s in r.radial_profile) == 81


def test_statistics_match_direct_computation():
    """Cross-check every statistic against a direct, unchunked numpy computation."""
    net = jrelu.init(jax.random.key(5), (3, 12, 12, 2))
    A = jnp.array([[1.0, -2.0, 0.5], [0.0, 1.0, 1.0]])

    def target(x):
        return jnp.tanh(A @ x) + 0.1 * jnp.sum(x**2)

    sampler = jrelu.RadialShells(3, r_max=50.0, num_shells=6, r_min=0.05)
    n, kappa, key = 700, 1.5, jax.random.key(7)
    r = jrelu.error_sweep(net, target, sampler, n, key, kappa=kappa, chunk_size=96,
                          quantiles=(0.1, 0.5, 0.9, 1.0))


    @jax.jit
    def direct(key):  # an independent, unchunked path: realize, derivative, jacrev
        x = sampler(key, n)
        return (x, jax.vmap(target)(x) - jrelu.realize(net, x),
                jax.vmap(jax.jacrev(target))(x) - jrelu.derivative(net, x))

    x, dv, dd = direct(key)
    ev = np.linalg.norm(np.asarray(dv), axis=-1)
    ed = np.sqrt(np.sum(np.asarray(dd) ** 2, axis=(-2, -1)))
    w = 1 + np.linalg.norm(np.asarray(x), axis=-1) ** kappa
    for stats, e in ((r.value, ev), (r.derivative, ed)):
        ew = e / w
        np.testing.assert_allclose(stats.sup, ew.max(), rtol=1e-13)
        assert stats.argmax_index == int(np.argmax(ew))
        np.testing.assert_array_equal(stats.argmax, np.asarray(x[stats.argmax_index]))
        np.testing.assert_allclose(stats.sup_unweighted, e.max(), rtol=1e-13)
        assert stats.argmax_unweighted_index == int(np.argmax(e))
        np.testing.assert_allclose(stats.mean, ew.mean(), rtol=1e-13)
        srt = np.sort(ew)
        for q, qhat in stats.quantiles.items():
            exact = srt[max(1, math.ceil(float(q) * n)) - 1]
            assert exact * (1 - 1e-12) <= qhat <= exact * (1 + QUANTILE_RESOLUTION) * (1 + 1e-12)
        assert stats.quantiles["1"] == stats.sup
    # radial profile: one shell per sampler radius, ~n/6 points each
    assert [s.count for s in r.radial_profile] == [117, 117, 117, 117, 116, 116]
    shell_of = np.arange(n) % 6
    for j, s in enumerate(r.radial_profile):
        assert s.r_min < sampler.radii()[j] < s.r_max
        np.testing.assert_allclose(s.value_sup, (ev / w)[shell_of == j].max(), rtol=1e-13)
        np.testing.assert_allclose(s.derivative_sup, (ed / w)[shell_of == j].max(), rtol=1e-13)


def test_exact_sum_is_exact():
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.random(1000) * 10.0 ** rng.integers(-300, 300, 1000),
                        [0.0, 5e-324, 1.7e308]])
    total = _exact_sum(v)
    assert Fraction(total, 1 << 1126) == sum(Fraction(float(t)) for t in v)
    assert _exact_sum(v[:400]) + _exact_sum(v[400:]) == total


# -- chunking invariance, target forms, JSON, progress ------------------------------------------


def test_chunked_equals_unchunked_exactly():
    net = jrelu.init(jax.random.key(1), (4, 16, 16, 1))
    tgt = lambda x: jnp.sum(jnp.sin(x)) + jnp.sum(x**2)
    kw = dict(kappa=1.0, quantiles=(0.5, 0.99))
    s = jrelu.Gaussian(4, std=2.0)
    a = jrelu.error_sweep(net, tgt, s, 1000, jax.random.key(2), chunk_size=1000, **kw)
    b = jrelu.error_sweep(net, tgt, s, 1000, jax.random.key(2), chunk_size=96, **kw)
    assert b.num_chunks == 11 and a.num_chunks == 1
    da, db = _untimed(a), _untimed(b)
    for d in (da, db):
        d.pop("chunk_size")
        d.pop("num_chunks")
    assert da == db
    assert a.value.sup > 0


def test_scalar_and_vector_targets_agree():
    net = jrelu.init(jax.random.key(1), (3, 8, 1))
    s = jrelu.UniformBox(3, -1.0, 1.0)
    a = jrelu.error_sweep(net, lambda x: jnp.sum(x**3), s, 200, jax.random.key(0), chunk_size=64)
    b = jrelu.error_sweep(net, lambda x: jnp.sum(x**3, keepdims=True), s, 200, jax.random.key(0),
                          chunk_size=64, target_grad=lambda x: 3 * x**2)
    assert _untimed(a) == _untimed(b)
    c = jrelu.error_sweep(net, lambda x: jnp.sum(x**3), s, 200, jax.random.key(0),
                          derivative=False, chunk_size=64)
    assert c.derivative is None and c.sup_derivative_error is None
    assert c.value == a.value


def test_report_json_and_progress(capsys):
    net = jrelu.init(jax.random.key(0), (2, 4, 1))
    s = jrelu.Halton(2, -1.0, 1.0)
    r = jrelu.error_sweep(net, lambda x: x[0] * x[1], s, 64, jax.random.key(0), chunk_size=16,
                          progress=True)
    err = capsys.readouterr().err
    assert "jrelu sweep: 64/64 points" in err and "points/s" in err and "ETA" in err
    assert json.loads(r.to_json()) == r.to_dict()
    assert r.to_dict()["value"]["sup"] == r.sup_value_error
    jrelu.error_sweep(net, lambda x: x[0] * x[1], s, 64, jax.random.key(0), chunk_size=16,
                      progress=False)
    assert capsys.readouterr().err == ""


# -- bad input ------------------------------------------------------------------------------------


def test_bad_input_is_refused_before_work():
    net = jrelu.init(jax.random.key(0), (3, 4, 2))
    ok = lambda x: x[:2]
    s = jrelu.UniformBox(3)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match=r"shape \(3,\).*N_L = 2"):
        jrelu.error_sweep(net, lambda x: x, s, 10, key)
    with pytest.raises(ValueError, match=r"target_grad .* shape \(3,\)"):
        jrelu.error_sweep(net, ok, s, 10, key, target_grad=lambda x: x)
    with pytest.raises(TypeError, match="PointSampler"):
        jrelu.error_sweep(net, ok, lambda k, n: jnp.zeros((n, 3)), 10, key)
    with pytest.raises(ValueError, match="sampler dimension 4 .* N_0 = 3"):
        jrelu.error_sweep(net, ok, jrelu.UniformBox(4), 10, key)
    with pytest.raises(ValueError, match="kappa"):
        jrelu.error_sweep(net, ok, s, 10, key, kappa=-1.0)
    for cs in (0, -5, 2.5):
        with pytest.raises(ValueError, match="chunk_size"):
            jrelu.error_sweep(net, ok, s, 10, key, chunk_size=cs)
    with pytest.raises(ValueError, match="num_points"):
        jrelu.error_sweep(net, ok, s, 0, key)
    with pytest.raises(ValueError, match="exceeds"):
        jrelu.error_sweep(jrelu.init(key, (1, 2, 1)), lambda x: x, jrelu.TensorGrid(1, 4), 5,
                          key)
    # non-finite target: the first offending point is named
    grid = jrelu.TensorGrid(3, 3, -1.0, 1.0)  # point index 13 is the origin
    with pytest.raises(ValueError, match=r"target value f\(x\) is not finite at point index 13, "
                                         r"x = \[0.0, 0.0, 0.0\]: \[nan, nan\]"):
        jrelu.error_sweep(net, lambda x: x[:2] / jnp.sum(jnp.abs(x)), grid, None, key,
                          derivative=False)
    with pytest.raises(ValueError, match=r"target gradient ∇f\(x\) is not finite at point "
                                         r"index 13, x = \[0.0, 0.0, 0.0\]"):
        jrelu.error_sweep(net, lambda x: x[:2] * jnp.sqrt(jnp.sum(x**2)), grid, None, key)
    # ... also when it only shows up after the probe, mid-sweep
    with pytest.raises(ValueError, match=r"target value f\(x\) is not finite at point index 400"):
        jrelu.error_sweep(jrelu.init(key, (1, 4, 1)), lambda x: 1.0 / (x - 400.0),
                          jrelu.TensorGrid(1, 1001, 0.0, 1000.0), None, key, chunk_size=64)
