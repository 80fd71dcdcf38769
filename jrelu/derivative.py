r"""The network derivative :math:`D^N\Phi` (MATH.md §2, [BEGJ]).

.. math::
    D^N\Phi(x)=A_L\,\mathrm{diag}(D\varrho(R_{L-1}\Phi(x)))\,A_{L-1}\cdots
    \mathrm{diag}(D\varrho(R_1\Phi(x)))\,A_1\in\mathbb R^{N_L\times N_0}.

It is what backpropagation computes, equals :math:`\nabla R\Phi` almost everywhere,
and obeys the chain rule :math:`D^N(\Psi\circ\Phi)(x)=D^N\Psi(R\Phi(x))\,D^N\Phi(x)`
at *every* x. Because :class:`~jrelu.Activation` fixes :math:`D\varrho` through a
custom JVP, ``jax.jacrev``/``jax.jacfwd`` of :func:`jrelu.realize` return the same
matrix, kinks included.
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .activations import Activation, relu
from .network import Network, check_input, preactivations

__all__ = [
    "derivative",
    "KinkReport",
    "kink_report",
    "directional_derivative",
    "lexicographic_jacobian",
    "LimitingJacobians",
    "limiting_jacobians",
]


def derivative(net: Network, x, activation: Activation = relu) -> jax.Array:
    r"""The network derivative :math:`D^N\Phi(x)` by the product formula.

    Args:
      net: the network :math:`((A_1,b_1),\dots,(A_L,b_L))`.
      x: shape ``(N_0,)`` or ``(..., N_0)``.
      activation: :math:`\varrho`; its :meth:`~jrelu.Activation.deriv` is the
        :math:`D\varrho` in the formula.

    Returns:
      shape ``(N_L, N_0)`` or ``(..., N_L, N_0)``.

    One forward pass computes the pre-activations :math:`R_1\Phi(x),\dots,
    R_{L-1}\Phi(x)`; the product is then accumulated with batched matrix products,
    from the output side (reverse order, :math:`N_L\cdot\sum_k N_kN_{k-1}` flops a
    point) when :math:`N_L<N_0`, from the input side (forward order,
    :math:`N_0\cdot\sum_k N_kN_{k-1}`) otherwise.
    """
    x = check_input(net, x)
    masks = []
    h = x
    for A, b in net.layers[:-1]:
        z = jnp.matmul(h, A.T) + b
        masks.append(activation.deriv(z).astype(z.dtype))
        h = activation(z)
    if net.output_dim < net.input_dim:
        # Reverse: J ← (J · diag(m_k)) A_k, starting from J = A_L.
        J = net.layers[-1][0]
        for (A, _), m in zip(reversed(net.layers[:-1]), reversed(masks)):
            J = jnp.matmul(J * m[..., None, :], A)
    else:
        # Forward: J ← A_{k+1} (diag(m_k) J), starting from J = A_1.
        J = net.layers[0][0]
        for (A, _), m in zip(net.layers[1:], masks):
            J = jnp.matmul(A, m[..., :, None] * J)
    if J.ndim == 2 and x.ndim > 1:  # depth 1: D^N = A_1 at every point
        J = jnp.broadcast_to(J, x.shape[:-1] + J.shape)
    return J


# -- shared input checks -------------------------------------------------------


def _check_activation(activation) -> Activation:
    if not isinstance(activation, Activation):
        raise TypeError(f"activation must be a jrelu.Activation (e.g. jrelu.relu), got "
                        f"{type(activation).__name__}: {activation!r}")
    return activation


def _check_network(net) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"net must be a jrelu.Network, got {type(net).__name__}")
    return net


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def _check_finite_array(name: str, x) -> None:
    """ValueError naming the first non-finite entry of ``x`` (skipped under ``jit``)."""
    if not _is_concrete(x):
        return
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.inexact):
        return
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        idx = tuple(int(i) for i in bad[0])
        raise ValueError(f"{name} has a non-finite entry {arr[idx]} at index {idx}")


# -- kink reports --------------------------------------------------------------


def _non_one_sided_kinks(activation: Activation, dtype) -> tuple[float, ...]:
    r"""The kinks :math:`\kappa` where :math:`D\varrho(\kappa)\notin\{\varrho'_-(\kappa),
    \varrho'_+(\kappa)\}` (a static property of the activation, evaluated eagerly)."""
    bad = []
    with jax.ensure_compile_time_eval():
        for kappa in activation.kinks:
            k = jnp.asarray(kappa, dtype)
            d = activation.deriv(k)
            if not bool((d == activation.left_deriv(k)) | (d == activation.right_deriv(k))):
                bad.append(kappa)
    return tuple(bad)


class KinkReport(NamedTuple):
    r"""Where a batch of inputs sits on kinks of the activation, layer by layer.

    A NamedTuple, hence a pytree: it can be returned from ``jit``. Layers are the hidden
    layers k = 1, …, L−1 (the output layer has no activation). "Exact" means
    :math:`R_k\Phi(x)_i` equals a kink of :math:`\varrho` exactly, "near" means
    :math:`|R_k\Phi(x)_i-\kappa|\le` ``tol`` (both via :meth:`Activation.at_kink`).

    Fields:
      exact_counts: per hidden layer, an int scalar: the number of (point, neuron) pairs
        exactly at a kink.
      near_counts: per hidden layer, an int scalar: the same with tolerance ``tol``.
      neuron_hits: per hidden layer, an int array ``(N_k,)``: for each neuron the number
        of points where it is exactly at a kink.
      point_counts: int array ``X.shape[:-1]``: the number of neurons (all layers)
        exactly at a kink at each point.
      affected: bool array ``X.shape[:-1]``: the point has an exact kink in some layer.
      may_differ: bool array ``X.shape[:-1]``: :math:`D^N\Phi(x)` may differ from every
        limiting Jacobian at x (see :func:`kink_report` for the exact criterion).
    """

    exact_counts: tuple
    near_counts: tuple
    neuron_hits: tuple
    point_counts: jax.Array
    affected: jax.Array
    may_differ: jax.Array

    @property
    def total_exact(self):
        """Number of (point, neuron) pairs exactly at a kink, over all hidden layers."""
        return sum(self.exact_counts, jnp.zeros((), int))

    @property
    def total_near(self):
        """Number of (point, neuron) pairs within ``tol`` of a kink, over all hidden layers."""
        return sum(self.near_counts, jnp.zeros((), int))

    @property
    def num_affected(self):
        """Number of points with an exact kink."""
        return jnp.sum(self.affected)

    @property
    def num_may_differ(self):
        r"""Number of points where :math:`D^N\Phi` may not be a limiting Jacobian."""
        return jnp.sum(self.may_differ)

    def summary(self) -> dict:
        """Plain Python ints and lists, ready for ``json.dumps`` (needs concrete arrays)."""
        return {
            "exact_counts": [int(c) for c in self.exact_counts],
            "near_counts": [int(c) for c in self.near_counts],
            "total_exact": int(self.total_exact),
            "total_near": int(self.total_near),
            "num_points": int(np.size(self.affected)),
            "num_affected": int(self.num_affected),
            "num_may_differ": int(self.num_may_differ),
            "neurons_hit": [int(np.count_nonzero(np.asarray(h))) for h in self.neuron_hits],
        }


def kink_report(net: Network, X, tol=0.0, activation: Activation = relu) -> KinkReport:
    r"""Count the (point, neuron) pairs of a batch that sit on a kink, and flag where
    :math:`D^N\Phi` may fail to be a limiting Jacobian.

    One forward pass (:func:`jrelu.preactivations`) and elementwise reductions, so it is
    cheap enough for every training batch and works under ``jax.jit`` (``activation``
    static, ``tol`` may be traced).

    Args:
      net: the network.
      X: inputs, shape ``(N_0,)`` or ``(..., N_0)``.
      tol: nonnegative; the "near" counts use :math:`|z-\kappa|\le` ``tol``.
      activation: :math:`\varrho`; its :meth:`~jrelu.Activation.at_kink` is the kink mask.

    Returns:
      a :class:`KinkReport`.

    **The criterion for** ``may_differ``. Let :math:`m(x)` be the number of hidden neurons
    with :math:`R_k\Phi(x)_i` exactly at a kink :math:`\kappa`. Then ``may_differ`` is

    .. math::
        m(x)\ge2\quad\text{or}\quad\bigl(m(x)=1\text{ and }D\varrho(\kappa)\notin
        \{\varrho'_-(\kappa),\varrho'_+(\kappa)\}\text{ at that neuron}\bigr).

    It is *sound*: where it is False, :math:`D^N\Phi(x)\in\partial_B R\Phi(x)`. Proof for
    an activation that is C¹ away from finitely many kinks and piecewise C¹ at them (all of
    jrelu's activations): if m(x) = 0 every neuron stays off the kinks near x, so
    :math:`R\Phi` is C¹ near x with :math:`\nabla R\Phi(x)=D^N\Phi(x)`. If m(x) = 1, let
    (k, i) be the kink neuron; no neuron of layers < k is at a kink, so
    :math:`z=R_k\Phi(\cdot)_i` is C¹ near x with gradient g. If g ≠ 0, the points
    :math:`x\pm tg` (sign chosen so that z moves to the side whose one-sided derivative
    equals :math:`D\varrho(\kappa)`) have no neuron on a kink for small t > 0, and
    :math:`\nabla R\Phi(x\pm tg)\to D^N\Phi(x)`. If g = 0, the neuron's term in the product
    formula is multiplied by g = 0, so every nearby gradient tends to :math:`D^N\Phi(x)`,
    which is then the only limiting Jacobian.

    It is *conservative* (True although :math:`D^N\Phi(x)` may be a limiting Jacobian)
    exactly in these cases: two or more neurons at a kink at x (then :math:`D^N` is a
    limiting Jacobian iff the pattern it uses is realized by an adjacent piece, which takes
    a linear-programming feasibility check to decide, e.g. via :func:`limiting_jacobians`);
    or one neuron at a kink with a non-one-sided choice such as ``ReLU(kink=0.5)`` whose
    gradient g or downstream weight happens to vanish. With ``jrelu.relu`` (c = 0) the
    second case never arises. For smooth activations ``may_differ`` is always False.
    """
    net = _check_network(net)
    activation = _check_activation(activation)
    X = check_input(net, X)
    if _is_concrete(tol):
        t = np.asarray(tol)
        if t.shape != () or not np.isfinite(t) or t < 0:
            raise ValueError(f"tol must be a finite nonnegative scalar, got {tol!r}")
    zs = preactivations(net, X, activation)[:-1]
    batch_shape = X.shape[:-1]
    bad_kinks = _non_one_sided_kinks(activation, X.dtype)
    same_mask = isinstance(tol, (int, float)) and tol == 0
    exact_counts, near_counts, neuron_hits = [], [], []
    point_counts = jnp.zeros(batch_shape, int)
    bad_choice = jnp.zeros(batch_shape, bool)
    batch_axes = tuple(range(len(batch_shape)))
    for z in zs:
        exact = activation.at_kink(z)
        per_neuron = jnp.sum(exact, axis=batch_axes, dtype=int)
        neuron_hits.append(per_neuron)
        exact_counts.append(jnp.sum(per_neuron))
        if same_mask:
            near_counts.append(exact_counts[-1])
        else:
            near_counts.append(jnp.sum(activation.at_kink(z, tol), dtype=int))
        point_counts = point_counts + jnp.sum(exact, axis=-1, dtype=int)
        for kappa in bad_kinks:
            bad_choice = bad_choice | jnp.any(z == kappa, axis=-1)
    affected = point_counts > 0
    may_differ = (point_counts >= 2) | ((point_counts == 1) & bad_choice)
    return KinkReport(tuple(exact_counts), tuple(near_counts), tuple(neuron_hits),
                      point_counts, affected, may_differ)
