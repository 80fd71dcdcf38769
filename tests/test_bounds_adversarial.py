"""Adversarial soundness tests of the certified bounds (issue 11), float32 and float64, for
every method of ``jrelu.lipschitz_bound`` / ``derivative_bounds`` / ``realize_bounds``.

The reference is exact: the linear regions of 2-input ReLU networks are enumerated in
rational arithmetic (``fractions.Fraction``) from the stored floating-point weights
(``jrelu._bench_bounds.exact_regions``), so a bound is compared with the true maximum, the
true Jacobians of every region, the true values at every region vertex (where the extrema
of a piecewise-linear function on a box are attained) and the true limiting Jacobians at
planted kinks. All default-suite networks share the widths (2, 4, 4, 1) and all boxes the
shape (2,), so each (dtype, method, function) compiles once.
"""

import functools
import inspect
from fractions import Fraction

import jax.numpy as jnp
import numpy as np
import pytest

import jrelu
from jrelu import _bench_bounds as bb

DTYPES = ("float32", "float64")
METHODS = ("interval", "linear") if bb.has_methods() else ("interval",)
WIDTHS = (2, 4, 4, 1)


def _kw(method):
    return {"method": method} if "method" in inspect.signature(
        jrelu.lipschitz_bound).parameters else {}


def _np(dtype):
    return np.dtype(dtype).type


def _dyadic_net(seed, dtype, widths=WIDTHS, denom=8, scales=None):
    """Weights k/denom (exact in both dtypes), optionally scaled per layer."""
    rng = np.random.default_rng(seed)
    layers = []
    for k in range(len(widths) - 1):
        A = rng.integers(-2 * denom, 2 * denom + 1, (widths[k + 1], widths[k])) / denom
        b = rng.integers(-denom, denom + 1, widths[k + 1]) / denom
        if scales is not None:
            A, b = A * scales[k], b * scales[k]
        layers.append((jnp.asarray(A, dtype), jnp.asarray(b, dtype)))
    return jrelu.Network(layers)


def _he_net(seed, dtype, widths=WIDTHS):
    """He-initialized (numpy, so that no initializer is compiled per dtype)."""
    rng = np.random.default_rng(1000 + seed)
    return jrelu.Network([
        (jnp.asarray(rng.normal(size=(m, n)) * np.sqrt(2.0 / n), dtype),
         jnp.asarray(rng.uniform(-1, 1, m) / np.sqrt(n), dtype))
        for n, m in zip(widths[:-1], widths[1:])])


def _box(centre, r, dtype):
    c = np.asarray(centre, np.float64)
    return (jnp.asarray(c - r, dtype), jnp.asarray(c + r, dtype))


@functools.cache
def _regions_cached(key):
    net, box = _CASES[key]
    return bb.exact_regions(net, box)


_CASES: dict = {}


def _regions(name, net, box):
    _CASES[name] = (net, box)
    return _regions_cached(name)


def _fr(a):
    return np.vectorize(lambda t: Fraction(float(t)), otypes=[object])(np.asarray(a))


def _check_box_soundness(net, box, regs, method, *, values=False):
    """lipschitz >= exact max; Jacobian enclosure holds every region's Jacobian; with
    ``values``, the value enclosure holds the value at every region vertex (hence the
    range on the box)."""
    kw = _kw(method)
    exact = max(bb._jac_norm(J) for _, J in regs)
    lip = jrelu.lipschitz_bound(net, box, norm="inf", **kw)
    assert lip.dtype == net.dtype
    assert Fraction(float(lip)) >= exact, (float(lip), float(exact))
    Jlo, Jhi = (_fr(t) for t in jrelu.derivative_bounds(net, box, **kw))
    for _, J in regs:
        for i, row in enumerate(J):
            for j, t in enumerate(row):
                assert Jlo[i, j] <= t <= Jhi[i, j], (i, j, float(t), Jlo[i, j], Jhi[i, j])
    if not values:
        return exact, lip
    vlo, vhi = (_fr(t) for t in jrelu.realize_bounds(net, box, **kw))
    for v, _ in regs:
        for p in v:
            y = bb.exact_realize(net, list(p))
            assert all(vlo[i] <= y[i] <= vhi[i] for i in range(len(y)))
    return exact, lip


def _check_kink_soundness(net, x0, method, *, min_jacobians=2, values=False):
    """Zero-width box at x0: every limiting Jacobian (exact) inside the Jacobian enclosure,
    the Lipschitz bound at least their norms; with ``values``, the exact value inside the
    value enclosure."""
    kw = _kw(method)
    lims = bb.exact_limiting_jacobians(net, np.asarray(x0, np.float64))
    assert len(lims) >= min_jacobians  # the point really is a kink
    box = (x0, x0)
    Jlo, Jhi = (_fr(t) for t in jrelu.derivative_bounds(net, box, **kw))
    for J in lims:
        for i, row in enumerate(J):
            for j, t in enumerate(row):
                assert Jlo[i, j] <= t <= Jhi[i, j], (i, j, float(t), Jlo[i, j], Jhi[i, j])
    lip = jrelu.lipschitz_bound(net, box, norm="inf", **kw)
    assert Fraction(float(lip)) >= max(bb._jac_norm(J) for J in lims)
    if not values:
        return lims
    vlo, vhi = (_fr(t) for t in jrelu.realize_bounds(net, box, **kw))
    y = bb.exact_realize(net, x0)
    assert all(vlo[i] <= y[i] <= vhi[i] for i in range(len(y)))
    return lims


# -- the adversarial networks ------------------------------------------------------------------


def _cancellation_net(dtype):
    """A network and a point x0 (floats) where the first pre-activation
    a*x0_1 + b*x0_2 + c (a = fl(0.1), b = fl(0.3)) is exactly 0 in real arithmetic on the
    stored weights but not 0 when evaluated in floating point."""
    t = _np(dtype)
    a, b = t(0.1), t(0.3)
    base = _dyadic_net(11, dtype)
    (A1, b1), *rest = base.layers
    for k in range(2, 200):
        x0 = np.array([k, -1], dtype)
        c_exact = -(k * Fraction(float(a)) - Fraction(float(b)))
        c = t(float(c_exact))
        if c_exact == 0 or Fraction(float(c)) != c_exact:
            continue
        A = np.asarray(A1).copy()
        bias = np.asarray(b1).copy()
        A[0] = (a, b)
        bias[0] = c
        net = jrelu.Network([(jnp.asarray(A), jnp.asarray(bias))] + list(rest))
        z = jrelu.preactivations(net, jnp.asarray(x0))[0]
        z_float = float(np.asarray(z)[0])
        z_exact = Fraction(float(a)) * int(x0[0]) + Fraction(float(b)) * int(x0[1]) \
            + Fraction(float(c))
        if z_exact == 0 and z_float != 0.0:
            return net, x0, z_float
    raise AssertionError("no cancellation found")


def _planted_kink_net(dtype):
    """Dyadic network with a point x0 = (1/4, -3/8) where two first-layer neurons and one
    second-layer neuron are exactly 0 (exact in floating point too)."""
    net = _dyadic_net(5, dtype)
    x0 = np.array([0.25, -0.375])
    (A1, b1), (A2, b2), last = net.layers
    A1, b1, A2, b2 = (np.asarray(t, np.float64).copy() for t in (A1, b1, A2, b2))
    A1[0], A1[1] = (1.0, 2.0), (-0.5, 1.5)
    b1[:2] = -(A1[:2] @ x0)  # neurons 1, 2 vanish at x0 (dyadic: exact)
    h1 = np.maximum(A1 @ x0 + b1, 0)
    b2[0] = -(A2[0] @ h1)  # neuron 1 of layer 2 vanishes at x0
    net = jrelu.Network([(jnp.asarray(A1, dtype), jnp.asarray(b1, dtype)),
                         (jnp.asarray(A2, dtype), jnp.asarray(b2, dtype)), last])
    z = bb.exact_realize(jrelu.Network([net.layers[0]]), x0)
    assert z[0] == 0 and z[1] == 0
    return net, np.asarray(x0, dtype)


# -- scenarios (each checks one network / box family; ``values`` adds realize_bounds) -----


def _scenario_cancellation(dtype, method, values):
    net, x0, z_float = _cancellation_net(dtype)
    assert z_float != 0.0  # float evaluation misses the kink ...
    lims = _check_kink_soundness(net, x0, method, values=values)  # ... the enclosure must not
    assert len(lims) >= 2  # both one-sided Jacobians of the cancelling neuron
    # and the same on a tiny box around the kink
    box = _box(x0, 2.0**-12, dtype)
    _check_box_soundness(net, box, _regions(f"cancel-{dtype}", net, box), method,
                         values=values)


def _scenario_planted_kink(dtype, method, values):
    net, x0 = _planted_kink_net(dtype)
    _check_kink_soundness(net, x0, method, min_jacobians=3, values=values)


def _scenario_huge_tiny(dtype, method, values):
    # layer 1 scaled by 1e6, layer 2 by 1e-6 (non-dyadic), layer 3 mixed 1e6 / 1e-6 entries
    net = _dyadic_net(3, dtype, scales=(1e6, 1e-6, 1.0))
    (A3, b3) = net.layers[-1]
    mix = np.where(np.arange(A3.size).reshape(A3.shape) % 2 == 0, 1e6, 1e-6)
    net = jrelu.Network(list(net.layers[:-1]) + [(jnp.asarray(np.asarray(A3) * mix, dtype),
                                                   b3)])
    for r in (1e-3, 0.5):
        box = _box([0.3, -0.2], r, dtype)
        _check_box_soundness(net, box, _regions(f"scaled-{dtype}-{r}", net, box), method,
                             values=values)


def _scenario_wide_box(dtype, method, values):
    net = _he_net(2, dtype)
    box = _box([1.0, -3.0], 1e3, dtype)
    regs = _regions(f"wide-{dtype}", net, box)
    assert len(regs) > 3
    _, lip = _check_box_soundness(net, box, regs, method, values=values)
    assert np.isfinite(float(lip))


def _scenario_he_nets(dtype, method, values):
    for seed in (0, 1):
        net = _he_net(seed, dtype)
        for r in (0.01, 1.0):
            box = _box(np.random.default_rng(seed).uniform(-1, 1, 2), r, dtype)
            _check_box_soundness(net, box, _regions(f"he-{seed}-{r}-{dtype}", net, box),
                                 method, values=values)


# -- tests: Lipschitz bound and Jacobian enclosure (default suite) -----------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_nondyadic_cancellation_kink(dtype, method):
    _scenario_cancellation(dtype, method, False)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_planted_kink_zero_width_box(dtype, method):
    _scenario_planted_kink(dtype, method, False)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_huge_and_tiny_weights(dtype, method):
    _scenario_huge_tiny(dtype, method, False)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_wide_box(dtype, method):
    _scenario_wide_box(dtype, method, False)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_at_or_above_exact_maximum(dtype, method):
    _scenario_he_nets(dtype, method, False)


# -- slow: the value enclosures on the same scenarios, samples, and a random soak -------------


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_value_enclosures_adversarial(dtype, method):
    for scenario in (_scenario_cancellation, _scenario_planted_kink, _scenario_huge_tiny,
                     _scenario_wide_box, _scenario_he_nets):
        scenario(dtype, method, True)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
def test_bounds_hold_at_box_corners_and_samples(dtype):
    # the float evaluation at corners / sample points (as a user sees it) lies inside the
    # enclosures for every method: value and D^N (the latter: where no neuron is at 0)
    net = _he_net(4, dtype)
    box = _box([0.2, 0.7], 0.3, dtype)
    lo, hi = np.asarray(box[0], np.float64), np.asarray(box[1], np.float64)
    t = np.linspace(0, 1, 9)
    g0, g1 = np.meshgrid(lo[0] + t * (hi[0] - lo[0]), lo[1] + t * (hi[1] - lo[1]))
    pts = jnp.asarray(np.stack([g0.ravel(), g1.ravel()], -1), dtype)  # includes the corners
    for method in METHODS:
        kw = _kw(method)
        vlo, vhi = (_fr(t) for t in jrelu.realize_bounds(net, box, **kw))
        Jlo, Jhi = (_fr(t) for t in jrelu.derivative_bounds(net, box, **kw))
        for p in np.asarray(pts):
            y = bb.exact_realize(net, p)
            assert vlo[0] <= y[0] <= vhi[0]
        J = np.asarray(jrelu.derivative(net, pts))
        for Jp in J:
            assert np.all(_fr(Jp) >= Jlo) and np.all(_fr(Jp) <= Jhi)


# -- slow soak -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
def test_soak_random_networks(dtype):
    archs = ((2, 8, 8, 1), (2, 16, 16, 1), (2, 6, 6, 6, 1), (2, 5, 5, 2))
    for i, widths in enumerate(archs):
        for seed in range(3):
            net = _he_net(100 * i + seed, dtype, widths)
            rng = np.random.default_rng(seed)
            for r in (1e-3, 0.05, 0.5, 2.0):
                box = _box(rng.uniform(-1, 1, 2), r, dtype)
                regs = bb.exact_regions(net, box)
                lips = {m: _check_box_soundness(net, box, regs, m, values=True)[1]
                        for m in METHODS}
                if "linear" in lips:  # the new bounds are never looser than intervals
                    assert float(lips["linear"]) <= float(lips["interval"])
    # planted kinks on bigger dyadic nets
    for seed in range(4):
        net = _dyadic_net(seed, dtype, widths=(2, 8, 8, 1))
        x0 = np.asarray([0.0, 0.0], dtype)
        for m in METHODS:
            _check_kink_soundness(net, x0, m, min_jacobians=1, values=True)


# -- the constants of the backward-pass relaxation (product planes, derivative lines) ---------


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_relaxation_constants_are_exact_bounds(dtype):
    """The planes of u = s v (s in [sl, su], v in [vl, vu]) and the lines of the ReLU
    derivative in z hold in exact rational arithmetic at every corner, at sampled points
    and, for the derivative, at the kink with both one-sided values: non-dyadic ends, mixed
    signs, magnitudes 1e-6 .. 1e6, zero-width intervals, so that the outward-rounded
    intercepts (not the slopes) carry the guarantee."""
    import jax

    from jrelu._interval import rounding_model
    from jrelu._linear_bounds import _deriv_lines, _product_planes

    fp = rounding_model(dtype)
    t = _np(dtype)
    rng = np.random.default_rng(0)
    n = 64
    scale = 10.0 ** rng.integers(-6, 7, n)
    vl = (rng.uniform(-1, 1, n) * scale).astype(t)
    vu = (vl + rng.uniform(0, 2, n) * scale * (rng.random(n) > 0.1)).astype(t)
    sl = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(-0.3, 0.3, n)).astype(t)
    su = np.where(rng.random(n) < 0.2, sl, sl + rng.uniform(0, 1.7, n)).astype(t)
    a_up, g_up, a_lo, g_lo = (_fr(x) for x in jax.jit(
        lambda *a: _product_planes(*a, fp))(sl, su, vl, vu))
    for j in range(n):
        S = [Fraction(float(sl[j])), Fraction(float(su[j]))]
        V = [Fraction(float(vl[j])), Fraction(float(vu[j]))]
        V += [V[0] + (V[1] - V[0]) * Fraction(k, 7) for k in range(1, 7)]
        S += [S[0] + (S[1] - S[0]) * Fraction(k, 5) for k in range(1, 5)]
        for s in S:
            for v in V:
                assert a_lo[j] * v + g_lo[j] <= s * v <= a_up[j] * v + g_up[j], (j, s, v)
    # ReLU derivative: lines in z valid on [l, u] for every element of the Clarke set
    l = (-rng.uniform(0, 1, n) * scale).astype(t)
    u = (rng.uniform(0, 1, n) * scale).astype(t)
    l[:4], u[:4] = 0.0, 0.0          # zero-width at the kink
    l[4:8] = u[4:8]                  # zero-width off the kink
    act = jrelu.ReLU(deriv_at_kink=0.5)
    au, bu, al, bl = (_fr(x) for x in jax.jit(
        lambda a, b: _deriv_lines(act, a, b, fp))(l, u))
    for j in range(n):
        L, U = Fraction(float(l[j])), Fraction(float(u[j]))
        pts = [(z, [Fraction(int(z > 0))]) for z in (L, U) if z != 0]
        if L <= 0 <= U:
            pts.append((Fraction(0), [Fraction(0), Fraction(1, 2), Fraction(1)]))
        for z, ss in pts:
            for s in ss:
                assert al[j] * z + bl[j] <= s <= au[j] * z + bu[j], (j, z, s)
