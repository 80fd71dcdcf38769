"""Building blocks of jrelu.constructions: tooth, sawtooth, squaring, abs, multiplication,
cut-off, max/min, max-min PWL, squared norm, products/monomials/polynomials (float64).

Inputs are dyadic wherever an identity or a sharp bound is asserted, so float64 arithmetic
is exact and comparisons need no tolerance."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jrelu
from jrelu import connectivity, depth, derivative, num_params, realize, width
from jrelu import constructions as C

RELU = jrelu.ReLU()

KINKS = [jrelu.ReLU(deriv_at_kink=0.0), jrelu.ReLU(deriv_at_kink=0.5),
         jrelu.ReLU(deriv_at_kink=1.0)]


@functools.partial(jax.jit, static_argnames="act")
def _realize(net, x, act=RELU):
    return realize(net, x, activation=act)


@functools.partial(jax.jit, static_argnames="act")
def _derivative(net, x, act=RELU):
    return derivative(net, x, activation=act)


def _params(widths):
    return sum(widths[k] * (widths[k - 1] + 1) for k in range(1, len(widths)))


def _r(net, x, act=RELU):
    return np.asarray(_realize(net, jnp.asarray(x)[..., None] if np.ndim(x) == 1 else x, act))


def _grid(lo, hi, step):
    n = int(round((hi - lo) / step))
    return lo + step * np.arange(n + 1, dtype=np.float64)


def _dyadic_uniform(rng, shape, lo, hi, bits=20):
    """Uniform-ish dyadic numbers (multiples of (hi-lo)/2^bits) in [lo, hi]."""
    k = rng.integers(0, 2**bits + 1, shape)
    return lo + (hi - lo) * k / 2.0**bits


# -- tooth and sawtooth ---------------------------------------------------------------------


def test_tooth_values_and_sizes():
    net = C.tooth_network()
    x = _grid(-2.0, 3.0, 2.0**-8)
    g = np.where((x >= 0) & (x <= 0.5), 2 * x, np.where((x > 0.5) & (x <= 1), 2 - 2 * x, 0.0))
    np.testing.assert_array_equal(_r(net, x)[:, 0], g)
    assert (depth(net), net.widths, width(net), num_params(net), connectivity(net)) == \
        (2, (1, 3, 1), 3, 10, 8)


@pytest.mark.parametrize("s", [1, 2, 4, 7])
def test_sawtooth_teeth_exact(s):
    net = C.sawtooth_network(s)
    x = _grid(-1.0, 2.0, 2.0 ** (-s - 3))
    y = _r(net, x)[:, 0]
    # exactly 0 outside [0, 1], 0 at even and 1 at odd multiples of 2^-s, linear between
    np.testing.assert_array_equal(y[(x < 0) | (x > 1)], 0.0)
    k = x * 2.0**s
    on = (x >= 0) & (x <= 1) & (k == np.round(k))
    np.testing.assert_array_equal(y[on], (np.round(k[on]) % 2).astype(float))
    inside = (x >= 0) & (x <= 1)
    frac = k - np.floor(k)
    lower = np.floor(k) % 2  # value at the left grid point
    expect = np.where(lower == 0, frac, 1 - frac)
    np.testing.assert_array_equal(y[inside], expect[inside])
    # teeth = strict local maxima on the dyadic grid
    peaks = (y[1:-1] > y[:-2]) & (y[1:-1] > y[2:])
    assert int(peaks.sum()) == 2 ** (s - 1)
    assert int((y == 1.0).sum()) == 2 ** (s - 1)
    assert depth(net) == s + 1 and net.widths == (1,) + (3,) * s + (1,)
    assert width(net) == 3 and num_params(net) == 12 * s - 2 and connectivity(net) == 11 * s - 3


# -- squaring ----------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [1, 2, 5, 8])
def test_square_network_bounds_exact(m):
    net = C.square_network(m)
    h = 2.0**-m
    x = _grid(-1.0, 2.0, h / 64)
    y = _r(net, x)[:, 0]
    np.testing.assert_array_equal(y[x <= 0], 0.0)
    np.testing.assert_array_equal(y[x >= 1], x[x >= 1])
    inside = (x >= 0) & (x <= 1)
    err = y[inside] - x[inside] ** 2
    assert err.min() >= 0.0 and err.max() == 2.0 ** (-2 * m - 2)  # exact sup
    mid = (np.arange(2**m) + 0.5) * h
    np.testing.assert_array_equal(_r(net, mid)[:, 0] - mid**2, 2.0 ** (-2 * m - 2))
    grid = np.arange(2**m + 1) * h
    np.testing.assert_array_equal(_r(net, grid)[:, 0], grid**2)  # interpolates
    # derivative: off the grid, D^N is the cell slope (2j+1)h, within h of 2x
    off = x[inside & (x * 2**m != np.round(x * 2**m))]
    for act in KINKS:
        D = np.asarray(_derivative(net, off[:, None], act))[:, 0, 0]
        j = np.floor(off / h)
        np.testing.assert_array_equal(D, (2 * j + 1) * h)
        assert np.max(np.abs(D - 2 * off)) <= h
    # sizes
    assert depth(net) == m + 1
    assert net.widths == (1, 3) + (4,) * (m - 1) + (1,)
    assert width(net) == (3 if m == 1 else 4)
    assert num_params(net) == (10 if m == 1 else 20 * m - 13)
    assert connectivity(net) == (8 if m == 1 else 15 * m - 7)


def test_square_network_derivative_at_a_kink_is_not_one_sided():
    # documented in the module docstring: at x = 1 (m = 3, c = 0) D^N is 1.5, while the
    # one-sided slopes are 1.875 (left) and 1 (right); the bound is a.e. only
    net = C.square_network(3)
    assert float(derivative(net, jnp.array([1.0]))[0, 0]) == 1.5


def test_abs_network():
    d = 3
    net = C.abs_network(d)
    rng = np.random.default_rng(0)
    x = _dyadic_uniform(rng, (200, d), -4, 4)
    x[:10, 1] = 0.0
    np.testing.assert_array_equal(_r(net, x), np.abs(x))
    for act in KINKS:
        D = np.asarray(_derivative(net, x, act))
        np.testing.assert_array_equal(D, np.eye(d) * np.sign(x)[:, None, :])  # 0 at x_i = 0
    assert (depth(net), net.widths, width(net)) == (2, (d, 2 * d, d), 2 * d)
    assert num_params(net) == 4 * d * d + 3 * d and connectivity(net) == 4 * d


# -- multiplication -----------------------------------------------------------------------------


@pytest.mark.parametrize("b,m", [(1.0, 1), (4.0, 3), (0.5, 6)])
def test_multiplication_bounds(b, m):
    net = C.multiplication_network(b, m)
    h = 2.0**-m
    rng = np.random.default_rng(m)
    xy = _dyadic_uniform(rng, (20000, 2), -b, b)
    val = _r(net, xy)[:, 0]
    err = np.abs(val - xy[:, 0] * xy[:, 1])
    assert err.max() <= b * b * 2.0 ** (-2 * m - 2)
    # the bound is attained: u = h/2 (midpoint of the first cell), v = 0
    t = b * h / 2
    assert float(realize(net, jnp.array([t, t]))[0]) - t * t == b * b * 2.0 ** (-2 * m - 2)
    # 1-D dense grid in x at fixed dyadic y
    xs = _grid(-b, b, b * 2.0**-12)
    for y0 in (-b, -0.375 * b, 0.0, 0.75 * b):
        pts = np.stack([xs, np.full_like(xs, y0)], -1)
        assert np.max(np.abs(_r(net, pts)[:, 0] - xs * y0)) <= b * b * 2.0 ** (-2 * m - 2)
    # derivative on the interior of the linear pieces (skip the kink lines)
    u = np.abs(xy[:, 0] + xy[:, 1]) / (2 * b) * 2**m
    v = np.abs(xy[:, 0] - xy[:, 1]) / (2 * b) * 2**m
    ok = (u != np.round(u)) & (v != np.round(v))
    D = np.asarray(_derivative(net, xy[ok]))[:, 0, :]
    derr = np.linalg.norm(D - xy[ok][:, ::-1], axis=-1)
    assert derr.max() <= b * h
    assert derr.max() >= 0.5 * b * h  # not vacuous
    # sizes
    assert depth(net) == m + 2
    assert net.widths == (2, 4, 6) + (8,) * (m - 1) + (1,)
    assert width(net) == (6 if m == 1 else 8)
    assert num_params(net) == (49 if m == 1 else 72 * m - 37)
    assert connectivity(net) == 30 * m


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_multiplication_zero_branch_exact(dtype):
    rng = np.random.default_rng(1)
    t = np.concatenate([rng.normal(size=300) * 10.0 ** rng.integers(-8, 9, 300),
                        [0.0, 1.0, -1.0, 3.0, 1e6, -1e7, 2.0**-20]])
    X = jnp.asarray(np.stack([np.zeros_like(t), t], -1), dtype)
    grads = {jac: jax.jit(jax.vmap(jac(lambda n, z: realize(n, z), argnums=1), (None, 0)))
             for jac in (jax.jacfwd, jax.jacrev)}
    for b, m in [(1.0, 3), (3.0, 5), (0.7, 2)]:  # also non-dyadic b; t far outside [-b, b]
        net = C.multiplication_network(b, m, dtype=dtype)
        # eagerly and under jit; every kink value, also a non-dyadic one
        np.testing.assert_array_equal(np.asarray(realize(net, X)), 0.0)
        np.testing.assert_array_equal(np.asarray(derivative(net, X))[:, 0, 1], 0.0)
        np.testing.assert_array_equal(np.asarray(_realize(net, X)), 0.0)
        for act in KINKS + [jrelu.ReLU(deriv_at_kink=0.3)]:
            np.testing.assert_array_equal(np.asarray(_derivative(net, X, act))[:, 0, 1], 0.0)
        for grad in grads.values():
            np.testing.assert_array_equal(np.asarray(grad(net, X))[:, 0, 1], 0.0)
        assert _realize(net, X).dtype == dtype


def test_multiplication_m_is_smallest():
    for b, acc, dacc in [(1.0, 1e-3, None), (100.0, 0.25, None), (3.0, 1e-6, 1e-2),
                         (1024.0, 0.125, 1.0)]:
        m = C.multiplication_m(b, accuracy=acc, derivative_accuracy=dacc)

        def ok(k, b=b, acc=acc, dacc=dacc):
            return b * b * 2.0 ** (-2 * k - 2) <= acc and (dacc is None or b * 2.0**-k <= dacc)

        assert ok(m) and (m == 1 or not ok(m - 1))


# -- cut-off ------------------------------------------------------------------------------------


def test_cutoff_1d_dense_exact():
    B = 2.0
    net = C.cutoff_network(1, B)
    x = _grid(-5.0, 5.0, 2.0**-10)
    y = _r(net, x)[:, 0]
    np.testing.assert_array_equal(y, np.clip(B + 1 - np.abs(x), 0, 1))
    assert (depth(net), net.widths, width(net)) == (3, (1, 2, 1, 1), 2)
    assert num_params(net) == 2 + 4 + 3 and connectivity(net) == 8


@pytest.mark.parametrize("d,B", [(3, 1.5), (7, 4.0)])
def test_cutoff_nd(d, B):
    net = C.cutoff_network(d, B)
    rng = np.random.default_rng(d)
    x = _dyadic_uniform(rng, (5000, d), -B - 2, B + 2)
    y = _r(net, x)[:, 0]
    rho = np.max(np.abs(x), -1)
    assert y.min() >= 0 and y.max() <= 1
    np.testing.assert_array_equal(y[rho <= B], 1.0)
    np.testing.assert_array_equal(y[rho >= B + 1], 0.0)
    np.testing.assert_array_equal(y, np.maximum(1 - np.sum(np.maximum(np.abs(x) - B, 0), -1), 0))
    D = np.asarray(_derivative(net, x))[:, 0, :]
    np.testing.assert_array_equal(D[rho < B], 0.0)
    np.testing.assert_array_equal(D[rho > B + 1], 0.0)
    assert set(np.unique(D)) <= {-1.0, 0.0, 1.0}
    assert np.linalg.norm(D, axis=-1).max() <= math.sqrt(d)
    assert (depth(net), net.widths, width(net)) == (3, (d, 2 * d, 1, 1), 2 * d)
    assert num_params(net) == 2 * d * d + 4 * d + 3 and connectivity(net) == 6 * d + 2


# -- max / min / max-min -----------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 5, 7, 8])
def test_max_min_exact(k):
    rng = np.random.default_rng(k)
    x = _dyadic_uniform(rng, (500, k), -8, 8, bits=10)
    x[:50, 0] = x[:50, -1]  # ties
    mx, mn = C.max_network(k), C.min_network(k)
    np.testing.assert_array_equal(_r(mx, x)[:, 0], x.max(-1))
    np.testing.assert_array_equal(_r(mn, x)[:, 0], x.min(-1))
    sizes = [k]
    while sizes[-1] > 1:
        sizes.append(-(-sizes[-1] // 2))
    K = len(sizes) - 1
    hidden = tuple(3 * (n // 2) + 2 * (n % 2) for n in sizes[:-1])
    assert depth(mx) == K + 1 and mx.widths == (k,) + hidden + (1,)
    assert num_params(mx) == _params(mx.widths) and mn.widths == mx.widths
    if k >= 2 and k & (k - 1) == 0:
        assert connectivity(mx) == 8 * k - 9
    assert connectivity(mx) <= 8 * k


def test_maxmin_pwl_exact():
    # 1-D hat max(0, min(1 + x, 1 - x)) and |x| = max(x, -x)
    W = np.array([[0.0], [1.0], [-1.0]])
    c = np.array([0.0, 1.0, 1.0])
    hat = C.maxmin_network(W, c, [[0], [1, 2]])
    x = _grid(-3, 3, 2.0**-8)
    np.testing.assert_array_equal(_r(hat, x)[:, 0], np.maximum(0, np.minimum(1 + x, 1 - x)))
    # random 2-D max-min with dyadic data, compared with the formula
    rng = np.random.default_rng(3)
    W = rng.integers(-8, 9, (7, 2)) / 4.0
    c = rng.integers(-8, 9, 7) / 4.0
    groups = [[0, 1, 2], [3, 4], [5], [6, 0, 3, 1]]
    net = C.maxmin_network(W, c, groups)
    X = _dyadic_uniform(rng, (2000, 2), -4, 4, bits=12)
    Z = X @ W.T + c
    f = np.max(np.stack([Z[:, g].min(-1) for g in groups]), 0)
    np.testing.assert_array_equal(_r(net, X)[:, 0], f)
    assert depth(net) == 2 + 2 + 1  # max ceil(log2|G_i|) + ceil(log2 n) + 1


# -- squared norm, products, monomials, polynomials --------------------------------------------


@pytest.mark.parametrize("d,B,m", [(1, 2.0, 3), (4, 4.0, 5), (6, 1.0, 1)])
def test_squared_norm_network(d, B, m):
    net = C.squared_norm_network(d, B, m)
    rng = np.random.default_rng(d)
    x = _dyadic_uniform(rng, (4000, d), -B, B)
    err = _r(net, x)[:, 0] - np.sum(x * x, -1)
    assert err.min() >= 0 and err.max() <= d * B * B * 2.0 ** (-2 * m - 2)
    u = np.abs(x) / B * 2**m
    ok = np.all((u != np.round(u)), -1)
    D = np.asarray(_derivative(net, x[ok]))[:, 0, :]
    assert np.linalg.norm(D - 2 * x[ok], axis=-1).max() <= math.sqrt(d) * B * 2.0**-m
    assert depth(net) == m + 2
    assert net.widths == (d, 2 * d, 3 * d) + (4 * d,) * (m - 1) + (1,)
    assert width(net) == (3 * d if m == 1 else 4 * d)
    assert num_params(net) == _params(net.widths)
    assert connectivity(net) == d * (15 * m - 2)


def _check_bound(net, bound, f, grad, x):
    """The value and derivative bounds at the points ``x``; ``f`` and its gradient ``grad``
    are written out in float64 NumPy (an independent reference, no compilation per shape)."""
    val = _r(net, x)[:, 0]
    fx = f(x)
    assert np.abs(val - fx).max() <= bound.value
    D = np.asarray(_derivative(net, x))[:, 0, :]
    g = grad(x)
    assert g.shape == D.shape
    assert np.linalg.norm(D - g, axis=-1).max() <= bound.derivative


def _prod_grad(x):
    """The gradient of x_1 ⋯ x_n: column i is the product of the other coordinates."""
    return np.stack([np.prod(np.delete(x, i, axis=-1), axis=-1) for i in range(x.shape[-1])],
                    axis=-1)


@pytest.mark.parametrize("n,half_width", [(2, 1.0), (3, 2.0), (4, 1.0), (5, 0.5)])
def test_product_network(n, half_width):
    net, bd = C.product_network(n, half_width=half_width, accuracy=1e-3,
                                derivative_accuracy=1e-1)
    assert bd.value <= 1e-3 and bd.derivative <= 1e-1
    rng = np.random.default_rng(n)
    x = rng.uniform(-half_width, half_width, (3000, n))
    _check_bound(net, bd, lambda z: np.prod(z, axis=-1), _prod_grad, x)
    K = math.ceil(math.log2(n))
    assert depth(net) == K * (bd.m + 1) + 1
    if n & (n - 1) == 0:
        assert connectivity(net) == 30 * bd.m * (n - 1) + 20 * (n - 2)
    # level widths: q products, o carries
    widths, size = [n], n
    for _ in range(K):
        q, o = divmod(size, 2)
        widths += [4 * q + 2 * o, 6 * q + 2 * o] + [8 * q + 2 * o] * (bd.m - 1)
        size = q + o
    assert net.widths == tuple(widths) + (1,)
    assert num_params(net) == _params(net.widths)


def test_monomial_and_polynomial():
    rng = np.random.default_rng(5)
    x = rng.uniform(-1.5, 1.5, (3000, 3))
    net, bd = C.monomial_network((2, 0, 1), half_width=1.5, accuracy=1e-3,
                                 derivative_accuracy=0.2)
    _check_bound(net, bd, lambda z: z[:, 0] ** 2 * z[:, 2],
                 lambda z: np.stack([2 * z[:, 0] * z[:, 2], 0 * z[:, 1], z[:, 0] ** 2], -1), x)
    assert depth(net) == 2 * (bd.m + 1) + 1
    net, bd = C.monomial_network((0, 1, 0), half_width=1.5, accuracy=1e-3)
    np.testing.assert_array_equal(_r(net, x)[:, 0], x[:, 1])
    assert bd.value == 0.0
    coeffs = {(0, 0, 0): 1.0, (1, 0, 0): 2.0, (1, 1, 0): -3.0, (0, 0, 2): 0.5}
    p = lambda z: 1 + 2 * z[:, 0] - 3 * z[:, 0] * z[:, 1] + 0.5 * z[:, 2] ** 2
    dp = lambda z: np.stack([2 - 3 * z[:, 1], -3 * z[:, 0], z[:, 2]], -1)
    net, bd = C.polynomial_network(coeffs, 3, half_width=1.5, accuracy=1e-2,
                                   derivative_accuracy=0.5)
    assert bd.value <= 1e-2 and bd.derivative <= 0.5
    _check_bound(net, bd, p, dp, x)
    deepest = C.monomial_network((1, 1, 0), half_width=1.5, accuracy=1e-2 / 3.5,
                                 derivative_accuracy=0.5 / 3.5)[0]
    assert depth(net) == max(depth(deepest), depth(C.monomial_network(
        (0, 0, 2), half_width=1.5, accuracy=1e-2 / 3.5, derivative_accuracy=0.5 / 3.5)[0]))


# -- bad input -------------------------------------------------------------------------------------


def test_bad_input_raises():
    with pytest.raises(ValueError, match="m must be an integer >= 1"):
        C.square_network(0)
    with pytest.raises(ValueError, match="m must be an integer >= 1"):
        C.multiplication_network(1.0, 0)
    with pytest.raises(ValueError, match="b must be > 0"):
        C.multiplication_network(0.0, 2)
    with pytest.raises(ValueError, match="B must be > 0"):
        C.cutoff_network(2, 0.0)
    with pytest.raises(ValueError, match="B must be > 0"):
        C.squared_norm_network(2, -1.0, 3)
    with pytest.raises(ValueError, match="s must be an integer >= 1"):
        C.sawtooth_network(0)
    with pytest.raises(ValueError, match="d must be an integer >= 1"):
        C.abs_network(0)
    with pytest.raises(ValueError, match="accuracy must be > 0"):
        C.multiplication_m(1.0, accuracy=0.0)
    with pytest.raises(ValueError, match="c must have shape"):
        C.maxmin_network(np.ones((3, 2)), np.ones(2), [[0]])
    with pytest.raises(ValueError, match="out of range"):
        C.maxmin_network(np.ones((3, 2)), np.ones(3), [[0, 5]])
    with pytest.raises(ValueError, match="length 2, expected d = 3"):
        C.polynomial_network({(1, 1): 1.0}, 3, half_width=1.0, accuracy=1e-2)


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="m must be an integer"):
        C.square_network(True)
    with pytest.raises(TypeError, match="b must be a real number"):
        C.multiplication_network("1.0", 2)
    with pytest.raises(TypeError, match="alpha\\[1\\] must be an integer"):
        C.monomial_network((1, 0.5), half_width=1.0, accuracy=1e-2)
    with pytest.raises(TypeError, match="W must be an array"):
        C.maxmin_network("W", np.ones(3), [[0]])
    with pytest.raises(TypeError, match="coeffs must be a mapping"):
        C.polynomial_network([((1, 1), 1.0)], 2, half_width=1.0, accuracy=1e-2)
    with pytest.raises(TypeError):  # dtype is keyword-only
        C.square_network(3, jnp.float32)
    with pytest.raises(ValueError, match="dtype must be a floating dtype"):
        C.tooth_network(dtype=jnp.int32)


def test_error_bound_is_a_frozen_report():
    _, bd = C.product_network(2, half_width=0.5, accuracy=1e-2)
    assert bd.to_dict() == {"value": bd.value, "derivative": bd.derivative,
                            "half_width": 0.5, "m": bd.m}
    with pytest.raises(AttributeError):
        bd.m = 1
