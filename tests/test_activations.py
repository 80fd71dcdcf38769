"""Activations: one chosen Dϱ under every JAX transform; one-sided and second derivatives."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jrelu

PIECEWISE_LINEAR = [
    jrelu.ReLU(kink=0.0), jrelu.ReLU(kink=0.5), jrelu.ReLU(kink=1.0),
    jrelu.LeakyReLU(negative_slope=0.25), jrelu.LeakyReLU(negative_slope=-0.5, kink=0.75),
    jrelu.Abs(), jrelu.Abs(kink=-1.0), jrelu.HardTanh(), jrelu.HardTanh(kink=0.5),
]
SMOOTH = [jrelu.softplus, jrelu.tanh]
ALL = PIECEWISE_LINEAR + SMOOTH

# z values away from kinks (dyadic), and the kinks themselves
AWAY = np.array([-2.5, -1.25, -0.5, -0.125, 0.125, 0.5, 1.25, 2.5])


def _transforms(act):
    """The scalar derivative of ``act`` at z by every route JAX offers."""
    f = lambda z: act(z)
    return {
        "grad": jax.grad(f),
        "jit(grad)": jax.jit(jax.grad(f)),
        "jacfwd": jax.jacfwd(f),
        "jacrev": jax.jacrev(f),
        "jvp": lambda z: jax.jvp(f, (z,), (jnp.ones_like(z),))[1],
        "vjp": lambda z: jax.vjp(f, z)[1](jnp.ones_like(z))[0],
        "vmap(grad)": lambda z: jax.vmap(jax.grad(f))(z[None])[0],
    }


@pytest.mark.parametrize("act", ALL, ids=repr)
def test_every_transform_gives_the_chosen_derivative_at_kinks_and_away(act):
    points = np.concatenate([AWAY, np.array(act.kinks)])
    for z in points:
        z = jnp.float64(z)
        want = act.deriv(z)
        for name, d in _transforms(act).items():
            if act.is_smooth:  # XLA may compile tanh/sigmoid differently under jit: 1-2 ulp
                np.testing.assert_allclose(d(z), want, rtol=4e-16 * 8, err_msg=name)
            else:  # piecewise constant Dϱ: bit-for-bit equal, kinks included
                assert d(z) == want, (name, float(z), float(d(z)), float(want))


@pytest.mark.parametrize("act", PIECEWISE_LINEAR, ids=repr)
def test_chosen_value_at_kink_and_one_sided_derivatives(act):
    t = 2.0**-10  # dyadic step: the difference quotients below are exact
    for k in act.kinks:
        k = jnp.float64(k)
        assert act.deriv(k) == act.kink
        right = (act.value(k + t) - act.value(k)) / t
        left = (act.value(k) - act.value(k - t)) / t
        assert act.right_deriv(k) == right and act.left_deriv(k) == left
        assert left != right  # a genuine kink
    for z in AWAY:
        z = jnp.float64(z)
        if any(abs(z - k) <= t for k in act.kinks):
            continue
        quotient = (act.value(z + t) - act.value(z - t)) / (2 * t)
        assert act.deriv(z) == quotient == act.left_deriv(z) == act.right_deriv(z)


@pytest.mark.parametrize("act", SMOOTH, ids=repr)
def test_smooth_first_derivative_matches_central_differences(act):
    h = 1e-5
    for z in AWAY:
        fd = (act(z + h) - act(z - h)) / (2 * h)
        np.testing.assert_allclose(act.deriv(jnp.float64(z)), fd, rtol=0, atol=1e-9)


def test_smooth_second_derivatives_under_hessian():
    z = jnp.asarray(AWAY)
    s = jax.nn.sigmoid(z)
    hess_softplus = jax.vmap(jax.hessian(jrelu.softplus))(z)
    np.testing.assert_allclose(hess_softplus, s * (1 - s), rtol=1e-13)
    hess_tanh = jax.vmap(jax.hessian(jrelu.tanh))(z)
    np.testing.assert_allclose(hess_tanh, -2 * jnp.tanh(z) * (1 - jnp.tanh(z) ** 2), rtol=1e-13)
    # and through a network: jax.hessian of a smooth-activation realization vs FD of its gradient
    net = jrelu.init(jax.random.key(0), (3, 4, 1))
    f = lambda x: jrelu.realize(net, x, jrelu.tanh)[0]
    x = jnp.array([0.3, -0.2, 0.7])
    H = jax.hessian(f)(x)
    h = 1e-5
    g = jax.grad(f)
    fd = jnp.stack([(g(x + h * e) - g(x - h * e)) / (2 * h) for e in jnp.eye(3)])
    np.testing.assert_allclose(H, fd, atol=1e-9)


@pytest.mark.parametrize("act", PIECEWISE_LINEAR, ids=repr)
def test_piecewise_linear_hessian_is_zero_away_from_kinks(act):
    for z in AWAY:
        if any(abs(z - k) < 1e-3 for k in act.kinks):
            continue
        assert jax.hessian(act)(jnp.float64(z)) == 0.0


def test_hashable_equal_and_static_jit_argument():
    assert jrelu.ReLU(kink=0.5) == jrelu.ReLU(kink=0.5)
    assert hash(jrelu.ReLU(kink=0.5)) == hash(jrelu.ReLU(0.5))
    assert jrelu.ReLU(kink=0.5) != jrelu.ReLU(kink=0.0)
    assert jrelu.LeakyReLU(0.25) == jrelu.LeakyReLU(0.25, kink=0.25)
    assert len({jrelu.relu, jrelu.ReLU(), jrelu.ReLU(kink=0)}) == 1
    f = jax.jit(lambda z, act: jax.grad(act)(z), static_argnums=1)
    assert f(0.0, jrelu.ReLU(kink=0.5)) == 0.5
    assert f(0.0, jrelu.ReLU(kink=1.0)) == 1.0


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "x", None])
def test_kink_value_must_be_finite(bad):
    with pytest.raises(ValueError, match="kink value"):
        jrelu.ReLU(kink=bad)
    with pytest.raises(ValueError, match="kink value"):
        jrelu.Abs(kink=bad)


def test_at_kink_mask():
    z = jnp.array([-1.0, -0.5, 0.0, 2.0**-30, 1.0])
    np.testing.assert_array_equal(jrelu.relu.at_kink(z), [False, False, True, False, False])
    np.testing.assert_array_equal(jrelu.relu.at_kink(z, tol=1e-6), [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(jrelu.hard_tanh.at_kink(z), [True, False, False, False, True])
    assert not jrelu.softplus.at_kink(jnp.zeros(3)).any()


def test_matches_jax_nn_relu_convention_and_fixes_jnp_maximum():
    """MATH.md §2 fact 4: jnp.maximum splits ties 0.5/0.5 and jnp.abs gives 1; jrelu fixes one
    value per activation."""
    assert jax.grad(jax.nn.relu)(0.0) == 0.0 == jax.grad(jrelu.relu)(0.0)
    assert jax.grad(lambda z: jnp.maximum(z, 0.0))(0.0) == 0.5
    assert jax.grad(jnp.abs)(0.0) == 1.0
    assert jax.grad(jrelu.abs_activation)(0.0) == 0.0
    z = jnp.linspace(-2, 2, 17)
    np.testing.assert_array_equal(jrelu.relu(z), jax.nn.relu(z))
    np.testing.assert_allclose(jrelu.softplus(z), jax.nn.softplus(z), rtol=1e-15)


def test_float32_preserved():
    z = jnp.array([-1.0, 0.0, 2.0], jnp.float32)
    for act in ALL:
        assert act(z).dtype == jnp.float32
        assert jax.vmap(jax.grad(act))(z).dtype == jnp.float32
