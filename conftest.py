"""pytest set-up shared by the tests and the docstring examples (doctests).

The mathematics is checked in float64, so x64 is enabled for the whole session; float32 checks
pass an explicit dtype. Docstring examples print dtype-independent values, so they also hold
for a user who keeps JAX's float32 default.
"""

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    import jrelu

    doctest_namespace.update(jax=jax, jnp=jnp, np=np, jrelu=jrelu)
