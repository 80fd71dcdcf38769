"""jrelu.ops: one documented tie convention under every transform (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jrelu
from jrelu import Network, ops

TRANSFORMS = {
    "grad": lambda f: jax.grad(f, argnums=(0, 1)),
    "jacfwd": lambda f: jax.jacfwd(f, argnums=(0, 1)),
    "jacrev": lambda f: jax.jacrev(f, argnums=(0, 1)),
    "jit_grad": lambda f: jax.jit(jax.grad(f, argnums=(0, 1))),
    "grad_jit": lambda f: jax.grad(jax.jit(f), argnums=(0, 1)),
}

PAIRS = [(0.5, 0.5), (0.0, 0.0), (-1.25, -1.25), (0.75, -0.25), (-0.25, 0.75)]


def _d(a, b):
    """Expected (∂_a, ∂_b) of maximum(a, b): ties go to the first argument."""
    return (1.0, 0.0) if a >= b else (0.0, 1.0)


def _dmin(a, b):
    return (1.0, 0.0) if a <= b else (0.0, 1.0)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_maximum_minimum_ties_first_argument(name):
    T = TRANSFORMS[name]
    for a, b in PAIRS:
        a_, b_ = jnp.float64(a), jnp.float64(b)
        g = T(ops.maximum)(a_, b_)
        assert tuple(float(v) for v in g) == _d(a, b), (name, a, b, g)
        g = T(ops.minimum)(a_, b_)
        assert tuple(float(v) for v in g) == _dmin(a, b), (name, a, b, g)
    # the contrast the convention fixes (jnp.maximum's 0.5: the canary in test_activations)
    assert jax.grad(ops.maximum)(0.5, 0.5) == 1.0


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_abs_and_clip(name):
    T = TRANSFORMS[name]
    g_abs = T(lambda x, _: ops.abs(x))
    for x, expected in [(0.0, 0.0), (0.5, 1.0), (-0.5, -1.0)]:
        assert float(g_abs(jnp.float64(x), 0.0)[0]) == expected
    assert jax.grad(jnp.abs)(0.0) == 1.0  # jnp's choice, which ops.abs replaces by sign(0) = 0
    clip = lambda x, lo: ops.clip(x, lo=lo, hi=1.0)
    g = T(clip)
    # at x = lo and x = hi: derivative 1 in x, 0 in the bound; strictly outside: 0 and 1
    assert tuple(float(v) for v in g(jnp.float64(-0.5), jnp.float64(-0.5))) == (1.0, 0.0)
    assert tuple(float(v) for v in g(jnp.float64(1.0), jnp.float64(-0.5))) == (1.0, 0.0)
    assert tuple(float(v) for v in g(jnp.float64(-0.75), jnp.float64(-0.5))) == (0.0, 1.0)
    assert tuple(float(v) for v in g(jnp.float64(1.5), jnp.float64(-0.5))) == (0.0, 0.0)
    assert tuple(float(v) for v in g(jnp.float64(0.25), jnp.float64(-0.5))) == (1.0, 0.0)


def test_values_equal_jnp_exactly():
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.normal(size=(50,)))
    b = jnp.asarray(rng.normal(size=(50,)))
    b = b.at[:10].set(a[:10])
    np.testing.assert_array_equal(np.asarray(ops.maximum(a, b)), np.asarray(jnp.maximum(a, b)))
    np.testing.assert_array_equal(np.asarray(ops.minimum(a, b)), np.asarray(jnp.minimum(a, b)))
    np.testing.assert_array_equal(np.asarray(ops.abs(a)), np.asarray(jnp.abs(a)))
    np.testing.assert_array_equal(np.asarray(ops.clip(a, lo=-0.5, hi=0.5)),
                                  np.asarray(jnp.clip(a, -0.5, 0.5)))
    np.testing.assert_array_equal(np.asarray(ops.clip(a, hi=0.25)),
                                  np.asarray(jnp.minimum(a, 0.25)))
    np.testing.assert_array_equal(np.asarray(ops.clip(a, lo=0.5, hi=-0.5)),  # lo > hi: like jnp
                                  np.asarray(jnp.clip(a, 0.5, -0.5)))
    # broadcasting, dtype promotion, integers promoted to float
    assert ops.maximum(jnp.zeros((3, 1)), jnp.ones(4)).shape == (3, 4)
    assert ops.maximum(jnp.zeros(2, jnp.float32), 1.0).dtype == jnp.float32
    assert jnp.issubdtype(ops.maximum(jnp.arange(3), 1).dtype, jnp.floating)
    with pytest.raises(ValueError, match="at least one"):
        ops.clip(a)
    with pytest.raises(TypeError):  # the bounds are keyword-only
        ops.clip(a, 0.0, 1.0)


def test_batched_jacobians_under_vmap_and_jit():
    a = jnp.array([0.0, 1.0, -1.0, 0.5])
    b = jnp.array([0.0, 0.5, -1.0, 1.0])
    for f in (jax.jacfwd, jax.jacrev):
        Ja, Jb = jax.jit(f(ops.maximum, argnums=(0, 1)))(a, b)
        np.testing.assert_array_equal(np.diag(Ja), [1.0, 1.0, 1.0, 0.0])
        np.testing.assert_array_equal(np.diag(Jb), [0.0, 0.0, 0.0, 1.0])
    ga = jax.vmap(jax.grad(ops.maximum))(a, b)
    np.testing.assert_array_equal(np.asarray(ga), [1.0, 1.0, 1.0, 0.0])
    # second derivatives vanish (piecewise linear)
    assert float(jax.hessian(lambda x: ops.maximum(x, 0.0))(0.0)) == 0.0


def test_derivative_is_dn_of_the_relu_expression():
    """The convention is D^N (jrelu.ReLU(), c = 0) of an explicit ReLU network on (a, b):
    max(a, b) = (ϱ(a + M) − M) + ϱ(b − a), min(a, b) = (ϱ(a + M) − M) − ϱ(a − b)
    (exact for a > −M), |x| = ϱ(x) + ϱ(−x)."""
    M = 8.0
    net_max = Network([(jnp.array([[1.0, 0.0], [-1.0, 1.0]]), jnp.array([M, 0.0])),
                       (jnp.array([[1.0, 1.0]]), jnp.array([-M]))])
    net_min = Network([(jnp.array([[1.0, 0.0], [1.0, -1.0]]), jnp.array([M, 0.0])),
                       (jnp.array([[1.0, -1.0]]), jnp.array([-M]))])
    net_abs = Network([(jnp.array([[1.0], [-1.0]]), jnp.zeros(2)),
                       (jnp.array([[1.0, 1.0]]), jnp.zeros(1))])
    grid = np.arange(-2.0, 2.01, 0.5)
    P = np.array([(a, b) for a in grid for b in grid])  # includes every tie a = b
    a, b = jnp.asarray(P[:, 0]), jnp.asarray(P[:, 1])
    for net, op in ((net_max, ops.maximum), (net_min, ops.minimum)):
        np.testing.assert_array_equal(np.asarray(jrelu.realize(net, jnp.asarray(P)))[:, 0],
                                      np.asarray(op(a, b)))
        dn = np.asarray(jrelu.derivative(net, jnp.asarray(P)))[:, 0, :]
        ga, gb = jax.vmap(jax.grad(op, argnums=(0, 1)))(a, b)
        np.testing.assert_array_equal(np.stack([ga, gb], axis=1), dn)
    dn = np.asarray(jrelu.derivative(net_abs, jnp.asarray(grid)[:, None]))[:, 0, 0]
    np.testing.assert_array_equal(np.asarray(jax.vmap(jax.grad(ops.abs))(jnp.asarray(grid))), dn)
