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

import jax
import jax.numpy as jnp

from .activations import Activation, relu
from .network import Network, check_input

__all__ = ["derivative"]


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
