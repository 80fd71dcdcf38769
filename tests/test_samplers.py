"""Samplers (jrelu.samplers): per-index determinism, ranges, known values, bad parameters."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jrelu.samplers import (
    FixedPoints,
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
              FixedPoints(4, lambda k: jax.random.laplace(k, (4,)), name="laplace")):
        # point i depends only on (key, i): any index order or offset reproduces it
        full, perm, other = jax.jit(lambda k1, k2, s=s: (
            s.points(k1, jnp.arange(40)), s.points(k1, idx), s.points(k2, jnp.arange(40))))(
                key, jax.random.key(4))
        assert full.shape == (40, 4)
        np.testing.assert_array_equal(perm, full[np.asarray(idx)])
        assert not np.array_equal(other, full)
    np.testing.assert_array_equal(Gaussian(3)(key, 5), Gaussian(3).points(key, jnp.arange(5)))


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
    key = jax.random.key(0)
    for s in (UniformBox(2), Gaussian(2), RadialShells(2), Halton(2), TensorGrid(2)):
        assert s(key, 4, dtype=jnp.float32).dtype == jnp.float32
        assert s.points(key, jnp.arange(4), dtype=jnp.float64).dtype == jnp.float64


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
        FixedPoints(2, "not callable")
    with pytest.raises(ValueError, match=r"fn must return shape \(2,\)"):
        FixedPoints(2, lambda k: jnp.zeros(3))(jax.random.key(0), 4)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        UniformBox(2, -1.0, 1.0)  # noqa - low, high are keyword-only
    for cls in (UniformBox, Gaussian, RadialShells, Halton, TensorGrid, FixedPoints):
        assert issubclass(cls, Sampler)
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                assert f.kw_only, (cls.__name__, f.name)
    d = FixedPoints(2, jax.random.normal, name="n").describe()
    assert d == {"sampler": "FixedPoints", "dim": 2, "fn": "normal", "name": "n"}
