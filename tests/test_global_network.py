"""The local-to-global theorem (Berner, Elbrächter, Grohs, Jentzen, arXiv:1905.04992) as a
function: global_network, global_bound, ready-made local approximants, sizes, errors
(float64)."""

from __future__ import annotations

import functools
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jrelu
from jrelu import connectivity, depth, derivative, num_params, realize, width
from jrelu import constructions as C

RELU = jrelu.ReLU()


@functools.partial(jax.jit, static_argnames="act")
def _both(net, x, act=RELU):
    return realize(net, x, activation=act), derivative(net, x, activation=act)


def _params(widths):
    return sum(widths[k] * (widths[k - 1] + 1) for k in range(1, len(widths)))


def _sample(rec, key, n_shell=1500, n_box=600):
    """Radial shells from 0 to 1e4 (jrelu.samplers.RadialShells) plus the origin, uniform
    points of the cube and band, and points just outside the outer cube."""
    d, B = rec.d, rec.B
    shells = jrelu.samplers.RadialShells(dim=d, r_max=1e4, num_shells=60, r_min=1e-3)(key,
                                                                                    n_shell)
    # the uniform points in NumPy (seeded by the key's bits): no compilation per shape
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)))
    box = rng.uniform(-B - 1.5, B + 1.5, (n_box, d))
    # one coordinate in the band, the others inside: the band region in high d
    band = rng.uniform(-B, B, (n_box, d))
    band[:, 0] = B + np.linspace(0.0, 1.25, n_box)
    pts = [np.zeros((1, d)), np.asarray(shells), box, band]
    if d == 1:  # a dense grid through the cube, the band and beyond
        pts.append(np.arange(-(B + 3) * 2**7, (B + 3) * 2**7 + 1)[:, None] / 2.0**7 + 2.0**-12)
    return np.concatenate(pts)


def _check_global(net, rec, f, grad, x, act=RELU):
    v, D = _both(net, x, act)
    v, D = np.asarray(v)[:, 0], np.asarray(D)[:, 0, :]
    fx = np.asarray(jax.vmap(f)(jnp.asarray(x)))
    gx = np.asarray(jax.vmap(grad)(jnp.asarray(x)))
    r = np.linalg.norm(x, axis=-1)
    w = 1.0 + r**rec.kappa
    ev = np.abs(fx - v)
    ed = np.linalg.norm(gx - D, axis=-1)
    env = C.global_bound(rec, x)
    # value: the theorem's weighted bound at every sample, and the region-wise envelope
    assert np.max(ev / w) <= rec.eps
    assert np.all(ev <= env.value)
    assert np.all(env.value <= env.value_theorem)
    # derivative: a.e. (random samples avoid the null set of kinks)
    assert np.all(ed <= env.derivative)
    assert np.all(env.derivative <= env.derivative_theorem * (1 + 1e-12))
    assert np.max(ed / w) <= rec.C * rec.eps**rec.r
    # outside the outer cube the network and D^N are exactly 0
    out = env.region == 2
    assert out.sum() > 0 and (env.region == 0).sum() > 0 and (env.region == 1).sum() > 0
    np.testing.assert_array_equal(v[out], 0.0)
    np.testing.assert_array_equal(D[out], 0.0)
    return ev, ed, env


def _check_sizes(net, rec, local_net):
    d, m = rec.d, rec.m
    L_loc = depth(local_net)
    L = max(3, L_loc)
    assert depth(net) == rec.depth == L + m + 2
    H = [2 * d, 1] + [2] * (L - 3)
    N = list(local_net.widths[1:-1]) + [2] * (L - L_loc)
    widths = (d,) + tuple(h + n for h, n in zip(H, N)) + (4, 4, 6) + (8,) * (m - 1) + (1,)
    assert net.widths == widths == rec.widths
    assert width(net) == rec.width == max(widths)
    assert num_params(net) == rec.num_params == _params(widths)
    P = jrelu.parallel(C.cutoff_network(d, rec.B), local_net)
    A, b = P.layers[-1]
    nnz = int(np.count_nonzero(np.asarray(A)) + np.count_nonzero(np.asarray(b)))
    assert connectivity(net) == rec.connectivity == connectivity(P) + nnz + 30 * m + 8


@pytest.mark.parametrize("d,eps", [(1, 0.25), (2, 0.5), (10, 0.5), (50, 1.0)])
def test_global_network_squared_norm(d, eps):
    loc = C.squared_norm_local(d)
    net, rec = C.global_network(loc, eps)
    assert (rec.c, rec.nu, rec.kappa, rec.r) == (1.0, 2.0, 3.0, 0.5)
    assert rec.B == max(1.0, 4.0 / eps) and rec.delta == eps / 2
    F_max = 1.0 + (math.sqrt(d) * (rec.B + 1)) ** 2
    assert rec.b > max(1.0, F_max + rec.delta) >= rec.b / 2 and math.log2(rec.b).is_integer()
    assert rec.eta == rec.b**2 * 2.0 ** (-2 * rec.m - 2) <= eps / 4 < rec.b**2 * 2.0 ** (-2 * rec.m)
    x = _sample(rec, jax.random.PRNGKey(d))
    ev, ed, env = _check_global(net, rec, loc.f, loc.grad, x)
    # the inside error is the local plus the multiplication error, well below ε
    assert np.max(ev[env.region == 0]) <= rec.delta + rec.eta
    local_net = loc(rec.delta, rec.B + 1)
    _check_sizes(net, rec, local_net)
    # exact zero outside, for another kink value and under jacfwd (forward order)
    far = x[env.region == 2][:64]
    v, D = _both(net, far, jrelu.ReLU(deriv_at_kink=0.3))
    np.testing.assert_array_equal(np.asarray(v), 0.0)
    np.testing.assert_array_equal(np.asarray(D), 0.0)
    if d <= 2:  # also in forward order (jacfwd)
        J = jax.jit(jax.vmap(jax.jacfwd(lambda z: realize(net, z))))(jnp.asarray(far))
        np.testing.assert_array_equal(np.asarray(J), 0.0)


def test_global_network_record_and_bound_api():
    loc = C.squared_norm_local(3)
    net, rec = C.global_network(loc, 0.5)
    data = json.loads(rec.to_json())
    assert data["kappa"] == 3.0 and data["widths"] == list(net.widths)
    assert data["certified"] is True and set(data["C_regions"]) == {"inside", "band", "outside"}
    assert rec.C == max(rec.C_regions.values())
    assert data == rec.to_dict()
    x = np.zeros((4, 5, 3))
    bd = C.global_bound(rec, x)
    assert bd.value.shape == (4, 5) and bd.derivative.shape == (4, 5)
    one = C.global_bound(rec, np.array([1e3, 0.0, 0.0]))
    assert one.value.shape == () and int(one.region) == 2
    assert float(one.value) == 1.0 + 1e6  # F = c(1 + r^ν) outside
    with pytest.raises(ValueError, match="x must have shape"):
        C.global_bound(rec, np.zeros((2, 4)))
    # under jit the same envelopes, in jax.numpy
    pts = np.array([[0.5, 0.0, 0.0], [rec.B + 0.5, 1.0, 0.0], [1e3, 2.0, -3.0]])
    host, traced = C.global_bound(rec, pts), jax.jit(lambda z: C.global_bound(rec, z))(pts)
    assert isinstance(traced, C.GlobalBound)
    np.testing.assert_array_equal(np.asarray(traced.region), host.region)
    for a, b in zip(traced, host):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-13)
    # dtype follows the local network; float32 keeps the exact zero outside
    loc32 = C.squared_norm_local(2, dtype=jnp.float32)
    net32, rec32 = C.global_network(loc32, 1.0)
    assert net32.dtype == jnp.float32
    far = jnp.asarray([[1e4, -3.0], [-50.0, 60.0]], jnp.float32)
    np.testing.assert_array_equal(np.asarray(realize(net32, far)), 0.0)
    np.testing.assert_array_equal(np.asarray(derivative(net32, far)), 0.0)


def test_global_network_other_locals():
    # max-min PWL (exact local, ν = 1): f(x) = max(x0 - x1, min(x0 + 1, 2 - x1))
    W = np.array([[1.0, -1.0], [1.0, 0.0], [0.0, -1.0]])
    c = np.array([0.0, 1.0, 2.0])
    loc = C.maxmin_local(W, c, [[0], [1, 2]])
    assert loc.growth == (2.0, 1.0)
    net, rec = C.global_network(loc, 0.5)
    assert rec.kappa == 2.0
    x = _sample(rec, jax.random.PRNGKey(7), n_shell=800, n_box=300)
    _check_global(net, rec, loc.f, loc.grad, x)
    # product of coordinates x0 x2 in d = 3 (ν = 2)
    loc = C.coordinate_product_local(3, [0, 2])
    net, rec = C.global_network(loc, 1.0)
    x = _sample(rec, jax.random.PRNGKey(8), n_shell=800, n_box=300)
    _check_global(net, rec, loc.f, loc.grad, x)
    _check_sizes(net, rec, loc(rec.delta, rec.B + 1))


def test_global_network_trained_local_measured():
    # a network used as is, its local error measured by jrelu.error_sweep: here the target
    # is the network's own realization (error 0), with a user-given growth bound
    W = np.array([[1.0, 0.5], [-1.0, 0.25], [0.0, 1.0]])
    base = C.maxmin_network(W, np.array([0.5, 0.0, -1.0]), [[0, 1], [2]])
    f = lambda z: realize(base, z)[0]
    loc = C.network_local(base, f, growth=(2.0, 1.0), key=jax.random.PRNGKey(0),
                              num_points=512)
    net, rec = C.global_network(loc, 1.0)
    assert rec.certified is False and rec.local_info["certified"] is False
    assert rec.local_info["measured_value_error"] == 0.0
    x = _sample(rec, jax.random.PRNGKey(9), n_shell=600, n_box=200)
    _check_global(net, rec, f, jax.grad(f), x)
    bad = C.network_local(base, lambda z: jnp.sum(z * z), growth=(1.0, 2.0),
                              key=jax.random.PRNGKey(0), num_points=256)
    with pytest.raises(ValueError, match="exceeds the requested"):
        C.global_network(bad, 1.0)


def test_global_network_bad_input():
    loc = C.squared_norm_local(3)
    for eps, msg in ((0.0, "eps must be > 0"), (-1.0, "eps must be > 0"),
                     (float("nan"), "eps must be finite"), (float("inf"), "eps must be finite")):
        with pytest.raises(ValueError, match=msg):
            C.global_network(loc, eps)
    with pytest.raises(ValueError, match="inconsistent dimension"):
        C.global_network(loc, 1.0, d=2)
    with pytest.raises(ValueError, match="inconsistent dimension"):
        C.global_network(lambda delta, B: C.squared_norm_network(2, B, 3), 1.0,
                             growth=(1.0, 2.0), d=3)
    with pytest.raises(ValueError, match="growth=\\(c, nu\\) is required"):
        C.global_network(lambda delta, B: C.squared_norm_network(2, B, 3), 1.0, d=2)
    with pytest.raises(ValueError, match="d is required"):
        C.global_network(lambda delta, B: C.squared_norm_network(2, B, 3), 1.0,
                             growth=(1.0, 2.0))
    with pytest.raises(ValueError, match="growth constant c"):
        C.global_network(loc, 1.0, growth=(0.0, 2.0))
    with pytest.raises(ValueError, match="growth exponent nu"):
        C.global_network(loc, 1.0, growth=(1.0, -1.0))
    with pytest.raises(ValueError, match="must return a jrelu.Network"):
        C.global_network(lambda delta, B: None, 1.0, growth=(1.0, 2.0), d=2)
    with pytest.raises(ValueError, match="delta must be > 0"):
        loc(0.0, 1.0)
    with pytest.raises(ValueError, match="B must be > 0"):
        loc(0.1, 0.0)
    with pytest.raises(TypeError):  # the options are keyword-only
        C.global_network(loc, 1.0, (1.0, 2.0))
    with pytest.raises(TypeError, match="net must be a jrelu.Network"):
        C.network_local("net", lambda z: z[0], growth=(1.0, 1.0), key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="growth must be a pair"):
        C.network_local(C.abs_network(1), lambda z: z[0], growth=1.0, key=jax.random.PRNGKey(0))


def test_global_error_profile_png(tmp_path):
    pytest.importorskip("matplotlib")
    import jrelu.plot

    loc = C.squared_norm_local(2)
    net, rec = C.global_network(loc, 0.5)
    path = tmp_path / "profile.png"
    out = jrelu.plot.global_error_profile(net, rec, loc.f, target_grad=loc.grad,
                                          key=jax.random.PRNGKey(0), path=path, num_points=400)
    assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.all(out.value_error <= rec.eps)
    assert np.all(out.value_error <= out.value_envelope)
    assert np.all(out.derivative_error <= out.derivative_envelope)
    with pytest.raises(ValueError, match="r_min"):
        jrelu.plot.global_error_profile(net, rec, loc.f, key=jax.random.PRNGKey(0), r_min=0.0)
