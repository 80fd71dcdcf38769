"""Property-based tests (hypothesis) of the derivative routes on random dyadic networks.

Random architectures and weights that are multiples of 1/4 in [-2, 2], dyadic inputs, and
kinks planted at the evaluation point in every hidden layer (``tests/helpers.py``): float64
arithmetic on them is exact, so every identity is asserted bit for bit (``==``), kinks
included. Activations are piecewise linear with dyadic ``deriv_at_kink``.

Reproducible: ``derandomize=True`` (the examples are a fixed function of the test), no
example database, ``deadline=None``. Compilation dominates the cost (every new architecture
and activation compiles anew), so the default tests draw architectures from a fixed palette
(depths 1 to 4, widths 1 to 5) with ``max_examples=6``; the ``slow`` soaks draw any
architecture, 100 examples each.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import dyadic_network, dyadic_point, plant_kinks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jrelu

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SETTINGS = settings(max_examples=6, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
SOAK = settings(SETTINGS, max_examples=100)

ACTIVATIONS = [
    jrelu.ReLU(), jrelu.ReLU(deriv_at_kink=0.5), jrelu.ReLU(deriv_at_kink=1.0),
    jrelu.ReLU(deriv_at_kink=-0.25), jrelu.LeakyReLU(negative_slope=0.25),
    jrelu.LeakyReLU(negative_slope=-0.5, deriv_at_kink=0.75), jrelu.Abs(),
    jrelu.Abs(deriv_at_kink=-1.0), jrelu.HardTanh(), jrelu.HardTanh(deriv_at_kink=0.5),
]

seeds = st.integers(0, 2**32 - 1)
any_activation = st.sampled_from(ACTIVATIONS)
# the default tests: one of each kind, with a deriv_at_kink that is not one-sided where
# possible (each activation is a static jit argument: fewer of them, fewer compilations)
activations = st.sampled_from([ACTIVATIONS[1], ACTIVATIONS[5], ACTIVATIONS[7],
                               ACTIVATIONS[9]])
any_architecture = st.lists(st.integers(1, 5), min_size=2, max_size=5).map(tuple)
PALETTE = [(1, 2, 1), (2, 3, 3, 1), (3, 4, 1, 2), (2, 5, 2, 3, 2), (4, 3)]
architectures = st.sampled_from(PALETTE)

# compiled once per architecture and activation (static)
jit_derivative = jax.jit(jrelu.derivative, static_argnames="activation")
jit_lex = jax.jit(jrelu.lexicographic_jacobian, static_argnames="activation")


def _planted(rng, widths, act, num_points=3):
    """A dyadic network with kinks planted at the first of ``num_points`` dyadic points; the
    others are random, and the last repeats the first (so a batch mixes both)."""
    net = dyadic_network(rng, widths)
    x = dyadic_point(rng, widths[0])
    net = plant_kinks(net, x, rng, activation=act)
    X = np.stack([x] + [dyadic_point(rng, widths[0]) for _ in range(num_points - 2)] + [x])
    return net, jnp.asarray(X)


def _same(a, b, what):
    """Equal values (exact); ``-0.0 == 0.0``."""
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=what)


def _jit_routes(net, X, act):
    """Every traced route, in one compiled function (one compilation per example)."""
    f = lambda p: jrelu.realize(net, p, activation=act)  # noqa: E731
    return {
        "jit(derivative)": jrelu.derivative(net, X, activation=act),
        "jit(vmap(derivative))": jax.vmap(lambda p: jrelu.derivative(net, p, activation=act))(X),
        "jit(vmap(jacrev(realize)))": jax.vmap(jax.jacrev(f))(X),
        "jit(vmap(jacfwd(realize)))": jax.vmap(jax.jacfwd(f))(X),
    }


_jit_routes_compiled = jax.jit(_jit_routes, static_argnames="act")


def _check_routes(seed, widths, act):
    rng = np.random.default_rng(seed)
    net, X = _planted(rng, widths, act)
    D = jrelu.derivative(net, X, activation=act)
    assert D.shape == (X.shape[0], widths[-1], widths[0])
    value, D_vd = jrelu.value_and_derivative(net, X, activation=act)
    _same(value, jrelu.realize(net, X, activation=act), "value_and_derivative value")
    routes = dict(_jit_routes_compiled(net, X, act))
    routes["value_and_derivative"] = D_vd
    routes["jacrev(realize) at one point"] = jax.jacrev(
        lambda p: jrelu.realize(net, p, activation=act))(X[0])[None]
    routes["derivative at one point"] = jrelu.derivative(net, X[0], activation=act)[None]
    for name, J in routes.items():
        _same(J, D[:J.shape[0]], name)


@SETTINGS
@given(seed=seeds, widths=architectures, act=activations)
def test_every_derivative_route_agrees_bit_for_bit(seed, widths, act):
    """D^N by the product formula (eager, jit, vmap, value_and_derivative, one point or a
    batch) equals what jax.jacrev/jacfwd of realize compute (eagerly and under jit), at
    planted kinks and away."""
    _check_routes(seed, widths, act)


@pytest.mark.slow
@SOAK
@given(seed=seeds, widths=any_architecture, act=any_activation)
def test_every_derivative_route_agrees_bit_for_bit_soak(seed, widths, act):
    """As above, any architecture with depth 1 to 4 and widths 1 to 5."""
    _check_routes(seed, widths, act)


def _direction(data, n):
    """A nonzero dyadic direction: a random sign pattern times halves, one entry forced."""
    v = np.asarray(data.draw(st.lists(st.integers(-4, 4), min_size=n, max_size=n)),
                   np.float64) / 2
    if not v.any():
        v[data.draw(st.integers(0, n - 1))] = data.draw(st.sampled_from([-0.5, 0.5]))
    return v


def _check_directional(seed, widths, act, data):
    rng = np.random.default_rng(seed)
    net, X = _planted(rng, widths, act)
    n = widths[0]
    v = _direction(data, n)
    j = int(np.flatnonzero(v)[0])  # complete v to a basis (v, e_i for i != j)
    V = np.eye(n)
    V = np.concatenate([v[:, None], np.delete(V, j, axis=1)], axis=1)
    dd = jrelu.directional_derivative(net, X, jnp.asarray(v), activation=act)
    J_lex = jit_lex(net, X, basis=jnp.asarray(V), activation=act)
    _same(dd, J_lex @ v, "directional == J_lex(basis starting with v) v")
    off = ~np.asarray(jrelu.kink_report(net, X, activation=act).affected)
    D = jrelu.derivative(net, X, activation=act)
    _same(np.asarray(dd)[off], np.asarray(D @ v)[off], "directional == D^N v off kinks")
    # positively homogeneous: R Φ'(x; 2v) = 2 R Φ'(x; v)
    _same(jrelu.directional_derivative(net, X, jnp.asarray(2 * v), activation=act), 2 * dd,
          "homogeneity")


@SETTINGS
@given(seed=seeds, widths=architectures, act=activations, data=st.data())
def test_directional_derivative_is_the_lexicographic_jacobian_along_v(seed, widths, act,
                                                                      data):
    """R Φ'(x; v) = J_lex(x; basis (v, ...)) v exactly, at kinks too (where it differs
    from D^N(x) v in general); and = D^N(x) v where no hidden neuron is at a kink."""
    _check_directional(seed, widths, act, data)


@pytest.mark.slow
@SOAK
@given(seed=seeds, widths=any_architecture, act=any_activation, data=st.data())
def test_directional_derivative_is_the_lexicographic_jacobian_along_v_soak(seed, widths,
                                                                           act, data):
    """As above, any architecture."""
    _check_directional(seed, widths, act, data)


def _check_chain_rule(seed, inner_widths, outer_hidden, act):
    rng = np.random.default_rng(seed)
    inner = dyadic_network(rng, inner_widths)
    x = dyadic_point(rng, inner_widths[0])
    inner = plant_kinks(inner, x, rng, activation=act)
    y = np.asarray(jrelu.realize(inner, jnp.asarray(x), activation=act))
    outer = dyadic_network(rng, (inner_widths[-1], *outer_hidden, 2))
    outer = plant_kinks(outer, y, rng, activation=act)
    composed = jrelu.compose(outer, inner)
    X = jnp.asarray(x)
    _same(jrelu.realize(composed, X, activation=act),
          jrelu.realize(outer, jnp.asarray(y), activation=act), "R(Ψ∘Φ) = RΨ ∘ RΦ")
    lhs = jrelu.derivative(composed, X, activation=act)
    rhs = jrelu.derivative(outer, jnp.asarray(y), activation=act) @ \
        jrelu.derivative(inner, X, activation=act)
    _same(lhs, rhs, "chain rule")
    rep = jrelu.kink_report(composed, X, activation=act)
    # kinks planted in every hidden layer of both networks survive the composition
    assert all(int(c) >= 1 for c in rep.exact_counts)


@SETTINGS
@given(seed=seeds, inner_widths=architectures,
       outer_hidden=st.sampled_from([(1,), (3,), (2, 4)]), act=activations)
def test_chain_rule_holds_exactly_for_compositions(seed, inner_widths, outer_hidden, act):
    """D^N(Ψ ∘ Φ)(x) = D^N Ψ(R Φ(x)) D^N Φ(x) with kinks planted in both networks: in Φ at
    x, in Ψ at y = R Φ(x) (so the composition has kinks on both sides of the junction)."""
    _check_chain_rule(seed, inner_widths, outer_hidden, act)


@pytest.mark.slow
@SOAK
@given(seed=seeds, inner_widths=any_architecture,
       outer_hidden=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple),
       act=any_activation)
def test_chain_rule_holds_exactly_for_compositions_soak(seed, inner_widths, outer_hidden,
                                                        act):
    """As above, any architectures."""
    _check_chain_rule(seed, inner_widths, outer_hidden, act)


@SETTINGS
@given(seed=seeds, widths=architectures, act=activations, data=st.data())
def test_nan_anywhere_in_x_gives_nan_on_every_route(seed, widths, act, data):
    """A NaN entry of a point makes D^N at that point all NaN (a hidden layer) or A_1 (none),
    eagerly, under jit and through jax.jacrev; the other points of the batch are unaffected
    (all routes under NaN: tests/test_derivative.py)."""
    rng = np.random.default_rng(seed)
    net, X = _planted(rng, widths, act)
    i = data.draw(st.integers(0, X.shape[0] - 1))
    k = data.draw(st.integers(0, widths[0] - 1))
    Xn = X.at[i, k].set(jnp.nan)
    D = jrelu.derivative(net, X, activation=act)
    for name, J in (("derivative", jrelu.derivative(net, Xn, activation=act)),
                    ("jit", jit_derivative(net, Xn, activation=act)),
                    ("jacrev", jax.jacrev(lambda p: jrelu.realize(net, p, activation=act))(
                        Xn[i])[None])):
        if name == "jacrev":  # one point: the NaN one
            J = jnp.concatenate([D[:i], J, D[i + 1:]])
        if len(widths) > 2:
            assert bool(jnp.all(jnp.isnan(J[i]))), name
        else:
            _same(J[i], net.layers[0][0], name)
        others = np.arange(X.shape[0]) != i
        _same(np.asarray(J)[others], np.asarray(D)[others], name)
    rep = jrelu.kink_report(net, Xn, activation=act)
    assert bool(rep.nonfinite[i]) and bool(rep.may_differ[i])


# -- random invalid arguments: only TypeError/ValueError, naming the argument -----------------

_NOT_A_NETWORK = st.one_of(st.none(), st.text(max_size=5), st.booleans(), st.integers(),
                           st.lists(st.integers(), max_size=3),
                           st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))
_NOT_AN_ARRAY = st.one_of(st.none(), st.text(min_size=1, max_size=5),
                          st.lists(st.text(min_size=1, max_size=2), min_size=1, max_size=3),
                          st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
                          st.booleans().map(lambda b: np.array([b, b])),
                          st.just(np.array([1j, 2j])))
_BAD_SHAPE = st.lists(st.integers(1, 4), min_size=0, max_size=3).filter(
    lambda s: not s or s[-1] != 2).map(lambda s: np.zeros(s))

_NET = jrelu.Network([(jnp.array([[1.0, -1.0], [0.5, 0.25]]), jnp.zeros(2)),
                      (jnp.array([[1.0, 2.0]]), jnp.zeros(1))])
_X = jnp.array([0.5, -0.25])
_RELU = jrelu.ReLU()


def _calls():
    lex_pat = jrelu.lexicographic_pattern
    key = jax.random.key(0)
    return {
        "derivative": lambda net=_NET, x=_X, act=_RELU:
            jrelu.derivative(net, x, activation=act),
        "value_and_derivative": lambda net=_NET, x=_X, act=_RELU:
            jrelu.value_and_derivative(net, x, activation=act),
        "realize": lambda net=_NET, x=_X, act=_RELU:
            jrelu.realize(net, x, activation=act),
        "directional_derivative": lambda net=_NET, x=_X, act=_RELU:
            jrelu.directional_derivative(net, x, _X, activation=act),
        "lexicographic_jacobian": lambda net=_NET, x=_X, act=_RELU:
            jrelu.lexicographic_jacobian(net, x, activation=act),
        "lexicographic_pattern": lambda net=_NET, x=_X, act=_RELU:
            lex_pat(net, x, activation=act),
        "limiting_jacobians": lambda net=_NET, x=_X, act=_RELU:
            jrelu.limiting_jacobians(net, x, key=key, activation=act),
        "kink_report": lambda net=_NET, x=_X, act=_RELU:
            jrelu.kink_report(net, x, activation=act),
    }


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(which=st.sampled_from(sorted(_calls())), arg=st.sampled_from(["net", "x", "act"]),
       data=st.data())
def test_invalid_arguments_raise_type_or_value_error_naming_them(which, arg, data):
    """Only TypeError (a wrong type) or ValueError (a wrong shape), and the message starts
    with the argument's name; never AttributeError, IndexError or a JAX-internal error."""
    call = _calls()[which]
    if arg == "net":
        bad, expected, name = data.draw(_NOT_A_NETWORK), TypeError, "net"
    elif arg == "act":
        bad = data.draw(st.one_of(_NOT_A_NETWORK, st.just(jax.nn.relu), st.just(jrelu.ReLU)))
        expected, name = TypeError, "activation"
    elif data.draw(st.booleans()):
        bad, expected, name = data.draw(_NOT_AN_ARRAY), TypeError, "x"
    else:
        bad, expected, name = data.draw(_BAD_SHAPE), ValueError, "x"
    kwargs = {arg: bad}
    with pytest.raises(expected) as info:
        call(**kwargs)
    assert str(info.value).startswith(name), (which, arg, bad, str(info.value))
