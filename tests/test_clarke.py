"""kink_report counts and the Clarke-hull check (float64)."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jrelu
from jrelu import HardTanh, LeakyReLU, Network, ReLU, kink_report
from jrelu.derivative import hull_distance
from jrelu.examples import slope_network
from jrelu.testing import assert_in_clarke_hull

relu = ReLU()

# -- kink_report ---------------------------------------------------------------------------


def counting_network():
    """Widths (3, 4, 2, 1): z_1 = (x_1, x_2, x_1 − x_2, x_3 − 1/2),
    z_2 = (ϱ(x_1) − ϱ(x_2), ϱ(x_1 − x_2) + ϱ(x_3 − 1/2) − 1/4)."""
    A1 = jnp.array([[1.0, 0, 0], [0, 1.0, 0], [1.0, -1.0, 0], [0, 0, 1.0]])
    b1 = jnp.array([0.0, 0.0, 0.0, -0.5])
    A2 = jnp.array([[1.0, -1.0, 0, 0], [0, 0, 1.0, 1.0]])
    b2 = jnp.array([0.0, -0.25])
    return Network([(A1, b1), (A2, b2), (jnp.ones((1, 2)), jnp.zeros(1))])


def expected_counts(X, tol):
    X = np.asarray(X)
    z1 = np.stack([X[..., 0], X[..., 1], X[..., 0] - X[..., 1], X[..., 2] - 0.5], -1)
    h = np.maximum(z1, 0)
    z2 = np.stack([h[..., 0] - h[..., 1], h[..., 2] + h[..., 3] - 0.25], -1)
    return [z1, z2]


BATCH = np.array([
    [0.0, 0.0, 0.5],     # z1 = (0, 0, 0, 0), z2 = (0, −1/4): 5 kinks
    [1.0, 2.0, 3.0],     # z1 = (1, 2, −1, 5/2), z2 = (−1, 9/4): none
    [0.25, 0.25, 0.0],   # z1 = (1/4, 1/4, 0, −1/2), z2 = (0, −1/4): 2 kinks
    [0.5, -1.0, 0.75],   # z1 = (1/2, −1, 3/2, 1/4), z2 = (1/2, 3/2): none
    [-0.5, 1.0, 0.5],    # z1 = (−1/2, 1, −3/2, 0), z2 = (−1, −1/4): 1 kink
    [0.125, 1.0, 1.0],   # z1 = (1/8, 1, −7/8, 1/2), z2 = (−7/8, 1/4): none, near for tol 1/4
])


@pytest.mark.parametrize("jit", [False, True])
def test_kink_report_counts_exactly(jit):
    net = counting_network()
    X = jnp.asarray(BATCH)
    fn = jax.jit(kink_report, static_argnames="activation") if jit else kink_report
    for tol in (0.0, 0.125, 0.25):
        rep = fn(net, X, tol=tol)
        zs = expected_counts(BATCH, tol)
        assert [int(c) for c in rep.exact_counts] == [int(np.sum(z == 0)) for z in zs]
        assert [int(c) for c in rep.near_counts] == [int(np.sum(np.abs(z) <= tol)) for z in zs]
        for h, z in zip(rep.neuron_hits, zs):
            np.testing.assert_array_equal(np.asarray(h), np.sum(z == 0, axis=0))
        per_point = sum(np.sum(z == 0, axis=-1) for z in zs)
        np.testing.assert_array_equal(np.asarray(rep.point_counts), per_point)
        np.testing.assert_array_equal(np.asarray(rep.affected), per_point > 0)
        np.testing.assert_array_equal(np.asarray(rep.may_differ), per_point >= 2)
    assert [int(c) for c in rep.exact_counts] == [6, 2]  # hand count from the comments
    np.testing.assert_array_equal(np.asarray(rep.point_counts), [5, 0, 2, 0, 1, 0])
    assert int(rep.total_near) == int(rep.near_counts[0]) + int(rep.near_counts[1])
    # the typed totals (0.1's dict summary() is gone: a NamedTuple of arrays instead)
    assert not hasattr(rep, "summary")
    assert int(rep.total_exact) == 8 and int(rep.num_affected) == 3
    assert int(rep.num_may_differ) == 2 and rep.affected.size == 6
    json.dumps([int(c) for c in rep.exact_counts])


def test_kink_report_batch_shapes_and_traced_tol():
    net = counting_network()
    X = jnp.asarray(BATCH).reshape(2, 3, 3)
    rep = kink_report(net, X)
    assert rep.affected.shape == (2, 3) and rep.neuron_hits[0].shape == (4,)
    np.testing.assert_array_equal(np.asarray(rep.point_counts), [[5, 0, 2], [0, 1, 0]])
    single = kink_report(net, jnp.asarray(BATCH[0]))
    assert single.affected.shape == () and int(single.point_counts) == 5
    f = jax.jit(lambda t: kink_report(net, jnp.asarray(BATCH), tol=t).near_counts[0])
    assert int(f(0.0)) == 6 and int(f(0.25)) == int(np.sum(np.abs(expected_counts(BATCH, 0)[0])
                                                         <= 0.25))
    # the report is a pytree: it passes through jit and tree_map
    leaves = jax.tree_util.tree_leaves(jax.jit(kink_report)(net, X))
    # exact/near/neuron counts per hidden layer (2 each), 3 per-point arrays, and the
    # non-finite counts per hidden layer (2) and their per-point mask (1)
    assert len(leaves) == 2 + 2 + 2 + 3 + 2 + 1


def test_kink_report_activations():
    x = jnp.array([[0.0], [1.0], [-1.0], [0.5]])
    one = Network([(jnp.array([[1.0]]), jnp.zeros(1)), (jnp.array([[1.0]]), jnp.zeros(1))])
    # one kink neuron: D^N is one-sided for c ∈ {0, 1} (and leaky's default), not for c = 1/2
    for act, differ in ((relu, False), (ReLU(deriv_at_kink=1.0), False),
                        (ReLU(deriv_at_kink=0.5), True),
                        (LeakyReLU(negative_slope=0.25), False),
                        (LeakyReLU(negative_slope=0.25, deriv_at_kink=0.5), True)):
        rep = kink_report(one, x, activation=act)
        np.testing.assert_array_equal(np.asarray(rep.affected), [True, False, False, False])
        np.testing.assert_array_equal(np.asarray(rep.may_differ), [differ, False, False, False])
    rep = kink_report(one, x, activation=HardTanh())  # kinks at ±1, Dϱ(±1) = 0 is one-sided
    np.testing.assert_array_equal(np.asarray(rep.affected), [False, True, True, False])
    assert not bool(rep.may_differ.any())
    rep = kink_report(one, x, tol=0.5, activation=HardTanh())
    assert int(rep.near_counts[0]) == 3
    rep = kink_report(one, x, activation=jrelu.Softplus())
    assert int(rep.total_exact) == 0 and not bool(rep.affected.any())
    depth1 = Network([(jnp.ones((1, 1)), jnp.zeros(1))])
    rep = kink_report(depth1, x)
    assert rep.exact_counts == () and not bool(rep.affected.any())


def test_kink_report_float32_and_errors():
    net = slope_network(1.0, 1.0, dtype=jnp.float32)
    rep = kink_report(net, jnp.zeros((3, 1), jnp.float32))
    assert int(rep.exact_counts[0]) == 6
    with pytest.raises(ValueError, match="shape"):
        kink_report(net, jnp.zeros((3, 2)))
    with pytest.raises(ValueError, match="tol"):
        kink_report(net, jnp.zeros(1), tol=-1.0)
    with pytest.raises(ValueError, match="tol"):
        kink_report(net, jnp.zeros(1), tol=float("nan"))
    with pytest.raises(TypeError, match="^tol"):
        kink_report(net, jnp.zeros(1), tol="0.5")
    with pytest.raises(TypeError):  # tol is keyword-only
        kink_report(net, jnp.zeros(1), 0.5)
    with pytest.raises(TypeError, match="Activation"):
        kink_report(net, jnp.zeros(1), activation="relu")



def test_kink_report_blocked_batches_count_exactly():
    """From 4096 points the report runs in blocks of 1024 (the tail of n mod 1024 points is
    its own block): every count equals the hand count, with kinks in the first block, a
    later block and the tail, a NaN point, kink-free blocks, and a traced tol."""
    net = counting_network()
    rng = np.random.default_rng(5)
    X = rng.integers(1, 9, (2, 2073, 3)) / 8.0 + np.array([1.0, 3.0, 2.0])  # no kinks
    flat = X.reshape(-1, 3)
    where = {0: BATCH[0], 1500: BATCH[2], 4100: BATCH[4], 4145: BATCH[0]}  # tail: 4096..4145
    for i, row in where.items():
        flat[i] = row
    flat[2000] = [np.nan, 0.0, 0.0]
    X = flat.reshape(2, 2073, 3)
    for fn, tol in ((kink_report, 0.0), (jax.jit(kink_report), 0.25)):
        rep = fn(net, jnp.asarray(X), tol=tol)
        zs = expected_counts(X, tol)
        for z in zs:  # a NaN entry of x makes every pre-activation of its point NaN
            z.reshape(-1, z.shape[-1])[2000] = np.nan
        finite = [np.isfinite(z) for z in zs]
        assert [int(c) for c in rep.exact_counts] == [int(np.sum(z == 0)) for z in zs]
        assert [int(c) for c in rep.near_counts] == [int(np.sum(np.abs(z) <= tol))
                                                     for z in zs]
        for h, z in zip(rep.neuron_hits, zs):
            np.testing.assert_array_equal(np.asarray(h), np.sum(z == 0, axis=(0, 1)))
        assert [int(c) for c in rep.nonfinite_counts] == [int(np.sum(~f)) for f in finite]
        per_point = sum(np.sum(z == 0, axis=-1) for z in zs)
        np.testing.assert_array_equal(np.asarray(rep.point_counts), per_point)
        assert sorted(np.flatnonzero(per_point.ravel())) == sorted(where)
        nonfinite = ~np.all(finite[0], axis=-1)
        np.testing.assert_array_equal(np.asarray(rep.nonfinite), nonfinite)
        np.testing.assert_array_equal(np.asarray(rep.may_differ),
                                      (per_point >= 2) | nonfinite)
    clean = kink_report(net, jnp.asarray(X[:, 3:1027]))  # kink-free and finite: all zero
    assert int(clean.total_exact) == 0 and int(clean.total_nonfinite) == 0
    assert not bool(clean.affected.any()) and clean.point_counts.shape == (2, 1024)


# -- the hull solver --------------------------------------------------------------------------


def test_hull_distance_exact_cases():
    square = [np.array(p, float) for p in [(0, 0), (1, 0), (0, 1), (1, 1)]]
    for y, d in [((0.5, 0.5), 0.0), ((0.25, 1.0), 0.0), ((2.0, 0.5), 1.0), ((2.0, 2.0),
                 np.sqrt(2.0)), ((-3.0, 0.5), 3.0), ((0.5, -0.5), 0.5)]:
        up, low, lam = hull_distance(square, np.array(y))
        assert abs(up - d) <= 1e-12 and abs(low - d) <= 1e-12, (y, up, low)
        assert np.all(lam >= 0) and abs(lam.sum() - 1) <= 1e-15
        np.testing.assert_allclose(lam @ np.stack(square), np.clip(y, 0, 1), atol=1e-12)
    # a segment in R^3 and a point off its line: distance by hand
    seg = [np.array([0.0, 0, 0]), np.array([2.0, 0, 0])]
    up, low, _ = hull_distance(seg, np.array([1.0, 3.0, 4.0]))
    assert abs(up - 5.0) <= 1e-12 and abs(low - 5.0) <= 1e-12
    # random: compare with the brute-force minimum over a fine simplex grid in 3 points
    rng = np.random.default_rng(0)
    P = rng.normal(size=(3, 4))
    y = rng.normal(size=4)
    grid = [(i / 200, j / 200) for i in range(201) for j in range(201 - i)]
    brute = min(np.linalg.norm(a * P[0] + b * P[1] + (1 - a - b) * P[2] - y) for a, b in grid)
    up, low, _ = hull_distance(list(P), y)
    assert low - 1e-12 <= up <= brute + 1e-12 and brute - up <= 0.02
    assert abs(up - low) <= 1e-10


def test_assert_in_clarke_hull_slope_network():
    net = slope_network(2.0, 3.0)
    x0 = jnp.zeros(1)
    for g in (2.0, 2.5, 3.0, 2.75):
        assert_in_clarke_hull(net, x0, jnp.array([g]))           # gradient of a scalar network
        assert_in_clarke_hull(net, x0, jnp.array([[g]]))
    with pytest.raises(AssertionError) as info:
        assert_in_clarke_hull(net, x0, jrelu.derivative(net, x0))  # D^N(0) = 0 ∉ [2, 3]
    msg = str(info.value)
    assert "distance in [2, 2]" in msg and "J_1" in msg and "J_2" in msg
    assert "all of ∂_B" in msg
    with pytest.raises(AssertionError, match="distance"):
        assert_in_clarke_hull(net, x0, jnp.array([3.0 + 1e-6]))
    assert_in_clarke_hull(net, x0, jnp.array([3.0 + 1e-6]), atol=1e-5)
    assert_in_clarke_hull(net, x0, jnp.array([2.5]), key=jax.random.key(1), num_bases=4)
    with pytest.raises(TypeError):  # key is keyword-only
        assert_in_clarke_hull(net, x0, jnp.array([2.5]), jax.random.key(1))
    # jax.grad of the realization with ReLU(deriv_at_kink=1/2) gives (a+b)/2 = 2.5: inside
    g = jax.grad(lambda x: jrelu.realize(net, x, activation=ReLU(deriv_at_kink=0.5))[0])(x0)
    assert_in_clarke_hull(net, x0, g)


def test_assert_in_clarke_hull_l1_and_multi_output():
    d = 3
    eye = np.eye(d)
    l1 = Network([(jnp.asarray(np.concatenate([eye, -eye])), jnp.zeros(2 * d)),
                  (jnp.ones((1, 2 * d)), jnp.zeros(1))])
    x = jnp.array([0.0, 0.5, 0.0])
    found = assert_in_clarke_hull(l1, x, jnp.array([0.0, 1.0, 0.5]), num_bases=48)
    assert found.complete and len(found) == 4
    with pytest.raises(AssertionError, match="distance"):
        assert_in_clarke_hull(l1, x, jnp.array([0.0, 0.5, 0.0]), num_bases=48)
    with pytest.raises(AssertionError, match="distance"):
        assert_in_clarke_hull(l1, x, jnp.array([1.5, 1.0, 0.0]), num_bases=48)
    # identity of R^2 as a depth-2 ReLU network: the Clarke Jacobian at 0 is {I}
    ident = jrelu.identity(2, 2)
    assert_in_clarke_hull(ident, jnp.zeros(2), jnp.eye(2))
    with pytest.raises(AssertionError):
        assert_in_clarke_hull(ident, jnp.zeros(2), jrelu.derivative(ident, jnp.zeros(2)))
    with pytest.raises(ValueError, match="J must have shape"):
        assert_in_clarke_hull(ident, jnp.zeros(2), jnp.ones(2))
