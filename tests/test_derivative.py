"""The network derivative D^N: agreement of every route at planted kinks, the chain rule
everywhere, the a.e. gradient, and the counterexamples of Berner, Elbrächter, Grohs, Jentzen
(arXiv:1905.04992)."""

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import dyadic_network, dyadic_point, plant_kinks

import jrelu
from jrelu.examples import identity_counterexamples, slope_network

KINK_VALUES = [0.0, 0.5, 1.0]
PIECEWISE_LINEAR = [jrelu.LeakyReLU(negative_slope=0.25), jrelu.Abs(),
                    jrelu.HardTanh(deriv_at_kink=0.5)]


def _product_formula(net, x, act):
    """Independent path: the explicit matrix product with diagonal matrices, in NumPy."""
    h = np.asarray(x, np.float64)
    J = np.eye(len(h))
    for A, b in net.layers[:-1]:
        z = np.asarray(A) @ h + np.asarray(b)
        J = np.diag(np.asarray(act.deriv(jnp.asarray(z)))) @ np.asarray(A) @ J
        h = np.asarray(act(z))
    return np.asarray(net.layers[-1][0]) @ J


def _realize_at(y, net, act):
    return jrelu.realize(net, y, activation=act)


# The jitted routes take the network as an argument: one compilation per shape and activation
# (a closure over each seed's network would compile once per network).
_JIT_DERIVATIVE = jax.jit(jrelu.derivative, static_argnames="activation")
_JIT_JACREV = jax.jit(lambda net, y, act: jax.jacrev(_realize_at)(y, net, act),
                      static_argnames="act")
_JIT_JACFWD = jax.jit(lambda net, y, act: jax.jacfwd(_realize_at)(y, net, act),
                      static_argnames="act")
_JIT_VMAP_JACREV = jax.jit(lambda net, Y, act: jax.vmap(jax.jacrev(_realize_at),
                                                        in_axes=(0, None, None))(Y, net, act),
                           static_argnames="act")


def _routes(net, act):
    f = lambda y: jrelu.realize(net, y, activation=act)
    return {
        "derivative": lambda y: jrelu.derivative(net, y, activation=act),
        "jit(derivative)": lambda y: _JIT_DERIVATIVE(net, y, activation=act),
        "jacrev": jax.jacrev(f),
        "jacfwd": jax.jacfwd(f),
        "jit(jacrev)": lambda y: _JIT_JACREV(net, y, act),
        "jit(jacfwd)": lambda y: _JIT_JACFWD(net, y, act),
    }


def _planted(seed, widths, act):
    rng = np.random.default_rng(seed)
    x = dyadic_point(rng, widths[0])
    net = plant_kinks(dyadic_network(rng, widths), x, rng, act)
    return net, x


# widths with N_L < N_0 (reverse order) and N_L >= N_0 (forward order)
ARCHS = [(4, 6, 5, 1), (2, 5, 4, 3), (3, 4, 4, 4, 2), (1, 3, 1), (5, 3)]


@pytest.mark.parametrize("c", KINK_VALUES)
@pytest.mark.parametrize("widths", ARCHS, ids=str)
def test_all_routes_agree_exactly_at_planted_kinks(widths, c):
    act = jrelu.ReLU(deriv_at_kink=c)
    for seed in range(3):
        net, x = _planted(seed, widths, act)
        if len(widths) > 2:
            zs = jrelu.preactivations(net, x, activation=act)[:-1]
            assert any(bool((np.asarray(z) == 0).any()) for z in zs), "kinks were planted"
        want = _product_formula(net, x, act)
        for name, route in _routes(net, act).items():
            np.testing.assert_array_equal(route(jnp.asarray(x)), want, err_msg=name)


@pytest.mark.parametrize("act", PIECEWISE_LINEAR, ids=repr)
def test_all_routes_agree_at_kinks_of_other_piecewise_linear_activations(act):
    for widths in ARCHS[:3]:
        net, x = _planted(7, widths, act)
        want = _product_formula(net, x, act)
        for name, route in _routes(net, act).items():
            np.testing.assert_array_equal(route(jnp.asarray(x)), want, err_msg=name)


@pytest.mark.parametrize("c", KINK_VALUES)
def test_batched_vmap_and_jit_agree_with_pointwise(c):
    act = jrelu.ReLU(deriv_at_kink=c)
    rng = np.random.default_rng(11)
    for widths in [(4, 6, 5, 2), (2, 5, 3)]:
        net = dyadic_network(rng, widths)
        X = np.stack([dyadic_point(rng, widths[0]) for _ in range(12)])
        # plant kinks at several batch points by making neurons' biases cancel
        net = plant_kinks(net, X[0], rng, act)
        X = X.reshape(3, 4, widths[0])
        D = np.asarray(jrelu.derivative(net, X, activation=act))  # (test-side ops in NumPy)
        assert D.shape == (3, 4, widths[-1], widths[0])
        f = lambda y, net=net: jrelu.realize(net, y, activation=act)
        flat = X.reshape(-1, widths[0])
        for name, batched in {
            "vmap(jacrev)": jax.vmap(jax.jacrev(f)),
            "vmap(jacfwd)": jax.vmap(jax.jacfwd(f)),
            "jit(vmap(jacrev))": lambda Y, net=net: _JIT_VMAP_JACREV(net, Y, act),
            "vmap(derivative)": jax.vmap(
                lambda y, net=net: jrelu.derivative(net, y, activation=act)),
        }.items():
            np.testing.assert_array_equal(np.asarray(batched(flat)).reshape(D.shape), D,
                                          err_msg=name)
        for i, y in enumerate(flat):
            np.testing.assert_array_equal(D.reshape(-1, *D.shape[-2:])[i],
                                          _product_formula(net, y, act))


def test_depth_one_derivative_is_the_matrix():
    net = jrelu.Network([(jnp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), jnp.zeros(3))])
    np.testing.assert_array_equal(jrelu.derivative(net, jnp.ones(2)), net.layers[0][0])
    assert jrelu.derivative(net, jnp.ones((4, 2))).shape == (4, 3, 2)


@pytest.mark.parametrize("c", KINK_VALUES)
def test_chain_rule_everywhere_at_planted_kinks(c):
    """D^N(Ψ∘Φ)(x) = D^NΨ(RΦ(x)) · D^NΦ(x) exactly, with kinks planted in Φ at x and in Ψ at
    RΦ(x)."""
    act = jrelu.ReLU(deriv_at_kink=c)
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        x = dyadic_point(rng, 3)
        inner = plant_kinks(dyadic_network(rng, (3, 5, 4, 2)), x, rng, act)
        y = np.asarray(jrelu.realize(inner, x, activation=act))
        outer = plant_kinks(dyadic_network(rng, (2, 6, 5, 3)), y, rng, act)
        lhs = jrelu.derivative(jrelu.compose(outer, inner), x, activation=act)
        rhs = (jrelu.derivative(outer, y, activation=act)
               @ jrelu.derivative(inner, x, activation=act))
        np.testing.assert_array_equal(lhs, rhs)
        composed = jrelu.compose(outer, inner)
        np.testing.assert_array_equal(lhs, jax.jacrev(
            lambda t, net=composed: jrelu.realize(net, t, activation=act))(x))


@pytest.mark.parametrize("c", KINK_VALUES)
def test_parallel_stacks_derivatives(c):
    act = jrelu.ReLU(deriv_at_kink=c)
    rng = np.random.default_rng(5)
    x = dyadic_point(rng, 3)
    a = plant_kinks(dyadic_network(rng, (3, 5, 4, 2)), x, rng, act)
    b = plant_kinks(dyadic_network(rng, (3, 6, 2, 1)), x, rng, act)
    stacked = jrelu.derivative(jrelu.parallel(a, b), x, activation=act)
    np.testing.assert_array_equal(
        stacked, np.vstack([jrelu.derivative(a, x, activation=act),
                            jrelu.derivative(b, x, activation=act)]))
    full = jrelu.derivative(jrelu.parallel_full(a, b), np.concatenate([x, x]), activation=act)
    np.testing.assert_array_equal(full[:2, :3], jrelu.derivative(a, x, activation=act))
    np.testing.assert_array_equal(full[2:, 3:], jrelu.derivative(b, x, activation=act))
    assert not full[:2, 3:].any() and not full[2:, :3].any()


@pytest.mark.parametrize("c", KINK_VALUES)
def test_identity_padding_and_sparse_composition_at_zero_outputs(c):
    """Padding and sparse composition insert ϱ(y) − ϱ(−y), whose D^N at y = 0 is 2c: the chain
    rule then holds with that factor, exactly as the network calculus says."""
    act = jrelu.ReLU(deriv_at_kink=c)
    inner = jrelu.Network([(jnp.array([[1.0, -1.0]]), jnp.array([0.0]))])  # y = x1 - x2
    outer = jrelu.Network([(jnp.array([[2.0]]), jnp.array([0.0]))])
    x = jnp.array([0.5, 0.5])  # y = 0
    D = jrelu.derivative(jrelu.sparse_compose(outer, inner), x, activation=act)
    id_factor = jrelu.derivative(jrelu.identity(1, 2), jnp.zeros(1), activation=act)
    np.testing.assert_array_equal(id_factor, [[2 * c]])
    np.testing.assert_array_equal(D, jrelu.derivative(outer, jnp.zeros(1), activation=act)
                                  @ id_factor @ jrelu.derivative(inner, x, activation=act))
    x_off = jnp.array([0.75, 0.5])  # y ≠ 0: the identity network's D^N is exactly 1
    np.testing.assert_array_equal(
        jrelu.derivative(jrelu.sparse_compose(outer, inner), x_off, activation=act),
        [[2.0, -2.0]])


ACTIVATIONS = [jrelu.ReLU(), jrelu.ReLU(deriv_at_kink=1.0), jrelu.LeakyReLU(negative_slope=0.1),
               jrelu.Abs(), jrelu.HardTanh(), jrelu.Softplus(), jrelu.Tanh()]


@pytest.mark.parametrize("act", ACTIVATIONS, ids=repr)
@pytest.mark.parametrize("L", [1, 2, 3, 4, 5, 6])
def test_equals_central_differences_away_from_kinks(act, L):
    # a generic network and points, drawn with NumPy; the test's own arithmetic (kink
    # margins, shifted points, difference quotients) in float64 NumPy: no compilation per L
    rng = np.random.default_rng(L)
    widths = (4,) + (6,) * (L - 1) + (2,)
    net = helpers.numpy_network(rng, widths)
    X = rng.normal(size=(20, 4))
    h = 1e-6
    zs = [np.asarray(z) for z in jrelu.preactivations(net, X, activation=act)[:-1]]
    margin = np.stack([
        np.min(np.stack([np.abs(z - k) for k in act.kinks]), axis=0).min(axis=-1)
        for z in zs]).min(axis=0) if (act.kinks and zs) else np.full(20, np.inf)
    keep = margin > 1e-3  # a step of 1e-6 cannot cross a kink from here
    assert keep.sum() >= 15
    D = np.asarray(jrelu.derivative(net, X, activation=act))
    E = np.eye(4)
    fd = np.stack([(np.asarray(jrelu.realize(net, X + h * e, activation=act))
                    - np.asarray(jrelu.realize(net, X - h * e, activation=act)))
                   / (2 * h) for e in E], axis=-1)
    # rounding of the quotient: ~ eps·|RΦ|/h ≈ 1e-10; smooth truncation h²·|f'''| ≈ 1e-12
    np.testing.assert_allclose(D[keep], fd[keep], rtol=0, atol=1e-8)


@pytest.mark.parametrize("c", KINK_VALUES)
def test_counterexamples_of_math_section_2(c):
    act = jrelu.ReLU(deriv_at_kink=c)
    zero = jnp.zeros(1)
    for a, b in [(1.0, 1.0), (2.0, 3.0), (0.5, -1.25)]:
        net = slope_network(a, b)
        assert jrelu.derivative(net, zero, activation=act)[0, 0] == c * (a + b)
        # the realization really has slope b left of 0 and a right of 0
        t = 2.0**-8
        assert jrelu.realize(net, jnp.array([t]), activation=act)[0] / t == a
        assert jrelu.realize(net, jnp.array([-t]), activation=act)[0] / -t == b
    id2, id3 = identity_counterexamples()
    assert jrelu.derivative(id2, zero, activation=act)[0, 0] == 2 * c
    assert jrelu.derivative(id3, zero, activation=act)[0, 0] == 2 * c**2
    xs = jnp.linspace(-2, 2, 9)[:, None]
    np.testing.assert_array_equal(jrelu.realize(id2, xs, activation=act), xs)
    np.testing.assert_array_equal(jrelu.realize(id3, xs, activation=act), xs)


def test_no_kink_value_makes_both_identities_right():
    for c in np.linspace(-2, 2, 161):
        id2, id3 = identity_counterexamples()
        act = jrelu.ReLU(deriv_at_kink=float(c))
        both = (jrelu.derivative(id2, jnp.zeros(1), activation=act)[0, 0] == 1.0
                and jrelu.derivative(id3, jnp.zeros(1), activation=act)[0, 0] == 1.0)
        assert not both


def test_bad_input_and_float32():
    net = helpers.np_init(0, (3, 8, 2), np.float32)  # generic (no init compilations)
    with pytest.raises(ValueError, match=r"x must have shape \(3,\)"):
        jrelu.derivative(net, jnp.ones((2, 4)))
    with pytest.raises(TypeError, match="^activation must be a jrelu.Activation"):
        jrelu.derivative(net, jnp.ones(3), activation=jax.nn.relu)
    with pytest.raises(TypeError):  # activation is keyword-only
        jrelu.value_and_derivative(net, jnp.ones(3), jrelu.ReLU())
    with pytest.raises(TypeError, match="^net must be a jrelu.Network"):
        jrelu.value_and_derivative(net.layers, jnp.ones(3))
    x = jnp.asarray(np.random.default_rng(1).normal(size=(5, 3)), jnp.float32)
    D = jrelu.derivative(net, x)
    assert D.dtype == jnp.float32
    J = jax.vmap(jax.jacrev(lambda y: jrelu.realize(net, y)))(x)
    np.testing.assert_allclose(D, J, rtol=1e-6, atol=1e-6)


def test_large_batches_are_blocked_with_identical_results():
    """Batches of ≥ 4096 points go through lax.map in blocks of 1024 (padded): every point's
    value and D^N equal the per-point ones exactly, planted kinks included."""
    rng = np.random.default_rng(3)
    x0 = dyadic_point(rng, 3)
    net = plant_kinks(dyadic_network(rng, (3, 6, 5, 2)), x0, rng)
    X = rng.integers(-12, 13, (5003, 3)) / 4
    X[17] = x0  # a point with planted kinks, inside the first block
    X[5001] = x0  # and in the padded last block
    y, D = jrelu.value_and_derivative(net, X.reshape(1, 5003, 3))
    assert y.shape == (1, 5003, 2) and D.shape == (1, 5003, 2, 3)
    per_point = jax.jit(jax.vmap(lambda t: jrelu.value_and_derivative(net, t)))(X[:, None, :])
    np.testing.assert_array_equal(y[0], per_point[0][:, 0])
    np.testing.assert_array_equal(D[0], per_point[1][:, 0])
    np.testing.assert_array_equal(D[0, 5001], _product_formula(net, x0, jrelu.ReLU()))
    np.testing.assert_array_equal(jrelu.derivative(net, X), D[0])


# -- non-finite inputs (issue 12): a NaN never becomes a finite derivative ------------------

# Every activation's Dϱ(NaN) = NaN (Smoothing too) is tested in test_activations.py; here
# the routes, for the activations of the bug report (zeros for kink 0, c for kink c).
NAN_ACTIVATIONS = [jrelu.ReLU(), jrelu.ReLU(deriv_at_kink=1.0),
                   jrelu.HardTanh(deriv_at_kink=0.5)]


@pytest.mark.parametrize("act", NAN_ACTIVATIONS, ids=lambda a: repr(a)[:28])
def test_nan_input_gives_nan_derivative_on_every_route(act):
    """The 0.2 bug: D^N at a NaN point was finite (zeros for ReLU, c for ReLU(c))."""
    rng = np.random.default_rng(12)
    net = dyadic_network(rng, (3, 5, 4, 2))
    X = np.stack([dyadic_point(rng, 3) for _ in range(4)])
    X[1, 2] = np.nan
    X = jnp.asarray(X)
    f = lambda p: jrelu.realize(net, p, activation=act)  # noqa: E731

    @jax.jit  # the traced routes in one compilation
    def traced(X):
        return {"jit": jrelu.derivative(net, X, activation=act),
                "jit vmap": jax.vmap(lambda p: jrelu.derivative(net, p, activation=act))(X),
                "jit vmap jacrev": jax.vmap(jax.jacrev(f))(X),
                "jit vmap jacfwd": jax.vmap(jax.jacfwd(f))(X)}

    routes = {
        "eager": jrelu.derivative(net, X, activation=act),
        "value_and_derivative": jrelu.value_and_derivative(net, X, activation=act)[1],
        **traced(X),
    }
    # the test's own indexing in NumPy (eager jnp gathers compile once per shape)
    Xn = np.asarray(X)
    for name, g in (("jacrev", jax.jacrev(f)), ("jacfwd", jax.jacfwd(f))):  # eager, one point
        assert bool(np.all(np.isnan(np.asarray(g(jnp.asarray(Xn[1])))))), name
    clean = jrelu.derivative(net, jnp.asarray(Xn[[0, 2, 3]]), activation=act)
    for name, J in routes.items():
        J = np.asarray(J)
        assert bool(np.all(np.isnan(J[1]))), name
        if act.is_smooth:  # transcendental slopes: the routes round differently
            np.testing.assert_allclose(J[[0, 2, 3]], clean, rtol=1e-13, atol=1e-15,
                                       err_msg=name)
        else:  # dyadic data: every route is exact
            np.testing.assert_array_equal(J[[0, 2, 3]], clean, err_msg=name)
    value = np.asarray(jrelu.value_and_derivative(net, X, activation=act)[0])
    assert bool(np.all(np.isnan(value[1])))


def test_nan_input_blocked_batch_and_float32():
    """The blocked path (>= 4096 points, lax.map) and float32 propagate NaN alike."""
    rng = np.random.default_rng(3)
    net = dyadic_network(rng, (2, 4, 3, 1))
    X = jnp.asarray(rng.integers(-8, 9, (4100, 2)) / 4.0).at[4097, 0].set(jnp.nan)
    J = jrelu.derivative(net, X, activation=jrelu.ReLU(deriv_at_kink=1.0))
    bad = jnp.isnan(J).any(axis=(-2, -1))
    assert bad.tolist() == [i == 4097 for i in range(4100)]
    net32 = jax.tree.map(lambda a: a.astype(jnp.float32), net)
    J32 = jrelu.derivative(net32, jnp.array([[jnp.nan, 0.0]], jnp.float32))
    assert J32.dtype == jnp.float32 and bool(jnp.all(jnp.isnan(J32)))


def test_infinite_inputs_follow_ieee_arithmetic():
    """±inf: a pre-activation ±inf takes the slope of its unbounded piece; an undefined one
    (0·inf, inf − inf) is NaN. A network without hidden layers has D^N = A_1 everywhere."""
    net = slope_network(2.0, 3.0)  # hidden z = (x, -x): 2 relu(x) - 3 relu(-x)
    X = jnp.array([[jnp.inf], [-jnp.inf]])
    for J in (jrelu.derivative(net, X), jax.jit(jrelu.derivative)(net, X),
              jax.vmap(jax.jacrev(lambda p: jrelu.realize(net, p)))(X)):
        assert J[:, 0, 0].tolist() == [2.0, 3.0]
    zero_weight = jrelu.Network([(jnp.array([[1.0, 0.0]]), jnp.zeros(1)),
                                 (jnp.array([[1.0]]), jnp.zeros(1))])
    J = jrelu.derivative(zero_weight, jnp.array([jnp.inf, 1.0]))  # z = inf + 0·1, fine
    assert J.tolist() == [[1.0, 0.0]]
    J = jrelu.derivative(zero_weight, jnp.array([1.0, jnp.inf]))  # z = 1 + 0·inf = NaN
    assert bool(jnp.all(jnp.isnan(J)))
    affine = jrelu.Network([(jnp.array([[1.0, -2.0]]), jnp.array([0.5]))])
    for x in (jnp.array([jnp.nan, 0.0]), jnp.array([jnp.inf, 0.0])):
        assert jrelu.derivative(affine, x).tolist() == [[1.0, -2.0]]
        assert jax.jacrev(lambda p: jrelu.realize(affine, p))(x).tolist() == [[1.0, -2.0]]


def test_nan_directional_derivative():
    """Eagerly a non-finite x or v is a ValueError; under jit a NaN in x or v (also with
    v = 0, or dz = 0 at a kink) gives NaN, never 0."""
    net = slope_network(2.0, 3.0)
    with pytest.raises(ValueError, match="^x has a non-finite entry nan"):
        jrelu.directional_derivative(net, jnp.array([jnp.nan]), jnp.ones(1))
    with pytest.raises(ValueError, match="^v has a non-finite entry inf"):
        jrelu.directional_derivative(net, jnp.zeros(1), jnp.array([jnp.inf]))
    dd = jax.jit(jrelu.directional_derivative, static_argnames="activation")
    X = jnp.array([[jnp.nan], [0.0], [0.0], [1.0]])
    V = jnp.array([[0.0], [jnp.nan], [0.0], [1.0]])
    for act in (jrelu.ReLU(), jrelu.Abs(), jrelu.HardTanh(), jrelu.Tanh()):
        out = dd(net, X, V, activation=act)
        assert jnp.isnan(out[:, 0]).tolist() == [True, True, False, False], act
        assert float(out[2, 0]) == 0.0
    out = jax.vmap(lambda x, v: jrelu.directional_derivative(net, x, v))(X, V)
    assert jnp.isnan(out[:, 0]).tolist() == [True, True, False, False]


def test_nan_lexicographic_and_limiting():
    """lexicographic_jacobian/pattern: eager ValueError; under jit NaN x → NaN J and NaN
    slopes, a non-finite basis → NaN at that point only (at a kink or not);
    limiting_jacobians (eager only): ValueError."""
    net = slope_network(2.0, 3.0)
    with pytest.raises(ValueError, match="^x has a non-finite entry"):
        jrelu.lexicographic_jacobian(net, jnp.array([jnp.nan]))
    with pytest.raises(ValueError, match="^basis has a non-finite entry"):
        jrelu.lexicographic_jacobian(net, jnp.zeros(1), basis=jnp.array([[jnp.nan]]))
    with pytest.raises(ValueError, match="^x has a non-finite entry"):
        jrelu.limiting_jacobians(net, jnp.array([jnp.inf]), key=jax.random.key(0))
    lex = jax.jit(jrelu.lexicographic_jacobian, static_argnames="activation")
    pat = jax.jit(jrelu.lexicographic_pattern, static_argnames="activation")
    for X in (jnp.array([[jnp.nan], [1.0]]), jnp.array([[jnp.nan], [0.0]])):  # no kink / kink
        J = lex(net, X)
        assert jnp.isnan(J[:, 0, 0]).tolist() == [True, False]
        assert float(J[1, 0, 0]) == 2.0
        s, = pat(net, X)
        assert bool(jnp.all(jnp.isnan(s[0]))) and not bool(jnp.any(jnp.isnan(s[1])))
    B = jnp.array([[[1.0]], [[jnp.nan]], [[-1.0]], [[jnp.inf]]])
    for X in (jnp.zeros((4, 1)), jnp.ones((4, 1))):  # at the kink, and off it
        J = lex(net, X, basis=B)
        assert jnp.isnan(J[:, 0, 0]).tolist() == [False, True, False, True]
        s, = pat(net, X, basis=B)
        assert jnp.isnan(s).all(axis=-1).tolist() == [False, True, False, True]
    assert lex(net, jnp.zeros((4, 1)), basis=B)[jnp.array([0, 2]), 0, 0].tolist() == [2.0, 3.0]


def test_wrong_types_name_the_argument():
    """Issue 12: strings, lists, None and jax.nn.relu where a Network, an activation or an
    array is expected give a TypeError that names the argument."""
    net = helpers.np_init(0, (2, 3, 1))
    x = jnp.zeros(2)
    from jrelu.derivative import lexicographic_pattern
    calls = {
        "derivative": lambda **k: jrelu.derivative(k.get("net", net), k.get("x", x),
                                                   activation=k.get("act", jrelu.ReLU())),
        "value_and_derivative": lambda **k: jrelu.value_and_derivative(
            k.get("net", net), k.get("x", x), activation=k.get("act", jrelu.ReLU())),
        "kink_report": lambda **k: jrelu.kink_report(k.get("net", net), k.get("x", x),
                                                     activation=k.get("act", jrelu.ReLU())),
        "directional_derivative": lambda **k: jrelu.directional_derivative(
            k.get("net", net), k.get("x", x), x, activation=k.get("act", jrelu.ReLU())),
        "lexicographic_jacobian": lambda **k: jrelu.lexicographic_jacobian(
            k.get("net", net), k.get("x", x), activation=k.get("act", jrelu.ReLU())),
        "lexicographic_pattern": lambda **k: lexicographic_pattern(
            k.get("net", net), k.get("x", x), activation=k.get("act", jrelu.ReLU())),
        "limiting_jacobians": lambda **k: jrelu.limiting_jacobians(
            k.get("net", net), k.get("x", x), key=jax.random.key(0),
            activation=k.get("act", jrelu.ReLU())),
    }
    for call in calls.values():
        for bad in ("net", [1, 2], None, net.layers, {"a": 1}):
            with pytest.raises(TypeError, match="^net must be a jrelu.Network"):
                call(net=bad)
        for bad in (jax.nn.relu, "relu", jrelu.ReLU, None):
            with pytest.raises(TypeError, match="^activation must be a jrelu.Activation"):
                call(act=bad)
        for bad in ("ab", None, {"a": 1}, [True, False], jnp.array([1j, 0j]), ["a", "b"]):
            with pytest.raises(TypeError, match="^x must be a"):
                call(x=bad)
    with pytest.raises(TypeError, match="^v must be a real array"):
        jrelu.directional_derivative(net, x, "ab")
    with pytest.raises(TypeError, match="^basis must be a"):
        jrelu.lexicographic_jacobian(net, x, basis=[["a", "b"], ["c", "d"]])
