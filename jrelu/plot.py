r"""Pictures of jrelu's guarantees (optional extra ``plot``: matplotlib).

matplotlib is imported lazily inside each function, without ``pyplot`` (so no global
backend is switched), and ``import jrelu`` never needs it. This module is a namespace
(``import jrelu.plot``), not imported by ``import jrelu``.

* :func:`figure`: a matplotlib figure that touches no global state;
* :func:`global_error_profile`: the measured weighted errors of the local-to-global
  network :math:`\Phi_\varepsilon` of :func:`jrelu.constructions.global_network` against
  :math:`\|x\|`, next to its guaranteed envelopes (:class:`ErrorProfile`).

References:
  Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks
from .activations import Activation, relu
from .constructions import GlobalRecord, global_bound
from .io import atomic_write
from .network import Network
from .sweep import pointwise_errors

__all__ = ["figure", "ErrorProfile", "global_error_profile"]


def figure(**kwargs) -> Any:
    r"""A new ``matplotlib.figure.Figure``, built without ``pyplot``.

    No global backend or figure registry is touched (safe inside notebooks and
    threads); ``fig.savefig`` renders with Agg. A figure of ``figsize`` :math:`(w,h)`
    inches saved at ``dpi`` has :math:`(w\cdot\mathrm{dpi})\times(h\cdot\mathrm{dpi})`
    pixels.

    Args:
      **kwargs: keyword arguments of ``matplotlib.figure.Figure`` (``figsize``,
        ``layout``, ``dpi``, ...).

    Returns:
      A ``matplotlib.figure.Figure``.

    Raises:
      ImportError: if matplotlib is not installed (install the extra ``jrelu[plot]``).

    Example:
      >>> import jrelu.plot
      >>> fig = jrelu.plot.figure(figsize=(4, 3))
      >>> ax = fig.subplots()
      >>> tuple(fig.get_size_inches().tolist())
      (4.0, 3.0)
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("jrelu.plot needs matplotlib: install the optional extra "
                          "`pip install jrelu[plot]` (or `pip install matplotlib`)") from e
    return Figure(**kwargs)


@dataclasses.dataclass(frozen=True, eq=False)
class ErrorProfile:
    r"""Weighted errors of :math:`\Phi_\varepsilon` and their envelopes, per sample point.

    The result of :func:`global_error_profile`. All arrays have shape ``(n,)`` (one entry
    per point) and dtype float64; the weight is :math:`w(x)=1+\|x\|_2^\kappa`.

    Attributes:
      radius: :math:`\|x\|_2`.
      value_error: :math:`|f(x)-R\Phi_\varepsilon(x)|/w(x)`.
      derivative_error: :math:`\|\nabla f(x)-D^N\Phi_\varepsilon(x)\|_2/w(x)`.
      value_envelope: the guaranteed value envelope of :func:`jrelu.constructions.global_bound`,
        divided by w(x).
      derivative_envelope: the guaranteed a.e. derivative envelope, divided by w(x).
      path: where the PNG was saved, or None.
      figure: the ``matplotlib.figure.Figure`` (not part of :meth:`to_dict`).

    Example:
      >>> import dataclasses, jrelu.plot
      >>> [f.name for f in dataclasses.fields(jrelu.plot.ErrorProfile)][:3]
      ['radius', 'value_error', 'derivative_error']
    """

    radius: np.ndarray
    value_error: np.ndarray
    derivative_error: np.ndarray
    value_envelope: np.ndarray
    derivative_envelope: np.ndarray
    path: str | None
    figure: Any = dataclasses.field(repr=False)

    def to_dict(self) -> dict:
        """The data as a JSON-able dict: arrays as lists of floats, ``path``; no figure."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name != "figure"}
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in out.items()}


def _radial_points(key, d: int, num_points: int, r_min: float, r_max: float, dtype):
    """Points on log-spaced spheres (directions uniform), via jrelu.samplers.RadialShells."""
    from .samplers import RadialShells

    shells = RadialShells(dim=d, r_max=r_max, num_shells=min(num_points, 200), r_min=r_min)
    return shells(key, num_points, dtype=dtype)


def global_error_profile(net: Network, record: GlobalRecord, target: Callable, *,
                         target_grad: Callable | None = None, key: jax.typing.ArrayLike,
                         path: str | os.PathLike | None = None, num_points: int = 4000,
                         r_min: float = 1e-2, r_max: float = 1e4,
                         extra_points: jax.typing.ArrayLike | None = None,
                         activation: Activation = relu, chunk_size: int = 2048,
                         title: str | None = None) -> ErrorProfile:
    r"""Measured weighted errors of :math:`\Phi_\varepsilon` against ‖x‖, next to the envelopes.

    For points x on spheres of log-spaced radii in :math:`[r_{\min},r_{\max}]` (uniform
    directions, :class:`jrelu.samplers.RadialShells`), plus optional ``extra_points``,
    computes with :func:`jrelu.pointwise_errors`

    .. math::
        e_0(x)=\frac{|f(x)-R\Phi_\varepsilon(x)|}{1+\|x\|^\kappa},\qquad
        e_1(x)=\frac{\|\nabla f(x)-D^N\Phi_\varepsilon(x)\|_2}{1+\|x\|^\kappa},

    and the guaranteed envelopes of :func:`jrelu.constructions.global_bound` divided by
    the same weight, and draws two log–log panels (value and derivative): measured errors
    as dots, the region-wise envelope as a line of points, and the theorem's constants ε
    and :math:`C\varepsilon^r` as horizontal lines; the cube edges :math:`B_\varepsilon`
    and :math:`\sqrt d(B_\varepsilon+1)` are marked. Zero errors are drawn at the bottom
    of the axis.

    Args:
      net: :math:`\Phi_\varepsilon`, widths ``(d, ..., 1)``, from
        :func:`jrelu.constructions.global_network`.
      record: its :class:`jrelu.constructions.GlobalRecord`.
      target: f, one point ``(d,)`` → scalar (jnp; vmapped).
      target_grad: ∇f, ``(d,)`` → ``(d,)``; default ``jax.grad(target)``.
      key: PRNG key of the directions.
      path: where to save the PNG (None: do not save), written atomically
        (:func:`jrelu.io.atomic_write`); parent folders are created.
      num_points: number of radial sample points.
      r_min: the smallest radius, > 0.
      r_max: the largest radius, > ``r_min``.
      extra_points: optional points added to the sample, shape ``(n, d)``.
      activation: :math:`\varrho`, whose :math:`D\varrho` defines :math:`D^N`.
      chunk_size: points per compiled evaluation.
      title: the figure title (default: the record's constants and sizes).

    Returns:
      An :class:`ErrorProfile` (float64 arrays, one entry per point, and the figure).

    Raises:
      TypeError: if ``net`` is not a network, ``record`` not a GlobalRecord, ``target`` /
        ``target_grad`` not callable, ``key`` not a PRNG key, ``activation`` not an
        Activation, or a number has the wrong type.
      ValueError: if the network's input dimension is not the record's d, unless
        :math:`0<r_{\min}<r_{\max}<\infty`, ``num_points`` / ``chunk_size`` < 1, or
        ``extra_points`` has the wrong shape.
      ImportError: if matplotlib is not installed.

    Example:
      >>> import jrelu.plot
      >>> loc = jrelu.constructions.squared_norm_local(1)
      >>> net, record = jrelu.constructions.global_network(loc, 1.0)
      >>> p = jrelu.plot.global_error_profile(net, record, loc.f, key=jax.random.key(0),
      ...                                     num_points=20)
      >>> p.radius.shape, bool((p.value_error <= p.value_envelope).all())
      ((20,), True)
      >>> sorted(p.to_dict())[:3]
      ['derivative_envelope', 'derivative_error', 'path']

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    _checks.network("net", net)
    if not isinstance(record, GlobalRecord):
        raise TypeError(f"record must be a GlobalRecord, got {type(record).__name__}")
    _checks.callable_("target", target)
    if target_grad is not None:
        _checks.callable_("target_grad", target_grad)
    _checks.prng_key("key", key)
    _checks.activation("activation", activation)
    num_points = _checks.positive_int("num_points", num_points)
    chunk_size = _checks.positive_int("chunk_size", chunk_size)
    if net.input_dim != record.d:
        raise ValueError(f"net has input dimension {net.input_dim} but the record is "
                         f"for d = {record.d}")
    r_min = _checks.positive("r_min", r_min)
    r_max = _checks.positive("r_max", r_max)
    if not r_min < r_max:
        raise ValueError(f"r_min must be < r_max, got r_min={r_min}, r_max={r_max}")
    fig = figure(figsize=(12.5, 4.8), layout="constrained")  # fails early without matplotlib
    d = record.d
    dtype = net.dtype
    x = _radial_points(key, d, num_points, r_min, r_max, dtype)
    if extra_points is not None:
        extra = jnp.asarray(_checks.array("extra_points", extra_points), dtype)
        if extra.ndim != 2 or extra.shape[1] != d:
            raise ValueError(f"extra_points must have shape (n, {d}), got {extra.shape}")
        x = jnp.concatenate([x, extra])

    @jax.jit
    def errs(xc):
        e = pointwise_errors(net, target, xc, target_grad=target_grad, activation=activation)
        return e.value_error, e.derivative_error

    ev, ed = [], []
    for i in range(0, x.shape[0], chunk_size):
        a, b = errs(x[i:i + chunk_size])
        ev.append(np.asarray(a))
        ed.append(np.asarray(b))
    xn = np.asarray(x, np.float64)
    ev, ed = np.concatenate(ev).astype(np.float64), np.concatenate(ed).astype(np.float64)
    r = np.linalg.norm(xn, axis=-1)
    w = 1.0 + r**record.kappa
    env = global_bound(record, xn)
    out = ErrorProfile(radius=r, value_error=ev / w, derivative_error=ed / w,
                       value_envelope=env.value / w, derivative_envelope=env.derivative / w,
                       path=None, figure=fig)

    order = np.argsort(r)
    axes = fig.subplots(1, 2)
    panels = [("value", out.value_error, out.value_envelope, record.eps,
               r"$|f-R\Phi_\varepsilon|\,/\,(1+\|x\|^\kappa)$", r"$\varepsilon$"),
              ("derivative", out.derivative_error, out.derivative_envelope,
               record.C * record.eps**record.r,
               r"$\|\nabla f-D^N\Phi_\varepsilon\|\,/\,(1+\|x\|^\kappa)$",
               r"$C\varepsilon^{r}$")]
    for ax, (name, e, envw, const, ylabel, clabel) in zip(axes, panels):
        pos = np.concatenate([e[e > 0], envw[envw > 0], [const]])
        floor = 10.0 ** math.floor(math.log10(max(pos.min(), 1e-300)) - 1)
        ax.scatter(r, np.maximum(e, floor), s=5, alpha=0.5, color="C0", lw=0,
                   label=f"measured ({len(r)} points)")
        ax.scatter(r[order], np.maximum(envw[order], floor), s=3, color="C3", lw=0,
                   label="guaranteed envelope (global_bound)")
        ax.axhline(const, color="k", ls="--", lw=1.2,
                   label=f"{clabel} = {const:.3g}")
        ax.axvline(record.B, color="0.5", ls=":", lw=1)
        ax.axvline(math.sqrt(d) * (record.B + 1), color="0.5", ls="-.", lw=1)
        ax.text(record.B, 1.0, r" $B_\varepsilon$", transform=ax.get_xaxis_transform(),
                va="top", ha="left", color="0.35", fontsize=9)
        ax.text(math.sqrt(d) * (record.B + 1), 1.0, r" $\sqrt{d}(B_\varepsilon{+}1)$",
                transform=ax.get_xaxis_transform(), va="top", ha="left", color="0.35",
                fontsize=9)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\|x\|_2$")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{name} error", fontsize=11)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="lower left", fontsize=8.5, framealpha=0.9, markerscale=3)
    fig.suptitle(title or (f"Local-to-global network $\\Phi_\\varepsilon$ for "
                           f"{record.local_name}: d = {d}, ε = {record.eps:g}, "
                           f"κ = {record.kappa:g}, r = {record.r:g}, C = {record.C:.3g}, "
                           f"depth {record.depth}, {record.num_params} params"), fontsize=11)
    if path is not None:
        path = os.fspath(path)
        fmt = os.path.splitext(path)[1][1:].lower() or None  # as savefig(path) infers it
        atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=110), mode="wb")
        out = dataclasses.replace(out, path=path)
    return out
