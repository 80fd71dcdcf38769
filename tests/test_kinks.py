"""Directional and lexicographic derivatives, limiting Jacobians (Clarke-correct derivatives).

Float64. Networks with planted kinks have dyadic weights and inputs (multiples of 1/4), so
float64 arithmetic on them is exact and identities at kinks are asserted with equality.
The checks re-evaluate networks with an independent NumPy forward pass.
"""

import itertools

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jrelu
from jrelu import (
    Abs,
    HardTanh,
    LeakyReLU,
    Network,
    ReLU,
    directional_derivative,
    lexicographic_jacobian,
    limiting_jacobians,
)
from jrelu.derivative import hull_distance, lexicographic_pattern
from jrelu.examples import slope_network

# jit-compiled once per shape (eager dispatch would compile every primitive separately)
derivative = jax.jit(jrelu.derivative, static_argnames="activation")
realize = jax.jit(jrelu.realize, static_argnames="activation")

relu = ReLU()
ACTIVATIONS = [relu, ReLU(deriv_at_kink=0.5), ReLU(deriv_at_kink=1.0),
               LeakyReLU(negative_slope=0.25), Abs(), HardTanh()]
ACT_IDS = ["relu", "relu_c0.5", "relu_c1", "leaky", "abs", "hardtanh"]


# -- an independent NumPy forward pass ---------------------------------------------------


def np_value(act, z):
    """ϱ(z) in NumPy, written independently of jrelu.activations."""
    if isinstance(act, ReLU):
        return np.maximum(z, 0.0)
    if isinstance(act, LeakyReLU):
        return np.where(z >= 0, z, act.negative_slope * z)
    if isinstance(act, Abs):
        return np.abs(z)
    if isinstance(act, HardTanh):
        return np.clip(z, -1.0, 1.0)
    raise NotImplementedError(act)


def np_deriv(act, z):
    """Dϱ(z) in NumPy (the documented kink values)."""
    if isinstance(act, ReLU):
        return np.where(z > 0, 1.0, np.where(z < 0, 0.0, act.deriv_at_kink))
    if isinstance(act, LeakyReLU):
        return np.where(z > 0, 1.0, np.where(z < 0, act.negative_slope, act.deriv_at_kink))
    if isinstance(act, Abs):
        return np.where(z > 0, 1.0, np.where(z < 0, -1.0, act.deriv_at_kink))
    if isinstance(act, HardTanh):
        return np.where(np.abs(z) < 1, 1.0, np.where(np.abs(z) > 1, 0.0, act.deriv_at_kink))
    raise NotImplementedError(act)


def np_forward(layers, x, act):
    """Pre-activations of the hidden layers and the output, NumPy float64."""
    zs, h = [], np.asarray(x, float)
    for k, (A, b) in enumerate(layers):
        z = h @ A.T + b
        zs.append(z)
        if k < len(layers) - 1:
            h = np_value(act, z)
    return zs


def interval_index(act, z):
    """Which open interval between kinks z lies in; −1 where z is exactly at a kink."""
    kinks = np.asarray(act.kinks, float)
    idx = np.searchsorted(kinks, z).astype(int)
    at = np.isin(z, kinks)
    return np.where(at, -1, idx)


def planted_network(seed, n0, act, hidden=(5, 4), n_out=2, plant_prob=0.4):
    """Dyadic network and dyadic x with several hidden neurons planted exactly on a kink."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, n0) / 4.0
    layers, h = [], x
    for k, nk in enumerate(hidden):
        A = rng.integers(-4, 5, (nk, h.shape[0])) / 4.0
        b = rng.integers(-4, 5, nk) / 4.0
        z = A @ h + b
        plant = rng.random(nk) < plant_prob
        plant[0] |= k == 0  # at least one kink
        target = rng.choice(np.asarray(act.kinks, float), nk)
        b = np.where(plant, b - z + target, b)
        z = A @ h + b
        assert np.all(z[plant] == target[plant])
        layers.append((A, b))
        h = np_value(act, z)
    A = rng.integers(-4, 5, (n_out, h.shape[0])) / 4.0
    b = rng.integers(-4, 5, n_out) / 4.0
    layers.append((A, b))
    net = Network([(jnp.asarray(A), jnp.asarray(b)) for A, b in layers])
    return net, layers, jnp.asarray(x)


def fd_jacobian_in_piece(layers, act, y, h0):
    """Central differences at y with a step whose segments provably stay in y's piece.

    The set S of points with y's interval index at every neuron (−1 = exactly at a kink) is
    convex and RΦ is affine on it (induction over layers: on S each layer's pre-activations
    are affine and each activation acts affinely). If all 2n points y ± h e_i lie in S, so
    does their convex hull, a neighbourhood of y: RΦ is affine near y and the central
    differences are its Jacobian up to rounding. Returns (J_fd, error bound).
    """
    ref = [interval_index(act, z) for z in np_forward(layers, y, act)[:-1]]
    n = y.shape[0]
    cols, bound = [], 0.0
    absn = [(np.abs(A), np.abs(b)) for A, b in layers]
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0
        h = h0
        for _ in range(40):
            ok = True
            for s in (1, -1):
                zs = np_forward(layers, y + s * h * e, act)[:-1]
                ok &= all(np.array_equal(interval_index(act, z), r) for z, r in zip(zs, ref))
            if ok:
                break
            h /= 2
        else:
            raise AssertionError("no segment inside the piece found")
        fp = np_forward(layers, y + h * e, act)[-1]
        fm = np_forward(layers, y - h * e, act)[-1]
        cols.append((fp - fm) / (2 * h))
        # Running-error bound of the forward pass: a modest multiple of ε times the
        # magnitudes |A_L|(…|A_1||y| + |b_1|…) + |b_L| (every activation here has |ϱ(z)| ≤ |z|).
        mag = np.abs(y) + h
        for A, b in absn:
            mag = A @ mag + b
        bound = max(bound, 64 * np.finfo(float).eps * float(np.max(mag)) / h)
    return np.stack(cols, axis=1), bound


def find_piece_point(layers, act, x, pattern, V):
    """A point y = x + t·w, w = Σ_j ε^{j-1} v_j, where every neuron has the element's slope,
    or None. (A neuron may sit on a kink at y only if it does so on a whole neighbourhood:
    :func:`fd_jacobian_in_piece` then verifies that y is interior to its piece.)"""
    n = x.shape[0]
    for eps in (2.0**-4, 2.0**-8, 2.0**-12):
        w = sum(eps**j * V[:, j] for j in range(n))
        for t in 2.0 ** -np.arange(4, 40, 2):
            y = x + t * w
            zs = np_forward(layers, y, act)[:-1]
            slopes = [np_deriv(act, z) for z in zs]
            if all(np.array_equal(s, p) for s, p in zip(slopes, pattern)):
                return y
    return None


# -- slope network ----------------------------------------------------------------------


@pytest.mark.parametrize("a,b", [(2.0, 3.0), (3.0, 2.0), (-1.5, 0.5), (1.0, 1.0), (0.25, -4.0)])
@pytest.mark.parametrize("c", [0.0, 0.5, 1.0])
def test_slope_network_at_zero(a, b, c):
    act = ReLU(deriv_at_kink=c)
    net = slope_network(a, b)
    x0 = jnp.zeros(1)
    vs = jnp.array([[1.0], [0.5], [-1.0], [-0.25], [0.0]])
    dd = directional_derivative(net, x0, vs, activation=act)
    expected = np.array([[a * 1.0], [a * 0.5], [b * -1.0], [b * -0.25], [0.0]])
    np.testing.assert_array_equal(np.asarray(dd), expected)
    # Lexicographic: the slope of the side the first basis vector points to, never c(a+b).
    assert float(lexicographic_jacobian(net, x0, activation=act)[0, 0]) == a
    assert float(lexicographic_jacobian(net, x0, basis=-jnp.eye(1), activation=act)[0, 0]) == b
    lex = lambda B: float(lexicographic_jacobian(net, x0, basis=B, activation=act)[0, 0])
    assert lex(jnp.array([[0.25]])) == a
    assert lex(jnp.array([[-3.0]])) == b
    found = limiting_jacobians(net, x0, key=jax.random.key(1), num_bases=4, activation=act)
    assert sorted({a, b}) == sorted(float(j) for j in np.asarray(found.jacobians).ravel())
    assert found.complete and found.num_kinks == 2
    # D^N is c(a+b): a limiting Jacobian only if it equals a or b.
    dn = float(derivative(net, x0, activation=act)[0, 0])
    assert dn == c * (a + b)
    assert found.contains(jnp.array([[dn]])) == (min(a, b) <= dn <= max(a, b))


# -- random networks with planted kinks ----------------------------------------------------


# input dimensions 1–8 across the activations (one compile per case keeps this cheap)
DIM_CASES = [(relu, 1), (relu, 2), (relu, 4), (relu, 8), (ACTIVATIONS[1], 3),
             (ACTIVATIONS[2], 5), (ACTIVATIONS[3], 6), (ACTIVATIONS[4], 7), (ACTIVATIONS[5], 3)]
DIM_IDS = [f"{ACT_IDS[ACTIVATIONS.index(a)]}-{n0}" for a, n0 in DIM_CASES]


@pytest.mark.parametrize("act,n0", DIM_CASES, ids=DIM_IDS)
def test_directional_derivative_exact_on_planted_kinks(act, n0):
    for seed in range(2):
        net, layers, x = planted_network(100 * n0 + seed, n0, act)
        rng = np.random.default_rng(seed)
        V = rng.integers(-4, 5, (6, n0)) / 4.0
        V[0] = 0.0
        dd = np.asarray(directional_derivative(net, x, jnp.asarray(V), activation=act))
        assert dd.shape == (6, net.output_dim)
        np.testing.assert_array_equal(dd[0], 0.0)
        f0 = np.asarray(realize(net, x, activation=act))
        for t in (2.0**-24, 2.0**-28):
            fq = (np.asarray(realize(net, x + t * jnp.asarray(V), activation=act)) - f0) / t
            np.testing.assert_array_equal(dd, fq)
        # positive homogeneity, and the batched call equals the single calls
        np.testing.assert_array_equal(
            np.asarray(directional_derivative(net, x, 4.0 * jnp.asarray(V), activation=act)),
            4.0 * dd)
        for i in range(6):
            np.testing.assert_array_equal(
                np.asarray(directional_derivative(net, x, jnp.asarray(V[i]), activation=act)),
                dd[i])


@pytest.mark.parametrize("act,n0", DIM_CASES, ids=DIM_IDS)
def test_limiting_jacobians_are_jacobians_of_adjacent_pieces(act, n0):
    for seed in range(2):
        net, layers, x = planted_network(7 * n0 + seed, n0, act)
        found = limiting_jacobians(net, x, key=jax.random.key(seed), num_bases=8, activation=act)
        assert found.num_kinks >= 1
        Js = np.asarray(found.jacobians)
        assert len({J.tobytes() for J in Js}) == len(found) >= 1
        for i in range(len(found)):
            pattern = [np.asarray(p[i]) for p in found.patterns]
            V = np.asarray(found.bases[i])
            y = find_piece_point(layers, act, np.asarray(x), pattern, V)
            assert y is not None, f"no point of the piece of element {i} found"
            # The element is the Jacobian of the piece: D^N there (no kink at y) ...
            np.testing.assert_array_equal(
                np.asarray(derivative(net, jnp.asarray(y), activation=act)), Js[i])
            # ... and the finite-difference Jacobian there.
            J_fd, err = fd_jacobian_in_piece(layers, act, y, h0=1e-3)
            np.testing.assert_allclose(J_fd, Js[i], rtol=0, atol=err)


@pytest.mark.parametrize("act", ACTIVATIONS, ids=ACT_IDS)
def test_lexicographic_direction_consistency(act):
    """RΦ'(x; v) = J_lex(basis with first column v) · v (the piece contains x + tv + …)."""
    for seed in range(3):
        n0 = 3
        net, _, x = planted_network(31 + seed, n0, act)
        rng = np.random.default_rng(seed)
        for _ in range(4):
            V = rng.integers(-4, 5, (n0, n0)) / 4.0
            if np.linalg.matrix_rank(V) < n0:
                continue
            J = np.asarray(lexicographic_jacobian(net, x, basis=jnp.asarray(V), activation=act))
            dd = np.asarray(directional_derivative(net, x, jnp.asarray(V[:, 0]), activation=act))
            np.testing.assert_array_equal(J @ V[:, 0], dd)
            # the propagated tangent matrix equals J·V (identity basis propagates J itself)
            pat = lexicographic_pattern(net, x, basis=None, activation=act)
            assert len(pat) == len(net.layers) - 1
            assert pat[0].shape == (net.widths[1],)


def test_single_kink_may_differ_false_is_sound():
    """kink_report's may_differ = False at a point with one kink neuron: D^N ∈ ∂_B."""
    checked = 0
    for act in (relu, LeakyReLU(negative_slope=0.25), HardTanh()):
        for seed in range(8):
            net, _, x = planted_network(seed, 3, act, hidden=(4, 3), plant_prob=0.0)
            rep = jrelu.kink_report(net, x, activation=act)
            if int(rep.point_counts) != 1:
                continue
            assert not bool(rep.may_differ)
            found = limiting_jacobians(net, x, key=jax.random.key(seed), num_bases=16,
                                       activation=act)
            dn = np.asarray(derivative(net, x, activation=act))
            assert any(np.array_equal(dn, J) for J in np.asarray(found.jacobians))
            checked += 1
    assert checked >= 12


def test_may_differ_true_where_dn_is_not_limiting():
    net = slope_network(2.0, 3.0)
    rep = jrelu.kink_report(net, jnp.zeros((1, 1)))
    assert bool(rep.may_differ[0])
    found = limiting_jacobians(net, jnp.zeros(1), key=jax.random.key(0))
    assert not found.contains(derivative(net, jnp.zeros(1)))
    # one kink neuron with the non-one-sided choice c = 1/2 and a nonzero gradient
    net1 = Network([(jnp.array([[1.0]]), jnp.zeros(1)), (jnp.array([[1.0]]), jnp.zeros(1))])
    rep = jrelu.kink_report(net1, jnp.zeros(1), activation=ReLU(deriv_at_kink=0.5))
    assert bool(rep.may_differ) and int(rep.point_counts) == 1
    found = limiting_jacobians(net1, jnp.zeros(1), key=jax.random.key(0),
                               activation=ReLU(deriv_at_kink=0.5))
    assert sorted(np.asarray(found.jacobians).ravel().tolist()) == [0.0, 1.0]
    assert found.complete
    assert not any(np.array_equal(J, [[0.5]]) for J in np.asarray(found.jacobians))


# -- away from kinks ----------------------------------------------------------------------


@pytest.mark.parametrize("act", [relu, jrelu.Softplus()], ids=["relu", "softplus"])
def test_away_from_kinks_everything_is_dn(act):
    rng = np.random.default_rng(3)  # NumPy draws: generic data without XLA compilations
    net = helpers.numpy_network(rng, (4, 7, 6, 3))
    X = jnp.asarray(rng.normal(size=(5, 4)))
    rep = jrelu.kink_report(net, X, activation=act)
    assert int(rep.total_exact) == 0 and not bool(rep.affected.any())
    dn = np.asarray(derivative(net, X, activation=act))
    np.testing.assert_allclose(np.asarray(lexicographic_jacobian(net, X, activation=act)), dn,
                               rtol=1e-13, atol=1e-14)
    B = jnp.asarray(rng.normal(size=(4, 4)))
    np.testing.assert_allclose(np.asarray(lexicographic_jacobian(net, X, basis=B, activation=act)),
                               dn, rtol=1e-13, atol=1e-14)
    V = jnp.asarray(rng.normal(size=(5, 4)))
    np.testing.assert_allclose(np.asarray(directional_derivative(net, X, V, activation=act)),
                               np.einsum("bij,bj->bi", dn, np.asarray(V)), rtol=1e-12,
                               atol=1e-13)
    # and D^N is the gradient there: central differences
    h = 1e-6
    fd = np.stack([(np.asarray(realize(net, X + h * e, activation=act))
                    - np.asarray(realize(net, X - h * e, activation=act))) / (2 * h)
                   for e in np.eye(4)], axis=-1)
    np.testing.assert_allclose(fd, dn, rtol=1e-6, atol=1e-7)
    found = limiting_jacobians(net, X[0], key=jax.random.key(0), activation=act)
    assert len(found) == 1 and found.complete and found.num_kinks == 0
    np.testing.assert_allclose(np.asarray(found.jacobians[0]), dn[0], rtol=1e-13, atol=1e-14)


# -- convex functions ------------------------------------------------------------------------


def max_of_affine_network(G, c):
    """A ReLU network for x ↦ max(ℓ_1, ℓ_2, ℓ_3, ℓ_4), ℓ_i(x) = G_i·x + c_i, using
    max(u, v) = ϱ(u − v) + ϱ(v) − ϱ(−v)."""
    G, c = np.asarray(G, float), np.asarray(c, float)
    rows = [G[0] - G[1], G[1], -G[1], G[2] - G[3], G[3], -G[3]]
    bias = [c[0] - c[1], c[1], -c[1], c[2] - c[3], c[3], -c[3]]
    m1 = np.array([1.0, 1.0, -1.0, 0, 0, 0])
    m2 = np.array([0, 0, 0, 1.0, 1.0, -1.0])
    A2 = np.stack([m1 - m2, m2, -m2])
    A3 = np.array([[1.0, 1.0, -1.0]])
    return Network([(jnp.asarray(np.stack(rows)), jnp.asarray(bias)),
                    (jnp.asarray(A2), jnp.zeros(3)), (jnp.asarray(A3), jnp.zeros(1))])


def l1_network(d):
    """‖x‖₁ = Σ_i ϱ(x_i) + ϱ(−x_i)."""
    eye = np.eye(d)
    return Network([(jnp.asarray(np.concatenate([eye, -eye])), jnp.zeros(2 * d)),
                    (jnp.ones((1, 2 * d)), jnp.zeros(1))])


def test_convex_max_of_affine_lexicographic_in_subdifferential():
    # ℓ_1 = ℓ_2 = 0 on the line x_1 = 0 … and all four tie at 0.
    G = np.array([[1.0, 1.0], [2.0, 0.5], [0.5, 2.0], [1.5, 1.5]])
    c = np.array([0.0, 0.0, 0.0, -0.25])
    net = max_of_affine_network(G, c)
    grid = np.array(list(itertools.product(np.arange(-1.0, 1.01, 0.25), repeat=2)))
    np.testing.assert_array_equal(np.asarray(realize(net, jnp.asarray(grid)))[:, 0],
                                  np.max(grid @ G.T + c, axis=1))
    rng = np.random.default_rng(0)
    bases = [np.eye(2), -np.eye(2), np.array([[0.0, 1.0], [1.0, 0.0]])]
    bases += [rng.integers(-4, 5, (2, 2)) / 4.0 for _ in range(6)]
    bases = [B for B in bases if np.linalg.matrix_rank(B) == 2]
    dn_outside = 0
    kinks_seen = 0
    Js = [np.asarray(lexicographic_jacobian(net, jnp.asarray(grid), basis=jnp.asarray(B)))[:, 0]
          for B in bases]
    DN = np.asarray(derivative(net, jnp.asarray(grid)))[:, 0]
    for p, x in enumerate(grid):
        vals = G @ x + c
        active = np.flatnonzero(vals == vals.max())
        kinks_seen += len(active) > 1
        for J in Js:
            # an element of ∂_B of a max of affine maps is the gradient of an active map
            assert any(np.array_equal(J[p], G[i]) for i in active), (x, J[p], active)
        dn = DN[p]
        _, low, _ = hull_distance(list(G[active]), dn)
        dn_outside += low > 1e-9
    assert kinks_seen >= 5
    assert dn_outside >= 1  # D^N leaves the subdifferential at some kink (e.g. x = 0)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_convex_l1_and_abs(d):
    net = l1_network(d)
    pts = np.array(list(itertools.product([-0.5, 0.0, 0.75], repeat=d)))
    for c in (0.0, 0.5, 1.0):
        act = ReLU(deriv_at_kink=c)
        for B in (np.eye(d), -np.eye(d), np.eye(d)[::-1]):
            Js = np.asarray(lexicographic_jacobian(net, jnp.asarray(pts), basis=jnp.asarray(B),
                                                   activation=act))[:, 0]
            for x, J in zip(pts, Js):
                # ∂‖·‖₁(x) = Π_i (sign(x_i) or [−1, 1]); ∂_B: sign(x_i) or ±1
                np.testing.assert_array_equal(J[x != 0], np.sign(x[x != 0]))
                assert np.all(np.abs(J[x == 0]) == 1.0)
                # for B = ±I the sign at a zero coordinate is that of the basis vector
                if np.array_equal(np.abs(B), np.eye(d)):
                    np.testing.assert_array_equal(J[x == 0], np.diag(B)[x == 0])


def test_convex_slope_network_dn_outside_subdifferential():
    # 2ϱ(x) − ϱ(−x): convex, slopes 1 | 2, ∂f(0) = [1, 2]; D^N(0) = 3c.
    net = slope_network(2.0, 1.0)
    x0 = jnp.zeros(1)
    for c in (0.0, 0.25, 0.5, 0.75, 1.0):
        act = ReLU(deriv_at_kink=c)
        J = float(lexicographic_jacobian(net, x0, activation=act)[0, 0])
        assert 1.0 <= J <= 2.0
        dn = float(derivative(net, x0, activation=act)[0, 0])
        assert (1.0 <= dn <= 2.0) == (1 / 3 <= c <= 2 / 3)


# -- completeness --------------------------------------------------------------------------


def test_completeness_flag_is_honest():
    # ‖x‖₁ at 0 in R^3: 8 pieces, 3 free sign pairs → complete once all 8 are found.
    net = l1_network(3)
    found = limiting_jacobians(net, jnp.zeros(3), key=jax.random.key(0), num_bases=64)
    assert found.complete and len(found) == 8
    signs = {tuple(J[0]) for J in np.asarray(found.jacobians)}
    assert signs == set(itertools.product((-1.0, 1.0), repeat=3))
    # too few bases: only ±I → 2 of 8 found, flagged incomplete
    few = limiting_jacobians(net, jnp.zeros(3), key=jax.random.key(0), num_bases=0)
    assert len(few) == 2 and not few.complete
    # max of affine maps at 0 (kinks in deeper layers): the flag must not claim completeness
    # unless all 2^m side choices are realized; each element is still valid.
    G = np.array([[1.0, 1.0], [2.0, 0.5], [0.5, 2.0], [1.5, 1.5]])
    net = max_of_affine_network(G, np.array([0.0, 0.0, 0.0, 0.0]))
    found = limiting_jacobians(net, jnp.zeros(2), key=jax.random.key(0), num_bases=32)
    for J in np.asarray(found.jacobians):
        assert any(np.array_equal(J[0], g) for g in G)
    # each ℓ_i is strictly maximal on an open cone at 0 (ℓ_1 towards (−1, −1), ℓ_4 towards
    # (1, 1), ℓ_2 towards (1, −1), ℓ_3 towards (−1, 1)), so ∂_B has all four
    assert len(found) == 4


# -- shapes, jit, dtypes, errors ---------------------------------------------------------------


def test_batching_and_jit():
    net, _, x = planted_network(5, 3, relu)
    X = jnp.stack([x, x + 0.25, x - 0.5])
    J = lexicographic_jacobian(net, X)
    pat = lexicographic_pattern(net, X)
    assert J.shape == (3, 2, 3) and pat[0].shape == (3, 5) and pat[1].shape == (3, 4)
    for i in range(3):
        np.testing.assert_array_equal(np.asarray(J[i]),
                                      np.asarray(lexicographic_jacobian(net, X[i])))
    jl = jax.jit(lexicographic_jacobian, static_argnames=("activation",))
    np.testing.assert_array_equal(np.asarray(jl(net, X)), np.asarray(J))
    Bs = jnp.stack([jnp.eye(3), -jnp.eye(3)])
    JB = lexicographic_jacobian(net, x, basis=Bs)
    assert JB.shape == (2, 2, 3)
    np.testing.assert_array_equal(np.asarray(JB[1]),
                                  np.asarray(lexicographic_jacobian(net, x, basis=-jnp.eye(3))))
    jd = jax.jit(directional_derivative, static_argnames="activation")
    V = jnp.ones((4, 1, 3)) * jnp.arange(4.0)[:, None, None]
    out = jd(net, X, V)
    assert out.shape == (4, 3, 2)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(directional_derivative(net, X, V)))



def test_blocked_tangent_pass_is_exact_per_point(monkeypatch):
    """The tangent pass runs in blocks of points (on CPU as many as fit in 2 MiB: 32 for
    N_0 = 64 and a widest hidden layer of 128, float64). Under a plan with blocks of 2
    points, 11 points run in 6 blocks, the last one padded: the Jacobians and patterns
    equal the per-point ones exactly, kinks planted in the first, a middle and the padded
    block, for the identity and for per-point bases."""
    import importlib

    from jrelu.derivative import Blocking, evaluation_blocking

    wide, _, _ = planted_network(21, 64, relu, hidden=(128, 64))
    assert evaluation_blocking(wide).tangent_block_size == 32
    derivative_module = importlib.import_module("jrelu.derivative")
    plan = Blocking(1024, 4096, 8192, "cpu", None, 1, 2)
    net, _, x = planted_network(21, 3, relu)
    rng = np.random.default_rng(21)
    X = np.asarray(x) + rng.integers(-2, 3, (11, 3)) / 4.0
    X[[0, 5, 10]] = x
    X = jnp.asarray(X)
    signs = jnp.asarray(rng.choice([-1.0, 1.0], (11, 3)))
    bases = jax.vmap(jnp.diag)(signs)
    per_point = jax.jit(jax.vmap(lambda p, v: (lexicographic_jacobian(net, p),
                                               lexicographic_pattern(net, p),
                                               lexicographic_jacobian(net, p, basis=v))))
    J1, pat1, JB1 = per_point(X, bases)
    at_kink = jrelu.kink_report(net, X).affected
    assert at_kink[jnp.array([0, 5, 10])].all()
    planned = []  # the plan is asked for while tracing: the blocked code really ran
    monkeypatch.setattr(derivative_module, "evaluation_blocking",
                        lambda net: planned.append(net) or plan)
    np.testing.assert_array_equal(lexicographic_jacobian(net, X), J1)
    for a, b in zip(lexicographic_pattern(net, X), pat1):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(lexicographic_jacobian(net, X, basis=bases), JB1)
    assert planned  # asked for while tracing the batched calls: the blocks really ran


def test_limiting_jacobians_decides_kinks_in_floating_point():
    """As documented: z = 0.1 + 0.2 - 0.3 is 0 in exact arithmetic but 5.55e-17 in float64,
    so limiting_jacobians sees no kink (one element, 'complete'); derivative_bounds on the
    zero-width box accounts for rounding and encloses both slopes."""
    net = Network([(jnp.ones((1, 3)), jnp.zeros(1)), (jnp.ones((1, 1)), jnp.zeros(1))])
    x = jnp.array([0.1, 0.2, -0.3])
    assert float(jrelu.preactivations(net, x)[0][0]) == 0.1 + 0.2 - 0.3 > 0
    found = limiting_jacobians(net, x, key=jax.random.key(0))
    assert len(found) == 1 and found.complete and found.num_kinks == 0
    np.testing.assert_array_equal(found.jacobians[0], [[1.0, 1.0, 1.0]])
    lo, hi = jrelu.derivative_bounds(net, (x, x))
    assert bool(jnp.all(lo <= 0.0)) and bool(jnp.all(hi >= 1.0))  # both sides: 0 and 1


def test_float32():
    net = slope_network(2.0, 3.0, dtype=jnp.float32)
    x = jnp.zeros(1, jnp.float32)
    assert lexicographic_jacobian(net, x).dtype == jnp.float32
    assert directional_derivative(net, x, jnp.ones(1, jnp.float32)).dtype == jnp.float32
    found = limiting_jacobians(net, x, key=jax.random.key(0), num_bases=2)
    assert found.jacobians.dtype == jnp.float32 and len(found) == 2


def test_depth_one_network():
    net = Network([(jnp.array([[1.0, -2.0]]), jnp.array([0.5]))])
    x = jnp.array([[1.0, 2.0], [0.0, 0.0]])
    np.testing.assert_array_equal(np.asarray(lexicographic_jacobian(net, x)),
                                  np.broadcast_to([[1.0, -2.0]], (2, 1, 2)))
    np.testing.assert_array_equal(np.asarray(directional_derivative(net, x, jnp.ones(2))),
                                  [[-1.0], [-1.0]])
    assert limiting_jacobians(net, x[0], key=jax.random.key(0)).complete


def test_bad_inputs():
    net = slope_network(1.0, 1.0)
    with pytest.raises(ValueError, match="shape"):
        directional_derivative(net, jnp.zeros(2), jnp.zeros(1))
    with pytest.raises(ValueError, match="direction v"):
        directional_derivative(net, jnp.zeros(1), jnp.zeros(2))
    with pytest.raises(ValueError, match="broadcast"):
        directional_derivative(net, jnp.zeros((2, 1)), jnp.zeros((3, 1)))
    with pytest.raises(ValueError, match="non-finite entry nan at index \\(1, 0\\)"):
        directional_derivative(net, jnp.array([[0.0], [jnp.nan]]), jnp.ones(1))
    with pytest.raises(ValueError, match="non-finite"):
        lexicographic_jacobian(net, jnp.array([jnp.inf]))
    with pytest.raises(ValueError, match="nonsingular"):
        lexicographic_jacobian(net, jnp.zeros(1), basis=jnp.zeros((1, 1)))
    with pytest.raises(ValueError, match="basis must have shape"):
        lexicographic_jacobian(net, jnp.zeros(1), basis=jnp.eye(2))
    with pytest.raises(TypeError, match="Activation"):
        lexicographic_jacobian(net, jnp.zeros(1), activation=jax.nn.relu)
    with pytest.raises(TypeError, match="Network"):
        directional_derivative([(1, 2)], jnp.zeros(1), jnp.zeros(1))
    with pytest.raises(ValueError, match="one point"):
        limiting_jacobians(net, jnp.zeros((2, 1)), key=jax.random.key(0))
    with pytest.raises(ValueError, match="num_bases"):
        limiting_jacobians(net, jnp.zeros(1), key=jax.random.key(0), num_bases=-1)
    found = limiting_jacobians(net, jnp.zeros(1), key=jax.random.key(0))
    with pytest.raises(ValueError, match="J must have shape"):
        found.contains(jnp.zeros((2, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        found.contains(jnp.array([jnp.nan]))


def test_keyword_only_options_and_result_types():
    import dataclasses
    import json

    net = slope_network(2.0, 3.0)
    x = jnp.zeros(1)
    with pytest.raises(TypeError):  # key is keyword-only, and required
        limiting_jacobians(net, x, jax.random.key(0))
    with pytest.raises(TypeError):
        limiting_jacobians(net, x)
    with pytest.raises(TypeError, match="^key must be a JAX PRNG key"):
        limiting_jacobians(net, x, key=0)
    with pytest.raises(TypeError, match="^num_bases must be an integer"):
        limiting_jacobians(net, x, key=jax.random.key(0), num_bases=2.0)
    with pytest.raises(TypeError):  # basis and activation are keyword-only
        lexicographic_jacobian(net, x, jnp.eye(1))
    with pytest.raises(TypeError):
        directional_derivative(net, x, jnp.ones(1), relu)
    found = limiting_jacobians(net, x, key=jax.random.key(0))
    assert dataclasses.is_dataclass(found)
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.complete = False
    d = json.loads(json.dumps(found.to_dict()))
    assert sorted(d["jacobians"]) == [[[2.0]], [[3.0]]] and d["complete"] is True
    assert d["num_kinks"] == 2 and d["x"] == [0.0] and len(d["patterns"]) == 1
    assert found.contains(jnp.array([[2.5]]), atol=1e-12)
    assert not found.contains(jnp.array([[3.5]]), atol=0.25)
    assert found.contains(jnp.array([[3.5]]), atol=0.5)
    hd = found.hull_distance(jnp.array([[4.0]]))
    assert (hd.upper, hd.lower) == (1.0, 1.0) and hd == tuple(hd)
    # the pattern of the lexicographic Jacobian is among the patterns found
    pat = lexicographic_pattern(net, x)
    assert any(np.array_equal(np.asarray(pat[0]), np.asarray(p)) for p in found.patterns[0])


# -- kink reports at non-finite points (issue 12) -------------------------------------------


@pytest.mark.parametrize("jit", [False, True])
def test_kink_report_flags_nonfinite_points(jit):
    """A NaN point used to report "0 kinks, may_differ False". Now it is ``nonfinite`` and
    ``may_differ``, its NaN/±inf pre-activations are counted per layer, and the finite
    points' counts are unchanged."""
    report = jax.jit(jrelu.kink_report, static_argnames="activation") if jit \
        else jrelu.kink_report
    net = slope_network(2.0, 3.0)  # hidden z = (x, -x)
    X = jnp.array([[0.0], [jnp.nan], [0.5], [jnp.inf], [-jnp.inf]])
    for act in (ReLU(), ReLU(deriv_at_kink=0.5), HardTanh(), jrelu.Softplus()):
        rep = report(net, X, activation=act)
        assert rep.nonfinite.tolist() == [False, True, False, True, True]
        assert rep.nonfinite_counts[0].tolist() == 6 and int(rep.total_nonfinite) == 6
        assert int(rep.num_nonfinite) == 3
        assert rep.may_differ.tolist()[1:] == [True, False, True, True]
        assert rep.point_counts.tolist()[1:] == [0, 0, 0, 0]
        clean = report(net, X[jnp.array([0, 2])], activation=act)
        for a, b in zip(jax.tree.leaves(rep), jax.tree.leaves(clean)):
            if a.shape == X.shape[:-1]:
                a = a[jnp.array([0, 2])]
            if a.dtype == bool or a.ndim:
                np.testing.assert_array_equal(a, b)
        assert int(rep.total_exact) == int(clean.total_exact)
    finite = report(net, X[jnp.array([0, 2])])
    assert int(finite.total_nonfinite) == 0 and not bool(finite.nonfinite.any())


def test_kink_report_nonfinite_overflow_and_depth_one():
    """An overflow inside the network (finite x, infinite pre-activation) is flagged; a
    network without hidden layers flags a non-finite x itself."""
    big = Network([(jnp.array([[1e200], [1.0]]), jnp.zeros(2)),
                   (jnp.array([[1e200, 1.0]]), jnp.zeros(1)), (jnp.ones((1, 1)), jnp.zeros(1))])
    rep = jrelu.kink_report(big, jnp.array([[1e10], [0.0]]))
    assert rep.nonfinite.tolist() == [True, False]
    assert [int(c) for c in rep.nonfinite_counts] == [0, 1]
    assert rep.may_differ.tolist() == [True, True]  # x = 0: two kinks
    affine = Network([(jnp.array([[1.0, 2.0]]), jnp.zeros(1))])
    rep = jrelu.kink_report(affine, jnp.array([[jnp.nan, 0.0], [0.0, 0.0], [0.0, -jnp.inf]]))
    assert rep.nonfinite.tolist() == [True, False, True]
    assert rep.may_differ.tolist() == [True, False, True] and rep.nonfinite_counts == ()
    assert "nonfinite" in jrelu.KinkReport._fields


def test_hull_distance_and_num_bases_wrong_types():
    """Issue 12: TypeError/ValueError naming ``elements``, ``J`` and ``num_bases``."""
    for bad in (None, 3, "net", {"a": 1}):
        with pytest.raises(TypeError, match="^elements must be a sequence"):
            hull_distance(bad, np.zeros(2))
    with pytest.raises(TypeError, match=r"^elements\[0\] must be a"):
        hull_distance(["a", "b"], np.zeros(2))
    with pytest.raises(ValueError, match="^elements must hold at least one"):
        hull_distance([], np.zeros(2))
    with pytest.raises(ValueError, match="^elements must all have the same number"):
        hull_distance([np.zeros(2), np.zeros(1)], np.zeros(2))
    for bad in ("x", ["a", "b"], None):
        with pytest.raises(TypeError, match="^J must be a"):
            hull_distance([np.zeros(2)], bad)
    net = slope_network(2.0, 3.0)
    found = limiting_jacobians(net, jnp.zeros(1), key=jax.random.key(0), num_bases=0)
    with pytest.raises(TypeError, match="^J must be a"):
        found.contains("x")
    with pytest.raises(ValueError, match="^num_bases must be an integer <= "):
        limiting_jacobians(net, jnp.zeros(1), key=jax.random.key(0), num_bases=2**70)
