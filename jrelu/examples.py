r"""Small networks that exhibit the theorems and counterexamples about :math:`D^N` exactly.

Weights are dyadic rationals, so float64 arithmetic on them is exact.

References:
  Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_;
  Dereich, Do, Jentzen, Weber (2025), `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _checks
from .network import Network, identity

__all__ = ["slope_network", "identity_counterexamples", "degenerate_deep_example"]


def slope_network(a: float, b: float, *, dtype=None) -> Network:
    r"""The network :math:`\Phi=(((1,-1)^T,0),((a,-b),0))`, slope b left of 0, a right.

    .. math::
        R\Phi(x)=a\varrho(x)-b\varrho(-x),\qquad D^N\Phi(0)=c\,(a+b),

    with :math:`c=D\varrho(0)`: for ReLU the slope is b left of 0 and a right of 0, yet
    :math:`D^N\Phi(0)=c(a+b)`, which is 0 for c = 0 and outside :math:`[\min(a,b),
    \max(a,b)]` for suitable a, b. No choice of c avoids this for all a, b.

    Args:
      a: the slope right of 0.
      b: the slope left of 0.
      dtype: (keyword-only) a floating dtype; default JAX's default float.

    Returns:
      the depth-2 :class:`~jrelu.Network` with widths (1, 2, 1).

    Raises:
      TypeError: if ``a`` or ``b`` is not a real number (a bool included), or ``dtype``
        is not a dtype.
      ValueError: if ``a`` or ``b`` is NaN or infinite, or ``dtype`` is not a floating
        dtype.

    Example:
        >>> net = jrelu.examples.slope_network(2.0, 3.0)
        >>> jrelu.realize(net, jnp.array([[-1.0], [1.0]]))[:, 0].tolist()
        [-3.0, 2.0]
        >>> float(jrelu.derivative(net, jnp.zeros(1))[0, 0])  # c (a + b) with c = 0
        0.0

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    a, b = _checks.real("a", a), _checks.real("b", b)
    dtype = _checks.default_float_dtype(dtype)
    return Network([
        (jnp.array([[1.0], [-1.0]], dtype), jnp.zeros(2, dtype)),
        (jnp.array([[a, -b]], dtype), jnp.zeros(1, dtype)),
    ])


def identity_counterexamples(*, dtype=None) -> tuple[Network, Network]:
    r"""Two ReLU networks realizing :math:`x\mapsto x` on R with different :math:`D^N(0)`.

    .. math::
        \varrho(x)-\varrho(-x):\ D^N(0)=2c,\qquad
        \varrho(\varrho(x))-\varrho(\varrho(-x)):\ D^N(0)=2c^2 .

    The first has depth 2, the second depth 3. No value c of :math:`D\varrho(0)` makes
    both equal to 1, the true derivative of the identity.

    Args:
      dtype: (keyword-only) a floating dtype; default JAX's default float.

    Returns:
      the pair of :class:`~jrelu.Network` (depth 2, depth 3).

    Raises:
      TypeError: if ``dtype`` is not a dtype.
      ValueError: if ``dtype`` is not a floating dtype.

    Example:
        >>> two, three = jrelu.examples.identity_counterexamples()
        >>> act = jrelu.ReLU(deriv_at_kink=0.5)
        >>> [float(jrelu.derivative(n, jnp.zeros(1), activation=act)[0, 0])
        ...  for n in (two, three)]
        [1.0, 0.5]

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    return identity(1, 2, dtype=dtype), identity(1, 3, dtype=dtype)


def degenerate_deep_example(*, dtype=None) -> tuple[Network, jax.Array, jax.Array]:
    r"""A degenerate parameter θ where the shifted softplus smoothing fails.

    The network 1→2→1→1 with :math:`A_1=(1,-1)^T`, :math:`b_1=(1,1)`,
    :math:`A_2=(-1,-1)`, :math:`b_2=2`, :math:`A_3=1.5`, :math:`b_3=0.3`, data
    :math:`x_m` = ``linspace(-0.9, 0.9, 7)``, :math:`y_m=\sin(3x_m)`, squared loss

    .. math::
        \mathcal L=\frac17\sum_{m=1}^7(N^\theta(x_m)-y_m)^2\quad(\texttt{loss="mse"}).

    On the data both layer-1 neurons are active (:math:`1\pm x_m>0`), so the layer-2
    pre-activation is :math:`2-(1+x_m)-(1-x_m)=0` exactly for every m. Hence
    :math:`G_{b_2}=0` (the left derivative of ℒ in :math:`b_2`), while the right derivative
    is :math:`\frac17\sum_m2(0.3-y_m)\cdot1.5=0.9` (the :math:`y_m` sum to 0). As
    :math:`r\to\infty` (:class:`~jrelu.Smoothing`): ``"shifted_softplus"`` gives
    :math:`\partial\mathcal L_r/\partial b_2\to0.9`, ``"softplus"`` gives 0.45 (the
    average), ``"c1_blend"`` gives G exactly.

    Args:
      dtype: (keyword-only) a floating dtype; default JAX's default float.

    Returns:
      ``(net, xs, ys)`` with ``xs``, ``ys`` of shape ``(7, 1)``.

    Raises:
      TypeError: if ``dtype`` is not a dtype.
      ValueError: if ``dtype`` is not a floating dtype.

    Example:
        >>> net, xs, ys = jrelu.examples.degenerate_deep_example()
        >>> z2 = jrelu.preactivations(net, xs)[1]
        >>> xs.shape, bool(jnp.all(z2 == 0))
        ((7, 1), True)

    References:
        Dereich, Do, Jentzen, Weber (2025),
        `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
    """
    dtype = _checks.default_float_dtype(dtype)
    net = Network([
        (jnp.array([[1.0], [-1.0]], dtype), jnp.array([1.0, 1.0], dtype)),
        (jnp.array([[-1.0, -1.0]], dtype), jnp.array([2.0], dtype)),
        (jnp.array([[1.5]], dtype), jnp.array([0.3], dtype)),
    ])
    xs = jnp.linspace(-0.9, 0.9, 7, dtype=dtype)[:, None]
    return net, xs, jnp.sin(3.0 * xs)
