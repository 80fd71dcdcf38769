"""Activations: one chosen Dϱ under every JAX transform; one-sided and second derivatives."""

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jrelu

PIECEWISE_LINEAR = [
    jrelu.ReLU(deriv_at_kink=0.0), jrelu.ReLU(deriv_at_kink=0.5), jrelu.ReLU(deriv_at_kink=1.0),
    jrelu.LeakyReLU(negative_slope=0.25),
    jrelu.LeakyReLU(negative_slope=-0.5, deriv_at_kink=0.75),
    jrelu.Abs(), jrelu.Abs(deriv_at_kink=-1.0), jrelu.HardTanh(),
    jrelu.HardTanh(deriv_at_kink=0.5),
]
SMOOTH = [jrelu.Softplus(), jrelu.Tanh()]
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
        assert act.deriv(k) == act.deriv_at_kink
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


@jax.jit
def _second_derivatives(z, net, x):
    """The hessians of the smooth activations at z and of a Tanh network at x, the closed
    forms of the first two, and central differences of the network's gradient (one program)."""
    s = jax.nn.sigmoid(z)
    hess_softplus = jax.vmap(jax.hessian(jrelu.Softplus()))(z)
    hess_tanh = jax.vmap(jax.hessian(jrelu.Tanh()))(z)
    f = lambda x: jrelu.realize(net, x, activation=jrelu.Tanh())[0]  # noqa: E731
    h = 1e-5
    g = jax.grad(f)
    fd = jnp.stack([(g(x + h * e) - g(x - h * e)) / (2 * h) for e in jnp.eye(3)])
    return (hess_softplus, s * (1 - s), hess_tanh, -2 * jnp.tanh(z) * (1 - jnp.tanh(z) ** 2),
            jax.hessian(f)(x), fd)


def test_smooth_second_derivatives_under_hessian():
    z = jnp.asarray(AWAY)
    # and through a network: jax.hessian of a smooth-activation realization vs FD of its gradient
    net = helpers.np_init(0, (3, 4, 1))  # any network: NumPy-drawn
    x = jnp.array([0.3, -0.2, 0.7])
    hess_softplus, want_softplus, hess_tanh, want_tanh, H, fd = _second_derivatives(z, net, x)
    np.testing.assert_allclose(hess_softplus, want_softplus, rtol=1e-13)
    np.testing.assert_allclose(hess_tanh, want_tanh, rtol=1e-13)
    np.testing.assert_allclose(H, fd, atol=1e-9)


@pytest.mark.parametrize("act", PIECEWISE_LINEAR, ids=repr)
def test_piecewise_linear_hessian_is_zero_away_from_kinks(act):
    for z in AWAY:
        if any(abs(z - k) < 1e-3 for k in act.kinks):
            continue
        assert jax.hessian(act)(jnp.float64(z)) == 0.0


def test_hashable_equal_and_static_jit_argument():
    assert jrelu.ReLU(deriv_at_kink=0.5) == jrelu.ReLU(deriv_at_kink=0.5)
    assert hash(jrelu.ReLU(deriv_at_kink=0.5)) == hash(jrelu.ReLU(deriv_at_kink=0.5))
    assert jrelu.ReLU(deriv_at_kink=0.5) != jrelu.ReLU(deriv_at_kink=0.0)
    assert jrelu.LeakyReLU(negative_slope=0.25) == \
        jrelu.LeakyReLU(negative_slope=0.25, deriv_at_kink=0.25)
    assert len({jrelu.activations.relu, jrelu.ReLU(), jrelu.ReLU(deriv_at_kink=0)}) == 1
    f = jax.jit(lambda z, act: jax.grad(act)(z), static_argnums=1)
    assert f(0.0, jrelu.ReLU(deriv_at_kink=0.5)) == 0.5
    assert f(0.0, jrelu.ReLU(deriv_at_kink=1.0)) == 1.0


@pytest.mark.parametrize("bad, error", [(float("nan"), ValueError), (float("inf"), ValueError),
                                        ("x", TypeError), (None, TypeError), (True, TypeError)])
def test_kink_value_must_be_finite(bad, error):
    with pytest.raises(error, match="^deriv_at_kink"):
        jrelu.ReLU(deriv_at_kink=bad)
    with pytest.raises(error, match="^deriv_at_kink"):
        jrelu.Abs(deriv_at_kink=bad)
    if bad is not None:  # None is LeakyReLU's default: the left derivative
        with pytest.raises(error, match="^deriv_at_kink"):
            jrelu.LeakyReLU(deriv_at_kink=bad)
    with pytest.raises(error, match="^negative_slope"):
        jrelu.LeakyReLU(negative_slope=bad)


def test_kink_mask():
    z = jnp.array([-1.0, -0.5, 0.0, 2.0**-30, 1.0])
    relu = jrelu.ReLU()
    np.testing.assert_array_equal(relu.kink_mask(z), [False, False, True, False, False])
    np.testing.assert_array_equal(relu.kink_mask(z, tol=1e-6), [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(jrelu.HardTanh().kink_mask(z),
                                  [True, False, False, False, True])
    assert not jrelu.Softplus().kink_mask(jnp.zeros(3)).any()


@pytest.mark.upstream
def test_upstream_jax_tie_conventions():
    """Canary: the JAX behaviour that jrelu's documentation describes and works around.

    ``jax.nn.relu'(0) = 0``, ``jnp.maximum`` splits ties 0.5/0.5 and ``jnp.abs'(0) = 1``. If
    this fails, JAX changed; update the docs' statements about JAX, not jrelu.
    """
    assert jax.grad(jax.nn.relu)(0.0) == 0.0
    assert jax.grad(lambda z: jnp.maximum(z, 0.0))(0.0) == 0.5
    assert jax.grad(jnp.maximum)(0.5, 0.5) == 0.5
    assert jax.grad(jnp.abs)(0.0) == 1.0


def test_matches_jax_nn_relu_convention_and_fixes_one_value_per_activation():
    """jrelu's ReLU has jax.nn.relu's convention by default; abs has 0 at its kink."""
    assert jax.grad(jrelu.ReLU())(0.0) == 0.0 == jax.grad(jax.nn.relu)(0.0)
    assert jax.grad(jrelu.Abs())(0.0) == 0.0
    z = jnp.linspace(-2, 2, 17)
    np.testing.assert_array_equal(jrelu.ReLU()(z), jax.nn.relu(z))
    np.testing.assert_allclose(jrelu.Softplus()(z), jax.nn.softplus(z), rtol=1e-15)


def test_float32_preserved():
    z = jnp.array([-1.0, 0.0, 2.0], jnp.float32)
    for act in ALL:
        assert act(z).dtype == jnp.float32
        assert jax.vmap(jax.grad(act))(z).dtype == jnp.float32


# -- the data certified bounds use: kinks, slopes, Lipschitz constant, interval images ------

from jrelu.activations import Smoothing  # noqa: E402

SMOOTHINGS = [Smoothing(f, 4.0) for f in Smoothing.FAMILIES] + [Smoothing("c1_blend", 0.5)]
WITH_IMAGES = ALL + SMOOTHINGS
# dyadic interval ends, kinks among them, and degenerate intervals
ENDS = np.array([-3.0, -1.5, -1.0, -0.75, -0.125, 0.0, 0.125, 0.25, 0.5, 1.0, 1.5, 3.0])
LO, HI = (a.ravel() for a in np.meshgrid(ENDS, ENDS, indexing="ij"))
KEEP = LO <= HI
LO, HI = jnp.asarray(LO[KEEP]), jnp.asarray(HI[KEEP])


def _dense(act, lo, hi, n=801):
    """n points of [lo, hi] per interval (both ends included) and the kinks inside, sorted;
    shape (intervals, n + len(kinks))."""
    t = jnp.linspace(0.0, 1.0, n)
    z = lo[:, None] + (hi - lo)[:, None] * t[None, :]
    kinks = [jnp.clip(k, lo, hi)[:, None] for k in act.kinks]
    return jnp.sort(jnp.concatenate([z, *kinks], axis=1), axis=1)


def test_keyword_only_parameters_and_piece_data():
    with pytest.raises(TypeError):
        jrelu.ReLU(0.5)
    with pytest.raises(TypeError):
        jrelu.LeakyReLU(0.25)
    assert jrelu.ReLU().kinks == (0.0,) and jrelu.ReLU().slopes == (0.0, 1.0)
    assert jrelu.LeakyReLU(negative_slope=0.25).slopes == (0.25, 1.0)
    assert jrelu.Abs().slopes == (-1.0, 1.0)
    assert jrelu.HardTanh().kinks == (-1.0, 1.0) and jrelu.HardTanh().slopes == (0.0, 1.0, 0.0)
    for act in SMOOTH + SMOOTHINGS:
        assert act.kinks == () and act.slopes is None and act.is_smooth
    assert [a.value_ulps for a in (jrelu.ReLU(), jrelu.LeakyReLU(), jrelu.Abs(), jrelu.HardTanh(),
                                   jrelu.Softplus(), jrelu.Tanh())] == [0, 1, 0, 0, 64, 64]
    assert jrelu.LeakyReLU(negative_slope=-1.5).lipschitz == 1.5
    assert jrelu.LeakyReLU(negative_slope=0.25).lipschitz == 1.0
    assert Smoothing("c1_blend", 3.0).lipschitz == 4.0 / 3.0
    for act in PIECEWISE_LINEAR:  # the kinks are sorted, one slope per open piece
        assert list(act.kinks) == sorted(act.kinks) and len(act.slopes) == len(act.kinks) + 1


@pytest.mark.parametrize("act", PIECEWISE_LINEAR, ids=repr)
def test_slopes_are_the_derivative_on_each_piece(act):
    ends = [-np.inf, *act.kinks, np.inf]
    for i, s in enumerate(act.slopes):
        lo, hi = max(ends[i], -8.0), min(ends[i + 1], 8.0)
        z = jnp.asarray(np.linspace(lo, hi, 67)[1:-1])
        np.testing.assert_array_equal(act.deriv(z), s)
        np.testing.assert_array_equal(act.left_deriv(z), s)
        np.testing.assert_array_equal(act.right_deriv(z), s)


@pytest.mark.parametrize("act", WITH_IMAGES, ids=repr)
def test_lipschitz_bounds_every_difference_quotient_and_is_attained(act):
    z = jnp.linspace(-64.0, 64.0, 2**16 + 1)  # wide: the softplus slopes approach 1 slowly
    v = act.value(z)
    q = jnp.abs(jnp.diff(v) / jnp.diff(z))
    assert float(jnp.max(q)) <= act.lipschitz * (1 + 1e-10)  # rounding of v ~ 64 over 2^-9
    assert float(jnp.max(jnp.abs(act.deriv(z)))) <= act.lipschitz * (1 + 1e-15)
    assert float(jnp.max(q)) >= act.lipschitz * (1 - 1e-3)  # and it is the sup


@pytest.mark.parametrize("act", WITH_IMAGES, ids=repr)
def test_image_encloses_dense_samples_and_is_attained(act):
    lo, hi = act.image(LO, HI)
    assert lo.shape == hi.shape == LO.shape
    z = _dense(act, LO, HI)
    v = act.value(z)
    vmin, vmax = jnp.min(v, axis=1), jnp.max(v, axis=1)
    if act.slopes is not None:  # exact: the hull of the values at the ends and kinks inside
        assert bool(jnp.all(lo == vmin)) and bool(jnp.all(hi == vmax))
    else:  # monotone: the values at the ends, up to the rounding of the samples
        assert bool(jnp.all(lo <= vmin + 1e-15)) and bool(jnp.all(hi >= vmax - 1e-15))
        np.testing.assert_array_equal(lo, act.value(LO))
        np.testing.assert_array_equal(hi, act.value(HI))


@pytest.mark.parametrize("act", WITH_IMAGES, ids=repr)
def test_deriv_image_encloses_dense_samples_and_one_sided_derivatives(act):
    lo, hi = act.deriv_image(LO, HI)
    assert lo.shape == hi.shape == LO.shape
    z = _dense(act, LO, HI)
    inner = z[:, 1:-1]
    # D at every sample; the right derivative on [lo, hi), the left one on (lo, hi]
    proper = (LO < HI)[:, None]
    right = jnp.where(proper & (z < HI[:, None]), act.right_deriv(z), act.deriv(z))
    left = jnp.where(proper & (z > LO[:, None]), act.left_deriv(z), act.deriv(z))
    vals = [act.deriv(z), right, left]
    dmin = jnp.min(jnp.stack([jnp.min(d, axis=1) for d in vals]), axis=0)
    dmax = jnp.max(jnp.stack([jnp.max(d, axis=1) for d in vals]), axis=0)
    tol = 0.0 if act.slopes is not None else 1e-15
    assert bool(jnp.all(lo <= dmin + tol)) and bool(jnp.all(hi >= dmax - tol))
    if act.slopes is not None:  # tight: every enclosure end is a sampled value
        # (the dense grid contains the kinks of every interval, its ends included)
        assert bool(jnp.all(lo == dmin)) and bool(jnp.all(hi == dmax))
    else:  # tight up to the grid spacing
        d = act.deriv(inner)
        gap = float(jnp.max(jnp.abs(jnp.diff(act.deriv(z), axis=1)))) + 1e-15
        assert bool(jnp.all(lo >= jnp.min(d, axis=1) - gap))
        assert bool(jnp.all(hi <= jnp.max(act.deriv(z), axis=1) + gap))


@pytest.mark.parametrize("act", PIECEWISE_LINEAR, ids=repr)
def test_images_are_exact_at_kinks(act):
    for k in act.kinks:
        k = jnp.float64(k)
        lo, hi = act.image(k, k)
        assert lo == hi == act.value(k)
        lo, hi = act.deriv_image(k, k)  # only the chosen value: no piece meets {k}
        assert lo == hi == act.deriv_at_kink
        t = 2.0**-20  # [k, k + t]: the chosen value and the right slope, nothing else
        lo, hi = act.deriv_image(k, k + t)
        want = sorted([act.deriv_at_kink, float(act.right_deriv(k))])
        assert [float(lo), float(hi)] == want
        lo, hi = act.deriv_image(k - t, k)
        want = sorted([act.deriv_at_kink, float(act.left_deriv(k))])
        assert [float(lo), float(hi)] == want


def test_images_of_the_whole_line_are_the_ranges():
    inf = jnp.inf
    ranges = {jrelu.ReLU(): ((0, inf), (0, 1)), jrelu.Abs(): ((0, inf), (-1, 1)),
              jrelu.HardTanh(deriv_at_kink=2.0): ((-1, 1), (0, 2)),
              jrelu.LeakyReLU(negative_slope=0.25): ((-inf, inf), (0.25, 1)),
              jrelu.Softplus(): ((0, inf), (0, 1)), jrelu.Tanh(): ((-1, 1), (0, 1)),
              Smoothing("c1_blend", 2.0): ((0, inf), (0, 4 / 3)),
              Smoothing("softplus", 2.0): ((0, inf), (0, 1))}
    for act, (image, deriv) in ranges.items():
        assert tuple(float(v) for v in act.image(-inf, inf)) == image, act
        assert tuple(float(v) for v in act.deriv_image(-inf, inf)) == pytest.approx(deriv), act


@pytest.mark.parametrize("act", PIECEWISE_LINEAR, ids=repr)
def test_deriv_image_of_nan_ends_is_every_value(act):
    lo, hi = act.deriv_image(jnp.array([jnp.nan, 0.5]), jnp.array([jnp.nan, 0.5]))
    every = list(act.slopes) + [act.deriv_at_kink]
    assert float(lo[0]) == min(every) and float(hi[0]) == max(every)
    assert float(lo[1]) == float(hi[1]) == float(act.deriv(jnp.float64(0.5)))


def test_images_keep_float32():
    lo = jnp.array([-1.0, 0.0], jnp.float32)
    hi = jnp.array([2.0, 0.5], jnp.float32)
    for act in WITH_IMAGES:
        for out in act.image(lo, hi) + act.deriv_image(lo, hi):
            assert out.dtype == jnp.float32, act


def test_images_under_jit_and_vmap():
    f = jax.jit(lambda lo, hi: jrelu.HardTanh(deriv_at_kink=0.5).deriv_image(lo, hi))
    lo, hi = f(jnp.array([-2.0, 1.0]), jnp.array([-1.0, 1.0]))
    assert lo.tolist() == [0.0, 0.5] and hi.tolist() == [0.5, 0.5]
    g = jax.vmap(jrelu.Abs().image)
    lo, hi = g(jnp.array([-2.0, 1.0]), jnp.array([1.0, 3.0]))
    assert lo.tolist() == [0.0, 1.0] and hi.tolist() == [2.0, 3.0]


# -- Smoothing: the families R_r -> ReLU --------------------------------------------------


def test_smoothing_families_and_validation():
    assert Smoothing.FAMILIES == ("c1_blend", "shifted_softplus", "softplus")
    assert Smoothing("c1_blend", 2) == Smoothing(family="c1_blend", r=2.0)
    assert isinstance(Smoothing("c1_blend", 2).r, float)
    assert hash(Smoothing("softplus", 2.0)) == hash(Smoothing("softplus", 2.0))
    with pytest.raises(ValueError, match="^family"):
        Smoothing("gelu", 1.0)
    with pytest.raises(TypeError, match="^family"):
        Smoothing(None, 1.0)
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="^r "):
            Smoothing("c1_blend", bad)
    for bad in ("x", None, True):
        with pytest.raises(TypeError, match="^r "):
            Smoothing("shifted_softplus", bad)


def test_smoothing_values_at_dyadic_points():
    """c1_blend is exact dyadic arithmetic; the softplus families at their closed forms."""
    act = Smoothing("c1_blend", 4.0)  # t = 4x: (2t^2 - t^3)/4 on (0, 1/4)
    z = jnp.array([-1.0, 0.0, 0.0625, 0.125, 0.1875, 0.25, 0.5])
    assert act(z).tolist() == [0.0, 0.0, 0.02734375, 0.09375, 0.17578125, 0.25, 0.5]
    assert jax.vmap(jax.grad(act))(z).tolist() == [0.0, 0.0, 0.8125, 1.25, 1.3125, 1.0, 1.0]
    assert float(jax.grad(act)(jnp.float64(1 / 6))) == 4 / 3  # the maximum, at t = 2/3
    for r in (1.0, 2.0, 8.0):
        sp, ssp = Smoothing("softplus", r), Smoothing("shifted_softplus", r)
        assert float(sp(0.0)) == pytest.approx(np.log(2.0) / r, rel=1e-15)
        assert float(jax.grad(sp)(0.0)) == 0.5
        assert float(ssp(0.0)) == pytest.approx(np.log1p(1.0 / r) / r, rel=1e-15)
        assert float(jax.grad(ssp)(0.0)) == pytest.approx(1.0 / (1.0 + r), rel=1e-15)
    assert float(Smoothing("shifted_softplus", 1.0)(0.5)) == float(jrelu.Softplus()(0.5))


@pytest.mark.parametrize("family", Smoothing.FAMILIES)
def test_smoothing_converges_to_relu(family):
    z = jnp.asarray(AWAY)
    relu = jrelu.ReLU()
    bound = {"shifted_softplus": lambda r: (np.log(r) + np.log(2.0)) / r,
             "softplus": lambda r: np.log(2.0) / r, "c1_blend": lambda r: 1.0 / r}[family]
    for r in (10.0, 1e3, 1e6):
        act = Smoothing(family, r)
        assert float(jnp.max(jnp.abs(act(z) - relu(z)))) <= bound(r) + 1e-12
    act = Smoothing(family, 1e6)  # away from 0 the derivatives are those of ReLU
    np.testing.assert_allclose(jax.vmap(jax.grad(act))(z), relu.deriv(z), atol=1e-6)
    if family == "c1_blend":  # equal to ReLU outside (0, 1/r), bit for bit
        assert jnp.array_equal(Smoothing(family, 8.0)(z), relu(z))


@pytest.mark.parametrize("family", Smoothing.FAMILIES)
def test_smoothing_with_traced_r_equals_concrete_r(family):
    z = jnp.asarray(np.linspace(-2.0, 2.0, 33))

    @jax.jit
    def traced(r, z):
        act = Smoothing(family, r)
        return act(z), jax.vmap(jax.grad(act))(z)

    for r in (0.5, 3.0, 1e4):
        act = Smoothing(family, r)
        v, d = traced(jnp.float64(r), z)
        # the same formulas; XLA may fold the constant r differently: a few ulps
        np.testing.assert_allclose(v, act(z), rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(d, jax.vmap(jax.grad(act))(z), rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(d, act.deriv(z), rtol=1e-14, atol=1e-300)
    # r is a parameter, never differentiated
    assert float(jax.grad(lambda r: Smoothing(family, r)(1.0))(2.0)) == 0.0


# -- non-finite pre-activations (issue 12) --------------------------------------------------

NONFINITE = [*ALL, *(Smoothing(f, 4.0) for f in Smoothing.FAMILIES)]


@pytest.mark.parametrize("act", NONFINITE, ids=repr)
def test_nan_has_no_slope_and_infinity_has_the_limit_slope(act):
    """Dϱ(NaN) = ϱ'_±(NaN) = NaN (was a finite c for ReLU(c), 0 for HardTanh, ...), also
    through the custom JVP and under jit; Dϱ(±inf) is the limit of Dϱ(z) as z → ±inf."""
    z = jnp.array([jnp.nan, -jnp.nan, jnp.inf, -jnp.inf])
    for name, fn in (("deriv", act.deriv), ("left_deriv", act.left_deriv),
                     ("right_deriv", act.right_deriv), ("jit deriv", jax.jit(act.deriv)),
                     ("vmap grad", jax.vmap(jax.grad(act)))):
        d = fn(z)
        assert d.dtype == z.dtype, name
        assert jnp.isnan(d).tolist() == [True, True, False, False], (name, d)
        far = jnp.array([1e300, -1e300])
        np.testing.assert_array_equal(d[2:], act.deriv(far), err_msg=name)
    assert bool(jnp.all(jnp.isnan(act(z[:2]))))
    assert not bool(jnp.any(act.kink_mask(z)))
    if not act.is_smooth:  # off NaN every value is the one chosen before (bits unchanged)
        zs = jnp.array([*AWAY, *act.kinks, -0.0])
        for fn, ref in ((act.deriv, _old_deriv), (act.left_deriv, _old_left),
                        (act.right_deriv, _old_right)):
            np.testing.assert_array_equal(fn(zs), ref(act, zs))


def _slope(act, z, side):
    """ϱ' on the piece left (side −1) or right (+1) of z, from ``slopes`` and ``kinks``."""
    ks = np.asarray(act.kinks)
    return np.array([act.slopes[int(np.searchsorted(ks, v, side="left" if side < 0
                                                    else "right"))] for v in np.asarray(z)])


def _old_deriv(act, z):
    at = np.isin(np.asarray(z), act.kinks)
    return np.where(at, act.deriv_at_kink, _slope(act, z, 1))


def _old_left(act, z):
    return _slope(act, z, -1)


def _old_right(act, z):
    return _slope(act, z, 1)


def test_wrong_types_for_activation_methods():
    act = jrelu.ReLU()
    for method in (act.value, act.deriv, act.left_deriv, act.right_deriv, act.kink_mask, act):
        for bad in ("ab", None, jnp.array([True]), jnp.array([1j])):
            with pytest.raises(TypeError, match="^z must be a"):
                method(bad)
    assert act.deriv([1.0, -1.0]).tolist() == [1.0, 0.0]  # array-likes are fine
    assert act.deriv(jnp.array([2, 0])).dtype == jnp.result_type(float)
    with pytest.raises(ValueError, match="^tol must be >= 0"):
        act.kink_mask(jnp.zeros(2), tol=-1.0)
    with pytest.raises(TypeError, match="^lo must be a"):
        act.image("a", 1.0)
