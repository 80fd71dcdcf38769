"""The private flat draws are jax.random's draws bit for bit (so switching to them changed no
number anywhere): with the default key and counter scheme in float32 and float64, and with
another key implementation and the other counter scheme."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jrelu import _random


@pytest.mark.parametrize("impl,partitionable,dtype", [
    ("threefry2x32", True, jnp.float32), ("threefry2x32", True, jnp.float64),
    ("rbg", False, jnp.float32)])
def test_flat_draws_equal_jax_random_bit_for_bit(impl, partitionable, dtype):
    old = jax.config.jax_threefry_partitionable
    jax.config.update("jax_threefry_partitionable", partitionable)
    try:
        key = jax.random.key(7, impl=impl)
        for shape in [(0, 4), (3, 5, 7)]:  # the library draws (n, d) and (paths, n, d)
            a = _random.normal(key, shape, dtype)
            assert a.shape == shape and a.dtype == dtype
            np.testing.assert_array_equal(a, jax.random.normal(key, shape, dtype))
            u = _random.uniform(key, shape, dtype, -1.0, 2.0)
            np.testing.assert_array_equal(u, jax.random.uniform(key, shape, dtype, -1.0, 2.0))
        assert float(jnp.std(a)) > 0.5 and -1.0 <= float(u.min()) and float(u.max()) < 2.0
    finally:
        jax.config.update("jax_threefry_partitionable", old)
