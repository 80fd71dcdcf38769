"""Certified interval bounds: enclosures, interval D^N, Lipschitz bounds, certified sup errors.

Every bound is checked against an independent computation that it must dominate
(sampled values, D^N at sampled points and at planted kinks, finite-difference slopes,
exact rational arithmetic), and the certified sup error against suprema known in
closed form (Yarotsky's interpolant of x², a planted bump).
"""

import dataclasses
import functools
import json
from fractions import Fraction
from typing import ClassVar

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jrelu
from jrelu.examples import slope_network

ACTS = [jrelu.ReLU(), jrelu.ReLU(deriv_at_kink=2.0),
        jrelu.LeakyReLU(negative_slope=0.1, deriv_at_kink=-0.5), jrelu.Abs(deriv_at_kink=0.5),
        jrelu.HardTanh(deriv_at_kink=3.0), jrelu.Softplus(), jrelu.Tanh()]


# -- helpers -----------------------------------------------------------------------------------


def yarotsky(m: int, dtype=jnp.float64) -> jrelu.Network:
    r"""Hand-built ReLU network realizing f_m(x) = x − Σ_{s≤m} g_s(x)/4^s on [0, 1].

    Hidden state (ϱ(g), ϱ(g − ½), ϱ(g − 1), ϱ(acc)) with g the current sawtooth input and
    acc = f_{s−1} ≥ x² ≥ 0, so ϱ(acc) = acc on [0, 1]. f_m is the piecewise-linear
    interpolant of x² on the grid 2^{−m}; sup |f_m − x²| = 2^{−2m−2} on [0, 1], attained at
    the cell midpoints. Weights are dyadic.
    """
    layers = [(np.ones((4, 1)), np.array([0.0, -0.5, -1.0, 0.0]))]
    for s in range(1, m + 1):
        g = np.array([2.0, -4.0, 2.0, 0.0])  # g_s = 2ϱ(t) − 4ϱ(t − ½) + 2ϱ(t − 1)
        acc = np.array([0.0, 0.0, 0.0, 1.0]) - g / 4.0**s
        if s < m:
            layers.append((np.stack([g, g, g, acc]), np.array([0.0, -0.5, -1.0, 0.0])))
        else:
            layers.append((acc[None], np.zeros(1)))
    return jrelu.Network([(jnp.asarray(A, dtype), jnp.asarray(b, dtype)) for A, b in layers])


def sum_of_squares_net(m: int, d: int) -> jrelu.Network:
    """Σ_i f_m(x_i): full parallelization of d Yarotsky networks, then a sum."""
    par = jrelu.parallel_full(*[yarotsky(m)] * d)
    return jrelu.compose(jrelu.Network([(jnp.ones((1, d)), jnp.zeros(1))]), par)


def random_boxes(key, n, d, scale=1.0, max_width=1.0):
    k1, k2 = jax.random.split(key)
    c = scale * jax.random.uniform(k1, (n, d), minval=-1, maxval=1)
    w = max_width * jax.random.uniform(k2, (n, d))
    return c - w / 2, c + w / 2


def samples_in(key, lo, hi, n):
    """n uniform points in each box plus its 2^d corners, shape (boxes, n + 2^d, d)."""
    d = lo.shape[-1]
    u = jax.random.uniform(key, lo.shape[:-1] + (n, d))
    pts = lo[:, None] + u * (hi - lo)[:, None]
    mask = jnp.asarray(np.array(np.meshgrid(*[[0, 1]] * d, indexing="ij")).reshape(d, -1).T)
    corners = jnp.where(mask[None].astype(bool), hi[:, None], lo[:, None])
    return jnp.concatenate([pts, corners], axis=1)


# -- enclosures ----------------------------------------------------------------------------------


def test_yarotsky_network_is_the_interpolant():
    m = 3
    x = jnp.linspace(0.0, 1.0, 2**m * 16 + 1)[:, None]  # dyadic points: exact arithmetic
    err = jrelu.realize(yarotsky(m), x)[:, 0] - x[:, 0] ** 2
    assert float(err.max()) == 2.0 ** (-2 * m - 2)
    assert float(err.min()) == 0.0


# The enclosure tests on 3-input networks share the widths W3 and the batch of 10 boxes
# boxes3(), so that the bound kernels compiled for an activation (a few seconds each) serve
# every such test.
W3 = (3, 16, 16, 2)


@functools.cache
def boxes3():
    """10 boxes in [-1, 1]^3 of widths up to 0.8 (the enclosure tests' batch)."""
    return random_boxes(jax.random.key(2), 10, 3, max_width=0.8)


@pytest.mark.parametrize("act", ACTS, ids=repr)
def test_realize_and_derivative_bounds_enclose_samples(act):
    net = jrelu.init(jax.random.key(1), W3)
    lo, hi = boxes3()
    out_lo, out_hi = jrelu.realize_bounds(net, (lo, hi), activation=act)
    Jl, Jh = jrelu.derivative_bounds(net, (lo, hi), activation=act)
    assert out_lo.shape == out_hi.shape == (10, 2) and Jl.shape == Jh.shape == (10, 2, 3)
    pts = samples_in(jax.random.key(3), lo, hi, 100)
    y = jrelu.realize(net, pts, activation=act)
    assert bool(jnp.all(out_lo[:, None] <= y)) and bool(jnp.all(y <= out_hi[:, None]))
    J = jrelu.derivative(net, pts, activation=act)
    assert bool(jnp.all(Jl[:, None] <= J)) and bool(jnp.all(J <= Jh[:, None]))
    # not vacuous: interval propagation through 1-Lipschitz activations has output radius
    # at most |A_3||A_2||A_1| r (plus rounding slack)
    W = jnp.abs(net.layers[2][0]) @ jnp.abs(net.layers[1][0]) @ jnp.abs(net.layers[0][0])
    r = (hi - lo) / 2
    assert bool(jnp.all(out_hi - out_lo <= 2 * (r @ W.T) * (1 + 1e-9) + 1e-9))


def _exact_relu_realize(net, x):
    """RΦ(x) in exact rational arithmetic on the stored float64 weights (ReLU)."""
    h = [Fraction(float(v)) for v in x]
    for k, (A, b) in enumerate(net.layers):
        A, b = np.asarray(A), np.asarray(b)
        z = [sum((Fraction(float(A[i, j])) * h[j] for j in range(len(h))), Fraction(float(b[i])))
             for i in range(A.shape[0])]
        h = z if k == len(net.layers) - 1 else [max(v, Fraction(0)) for v in z]
    return h


def test_point_enclosure_contains_exact_rational_value():
    net = jrelu.init(jax.random.key(4), W3)
    x = jax.random.normal(jax.random.key(5), (30, 3))
    # three batches of 10 zero-width boxes: the kernel of the enclosure tests
    lo, hi = (jnp.concatenate(t) for t in zip(*(jrelu.realize_bounds(net, (x[k:k + 10],) * 2)
                                                for k in range(0, 30, 10))))
    for i in range(x.shape[0]):
        exact = _exact_relu_realize(net, np.asarray(x[i]))
        for j in range(2):
            assert Fraction(float(lo[i, j])) <= exact[j] <= Fraction(float(hi[i, j]))
    # at a point the enclosure is pure rounding slack: tiny but (for inexact sums) nonzero
    assert float(jnp.max(hi - lo)) < 1e-12


@pytest.mark.parametrize("act", [jrelu.ReLU(), jrelu.LeakyReLU(), jrelu.Tanh()], ids=repr)
def test_float32_enclosure_contains_float64_values(act):
    """The float32 enclosure must contain the (nearly exact) float64 realization of the same
    float32 weights, which the plain float32 realization does not reproduce."""
    net32 = jrelu.init(jax.random.key(6), (4, 32, 32, 3), dtype=jnp.float32)
    net64 = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), net32)
    x = jax.random.normal(jax.random.key(7), (500, 4), jnp.float32)
    lo, hi = jrelu.realize_bounds(net32, (x, x), activation=act)
    assert lo.dtype == jnp.float32
    y64 = jrelu.realize(net64, x.astype(jnp.float64), activation=act)
    assert bool(jnp.all(lo <= y64)) and bool(jnp.all(y64 <= hi))
    y32 = jrelu.realize(net32, x, activation=act).astype(jnp.float64)
    assert float(jnp.max(jnp.abs(y32 - y64))) > 0  # rounding is real, so slack is needed


def test_box_is_rounded_outward_when_cast_to_float32():
    net = jrelu.Network([(jnp.ones((1, 1), jnp.float32), jnp.zeros(1, jnp.float32))])
    lo, hi = jrelu.realize_bounds(net, (np.array([0.1]), np.array([0.3])))
    assert float(lo[0]) <= 0.1 and float(hi[0]) >= 0.3


@pytest.mark.parametrize("c", [0.0, 0.5, 2.0, -1.0])
def test_derivative_bounds_include_planted_kink_value(c):
    # aϱ(x) − bϱ(−x) with a = 3, b = 1: slopes 1 (left), 3 (right), D^N(0) = c(a + b) = 4c.
    net = slope_network(3.0, 1.0)
    act = jrelu.ReLU(deriv_at_kink=c)
    Jl, Jh = jrelu.derivative_bounds(net, (jnp.array([-0.5]), jnp.array([0.25])),
                                     activation=act)
    at0 = float(jrelu.derivative(net, jnp.array([0.0]), activation=act)[0, 0])
    assert at0 == 4 * c
    lo, hi = float(Jl[0, 0]), float(Jh[0, 0])
    assert lo <= min(1.0, 3.0, 4 * c) and hi >= max(1.0, 3.0, 4 * c)
    # D^N = 3 Dϱ(x) + Dϱ(−x), each factor in the hull [min(0, c), max(1, c)]: interval
    # arithmetic gives exactly 4 × that hull (it cannot see that x and −x are coupled)
    hull = (min(0.0, c), max(1.0, c))
    assert abs(lo - 4 * hull[0]) < 1e-12 and abs(hi - 4 * hull[1]) < 1e-12
    # the kink at 0 sitting exactly on the box boundary still counts
    Jl0, Jh0 = jrelu.derivative_bounds(net, (jnp.array([0.0]), jnp.array([0.5])),
                                       activation=act)
    assert float(Jl0[0, 0]) <= 4 * c <= float(Jh0[0, 0])
    assert float(Jl0[0, 0]) <= 3.0 <= float(Jh0[0, 0])


def test_derivative_bounds_hardtanh_kinks_and_stable_boxes():
    act = jrelu.HardTanh(deriv_at_kink=-2.0)
    net = jrelu.Network([(jnp.array([[2.0], [-1.0]]), jnp.array([0.0, 0.5])),
                         (jnp.array([[1.0, 1.0]]), jnp.zeros(1))])
    for x in [-0.5, 0.5, 1.5, -1.5, 0.25]:  # neuron 1 at ±1 for x = ±½, neuron 2 at x = −½, 1.5
        J = float(jrelu.derivative(net, jnp.array([x]), activation=act)[0, 0])
        Jl, Jh = jrelu.derivative_bounds(net, (jnp.array([x]), jnp.array([x])), activation=act)
        assert float(Jl[0, 0]) <= J <= float(Jh[0, 0])
    # a box on which every neuron is stable: the enclosure is a point (up to rounding)
    Jl, Jh = jrelu.derivative_bounds(net, (jnp.array([0.0]), jnp.array([0.25])), activation=act)
    assert abs(float(Jl[0, 0]) - 1.0) < 1e-14 and abs(float(Jh[0, 0]) - 1.0) < 1e-14


def test_bounds_are_jit_compatible_and_batched():
    net = jrelu.init(jax.random.key(11), (2, 8, 1))
    lo, hi = random_boxes(jax.random.key(12), 5, 2)
    eager = jrelu.derivative_bounds(net, (lo, hi))
    jitted = jax.jit(lambda n, a, b: jrelu.derivative_bounds(n, (a, b)))(net, lo, hi)
    np.testing.assert_array_equal(np.asarray(eager[0]), np.asarray(jitted[0]))
    single = jrelu.derivative_bounds(net, (lo[3], hi[3]))
    # same enclosure up to the summation order of the batched matmul
    np.testing.assert_allclose(np.asarray(single[1]), np.asarray(eager[1][3]), rtol=1e-14)
    J = jrelu.derivative(net, (lo[3] + hi[3]) / 2)
    assert bool(jnp.all(single[0] <= J)) and bool(jnp.all(J <= single[1]))
    L = jax.jit(lambda n, a, b: jrelu.lipschitz_bound(n, (a, b)))(net, lo, hi)
    assert L.shape == (5,)


@pytest.mark.parametrize("name,fn,model,act", [
    ("tanh", jnp.tanh, "abs", jrelu.Tanh()), ("sigmoid", jax.nn.sigmoid, "abs", jrelu.Softplus()),
    ("softplus", lambda z: jnp.logaddexp(z, jnp.zeros_like(z)), "rel", jrelu.Softplus())])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_transcendental_accuracy_assumption(name, fn, model, act, dtype):
    """The documented model: XLA's tanh/sigmoid/softplus are within value_ulps·u (64 u);
    the derivative of softplus (sigmoid) too, widened by bounds with twice that or more."""
    K = act.value_ulps
    assert K == 64
    mpmath.mp.dps = 50
    ref = {"tanh": mpmath.tanh, "sigmoid": lambda z: 1 / (1 + mpmath.exp(-z)),
           "softplus": lambda z: mpmath.log(1 + mpmath.exp(z))}[name]
    z = np.concatenate([np.linspace(-30, 30, 601), np.geomspace(1e-8, 5, 100),
                        -np.geomspace(1e-8, 5, 100)]).astype(dtype)
    v = np.asarray(fn(jnp.asarray(z)), np.float64)
    u = float(np.finfo(dtype).eps) / 2
    tiny = float(np.finfo(dtype).tiny)
    for zi, vi in zip(z, v):
        r = ref(mpmath.mpf(float(zi)))
        err = abs(mpmath.mpf(float(vi)) - r)
        bound = K * u * (1 if model == "abs" else abs(r)) + tiny
        assert err <= bound, (name, zi, float(err), bound)


# -- activations defined by users: only the interval data, no class dispatch ----------------


@dataclasses.dataclass(frozen=True)
class _Clip(jrelu.Activation):
    """min(max(z, -0.5), 2): piecewise linear, exact evaluation, kink value 0.5."""

    kinks: ClassVar[tuple[float, ...]] = (-0.5, 2.0)
    value_ulps: ClassVar[int] = 0
    deriv_at_kink: float = 0.5

    @property
    def slopes(self):
        return (0.0, 1.0, 0.0)

    def value(self, z):
        return jnp.clip(z, -0.5, 2.0)

    def deriv(self, z):
        inside = (z > -0.5) & (z < 2.0)
        at = (z == -0.5) | (z == 2.0)
        return jnp.where(inside, 1.0, jnp.where(at, self.deriv_at_kink, 0.0)).astype(z.dtype)


@dataclasses.dataclass(frozen=True)
class _Bent(jrelu.Activation):
    """z below 1, 0.25 z + 0.75 above: a piece off the origin, evaluated with 2 roundings."""

    kinks: ClassVar[tuple[float, ...]] = (1.0,)
    value_ulps: ClassVar[int] = 2
    deriv_at_kink: float = 1.0

    @property
    def slopes(self):
        return (1.0, 0.25)

    def value(self, z):
        return jnp.where(z > 1.0, 0.25 * z + 0.75, z)

    def deriv(self, z):
        return jnp.where(z > 1.0, 0.25, 1.0).astype(z.dtype)


@dataclasses.dataclass(frozen=True)
class _Sigmoid(jrelu.Activation):
    """The logistic function: smooth and bounded, with image, deriv_image and lipschitz."""

    value_ulps: ClassVar[int] = 64

    @property
    def lipschitz(self):
        return 0.25

    def value(self, z):
        return jax.nn.sigmoid(z)

    def deriv(self, z):
        s = jax.nn.sigmoid(z)
        return s * (1.0 - s)

    def image(self, lo, hi):
        return self.value(jnp.asarray(lo)), self.value(jnp.asarray(hi))

    def deriv_image(self, lo, hi):
        lo, hi = jnp.asarray(lo), jnp.asarray(hi)
        top = self.deriv(jnp.clip(jnp.zeros_like(lo), lo, hi))
        return jnp.minimum(self.deriv(lo), self.deriv(hi)), top


@dataclasses.dataclass(frozen=True)
class _Cube(jrelu.Activation):
    """z^3 without any interval data."""

    def value(self, z):
        return z**3

    def deriv(self, z):
        return 3 * z**2


@pytest.mark.parametrize("act", [_Clip(), _Bent(), _Sigmoid()], ids=repr)
def test_user_defined_activation_bounds_enclose_samples(act):
    net = jrelu.init(jax.random.key(21), (2, 8, 8, 1))
    net = jax.tree_util.tree_map(lambda a: 2 * a, net)
    lo, hi = random_boxes(jax.random.key(22), 6, 2, max_width=0.6)
    out_lo, out_hi = jrelu.realize_bounds(net, (lo, hi), activation=act)
    Jl, Jh = jrelu.derivative_bounds(net, (lo, hi), activation=act)
    pts = samples_in(jax.random.key(23), lo, hi, 200)
    y = jrelu.realize(net, pts, activation=act)
    assert bool(jnp.all(out_lo[:, None] <= y)) and bool(jnp.all(y <= out_hi[:, None]))
    J = jrelu.derivative(net, pts, activation=act)
    assert bool(jnp.all(Jl[:, None] <= J)) and bool(jnp.all(J <= Jh[:, None]))
    assert float(jnp.max(out_hi - out_lo)) < 50.0  # not vacuous
    L = float(jrelu.lipschitz_bound(net, None, activation=act))  # uses act.lipschitz
    x, yx = np.asarray(pts).reshape(-1, 2), np.asarray(y).reshape(-1)  # NumPy: no compiling
    slopes = np.abs(yx[1:] - yx[:-1]) / np.max(np.abs(x[1:] - x[:-1]), axis=-1)
    assert float(np.max(slopes)) <= L


def test_activation_without_interval_data_is_refused():
    net = jrelu.init(jax.random.key(0), (2, 4, 1))
    box = (jnp.zeros(2), jnp.ones(2))
    with pytest.raises(ValueError, match="does not provide image, deriv_image, lipschitz"):
        jrelu.realize_bounds(net, box, activation=_Cube())
    with pytest.raises(TypeError, match="activation must be a jrelu.Activation"):
        jrelu.derivative_bounds(net, box, activation=jax.nn.relu)


# -- Lipschitz bounds --------------------------------------------------------------------------


@pytest.mark.parametrize("act,norm", [
    (jrelu.ReLU(), 1), (jrelu.ReLU(), 2), (jrelu.ReLU(), "inf"),
    (jrelu.LeakyReLU(negative_slope=-1.5), "inf"), (jrelu.Tanh(), 2)], ids=repr)
def test_lipschitz_bound_dominates_difference_quotients(act, norm):
    net = jrelu.init(jax.random.key(13), W3)
    lo, hi = jnp.array([-0.4, 0.1, -0.3]), jnp.array([0.3, 0.5, 0.2])
    # the box first in the batch of the enclosure tests (their compiled kernel)
    blo, bhi = boxes3()
    L_boxes = jrelu.lipschitz_bound(net, (blo.at[0].set(lo), bhi.at[0].set(hi)), norm=norm,
                                    activation=act)
    L_box = float(L_boxes[0])
    L_glob = float(jrelu.lipschitz_bound(net, None, norm=norm, activation=act))
    assert L_box <= L_glob and bool(jnp.all(L_boxes <= L_glob))
    k1, k2, k3 = jax.random.split(jax.random.key(14), 3)
    x = lo + jax.random.uniform(k1, (4000, 3)) * (hi - lo)
    # near pairs (local slopes, across kinks) and far pairs
    y = jnp.clip(x + 1e-3 * jax.random.normal(k2, x.shape), lo, hi)
    y = y.at[:2000].set(lo + jax.random.uniform(k3, (2000, 3)) * (hi - lo))
    p = {1: 1, 2: 2, "inf": np.inf}[norm]

    def quotients(a, b):  # in NumPy (no compilation per operation and shape)
        ra, rb = (np.asarray(jrelu.realize(net, t, activation=act)) for t in (a, b))
        return (np.linalg.norm(ra - rb, ord=p, axis=-1)
                / np.linalg.norm(np.asarray(a) - np.asarray(b), ord=p, axis=-1))

    assert float(quotients(x, y).max()) <= L_box
    # global bound dominates slopes far away too
    xf = 10 * jax.random.normal(k1, (2000, 3))
    yf = xf + jax.random.normal(k2, (2000, 3))
    assert float(quotients(xf, yf).max()) <= L_glob


def test_lipschitz_bound_exact_on_slope_network():
    net = slope_network(3.0, 1.0)  # slope 1 left of 0, 3 right of 0
    glob = float(jrelu.lipschitz_bound(net, None))
    assert 4.0 <= glob <= 4.0 * (1 + 1e-12)  # ‖A_1‖_∞ ‖A_2‖_∞ = 1 · 4
    right = float(jrelu.lipschitz_bound(net, (jnp.array([0.25]), jnp.array([1.0]))))
    left = float(jrelu.lipschitz_bound(net, (jnp.array([-1.0]), jnp.array([-0.25]))))
    both = float(jrelu.lipschitz_bound(net, (jnp.array([-1.0]), jnp.array([1.0]))))
    assert 3.0 <= right <= 3.0 * (1 + 1e-12)
    assert 1.0 <= left <= 1.0 * (1 + 1e-12)
    assert 3.0 <= both <= 4.0 * (1 + 1e-12)


def test_lipschitz_box_bound_is_tight_on_stable_box():
    net = jrelu.init(jax.random.key(15), (2, 8, 8, 1))
    x0 = jnp.array([0.3, -0.2])
    pre = jrelu.preactivations(net, x0)
    margin = min(float(jnp.min(jnp.abs(z))) for z in pre[:-1])
    eps = margin / 100  # all neurons stable on the box
    L = float(jrelu.lipschitz_bound(net, (x0 - eps, x0 + eps)))
    true = float(jnp.sum(jnp.abs(jrelu.derivative(net, x0))))  # ‖D^N‖_∞ = row sum
    assert true <= L <= true * (1 + 1e-10)


# -- certified sup error -----------------------------------------------------------------------


def _x2_grad_bounds(lo, hi):
    return 2 * lo, 2 * hi  # exact in binary floating point


def test_certified_yarotsky_1d_second_order():
    m = 3
    true = 2.0 ** (-2 * m - 2)
    res = jrelu.certified_sup_error(
        yarotsky(m), lambda x: x[0] ** 2, (jnp.array([0.0]), jnp.array([1.0])),
        target_grad_bounds=_x2_grad_bounds, target_error=2.0**-53, tol=1e-8)
    assert res.converged and res.gap <= 1e-8
    assert res.lower <= true <= res.upper <= true + 1e-8
    # the lower bound is attained at a cell midpoint 2^{-m}(i + ½)
    assert abs((float(res.argmax[0]) * 2**m) % 1 - 0.5) < 1e-3
    assert 0 < res.rounding_slack < 1e-12
    assert res.boxes < 2000


def test_certified_yarotsky_1d_lipschitz_only_and_float32():
    m = 2
    true = 2.0 ** (-2 * m - 2)
    res = jrelu.certified_sup_error(
        yarotsky(m), lambda x: x[0] ** 2, (jnp.array([0.0]), jnp.array([1.0])),
        target_lipschitz=2.0, target_error=2.0**-53, tol=1e-3)
    assert res.converged and res.lower <= true <= res.upper <= true + 1e-3
    # float32: same network (dyadic weights are exact), x² correctly rounded: error ≤ u·x²
    res32 = jrelu.certified_sup_error(
        yarotsky(m, jnp.float32), lambda x: x[0] ** 2,
        (jnp.array([0.0], jnp.float32), jnp.array([1.0], jnp.float32)),
        target_grad_bounds=_x2_grad_bounds, target_error=2.0**-24, tol=1e-5)
    assert res32.dtype == "float32"
    assert res32.converged and res32.lower <= true <= res32.upper <= true + 1e-5
    assert res32.rounding_slack > res.rounding_slack


def test_certified_sum_of_squares_2d():
    m, d = 2, 2
    true = d * 2.0 ** (-2 * m - 2)
    res = jrelu.certified_sup_error(
        sum_of_squares_net(m, d), lambda x: jnp.sum(x**2), (jnp.zeros(d), jnp.ones(d)),
        target_grad_bounds=lambda lo, hi: (2 * lo, 2 * hi), target_error=4 * 2.0**-53,
        tol=1e-6, key=jax.random.key(0))
    assert res.converged
    assert res.lower <= true <= res.upper <= true + 1e-6
    np.testing.assert_allclose(np.asarray(res.argmax) * 2**m % 1, [0.5, 0.5], atol=1e-2)
    assert json.loads(json.dumps(res.to_dict()))["upper"] == res.upper
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.upper = 0.0


def test_certified_planted_bump_on_random_network():
    """f = RΦ + h(1 − ‖x − x0‖²/4): on [−1, 1]² the bump lies in [0.2h, h], so
    sup |f − RΦ| = h exactly, attained at x0."""
    net = jrelu.init(jax.random.key(16), (2, 8, 8, 1))
    h, x0 = 0.125, jnp.array([0.3, -0.2])

    def target(x):
        return jrelu.realize(net, x)[0] + h * (1 - jnp.sum((x - x0) ** 2) / 4)

    def grad_bounds(lo, hi):
        Jl, Jh = jrelu.derivative_bounds(net, (lo, hi))
        gl = Jl[0] - h / 2 * (hi - x0)  # ∇bump = −(h/2)(x − x0)
        gh = Jh[0] - h / 2 * (lo - x0)
        s = 1e-13 * (1 + jnp.abs(gl) + jnp.abs(gh))  # rounding of these few operations
        return gl - s, gh + s

    box = (-jnp.ones(2), jnp.ones(2))
    # the target evaluates RΦ in float64 (error ≪ 1e-12 for this small network)
    res = jrelu.certified_sup_error(net, target, box, target_grad_bounds=grad_bounds,
                                    target_error=1e-12, tol=1e-4)
    assert res.converged
    assert res.lower <= h <= res.upper <= h + 1e-4
    assert float(jnp.max(jnp.abs(res.argmax - x0))) < 0.05
    # first-order (Lipschitz) information alone: still valid bounds, but O(diam) slack, so
    # it needs far more boxes in 2-D (stopped here by the budget)
    L = float(jrelu.lipschitz_bound(net, None)) + h / 2 * 2 * 1.3  # ‖∇bump‖_1 ≤ (h/2)‖x−x0‖_1
    res1 = jrelu.certified_sup_error(net, target, box, target_lipschitz=L, target_error=1e-12,
                                     tol=1e-4, max_boxes=2000)
    assert res1.lower <= h <= res1.upper
    assert not res1.converged and res1.upper - res1.lower > res.upper - res.lower


def test_certified_budget_stops_with_valid_bounds():
    m = 3
    true = 2.0 ** (-2 * m - 2)
    res = jrelu.certified_sup_error(
        yarotsky(m), lambda x: x[0] ** 2, (jnp.array([0.0]), jnp.array([1.0])),
        target_lipschitz=2.0, tol=1e-9, max_boxes=40, batch_size=4)
    assert not res.converged and res.boxes <= 40
    assert res.lower <= true <= res.upper
    assert res.gap == res.upper - res.lower > 1e-9


def test_certified_degenerate_box_and_vector_output():
    # two outputs (x², y-independent) on a box with a fixed second coordinate
    net = jrelu.parallel(
        jrelu.compose(yarotsky(2), jrelu.Network([(jnp.array([[1.0, 0.0]]), jnp.zeros(1))])),
        jrelu.compose(yarotsky(2), jrelu.Network([(jnp.array([[0.0, 1.0]]), jnp.zeros(1))])))
    box = (jnp.array([0.0, 0.5]), jnp.array([1.0, 0.5]))  # f_2(½) = ¼ exactly

    def grad_bounds(lo, hi):
        z = jnp.zeros_like(lo[0])
        return (jnp.array([[2 * lo[0], z], [z, 2 * lo[1]]]),
                jnp.array([[2 * hi[0], z], [z, 2 * hi[1]]]))

    res = jrelu.certified_sup_error(net, lambda x: x**2, box, target_grad_bounds=grad_bounds,
                                    target_error=2.0**-53, tol=1e-7)
    assert res.converged and res.lower <= 2.0**-6 <= res.upper <= 2.0**-6 + 1e-7
    assert float(res.argmax[1]) == 0.5



# The lower bound and the argmax come from points inside the box the user gave, even when the
# box ends are not numbers of the network dtype (the search box is rounded outward).


def _zero_net(dtype, d=1):
    z = np.zeros((1, d)), np.zeros(1)
    return jrelu.Network([(jnp.asarray(z[0], dtype), jnp.asarray(z[1], dtype)),
                          (jnp.zeros((1, 1), dtype), jnp.zeros(1, dtype))])


def _identity_target(x):
    # |x| exactly: a float32 or float64 point converts exactly to float64
    return x.astype(jnp.float64)[0]


def _assert_lower_from_user_box(res, lo, hi, exact_sup):
    assert res.lower <= exact_sup <= res.upper, (res.lower, exact_sup, res.upper)
    a = Fraction(float(np.asarray(res.argmax)[0]))
    assert Fraction(lo) <= a <= Fraction(hi), (float(a), lo, hi)


def test_certified_issue_example_lower_bound_inside_user_box():
    """network ≡ 0, f(x) = 1000(x − 1000.2) in float64, box [1000.1, 1000.3], float32: it
    returned lower = 100.0488 at argmax 1000.30005 (outside the box); exact sup ≈ 100."""
    lo, hi, c = 1000.1, 1000.3, 1000.2
    exact = max(abs(1000 * (Fraction(lo) - Fraction(c))), abs(1000 * (Fraction(hi) -
                                                                         Fraction(c))))
    assert abs(float(exact) - 100.0000000000227) < 1e-12
    res = jrelu.certified_sup_error(
        _zero_net(jnp.float32), lambda x: 1000.0 * (x.astype(jnp.float64)[0] - c),
        (np.array([lo]), np.array([hi])), target_lipschitz=1000.0, max_boxes=64)
    _assert_lower_from_user_box(res, lo, hi, exact)
    assert res.lower > 99.9  # the best float32 point inside is 1000.3 − 1.2e-5


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("lo,hi", [
    (0.1, 0.7),                       # ends not float32 numbers
    (-0.7, 0.1),
    (1000.1, 1000.1 + 1e-4),          # tiny: one or two float32 numbers inside
    (1e7 + 0.3, 1e7 + 2.7),           # float32 spacing 1: outward box [1e7, 1e7 + 3]
    (-(1e7 + 2.7), -(1e7 + 0.3)),
    (1e15 + 0.5, 1e15 + 3.25),        # float64 spacing 0.125, float32 spacing 2^27
    (2.0**-140 * 3.3, 2.0**-140 * 7.7),   # float32 subnormals only: refused in float32
    (-(2.0**-140) * 3.3, 1.0),        # a subnormal end
    (2.0**-1070 * 3.3, 2.0**-1070 * 7.7),  # float64 subnormals only: refused
    (2.0**-1070 * 3.3, 2.0**-1000),   # float64 subnormal end
    (0.3, 0.3 + 2.0**-50),            # tiny in float64, no float32 number: refused
    (0.3, 0.3),                       # a point that is no float32 number: refused
])
def test_certified_lower_bound_and_argmax_lie_in_the_user_box(dtype, lo, hi):
    exact = max(abs(Fraction(lo)), abs(Fraction(hi)))   # sup of |x| on [lo, hi]
    net = _zero_net(dtype)
    box = (np.array([lo]), np.array([hi]))
    f32 = np.float32
    t = np.finfo(dtype).tiny
    candidates = [0.0, t, -t] + ([lo, hi] if dtype == jnp.float64 else [
        f32(lo), np.nextafter(f32(lo), f32(np.inf)), np.nextafter(f32(lo), f32(-np.inf))])
    holds_dtype_number = any(lo <= float(v) <= hi and (v == 0 or abs(v) >= t)
                             for v in candidates)  # a zero or normal number of the dtype
    if not holds_dtype_number:
        with pytest.raises(ValueError, match=f"box holds no {np.dtype(dtype).name} number in "
                                             f"coordinate 0"):
            jrelu.certified_sup_error(net, _identity_target, box, target_lipschitz=1.0)
        return
    res = jrelu.certified_sup_error(net, _identity_target, box, target_lipschitz=1.0,
                                    tol=1e-12 * float(exact), max_boxes=64, batch_size=8,
                                    key=jax.random.key(3))
    _assert_lower_from_user_box(res, lo, hi, exact)
    assert res.argmax.dtype == np.dtype(dtype)
    if dtype == jnp.float64:  # the ends are float64 numbers: the maximizer is found exactly
        assert abs(float(res.argmax[0])) == float(exact)


def test_certified_box_ends_wider_than_float64():
    """np.longdouble box ends are rounded inward exactly for a float64 network."""
    if np.finfo(np.longdouble).nmant <= 52:
        pytest.skip("np.longdouble is float64 on this platform")
    lo, hi = np.longdouble(1) / 100, np.longdouble(1) / 10
    assert float(hi) > hi  # float64(0.1) lies outside [lo, hi]
    res = jrelu.certified_sup_error(_zero_net(jnp.float64), _identity_target,
                                    (np.array([lo]), np.array([hi])), target_lipschitz=1.0,
                                    max_boxes=64, batch_size=8)
    assert res.lower <= hi <= res.upper
    assert lo <= np.longdouble(float(res.argmax[0])) <= hi


@settings(max_examples=20, deadline=None, derandomize=True)
@given(lo=st.floats(-1e30, 1e30, allow_nan=False, allow_infinity=False),
       rel=st.sampled_from([0.0, 1e-9, 1e-7, 1e-6, 1e-3, 1.0]),
       dtype=st.sampled_from([jnp.float32, jnp.float64]))
def test_certified_lower_bound_in_user_box_property(lo, rel, dtype):
    hi = lo + rel * max(abs(lo), 1e-30)
    exact = max(abs(Fraction(lo)), abs(Fraction(hi)))
    box = (np.array([lo]), np.array([hi]))
    try:
        res = jrelu.certified_sup_error(_zero_net(dtype), _identity_target, box,
                                        target_lipschitz=1.0, tol=1e-3 * float(exact) + 1e-300,
                                        max_boxes=32, batch_size=8)
    except ValueError as e:  # only a box without a number of the dtype is refused
        assert dtype == jnp.float32 and "box holds no float32 number" in str(e)
        f = np.float32(lo)
        assert not any(lo <= float(v) <= hi for v in
                       (f, np.nextafter(f, np.float32(np.inf)),
                        np.nextafter(f, np.float32(-np.inf))))
        return
    _assert_lower_from_user_box(res, lo, hi, exact)


def test_certified_compiles_once_per_network_shape():
    """A second call with another network of the same shapes (and the same target object)
    reuses the compiled box evaluation: the target is not traced again."""
    traced = []

    def target(x):
        if isinstance(x, jax.core.Tracer):
            traced.append(x.shape)
        return jnp.sin(3 * x[0]) * x[1]

    box = (-jnp.ones(2), jnp.ones(2))
    kw = dict(target_lipschitz=3.0, tol=1e-1, max_boxes=64, batch_size=8)
    net1, net2 = (jrelu.init(jax.random.key(k), (2, 8, 8, 1)) for k in (30, 31))
    res1 = jrelu.certified_sup_error(net1, target, box, **kw)
    n = len(traced)
    assert n >= 1
    res2 = jrelu.certified_sup_error(net2, target, box, **kw)
    assert len(traced) == n
    assert res1.upper != res2.upper and res2.lower <= res2.upper


@pytest.mark.slow
@pytest.mark.parametrize("d,m,tol", [(2, 2, 1e-4), (4, 1, 1e-3)])
def test_certified_sum_of_squares_timing(d, m, tol):
    """The examples quoted in the notes: ‖x‖² vs Σ f_m(x_i) on [0, 1]^d."""
    true = d * 2.0 ** (-2 * m - 2)
    res = jrelu.certified_sup_error(
        sum_of_squares_net(m, d), lambda x: jnp.sum(x**2), (jnp.zeros(d), jnp.ones(d)),
        target_grad_bounds=lambda lo, hi: (2 * lo, 2 * hi), target_error=8 * 2.0**-53,
        tol=tol, max_boxes=300_000, batch_size=256)
    print(f"d={d} m={m} tol={tol}: {res.boxes} boxes, {res.iterations} steps, "
          f"{res.seconds:.1f} s")
    assert res.converged and res.lower <= true <= res.upper <= true + tol


# -- bad input -------------------------------------------------------------------------------


def _ok_args():
    net = yarotsky(1)
    return net, (lambda x: x[0] ** 2), (jnp.array([0.0]), jnp.array([1.0]))


@pytest.mark.parametrize("kwargs,match", [
    (dict(box=(jnp.zeros(2), jnp.ones(2))), r"box lo must have shape \(1,\)"),
    (dict(box=(jnp.zeros((3, 1)), jnp.ones((3, 1)))), r"box lo must have shape \(1,\)"),
    (dict(box=jnp.zeros(1)), "pair"),
    (dict(box=(jnp.array([0.5]), jnp.array([0.25]))), r"lo <= hi.*0.5 > .*0.25"),
    (dict(box=(jnp.array([0.0]), jnp.array([jnp.inf]))), r"non-finite entry inf at index \(0,\)"),
    (dict(box=(jnp.array([jnp.nan]), jnp.array([1.0]))), "non-finite"),
    (dict(tol=0.0), "tol must be > 0"),
    (dict(tol=-1e-3), "tol must be > 0"),
    (dict(max_boxes=0), "max_boxes must be an integer >= 1"),
    (dict(target_lipschitz=None), "needs target_lipschitz"),
    (dict(target_lipschitz=-1.0), "target_lipschitz must be finite and >= 0"),
    (dict(target_lipschitz=np.ones(3)), "target_lipschitz must be a scalar or have shape"),
    (dict(target=lambda x: jnp.stack([x[0], x[0]])), r"target output must have shape"),
    (dict(target=lambda x: jnp.log(x[0] - 0.5)), r"non-finite value .* at x = \[0.5\]"),
    (dict(target_error=-1.0), "target_error must be >= 0"),
    (dict(activation=jrelu.Activation()), "certified bounds need the interval data"),
])
def test_certified_bad_input(kwargs, match):
    net, target, box = _ok_args()
    args = dict(net=net, target=target, box=box, target_lipschitz=2.0, tol=1e-3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        jrelu.certified_sup_error(**args)


def test_certified_refuses_high_dimension():
    net = jrelu.init(jax.random.key(0), (9, 4, 1))
    with pytest.raises(ValueError, match=r"N_0 = 9 > 8"):
        jrelu.certified_sup_error(net, lambda x: jnp.sum(x), (jnp.zeros(9), jnp.ones(9)),
                                  target_lipschitz=1.0)


def test_certified_in_dimension_6_is_valid_within_its_budget():
    """N_0 = 6 (64 corners per box): a budget of 4 steps does not converge, but the bounds
    hold: sum of squares with m = 1 against ||x||^2 on [0, 1]^6 has sup error 6/16."""
    m, d = 1, 6
    run = functools.partial(
        jrelu.certified_sup_error, sum_of_squares_net(m, d), lambda x: jnp.sum(x**2),
        (jnp.zeros(d), jnp.ones(d)), target_grad_bounds=lambda lo, hi: (2 * lo, 2 * hi),
        target_error=4 * 2.0**-53, tol=1e-6, key=jax.random.key(0))
    root, res = run(max_boxes=1), run(max_boxes=256)
    assert not res.converged and res.boxes <= 256
    assert 0.0 < res.lower <= d * 2.0 ** (-2 * m - 2) <= res.upper < root.upper  # it narrows


def test_bounds_bad_input():
    net = jrelu.init(jax.random.key(0), (2, 4, 1))
    with pytest.raises(ValueError, match="norm must be 1, 2 or inf"):
        jrelu.lipschitz_bound(net, None, norm=3)
    with pytest.raises(ValueError, match=r"box hi must have shape \(2,\)"):
        jrelu.derivative_bounds(net, (jnp.zeros(2), jnp.ones(3)))
    with pytest.raises(ValueError, match="same shape"):
        jrelu.realize_bounds(net, (jnp.zeros((2, 2)), jnp.ones((3, 2))))
    with pytest.raises(ValueError, match=r"lo <= hi"):
        jrelu.lipschitz_bound(net, (jnp.ones(2), jnp.zeros(2)))
    with pytest.raises(ValueError, match="float32 or float64"):
        jrelu.realize_bounds(jax.tree_util.tree_map(lambda a: a.astype(jnp.float16), net),
                             (jnp.zeros(2), jnp.ones(2)))
    with pytest.raises(TypeError, match="jrelu.Network"):
        jrelu.realize_bounds([(1, 2)], (jnp.zeros(2), jnp.ones(2)))
