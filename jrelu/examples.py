r"""Small networks that exhibit the theorems and counterexamples of MATH.md exactly.

Weights are dyadic rationals, so float64 arithmetic on them is exact.
"""

from __future__ import annotations

import jax.numpy as jnp

from .network import Network, identity

__all__ = ["slope_network", "identity_counterexamples"]


def slope_network(a: float = 1.0, b: float = 1.0, dtype=None) -> Network:
    r""":math:`\Phi=(((1,-1)^T,0),((a,-b),0))`, realizing :math:`a\varrho(x)-b\varrho(-x)`.

    For ReLU: slope b left of 0, slope a right of 0, yet :math:`D^N\Phi(0)=c(a+b)`
    with :math:`c=D\varrho(0)` (MATH.md §2, fact 3).
    """
    dtype = jnp.result_type(float) if dtype is None else dtype
    return Network([
        (jnp.array([[1.0], [-1.0]], dtype), jnp.zeros(2, dtype)),
        (jnp.array([[a, -b]], dtype), jnp.zeros(1, dtype)),
    ])


def identity_counterexamples(dtype=None) -> tuple[Network, Network]:
    r"""Two ReLU networks realizing :math:`x\mapsto x` on R with different :math:`D^N(0)`.

    * :math:`\varrho(x)-\varrho(-x)` (depth 2): :math:`D^N(0)=2c`;
    * :math:`\varrho(\varrho(x))-\varrho(\varrho(-x))` (depth 3): :math:`D^N(0)=2c^2`.

    No kink value c makes both equal to 1, the true derivative of the identity.
    """
    return identity(1, 2, dtype=dtype), identity(1, 3, dtype=dtype)


