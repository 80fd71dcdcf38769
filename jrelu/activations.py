r"""Activations with a fixed a.e. derivative, the same under every JAX transform.

An :class:`Activation` carries

* the function :math:`\varrho:\mathbb R\to\mathbb R`, applied componentwise;
* the chosen a.e. derivative :math:`D\varrho`, equal to :math:`\varrho'` wherever
  :math:`\varrho` is differentiable and to a documented value at the kinks
  (MATH.md §2);
* the one-sided derivatives :math:`\varrho'_-(z)` and :math:`\varrho'_+(z)`, which the
  directional and lexicographic derivatives use at kinks;
* the kink locations (empty for smooth activations).

Calling an activation applies a :func:`jax.custom_jvp` whose tangent rule is
:math:`\dot z \mapsto D\varrho(z)\,\dot z`. Hence ``jax.grad``, ``jvp``, ``vjp``,
``jacfwd`` and ``jacrev``, inside or outside ``jit`` and ``vmap``, all see the
same derivative, kinks included. (Contrast ``jnp.maximum(z, 0)``, whose JVP splits
ties 0.5/0.5, and ``jnp.abs``, whose derivative at 0 is 1.)

The tangent rule is written with differentiable ``jnp`` operations, so smooth
activations have correct higher derivatives under ``jax.hessian``; for the
piecewise-linear ones :math:`D\varrho` is piecewise constant and every second
derivative is 0 away from kinks.

Activations are frozen dataclasses: equal parameters give equal, hashable objects,
so an activation can be a static argument of ``jax.jit``.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp

__all__ = [
    "Activation",
    "ReLU",
    "LeakyReLU",
    "Abs",
    "HardTanh",
    "Softplus",
    "Tanh",
    "relu",
    "leaky_relu",
    "abs_activation",
    "hard_tanh",
    "softplus",
    "tanh",
]


def _check_finite(name: str, value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Activation:
    r"""Base class: an activation :math:`\varrho` with a chosen a.e. derivative.

    Subclasses implement :meth:`value`, :meth:`deriv`, :meth:`left_deriv` and
    :meth:`right_deriv` with ``jnp`` operations on arrays of any shape, and set
    :attr:`kinks`. Calling the object applies :math:`\varrho` with the custom JVP
    :math:`\dot z\mapsto D\varrho(z)\dot z`.
    """

    #: Points where :math:`\varrho` is not differentiable (empty if smooth).
    kinks = ()

    def value(self, z):
        r""":math:`\varrho(z)`, without any derivative rule attached."""
        raise NotImplementedError

    def deriv(self, z):
        r"""The chosen a.e. derivative :math:`D\varrho(z)`."""
        raise NotImplementedError

    def left_deriv(self, z):
        r""":math:`\varrho'_-(z)=\lim_{t\uparrow 0}(\varrho(z+t)-\varrho(z))/t`."""
        return self.deriv(z)

    def right_deriv(self, z):
        r""":math:`\varrho'_+(z)=\lim_{t\downarrow 0}(\varrho(z+t)-\varrho(z))/t`."""
        return self.deriv(z)

    def at_kink(self, z, tol: float = 0.0):
        r"""Boolean mask of the entries with :math:`|z-k|\le` ``tol`` for some kink k.

        With ``tol=0`` this flags exactly the pre-activations where :math:`D\varrho(z)` is
        a choice rather than a derivative. All False for smooth activations.
        """
        z = jnp.asarray(z)
        mask = jnp.zeros(z.shape, bool)
        for k in self.kinks:
            mask = mask | (jnp.abs(z - k) <= tol)
        return mask

    @property
    def is_smooth(self) -> bool:
        """True if the activation is C¹ (it has no kinks)."""
        return not self.kinks

    def __call__(self, z):
        z = jnp.asarray(z)
        if not jnp.issubdtype(z.dtype, jnp.inexact):
            z = z.astype(jnp.result_type(float))
        return _apply(self, z)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _apply(act: Activation, z):
    return act.value(z)


@_apply.defjvp
def _apply_jvp(act: Activation, primals, tangents):
    (z,), (dz,) = primals, tangents
    return _apply(act, z), act.deriv(z).astype(z.dtype) * dz


def _piecewise(z, at: float, below, above, at_value):
    """``below`` for z < at, ``above`` for z > at, ``at_value`` for z == at."""
    return jnp.where(z > at, above, jnp.where(z < at, below, at_value)).astype(z.dtype)


@dataclasses.dataclass(frozen=True)
class ReLU(Activation):
    r""":math:`\varrho(z)=\max(z,0)` with :math:`D\varrho(0)=c` (``kink``).

    :math:`D\varrho(z)=\mathbf 1_{(0,\infty)}(z)+c\,\mathbf 1_{\{0\}}(z)`. ``kink=0``
    is the convention of PyTorch, TensorFlow and ``jax.nn.relu``. One-sided
    derivatives at 0: left 0, right 1.
    """

    kink: float = 0.0
    kinks = (0.0,)

    def __post_init__(self):
        object.__setattr__(self, "kink", _check_finite("ReLU kink value Dϱ(0)", self.kink))

    def value(self, z):
        return jnp.maximum(z, jnp.zeros_like(z))

    def deriv(self, z):
        return _piecewise(z, 0.0, 0.0, 1.0, self.kink)

    def left_deriv(self, z):
        return (z > 0).astype(z.dtype)

    def right_deriv(self, z):
        return (z >= 0).astype(z.dtype)


@dataclasses.dataclass(frozen=True)
class LeakyReLU(Activation):
    r""":math:`\varrho(z)=z` for :math:`z\ge0`, :math:`\alpha z` for :math:`z<0`.

    :math:`D\varrho(z)=1` for z > 0, :math:`\alpha` (``negative_slope``) for z < 0,
    and ``kink`` at 0; the default ``kink=None`` means the left derivative
    :math:`\alpha`, matching ReLU's ``kink=0`` convention.
    """

    negative_slope: float = 0.01
    kink: float | None = None
    kinks = (0.0,)

    def __post_init__(self):
        slope = _check_finite("LeakyReLU negative_slope", self.negative_slope)
        object.__setattr__(self, "negative_slope", slope)
        kink = slope if self.kink is None else self.kink
        object.__setattr__(self, "kink", _check_finite("LeakyReLU kink value Dϱ(0)", kink))

    def value(self, z):
        return jnp.where(z >= 0, z, self.negative_slope * z)

    def deriv(self, z):
        return _piecewise(z, 0.0, self.negative_slope, 1.0, self.kink)

    def left_deriv(self, z):
        return jnp.where(z > 0, 1.0, self.negative_slope).astype(z.dtype)

    def right_deriv(self, z):
        return jnp.where(z >= 0, 1.0, self.negative_slope).astype(z.dtype)


@dataclasses.dataclass(frozen=True)
class Abs(Activation):
    r""":math:`\varrho(z)=|z|` with :math:`D\varrho(0)=c` (``kink``, default 0 = ``sign(0)``).

    One-sided derivatives at 0: left −1, right 1.
    """

    kink: float = 0.0
    kinks = (0.0,)

    def __post_init__(self):
        object.__setattr__(self, "kink", _check_finite("Abs kink value Dϱ(0)", self.kink))

    def value(self, z):
        return jnp.where(z >= 0, z, -z)

    def deriv(self, z):
        return _piecewise(z, 0.0, -1.0, 1.0, self.kink)

    def left_deriv(self, z):
        return jnp.where(z > 0, 1.0, -1.0).astype(z.dtype)

    def right_deriv(self, z):
        return jnp.where(z >= 0, 1.0, -1.0).astype(z.dtype)


@dataclasses.dataclass(frozen=True)
class HardTanh(Activation):
    r"""Clipped identity :math:`\varrho(z)=\min(\max(z,-1),1)`.

    :math:`D\varrho(z)=\mathbf 1_{(-1,1)}(z)`, and ``kink`` (default 0) at
    :math:`z=\pm1`. One-sided derivatives: at −1 left 0, right 1; at 1 left 1,
    right 0.
    """

    kink: float = 0.0
    kinks = (-1.0, 1.0)

    def __post_init__(self):
        object.__setattr__(self, "kink", _check_finite("HardTanh kink value Dϱ(±1)", self.kink))

    def value(self, z):
        return jnp.where(z > 1, jnp.ones_like(z), jnp.where(z < -1, -jnp.ones_like(z), z))

    def deriv(self, z):
        inside = (z > -1) & (z < 1)
        at_kink = (z == -1) | (z == 1)
        return jnp.where(inside, 1.0, jnp.where(at_kink, self.kink, 0.0)).astype(z.dtype)

    def left_deriv(self, z):
        return ((z > -1) & (z <= 1)).astype(z.dtype)

    def right_deriv(self, z):
        return ((z >= -1) & (z < 1)).astype(z.dtype)


@dataclasses.dataclass(frozen=True)
class Softplus(Activation):
    r""":math:`\varrho(z)=\log(1+e^{z})`, smooth, :math:`\varrho'=\sigma` (logistic),
    :math:`\varrho''=\sigma(1-\sigma)`."""

    def value(self, z):
        return jnp.logaddexp(z, jnp.zeros_like(z))

    def deriv(self, z):
        return jax.nn.sigmoid(z)


@dataclasses.dataclass(frozen=True)
class Tanh(Activation):
    r""":math:`\varrho(z)=\tanh z`, smooth, :math:`\varrho'=1-\tanh^2 z`."""

    def value(self, z):
        return jnp.tanh(z)

    def deriv(self, z):
        return 1.0 - jnp.tanh(z) ** 2


relu = ReLU(kink=0.0)
leaky_relu = LeakyReLU()
abs_activation = Abs()
hard_tanh = HardTanh()
softplus = Softplus()
tanh = Tanh()
