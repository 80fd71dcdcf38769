r"""Global error sweeps: weighted errors of values and derivatives over many sample points.

For a network :math:`\Phi` with widths :math:`(N_0,\dots,N_L)`, a target
:math:`f:\mathbb R^{N_0}\to\mathbb R^{N_L}` and a weight exponent :math:`\kappa\ge0`, the
weighted pointwise errors are

.. math::
    e_0(x)=\frac{\|f(x)-R\Phi(x)\|_2}{1+\|x\|_2^\kappa},\qquad
    e_1(x)=\frac{\|\nabla f(x)-D^N\Phi(x)\|_F}{1+\|x\|_2^\kappa},

where :math:`D^N\Phi` is the network derivative (:func:`jrelu.derivative`) and
:math:`\|\cdot\|_F` the Frobenius norm (for :math:`N_L=1` the Euclidean norm of the
gradient difference). :math:`\kappa=0` gives the weight :math:`1/2`, exactly as in the
bound :math:`|f-R\Phi|\le\varepsilon(1+\|x\|^\kappa)`.

* :func:`pointwise_errors` evaluates them at given points (one shared forward pass);
* :func:`error_sweep` evaluates them over :math:`x_0,\dots,x_{n-1}` of a sampler
  (:mod:`jrelu.samplers`) in compiled chunks, optionally sharded over devices and
  processes and resumable from a checkpoint, and reports the maxima with their points,
  the unweighted maxima, exact means, quantiles and a radial profile
  (:class:`SweepReport`).

References:
  Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from jax.typing import ArrayLike

from . import _cache, _checks, _stats
from .activations import Activation, relu
from .derivative import value_and_derivative
from .io import atomic_write
from .network import Network, realize
from .samplers import Sampler, sample_block

__all__ = [
    "PointwiseErrors",
    "pointwise_errors",
    "ErrorStats",
    "ShellStats",
    "SweepReport",
    "error_sweep",
]

#: The default chunk on CPU (points per compiled chunk, over all devices).
CPU_CHUNK = 8192
#: On an accelerator one evaluation block may use 1/ACCELERATOR_BLOCK_SHARE of the device
#: memory; blocks are powers of two between two sampling blocks and 2^24 points, and a
#: device's share of a default chunk is about 2^20 points (whole blocks).
ACCELERATOR_BLOCK_SHARE = 32
_ACCELERATOR_MAX_BLOCK = 2**24
_ACCELERATOR_DEVICE_CHUNK = 2**20
_FALLBACK_MEMORY = 2**31  # an accelerator that does not report its memory

_REFERENCE = ("Berner, Elbrächter, Grohs, Jentzen (2019), "
              "`arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_")


# -- pointwise errors ------------------------------------------------------------------


class PointwiseErrors(NamedTuple):
    r"""Pointwise errors of a network against a target (the result of :func:`pointwise_errors`).

    For points ``x`` of shape ``(..., N_0)`` (batch shape ``...``):

    Attributes:
      norm: :math:`\|x\|_2`, shape ``(...)``, computed with scaling: no spurious overflow
        or underflow (``inf`` only if the true norm exceeds the dtype).
      weight: :math:`1+\|x\|_2^\kappa`, shape ``(...)`` (``inf`` where it exceeds the
        dtype; the weighted errors are then still computed without overflow).
      value: :math:`R\Phi(x)`, shape ``(..., N_L)``.
      target_value: :math:`f(x)`, shape ``(..., N_L)``.
      value_error: :math:`\|f(x)-R\Phi(x)\|_2`, shape ``(...)``.
      weighted_value_error: ``value_error / weight``, shape ``(...)`` (where ``weight``
        overflows to ``inf``, the true quotient, computed without overflow).
      derivative: :math:`D^N\Phi(x)`, shape ``(..., N_L, N_0)`` (None if
        ``derivative=False``).
      target_derivative: :math:`\nabla f(x)`, shape ``(..., N_L, N_0)`` (or None).
      derivative_error: :math:`\|\nabla f(x)-D^N\Phi(x)\|_F`, shape ``(...)`` (or None).
      weighted_derivative_error: ``derivative_error / weight`` (or None).
      finite: bool, shape ``(...)``: every entry of :math:`f(x)`, :math:`R\Phi(x)` (and
        of :math:`\nabla f(x)`, :math:`D^N\Phi(x)`) is finite, and so are the norm and
        the (weighted) errors, i.e. no true quantity overflows the dtype.

    Example:
      >>> net = jrelu.init(jax.random.key(0), (2, 8, 1))
      >>> e = jrelu.pointwise_errors(net, lambda x: jnp.sum(x), jnp.ones((5, 2)))
      >>> e.value_error.shape, e.derivative.shape
      ((5,), (5, 1, 2))
    """

    norm: jax.Array
    weight: jax.Array
    value: jax.Array
    target_value: jax.Array
    value_error: jax.Array
    weighted_value_error: jax.Array
    derivative: jax.Array | None
    target_derivative: jax.Array | None
    derivative_error: jax.Array | None
    weighted_derivative_error: jax.Array | None
    finite: jax.Array


@dataclasses.dataclass(frozen=True)
class _NetInfo:
    """What the sweep needs to know about a network (a Network or a network-like pytree)."""

    input_dim: int
    output_dim: int
    dtype: np.dtype
    widths: tuple | None  # None if the object does not state its widths
    is_network: bool

    @property
    def where(self) -> str:
        """`` (widths ...)`` for error messages."""
        return f" (widths {tuple(self.widths)})" if self.widths is not None else ""


_NET_METHODS = ("realize", "value_and_derivative")
_NET_ATTRS = ("dtype", "input_dim", "output_dim")


def _network_info(name: str, net) -> _NetInfo:
    """Check that ``net`` is a :class:`jrelu.Network` or a network-like object: attributes
    ``dtype``, ``input_dim``, ``output_dim``, methods ``realize(x, *, activation)`` and
    ``value_and_derivative(x, *, activation)`` on batches ``(..., N_0)`` (TypeError naming
    ``name`` otherwise)."""
    if isinstance(net, Network):
        return _NetInfo(net.input_dim, net.output_dim, np.dtype(net.dtype), tuple(net.widths),
                        True)
    missing = [a for a in _NET_ATTRS if not hasattr(net, a)]
    missing += [f"{m}()" for m in _NET_METHODS if not callable(getattr(net, m, None))]
    if missing:
        raise TypeError(f"{name} must be a jrelu.Network or a network-like pytree with "
                        f"attributes dtype, input_dim, output_dim and methods "
                        f"realize(x, *, activation), value_and_derivative(x, *, activation) "
                        f"(such as jrelu.pde.AveragingNetwork); got "
                        f"{_checks.type_name(net)} without {', '.join(missing)}")
    n0 = _checks.integer(f"{name}.input_dim", net.input_dim, min=1)
    nl = _checks.integer(f"{name}.output_dim", net.output_dim, min=1)
    try:
        dtype = np.dtype(net.dtype)
    except TypeError:
        dtype = None
    if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"{name}.dtype must be a float dtype, got {net.dtype!r:.80}")
    widths = getattr(net, "widths", None)
    return _NetInfo(n0, nl, dtype, None if widths is None else tuple(widths), False)


def _check_pytree(name: str, net) -> None:
    """TypeError unless every leaf of ``net`` is an array or a number (a ``jit`` argument)."""
    leaves = jax.tree.leaves(net)
    ok = (jax.Array, np.ndarray, np.generic, int, float)
    if not leaves or any(not isinstance(v, ok) or isinstance(v, bool) for v in leaves):
        raise TypeError(f"{name} must be a pytree whose leaves are arrays (register its class "
                        f"with jax.tree_util.register_pytree_node_class), got "
                        f"{_checks.type_name(net)} with leaves "
                        f"{[_checks.type_name(v) for v in leaves][:4]}")


def _net_value_and_derivative(net, info: _NetInfo, x, activation, derivative: bool):
    """``(RΦ(x), D^NΦ(x))`` (the latter None without derivatives) for a batch ``(n, N_0)``,
    by jrelu's functions for a Network and by the object's own methods otherwise (their
    output shapes checked)."""
    if info.is_network:
        if derivative:
            return value_and_derivative(net, x, activation=activation)
        return realize(net, x, activation=activation), None
    n, n0, nl = x.shape[0], info.input_dim, info.output_dim
    if derivative:
        y, J = net.value_and_derivative(x, activation=activation)
    else:
        y, J = net.realize(x, activation=activation), None
    y = jnp.asarray(y)
    if y.shape != (n, nl) or (J is not None and jnp.shape(J) != (n, nl, n0)):
        got = (y.shape,) + (() if J is None else (jnp.shape(J),))
        method = "value_and_derivative" if derivative else "realize"
        raise ValueError(f"net: {type(net).__name__}.{method} maps points of shape "
                         f"({n}, {n0}) to shapes {got}; expected ({n}, {nl})"
                         + (f" and ({n}, {nl}, {n0})" if derivative else ""))
    return y, J


def _default_grad(target, scalar: bool):
    return jax.grad(target) if scalar else jax.jacrev(target)


def _target_fns(target, target_grad, n0: int, nl: int, dtype, with_derivative: bool,
                widths=None):
    r"""Check the shapes of f and ∇f by abstract evaluation on a point ``(n0,)``.

    Returns ``(f, Df, scalar)``: f maps ``(N_0,)`` to ``(N_L,)``, Df maps ``(N_0,)`` to
    ``(N_L, N_0)`` (None without derivatives), and whether the user's f returns a scalar.
    """
    spec = jax.ShapeDtypeStruct((n0,), dtype)
    where = f" (widths {tuple(widths)})" if widths is not None else ""
    try:
        out = jax.eval_shape(target, spec)
    except Exception as e:  # noqa: BLE001 - report any failure of the user's target
        raise ValueError(f"target could not be evaluated on a point of shape ({n0},): "
                         f"{type(e).__name__}: {e}") from e
    shape = getattr(out, "shape", None)
    if shape is None:
        raise ValueError(f"target must return an array, got {out!r}")
    scalar = shape == ()
    if not (shape == (nl,) or (scalar and nl == 1)):
        raise ValueError(f"target maps a point of shape ({n0},) to shape {shape}, but the network "
                         f"has N_L = {nl} outputs{where}; expected shape ({nl},)"
                         + (" or ()" if nl == 1 else ""))
    f = (lambda x: jnp.reshape(target(x), (1,))) if scalar else target
    if not with_derivative:
        return f, None, scalar
    grad = _default_grad(target, scalar) if target_grad is None else target_grad
    try:
        gout = jax.eval_shape(grad, spec)
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"target_grad could not be evaluated on a point of shape ({n0},): "
                         f"{type(e).__name__}: {e}") from e
    gshape = getattr(gout, "shape", None)
    if not (gshape == (nl, n0) or (nl == 1 and gshape == (n0,))):
        raise ValueError(f"target_grad maps a point of shape ({n0},) to shape {gshape}, "
                         f"expected the Jacobian shape ({nl}, {n0})"
                         + (f" or ({n0},)" if nl == 1 else ""))
    return f, (lambda x: jnp.reshape(grad(x), (nl, n0))), scalar


def _pow2(k, dtype):
    """2^k exactly, for integer k in the normal exponent range of ``dtype``."""
    fi = jnp.finfo(dtype)
    itype = jnp.int32 if fi.bits == 32 else jnp.int64
    bits = (k.astype(itype) + (fi.maxexp - 1)) << fi.nmant
    return jax.lax.bitcast_convert_type(bits, dtype)


def _scale(v, k):
    """v · 2^k by two exact power-of-two products (k within ±2 exponent ranges)."""
    k1 = k // 2
    return v * _pow2(k1, v.dtype) * _pow2(k - k1, v.dtype)


def _scaled_norm(v, axes):
    r"""The Euclidean norm over ``axes`` without spurious overflow or underflow.

    :math:`\|v\|=2^e\|2^{-e}v\|` with :math:`2^e` the binary exponent of
    :math:`\max|v_j|`: the scalings are exact, so the result equals
    ``sqrt(sum(v * v))`` bit for bit wherever that does not over- or underflow, and it is
    ``inf`` only if the true norm exceeds the dtype's range.
    """
    m = jnp.max(jnp.abs(v), axis=axes, keepdims=True)
    ok = jnp.isfinite(m) & (m > 0)
    _, e = jnp.frexp(jnp.where(ok, m, 1))
    e = jnp.where(ok, e, 0)
    vs = _scale(v, -e)
    e = jnp.squeeze(e, axis=axes)
    return _scale(jnp.sqrt(jnp.sum(vs * vs, axis=axes)), e)


def _weighted(raw, radius, weight, kappa: float):
    r"""``raw / weight`` with :math:`w=1+r^\kappa`, also where :math:`r^\kappa` overflows:
    there :math:`1+r^\kappa` rounds to :math:`r^\kappa` and the quotient is computed as
    :math:`(\mathrm{raw}^{1/\kappa}/r)^\kappa` (a few ulps; it never overflows)."""
    if kappa <= 1:  # r^κ ≤ max(1, r): no overflow for a finite radius
        return raw / weight
    big = (raw ** (1.0 / kappa) / radius) ** kappa
    return jnp.where(jnp.isfinite(weight), raw / weight, big)


def pointwise_errors(net: Network, target: Callable, x: ArrayLike, *,
                     target_grad: Callable | None = None, kappa: float = 0.0,
                     derivative: bool = True, activation: Activation = relu) -> PointwiseErrors:
    r"""Pointwise value and derivative errors of ``net`` against ``target``, raw and weighted.

    .. math::
        e_0(x)=\frac{\|f(x)-R\Phi(x)\|_2}{1+\|x\|_2^\kappa},\qquad
        e_1(x)=\frac{\|\nabla f(x)-D^N\Phi(x)\|_F}{1+\|x\|_2^\kappa}.

    :math:`R\Phi(x)` and :math:`D^N\Phi(x)` come from one shared forward pass
    (:func:`jrelu.value_and_derivative`); with ``derivative=False`` only
    :func:`jrelu.realize` runs. Besides a :class:`jrelu.Network`, ``net`` may be any
    network-like pytree (such as :class:`jrelu.pde.AveragingNetwork`) with attributes
    ``dtype``, ``input_dim``, ``output_dim`` and methods ``realize(x, *, activation)`` and
    ``value_and_derivative(x, *, activation)`` on batches ``(n, N_0)``; its own methods
    are then used. :func:`error_sweep` computes its per-point numbers with this function
    on fixed blocks of points (cache-sized on CPU, see
    :func:`jrelu.derivative.evaluation_blocking`) inside its compiled chunk function (a
    differently compiled program, e.g. an eager call on another batch, may round
    differently in the last bits). The norms are computed with exact power-of-two scaling
    (no spurious overflow or underflow, e.g. for :math:`\|x\|=10^{\pm20}` in float32), and
    the weighted errors also where :math:`1+\|x\|^\kappa` overflows (then to a few ulps).
    Works under ``jit`` (``kappa`` and ``derivative`` are static).

    Args:
      net: the network, widths :math:`(N_0,\dots,N_L)`: a :class:`jrelu.Network` or a
        network-like pytree (see above).
      target: f, mapping one point ``(N_0,)`` to ``(N_L,)``, or to a scalar ``()`` when
        :math:`N_L=1`. It is vmapped, so write it in ``jnp``.
      x: points, shape ``(N_0,)`` or ``(..., N_0)``.
      target_grad: :math:`\nabla f`, mapping ``(N_0,)`` to ``(N_L, N_0)`` (or ``(N_0,)``
        for :math:`N_L=1`); default ``jax.grad(target)`` (scalar target) or
        ``jax.jacrev(target)``.
      kappa: the weight exponent :math:`\kappa\ge0` (a Python number).
      derivative: also compute the derivative errors.
      activation: :math:`\varrho`, whose :math:`D\varrho` defines :math:`D^N\Phi`.

    Returns:
      a :class:`PointwiseErrors` with batch shape ``x.shape[:-1]``.

    Raises:
      TypeError: ``net`` is neither a Network nor network-like, ``target``/``target_grad``
        not callable, ``x`` not an array, ``kappa`` not a number, ``activation`` not an
        Activation.
      ValueError: ``x.shape[-1] != N_0``, ``kappa < 0``, ``target``/``target_grad``
        return the wrong shape, or a network-like ``net``'s methods do.

    Example:
      >>> net = jrelu.init(jax.random.key(0), (2, 16, 1))
      >>> x = jrelu.samplers.Gaussian(2)(jax.random.key(1), 100, dtype=net.dtype)
      >>> e = jrelu.pointwise_errors(net, lambda x: jnp.sum(x**2), x, kappa=2.0)
      >>> e.weighted_value_error.shape, bool(jnp.all(e.weight >= 1)), bool(jnp.all(e.finite))
      ((100,), True, True)

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    info = _network_info("net", net)
    _checks.callable_("target", target)
    if target_grad is not None:
        _checks.callable_("target_grad", target_grad)
    kappa = _checks.nonnegative("kappa", kappa)
    _checks.activation("activation", activation)
    derivative = _checks.boolean("derivative", derivative)
    x = _checks.array("x", x)
    n0, nl = info.input_dim, info.output_dim
    if x.ndim == 0 or x.shape[-1] != n0:
        raise ValueError(f"x must have shape (N_0,) or (..., N_0) with N_0 = {n0}{info.where}, "
                         f"got shape {x.shape}")
    f, Df, _ = _target_fns(target, target_grad, n0, nl, x.dtype, derivative, info.widths)
    batch = x.shape[:-1]
    if x.ndim != 2:
        x = jnp.reshape(x, (-1, n0))

    y, J = _net_value_and_derivative(net, info, x, activation, derivative)
    fx = jax.vmap(f)(x)
    radius = _scaled_norm(x, (-1,))
    weight = 1 + radius**kappa
    raw_v = _scaled_norm(fx - y, (-1,))
    w_v = _weighted(raw_v, radius, weight, kappa)
    finite = jnp.all(jnp.isfinite(fx), axis=-1) & jnp.all(jnp.isfinite(y), axis=-1)
    finite &= jnp.isfinite(radius) & jnp.isfinite(raw_v) & jnp.isfinite(w_v)
    gx = raw_d = w_d = None
    if derivative:
        gx = jax.vmap(Df)(x)
        raw_d = _scaled_norm(gx - J, (-2, -1))
        w_d = _weighted(raw_d, radius, weight, kappa)
        finite &= jnp.all(jnp.isfinite(gx) & jnp.isfinite(J), axis=(-2, -1))
        finite &= jnp.isfinite(raw_d) & jnp.isfinite(w_d)
    out = PointwiseErrors(norm=radius, weight=weight, value=y, target_value=fx,
                          value_error=raw_v, weighted_value_error=w_v,
                          derivative=J, target_derivative=gx, derivative_error=raw_d,
                          weighted_derivative_error=w_d, finite=finite)
    if len(batch) != 1:
        out = jax.tree.map(lambda a: jnp.reshape(a, batch + a.shape[1:]), out)
    return out


# -- the report ------------------------------------------------------------------------


def _plain(obj):
    """Plain JSON: tuples become lists, numpy scalars Python numbers, ±inf/NaN None."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


@dataclasses.dataclass(frozen=True)
class ErrorStats:
    r"""Statistics of one weighted pointwise error :math:`e(x_i)` over a sweep's n points.

    Attributes:
      sup: :math:`\max_i e(x_i)`.
      argmax: the point where it is attained (the smallest index on ties), a tuple.
      argmax_index: its global index i.
      sup_unweighted: the maximum of the unweighted error (the numerator of e).
      argmax_unweighted: its point.
      argmax_unweighted_index: its index.
      mean: the correctly rounded mean :math:`\frac1n\sum_i e(x_i)` (exact summation).
      quantiles: ``{"q": Q̂}``, where Q̂ is an upper bound of the q-quantile
        :math:`Q=e_{(\lceil qn\rceil)}` (order statistic) read from a log-spaced
        histogram: :math:`Q\le\hat Q\le\max(Q(1+\rho),10^{-40})` with
        ρ = :attr:`SweepReport.quantile_resolution` (about 2.3%), Q̂ = 0 when Q = 0, and
        Q̂ never exceeds ``sup``.

    Example:
      >>> net = jrelu.init(jax.random.key(0), (2, 8, 1))
      >>> rep = jrelu.error_sweep(net, lambda x: jnp.sum(x), jrelu.samplers.Gaussian(2),
      ...                         num_points=100, key=jax.random.key(1))
      >>> s = rep.value
      >>> bool(s.quantiles["0.5"] <= s.quantiles["0.99"] <= s.sup), sorted(s.to_dict())[:3]
      (True, ['argmax', 'argmax_index', 'argmax_unweighted'])
    """

    sup: float
    argmax: tuple
    argmax_index: int
    sup_unweighted: float
    argmax_unweighted: tuple
    argmax_unweighted_index: int
    mean: float
    quantiles: dict

    def to_dict(self) -> dict:
        """Plain JSON (tuples become lists)."""
        return _plain(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class ShellStats:
    r"""One shell :math:`r_{\min}\le\|x\|_2<r_{\max}` of a sweep's radial profile.

    Attributes:
      r_min, r_max: the shell's radii (``r_max`` is ``inf`` for the outermost shell).
      count: the number of sample points in the shell.
      value_sup: :math:`\max e_0(x_i)` over them.
      derivative_sup: :math:`\max e_1(x_i)` over them (None without derivatives).

    Example:
      >>> net = jrelu.init(jax.random.key(0), (2, 8, 1))
      >>> s = jrelu.samplers.RadialShells(2, r_max=100.0, num_shells=3, r_min=1.0)
      >>> rep = jrelu.error_sweep(net, lambda x: jnp.sum(x), s, num_points=30,
      ...                         key=jax.random.key(1))
      >>> [sh.count for sh in rep.radial_profile], rep.radial_profile[0].to_dict()["r_min"]
      ([10, 10, 10], 0.5)
    """

    r_min: float
    r_max: float
    count: int
    value_sup: float
    derivative_sup: float | None

    def to_dict(self) -> dict:
        """Plain JSON (an infinite ``r_max`` becomes None)."""
        return _plain(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class SweepReport:
    r"""The result of :func:`error_sweep`.

    Attributes:
      num_points: n, the number of sample points.
      kappa: the weight exponent κ.
      value: :class:`ErrorStats` of :math:`e_0`.
      derivative: :class:`ErrorStats` of :math:`e_1` (None for ``derivative=False``).
      radial_profile: the non-empty :class:`ShellStats`, innermost first.
      seconds: wall time of the evaluation (summed over resumed runs, compilation
        included); ``points_per_second`` is ``num_points / seconds``.
      chunk_size, num_chunks: points per compiled chunk and the number of chunks.
      num_devices, num_processes: the device layout.
      dtype: the compute dtype (the network's).
      sampler: the sampler's :meth:`~jrelu.samplers.Sampler.describe`.
      quantile_resolution: ρ, the relative resolution of the quantiles.

    :meth:`to_dict` gives plain JSON: tuples become lists and the infinite upper edge of
    the outermost shell becomes None. Every number is a function of the per-point errors,
    and the statistics are order-independent (maxima with the smallest index on ties,
    exact sums, integer histograms), so a sweep that is interrupted and resumed with the
    same arguments gives the same report as an uninterrupted one (timing aside). The
    per-point values are computed in fixed blocks, so the report is also bitwise the same
    for any chunk size and any device layout (apart from ``chunk_size``, ``num_chunks``,
    ``num_devices``, ``num_processes`` and timing).

    Example:
      >>> net = jrelu.init(jax.random.key(0), (2, 8, 1))
      >>> rep = jrelu.error_sweep(net, lambda x: jnp.sum(x), jrelu.samplers.Halton(2),
      ...                         num_points=64, key=jax.random.key(1), chunk_size=16)
      >>> rep.num_chunks, rep.sup_value_error == rep.value.sup
      (4, True)
      >>> import json; json.loads(rep.to_json())["num_points"]
      64
    """

    num_points: int
    kappa: float
    value: ErrorStats
    derivative: ErrorStats | None
    radial_profile: tuple
    seconds: float
    points_per_second: float
    chunk_size: int
    num_chunks: int
    num_devices: int
    num_processes: int
    dtype: str
    sampler: dict
    quantile_resolution: float = _stats.QUANTILE_RESOLUTION

    @property
    def sup_value_error(self) -> float:
        r""":math:`\max_i\|f(x_i)-R\Phi(x_i)\|_2/(1+\|x_i\|_2^\kappa)`."""
        return self.value.sup

    @property
    def sup_derivative_error(self) -> float | None:
        r""":math:`\max_i\|\nabla f(x_i)-D^N\Phi(x_i)\|_F/(1+\|x_i\|_2^\kappa)`, or None."""
        return None if self.derivative is None else self.derivative.sup

    def to_dict(self) -> dict:
        """Plain JSON (see the class docstring)."""
        return _plain(dataclasses.asdict(self))

    def to_json(self, **kwargs) -> str:
        """``json.dumps(self.to_dict())``, indented by 2 unless ``indent`` is given."""
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


# -- progress ----------------------------------------------------------------------------


class _Progress:
    """A one-line progress display on stderr (``\\r``-updated, at most twice a second)."""

    def __init__(self, mode, total: int, done: int):
        self.mode, self.total, self.done0 = mode, total, done
        self.t0 = self.last = time.perf_counter()
        self.shown, self.shown_done = False, -1
        self.first = None

    def update(self, done: int, final: bool = False):
        if self.mode is False:
            return
        now = time.perf_counter()
        if self.first is None:
            self.first = (now, done)
        if self.mode is None and now - self.t0 < 2.0:  # auto: only long sweeps
            return
        if not final and now - self.last < 0.5 and self.shown:
            return
        self.last = now
        t1, d1 = self.first
        if done <= d1 or now <= t1:  # no chunk since the first: use the whole time
            t1, d1 = self.t0, self.done0
        rate = (done - d1) / max(now - t1, 1e-9)
        eta = (self.total - done) / rate if rate > 0 else math.inf
        eta_s = "?" if not math.isfinite(eta) else time.strftime("%H:%M:%S", time.gmtime(eta))
        sys.stderr.write(f"\rjrelu sweep: {done:,}/{self.total:,} points "
                         f"({100.0 * done / self.total:5.1f}%)  {rate:,.0f} points/s  "
                         f"ETA {eta_s}   ")
        sys.stderr.flush()
        self.shown, self.shown_done = True, done

    def close(self, done: int):
        if self.shown:
            if self.shown_done != done:
                self.update(done, final=True)
            sys.stderr.write("\n")
            sys.stderr.flush()


# -- checkpoints ---------------------------------------------------------------------------


def _array_hash(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if a is not None:
            a = np.asarray(a)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _network_hash(net) -> str:
    """SHA-256 of a Network's weights (layer by layer), or of a network-like pytree's class,
    structure and array leaves."""
    if isinstance(net, Network):
        return _array_hash(*(a for layer in net.layers for a in layer))
    h = hashlib.sha256()
    leaves, treedef = jax.tree.flatten(net)
    h.update(f"{type(net).__module__}.{type(net).__qualname__}|{treedef}".encode())
    h.update(_array_hash(*leaves).encode())
    return h.hexdigest()


def _save_checkpoint(path: str, state: dict) -> None:
    atomic_write(path, lambda f: json.dump(state, f), mode="w")


def _load_checkpoint(path: str, fingerprint: dict) -> dict | None:
    """The saved state at ``path`` (None if there is no file); ValueError if it is not a
    sweep checkpoint or was written by a sweep with other arguments."""
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            state = json.load(f)
        old = state["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"checkpoint {path!r} is not a jrelu sweep checkpoint ({e}); "
                         "delete it or pass another path") from None
    if old != fingerprint:
        diffs = [f"{k}: checkpoint {old.get(k)!r} vs now {fingerprint.get(k)!r}"
                 for k in sorted(set(old) | set(fingerprint)) if old.get(k) != fingerprint.get(k)]
        raise ValueError(f"checkpoint {path!r} was written by a sweep with different arguments "
                         f"({'; '.join(diffs)}); refusing to mix them. Delete the file or pass "
                         "another checkpoint path.")
    return state


# -- the compiled chunk function -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _ChunkSpec:
    """Everything static about a sweep's chunk function (hashable: the compile-cache key)."""

    sampler: Sampler
    target: Callable
    target_grad: Callable | None
    activation: Activation
    kappa: float
    derivative: bool
    unit: int
    block: int
    n0: int
    nl: int
    dtype: str
    index_dtype: str
    key_impl: str
    mesh: Mesh | None
    is_network: bool

    def target_fns(self):
        """f: (N_0,) -> (N_L,) and Df: (N_0,) -> (N_L, N_0) (None without derivatives)."""
        f, Df, _ = _target_fns(self.target, self.target_grad, self.n0, self.nl, self.dtype,
                               self.derivative)
        return f, Df

    def points(self, key, index):
        return self.sampler.points(key, index, dtype=self.dtype)


def _eval_block(spec: _ChunkSpec, net, key, idx) -> dict:
    """The per-point numbers of one block of ``spec.block`` points (the loop body)."""
    x = spec.points(key, idx)
    e = pointwise_errors(net, spec.target, x, target_grad=spec.target_grad, kappa=spec.kappa,
                         derivative=spec.derivative, activation=spec.activation)
    out = {"x": x, "radius": e.norm, "finite": e.finite,
           "v_w": e.weighted_value_error, "v_raw": e.value_error}
    if spec.derivative:
        out.update(d_w=e.weighted_derivative_error, d_raw=e.derivative_error)
    return out


def _error_names(spec: _ChunkSpec) -> tuple[str, ...]:
    """The per-point errors whose maxima a chunk reports."""
    return ("v_w", "v_raw", "d_w", "d_raw") if spec.derivative else ("v_w", "v_raw")


def _local_eval(spec: _ChunkSpec, net, key, local_start, local_count,
                num_points) -> tuple[dict, dict, jax.Array]:
    """Points ``local_start .. local_start + local_count - 1`` (``local_count`` ≤
    ``spec.unit``, traced) in blocks of ``spec.block`` (a ``fori_loop`` whose trip count,
    the blocks holding points < num_points, is traced: XLA compiles the block once, as a
    loop body, whatever the chunk size or device layout).

    Returns the per-point radii and errors in buffers of ``spec.unit`` points (rounded up to
    whole blocks; the host folds the first ``local_count``), the running maxima
    ``{name: (max, local index, point)}`` (the first index on ties, kept in the loop so that
    the points need not be stored) and the first local index of a non-finite point
    (``spec.unit`` if there is none)."""
    b, dtype, idt = spec.block, jnp.dtype(spec.dtype), jnp.dtype(spec.index_dtype)
    nb = -(-spec.unit // b)
    left = jnp.minimum(num_points - local_start, local_count)
    todo = jnp.clip((left + b - 1) // b, 0, nb)
    names = _error_names(spec)
    bufs = {k: jnp.zeros(nb * b, dtype) for k in ("radius",) + names}
    best = {k: (jnp.asarray(-jnp.inf, dtype), jnp.zeros((), idt), jnp.zeros(spec.n0, dtype))
            for k in names}
    none_bad = jnp.asarray(spec.unit, idt)

    def body(i, state):
        bufs, best, bad = state
        off = (i * b).astype(idt)
        idx = (local_start + off + jnp.arange(b, dtype=idt)).astype(idt)
        o = _eval_block(spec, net, key, idx)
        valid = (idx < num_points) & (off + jnp.arange(b, dtype=idt) < local_count)
        bufs = {k: jax.lax.dynamic_update_slice_in_dim(v, o[k].astype(dtype), off, axis=0)
                for k, v in bufs.items()}
        new = {}
        for k in names:
            vals = jnp.where(valid, o[k], -jnp.inf)
            j = jnp.argmax(vals)
            m, (bm, bi, bx) = vals[j], best[k]
            up = m > bm  # strictly: an earlier block keeps a tie
            new[k] = (jnp.where(up, m, bm), jnp.where(up, off + j.astype(idt), bi),
                      jnp.where(up, o["x"][j], bx))
        badmask = valid & ~o["finite"]
        bad = jnp.where((bad == none_bad) & jnp.any(badmask),
                        off + jnp.argmax(badmask).astype(idt), bad)
        return bufs, new, bad

    return jax.lax.fori_loop(0, todo, body, (bufs, best, none_bad))


def _call_eval(spec: _ChunkSpec, net, key_data, start, num_points, local_count):
    """One compiled call: points ``start .. start + n_dev · local_count - 1`` (those ≥
    num_points masked), device d taking ``local_count`` ≤ ``spec.unit`` of them from
    ``start + d · local_count`` (``shard_map``) in blocks of ``spec.block`` points.

    Returns per-device buffers of per-point radii and errors (shape ``(n_dev · U,)``, U the
    unit rounded up to whole blocks; the host keeps the first ``local_count`` of each
    device), the argmax indices (relative to ``start``) and points of every error, and the
    first non-finite index (``bad``). Neither the chunk size nor ``local_count`` is part of
    the compiled program, so every chunk size and every call share one compilation."""
    mesh, idt = spec.mesh, jnp.dtype(spec.index_dtype)
    if mesh is None:
        key = jax.random.wrap_key_data(key_data, impl=spec.key_impl)
        bufs, best, bad = _local_eval(spec, net, key, start, local_count, num_points)
        bad = jnp.where(bad < spec.unit, bad, -1).astype(idt)
    else:
        axes = tuple(mesh.axis_names)
        n_dev = mesh.size

        def per_device(net, key_data, start, num_points, local_count):
            key = jax.random.wrap_key_data(key_data, impl=spec.key_impl)
            dev = jax.lax.axis_index(axes).astype(start.dtype)
            bufs, best, bad = _local_eval(spec, net, key, start + dev * local_count,
                                          local_count, num_points)
            one = jax.tree.map(lambda a: a[None], (best, bad))  # a leading device axis
            return bufs, one[0], one[1]

        bufs, per, bads = jax.shard_map(
            per_device, mesh=mesh, in_specs=(P(), P(), P(), P(), P()), out_specs=P(axes),
            check_vma=False)(net, key_data, start, num_points, local_count)
        base = jnp.arange(n_dev, dtype=idt) * local_count
        best = {}
        for k, (m, i, x) in per.items():  # device d holds the lower indices of d + 1
            d = jnp.argmax(m)
            best[k] = (m[d], base[d] + i[d], x[d])
        first = jnp.argmax(bads < spec.unit)
        bad = jnp.where(bads[first] < spec.unit, base[first] + bads[first], -1).astype(idt)
    out = {"radius": bufs["radius"], "bad_i": bad}
    for name in ("v", "d") if spec.derivative else ("v",):
        out.update({f"{name}_w": bufs[f"{name}_w"], f"{name}_raw": bufs[f"{name}_raw"],
                    f"{name}_iw": best[f"{name}_w"][1], f"{name}_ir": best[f"{name}_raw"][1],
                    f"{name}_xw": best[f"{name}_w"][2], f"{name}_xr": best[f"{name}_raw"][2]})
    return out


@functools.lru_cache(maxsize=32)
def _compiled_call(spec: _ChunkSpec):
    """The jitted call function for ``spec``; cached, so repeated sweeps compile once."""
    fn = functools.partial(_call_eval, spec)
    if spec.mesh is None:
        return jax.jit(fn)
    rep = NamedSharding(spec.mesh, P())
    return jax.jit(fn, in_shardings=(rep,) * 5, out_shardings=rep)


@functools.partial(jax.jit, static_argnums=(0, 2))
def _probe(spec: _ChunkSpec, key_data, n: int):
    """The first n points with f and ∇f there (checked for finiteness before the sweep)."""
    f, Df = spec.target_fns()
    key = jax.random.wrap_key_data(key_data, impl=spec.key_impl)
    x = spec.points(key, jnp.arange(n, dtype=spec.index_dtype))
    return x, jax.vmap(f)(x), jax.vmap(Df)(x) if spec.derivative else None


def _raise_non_finite(spec: _ChunkSpec, net, key, i: int):
    """Raise the ValueError for a non-finite target or network value at point index i."""
    x = jax.jit(spec.points)(key, jnp.asarray([i], spec.index_dtype))
    e = jax.jit(lambda net, x: pointwise_errors(
        net, spec.target, x, target_grad=spec.target_grad, kappa=spec.kappa,
        derivative=spec.derivative, activation=spec.activation))(net, x)
    parts = [("target value f(x)", e.target_value), ("target gradient ∇f(x)", e.target_derivative),
             ("network value RΦ(x)", e.value), ("network derivative D^NΦ(x)", e.derivative)]
    for name, v in parts:
        if v is None:
            continue
        v = np.asarray(v)[0]
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} is not finite at point index {i}, "
                             f"x = {np.asarray(x)[0].tolist()}: {v.tolist()}")
    dtype = np.dtype(spec.dtype).name
    over = [("the norm ‖x‖", e.norm), ("the value error ‖f(x) − RΦ(x)‖", e.value_error),
            ("the derivative error ‖∇f(x) − D^NΦ(x)‖_F", e.derivative_error)]
    for name, v in over:
        if v is not None and not np.all(np.isfinite(np.asarray(v))):
            raise ValueError(f"{name} overflows {dtype} at point index {i}, "
                             f"x = {np.asarray(x)[0].tolist()}; sweep in a wider dtype")
    raise ValueError(f"a non-finite value at point index {i}, x = {np.asarray(x)[0].tolist()}")


# -- validation and set-up -------------------------------------------------------------------


def _mesh_of(devices) -> Mesh | None:
    if devices is None:
        if jax.process_count() > 1:
            return Mesh(np.array(jax.devices()), ("batch",))
        return None
    if isinstance(devices, Mesh):
        return devices
    if isinstance(devices, str):
        if devices == "all":
            return Mesh(np.array(jax.devices()), ("batch",))
        raise ValueError(f"devices must be None, 'all', a jax.sharding.Mesh or a list of "
                         f"devices, got {devices!r}")
    devices = list(devices)
    if not devices:
        raise ValueError("devices must be None, 'all', a jax.sharding.Mesh or a non-empty list "
                         "of devices; got an empty list")
    return Mesh(np.array(devices), ("batch",))


def _num_points(sampler: Sampler, num_points) -> int:
    if num_points is None:
        if sampler.size is None:
            raise ValueError("num_points=None is only allowed for a finite sampler (TensorGrid)")
        num_points = sampler.size
    num_points = _checks.positive_int("num_points", num_points)
    if sampler.size is not None and num_points > sampler.size:
        raise ValueError(f"num_points = {num_points} exceeds the {sampler.size} points of "
                         f"{type(sampler).__name__}")
    return num_points


def _quantile_levels(quantiles) -> tuple[float, ...]:
    levels = tuple(_checks.real("quantiles", q) for q in quantiles)
    if any(not (0 < q <= 1) for q in levels):
        raise ValueError(f"quantiles must lie in (0, 1], got {levels}")
    return levels


def _radial_edges(radial_bins, sampler: Sampler) -> np.ndarray:
    if radial_bins is None:
        radial_bins = sampler.radial_edges()
    if radial_bins is None:
        radial_bins = 2.0 ** np.arange(-30, 61)
    edges = np.asarray(radial_bins, np.float64)
    if edges.ndim != 1 or edges.size == 0 or not np.all(np.isfinite(edges)) \
            or np.any(edges <= 0) or np.any(np.diff(edges) <= 0):
        raise ValueError(f"radial_bins must be a non-empty increasing sequence of positive "
                         f"finite edges, got {radial_bins!r}")
    return edges


def _typed_key(key):
    key = _checks.prng_key("key", key)
    if not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.wrap_key_data(jnp.asarray(key, jnp.uint32))
    return key


@dataclasses.dataclass(frozen=True)
class _Plan:
    """A validated sweep: the chunk function's spec and the host-side settings."""

    spec: _ChunkSpec
    key: jax.Array
    num_points: int
    chunk: int
    num_chunks: int
    r_edges: np.ndarray
    quantiles: tuple[float, ...]
    checkpoint_every: int

    @property
    def n_devices(self) -> int:
        return 1 if self.spec.mesh is None else self.spec.mesh.size

    @property
    def n_shells(self) -> int:
        return len(self.r_edges) + 1


def _bytes_per_point(info: _NetInfo, derivative: bool) -> int:
    """Working memory of one point of a sweep block: the point, the network's activations
    (every hidden layer three times: pre-activation, slope, activation) and Jacobian
    products, f and ∇f. Without widths (a network-like object that does not state them),
    the input and output sizes only."""
    n0, nl = info.input_dim, info.output_dim
    widths = info.widths if info.widths is not None else (n0, nl)
    hidden = sum(widths[1:-1])
    jac = nl * (max(widths[:-1]) + n0) if derivative else 0
    return info.dtype.itemsize * (2 * n0 + 3 * hidden + 2 * nl + 2 * jac + nl * n0)


def _device_memory(device) -> int:
    """The device's ``bytes_limit`` (total memory), or 2 GiB if it reports none."""
    try:
        stats = device.memory_stats() or {}
    except (RuntimeError, AttributeError, NotImplementedError):
        stats = {}
    limit = stats.get("bytes_limit")
    return int(limit) if limit else _FALLBACK_MEMORY


def _cpu_eval_block(info: _NetInfo) -> int:
    """The CPU evaluation block: the cache-sized block of :func:`jrelu.value_and_derivative`
    (:func:`jrelu.derivative.evaluation_blocking`), at least two sampling blocks."""
    widths = info.widths if info.widths is not None else (info.input_dim, info.output_dim)
    block = _cache.cpu_block(widths, info.dtype.itemsize, _cache.cache_bytes())
    return max(2 * sample_block(backend="cpu"), block)


def _default_blocking(bytes_per_point: int, *, backend: str, memory_bytes: int | None,
                      num_devices: int = 1, cpu_block: int = 1024) -> tuple[int, int, int]:
    r"""``(block, unit, chunk)``: points per evaluation block, the most points one compiled
    call gives a device, and the default chunk size.

    CPU: blocks of ``cpu_block`` points (:func:`_cpu_eval_block`: a block's activations fit
    in the cores' L2 cache) and chunks of :data:`CPU_CHUNK` = 8192 points over all devices.
    An accelerator, where a serial loop over small blocks leaves the device idle: with
    P = ``bytes_per_point`` and M = ``memory_bytes`` (per device),
    :math:`b=\min(2^{24},\max(2s,2^{\lfloor\log_2(M/(32P))\rfloor}))` with s the
    accelerator sampling block (:func:`jrelu.samplers.sample_block`), and each device's
    share of a chunk is :math:`b\max(1,\lfloor2^{20}/b\rfloor)` points (about a million).
    The block depends only on the backend, the network and M, never on the chunk size or
    the device count: that is what keeps a sweep's numbers layout-independent. The unit
    (:data:`CPU_CHUNK` on CPU, a device's default share on an accelerator) bounds one
    call; a larger chunk takes several calls.
    """
    if backend == "cpu":
        return cpu_block, CPU_CHUNK, CPU_CHUNK
    if memory_bytes is None:
        memory_bytes = _FALLBACK_MEMORY
    fit = memory_bytes // (ACCELERATOR_BLOCK_SHARE * bytes_per_point)
    block = _cache.power_of_two_at_most(fit, 2 * sample_block(backend=backend),
                                        _ACCELERATOR_MAX_BLOCK)
    per_device = block * max(1, _ACCELERATOR_DEVICE_CHUNK // block)
    return block, per_device, per_device * num_devices


def _plan(net, target, sampler, *, num_points, key, kappa, target_grad, derivative,
          chunk_size, activation, devices, checkpoint_every, radial_bins,
          quantiles) -> _Plan:
    """Check every argument (before any work) and fix the chunking and the device mesh."""
    info = _network_info("net", net)
    if not info.is_network:
        _check_pytree("net", net)
    _checks.callable_("target", target)
    if target_grad is not None:
        _checks.callable_("target_grad", target_grad)
    if not isinstance(sampler, Sampler):
        raise TypeError(f"sampler must be a jrelu.samplers.Sampler (UniformBox, Gaussian, "
                        f"RadialShells, Halton, TensorGrid, FromFunction or a subclass), got "
                        f"{type(sampler).__name__}; wrap a function of a key with FromFunction")
    if sampler.dim != info.input_dim:
        raise ValueError(f"sampler dimension {sampler.dim} does not match the network input "
                         f"dimension N_0 = {info.input_dim}{info.where}")
    kappa = _checks.nonnegative("kappa", kappa)
    if chunk_size is not None:
        chunk_size = _checks.positive_int("chunk_size", chunk_size)
    num_points = _num_points(sampler, num_points)
    checkpoint_every = _checks.positive_int("checkpoint_every", checkpoint_every)
    quantiles = _quantile_levels(quantiles)
    _checks.activation("activation", activation)
    derivative = _checks.boolean("derivative", derivative)
    dtype = jnp.dtype(info.dtype)
    index_dtype = jnp.int64 if jax.config.jax_enable_x64 else jnp.int32
    key = _typed_key(key)
    r_edges = _radial_edges(radial_bins, sampler)
    _target_fns(target, target_grad, info.input_dim, info.output_dim, dtype, derivative,
                info.widths)
    mesh = _mesh_of(devices)
    n_dev = 1 if mesh is None else mesh.size
    device = jax.devices()[0] if mesh is None else mesh.devices.flat[0]
    backend = device.platform
    block, unit, default_chunk = _default_blocking(
        _bytes_per_point(info, derivative), backend=backend,
        memory_bytes=None if backend == "cpu" else _device_memory(device), num_devices=n_dev,
        cpu_block=_cpu_eval_block(info))
    if chunk_size is None:
        chunk_size = default_chunk
    if num_points + chunk_size + n_dev * (unit + block) >= np.iinfo(index_dtype).max:
        raise ValueError(f"num_points = {num_points} is too large for {np.dtype(index_dtype)} "
                         "point indices (enable jax_enable_x64)")
    chunk = -(-min(chunk_size, num_points) // n_dev) * n_dev
    spec = _ChunkSpec(sampler=sampler, target=target, target_grad=target_grad,
                      activation=activation, kappa=kappa, derivative=derivative, unit=unit,
                      block=block, n0=info.input_dim, nl=info.output_dim, dtype=str(dtype),
                      index_dtype=str(np.dtype(index_dtype)),
                      key_impl=str(jax.random.key_impl(key)), mesh=mesh,
                      is_network=info.is_network)
    return _Plan(spec=spec, key=key, num_points=num_points, chunk=chunk,
                 num_chunks=-(-num_points // chunk),
                 r_edges=r_edges, quantiles=quantiles, checkpoint_every=checkpoint_every)


def _probe_and_fingerprint(net, plan: _Plan) -> dict:
    """Evaluate f and ∇f on the first 16 points (ValueError naming a non-finite one) and
    return the fingerprint that a checkpoint must match."""
    spec, key = plan.spec, plan.key
    key_data = np.asarray(jax.random.key_data(key))
    # the probe does not depend on the blocking or the devices: one compilation for them all
    probe_spec = dataclasses.replace(spec, unit=0, block=0, mesh=None)
    probe_x, probe_f, probe_g = _probe(probe_spec, key_data, min(plan.num_points, 16))
    bad = ~np.all(np.isfinite(np.asarray(probe_f)), axis=-1)
    if spec.derivative:
        bad |= ~np.all(np.isfinite(np.asarray(probe_g)), axis=(-2, -1))
    if bad.any():
        _raise_non_finite(spec, net, key, int(np.argmax(bad)))
    info = _network_info("net", net)
    fingerprint = {
        "version": 1, "network_sha256": _network_hash(net),
        "widths": list(info.widths or (info.input_dim, info.output_dim)),
        "dtype": spec.dtype, "activation": repr(spec.activation),
        "num_points": plan.num_points, "chunk_size": plan.chunk, "kappa": spec.kappa,
        "derivative": spec.derivative, "sampler": _plain(spec.sampler.describe()),
        "key": key_data.tolist(), "key_impl": spec.key_impl,
        "target_probe_sha256": _array_hash(probe_f, probe_g),
        "points_probe_sha256": _array_hash(probe_x),
        "radial_bins": plan.r_edges.tolist(), "quantiles": list(plan.quantiles),
    }
    if not info.is_network:
        fingerprint["network_type"] = f"{type(net).__module__}.{type(net).__qualname__}"
    fingerprint["eval_block"] = spec.block
    return fingerprint


# -- the running state and the host loop -------------------------------------------------------


@dataclasses.dataclass
class _State:
    """The host-side running state: chunks done, time spent, statistics per error."""

    next_chunk: int
    seconds: float
    value: _stats.Running
    derivative: _stats.Running | None
    shell_count: np.ndarray

    @classmethod
    def start(cls, plan: _Plan, saved: dict | None) -> _State:
        n, deriv = plan.n_shells, plan.spec.derivative
        if saved is None:
            return cls(0, 0.0, _stats.Running(n), _stats.Running(n) if deriv else None,
                       np.zeros(n, np.int64))
        return cls(int(saved["next_chunk"]), float(saved["seconds"]),
                   _stats.Running.from_json(saved["value"], n),
                   _stats.Running.from_json(saved["derivative"], n) if deriv else None,
                   np.asarray(saved["shell_count"], np.int64))

    def to_json(self, fingerprint: dict, seconds: float) -> dict:
        """The checkpoint file's contents."""
        return {"fingerprint": fingerprint, "next_chunk": self.next_chunk, "seconds": seconds,
                "value": self.value.to_json(),
                "derivative": None if self.derivative is None else self.derivative.to_json(),
                "shell_count": self.shell_count.tolist()}

    def fold(self, plan: _Plan, start: int, nv: int, o: dict) -> None:
        """Add one call's output: the ``nv`` points ``start, start + 1, ...``."""
        shells = np.searchsorted(plan.r_edges, np.asarray(o["radius"][:nv], np.float64),
                                 side="right")
        self.shell_count += np.bincount(shells, minlength=plan.n_shells)
        for name, run in (("v", self.value), ("d", self.derivative)):
            if run is None:
                continue
            run.update(start, np.asarray(o[f"{name}_w"][:nv], np.float64),
                       np.asarray(o[f"{name}_raw"][:nv], np.float64),
                       int(o[f"{name}_iw"]), np.asarray(o[f"{name}_xw"], np.float64).tolist(),
                       int(o[f"{name}_ir"]), np.asarray(o[f"{name}_xr"], np.float64).tolist(),
                       shells)


def _calls(plan: _Plan, first_chunk: int):
    """``(chunk, start, local_count, last)`` of every compiled call from ``first_chunk`` on:
    a chunk takes one call of up to ``unit`` points per device, or several."""
    n, chunk, n_dev, unit = plan.num_points, plan.chunk, plan.n_devices, plan.spec.unit
    for c in range(first_chunk, plan.num_chunks):
        lo, hi = c * chunk, (c + 1) * chunk  # a chunk is a multiple of n_dev points
        for s in range(lo, hi, unit * n_dev):
            if s < n:
                yield c, s, min(unit * n_dev, hi - s) // n_dev, s + unit * n_dev >= min(hi, n)


def _run_chunks(net, plan: _Plan, state: _State, *, checkpoint, fingerprint,
                progress) -> None:
    """Evaluate the remaining chunks (the next call is dispatched while the host folds the
    current one) and checkpoint every ``checkpoint_every`` chunks and at the end."""
    spec, chunk, n, n_dev = plan.spec, plan.chunk, plan.num_points, plan.n_devices
    run_call = _compiled_call(spec)
    key_data = np.asarray(jax.random.key_data(plan.key))
    index_dtype = np.dtype(spec.index_dtype)
    n_arg = np.asarray(n, index_dtype)
    mesh = spec.mesh
    net_dev = net if mesh is None else jax.device_put(net, NamedSharding(mesh, P()))

    def dispatch(call):
        _, start, local, _ = call
        return run_call(net_dev, key_data, np.asarray(start, index_dtype), n_arg,
                        np.asarray(local, index_dtype))

    def fetch(out, call) -> dict:
        _, start, local, _ = call
        if mesh is None:
            o = jax.device_get(out)
        else:
            o = {k: np.asarray(v.addressable_data(0)) for k, v in out.items()}
        for k, v in o.items():  # each device's first `local` points, in index order
            if np.ndim(v) == 1 and k not in ("v_xw", "v_xr", "d_xw", "d_xr"):
                o[k] = v.reshape(n_dev, -1)[:, :local].reshape(-1)
        return o

    seconds_before = state.seconds
    show = progress if jax.process_index() == 0 else False
    prog = _Progress(show, n, min(state.next_chunk * chunk, n))
    t0 = time.perf_counter()
    calls = _calls(plan, state.next_chunk)
    call = next(calls, None)
    pending = dispatch(call) if call is not None else None
    try:
        while call is not None:
            c, start, _, last = call
            nxt_call = next(calls, None)
            nxt = dispatch(nxt_call) if nxt_call is not None else None
            o = fetch(pending, call)
            if int(o["bad_i"]) >= 0:
                _raise_non_finite(spec, net, plan.key, start + int(o["bad_i"]))
            state.fold(plan, start, min(o["radius"].shape[0], n - start), o)
            call, pending = nxt_call, nxt
            if not last:
                continue
            state.next_chunk = c = c + 1
            if checkpoint is not None and (c % plan.checkpoint_every == 0
                                           or c == plan.num_chunks):
                _save_checkpoint(checkpoint, state.to_json(
                    fingerprint, seconds_before + time.perf_counter() - t0))
            prog.update(min(c * chunk, n))
    finally:
        prog.close(min(state.next_chunk * chunk, n))
    state.seconds = seconds_before + time.perf_counter() - t0


def _error_stats(run: _stats.Running, n: int, quantiles) -> ErrorStats:
    return ErrorStats(sup=run.sup, argmax=tuple(run.argmax), argmax_index=run.argmax_index,
                      sup_unweighted=run.sup_raw, argmax_unweighted=tuple(run.argmax_raw),
                      argmax_unweighted_index=run.argmax_raw_index, mean=run.mean(n),
                      quantiles=run.quantiles(n, quantiles))


def _report(plan: _Plan, state: _State) -> SweepReport:
    spec, n, r_edges = plan.spec, plan.num_points, plan.r_edges
    lows = np.concatenate([[0.0], r_edges])
    highs = np.concatenate([r_edges, [math.inf]])
    deriv = state.derivative
    profile = tuple(
        ShellStats(r_min=float(lows[j]), r_max=float(highs[j]), count=int(state.shell_count[j]),
                   value_sup=float(state.value.shell_max[j]),
                   derivative_sup=float(deriv.shell_max[j]) if deriv is not None else None)
        for j in range(plan.n_shells) if state.shell_count[j] > 0)
    seconds = state.seconds
    return SweepReport(
        num_points=n, kappa=spec.kappa, value=_error_stats(state.value, n, plan.quantiles),
        derivative=None if deriv is None else _error_stats(deriv, n, plan.quantiles),
        radial_profile=profile, seconds=seconds,
        points_per_second=n / seconds if seconds > 0 else math.inf,
        chunk_size=plan.chunk, num_chunks=plan.num_chunks, num_devices=plan.n_devices,
        num_processes=jax.process_count(), dtype=spec.dtype,
        sampler=_plain(spec.sampler.describe()))


# -- the sweep ---------------------------------------------------------------------------------


def error_sweep(net: Network, target: Callable, sampler: Sampler, *, num_points: int | None,
                key: ArrayLike, kappa: float = 0.0, target_grad: Callable | None = None,
                derivative: bool = True, chunk_size: int | None = None,
                activation: Activation = relu, devices=None,
                checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 16,
                progress: bool | None = None, radial_bins: Sequence[float] | None = None,
                quantiles: Sequence[float] = (0.5, 0.9, 0.99)) -> SweepReport:
    r"""Weighted sup errors of :math:`R\Phi` and :math:`D^N\Phi` against f over a sample.

    .. math::
        \max_{0\le i<n}\frac{\|f(x_i)-R\Phi(x_i)\|_2}{1+\|x_i\|_2^\kappa},\qquad
        \max_{0\le i<n}\frac{\|\nabla f(x_i)-D^N\Phi(x_i)\|_F}{1+\|x_i\|_2^\kappa}

    over the points :math:`x_i=` ``sampler.points(key, i)``, :math:`i<n=` ``num_points``,
    with their argmax points, the unweighted maxima, the means, quantiles and a radial
    profile (:class:`SweepReport`). The per-point numbers are those of
    :func:`pointwise_errors`.

    One jit-compiled function evaluates ``chunk_size`` points at a time (the last chunk is
    padded and masked, so it reuses the same compiled function); the host folds each chunk
    into order-independent running statistics (maxima with the smallest index on ties, an
    exact integer sum of the float errors, integer histogram counts), so memory is flat in
    ``num_points`` and an interrupted and resumed sweep reports exactly what an
    uninterrupted one does (timing aside). Every per-point number (the point, f, ∇f,
    :math:`R\Phi`, :math:`D^N\Phi`, the norms and the weighted errors) is computed by one
    compiled block of points, the loop body of each device's share of a chunk, so it
    does not depend on the batch it is computed in: for a given block size the per-point
    values, and so the report, are bitwise identical for any ``chunk_size`` and any device
    layout (apart from the fields ``chunk_size``, ``num_chunks``, ``num_devices``,
    ``num_processes`` and timing). The block size depends only on the backend: 1024
    points on CPU; on GPU and TPU, the largest power of two whose working memory is at most
    1/32 of a device's memory (at least 16384 points, at most :math:`2^{24}`), a function
    of the network and the device memory, never of the chunk size or the number of
    devices. The argmax points are tracked on the device, and the chunk that is
    evaluated next is already queued while the host folds the current one. The points
    are bitwise those of ``sampler(key, n, dtype=net.dtype)`` on the same backend, so
    ``argmax`` is ``sampler(key, n, dtype=net.dtype)[argmax_index]``.

    In float32 (or float64) the norms :math:`\|x\|` and the errors are computed without
    spurious overflow or underflow, and the weighted errors also where the weight
    :math:`1+\|x\|^\kappa` exceeds the dtype; where a true quantity (a point, f, ∇f,
    :math:`R\Phi`, :math:`D^N\Phi`, a norm or an error) does not fit the dtype, the sweep
    raises a ValueError that names it.

    Args:
      net: the network, widths :math:`(N_0,\dots,N_L)`; its dtype is the compute dtype
        (the points are generated in it). A :class:`jrelu.Network`, or a network-like
        pytree with array leaves, attributes ``dtype``, ``input_dim``, ``output_dim`` and
        methods ``realize(x, *, activation)`` and ``value_and_derivative(x, *,
        activation)`` on batches ``(n, N_0)`` (such as
        :class:`jrelu.pde.AveragingNetwork`: a structured network too large to store
        densely); a checkpoint then fingerprints its class and array leaves.
      target: f, mapping one point ``(N_0,)`` to ``(N_L,)``, or to a scalar ``()`` when
        :math:`N_L=1`. It is vmapped, so write it in ``jnp``.
      sampler: a :class:`jrelu.samplers.Sampler` with ``dim == N_0``.
      num_points: n; None for a :class:`~jrelu.samplers.TensorGrid` means the whole grid
        (at most ``sampler.size``).
      key: a PRNG key (typed, or raw ``uint32[2]``).
      kappa: the weight exponent :math:`\kappa\ge0`.
      target_grad: :math:`\nabla f`, mapping ``(N_0,)`` to ``(N_L, N_0)`` (or ``(N_0,)``
        for :math:`N_L=1`); default ``jax.grad(target)`` (scalar target) or
        ``jax.jacrev(target)``.
      derivative: also sweep the derivative error.
      chunk_size: points per compiled chunk (at most n, rounded up to a multiple of the
        number of devices); memory is O(chunk_size + block · width), independent of n.
        Default (None): 8192 on CPU; on GPU and TPU about :math:`2^{20}` points per device
        (whole blocks). Each device evaluates its share of a chunk in blocks (cache-sized
        on CPU, 1024 to 8192 points; a share that is not a multiple of the block is
        padded, so shares below one block waste work).
      activation: :math:`\varrho`, whose :math:`D\varrho` defines :math:`D^N\Phi`.
      devices: None (the default device; all global devices when running multi-process
        under ``jax.distributed.initialize``), ``"all"``, a list of devices, or a
        :class:`jax.sharding.Mesh`: every chunk is sharded over all its devices along the
        point axis (``shard_map``; the per-point results are gathered with XLA
        collectives); the report is bitwise that of a single-device sweep. Multi-host: call
        ``jax.distributed.initialize(...)`` in every process, then ``error_sweep`` with
        the same arguments in every process; each process evaluates the points of its
        own devices and every process returns the same report.
      checkpoint: a file path. The running state is written there atomically
        (:func:`jrelu.io.atomic_write`, JSON) every ``checkpoint_every`` chunks and at
        the end; if the file exists, the sweep resumes from it, provided it was written
        with the same arguments (network weights, target values on probe points, sampler,
        key, num_points, chunk size, κ, ...), else ValueError. The completed file is kept:
        re-running returns the report at once. In a multi-process run every process
        writes the same state to ``checkpoint`` (a per-host or a shared path works).
      checkpoint_every: chunks between checkpoint writes.
      progress: True/False, or None (default): a progress line on stderr only once a
        sweep has run for 2 s.
      radial_bins: increasing shell edges :math:`0<e_0<\dots<e_m` for the radial
        profile (shells :math:`[0,e_0),[e_0,e_1),\dots,[e_m,\infty)`); default the
        sampler's (one per shell for :class:`~jrelu.samplers.RadialShells`) or octaves
        :math:`[2^{k-1},2^k)`.
      quantiles: levels :math:`q\in(0,1]` of the reported quantiles.

    Returns:
      a :class:`SweepReport`.

    Raises:
      TypeError: before any work, for an argument of the wrong type (``net`` neither a
        Network nor a network-like pytree, ``sampler`` not a Sampler, ``key`` not a PRNG
        key, a non-integer ``chunk_size``/``num_points``, ...).
      ValueError: before any work, for a sampler dimension ≠ N_0, κ < 0, a
        non-positive ``chunk_size``/``num_points``, a target or target_grad of the wrong
        shape, a non-finite target value or gradient on the first 16 points (the message
        gives the point), a mismatched checkpoint; during the sweep, for a non-finite
        target or network value or derivative (the message names which, with the point
        and its index), or for a norm or an error that overflows the dtype (named).

    Example:
      >>> net = jrelu.init(jax.random.key(0), (2, 16, 1))
      >>> rep = jrelu.error_sweep(net, lambda x: jnp.sum(x**2),
      ...                         jrelu.samplers.RadialShells(2, r_max=1e3),
      ...                         num_points=4096, key=jax.random.key(1), kappa=2.0,
      ...                         chunk_size=1024)
      >>> rep.num_points, rep.num_chunks, len(rep.derivative.argmax)
      (4096, 4, 2)
      >>> bool(0 < rep.sup_value_error <= rep.value.sup_unweighted)
      True

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    plan = _plan(net, target, sampler, num_points=num_points, key=key, kappa=kappa,
                 target_grad=target_grad, derivative=derivative, chunk_size=chunk_size,
                 activation=activation, devices=devices, checkpoint_every=checkpoint_every,
                 radial_bins=radial_bins, quantiles=quantiles)
    fingerprint = _probe_and_fingerprint(net, plan)
    saved = None
    if checkpoint is not None:
        checkpoint = os.fspath(checkpoint)
        saved = _load_checkpoint(checkpoint, fingerprint)
    state = _State.start(plan, saved)
    _run_chunks(net, plan, state, checkpoint=checkpoint, fingerprint=fingerprint,
                progress=progress)
    return _report(plan, state)
