"""The network derivative D^N: agreement of every route at planted kinks, the chain rule
everywhere, the a.e. gradient, and the counterexamples of Berner, Elbrächter, Grohs, Jentzen
(arXiv:1905.04992)."""

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


def _routes(net, act):
    f = lambda y: jrelu.realize(net, y, activation=act)
    der = jax.jit(jrelu.derivative, static_argnames="activation")
    return {
        "derivative": lambda y: jrelu.derivative(net, y, activation=act),
        "jit(derivative)": lambda y: der(net, y, activation=act),
        "jacrev": jax.jacrev(f),
        "jacfwd": jax.jacfwd(f),
        "jit(jacrev)": jax.jit(jax.jacrev(f)),
        "jit(jacfwd)": jax.jit(jax.jacfwd(f)),
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
            assert any(bool((z == 0).any()) for z in zs), "kinks were planted"
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
        D = jrelu.derivative(net, X, activation=act)
        assert D.shape == (3, 4, widths[-1], widths[0])
        f = lambda y, net=net: jrelu.realize(net, y, activation=act)
        flat = X.reshape(-1, widths[0])
        for name, batched in {
            "vmap(jacrev)": jax.vmap(jax.jacrev(f)),
            "vmap(jacfwd)": jax.vmap(jax.jacfwd(f)),
            "jit(vmap(jacrev))": jax.jit(jax.vmap(jax.jacrev(f))),
            "vmap(derivative)": jax.vmap(
                lambda y, net=net: jrelu.derivative(net, y, activation=act)),
        }.items():
            np.testing.assert_array_equal(batched(flat).reshape(D.shape), D, err_msg=name)
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
    key = jax.random.key(L)
    widths = (4,) + (6,) * (L - 1) + (2,)
    net = jrelu.init(key, widths)
    X = jax.random.normal(jax.random.key(100 + L), (20, 4))
    h = 1e-6
    zs = jrelu.preactivations(net, X, activation=act)[:-1]
    margin = jnp.stack([
        jnp.min(jnp.stack([jnp.abs(z - k) for k in act.kinks]), axis=0).min(axis=-1)
        for z in zs]).min(axis=0) if (act.kinks and zs) else jnp.full(20, jnp.inf)
    keep = margin > 1e-3  # a step of 1e-6 cannot cross a kink from here
    assert keep.sum() >= 15
    D = jrelu.derivative(net, X, activation=act)
    E = jnp.eye(4)
    fd = jnp.stack([(jrelu.realize(net, X + h * e, activation=act)
                     - jrelu.realize(net, X - h * e, activation=act))
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
    net = jrelu.init(jax.random.key(0), (3, 8, 2), dtype=jnp.float32)
    with pytest.raises(ValueError, match=r"input must have shape \(3,\)"):
        jrelu.derivative(net, jnp.ones((2, 4)))
    with pytest.raises(TypeError, match="^activation must be a jrelu.Activation"):
        jrelu.derivative(net, jnp.ones(3), activation=jax.nn.relu)
    with pytest.raises(TypeError):  # activation is keyword-only
        jrelu.value_and_derivative(net, jnp.ones(3), jrelu.ReLU())
    with pytest.raises(TypeError, match="^net must be a jrelu.Network"):
        jrelu.value_and_derivative(net.layers, jnp.ones(3))
    x = jax.random.normal(jax.random.key(1), (5, 3), jnp.float32)
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
