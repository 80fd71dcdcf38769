r"""Activations with a fixed a.e. derivative, the same under every JAX transform.

An :class:`Activation` carries

* the function :math:`\varrho:\mathbb R\to\mathbb R`, applied componentwise;
* the chosen a.e. derivative :math:`D\varrho`, equal to :math:`\varrho'` wherever
  :math:`\varrho` is differentiable and to a documented value (``deriv_at_kink``) at the
  kinks;
* the one-sided derivatives :math:`\varrho'_-(z)` and :math:`\varrho'_+(z)`, which the
  directional and lexicographic derivatives use at kinks;
* the kink locations (empty for smooth activations) and the data that certified bounds
  need: the slope on each linear piece, a Lipschitz constant, the accuracy of the
  floating-point evaluation, and interval images of :math:`\varrho` and :math:`D\varrho`.

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
so an activation can be a static argument of ``jax.jit``. Fields with a default value
are keyword-only: ``ReLU(deriv_at_kink=0.5)``, ``LeakyReLU(negative_slope=0.1)``.

:class:`Smoothing` holds the smoothing families :math:`R_r\to\mathrm{ReLU}` used to
approximate the generalized gradient of a training cost by honest gradients.

References:
  Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_;
  Dereich, Do, Jentzen, Weber (2025), `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import ClassVar

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from . import _checks

__all__ = [
    "Activation",
    "ReLU",
    "LeakyReLU",
    "Abs",
    "HardTanh",
    "Softplus",
    "Tanh",
    "Smoothing",
]

def _as_float(z, name: str = "z") -> jax.Array:
    """``z`` as a JAX array of a floating dtype (integers promoted to the default float);
    TypeError naming ``name`` for a string, None, a bool or complex array."""
    z = _checks.real_array(name, z)
    if not jnp.issubdtype(z.dtype, jnp.inexact):
        z = z.astype(jnp.result_type(float))
    return z


def _check_kink_value(value) -> float:
    return _checks.real("deriv_at_kink", value)


@dataclasses.dataclass(frozen=True)
class Activation:
    r"""Base class: an activation :math:`\varrho` with a chosen a.e. derivative.

    Subclasses implement :meth:`value`, :meth:`deriv` (and, at kinks, :meth:`left_deriv`
    and :meth:`right_deriv`) with ``jnp`` operations on arrays of any shape, and set the
    class attributes :attr:`kinks` and :attr:`value_ulps`. A piecewise-linear subclass
    sets :attr:`slopes`, which gives :meth:`image`, :meth:`deriv_image` and
    :attr:`lipschitz` for free; a smooth subclass overrides those three. Calling the
    object applies :math:`\varrho` with the custom JVP

    .. math::
        \dot z\mapsto D\varrho(z)\,\dot z .

    Example:
        >>> act = jrelu.ReLU(deriv_at_kink=0.5)
        >>> act(jnp.array([-1.0, 0.0, 2.0])).tolist()
        [0.0, 0.0, 2.0]
        >>> float(jax.grad(act)(0.0))
        0.5

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """

    #: Sorted points where :math:`\varrho` is not differentiable (empty if smooth).
    kinks: ClassVar[tuple[float, ...]] = ()

    #: How many units in the last place the floating-point evaluation of :meth:`value` may
    #: be off (0 when it is exact). The default is the conservative assumption for
    #: transcendental functions; subclasses state their own.
    value_ulps: ClassVar[int] = 64

    #: How many units in the last place the floating-point evaluation of :meth:`deriv` may
    #: be off, for smooth activations; ``None`` means the conservative ``4 * value_ulps``.
    deriv_ulps: ClassVar[int | None] = None

    def value(self, z: ArrayLike) -> jax.Array:
        r""":math:`\varrho(z)`, componentwise, without any derivative rule attached.

        Args:
          z: pre-activations, any shape.

        Returns:
          :math:`\varrho(z)`, same shape and dtype as ``z``.

        Raises:
          TypeError: if ``z`` is not a real array (e.g. a string, a bool array).

        Example:
            >>> jrelu.Abs().value(jnp.array([-2.0, 3.0])).tolist()
            [2.0, 3.0]
        """
        raise NotImplementedError

    def deriv(self, z: ArrayLike) -> jax.Array:
        r"""The chosen a.e. derivative :math:`D\varrho(z)`, componentwise.

        .. math::
            D\varrho(z)=\varrho'(z)\ \text{where }\varrho\text{ is differentiable},\qquad
            D\varrho(k)=\texttt{deriv\_at\_kink}\ \text{at a kink } k.

        A NaN pre-activation has no slope: :math:`D\varrho(\mathrm{NaN})=\mathrm{NaN}` for
        every built-in activation (so a NaN input makes :func:`jrelu.derivative` NaN, never
        a finite matrix), and :math:`D\varrho(\pm\infty)` is the limit of
        :math:`D\varrho(z)` as :math:`z\to\pm\infty` (the slope of the unbounded piece).
        Subclasses must keep both rules, here and in :meth:`left_deriv` and
        :meth:`right_deriv`.

        Args:
          z: pre-activations, any shape.

        Returns:
          :math:`D\varrho(z)`, same shape and dtype as ``z``; NaN where ``z`` is NaN.

        Raises:
          TypeError: if ``z`` is not a real array (e.g. a string, a bool array).

        Example:
            >>> jrelu.ReLU(deriv_at_kink=0.5).deriv(jnp.array([-1.0, 0.0, 1.0])).tolist()
            [0.0, 0.5, 1.0]
            >>> jrelu.ReLU().deriv(jnp.array([jnp.nan, jnp.inf, -jnp.inf])).tolist()
            [nan, 1.0, 0.0]
        """
        raise NotImplementedError

    def left_deriv(self, z: ArrayLike) -> jax.Array:
        r"""The left derivative, componentwise.

        .. math::
            \varrho'_-(z)=\lim_{t\uparrow 0}\frac{\varrho(z+t)-\varrho(z)}{t}.

        Args:
          z: pre-activations, any shape.

        Returns:
          :math:`\varrho'_-(z)`, same shape and dtype as ``z``; NaN where ``z`` is NaN.

        Raises:
          TypeError: if ``z`` is not a real array (e.g. a string, a bool array).

        Example:
            >>> jrelu.Abs().left_deriv(jnp.array([0.0])).tolist()
            [-1.0]
        """
        return self.deriv(z)

    def right_deriv(self, z: ArrayLike) -> jax.Array:
        r"""The right derivative, componentwise.

        .. math::
            \varrho'_+(z)=\lim_{t\downarrow 0}\frac{\varrho(z+t)-\varrho(z)}{t}.

        Args:
          z: pre-activations, any shape.

        Returns:
          :math:`\varrho'_+(z)`, same shape and dtype as ``z``; NaN where ``z`` is NaN.

        Raises:
          TypeError: if ``z`` is not a real array (e.g. a string, a bool array).

        Example:
            >>> jrelu.Abs().right_deriv(jnp.array([0.0])).tolist()
            [1.0]
        """
        return self.deriv(z)

    def kink_mask(self, z: ArrayLike, *, tol: float = 0.0) -> jax.Array:
        r"""Boolean mask of the entries within ``tol`` of a kink.

        .. math::
            m_i=\bigl[\exists k\in\texttt{kinks}:\ |z_i-k|\le\texttt{tol}\bigr].

        With ``tol=0`` this flags exactly the pre-activations where :math:`D\varrho(z)` is
        a choice rather than a derivative. All False for smooth activations.

        Args:
          z: pre-activations, any shape.
          tol: the distance to a kink that still counts, >= 0.

        Returns:
          a boolean array of the shape of ``z``.

        Raises:
          TypeError: if ``z`` is not a real array or ``tol`` not a real number.
          ValueError: if ``tol`` is negative or not finite.

        Example:
            >>> z = jnp.array([-1.0, 0.0, 1e-9])
            >>> jrelu.ReLU().kink_mask(z).tolist()
            [False, True, False]
            >>> jrelu.ReLU().kink_mask(z, tol=1e-6).tolist()
            [False, True, True]
        """
        z = _as_float(z)
        if _checks.is_concrete(tol):
            _checks.nonnegative("tol", tol)
        mask = jnp.zeros(z.shape, bool)
        for k in self.kinks:
            mask = mask | (jnp.abs(z - k) <= tol)
        return mask

    @property
    def is_smooth(self) -> bool:
        r"""True if the activation is C¹, i.e. it has no kinks (:math:`\texttt{kinks}=()`).

        Example:
            >>> jrelu.Tanh().is_smooth, jrelu.ReLU().is_smooth
            (True, False)
        """
        return not self.kinks

    @property
    def slopes(self) -> tuple[float, ...] | None:
        r"""The slope :math:`\varrho'` on each of the ``len(kinks) + 1`` open pieces.

        For kinks :math:`k_1<\dots<k_m` the pieces are :math:`(-\infty,k_1),(k_1,k_2),
        \dots,(k_m,\infty)`; None for an activation that is not piecewise linear.

        Example:
            >>> jrelu.HardTanh().slopes
            (0.0, 1.0, 0.0)
            >>> jrelu.Softplus().slopes is None
            True
        """
        return None

    @property
    def lipschitz(self) -> float:
        r"""A Lipschitz constant of :math:`\varrho`: :math:`\sup|\varrho'|` off the kinks.

        .. math::
            |\varrho(z)-\varrho(w)|\le L\,|z-w|,\qquad L=\sup_{z\notin\texttt{kinks}}
            |\varrho'(z)| .

        Raises:
          NotImplementedError: for a subclass that is neither piecewise linear (with
            :attr:`slopes`) nor overrides this property.

        Example:
            >>> jrelu.LeakyReLU(negative_slope=-1.5).lipschitz
            1.5
        """
        if self.slopes is None:
            raise NotImplementedError(f"{type(self).__name__} does not state a Lipschitz "
                                      "constant (override Activation.lipschitz)")
        return max(abs(s) for s in self.slopes)

    def image(self, lo: ArrayLike, hi: ArrayLike) -> tuple[jax.Array, jax.Array]:
        r"""The interval hull of :math:`\varrho([\ell,h])`, elementwise.

        .. math::
            [\min\varrho([\ell,h]),\ \max\varrho([\ell,h])],

        computed with the formulas of exact arithmetic in the dtype of the inputs: the
        caller adds the rounding slack of :attr:`value_ulps`. For a piecewise-linear
        activation this is the hull of :math:`\varrho(\ell)`, :math:`\varrho(h)` and
        :math:`\varrho(k)` for the kinks :math:`k\in[\ell,h]`. Infinite ends are allowed:
        ``image(-inf, inf)`` is the range of :math:`\varrho`.

        Args:
          lo: lower ends :math:`\ell`, any shape.
          hi: upper ends :math:`h\ge\ell`, broadcastable with ``lo``.

        Returns:
          ``(lo, hi)`` of the image, arrays of the broadcast shape.

        Raises:
          NotImplementedError: for a subclass that is neither piecewise linear nor
            overrides this method.

        Example:
            >>> lo, hi = jrelu.Abs().image(jnp.array([-2.0, 1.0]), jnp.array([1.0, 3.0]))
            >>> lo.tolist(), hi.tolist()
            ([0.0, 1.0], [2.0, 3.0])
        """
        if self.slopes is None:
            raise NotImplementedError(f"{type(self).__name__} has no interval image "
                                      "(override Activation.image)")
        lo, hi = _as_float(lo, "lo"), _as_float(hi, "hi")
        vl, vu = self.value(lo), self.value(hi)
        out_lo, out_hi = jnp.minimum(vl, vu), jnp.maximum(vl, vu)
        for k in self.kinks:
            rk = self.value(jnp.asarray(k, out_lo.dtype))
            inside = (lo <= k) & (k <= hi)
            out_lo = jnp.where(inside, jnp.minimum(out_lo, rk), out_lo)
            out_hi = jnp.where(inside, jnp.maximum(out_hi, rk), out_hi)
        return out_lo, out_hi

    def deriv_image(self, lo: ArrayLike, hi: ArrayLike) -> tuple[jax.Array, jax.Array]:
        r"""The interval hull of the derivative values over :math:`[\ell,h]`, elementwise.

        .. math::
            \mathrm{hull}\bigl(\{D\varrho(z):z\in[\ell,h]\}\cup
            \{\varrho'_+(z):z\in[\ell,h)\}\cup\{\varrho'_-(z):z\in(\ell,h]\}\bigr),

        so the chosen values at kinks inside :math:`[\ell,h]` are included, and so is the
        slope of every open piece that meets the interval. Computed in the dtype of the
        inputs; the caller adds rounding slack. NaN ends give the hull of all slopes and
        kink values.

        Args:
          lo: lower ends :math:`\ell`, any shape.
          hi: upper ends :math:`h\ge\ell`, broadcastable with ``lo``.

        Returns:
          ``(lo, hi)`` of the derivative values, arrays of the broadcast shape.

        Raises:
          NotImplementedError: for a subclass that is neither piecewise linear nor
            overrides this method.

        Example:
            >>> act = jrelu.ReLU(deriv_at_kink=2.0)
            >>> lo, hi = act.deriv_image(jnp.array([-1.0, 0.0]), jnp.array([1.0, 0.0]))
            >>> lo.tolist(), hi.tolist()
            ([0.0, 2.0], [2.0, 2.0])
        """
        slopes = self.slopes
        if slopes is None:
            raise NotImplementedError(f"{type(self).__name__} has no derivative image "
                                      "(override Activation.deriv_image)")
        lo, hi = _as_float(lo, "lo"), _as_float(hi, "hi")
        lo, hi = jnp.broadcast_arrays(lo, hi)
        ends = [-math.inf, *self.kinks, math.inf]
        out_lo = jnp.full(lo.shape, jnp.inf, lo.dtype)
        out_hi = jnp.full(lo.shape, -jnp.inf, lo.dtype)
        for i, v in enumerate(slopes):  # open piece (ends[i], ends[i+1]) meets [lo, hi]
            meets = (lo < ends[i + 1]) & (hi > ends[i])
            out_lo = jnp.where(meets, jnp.minimum(out_lo, v), out_lo)
            out_hi = jnp.where(meets, jnp.maximum(out_hi, v), out_hi)
        kink_values = [self.deriv(jnp.asarray(k, lo.dtype)) for k in self.kinks]
        for k, c in zip(self.kinks, kink_values):  # the chosen value where the kink is inside
            inside = (lo <= k) & (k <= hi)
            out_lo = jnp.where(inside, jnp.minimum(out_lo, c), out_lo)
            out_hi = jnp.where(inside, jnp.maximum(out_hi, c), out_hi)
        every = jnp.asarray([*slopes, *kink_values], lo.dtype)
        empty = ~(out_lo <= out_hi)  # NaN ends (from overflow): every value
        return (jnp.where(empty, jnp.min(every), out_lo),
                jnp.where(empty, jnp.max(every), out_hi))

    def __call__(self, z: ArrayLike) -> jax.Array:
        r""":math:`\varrho(z)` with the custom JVP :math:`\dot z\mapsto D\varrho(z)\dot z`."""
        return _apply(self, _as_float(z))


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _apply(act: Activation, z):
    return act.value(z)


@_apply.defjvp
def _apply_jvp(act: Activation, primals, tangents):
    (z,), (dz,) = primals, tangents
    return _apply(act, z), act.deriv(z).astype(z.dtype) * dz


def _piecewise(z, at: float, below, above, at_value):
    """``below`` for z < at, ``above`` for z > at, ``at_value`` for z == at, NaN for NaN."""
    return jnp.where(z > at, above, jnp.where(z < at, below, jnp.where(z == at, at_value,
                                                                       jnp.nan))
                     ).astype(z.dtype)


def _nan_at_nan(z, d):
    """``d`` with NaN where ``z`` is NaN (a NaN pre-activation has no slope)."""
    return jnp.where(jnp.isnan(z), jnp.nan, d).astype(z.dtype)


@dataclasses.dataclass(frozen=True)
class ReLU(Activation):
    r"""The rectifier :math:`\varrho(z)=\max(z,0)` with :math:`D\varrho(0)=c`.

    .. math::
        D\varrho(z)=\mathbf 1_{(0,\infty)}(z)+c\,\mathbf 1_{\{0\}}(z),\qquad
        \varrho'_-(0)=0,\quad\varrho'_+(0)=1 .

    Args:
      deriv_at_kink: the chosen value :math:`c=D\varrho(0)` (keyword-only, finite).
        ``0`` is the convention of PyTorch, TensorFlow and ``jax.nn.relu``.

    Raises:
      TypeError: if ``deriv_at_kink`` is not a real number.
      ValueError: if it is not finite.

    Example:
        >>> act = jrelu.ReLU()
        >>> act(jnp.array([-1.0, 2.0])).tolist()
        [0.0, 2.0]
        >>> float(jax.grad(jrelu.ReLU(deriv_at_kink=1.0))(0.0))
        1.0

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """

    deriv_at_kink: float = dataclasses.field(default=0.0, kw_only=True)
    kinks: ClassVar[tuple[float, ...]] = (0.0,)
    value_ulps: ClassVar[int] = 0

    def __post_init__(self):
        object.__setattr__(self, "deriv_at_kink", _check_kink_value(self.deriv_at_kink))

    @property
    def slopes(self) -> tuple[float, ...]:
        return (0.0, 1.0)

    def value(self, z):
        z = _as_float(z)
        return jnp.maximum(z, jnp.zeros_like(z))

    def deriv(self, z):
        z = _as_float(z)
        return _piecewise(z, 0.0, 0.0, 1.0, self.deriv_at_kink)

    def left_deriv(self, z):
        z = _as_float(z)
        return _piecewise(z, 0.0, 0.0, 1.0, 0.0)

    def right_deriv(self, z):
        z = _as_float(z)
        return _piecewise(z, 0.0, 0.0, 1.0, 1.0)


@dataclasses.dataclass(frozen=True)
class LeakyReLU(Activation):
    r"""The leaky rectifier: :math:`\varrho(z)=z` for :math:`z\ge0`, :math:`\alpha z` below.

    .. math::
        D\varrho(z)=\begin{cases}\alpha&z<0\\c&z=0\\1&z>0\end{cases},\qquad
        \varrho'_-(0)=\alpha,\quad\varrho'_+(0)=1 .

    Args:
      negative_slope: :math:`\alpha` (keyword-only, finite, default 0.01).
      deriv_at_kink: :math:`c=D\varrho(0)` (keyword-only); the default ``None`` means
        :math:`\alpha`, the left derivative, matching ReLU's ``deriv_at_kink=0``.

    Raises:
      TypeError: if a parameter is not a real number.
      ValueError: if it is not finite.

    Example:
        >>> act = jrelu.LeakyReLU(negative_slope=0.25)
        >>> act(jnp.array([-2.0, 2.0])).tolist()
        [-0.5, 2.0]
        >>> act.deriv_at_kink
        0.25

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """

    negative_slope: float = dataclasses.field(default=0.01, kw_only=True)
    deriv_at_kink: float | None = dataclasses.field(default=None, kw_only=True)
    kinks: ClassVar[tuple[float, ...]] = (0.0,)
    value_ulps: ClassVar[int] = 1  # the product alpha * z

    def __post_init__(self):
        slope = _checks.real("negative_slope", self.negative_slope)
        object.__setattr__(self, "negative_slope", slope)
        c = slope if self.deriv_at_kink is None else self.deriv_at_kink
        object.__setattr__(self, "deriv_at_kink", _check_kink_value(c))

    @property
    def slopes(self) -> tuple[float, ...]:
        return (self.negative_slope, 1.0)

    def value(self, z):
        z = _as_float(z)
        return jnp.where(z >= 0, z, self.negative_slope * z)

    def deriv(self, z):
        z = _as_float(z)
        return _piecewise(z, 0.0, self.negative_slope, 1.0, self.deriv_at_kink)

    def left_deriv(self, z):
        z = _as_float(z)
        return _piecewise(z, 0.0, self.negative_slope, 1.0, self.negative_slope)

    def right_deriv(self, z):
        z = _as_float(z)
        return _piecewise(z, 0.0, self.negative_slope, 1.0, 1.0)


@dataclasses.dataclass(frozen=True)
class Abs(Activation):
    r"""The absolute value :math:`\varrho(z)=|z|` with :math:`D\varrho(0)=c`.

    .. math::
        D\varrho(z)=\operatorname{sign}(z)\ (z\ne0),\quad D\varrho(0)=c,\qquad
        \varrho'_-(0)=-1,\quad\varrho'_+(0)=1 .

    Args:
      deriv_at_kink: :math:`c` (keyword-only, finite, default 0 = :math:`\operatorname{sign}
        (0)`).

    Raises:
      TypeError: if ``deriv_at_kink`` is not a real number.
      ValueError: if it is not finite.

    Example:
        >>> jrelu.Abs()(jnp.array([-2.0, 3.0])).tolist()
        [2.0, 3.0]
        >>> float(jax.grad(jrelu.Abs())(0.0))
        0.0

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """

    deriv_at_kink: float = dataclasses.field(default=0.0, kw_only=True)
    kinks: ClassVar[tuple[float, ...]] = (0.0,)
    value_ulps: ClassVar[int] = 0

    def __post_init__(self):
        object.__setattr__(self, "deriv_at_kink", _check_kink_value(self.deriv_at_kink))

    @property
    def slopes(self) -> tuple[float, ...]:
        return (-1.0, 1.0)

    def value(self, z):
        z = _as_float(z)
        return jnp.where(z >= 0, z, -z)

    def deriv(self, z):
        z = _as_float(z)
        return _piecewise(z, 0.0, -1.0, 1.0, self.deriv_at_kink)

    def left_deriv(self, z):
        z = _as_float(z)
        return _piecewise(z, 0.0, -1.0, 1.0, -1.0)

    def right_deriv(self, z):
        z = _as_float(z)
        return _piecewise(z, 0.0, -1.0, 1.0, 1.0)


@dataclasses.dataclass(frozen=True)
class HardTanh(Activation):
    r"""The clipped identity :math:`\varrho(z)=\min(\max(z,-1),1)`.

    .. math::
        D\varrho(z)=\mathbf 1_{(-1,1)}(z)+c\,\mathbf 1_{\{-1,1\}}(z);

    one-sided derivatives: at −1 left 0, right 1; at 1 left 1, right 0.

    Args:
      deriv_at_kink: :math:`c=D\varrho(\pm1)` (keyword-only, finite, default 0).

    Raises:
      TypeError: if ``deriv_at_kink`` is not a real number.
      ValueError: if it is not finite.

    Example:
        >>> jrelu.HardTanh()(jnp.array([-3.0, 0.5, 3.0])).tolist()
        [-1.0, 0.5, 1.0]
        >>> jrelu.HardTanh().kinks
        (-1.0, 1.0)

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """

    deriv_at_kink: float = dataclasses.field(default=0.0, kw_only=True)
    kinks: ClassVar[tuple[float, ...]] = (-1.0, 1.0)
    value_ulps: ClassVar[int] = 0

    def __post_init__(self):
        object.__setattr__(self, "deriv_at_kink", _check_kink_value(self.deriv_at_kink))

    @property
    def slopes(self) -> tuple[float, ...]:
        return (0.0, 1.0, 0.0)

    def value(self, z):
        z = _as_float(z)
        return jnp.where(z > 1, jnp.ones_like(z), jnp.where(z < -1, -jnp.ones_like(z), z))

    def deriv(self, z):
        z = _as_float(z)
        inside = (z > -1) & (z < 1)
        at_kink = (z == -1) | (z == 1)
        outside = (z < -1) | (z > 1)
        return jnp.where(inside, 1.0, jnp.where(at_kink, self.deriv_at_kink,
                                                jnp.where(outside, 0.0, jnp.nan))
                         ).astype(z.dtype)

    def left_deriv(self, z):
        z = _as_float(z)
        return _nan_at_nan(z, (z > -1) & (z <= 1))

    def right_deriv(self, z):
        z = _as_float(z)
        return _nan_at_nan(z, (z >= -1) & (z < 1))


@dataclasses.dataclass(frozen=True)
class Softplus(Activation):
    r"""The softplus :math:`\varrho(z)=\log(1+e^{z})`, smooth.

    .. math::
        \varrho'=\sigma=\frac1{1+e^{-z}},\qquad\varrho''=\sigma(1-\sigma).

    Increasing with range :math:`(0,\infty)`; :math:`\varrho'` increases from 0 to 1.

    Example:
        >>> act = jrelu.Softplus()
        >>> f"{float(act(0.0)):.4f}", float(jax.grad(act)(0.0))
        ('0.6931', 0.5)

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """

    value_ulps: ClassVar[int] = 64
    deriv_ulps: ClassVar[int] = 128  # sigmoid: 2 * 64

    @property
    def lipschitz(self) -> float:
        return 1.0

    def value(self, z):
        z = _as_float(z)
        return jnp.logaddexp(z, jnp.zeros_like(z))

    def deriv(self, z):
        z = _as_float(z)
        return jax.nn.sigmoid(z)

    def image(self, lo, hi):
        lo, hi = _as_float(lo, "lo"), _as_float(hi, "hi")
        return self.value(lo), self.value(hi)

    def deriv_image(self, lo, hi):
        lo, hi = _as_float(lo, "lo"), _as_float(hi, "hi")
        return self.deriv(lo), self.deriv(hi)


@dataclasses.dataclass(frozen=True)
class Tanh(Activation):
    r"""The hyperbolic tangent :math:`\varrho(z)=\tanh z`, smooth.

    .. math::
        \varrho'=1-\tanh^2 z,\qquad\varrho''=-2\tanh z\,(1-\tanh^2 z).

    Increasing with range :math:`(-1,1)`; :math:`\varrho'` is even, maximal (1) at 0.

    Example:
        >>> act = jrelu.Tanh()
        >>> float(act(0.0)), float(jax.grad(act)(0.0))
        (0.0, 1.0)

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """

    value_ulps: ClassVar[int] = 64
    deriv_ulps: ClassVar[int] = 256  # 1 - tanh^2: 4 * 64

    @property
    def lipschitz(self) -> float:
        return 1.0

    def value(self, z):
        z = _as_float(z)
        return jnp.tanh(z)

    def deriv(self, z):
        z = _as_float(z)
        return 1.0 - jnp.tanh(z) ** 2

    def image(self, lo, hi):
        lo, hi = _as_float(lo, "lo"), _as_float(hi, "hi")
        return self.value(lo), self.value(hi)

    def deriv_image(self, lo, hi):
        lo, hi = _as_float(lo, "lo"), _as_float(hi, "hi")
        zstar = jnp.clip(jnp.zeros_like(lo), lo, hi)
        return jnp.minimum(self.deriv(lo), self.deriv(hi)), self.deriv(zstar)


# -- the smoothing families R_r -> ReLU -------------------------------------------------------


def _shifted_softplus_value(z, r):
    u = r * z - jnp.log(r)
    return jnp.logaddexp(u, jnp.zeros_like(u)) / r


def _shifted_softplus_deriv(z, r):
    return jax.nn.sigmoid(r * z - jnp.log(r))


def _softplus_value(z, r):
    u = r * z
    return jnp.logaddexp(u, jnp.zeros_like(u)) / r


def _softplus_deriv(z, r):
    return jax.nn.sigmoid(r * z)


def _c1_blend_value(z, r):
    t = jnp.clip(r * z, 0.0, 1.0)
    inner = (2.0 * t * t - t * t * t) / r
    return jnp.where(t >= 1.0, z, jnp.where(t <= 0.0, jnp.zeros_like(z), inner))


def _c1_blend_deriv(z, r):
    t = jnp.clip(r * z, 0.0, 1.0)
    return jnp.where(t >= 1.0, 1.0, jnp.where(t <= 0.0, 0.0, 4.0 * t - 3.0 * t * t)
                     ).astype(jnp.result_type(z))


#: name -> (R_r(z), R_r'(z)) as functions of (z, r); r may be traced.
_FAMILY_FORMULAS = {
    "shifted_softplus": (_shifted_softplus_value, _shifted_softplus_deriv),
    "softplus": (_softplus_value, _softplus_deriv),
    "c1_blend": (_c1_blend_value, _c1_blend_deriv),
}


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _family_apply(name: str, z, r):
    """R_r(z) of a named family with a *traced* r (one compilation for all r); the JVP
    in z is R_r'(z)·dz. r is a parameter here, never differentiated (stop_gradient)."""
    return _FAMILY_FORMULAS[name][0](z, r)


@_family_apply.defjvp
def _family_apply_jvp(name, primals, tangents):
    z, r = primals
    dz, _ = tangents
    return _family_apply(name, z, r), _FAMILY_FORMULAS[name][1](z, r).astype(z.dtype) * dz


@dataclasses.dataclass(frozen=True)
class Smoothing(Activation):
    r"""A smoothing :math:`R_r` of ReLU from one of three families, :math:`R_r\to` ReLU.

    ``family="shifted_softplus"``:

    .. math::
        R_r(x)=\tfrac1r\,\mathrm{softplus}(rx-\ln r),\qquad R_r'(x)=\sigma(rx-\ln r);

    C^∞, :math:`|R_r-\mathrm{ReLU}|\le(\ln r+\ln2)/r` for :math:`r\ge1`,
    :math:`R_r'\to\mathbf 1_{(0,\infty)}` pointwise (:math:`R_r'(0)=1/(1+r)`). **Not
    admissible** in general: in deep networks at degenerate parameters the offset
    :math:`-\ln r/r` of active neurons pushes a downstream pre-activation that is 0 under
    ReLU to :math:`\approx c\ln r/r>0`, where :math:`R_r'\to1`, so the smoothed gradients
    converge to something other than the generalized gradient (see
    :func:`jrelu.examples.degenerate_deep_example`).

    ``family="softplus"``:

    .. math::
        R_r(x)=\tfrac1r\,\mathrm{softplus}(rx),\qquad R_r'(x)=\sigma(rx);

    C^∞, :math:`0<R_r-\mathrm{ReLU}\le\ln2/r`, but :math:`R_r'(0)=\frac12` for every r.
    **Not admissible**: at a kink hit by the data the smoothed gradients tend to the
    average of the one-sided slopes.

    ``family="c1_blend"``, C¹ and equal to ReLU outside :math:`(0,1/r)`:

    .. math::
        R_r(x)=\begin{cases}0&x\le0\\(2t^2-t^3)/r,\ t=rx&0<x<1/r\\x&x\ge1/r\end{cases},
        \qquad R_r'(x)=\begin{cases}0&x\le0\\4t-3t^2&0<x<1/r\\1&x\ge1/r.\end{cases}

    **Admissible, with exact convergence**: with :math:`z_*` the smallest positive hidden
    pre-activation of the ReLU network on the data, for :math:`r\ge1/z_*` every
    pre-activation and every derivative factor of the :math:`R_r`-network equals the ReLU
    one, so the smoothed gradient equals the generalized gradient exactly, degenerate
    parameters included. Its Lipschitz constant is :math:`\max R_r'=4/3` (at
    :math:`t=2/3`).

    The softplus families are computed with ``logaddexp``, stable for large r. ``r`` may
    be a traced JAX scalar (inside ``jit``): one compilation then serves every r; r is
    never differentiated.

    Args:
      family: one of :attr:`FAMILIES`.
      r: the smoothing parameter, finite and > 0 (or a traced scalar).

    Raises:
      TypeError: if ``family`` is not a string or ``r`` is not a real number.
      ValueError: if ``family`` is unknown or ``r`` is not finite and > 0.

    Example:
        >>> act = jrelu.Smoothing("c1_blend", 4.0)
        >>> act(jnp.array([-1.0, 0.125, 1.0])).tolist()
        [0.0, 0.09375, 1.0]
        >>> float(jax.grad(act)(0.125))
        1.25

    References:
        Dereich, Do, Jentzen, Weber (2025),
        `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
    """

    #: The family names.
    FAMILIES: ClassVar[tuple[str, ...]] = ("c1_blend", "shifted_softplus", "softplus")

    family: str
    r: float

    value_ulps: ClassVar[int] = 64

    def __post_init__(self):
        _checks.one_of("family", self.family, self.FAMILIES)
        if _checks.is_concrete(self.r):
            object.__setattr__(self, "r", _checks.positive("r", self.r))

    def _r(self, z):
        return jnp.asarray(self.r, jnp.result_type(z))

    def value(self, z):
        z = _as_float(z)
        return _FAMILY_FORMULAS[self.family][0](z, self._r(z))

    def deriv(self, z):
        z = _as_float(z)
        return _FAMILY_FORMULAS[self.family][1](z, self._r(z))

    @property
    def lipschitz(self) -> float:
        return 4.0 / 3.0 if self.family == "c1_blend" else 1.0

    def image(self, lo, hi):
        lo, hi = _as_float(lo, "lo"), _as_float(hi, "hi")  # every family is nondecreasing
        return self.value(lo), self.value(hi)

    def deriv_image(self, lo, hi):
        lo, hi = _as_float(lo, "lo"), _as_float(hi, "hi")
        dl, dh = self.deriv(lo), self.deriv(hi)
        if self.family != "c1_blend":  # a sigmoid: increasing
            return dl, dh
        # 4t - 3t^2 increases up to t = 2/3 and decreases after: unimodal in z
        zstar = jnp.clip(2.0 / (3.0 * self._r(lo)), lo, hi)
        return jnp.minimum(dl, dh), jnp.maximum(jnp.maximum(dl, dh), self.deriv(zstar))

    def __call__(self, z: ArrayLike) -> jax.Array:
        z = _as_float(z)
        if _checks.is_concrete(self.r):
            return _apply(self, z)
        r = jnp.asarray(jax.lax.stop_gradient(self.r)).astype(z.dtype)
        return _family_apply(self.family, z, r)


# Default-argument constants of the jrelu modules (not part of the top-level API).
relu = ReLU(deriv_at_kink=0.0)
leaky_relu = LeakyReLU()
abs_activation = Abs()
hard_tanh = HardTanh()
softplus = Softplus()
tanh = Tanh()
