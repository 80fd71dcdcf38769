"""Error sweeps (jrelu.sweep): pointwise errors, exactness, planted errors, statistics, input."""

import json
import math
from fractions import Fraction

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jrelu
from jrelu._stats import QUANTILE_RESOLUTION, exact_sum
from jrelu.samplers import Gaussian, RadialShells, TensorGrid, UniformBox

TIMING = ("seconds", "points_per_second")

# The sweep compiles one program per (network shapes, target, sampler, kappa, dtype, ...):
# the tests share one such set where their checks do not depend on it (see _hard_case).
HARD_WIDTHS = (3, 16, 16, 2)
HARD_SAMPLER = RadialShells(3, r_max=1e3, num_shells=6, r_min=1e-2)


def _hard_target(x):
    return jnp.stack([jnp.sum(jnp.sin(x)), jnp.prod(x)])


def _gaussian_points(key, std=1.0):
    """300 points of Gaussian(3, std=std) (one compiled sampling program for every std)."""
    return std * Gaussian(3)(key, 300)


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


# -- pointwise errors: one fused forward pass, the sweep's per-point numbers --------------------


@pytest.mark.parametrize("widths", [(5, 7, 6, 2), (2, 9, 4), (3, 4)])
def test_value_and_derivative_equal_realize_and_derivative_exactly(widths):
    rng = np.random.default_rng(len(widths))  # NumPy draws: no XLA compilations for data
    net = helpers.numpy_network(rng, widths)
    x = jnp.asarray(rng.normal(size=(33, widths[0])))
    zero = lambda x: jnp.zeros(widths[-1])  # noqa: E731
    e = jax.jit(lambda net, x: jrelu.pointwise_errors(net, zero, x))(net, x)
    y, J = e.value, e.derivative
    np.testing.assert_array_equal(y, jax.jit(jrelu.realize)(net, x))
    np.testing.assert_array_equal(J, jax.jit(jrelu.derivative)(net, x))


def test_pointwise_errors_formulas_and_shapes():
    """The per-point numbers of the sweep (its chunk function calls pointwise_errors)."""
    net = helpers.np_init(5, (3, 12, 2))
    A = jnp.array([[1.0, -2.0, 0.5], [0.0, 1.0, 1.0]])
    target = lambda x: jnp.tanh(A @ x) + 0.1 * jnp.sum(x**2)  # noqa: E731
    n, kappa = 300, 1.5

    @jax.jit
    def run(x):
        e = jrelu.pointwise_errors(net, target, x, kappa=kappa)
        one = jrelu.pointwise_errors(net, target, x[7], kappa=kappa)
        grid = jrelu.pointwise_errors(net, target, x[:10].reshape(2, 5, 3), derivative=False)
        nan = jrelu.pointwise_errors(net, lambda x: A @ x / x[0], jnp.zeros((2, 3)))
        return e, one, grid, nan, jax.vmap(target)(x), jax.vmap(jax.jacrev(target))(x)

    x = _gaussian_points(jax.random.key(2), std=3.0)
    assert x.shape == (n, 3) and x.dtype == jnp.float64
    e, one, grid, nan, fx, gx = run(x)
    np.testing.assert_array_equal(e.target_value, fx)
    np.testing.assert_array_equal(e.target_derivative, gx)
    np.testing.assert_allclose(e.value_error, np.linalg.norm(fx - e.value, axis=-1), rtol=1e-15)
    np.testing.assert_allclose(e.derivative_error,
                               np.sqrt(np.sum((gx - e.derivative) ** 2, axis=(-2, -1))),
                               rtol=1e-15)
    np.testing.assert_allclose(e.weight, 1 + np.asarray(e.norm) ** kappa, rtol=1e-15)
    np.testing.assert_allclose(e.weighted_value_error, e.value_error / e.weight, rtol=1e-15)
    assert bool(jnp.all(e.finite))
    # batch shapes: one point, and (2, 5, N_0); value-only leaves the derivative fields None
    assert one.value.shape == (2,) and one.derivative.shape == (2, 3) and one.norm.shape == ()
    np.testing.assert_allclose(one.value_error, e.value_error[7], rtol=1e-14)
    assert grid.value_error.shape == (2, 5) and grid.derivative is None
    assert grid.weighted_derivative_error is None and grid.finite.shape == (2, 5)
    assert not bool(jnp.any(nan.finite))


def test_pointwise_errors_bad_input():
    net = helpers.np_init(0, (3, 4, 2))
    ok = lambda x: x[:2]  # noqa: E731
    with pytest.raises(ValueError, match=r"x must have shape .* N_0 = 3"):
        jrelu.pointwise_errors(net, ok, jnp.ones((5, 2)))
    with pytest.raises(ValueError, match=r"shape \(3,\).*N_L = 2"):
        jrelu.pointwise_errors(net, lambda x: x, jnp.ones((5, 3)))
    with pytest.raises(ValueError, match="kappa"):
        jrelu.pointwise_errors(net, ok, jnp.ones(3), kappa=-1.0)
    with pytest.raises(TypeError, match="net"):
        jrelu.pointwise_errors("net", ok, jnp.ones(3))
    with pytest.raises(TypeError, match="activation"):
        jrelu.pointwise_errors(net, ok, jnp.ones(3), activation=jax.nn.relu)

# -- exactness, planted errors ---------------------------------------------------------------


def test_exact_representation_gives_zero_error():
    net = _l1_network(3)
    # on a grid through the kinks: D^N at 0 uses relu'(0) = 0, i.e. sign(x), which the target
    # gradient must state (jax.grad(jnp.abs)(0) = 1 would not be a Clarke-consistent choice)
    grid = TensorGrid(3, num_per_axis=9, low=-1.0, high=1.0)
    r = jrelu.error_sweep(net, lambda x: jnp.sum(jnp.abs(x)), grid, num_points=None,
                          key=jax.random.key(0), target_grad=jnp.sign, chunk_size=100)
    assert r.num_points == 729
    assert r.value.sup == 0 and r.derivative.sup == 0 and r.derivative.sup_unweighted == 0
    # max of affine maps, vector output: (max(x1, x2), -x3) = (x2 + relu(x1 - x2), -x3)
    net2 = jrelu.Network([
        (jnp.array([[1.0, -1.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0],
                    [0.0, 0.0, -1.0]]), jnp.zeros(5)),
        (jnp.array([[1.0, 1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 0.0, -1.0, 1.0]]), jnp.zeros(2))])
    r = jrelu.error_sweep(net2, lambda x: jnp.stack([jnp.maximum(x[0], x[1]), -x[2]]),
                          UniformBox(3, low=-4.0, high=4.0), num_points=500,
                          key=jax.random.key(1), chunk_size=64)
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

    grid = TensorGrid(2, num_per_axis=9, low=-1.0, high=1.0)
    kappa = 2.0
    r = jrelu.error_sweep(net, target, grid, num_points=None, key=jax.random.key(0), kappa=kappa,
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
    net, target, sampler, _ = _hard_case(jnp.float64)  # 6 shells, radii 1e-2 .. 1e3
    n, kappa, key = 700, 1.0, jax.random.key(7)
    r = jrelu.error_sweep(net, target, sampler, num_points=n, key=key, kappa=kappa, chunk_size=96,
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


def test_histogram_bins_are_those_of_the_binary_search():
    from jrelu._stats import HIST_EDGES, hist_bins

    rng = np.random.default_rng(1)
    v = np.concatenate([rng.random(2000) * 10.0 ** rng.integers(-45, 45, 2000), HIST_EDGES,
                        np.nextafter(HIST_EDGES, 0), np.nextafter(HIST_EDGES, np.inf),
                        [0.0, 5e-324, 1e-310, 1e-40, 1e40, 1.7e308]])
    ref = np.where(v == 0, 0, np.searchsorted(HIST_EDGES, v, side="right") + 1)
    np.testing.assert_array_equal(hist_bins(v), ref)


def test_exact_sum_is_exact():
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.random(1000) * 10.0 ** rng.integers(-300, 300, 1000),
                        [0.0, 5e-324, 1.7e308]])
    total = exact_sum(v)
    assert Fraction(total, 1 << 1126) == sum(Fraction(float(t)) for t in v)
    assert exact_sum(v[:400]) + exact_sum(v[400:]) == total


# -- chunking invariance, target forms, JSON, progress ------------------------------------------


def test_chunked_equals_unchunked_exactly():
    net, tgt, s, _ = _hard_case(jnp.float64)
    kw = dict(kappa=1.0, quantiles=(0.5, 0.99))
    kw.update(num_points=1000, key=jax.random.key(2))
    a = jrelu.error_sweep(net, tgt, s, chunk_size=1000, **kw)
    b = jrelu.error_sweep(net, tgt, s, chunk_size=96, **kw)
    assert b.num_chunks == 11 and a.num_chunks == 1
    da, db = _untimed(a), _untimed(b)
    for d in (da, db):
        d.pop("chunk_size")
        d.pop("num_chunks")
    assert da == db
    assert a.value.sup > 0


def test_scalar_and_vector_targets_agree():
    net = helpers.np_init(1, (3, 8, 1))
    s = UniformBox(3, low=-1.0, high=1.0)
    nk = dict(num_points=200, key=jax.random.key(0))
    a = jrelu.error_sweep(net, lambda x: jnp.sum(x**3), s, **nk, chunk_size=64)
    b = jrelu.error_sweep(net, lambda x: jnp.sum(x**3, keepdims=True), s, **nk,
                          chunk_size=64, target_grad=lambda x: 3 * x**2)
    assert _untimed(a) == _untimed(b)
    c = jrelu.error_sweep(net, lambda x: jnp.sum(x**3), s, **nk,
                          derivative=False, chunk_size=64)
    assert c.derivative is None and c.sup_derivative_error is None
    assert c.value == a.value


def test_report_json_and_progress(capsys):
    net, target, s, _ = _hard_case(jnp.float64)
    r = jrelu.error_sweep(net, target, s, num_points=64, key=jax.random.key(0), kappa=1.0,
                          chunk_size=16, progress=True)
    err = capsys.readouterr().err
    assert "jrelu sweep: 64/64 points" in err and "points/s" in err and "ETA" in err
    assert json.loads(r.to_json()) == r.to_dict()
    assert r.to_dict()["value"]["sup"] == r.sup_value_error
    jrelu.error_sweep(net, target, s, num_points=64, key=jax.random.key(0), kappa=1.0,
                      chunk_size=16, progress=False)
    assert capsys.readouterr().err == ""


# -- bad input ------------------------------------------------------------------------------------


def test_bad_input_is_refused_before_work():
    net = helpers.np_init(0, (3, 4, 2))
    ok = lambda x: x[:2]
    s = UniformBox(3)
    key = jax.random.key(0)
    nk = dict(num_points=10, key=key)
    with pytest.raises(ValueError, match=r"shape \(3,\).*N_L = 2"):
        jrelu.error_sweep(net, lambda x: x, s, **nk)
    with pytest.raises(ValueError, match=r"target_grad .* shape \(3,\)"):
        jrelu.error_sweep(net, ok, s, **nk, target_grad=lambda x: x)
    with pytest.raises(TypeError, match="FromFunction"):
        jrelu.error_sweep(net, ok, lambda k, n: jnp.zeros((n, 3)), **nk)
    with pytest.raises(ValueError, match="sampler dimension 4 .* N_0 = 3"):
        jrelu.error_sweep(net, ok, UniformBox(4), **nk)
    with pytest.raises(ValueError, match="kappa"):
        jrelu.error_sweep(net, ok, s, **nk, kappa=-1.0)
    for cs in (0, -5, 2.5):  # a non-integer is a wrong type: TypeError
        with pytest.raises(TypeError if cs == 2.5 else ValueError, match="chunk_size"):
            jrelu.error_sweep(net, ok, s, **nk, chunk_size=cs)
    with pytest.raises(ValueError, match="num_points"):
        jrelu.error_sweep(net, ok, s, num_points=0, key=key)
    with pytest.raises(ValueError, match="exceeds"):
        jrelu.error_sweep(helpers.np_init(0, (1, 2, 1)), lambda x: x,
                          TensorGrid(1, num_per_axis=4), num_points=5, key=key)
    # non-finite target: the first offending point is named
    grid = TensorGrid(3, num_per_axis=3, low=-1.0, high=1.0)  # point index 13 is the origin
    with pytest.raises(ValueError, match=r"target value f\(x\) is not finite at point index 13, "
                                         r"x = \[0.0, 0.0, 0.0\]: \[nan, nan\]"):
        jrelu.error_sweep(net, lambda x: x[:2] / jnp.sum(jnp.abs(x)), grid, num_points=None,
                          key=key, derivative=False)
    with pytest.raises(ValueError, match=r"target gradient ∇f\(x\) is not finite at point "
                                         r"index 13, x = \[0.0, 0.0, 0.0\]"):
        jrelu.error_sweep(net, lambda x: x[:2] * jnp.sqrt(jnp.sum(x**2)), grid, num_points=None,
                          key=key)
    # ... also when it only shows up after the probe, mid-sweep
    with pytest.raises(ValueError, match=r"target value f\(x\) is not finite at point index 400"):
        jrelu.error_sweep(helpers.np_init(0, (1, 4, 1)), lambda x: 1.0 / (x - 400.0),
                          TensorGrid(1, num_per_axis=1001, low=0.0, high=1000.0),
                          num_points=None, key=key, chunk_size=64)


# -- batch independence, float32 range, default shells, keys (issue 12) ---------------------------


def _hard_case(dtype):
    """The case where batch-dependent rounding showed: many points, big chunks, a vector target.

    Several other tests sweep this network, target, sampler and kappa as well (with their
    own point counts, chunk sizes and keys), where their checks do not depend on them: the
    sweep's compiled program is the same for all of them."""
    net = jrelu.init(jax.random.key(1), HARD_WIDTHS, dtype=dtype)
    kw = dict(num_points=6001, key=jax.random.key(2), kappa=1.0, progress=False)
    return net, _hard_target, HARD_SAMPLER, kw


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_report_identical_for_any_chunk_size(dtype):
    net, target, s, kw = _hard_case(dtype)
    reps = [jrelu.error_sweep(net, target, s, chunk_size=c, **kw) for c in (4096, 97)]
    d = [_untimed(r) for r in reps]
    for x in d:
        x.pop("chunk_size")
        x.pop("num_chunks")
    assert d[0] == d[1]
    # the reported argmax points are the sampler's own points, drawn directly
    pts = np.asarray(s(kw["key"], kw["num_points"], dtype=dtype))
    for st in (reps[1].value, reps[1].derivative):
        np.testing.assert_array_equal(st.argmax, pts[st.argmax_index])
        np.testing.assert_array_equal(st.argmax_unweighted, pts[st.argmax_unweighted_index])


def _f64(a):
    return np.asarray(a, np.float64)


def test_float32_sweep_far_out_has_no_spurious_overflow(recwarn):
    """Target |x|^3, kappa = 3, radii 1e-20 .. 1e10 (d = 3): every true quantity fits float32."""
    net = jrelu.init(jax.random.key(0), (3, 16, 1), dtype=jnp.float32)
    def norm(x):  # scaled, so that |x| = 1e-20 does not underflow in the target itself
        m = jnp.max(jnp.abs(x))
        return m * jnp.sqrt(jnp.sum((x / m) ** 2))

    target = lambda x: norm(x) ** 3  # noqa: E731
    grad = lambda x: 3 * norm(x) * x  # noqa: E731

    s = RadialShells(3, r_max=1e10, num_shells=7, r_min=1e-20)
    key, n = jax.random.key(1), 700
    r = jrelu.error_sweep(net, target, s, num_points=n, key=key, kappa=3.0, chunk_size=512,
                          target_grad=grad)
    # reference: the same float32 points, values and Jacobians, norms and weights in float64
    x32 = s(key, n, dtype=jnp.float32)
    e = jax.jit(lambda x: jrelu.pointwise_errors(net, target, x, kappa=3.0, target_grad=grad))(
        x32)
    x = _f64(x32)
    rad = np.linalg.norm(x, axis=-1)
    np.testing.assert_allclose(_f64(e.norm), rad, rtol=1e-6)
    np.testing.assert_allclose(rad, np.tile(s.radii(), 100), rtol=1e-6)
    w = 1 + rad**3
    ev = np.abs(_f64(e.target_value) - _f64(e.value))[:, 0] / w
    ed = np.linalg.norm(_f64(e.target_derivative) - _f64(e.derivative), axis=(-2, -1)) / w
    for st, ref in ((r.value, ev), (r.derivative, ed)):
        assert math.isfinite(st.sup) and st.sup > 0 and st.mean > 0
        np.testing.assert_allclose(st.sup, ref.max(), rtol=1e-5)
        np.testing.assert_allclose(st.mean, ref.mean(), rtol=1e-5)
        assert st.argmax_index == int(np.argmax(ref))
    assert [sh.count for sh in r.radial_profile] == [100] * 7  # every radius in its shell
    for sh, rad_j in zip(r.radial_profile, s.radii()):
        assert sh.r_min < rad_j < sh.r_max
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    # kappa = 4 at radius 1e12: the weight 1e48 does not fit, the weighted errors do
    s3 = RadialShells(3, r_max=1e12, num_shells=3, r_min=1.0)
    r3 = jrelu.error_sweep(net, target, s3, num_points=30, key=key, kappa=4.0, target_grad=grad)
    x3 = s3(key, 30, dtype=jnp.float32)
    e3 = jax.jit(lambda x: jrelu.pointwise_errors(net, target, x, kappa=4.0, target_grad=grad))(
        x3)
    ref3 = np.linalg.norm(_f64(e3.target_derivative) - _f64(e3.derivative), axis=(-2, -1)) \
        / (1 + np.linalg.norm(_f64(x3), axis=-1) ** 4)
    assert np.isinf(_f64(e3.weight)).sum() == 10 and bool(jnp.all(e3.finite))
    np.testing.assert_allclose(_f64(e3.weighted_derivative_error), ref3, rtol=1e-5)
    np.testing.assert_allclose(r3.derivative.sup, ref3.max(), rtol=1e-5)
    assert r3.value.mean > 0


def test_true_overflow_raises_named_value_error():
    net = helpers.np_init(0, (3, 4, 1), np.float32)
    c = 2.5e38  # each gradient entry fits float32, their Frobenius norm does not
    s = RadialShells(3, r_max=1e-3, num_shells=1, r_min=1e-3)
    with pytest.raises(ValueError, match=r"derivative error .* overflows float32 at point index 0"):
        jrelu.error_sweep(net, lambda x: jnp.float32(c) * jnp.sum(x), s, num_points=10,
                          key=jax.random.key(0), target_grad=lambda x: jnp.full(3, c, jnp.float32))
    with pytest.raises(ValueError, match="r_max = 1e.* does not fit in float32"):
        jrelu.error_sweep(net, lambda x: jnp.sum(x), RadialShells(3, r_max=1e60, num_shells=2,
                                                                  r_min=1.0),
                          num_points=10, key=jax.random.key(0))


def test_default_shells_for_extreme_float64_radii():
    s = RadialShells(2, r_max=1e200, num_shells=5, r_min=1e-200)
    edges = s.radial_edges()
    assert np.all(np.isfinite(edges)) and np.all(np.diff(edges) > 0)
    np.testing.assert_allclose(edges, [5e-201, 1e-150, 1e-50, 1e50, 1e150, 2e200], rtol=1e-12)
    edge = RadialShells(2, r_max=1.5e308, num_shells=2, r_min=1e-323).radial_edges()
    assert np.all(np.isfinite(edge)) and np.all(edge > 0)  # 2 r_max and r_min / 2 left out
    net = helpers.np_init(0, (2, 4, 1))
    r = jrelu.error_sweep(net, lambda x: jnp.sum(x), s, num_points=50, key=jax.random.key(0),
                          derivative=False)
    assert [sh.count for sh in r.radial_profile] == [10] * 5
    for sh, rad in zip(r.radial_profile, s.radii()):
        assert sh.r_min < rad < sh.r_max


def test_int_key_is_a_type_error_naming_key():
    net = helpers.np_init(0, (2, 4, 1))
    for bad in (0, 1.5, "0", None, np.zeros(3, np.uint32)):
        with pytest.raises(TypeError, match="^key must be a JAX PRNG key"):
            jrelu.error_sweep(net, lambda x: jnp.sum(x), Gaussian(2), num_points=10, key=bad)


# -- network-like objects, backend-dependent blocking (issue 13) ---------------------------------


_RELU = jrelu.ReLU()


@jax.tree_util.register_pytree_node_class
class _Wrapped:
    """A network-like pytree: a Network behind the duck-typed interface the sweep accepts."""

    def __init__(self, net):
        self.net = net

    dtype = property(lambda self: self.net.dtype)
    input_dim = property(lambda self: self.net.input_dim)
    output_dim = property(lambda self: self.net.output_dim)

    def realize(self, x, *, activation=_RELU):
        return jrelu.realize(self.net, x, activation=activation)

    def value_and_derivative(self, x, *, activation=_RELU):
        return jrelu.value_and_derivative(self.net, x, activation=activation)

    def tree_flatten(self):
        return (self.net,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)


def test_network_like_objects_sweep_like_their_network(tmp_path):
    net, target, s, _ = _hard_case(jnp.float64)
    wrapped = _Wrapped(net)
    x = _gaussian_points(jax.random.key(1))
    pe = jax.jit(lambda w, x: (jrelu.pointwise_errors(w, target, x, kappa=1.0),
                               jrelu.pointwise_errors(w.net, target, x, kappa=1.0)))
    for a, b in zip(*pe(wrapped, x)):
        np.testing.assert_array_equal(a, b)
    kw = dict(num_points=300, key=jax.random.key(2), kappa=1.0, chunk_size=128, progress=False)
    assert _untimed(jrelu.error_sweep(wrapped, target, s, **kw)) == \
        _untimed(jrelu.error_sweep(net, target, s, **kw))
    # checkpoints fingerprint the class and the array leaves
    path = tmp_path / "w.json"
    r = jrelu.error_sweep(wrapped, target, s, **kw, checkpoint=path)
    fp = json.loads(path.read_text())["fingerprint"]
    assert fp["network_type"].endswith("_Wrapped") and fp["widths"] == [3, 2]
    assert _untimed(jrelu.error_sweep(wrapped, target, s, **kw, checkpoint=path)) == \
        _untimed(r)
    with pytest.raises(ValueError, match="network_sha256"):
        jrelu.error_sweep(_Wrapped(jax.tree.map(lambda a: 2 * a, net)), target, s, **kw,
                          checkpoint=path)
    with pytest.raises(ValueError, match="network_type"):
        jrelu.error_sweep(net, target, s, **kw, checkpoint=path)


def test_network_like_objects_are_checked():
    net = helpers.np_init(0, (2, 4, 1))
    ok = lambda x: jnp.sum(x)  # noqa: E731
    nk = dict(num_points=10, key=jax.random.key(0))

    class NoMethods:
        dtype, input_dim, output_dim = jnp.float64, 2, 1

    with pytest.raises(TypeError, match=r"^net must be a jrelu.Network or a network-like.*"
                                        r"without realize\(\), value_and_derivative\(\)"):
        jrelu.error_sweep(NoMethods(), ok, Gaussian(2), **nk)
    with pytest.raises(TypeError, match=r"^net must be a jrelu.Network or a network-like"):
        jrelu.pointwise_errors(object(), ok, jnp.ones(2))

    class NotAPytree(_Wrapped):  # the methods are there, but jit cannot take it
        pass

    with pytest.raises(TypeError, match=r"^net must be a pytree whose leaves are arrays"):
        jrelu.error_sweep(NotAPytree(net), ok, Gaussian(2), **nk)

    class BadShape(_Wrapped):
        def realize(self, x, *, activation=_RELU):
            return jnp.sum(x, axis=-1)  # (n,) instead of (n, 1)

    jax.tree_util.register_pytree_node_class(BadShape)
    with pytest.raises(ValueError, match=r"^net: BadShape.realize maps points of shape"):
        jrelu.error_sweep(BadShape(net), ok, Gaussian(2), **nk, derivative=False)
    with pytest.raises(ValueError, match=r"^sampler dimension 3 .* N_0 = 2"):
        jrelu.error_sweep(_Wrapped(net), ok, Gaussian(3), **nk)


def test_averaging_network_sweeps_like_its_dense_network():
    if not hasattr(jrelu.pde, "AveragingNetwork"):
        pytest.skip("jrelu.pde.AveragingNetwork is not there")
    phi = helpers.np_init(0, (3, 8, 1))
    s, c = jrelu.pde.path_maps(jrelu.pde.HeatSquare(dim=3), 4, key=jax.random.key(1))
    avg = jrelu.pde.AveragingNetwork(phi, s, c)
    target = lambda x: jnp.sum(x**2)  # noqa: E731
    x = _gaussian_points(jax.random.key(2))
    e, (y, J) = jax.jit(lambda n, x: (jrelu.pointwise_errors(n, target, x),
                                      n.value_and_derivative(x)))(avg, x)
    np.testing.assert_array_equal(e.value, y)
    np.testing.assert_array_equal(e.derivative, J)
    kw = dict(num_points=500, key=jax.random.key(3), chunk_size=256, progress=False)
    a = jrelu.error_sweep(avg, target, Gaussian(3), **kw)
    b = jrelu.error_sweep(avg.to_network(), target, Gaussian(3), **kw)
    for sa, sb in ((a.value, b.value), (a.derivative, b.derivative)):
        np.testing.assert_allclose(sa.sup, sb.sup, rtol=1e-12)
        np.testing.assert_allclose(sa.mean, sb.mean, rtol=1e-12)


def test_default_blocking_by_backend_and_memory():
    from jrelu.sweep import _default_blocking

    assert jrelu.samplers.sample_block(backend="cpu") == 512
    assert jrelu.samplers.sample_block(backend="gpu") == 8192
    with pytest.raises(TypeError, match="^backend"):
        jrelu.samplers.sample_block(backend=0)
    # CPU: (block, unit per device and call, default chunk) = (the cache-sized block, 8192,
    # 8192), whatever the memory or the device count
    for mem, nd in ((None, 1), (2**40, 8)):
        for block in (1024, 4096, 8192):
            assert _default_blocking(10**4, backend="cpu", memory_bytes=mem, num_devices=nd,
                                     cpu_block=block) == (block, 8192, 8192)
    # accelerators: the largest power of two with 32 P b <= M, in [16384, 2^24]; a device's
    # share of a chunk is 2^20 points (whole blocks), the block never depends on the devices
    P = 4096
    for backend in ("gpu", "tpu"):
        assert _default_blocking(P, backend=backend, memory_bytes=16 * 2**30) == \
            (2**17, 2**20, 2**20)
        assert _default_blocking(P, backend=backend, memory_bytes=16 * 2**30,
                                 num_devices=8) == (2**17, 2**20, 8 * 2**20)
        assert _default_blocking(P, backend=backend, memory_bytes=2**20) == \
            (16384, 2**20, 2**20)
        assert _default_blocking(1, backend=backend, memory_bytes=2**60) == \
            (2**24, 2**24, 2**24)
        assert _default_blocking(P, backend=backend, memory_bytes=3 * 2**35 - 1) == \
            (2**19, 2**20, 2**20)
        assert _default_blocking(P, backend=backend, memory_bytes=None) == \
            (2**14, 2**20, 2**20)
    # on this CPU: a default sweep uses chunks of 8192 points; a chunk larger than the unit
    # takes several calls and reports what one call per chunk reports
    net, target, s, _ = _hard_case(jnp.float64)
    kw = dict(num_points=20000, key=jax.random.key(0), kappa=1.0, progress=False)
    r = jrelu.error_sweep(net, target, s, **kw)
    assert r.chunk_size == 8192 and r.num_chunks == 3
    big = jrelu.error_sweep(net, target, s, chunk_size=19000, **kw)
    assert big.num_chunks == 2
    da, db = _untimed(r), _untimed(big)
    for d in (da, db):
        d.pop("chunk_size")
        d.pop("num_chunks")
    assert da == db
