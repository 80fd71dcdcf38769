"""Networks as data: construction checks, realizations, calculus, sizes, flat parameters."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import dyadic_network

import jrelu


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _points(rng, d, n=16, denom=4):
    return rng.integers(-3 * denom, 3 * denom + 1, (n, d)) / denom


def _np_realize(net, x, act=lambda z: np.maximum(z, 0.0)):
    """Independent NumPy realization for cross-checks."""
    h = np.asarray(x, np.float64)
    for k, (A, b) in enumerate(net.layers):
        h = h @ np.asarray(A).T + np.asarray(b)
        if k < len(net.layers) - 1:
            h = act(h)
    return h


# -- construction and validation ----------------------------------------------


def test_shape_mismatch_names_layer_and_both_shapes():
    with pytest.raises(ValueError, match=r"layer 2: A_2 has shape \(4, 5\).*A_1 of shape \(3, 2\)"):
        jrelu.Network([(jnp.ones((3, 2)), jnp.ones(3)), (jnp.ones((4, 5)), jnp.ones(4))])


def test_bias_shape_and_matrix_checks():
    with pytest.raises(ValueError, match=r"layer 1: b_1 must have shape \(3,\)"):
        jrelu.Network([(jnp.ones((3, 2)), jnp.ones(2))])
    with pytest.raises(ValueError, match="layer 1: A_1 must be a matrix"):
        jrelu.Network([(jnp.ones(3), jnp.ones(3))])
    with pytest.raises(ValueError, match="expected a pair"):
        jrelu.Network([jnp.ones((3, 2))])


def test_empty_layer_list():
    with pytest.raises(ValueError, match="empty layer list"):
        jrelu.Network([])


def test_non_finite_weight_with_check():
    A = np.ones((2, 2))
    A[1, 0] = np.nan
    jrelu.Network([(A, np.zeros(2))])  # not checked by default (works under jit)
    with pytest.raises(ValueError,
                       match=r"layer 1: A_1 has a non-finite entry nan at index \(1, 0\)"):
        jrelu.Network([(A, np.zeros(2))], check=True)
    with pytest.raises(ValueError, match="layer 2: b_2 has a non-finite entry inf"):
        jrelu.Network([(np.ones((2, 2)), np.zeros(2)), (np.ones((1, 2)), [np.inf])], check=True)


def test_wrong_argument_types():
    net = jrelu.init(jax.random.key(0), (3, 4, 1))
    with pytest.raises(TypeError, match="^net must be a jrelu.Network"):
        jrelu.realize(net.layers, jnp.ones(3))
    with pytest.raises(TypeError, match="^activation must be a jrelu.Activation"):
        jrelu.realize(net, jnp.ones(3), activation=jax.nn.relu)
    with pytest.raises(TypeError):  # activation is keyword-only
        jrelu.realize(net, jnp.ones(3), jrelu.ReLU())
    with pytest.raises(TypeError, match="^nets\\[1\\] must be a jrelu.Network"):
        jrelu.parallel(net, net.layers)
    with pytest.raises(TypeError, match="^inner must be a jrelu.Network"):
        jrelu.compose(net, None)


def test_wrong_input_dimension():
    net = jrelu.init(jax.random.key(0), (3, 4, 1))
    with pytest.raises(ValueError,
                       match=r"x must have shape \(3,\) or \(\.\.\., 3\).*\(5, 2\)"):
        jrelu.realize(net, jnp.ones((5, 2)))
    with pytest.raises(ValueError, match="got shape \\(\\)"):
        jrelu.realize(net, 1.0)


def test_init_shapes_dtypes_determinism_and_errors():
    net = jrelu.init(jax.random.key(3), (5, 7, 2), dtype=jnp.float32)
    assert net.widths == (5, 7, 2)
    assert all(a.dtype == jnp.float32 for pair in net.layers for a in pair)
    assert jrelu.init(jax.random.key(3), (5, 7, 2)).dtype == jnp.float64  # x64 default
    chex.assert_trees_all_equal(net, jrelu.init(jax.random.key(3), (5, 7, 2), dtype=jnp.float32))
    for bad in [(3,), (3, 0, 1), (3, -1)]:
        with pytest.raises(ValueError, match="widths"):
            jrelu.init(jax.random.key(0), bad)
    for bad in [(3, 2.5, 1), (3, True, 1)]:  # not an integer: a wrong type
        with pytest.raises(TypeError, match="widths"):
            jrelu.init(jax.random.key(0), bad)
    with pytest.raises(TypeError, match="^key"):
        jrelu.init(0, (3, 1))
    with pytest.raises(TypeError):  # dtype is keyword-only
        jrelu.init(jax.random.key(0), (3, 1), jnp.float32)


def test_pytree_jit_and_vmap_over_networks(rng):
    net = dyadic_network(rng, (3, 5, 2))
    assert len(jax.tree.leaves(net)) == 4
    x = _points(rng, 3)
    out = jax.jit(jrelu.realize)(net, x)
    np.testing.assert_array_equal(out, _np_realize(net, x))
    stacked = jax.tree.map(lambda a: jnp.stack([a, 2 * a]), net)
    outs = jax.vmap(jrelu.realize, in_axes=(0, None))(stacked, x)
    np.testing.assert_array_equal(outs[0], _np_realize(net, x))
    doubled = jax.tree.map(lambda a: 2 * a, net)
    np.testing.assert_array_equal(outs[1], _np_realize(doubled, x))


def test_realize_batch_shapes_and_preactivations(rng):
    net = dyadic_network(rng, (3, 5, 4, 2))
    x = _points(rng, 3, n=12).reshape(3, 4, 3)
    out = jrelu.realize(net, x)
    chex.assert_shape(out, (3, 4, 2))
    np.testing.assert_array_equal(out, _np_realize(net, x))
    zs = jrelu.preactivations(net, x[0, 0])
    assert [z.shape for z in zs] == [(5,), (4,), (2,)]
    A1, b1 = net.layers[0]
    np.testing.assert_array_equal(zs[0], np.asarray(A1) @ x[0, 0] + np.asarray(b1))
    np.testing.assert_array_equal(zs[-1], jrelu.realize(net, x[0, 0]))
    # integer inputs are promoted to the network's float dtype
    assert jrelu.realize(net, jnp.ones(3, jnp.int32)).dtype == jnp.float64


# -- calculus: every operation realizes exactly the stated function ------------


def test_compose_realizes_composition_exactly(rng):
    inner = dyadic_network(rng, (3, 5, 4, 2))
    outer = dyadic_network(rng, (2, 6, 3))
    net = jrelu.compose(outer, inner)
    assert jrelu.depth(net) == jrelu.depth(inner) + jrelu.depth(outer) - 1
    x = _points(rng, 3)
    np.testing.assert_array_equal(jrelu.realize(net, x), _np_realize(outer, _np_realize(inner, x)))
    with pytest.raises(ValueError, match="cannot compose: the outer network takes N_0 = 2 .*"
                       "gives N_L = 3 outputs"):
        jrelu.compose(outer, outer)


@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("L", [1, 2, 3, 5])
def test_identity_network(rng, d, L):
    net = jrelu.identity(d, L)
    x = _points(rng, d)
    np.testing.assert_array_equal(jrelu.realize(net, x), x)
    assert jrelu.depth(net) == L
    assert jrelu.width(net) == (d if L == 1 else 2 * d)
    assert jrelu.connectivity(net) == (d if L == 1 else 2 * d * L)
    for act in (jrelu.ReLU(deriv_at_kink=0.5), jrelu.ReLU(deriv_at_kink=1.0)):
        np.testing.assert_array_equal(jrelu.realize(net, x, activation=act), x)


def test_identity_errors():
    with pytest.raises(ValueError, match="depth"):
        jrelu.identity(2, 0)
    with pytest.raises(ValueError, match="dimension"):
        jrelu.identity(0, 2)
    with pytest.raises(TypeError, match="depth"):
        jrelu.identity(2, 1.5)


def test_sparse_compose_realizes_and_sizes_add(rng):
    inner = dyadic_network(rng, (3, 5, 4, 2))
    outer = dyadic_network(rng, (2, 6, 3))
    net = jrelu.sparse_compose(outer, inner)
    x = _points(rng, 3)
    np.testing.assert_array_equal(jrelu.realize(net, x), _np_realize(outer, _np_realize(inner, x)))
    assert jrelu.depth(net) == jrelu.depth(inner) + jrelu.depth(outer)
    assert jrelu.width(net) == max(jrelu.width(inner), jrelu.width(outer), 2 * inner.output_dim)
    # (I;-I)A_L doubles the last inner layer, (Ã_1)(I,-I) doubles Ã_1: sizes add, no fill-in.
    A_L, b_L = inner.layers[-1]
    extra = np.count_nonzero(A_L) + np.count_nonzero(b_L) + np.count_nonzero(outer.layers[0][0])
    assert jrelu.connectivity(net) == jrelu.connectivity(inner) + jrelu.connectivity(outer) + extra
    with pytest.raises(ValueError, match="cannot compose"):
        jrelu.sparse_compose(inner, inner)


def test_parallel_same_input_with_depth_padding(rng):
    a = dyadic_network(rng, (3, 5, 4, 2))
    b = dyadic_network(rng, (3, 2))
    c = dyadic_network(rng, (3, 6, 1))
    net = jrelu.parallel(a, b, c)
    x = _points(rng, 3)
    expected = np.concatenate([_np_realize(n, x) for n in (a, b, c)], axis=-1)
    np.testing.assert_array_equal(jrelu.realize(net, x), expected)
    assert net.widths == (3, 5 + 2 * 2 + 6, 4 + 2 * 2 + 2 * 1, 2 + 2 + 1)
    with pytest.raises(ValueError, match="equal input dimension"):
        jrelu.parallel(a, dyadic_network(rng, (2, 1)))
    with pytest.raises(ValueError, match="at least one network"):
        jrelu.parallel()


def test_parallel_full_separate_inputs(rng):
    a = dyadic_network(rng, (3, 5, 2))
    b = dyadic_network(rng, (2, 4, 3, 1))
    net = jrelu.parallel_full(a, b)
    assert net.input_dim == 5 and net.output_dim == 3
    x = _points(rng, 5)
    expected = np.concatenate([_np_realize(a, x[:, :3]), _np_realize(b, x[:, 3:])], axis=-1)
    np.testing.assert_array_equal(jrelu.realize(net, x), expected)


def test_linear_combination(rng):
    nets = [dyadic_network(rng, (3, 5, 2)), dyadic_network(rng, (3, 4, 4, 2))]
    coeffs = [0.75, -2.0]
    net = jrelu.linear_combination(coeffs, nets)
    x = _points(rng, 3)
    expected = coeffs[0] * _np_realize(nets[0], x) + coeffs[1] * _np_realize(nets[1], x)
    np.testing.assert_array_equal(jrelu.realize(net, x), expected)
    with pytest.raises(ValueError, match="^coeffs must have one entry per network"):
        jrelu.linear_combination([1.0], nets)
    with pytest.raises(ValueError, match="equal output dimension"):
        jrelu.linear_combination([1.0, 1.0], [nets[0], dyadic_network(rng, (3, 1))])


# -- sizes and flat parameters -------------------------------------------------


def test_sizes_exact():
    A1 = np.array([[1.0, 0.0], [0.0, 0.0], [2.0, -1.0]])
    b1 = np.array([0.0, 1.0, 0.0])
    A2 = np.array([[0.0, 3.0, 0.0]])
    net = jrelu.Network([(A1, b1), (A2, np.zeros(1))])
    assert jrelu.depth(net) == 2
    assert jrelu.width(net) == 3
    assert jrelu.num_params(net) == 3 * (2 + 1) + 1 * (3 + 1)
    assert jrelu.connectivity(net) == 3 + 1 + 1 + 0


def test_flatten_layout_and_inverse(rng):
    net = dyadic_network(rng, (3, 5, 4, 2))
    theta = jrelu.flatten(net)
    assert theta.shape == (jrelu.num_params(net),)
    A1, b1 = net.layers[0]
    np.testing.assert_array_equal(theta[:15], np.asarray(A1).reshape(-1))  # row-major
    np.testing.assert_array_equal(theta[15:20], b1)
    back = jrelu.unflatten(theta, net.widths)
    chex.assert_trees_all_equal(back, net)
    np.testing.assert_array_equal(jrelu.flatten(back), theta)
    np.testing.assert_array_equal(jax.jit(jrelu.flatten)(net), theta)
    with pytest.raises(ValueError, match=r"must have shape \(54,\), got \(53,\)"):
        jrelu.unflatten(theta[:-1], net.widths)


def test_wrong_types_name_the_argument():
    """Issue 12: a TypeError naming the argument, never a bare AttributeError/IndexError or
    a JAX-internal message (widths, nets, coeffs, theta, layers, check, x)."""
    net = jrelu.init(jax.random.key(0), (2, 3, 1))
    for bad in (3, None, "23"):
        with pytest.raises(TypeError, match="^widths"):
            jrelu.init(jax.random.key(0), bad)
        with pytest.raises(TypeError, match="^widths"):
            jrelu.unflatten(jnp.zeros(13), bad)
    with pytest.raises(ValueError, match="^widths"):
        jrelu.unflatten(jnp.zeros(0), (2,))
    for bad in ("ab", None, [True]):
        with pytest.raises(TypeError, match="^theta"):
            jrelu.unflatten(bad, (2, 3, 1))
        with pytest.raises(TypeError, match="^coeffs"):
            jrelu.linear_combination(bad, [net])
    for bad in (None, net, "ab", 3):
        with pytest.raises(TypeError, match="^nets"):
            jrelu.linear_combination([1.0], bad)
    with pytest.raises(ValueError, match="^nets must hold at least one"):
        jrelu.linear_combination([], [])
    with pytest.raises(ValueError, match="^coeffs has a non-finite entry nan"):
        jrelu.linear_combination([np.nan], [net])
    for bad in (None, 3, "ab"):
        with pytest.raises(TypeError, match="^layers"):
            jrelu.Network(bad)
    with pytest.raises(TypeError, match="^layers: layer 1: A_1 must be a"):
        jrelu.Network([("ab", "cd")])
    with pytest.raises(TypeError, match="^check must be a bool"):
        jrelu.Network(net.layers, check="yes")
    for bad in ("ab", None, [True, False], jnp.array([1j, 0j])):
        with pytest.raises(TypeError, match="^x must be a"):
            jrelu.realize(net, bad)
        with pytest.raises(TypeError, match="^x must be a"):
            jrelu.preactivations(net, bad)
    for fn in (jrelu.compose, jrelu.sparse_compose):
        with pytest.raises(TypeError, match="^outer must be a jrelu.Network"):
            fn("net", net)
        with pytest.raises(TypeError, match="^inner must be a jrelu.Network"):
            fn(net, [net])
