r"""Assertions for users' tests that respect nonsmoothness.

A gradient of a ReLU network computed at a kink (by any method: ``jax.grad``, PyTorch,
a hand-written rule) is not unique. :func:`assert_in_clarke_hull` accepts exactly the
matrices in the Clarke Jacobian :math:`\partial_C R\Phi(x)=\mathrm{conv}\,\partial_B
R\Phi(x)`, as far as :func:`jrelu.limiting_jacobians` finds :math:`\partial_B`.

References:
  Clarke, Optimization and Nonsmooth Analysis (1983); Berner, Elbrächter, Grohs, Jentzen
  (2019), `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.typing import ArrayLike

from . import _checks
from .activations import Activation, relu
from .derivative import HullDistance, LimitingJacobians, hull_distance, limiting_jacobians
from .network import Network

__all__ = ["assert_in_clarke_hull", "hull_distance", "HullDistance"]


def assert_in_clarke_hull(net: Network, x: ArrayLike, J: ArrayLike, *,
                          key: ArrayLike | None = None, num_bases: int = 32,
                          atol: float | None = None,
                          activation: Activation = relu) -> LimitingJacobians:
    r"""Assert that J lies within ``atol`` of the convex hull of the limiting Jacobians found.

    Computes :math:`\{J_1,\dots,J_K\}\subseteq\partial_B R\Phi(x)` with
    :func:`jrelu.limiting_jacobians` and solves

    .. math::
        d=\min\Bigl\{\Bigl\|\sum_i\lambda_iJ_i-J\Bigr\|_F:\lambda\ge0,\ \sum_i\lambda_i=1
        \Bigr\}

    (NumPy float64, SciPy's Lawson–Hanson NNLS with a weighted sum row, then an exact solve
    on the support). Passes iff the attained :math:`d\le` ``atol``. The hull of the elements
    found is a subset of the Clarke Jacobian, equal to it when the search is complete
    (e.g. no kink at x); when it is not, a valid Clarke element can fail, and the message
    says that more elements may exist (raise ``num_bases``).

    Args:
      net: the network.
      x: one point, shape ``(N_0,)``.
      J: the matrix to check, shape ``(N_L, N_0)``, or ``(N_0,)`` (a gradient) when
        :math:`N_L=1`.
      key: (keyword-only) a JAX PRNG key for the random bases (default
        ``jax.random.key(0)``).
      num_bases: (keyword-only) number of random bases for
        :func:`jrelu.limiting_jacobians`.
      atol: (keyword-only) tolerance on d; default
        :math:`100\,\varepsilon(1+\max_i\|J_i\|_F)`
        (:attr:`jrelu.LimitingJacobians.default_atol`).
      activation: (keyword-only) :math:`\varrho` (default ReLU).

    Returns:
      the :class:`~jrelu.LimitingJacobians` found (for further inspection).

    Raises:
      AssertionError: with the distance (upper and lower bound), the elements found, the
        best convex weights and whether more elements may exist.
      ValueError: for a J of the wrong shape or with a non-finite entry, ``num_bases`` < 1,
        a negative ``atol``, and as :func:`jrelu.limiting_jacobians`.
      TypeError: ``net`` not a Network, ``J`` not a real array, ``key`` not a PRNG key,
        ``num_bases`` not an integer, ``atol`` not a number, ``activation`` not an
        Activation, and as :func:`jrelu.limiting_jacobians`.

    Example:
        >>> from jrelu.testing import assert_in_clarke_hull
        >>> net = jrelu.examples.slope_network(2.0, 3.0)  # slopes 3 left, 2 right of 0
        >>> x = jnp.zeros(1)
        >>> assert_in_clarke_hull(net, x, jnp.array([[2.5]])).complete
        True
        >>> assert_in_clarke_hull(net, x, jrelu.derivative(net, x))  # D^N(0) = 0
        Traceback (most recent call last):
        ...
        AssertionError: J is not in the convex hull of the limiting Jacobians ...

    References:
        Clarke, Optimization and Nonsmooth Analysis (1983); Berner, Elbrächter, Grohs,
        Jentzen (2019), `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    _checks.network("net", net)
    _checks.activation("activation", activation)
    num_bases = _checks.size("num_bases", num_bases)
    if atol is not None:
        atol = _checks.nonnegative("atol", atol)
    key = jax.random.key(0) if key is None else _checks.prng_key("key", key)
    J = _checks.array("J", J)
    want = (net.output_dim, net.input_dim)
    if J.size != want[0] * want[1]:  # (N_L, N_0), or (N_0,) for a scalar output
        raise ValueError(f"J must have shape (N_L, N_0) = {want} (or N_L·N_0 entries) for a "
                         f"network with widths {net.widths}, got shape {J.shape}")
    _checks.finite_array("J", J)
    found = limiting_jacobians(net, x, key=key, num_bases=num_bases, activation=activation)
    upper, lower, weights = found.hull_distance(J)
    if atol is None:
        atol = found.default_atol
    if upper <= atol:
        return found
    elems = np.asarray(found.jacobians)
    listing = "\n".join(f"  J_{i + 1} = {np.array2string(e, precision=6)}"
                        for i, e in enumerate(elems))
    more = ("more limiting Jacobians may exist (search incomplete; try a larger num_bases)"
            if found.more_may_exist else "the elements found are all of ∂_B RΦ(x)")
    raise AssertionError(
        f"J is not in the convex hull of the limiting Jacobians at x = "
        f"{np.array2string(np.asarray(x), precision=6)}: distance in [{lower:.6g}, "
        f"{upper:.6g}] > atol = {atol:.3g}.\n"
        f"J = {np.array2string(np.asarray(J), precision=6)}\n"
        f"{len(elems)} element(s) found ({found.num_kinks} neuron(s) at a kink; {more}):\n"
        f"{listing}\n"
        f"closest convex combination weights: {np.array2string(weights, precision=4)}")
