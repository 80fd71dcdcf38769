r"""Pictures of jrelu's guarantees (optional extra ``plot``: matplotlib).

matplotlib is imported lazily inside each function, without ``pyplot`` (so no global
backend is switched), and ``import jrelu`` never needs it. This module is a submodule
(``import jrelu.plot``), not re-exported by ``jrelu``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .activations import Activation, relu
from .constructions import GlobalRecord, global_bound
from .derivative import derivative
from .network import Network, realize

__all__ = ["global_error_profile"]


def figure(**kwargs):
    """A new ``matplotlib.figure.Figure`` (kwargs as for it), or a clear ImportError.

    Built without ``pyplot``, so no global backend or figure registry is touched (safe
    inside notebooks); ``fig.savefig`` renders with Agg.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("jrelu.plot needs matplotlib: install the optional extra "
                          "`pip install jrelu[plot]` (or `pip install matplotlib`)") from e
    return Figure(**kwargs)


def _radial_points(key, d: int, num_points: int, r_min: float, r_max: float, dtype):
    """Points on log-spaced spheres (directions uniform), via jrelu.RadialShells."""
    from .errors import RadialShells

    shells = RadialShells(dim=d, r_max=r_max, num_shells=min(num_points, 200), r_min=r_min)
    return shells(key, num_points, dtype)


def global_error_profile(net: Network, record: GlobalRecord, target: Callable,
                         target_grad: Callable | None = None, *, key, path=None,
                         num_points: int = 4000, r_min: float = 1e-2, r_max: float = 1e4,
                         extra_points=None, activation: Activation = relu,
                         chunk_size: int = 2048, title: str | None = None) -> dict:
    r"""Measured weighted errors of :math:`\Phi_\varepsilon` against ‖x‖, next to the envelopes.

    For points x on spheres of log-spaced radii in :math:`[r_{\min},r_{\max}]` (uniform
    directions, :class:`jrelu.RadialShells`), plus optional ``extra_points``, computes

    .. math::
        e_0(x)=\frac{|f(x)-R\Phi_\varepsilon(x)|}{1+\|x\|^\kappa},\qquad
        e_1(x)=\frac{\|\nabla f(x)-D^N\Phi_\varepsilon(x)\|_2}{1+\|x\|^\kappa},

    and the guaranteed envelopes of :func:`jrelu.global_bound` divided by the same
    weight, and draws two log–log panels (value and derivative): measured errors as
    dots, the region-wise envelope as a line of points, and the theorem's constants ε
    and :math:`C\varepsilon^r` as horizontal lines; the cube edges :math:`B_\varepsilon`
    and :math:`\sqrt d(B_\varepsilon+1)` are marked. Zero errors are drawn at the
    bottom of the axis.

    Args:
      net, record: the output of :func:`jrelu.global_network`.
      target: f, one point ``(d,)`` → scalar (jnp; vmapped).
      target_grad: ∇f, ``(d,)`` → ``(d,)``; default ``jax.grad(target)``.
      key: PRNG key for the directions.
      path: where to save the PNG (None: do not save).
      num_points, r_min, r_max: the radial sample.
      extra_points: optional array ``(n, d)`` added to the sample.

    Returns:
      dict with ``radius``, ``value_error``, ``derivative_error`` (weighted),
      ``value_envelope``, ``derivative_envelope`` (weighted), ``path``.
    """
    if not isinstance(record, GlobalRecord):
        raise TypeError(f"record must be a GlobalRecord, got {type(record).__name__}")
    if net.input_dim != record.d:
        raise ValueError(f"the network has input dimension {net.input_dim} but the record is "
                         f"for d = {record.d}")
    if not (0 < r_min < r_max < math.inf):
        raise ValueError(f"need 0 < r_min < r_max < inf, got r_min={r_min}, r_max={r_max}")
    fig = figure(figsize=(12.5, 4.8), layout="constrained")  # fails early without matplotlib
    d = record.d
    dtype = net.dtype
    x = _radial_points(key, d, int(num_points), r_min, r_max, dtype)
    if extra_points is not None:
        extra = jnp.asarray(extra_points, dtype)
        if extra.ndim != 2 or extra.shape[1] != d:
            raise ValueError(f"extra_points must have shape (n, {d}), got {extra.shape}")
        x = jnp.concatenate([x, extra])
    grad = jax.grad(target) if target_grad is None else target_grad

    @jax.jit
    def errs(xc):
        v = realize(net, xc, activation)[:, 0]
        D = derivative(net, xc, activation)[:, 0, :]
        fv = jax.vmap(target)(xc).reshape(v.shape)
        gv = jax.vmap(grad)(xc).reshape(D.shape)
        return jnp.abs(fv - v), jnp.linalg.norm(gv - D, axis=-1)

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
    out = {"radius": r, "value_error": ev / w, "derivative_error": ed / w,
           "value_envelope": env.value / w, "derivative_envelope": env.derivative / w,
           "path": None}

    order = np.argsort(r)
    axes = fig.subplots(1, 2)
    panels = [("value", out["value_error"], out["value_envelope"], record.eps,
               r"$|f-R\Phi_\varepsilon|\,/\,(1+\|x\|^\kappa)$", r"$\varepsilon$"),
              ("derivative", out["derivative_error"], out["derivative_envelope"],
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
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fig.savefig(path, dpi=110)
        out["path"] = path
    return out
