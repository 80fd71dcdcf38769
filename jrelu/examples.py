r"""Small networks that exhibit the theorems and counterexamples of MATH.md exactly.

Weights are dyadic rationals, so float64 arithmetic on them is exact.
"""

from __future__ import annotations

import jax.numpy as jnp

from .network import Network, identity

__all__ = ["slope_network", "identity_counterexamples", "degenerate_deep_example"]


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


def degenerate_deep_example(dtype=None):
    r"""The degenerate θ of MATH.md §3 where the shifted softplus smoothing fails.

    The network 1→2→1→1 with :math:`A_1=(1,-1)^T`, :math:`b_1=(1,1)`,
    :math:`A_2=(-1,-1)`, :math:`b_2=2`, :math:`A_3=1.5`, :math:`b_3=0.3`, data
    :math:`x_m` = ``linspace(-0.9, 0.9, 7)``, :math:`y_m=\sin(3x_m)`, squared loss
    :math:`\mathcal L=\frac17\sum_m(N^\theta(x_m)-y_m)^2` (``loss="mse"``).

    On the data both layer-1 neurons are active (:math:`1\pm x_m>0`), so the layer-2
    pre-activation is :math:`2-(1+x_m)-(1-x_m)=0` exactly for every m. Hence
    :math:`G_{b_2}=0` (the left derivative of ℒ in :math:`b_2`), while the right derivative
    is :math:`\frac17\sum_m2(0.3-y_m)\cdot1.5=0.9` (the :math:`y_m` sum to 0). As
    :math:`r\to\infty`: ``"shifted_softplus"`` gives :math:`\partial\mathcal L_r/\partial
    b_2\to0.9`, ``"softplus"`` gives 0.45 (the average), ``"c1_blend"`` gives G exactly.

    Returns:
      ``(net, xs, ys)`` with ``xs``, ``ys`` of shape ``(7, 1)``.
    """
    dtype = jnp.result_type(float) if dtype is None else dtype
    net = Network([
        (jnp.array([[1.0], [-1.0]], dtype), jnp.array([1.0, 1.0], dtype)),
        (jnp.array([[-1.0, -1.0]], dtype), jnp.array([2.0], dtype)),
        (jnp.array([[1.5]], dtype), jnp.array([0.3], dtype)),
    ])
    xs = jnp.linspace(-0.9, 0.9, 7, dtype=dtype)[:, None]
    return net, xs, jnp.sin(3.0 * xs)
