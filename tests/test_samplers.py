"""Samplers (jrelu.samplers): per-index determinism, ranges, known values, bad parameters."""

import dataclasses

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jrelu.samplers import (
    FromFunction,
    Gaussian,
    Halton,
    RadialShells,
    Sampler,
    TensorGrid,
    UniformBox,
)


def test_random_samplers_are_per_index_and_keyed():
    key = jax.random.key(3)
    idx = jnp.concatenate([jnp.arange(39, 19, -1), jnp.arange(20)])
    for s in (UniformBox(4, low=-2.0, high=3.0), Gaussian(4, mean=1.0, std=2.0),
              RadialShells(4, r_max=1e3, num_shells=5), Halton(4, scramble=True),
              FromFunction(4, lambda k: jax.random.laplace(k, (4,)), name="laplace")):
        # point i depends only on (key, i): any index order or offset reproduces it
        full, perm, other = jax.jit(lambda k1, k2, s=s: (
            s.points(k1, jnp.arange(40)), s.points(k1, idx), s.points(k2, jnp.arange(40))))(
                key, jax.random.key(4))
        assert full.shape == (40, 4)
        np.testing.assert_array_equal(perm, full[np.asarray(idx)])
        assert not np.array_equal(other, full)
    g = _all_samplers()[1]  # the batch of 5 of test_direct_call_eager_jit_and_sweep_...[float64]
    np.testing.assert_array_equal(g(key, 5, dtype=jnp.float64),
                                  g.points(key, jnp.arange(5), dtype=jnp.float64))


def test_sampler_ranges():
    key = jax.random.key(0)
    x = jax.jit(UniformBox(3, low=(-1.0, 0.0, 2.0), high=(1.0, 0.5, 2.0)),
                static_argnums=1)(key, 500)
    assert np.all(x[:, 0] >= -1) and np.all(x[:, 0] < 1)
    assert np.all(x[:, 1] >= 0) and np.all(x[:, 1] < 0.5) and np.all(x[:, 2] == 2)
    s = RadialShells(6, r_max=1e4, num_shells=5, r_min=1.0)
    np.testing.assert_allclose(s.radii(), [1, 10, 100, 1e3, 1e4], rtol=1e-14)
    r = np.linalg.norm(jax.jit(s, static_argnums=1)(key, 50), axis=-1)
    np.testing.assert_allclose(r, np.tile(s.radii(), 10), rtol=1e-14)
    g = jax.jit(Gaussian(2, mean=(5.0, -5.0), std=0.5), static_argnums=1)(key, 4000)
    np.testing.assert_allclose(g.mean(0), [5, -5], atol=0.05)
    np.testing.assert_allclose(g.std(0), [0.5, 0.5], atol=0.03)


def test_dtype_is_keyword_and_respected():
    # the samplers and point count of test_direct_call_eager_jit_and_sweep_give_the_same_points:
    # the same compiled programs (the dtype check does not depend on them)
    key = jax.random.key(0)
    for s in _all_samplers()[:5]:
        assert s(key, N_POINTS, dtype=jnp.float32).dtype == jnp.float32
        assert s.points(key, jnp.arange(N_POINTS), dtype=jnp.float64).dtype == jnp.float64


def test_halton_known_values():
    u = Halton(3)(None, 6)
    expect = [[1 / 2, 1 / 3, 1 / 5], [1 / 4, 2 / 3, 2 / 5], [3 / 4, 1 / 9, 3 / 5],
              [1 / 8, 4 / 9, 4 / 5], [5 / 8, 7 / 9, 1 / 25], [3 / 8, 2 / 9, 6 / 25]]
    np.testing.assert_allclose(u, expect, rtol=1e-15)
    # base-2 coordinate is exact; a shifted (scrambled) sequence stays in [0, 1)
    np.testing.assert_array_equal(u[:, 0], np.asarray(expect)[:, 0])
    v = Halton(3, low=-1.0, high=1.0, scramble=True)(jax.random.key(2), 300)
    assert np.all(v >= -1) and np.all(v < 1)


def test_tensor_grid_order_and_exact_values():
    s = TensorGrid(2, num_per_axis=3, low=-1.0, high=1.0)
    assert s.size == 9
    x = s(None, s.size)
    a, b = np.meshgrid([-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], indexing="ij")
    np.testing.assert_array_equal(x, np.stack([a.ravel(), b.ravel()], -1))
    np.testing.assert_array_equal(TensorGrid(1, num_per_axis=1, low=0.0, high=1.0)(None, 1),
                                  [[0.5]])


def test_sampler_bad_parameters():
    with pytest.raises(ValueError, match="low <= high"):
        UniformBox(2, low=1.0, high=0.0)
    with pytest.raises(ValueError, match="shape"):
        UniformBox(2, low=(0.0, 0.0, 0.0), high=1.0)
    with pytest.raises(ValueError, match="dim"):
        Gaussian(0)
    with pytest.raises(ValueError, match="r_min"):
        RadialShells(2, r_max=1.0, r_min=2.0)
    with pytest.raises(ValueError, match="std"):
        Gaussian(2, std=-1.0)
    with pytest.raises(TypeError, match="dim"):
        UniformBox(True)
    with pytest.raises(TypeError, match="num_shells"):
        RadialShells(2, num_shells=2.5)
    with pytest.raises(TypeError, match="fn"):
        FromFunction(2, "not callable")
    with pytest.raises(ValueError, match=r"fn must return shape \(2,\)"):
        FromFunction(2, lambda k: jnp.zeros(3))(jax.random.key(0), 4)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        UniformBox(2, -1.0, 1.0)  # noqa - low, high are keyword-only
    for cls in (UniformBox, Gaussian, RadialShells, Halton, TensorGrid, FromFunction):
        assert issubclass(cls, Sampler)
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                assert f.kw_only, (cls.__name__, f.name)
    d = FromFunction(2, jax.random.normal, name="n").describe()
    assert d == {"sampler": "FromFunction", "dim": 2, "fn": "normal", "name": "n"}


def _laplace3(k):
    return jax.random.laplace(k, (3,))


# one tuple of sampler objects (equal and hashable: a static jit argument), so that the
# tests below share the compiled sampling programs
_SAMPLERS3 = (UniformBox(3, low=-2.0, high=3.0), Gaussian(3, mean=1.0, std=2.0),
              RadialShells(3, r_max=1e3, num_shells=5), Halton(3, scramble=True),
              TensorGrid(3, num_per_axis=11, low=-1.0, high=2.5),
              FromFunction(3, _laplace3, name="laplace"))
N_POINTS = 300  # the point count of the default-suite checks below


def _all_samplers():
    return _SAMPLERS3


def _check_same_points(s, dtype, key, n, with_sweep):
    """sampler(key, n) eagerly, under jit, via points() in any order or batch, and inside
    error_sweep (its reported argmax points): bitwise the same points."""
    import jrelu

    eager = np.asarray(s(key, n, dtype=dtype))
    jitted = np.asarray(jax.jit(lambda k: s(k, n, dtype=dtype))(key))
    assert eager.dtype == dtype
    np.testing.assert_array_equal(jitted, eager, err_msg=type(s).__name__)
    perm = np.random.default_rng(0).permutation(n)  # another order, the same compiled shape
    np.testing.assert_array_equal(s.points(key, perm, dtype=dtype), eager[perm])
    if not with_sweep:
        return
    np.testing.assert_array_equal(s(key, 5, dtype=dtype), eager[:5])  # another batch size
    net = helpers.np_init(0, (s.dim, 2, 1), dtype)  # any network: NumPy-drawn
    rep = jrelu.error_sweep(net, lambda x: jnp.sqrt(jnp.sum(x * x)), s, num_points=n,
                            key=key, derivative=False, chunk_size=128, progress=False)
    for i, x in ((rep.value.argmax_index, rep.value.argmax),
                 (rep.value.argmax_unweighted_index, rep.value.argmax_unweighted)):
        np.testing.assert_array_equal(np.asarray(x, dtype), eager[i], err_msg=type(s).__name__)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_direct_call_eager_jit_and_sweep_give_the_same_points(dtype):
    """Eagerly vs under jit vs points() (every sampler in float32); the sweep for Gaussian
    here (and for RadialShells in test_sweep's chunk-size test); every sampler in both
    dtypes, in the sweep too: the slow test below."""
    key = jax.random.key(5)
    for s in _all_samplers():
        # float64: the samplers whose eager and jit points differed before, and Gaussian
        if dtype == jnp.float32 or isinstance(s, (Gaussian, RadialShells, Halton)):
            _check_same_points(s, dtype, key, N_POINTS, with_sweep=isinstance(s, Gaussian))


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_every_sampler_in_the_sweep_gives_the_direct_points(dtype):
    for s in _all_samplers():
        _check_same_points(s, dtype, jax.random.key(6), 1000, with_sweep=True)


def test_points_index_and_n_are_checked():
    s = Gaussian(2)
    with pytest.raises(TypeError, match="index"):
        s.points(jax.random.key(0), jnp.zeros(3))
    with pytest.raises(ValueError, match="index"):
        s.points(jax.random.key(0), jnp.zeros((2, 2), jnp.int32))
    with pytest.raises(TypeError, match="^n "):
        s(jax.random.key(0), 2.5)
    with pytest.raises(ValueError, match="^n "):
        s(jax.random.key(0), -1)
    assert s(jax.random.key(0), 0).shape == (0, 2)
