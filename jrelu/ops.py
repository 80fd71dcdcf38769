r"""Nonsmooth elementwise operations with one derivative convention: ``abs``, ``maximum``,
``minimum``, ``clip``.

Each operation returns exactly the value of its ``jnp`` namesake, and its derivative is
the chain-rule derivative (the network derivative :math:`D^N`) of an expression in ReLU
and linear maps, with the :math:`D\varrho` of ``jrelu.ReLU()`` (:math:`D\varrho(0)=0`):

.. math::
    \mathrm{maximum}(a,b)&=a+\varrho(b-a), &
    \mathrm{minimum}(a,b)&=a-\varrho(a-b),\\
    \mathrm{abs}(x)&=\varrho(x)+\varrho(-x), &
    \mathrm{clip}(x,l,h)&=\mathrm{minimum}(\mathrm{maximum}(x,l),h).

The resulting convention at ties:

* ``maximum(a, b)`` and ``minimum(a, b)`` at a = b: the derivative goes to the **first
  argument**: :math:`\partial_a=1`, :math:`\partial_b=0` (``jnp.maximum``/``jnp.minimum``
  give 0.5 and 0.5). This is a one-sided derivative, hence a limiting (B-) gradient.
* ``abs(x)`` at x = 0: derivative **0** (:math:`\mathrm{sign}(0)`, the minimum-norm
  element of the subdifferential [−1, 1], as ``torch.abs``; ``jnp.abs`` gives 1).
  It is the :class:`~jrelu.Abs` activation with ``deriv_at_kink=0``.
* ``clip(x, lo, hi)`` at x = lo or x = hi: derivative 1 in x and 0 in the bound
  (``torch.clamp`` also gives 1 in x; ``jnp.clip`` gives 0.5).

Each is a ``jax.custom_jvp`` (directly, or through an :class:`~jrelu.Activation`)
whose tangent rule uses :meth:`Activation.deriv`, so ``grad``, ``jacfwd``, ``jacrev``,
``jvp``, ``vjp``, ``jit`` and ``vmap`` all see these values. Inputs broadcast like their
``jnp`` namesakes; integer inputs are promoted to the default float dtype.

References:
  Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .activations import Abs, relu

__all__ = ["abs", "maximum", "minimum", "clip"]

#: :math:`\varrho`'s a.e. derivative used at ties: ReLU with :math:`D\varrho(0)=0`.
_TIE = relu
_ABS = Abs(deriv_at_kink=0.0)


def _float_args(**named):
    """The arguments as arrays of one floating dtype; TypeError naming a non-array."""
    args = []
    for name, a in named.items():
        if isinstance(a, (str, bytes, dict)) or a is None or callable(a):
            raise TypeError(f"{name} must be an array, got {type(a).__name__}: {a!r:.80}")
        try:
            arr = jnp.asarray(a)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{name} must be an array of real numbers, got "
                            f"{type(a).__name__} ({e})") from None
        if arr.dtype == jnp.bool_ or not (jnp.issubdtype(arr.dtype, jnp.floating)
                                          or jnp.issubdtype(arr.dtype, jnp.integer)):
            raise TypeError(f"{name} must be a real array, got dtype {arr.dtype}")
        args.append(arr)
    if len(args) == 2:
        try:
            jnp.broadcast_shapes(args[0].shape, args[1].shape)
        except ValueError:
            n0, n1 = named
            raise ValueError(f"{n0} and {n1} must broadcast together, got shapes "
                             f"{args[0].shape} and {args[1].shape}") from None
    dtype = jnp.result_type(*args)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.result_type(float)
    return [a.astype(dtype) for a in args]


@jax.custom_jvp
def _maximum(a, b):
    return jnp.maximum(a, b)


@_maximum.defjvp
def _maximum_jvp(primals, tangents):
    a, b = primals
    da, db = tangents
    # D^N of a + ϱ(b − a): 1 − Dϱ(b − a) to a, Dϱ(b − a) to b. The float difference b − a
    # is 0 iff a = b and has the sign of b − a, so the selection is exact.
    s = _TIE.deriv(b - a).astype(a.dtype)
    return _maximum(a, b), (1 - s) * da + s * db


@jax.custom_jvp
def _minimum(a, b):
    return jnp.minimum(a, b)


@_minimum.defjvp
def _minimum_jvp(primals, tangents):
    a, b = primals
    da, db = tangents
    # D^N of a − ϱ(a − b): 1 − Dϱ(a − b) to a, Dϱ(a − b) to b.
    s = _TIE.deriv(a - b).astype(a.dtype)
    return _minimum(a, b), (1 - s) * da + s * db


def maximum(a: ArrayLike, b: ArrayLike) -> jax.Array:
    r""":math:`\max(a,b)` elementwise; at a = b the derivative is 1 in a and 0 in b.

    Derivative: :math:`D^N` of :math:`a+\varrho(b-a)` with :math:`D\varrho(0)=0`,

    .. math::
        (\partial_a,\partial_b)\max(a,b)=(1-D\varrho(b-a),\,D\varrho(b-a)).

    Args:
      a: an array.
      b: an array broadcastable with ``a``.

    Returns:
      ``jnp.maximum(a, b)``, of the broadcast shape (a floating dtype).

    Raises:
      TypeError: if ``a`` or ``b`` is not a real array (a string, None, a bool or complex
        array, ...).
      ValueError: if the shapes do not broadcast.

    Example:
        >>> from jrelu import ops
        >>> [float(g) for g in jax.grad(ops.maximum, argnums=(0, 1))(1.0, 1.0)]
        [1.0, 0.0]

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    a, b = _float_args(a=a, b=b)
    a, b = jnp.broadcast_arrays(a, b)
    return _maximum(a, b)


def minimum(a: ArrayLike, b: ArrayLike) -> jax.Array:
    r""":math:`\min(a,b)` elementwise; at a = b the derivative is 1 in a and 0 in b.

    Derivative: :math:`D^N` of :math:`a-\varrho(a-b)` with :math:`D\varrho(0)=0`,

    .. math::
        (\partial_a,\partial_b)\min(a,b)=(1-D\varrho(a-b),\,D\varrho(a-b)).

    Args:
      a: an array.
      b: an array broadcastable with ``a``.

    Returns:
      ``jnp.minimum(a, b)``, of the broadcast shape (a floating dtype).

    Raises:
      TypeError: if ``a`` or ``b`` is not a real array (a string, None, a bool or complex
        array, ...).
      ValueError: if the shapes do not broadcast.

    Example:
        >>> from jrelu import ops
        >>> [float(g) for g in jax.grad(ops.minimum, argnums=(0, 1))(1.0, 1.0)]
        [1.0, 0.0]

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    a, b = _float_args(a=a, b=b)
    a, b = jnp.broadcast_arrays(a, b)
    return _minimum(a, b)


def abs(x: ArrayLike) -> jax.Array:  # noqa: A001 - mirrors jnp.abs
    r""":math:`|x|` elementwise with derivative :math:`\mathrm{sign}(x)`, 0 at x = 0.

    .. math::
        |x|=\varrho(x)+\varrho(-x),\qquad \frac{d}{dx}|x|=\mathrm{sign}(x)
        \quad(\mathrm{sign}(0)=0).

    The :class:`~jrelu.Abs` activation with ``deriv_at_kink=0``; equal to :math:`D^N` of
    :math:`\varrho(x)+\varrho(-x)` for every value of ReLU's :math:`D\varrho(0)`.

    Args:
      x: an array.

    Returns:
      ``jnp.abs(x)`` (a floating dtype).

    Raises:
      TypeError: if ``x`` is not a real array (a string, None, a bool or complex array,
        ...).

    Example:
        >>> from jrelu import ops
        >>> float(jax.grad(ops.abs)(0.0)), float(jax.grad(jnp.abs)(0.0))
        (0.0, 1.0)

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    (x,) = _float_args(x=x)
    return _ABS(x)


def clip(x: ArrayLike, *, lo: ArrayLike | None = None,
         hi: ArrayLike | None = None) -> jax.Array:
    r""":math:`\min(\max(x,l),h)` elementwise (``jnp.clip``'s value, including l > h).

    .. math::
        \mathrm{clip}(x,l,h)=\mathrm{minimum}(\mathrm{maximum}(x,l),h).

    Derivative: that of ``minimum(maximum(x, lo), hi)``, so 1 in x on
    :math:`l\le x\le h` (ties included) and 0 outside; the bound that is strictly
    active gets derivative 1.

    Args:
      x: an array.
      lo: (keyword-only) the lower bound, broadcastable with ``x``; None for no bound.
      hi: (keyword-only) the upper bound, broadcastable with ``x``; None for no bound.

    Returns:
      ``jnp.clip(x, lo, hi)`` (a floating dtype).

    Raises:
      TypeError: if ``x``, ``lo`` or ``hi`` is not a real array (a string, a bool, a
        complex array, ...).
      ValueError: if both bounds are None, or the shapes do not broadcast.

    Example:
        >>> from jrelu import ops
        >>> float(jax.grad(lambda s: ops.clip(s, lo=0.0, hi=1.0))(1.0))
        1.0
        >>> ops.clip(jnp.array([-1.0, 0.5, 2.0]), lo=0.0, hi=1.0).tolist()
        [0.0, 0.5, 1.0]

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    if lo is None and hi is None:
        raise ValueError("clip needs at least one of lo and hi")
    (x,) = _float_args(x=x)
    if lo is not None:
        _float_args(x=x, lo=lo)
        x = maximum(x, lo)
    if hi is not None:
        _float_args(x=x, hi=hi)
        x = minimum(x, hi)
    return x
