r"""Certified interval bounds on a box: values, :math:`D^N`, Lipschitz constants, sup errors.

Everything here is a *guaranteed* enclosure of an exact real-arithmetic quantity,
computed in floating point with every rounding error accounted for.

**Interval propagation.** For a box :math:`[\ell,h]\subset\mathbb R^{N_0}` write it in
center/radius form :math:`[c\pm r]`. An affine map sends it into
:math:`[A c+b\pm|A|r]`; the activation sends an interval :math:`[l,u]` to its image
(the hull of :math:`\varrho(l),\varrho(u)` and :math:`\varrho` at the kinks inside, which
is exact for the continuous piecewise-linear activations and for the monotone smooth
ones). Layer by layer this encloses every pre-activation :math:`R_k\Phi(x)`,
:math:`x\in[\ell,h]`, and the output :math:`R\Phi(x)` (:func:`realize_bounds`).

**Interval** :math:`D^N`. On the pre-activation interval :math:`[l,u]` of a neuron,
:math:`D\varrho(z)` for :math:`z\in[l,u]` lies in the hull of the values of
:math:`D\varrho` on the pieces that meet :math:`[l,u]` and of the chosen kink value
:math:`c=D\varrho(k)` at each kink :math:`k\in[l,u]` (for ReLU: :math:`\{1\}` if
:math:`l>0`, :math:`\{0\}` if :math:`u<0`, otherwise the hull of :math:`\{0,c,1\}`
restricted to what the interval meets). Multiplying interval diagonals and the point
matrices :math:`A_k` in center/radius arithmetic encloses
:math:`D^N\Phi(x)=A_L\,\mathrm{diag}(D\varrho(R_{L-1}\Phi(x)))\cdots A_1` for every
:math:`x` in the box (:func:`derivative_bounds`).

**From interval** :math:`D^N` **to Lipschitz bounds** (:func:`lipschitz_bound`). Let
:math:`[J]` enclose :math:`D^N\Phi` on a box :math:`B`. Then for all :math:`x,y\in B`,
:math:`R\Phi(x)-R\Phi(y)=G\,(x-y)` for some :math:`G\in[J]`. Argument: if :math:`B`
has interior, :math:`R\Phi` is Lipschitz and :math:`\nabla R\Phi=D^N\Phi` off a null
set :math:`Z` (MATH.md §2 fact 1, for every kink value :math:`c`). For interior
:math:`x,y` and almost every small shift :math:`w`, the segment from :math:`y+w` to
:math:`x+w` stays in :math:`B` and meets :math:`Z` in a null set of its parameter
(Fubini), so :math:`R\Phi(x+w)-R\Phi(y+w)=\int_0^1 D^N\Phi(\cdot)\,dt\,(x-y)`, and the
averaged matrix lies in the closed convex :math:`[J]`; let :math:`w\to0` and use
continuity and compactness of :math:`[J]`, then extend to the boundary. If some
:math:`\ell_j=h_j`, fold the fixed coordinates into :math:`b_1`: the folded network has
the same pre-activations and the columns of :math:`D^N\Phi` for the free coordinates,
and the argument applies to it. Hence with :math:`M=\max(|J_{lo}|,|J_{hi}|)`,
:math:`\|R\Phi(x)-R\Phi(y)\|_p\le\|M\|_p\|x-y\|_p` (:math:`\|G\|_p\le\||G|\|_p\le
\|M\|_p` for :math:`p\in\{1,2,\infty\}`).

**Floating-point model and rounding slack.** The guarantees are about the exact
real-arithmetic realization :math:`R\Phi` of the network *with its stored
floating-point weights*, with the mathematical :math:`\varrho`, on the stated box. The
computations run in the network's dtype (float32 or float64, unit roundoff
:math:`u=2^{-24}` or :math:`2^{-53}`), round to nearest, with matrix products at
``Precision.HIGHEST`` and with subnormals possibly flushed to zero (XLA on CPU does
flush them). For an inner product of length n plus a bias, summed in any order with or
without FMA, :math:`|\mathrm{fl}(Ax+b)-(Ax+b)|\le\gamma_{n+1}(|A||x|+|b|)+\alpha`,
:math:`\gamma_n=nu/(1-nu)`, where :math:`\alpha` is an underflow term of size
:math:`(4n+8)\,\mathrm{tiny}\,(1+\max|x|+\max|A|)` (tiny = smallest normal number).
Each affine layer therefore adds :math:`\gamma_{2n+4}(|A||c|+|b|)+\alpha` (the constant
doubled for safety) to the radius, and the radius computation itself is rounded upward
(a computed sum of nonnegative terms is at least :math:`(1-\gamma_n)` times the exact
one). Short elementwise expressions are rounded outward by
:math:`x\mapsto x\pm((2k+2)u|x|+(2k+2)\mathrm{tiny})` for k operations. The smooth
activations (softplus, tanh, sigmoid) are transcendental and XLA does not promise
their accuracy; they are assumed accurate to :data:`TRANSCENDENTAL_ULPS` units in the
last place (tested against 50-digit references), and their values are widened by that
much. Point inputs (boxes with :math:`\ell=h`) give enclosures whose radius is pure
rounding slack; :func:`certified_sup_error` reports it as ``rounding_slack``.

References: interval arithmetic and rounding-error bounds as in N. J. Higham,
*Accuracy and Stability of Numerical Algorithms* (2002), §3.1–3.5, and S. M. Rump,
*Verification methods*, Acta Numerica 19 (2010); Clarke/Lebourg mean-value arguments as
in F. H. Clarke, *Optimization and Nonsmooth Analysis* (1983), §2.3–2.6.
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import itertools
import math
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .activations import Abs, Activation, HardTanh, LeakyReLU, ReLU, Softplus, Tanh, relu
from .network import Network

__all__ = [
    "TRANSCENDENTAL_ULPS",
    "CertifiedBound",
    "realize_bounds",
    "derivative_bounds",
    "lipschitz_bound",
    "certified_sup_error",
]

#: Assumed accuracy, in units of the unit roundoff u, of XLA's tanh, sigmoid and
#: logaddexp (softplus); the values of smooth activations are widened by this much.
TRANSCENDENTAL_ULPS = 64

_PIECEWISE_LINEAR = (ReLU, LeakyReLU, Abs, HardTanh)
_SMOOTH_MONOTONE = (Softplus, Tanh)
_MAX_CERTIFIED_DIM = 4
_HIGHEST = jax.lax.Precision.HIGHEST


# -- floating-point model --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Fp:
    """Unit roundoff ``u`` and smallest normal ``tiny`` of a dtype."""

    dtype: np.dtype
    u: float
    tiny: float

    def gamma(self, n: int) -> float:
        r""":math:`\gamma_{2n+4}` (the textbook :math:`\gamma_{n+1}` with a safety factor)."""
        k = 2 * n + 4
        if k * self.u >= 0.5:
            raise ValueError(f"inner dimension {n} is too large for rigorous rounding bounds "
                             f"in {self.dtype}")
        return k * self.u / (1.0 - k * self.u)


def _fp(dtype) -> _Fp:
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"certified bounds need float32 or float64 networks, got dtype {dtype}")
    info = np.finfo(dtype)
    return _Fp(dtype, float(info.eps) / 2.0, float(info.tiny))


def _up(x, fp: _Fp, ops: int = 1):
    """An upper bound of the exact value of an expression of ``ops`` roundings computed as x."""
    c = 2 * ops + 2
    return x + (jnp.abs(x) * (c * fp.u) + c * fp.tiny)


def _down(x, fp: _Fp, ops: int = 1):
    """A lower bound of the exact value of an expression of ``ops`` roundings computed as x."""
    c = 2 * ops + 2
    return x - (jnp.abs(x) * (c * fp.u) + c * fp.tiny)


def _sum_up(x, fp: _Fp, axis=-1):
    """Upper bound of the exact sum of nonnegative entries along ``axis``."""
    n = x.shape[axis]
    g = fp.gamma(n)
    return _up((jnp.sum(x, axis=axis) + (n + 1) * fp.tiny) * (1.0 + 2.0 * g), fp, 3)


def _midrad(lo, hi, fp: _Fp):
    r"""Center and radius with :math:`[lo,hi]\subseteq[m\pm r]` exactly (any m works)."""
    finite = jnp.isfinite(lo) & jnp.isfinite(hi)
    m = jnp.where(finite, 0.5 * lo + 0.5 * hi, 0.0)
    r = jnp.where(finite, _up(jnp.maximum(hi - m, m - lo), fp, 1), jnp.inf)
    return m, r


def _mr_affine(xm, xr, A, b, fp: _Fp):
    r"""Enclose :math:`\{Ax+b: x\in[x_m\pm x_r]\}` (A acts on the last axis) as center/radius.

    Exact: :math:`Ax+b\in[Ax_m+b\pm|A|x_r]`. Computed center :math:`y=\mathrm{fl}(Ax_m+b)`
    errs by at most :math:`\gamma(|A||x_m|+|b|)+\alpha`, so the radius is an upper bound of
    :math:`|A|(x_r+\gamma|x_m|)+\gamma|b|+\alpha`.
    """
    n = A.shape[1]
    g = fp.gamma(n)
    absA = jnp.abs(A)
    ym = jnp.matmul(xm, A.T, precision=_HIGHEST)
    if b is not None:
        ym = ym + b
    v = _up(xr + g * jnp.abs(xm), fp, 3)
    S = jnp.matmul(v, absA.T, precision=_HIGHEST)
    if b is not None:
        S = S + g * jnp.abs(b)
    scale = 1.0 + jnp.max(jnp.abs(xm) + xr, axis=-1, keepdims=True) + jnp.max(absA)
    alpha = _up((4 * n + 8) * fp.tiny * scale, fp, 2)
    yr = _up((S + alpha) * (1.0 + 2.0 * g) + alpha, fp, 4)
    return ym, yr


def _clean(lo, hi):
    """NaN (from overflow) becomes the trivial enclosure [-inf, inf]."""
    bad = jnp.isnan(lo) | jnp.isnan(hi)
    return jnp.where(bad, -jnp.inf, lo), jnp.where(bad, jnp.inf, hi)


# -- activations on intervals ----------------------------------------------------------------


def _check_activation(act) -> Activation:
    if type(act) not in _PIECEWISE_LINEAR + _SMOOTH_MONOTONE:
        names = ", ".join(c.__name__ for c in _PIECEWISE_LINEAR + _SMOOTH_MONOTONE)
        raise ValueError(f"certified bounds support the activations {names}; got "
                         f"{act!r} (interval images of other activations are not implemented)")
    return act


def _activation_lipschitz(act: Activation) -> float:
    r""":math:`\sup|\varrho'|` off the kinks, a Lipschitz constant of :math:`\varrho`."""
    if isinstance(act, LeakyReLU):
        return max(1.0, abs(act.negative_slope))
    return 1.0


def _pieces(act: Activation):
    """Sorted kinks, the derivative on each open piece between them, and the kink values."""
    if isinstance(act, ReLU):
        return [0.0], [0.0, 1.0], [act.kink]
    if isinstance(act, LeakyReLU):
        return [0.0], [act.negative_slope, 1.0], [act.kink]
    if isinstance(act, Abs):
        return [0.0], [-1.0, 1.0], [act.kink]
    return [-1.0, 1.0], [0.0, 1.0, 0.0], [act.kink, act.kink]  # HardTanh


def _scalar_hull(v: float, fp: _Fp):
    """The dtype's floats just below and above the Python float v (equal if exact)."""
    return (float(_outward_cast(np.float64(v), fp.dtype, down=True)),
            float(_outward_cast(np.float64(v), fp.dtype, down=False)))


def _image(act: Activation, l, u, fp: _Fp):
    r"""Enclosure of :math:`\varrho([l,u])`."""
    K = TRANSCENDENTAL_ULPS
    if isinstance(act, Softplus):
        vl, vu = act.value(l), act.value(u)
        lo = jnp.maximum(vl - (jnp.abs(vl) * (K * fp.u) + K * fp.tiny), 0.0)
        hi = vu + (jnp.abs(vu) * (K * fp.u) + K * fp.tiny)
        return lo, hi
    if isinstance(act, Tanh):
        lo = jnp.maximum(act.value(l) - K * fp.u, -1.0)
        hi = jnp.minimum(act.value(u) + K * fp.u, 1.0)
        return lo, hi
    if isinstance(act, LeakyReLU):  # alpha * z: alpha enclosed in the dtype, one rounding
        a_lo, a_hi = _scalar_hull(act.negative_slope, fp)

        def val(z):
            p1, p2 = a_lo * z, a_hi * z
            neg = z < 0
            return (jnp.where(neg, _down(jnp.minimum(p1, p2), fp), z),
                    jnp.where(neg, _up(jnp.maximum(p1, p2), fp), z))

        (ll, lh), (ul, uh) = val(l), val(u)
        lo, hi = jnp.minimum(ll, ul), jnp.maximum(lh, uh)
    else:  # ReLU, Abs, HardTanh: values are exact
        vl, vu = act.value(l), act.value(u)
        lo, hi = jnp.minimum(vl, vu), jnp.maximum(vl, vu)
    for k in act.kinks:  # all four satisfy rho(k) = k at their kinks (0, or ±1 for HardTanh)
        inside = (l <= k) & (k <= u)
        lo = jnp.where(inside, jnp.minimum(lo, k), lo)
        hi = jnp.where(inside, jnp.maximum(hi, k), hi)
    return lo, hi


def _deriv_interval(act: Activation, l, u, fp: _Fp):
    r"""Enclosure of :math:`\{D\varrho(z): z\in[l,u]\}`, kink values included."""
    K = TRANSCENDENTAL_ULPS
    if isinstance(act, Softplus):  # D = sigmoid, increasing, in [0, 1]
        return (jnp.maximum(jax.nn.sigmoid(l) - 2 * K * fp.u, 0.0),
                jnp.minimum(jax.nn.sigmoid(u) + 2 * K * fp.u, 1.0))
    if isinstance(act, Tanh):  # D = 1 - tanh^2, even, maximal at 0, in [0, 1]
        zstar = jnp.clip(jnp.zeros_like(l), l, u)
        hi = jnp.minimum(act.deriv(zstar) + 4 * K * fp.u, 1.0)
        lo = jnp.maximum(jnp.minimum(act.deriv(l), act.deriv(u)) - 4 * K * fp.u, 0.0)
        return lo, hi
    ks, piece_vals, kink_vals = _pieces(act)
    bounds = [-math.inf] + ks + [math.inf]
    lo = jnp.full(jnp.shape(l), jnp.inf, l.dtype)
    hi = jnp.full(jnp.shape(l), -jnp.inf, l.dtype)
    for i, v in enumerate(piece_vals):  # open piece (bounds[i], bounds[i+1]) meets [l, u]
        meets = (l < bounds[i + 1]) & (u > bounds[i])
        v_lo, v_hi = _scalar_hull(v, fp)
        lo = jnp.where(meets, jnp.minimum(lo, v_lo), lo)
        hi = jnp.where(meets, jnp.maximum(hi, v_hi), hi)
    for k, c in zip(ks, kink_vals):  # the chosen value c = Drho(k) where the kink is inside
        inside = (l <= k) & (k <= u)
        c_lo, c_hi = _scalar_hull(c, fp)
        lo = jnp.where(inside, jnp.minimum(lo, c_lo), lo)
        hi = jnp.where(inside, jnp.maximum(hi, c_hi), hi)
    allv = [w for v in piece_vals + kink_vals for w in _scalar_hull(v, fp)]
    empty = ~(lo <= hi)  # NaN bounds from overflow: fall back to every value
    return jnp.where(empty, min(allv), lo), jnp.where(empty, max(allv), hi)


# -- interval forward pass and interval D^N ----------------------------------------------------


def _weights(net: Network, fp: _Fp):
    return [(A.astype(fp.dtype), b.astype(fp.dtype)) for A, b in net.layers]


def _forward(layers, act, lo, hi, fp: _Fp):
    """Pre-activation enclosures ``[(l_1, u_1), ..., (l_L, u_L)]`` over the box(es)."""
    xm, xr = _midrad(lo, hi, fp)
    out = []
    for k, (A, b) in enumerate(layers):
        zm, zr = _mr_affine(xm, xr, A, b, fp)
        zl, zu = _clean(_down(zm - zr, fp), _up(zm + zr, fp))
        out.append((zl, zu))
        if k < len(layers) - 1:
            hl, hu = _image(act, zl, zu, fp)
            xm, xr = _midrad(hl, hu, fp)
    return out


def _jacobian(layers, act, pre, fp: _Fp, batch_shape):
    """Enclosure (lo, hi), shape (..., N_L, N_0), of D^N over the box(es) from ``pre``."""
    A1 = layers[0][0]
    Jm = jnp.broadcast_to(A1.T, batch_shape + A1.T.shape)  # transposed: (..., N_0, N_k)
    Jr = jnp.zeros_like(Jm)
    for (A, _), (zl, zu) in zip(layers[1:], pre[:-1]):
        dl, du = _deriv_interval(act, zl, zu, fp)
        dm, dr = _midrad(dl, du, fp)
        dm, dr = dm[..., None, :], dr[..., None, :]
        m = dm * Jm
        r = _up(jnp.abs(dm) * Jr + dr * (jnp.abs(Jm) + Jr) + (2 * fp.u) * jnp.abs(m), fp, 8)
        Jm, Jr = _mr_affine(m, r, A, None, fp)
    lo, hi = _clean(_down(Jm - Jr, fp), _up(Jm + Jr, fp))
    return jnp.swapaxes(lo, -1, -2), jnp.swapaxes(hi, -1, -2)


def _opnorm_up(M, p, fp: _Fp):
    r"""Upper bound of :math:`\|M\|_p` for a nonnegative (..., m, n) matrix M."""
    if p == "inf":
        return jnp.max(_sum_up(M, fp, axis=-1), axis=-1)
    if p == "1":
        return jnp.max(_sum_up(M, fp, axis=-2), axis=-1)
    n1, ninf = _opnorm_up(M, "1", fp), _opnorm_up(M, "inf", fp)
    geo = _up(jnp.sqrt(_up(n1 * ninf, fp)), fp)
    sq = _sum_up(_up(M * M, fp).reshape(M.shape[:-2] + (-1,)), fp)
    return jnp.minimum(geo, _up(jnp.sqrt(sq), fp))


def _norm_key(norm) -> str:
    if isinstance(norm, str) and norm.lower() in ("inf", "1", "2"):
        return norm.lower()
    if norm in (1, 2):
        return str(int(norm))
    if isinstance(norm, (int, float)) and math.isinf(norm) and norm > 0:
        return "inf"
    raise ValueError(f"norm must be 1, 2 or inf (the same p-norm on inputs and outputs), "
                     f"got {norm!r}")


# -- input checks ------------------------------------------------------------------------------


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def _outward_cast(x, dtype, down: bool):
    """Cast concrete ``x`` to ``dtype``, rounding toward -inf (down) or +inf, so boxes grow."""
    x64 = np.asarray(x, np.float64) if np.asarray(x).dtype != np.float64 else np.asarray(x)
    y = x64.astype(dtype)
    if down:
        y = np.where(y.astype(np.float64) > x64, np.nextafter(y, -np.inf, dtype=dtype), y)
    else:
        y = np.where(y.astype(np.float64) < x64, np.nextafter(y, np.inf, dtype=dtype), y)
    return y.astype(dtype)


def _check_box(net: Network, box, fp: _Fp, batch: bool = True):
    """Validate ``box = (lo, hi)`` and return it in the network dtype (outward rounded)."""
    try:
        lo, hi = box
    except (TypeError, ValueError):
        raise ValueError("box must be a pair (lo, hi) of arrays of shape "
                         f"({net.input_dim},){' or (..., N_0)' if batch else ''}") from None
    concrete = _is_concrete(lo) and _is_concrete(hi)
    if concrete:
        lo_np, hi_np = np.asarray(lo), np.asarray(hi)
        shapes = (lo_np.shape, hi_np.shape)
    else:
        shapes = (jnp.shape(lo), jnp.shape(hi))
    n0 = net.input_dim
    for name, s in zip(("lo", "hi"), shapes):
        ok = len(s) >= 1 and s[-1] == n0 and (batch or len(s) == 1)
        if not ok:
            want = f"({n0},)" + (f" or (..., {n0})" if batch else "")
            raise ValueError(f"box {name} must have shape {want} for a network with "
                             f"N_0 = {n0}, got shape {s}")
    if shapes[0] != shapes[1]:
        raise ValueError(f"box lo and hi must have the same shape, got {shapes[0]} and "
                         f"{shapes[1]}")
    if not concrete:
        return jnp.asarray(lo, fp.dtype), jnp.asarray(hi, fp.dtype)
    for name, arr in (("lo", lo_np), ("hi", hi_np)):
        if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise ValueError(f"box {name} must be real, got dtype {arr.dtype}")
        bad = np.argwhere(~np.isfinite(arr.astype(np.float64)))
        if bad.size:
            idx = tuple(int(i) for i in bad[0])
            raise ValueError(f"box {name} has a non-finite entry {arr[idx]} at index {idx}")
    bad = np.argwhere(lo_np.astype(np.float64) > hi_np.astype(np.float64))
    if bad.size:
        idx = tuple(int(i) for i in bad[0])
        raise ValueError(f"box needs lo <= hi, but lo{list(idx)} = {lo_np[idx]} > "
                         f"hi{list(idx)} = {hi_np[idx]}")
    lo_c = _outward_cast(lo_np, fp.dtype, down=True)
    hi_c = _outward_cast(hi_np, fp.dtype, down=False)
    return jnp.asarray(lo_c), jnp.asarray(hi_c)


def _check_net(net) -> _Fp:
    if not isinstance(net, Network):
        raise TypeError(f"expected a jrelu.Network, got {type(net).__name__}")
    return _fp(net.dtype)


# -- public: enclosures and Lipschitz bounds ---------------------------------------------------


def realize_bounds(net: Network, box, activation: Activation = relu):
    r"""Guaranteed enclosure of :math:`\{R\Phi(x): x\in[\ell,h]\}`.

    Interval propagation in center/radius form, :math:`c'=Ac+b`, :math:`r'=|A|r`, then the
    activation's image, layer by layer, with rounding accounted for (module docstring).

    Args:
      net: the network (float32 or float64).
      box: ``(lo, hi)``, each of shape ``(N_0,)`` or a batch ``(..., N_0)`` of boxes;
        ``lo <= hi``, finite. Concrete boxes are checked and cast to the network dtype
        with outward rounding; traced boxes (inside ``jit``) are only shape-checked and
        must already be in the network dtype for the guarantee to hold.
      activation: one of ReLU, LeakyReLU, Abs, HardTanh, Softplus, Tanh.

    Returns:
      ``(out_lo, out_hi)``, each of shape ``(..., N_L)``, with
      ``out_lo <= RΦ(x) <= out_hi`` for every real x in the box (exact arithmetic).
    """
    fp = _check_net(net)
    _check_activation(activation)
    lo, hi = _check_box(net, box, fp)
    return _realize_bounds_jit(_weights(net, fp), lo, hi, activation)


def derivative_bounds(net: Network, box, activation: Activation = relu):
    r"""Guaranteed enclosure of :math:`\{D^N\Phi(x): x\in[\ell,h]\}` (interval :math:`D^N`).

    Stably active or inactive neurons (pre-activation interval inside one piece) fix
    their :math:`D\varrho` entry; an unstable neuron gets the hull of :math:`D\varrho` over
    its pre-activation interval, including the chosen kink value :math:`c=D\varrho(0)`
    when the kink lies in the interval (so for ``ReLU(kink=2)`` the hull is [0, 2]).
    The interval matrix product
    :math:`[J]=A_L[\mathrm{diag}(D_{L-1})]A_{L-1}\cdots[\mathrm{diag}(D_1)]A_1` is formed
    from the input side in center/radius arithmetic with rounding accounted for.

    Returns:
      ``(J_lo, J_hi)`` of shape ``(..., N_L, N_0)`` with ``J_lo <= D^NΦ(x) <= J_hi``
      entrywise for every real x in the box.
    """
    fp = _check_net(net)
    _check_activation(activation)
    lo, hi = _check_box(net, box, fp)
    return _derivative_bounds_jit(_weights(net, fp), lo, hi, activation)


def lipschitz_bound(net: Network, box=None, activation: Activation = relu, norm="inf"):
    r"""A guaranteed Lipschitz constant of :math:`R\Phi`, on a box or on all of R^{N_0}.

    The norm is the same p-norm on inputs and outputs, :math:`p\in\{1,2,\infty\}`
    (default ∞): the result L satisfies :math:`\|R\Phi(x)-R\Phi(y)\|_p\le L\|x-y\|_p`.

    * ``box=None`` (global): :math:`L=\mathrm{Lip}(\varrho)^{L-1}\prod_k\|A_k\|_p`, with
      :math:`\mathrm{Lip}(\varrho)=\sup|\varrho'|` off the kinks (1 for ReLU, abs, hard
      tanh, softplus, tanh; :math:`\max(1,|\alpha|)` for leaky ReLU), since
      :math:`R\Phi` is a composition of the :math:`\|A_k\|_p`-Lipschitz affine maps and
      the componentwise :math:`\mathrm{Lip}(\varrho)`-Lipschitz activation.
    * ``box=(lo, hi)``: :math:`\min(\|M\|_p, L_{\mathrm{global}})` with
      :math:`M=\max(|J_{lo}|,|J_{hi}|)` from :func:`derivative_bounds`. :math:`\|M\|_p`
      bounds :math:`\|D^N\Phi(x)\|_p` at every x of the box, and by the a.e. argument in
      the module docstring it is a Lipschitz constant on the box.

    For p = 2 the spectral norms are bounded by
    :math:`\min(\|M\|_F,\sqrt{\|M\|_1\|M\|_\infty})` (rigorous, not the exact spectral
    norm). All roundings are upward.

    Args:
      net: the network.
      box: ``None`` or ``(lo, hi)`` of shape ``(N_0,)`` or ``(..., N_0)``.
      activation: one of ReLU, LeakyReLU, Abs, HardTanh, Softplus, Tanh.
      norm: 1, 2 or ``"inf"`` (also ``jnp.inf``).

    Returns:
      a scalar array (shape ``(...,)`` for a batch of boxes).
    """
    fp = _check_net(net)
    _check_activation(activation)
    p = _norm_key(norm)
    layers = _weights(net, fp)
    if box is None:
        return _global_lipschitz_jit(layers, activation, p)
    lo, hi = _check_box(net, box, fp)
    return _box_lipschitz_jit(layers, lo, hi, activation, p)


# Jitted kernels (the activation and the norm are static; the dtype model is read off the
# traced arrays' dtypes).


@functools.partial(jax.jit, static_argnums=(3,))
def _realize_bounds_jit(layers, lo, hi, act):
    return _forward(layers, act, lo, hi, _fp(lo.dtype))[-1]


@functools.partial(jax.jit, static_argnums=(3,))
def _derivative_bounds_jit(layers, lo, hi, act):
    fp = _fp(lo.dtype)
    pre = _forward(layers, act, lo, hi, fp)
    return _jacobian(layers, act, pre, fp, lo.shape[:-1])


@functools.partial(jax.jit, static_argnums=(1, 2))
def _global_lipschitz_jit(layers, act, p):
    fp = _fp(layers[0][0].dtype)
    glob = jnp.asarray(1.0, fp.dtype)
    for A, _ in layers:
        glob = _up(glob * _opnorm_up(jnp.abs(A), p, fp), fp)
    lip = _activation_lipschitz(act)
    if lip != 1.0:
        glob = _up(glob * jnp.asarray(lip, fp.dtype) ** (len(layers) - 1), fp, len(layers))
    return glob


@functools.partial(jax.jit, static_argnums=(3, 4))
def _box_lipschitz_jit(layers, lo, hi, act, p):
    Jl, Jh = _derivative_bounds_jit(layers, lo, hi, act)
    fp = _fp(lo.dtype)
    M = jnp.maximum(jnp.abs(Jl), jnp.abs(Jh))
    return jnp.minimum(_opnorm_up(M, p, fp), _global_lipschitz_jit(layers, act, p))


# -- certified sup error by branch and bound ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CertifiedBound:
    r"""Result of :func:`certified_sup_error`.

    Attributes:
      upper: guaranteed upper bound of :math:`\sup_{x\in B}\|f(x)-R\Phi(x)\|_\infty`.
      lower: guaranteed lower bound (from sampled points) of the same supremum.
      argmax: the sampled point attaining ``lower``, shape ``(N_0,)``.
      gap: ``upper - lower``.
      tol: the requested gap.
      converged: whether ``gap <= tol`` was reached (else a budget stopped the search).
      boxes: number of boxes whose bounds were computed (root included).
      iterations: number of batched branch-and-bound steps.
      open_boxes: boxes still open at the end (their bounds make up ``upper``).
      rounding_slack: the largest radius, over all evaluated points, of the enclosure of
        :math:`R\Phi(x)` at a single point x (zero in exact arithmetic): the a-priori
        rounding term added to the network output.
      unit_roundoff: u of the dtype the computation ran in.
      dtype: that dtype's name.
      seconds: wall time.
    """

    upper: float
    lower: float
    argmax: np.ndarray
    gap: float
    tol: float
    converged: bool
    boxes: int
    iterations: int
    open_boxes: int
    rounding_slack: float
    unit_roundoff: float
    dtype: str
    seconds: float

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        d = dataclasses.asdict(self)
        d["argmax"] = [float(v) for v in np.asarray(self.argmax)]
        return d


def _check_positive(name, value, integer=False):
    if integer:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
        return int(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


def _as_interval(v, fp: _Fp):
    """Values in the network dtype; if a cast from a wider dtype rounded, widen outward."""
    v = jnp.asarray(v)
    if v.dtype == fp.dtype:
        return v, v
    c = v.astype(fp.dtype)
    return _down(c, fp), _up(c, fp)


def _corner_mask(d: int) -> np.ndarray:
    return np.array(list(itertools.product((False, True), repeat=d)), bool).reshape(-1, d)


def certified_sup_error(net: Network, target: Callable, box, target_lipschitz=None, *,
                        target_grad_bounds: Callable | None = None, target_error: float = 0.0,
                        tol: float = 1e-3, max_boxes: int = 100_000,
                        activation: Activation = relu, key: jax.Array | None = None,
                        samples_per_box: int = 4, batch_size: int = 64) -> CertifiedBound:
    r"""Certified :math:`\sup_{x\in B}\|f(x)-R\Phi(x)\|_\infty` on a box B, :math:`N_0\le4`.

    Branch and bound. Each subbox :math:`B'` with (floating) center p and radius vector r
    (:math:`|x_j-p_j|\le r_j` on :math:`B'`) gets the guaranteed upper bound

    .. math::
        U(B')=\max_i\Big(\big|f_i(p)-R\Phi_i(p)\big|+\varepsilon_f+
        \sum_j W_{ij}r_j\Big),

    where :math:`R\Phi(p)` is enclosed by interval propagation at the point p,
    :math:`\varepsilon_f` is ``target_error``, and the slope weights W come from the
    interval :math:`[J]\ni D^N\Phi` on :math:`B'` (:func:`derivative_bounds`) and the
    target, by the mean-value inclusion of the module docstring applied to
    :math:`e=f-R\Phi`:

    * ``target_lipschitz`` = L (scalar, :math:`|f_i(x)-f_i(y)|\le L\|x-y\|_\infty`) gives
      :math:`\sum_j W_{ij}r_j=\sum_j M_{ij}r_j+L\max_j r_j`; an array L of shape
      ``(N_0,)`` or ``(N_L, N_0)`` (:math:`|f_i(x)-f_i(y)|\le\sum_jL_{ij}|x_j-y_j|`)
      gives :math:`W=M+L`, with :math:`M=\max(|J_{lo}|,|J_{hi}|)`. First order: the bound
      exceeds the local sup by O(diam B').
    * ``target_grad_bounds(lo, hi) -> (g_lo, g_hi)``, a jnp-traceable enclosure of the
      gradient (Clarke generalized gradient for non-smooth f) of f on the box
      ``[lo, hi]`` (each ``(N_0,)`` in, ``(N_0,)`` or ``(N_L, N_0)`` out), gives
      :math:`W=\mathrm{mag}([g]-[J])`. Second order near smooth maxima: much fewer boxes.

    If both are given the smaller bound is used. The lower bound is
    :math:`\max\|f(q)-R\Phi(q)\|_\infty` over sampled points q in each box (the center,
    the :math:`2^{N_0}` corners, and ``samples_per_box`` uniform points if ``key`` is
    given), also rigorous (the point enclosure of :math:`R\Phi(q)` is used).
    The box with the largest U is split in two at the midpoint of the coordinate with the
    largest contribution :math:`W_{ij}r_j` (the longest edge when the weights are equal);
    ``batch_size`` boxes are split per step in one compiled, vectorized evaluation, and a
    priority queue in Python holds the open boxes. Boxes with U below the best lower
    bound are discarded. The search stops when ``upper - lower <= tol`` or after
    ``max_boxes`` box evaluations.

    **What is guaranteed.** ``lower <= sup_{x∈B} |f(x) − RΦ(x)| <= upper``, where RΦ is
    the exact real realization with the stored weights and the mathematical activation,
    and f is any function that (i) takes the value ``target(q)`` returned in floating
    point, up to ``target_error``, at every evaluated point q, and (ii) satisfies the
    Lipschitz or gradient bound you passed on B. The accuracy of your ``target`` code and
    of your Lipschitz/gradient bounds is your responsibility: pass ``target_error`` for
    the rounding error of evaluating f (for example u·max|f| for a correctly rounded
    formula). Network rounding is fully accounted for (module docstring);
    ``rounding_slack`` reports its size at the network output.

    Args:
      net: the network, N_0 <= 4, float32 or float64.
      target: f, maps one point ``(N_0,)`` to a scalar or ``(N_L,)``; jnp-traceable (it is
        vmapped and jitted).
      box: ``(lo, hi)``, each ``(N_0,)``, finite, ``lo <= hi``.
      target_lipschitz: scalar or array, see above (or None with ``target_grad_bounds``).
      target_grad_bounds: see above.
      target_error: bound on the evaluation error of ``target`` (default 0).
      tol: requested gap ``upper - lower`` (> 0).
      max_boxes: budget of box evaluations (>= 1).
      activation: one of ReLU, LeakyReLU, Abs, HardTanh, Softplus, Tanh.
      key: optional PRNG key for random sample points (lower bound only).
      samples_per_box: random points per box when ``key`` is given.
      batch_size: boxes split per step.

    Returns:
      :class:`CertifiedBound`.

    Raises:
      ValueError: bad box (shape, non-finite, lo > hi), N_0 > 4, tol <= 0, max_boxes < 1,
        missing or negative Lipschitz data, a target whose output shape is not
        ``()``/``(N_L,)`` or which returns a non-finite value (with the point).
    """
    t0 = time.perf_counter()
    fp = _check_net(net)
    _check_activation(activation)
    d, nl = net.input_dim, net.output_dim
    if d > _MAX_CERTIFIED_DIM:
        raise ValueError(f"certified_sup_error branches over boxes in low dimension only: "
                         f"N_0 = {d} > {_MAX_CERTIFIED_DIM}; use jrelu.error_sweep for "
                         f"sampled errors in high dimension")
    lo0, hi0 = _check_box(net, box, fp, batch=False)
    tol = _check_positive("tol", tol)
    max_boxes = _check_positive("max_boxes", max_boxes, integer=True)
    batch_size = _check_positive("batch_size", batch_size, integer=True)
    if isinstance(samples_per_box, bool) or not isinstance(samples_per_box, (int, np.integer)) \
            or samples_per_box < 0:
        raise ValueError(f"samples_per_box must be a nonnegative integer, got "
                         f"{samples_per_box!r}")
    try:
        target_error = float(target_error)
    except (TypeError, ValueError):
        raise ValueError(f"target_error must be a number, got {target_error!r}") from None
    if not (math.isfinite(target_error) and target_error >= 0):
        raise ValueError(f"target_error must be finite and >= 0, got {target_error!r}")
    if not callable(target):
        raise TypeError(f"target must be callable, got {type(target).__name__}")
    if target_lipschitz is None and target_grad_bounds is None:
        raise ValueError("certified_sup_error needs target_lipschitz (a Lipschitz bound of "
                         "the target on the box) or target_grad_bounds (a gradient enclosure)")
    lip_scalar, lip_mat = None, None
    if target_lipschitz is not None:
        L = np.asarray(target_lipschitz, np.float64)
        if L.ndim == 0:
            lip_scalar = float(L)
        elif L.shape in ((d,), (nl, d)):
            lip_mat = np.broadcast_to(L, (nl, d))
        else:
            raise ValueError(f"target_lipschitz must be a scalar or have shape ({d},) or "
                             f"({nl}, {d}), got shape {L.shape}")
        if not (np.all(np.isfinite(L)) and np.all(L >= 0)):
            raise ValueError(f"target_lipschitz must be finite and >= 0, got {L}")
    if target_grad_bounds is not None and not callable(target_grad_bounds):
        raise TypeError("target_grad_bounds must be a callable (lo, hi) -> (g_lo, g_hi)")
    if key is not None and samples_per_box > 0:
        key = jnp.asarray(key)

    # Eager checks of the target (and gradient enclosure) at the root box, before any work.
    center0 = 0.5 * lo0 + 0.5 * hi0
    f0 = jnp.asarray(target(center0))
    if f0.shape not in ((nl,),) + (((),) if nl == 1 else ()):
        want = "() or (1,)" if nl == 1 else f"({nl},)"
        raise ValueError(f"target output must have shape {want} to match the network output "
                         f"N_L = {nl}, got shape {f0.shape}")
    if not jnp.issubdtype(f0.dtype, jnp.floating):
        raise ValueError(f"target must return floating values, got dtype {f0.dtype}")
    if not bool(jnp.all(jnp.isfinite(f0))):
        raise ValueError(f"target returned a non-finite value {np.asarray(f0)} at "
                         f"x = {np.asarray(center0)}")
    if target_grad_bounds is not None:
        gl0, gh0 = target_grad_bounds(lo0, hi0)
        for name, g in (("g_lo", gl0), ("g_hi", gh0)):
            s = jnp.shape(g)
            if s not in ((nl, d), (d,)) or (s == (d,) and nl != 1):
                raise ValueError(f"target_grad_bounds must return {name} of shape ({nl}, {d})"
                                 + (f" or ({d},)" if nl == 1 else "") + f", got shape {s}")
        if not bool(jnp.all(jnp.asarray(gl0) <= jnp.asarray(gh0))):
            raise ValueError("target_grad_bounds returned g_lo > g_hi on the root box")

    layers = _weights(net, fp)
    corners = jnp.asarray(_corner_mask(d))
    n_rand = samples_per_box if key is not None else 0
    # user constants enter the computation rounded upward in the working dtype
    lip_mat_j = None if lip_mat is None else jnp.asarray(_outward_cast(lip_mat, fp.dtype, False))
    if lip_scalar is not None:
        lip_scalar = _outward_cast(np.float64(lip_scalar), fp.dtype, False)
    target_error = _outward_cast(np.float64(target_error), fp.dtype, False)

    def evaluate(layers, blo, bhi, bkey):
        B = blo.shape[0]
        p = jnp.clip(0.5 * blo + 0.5 * bhi, blo, bhi)
        r = _up(jnp.maximum(bhi - p, p - blo), fp)                       # (B, d)
        pts = [p[:, None, :], jnp.where(corners[None], bhi[:, None, :], blo[:, None, :])]
        if n_rand:
            uu = jax.random.uniform(bkey, (B, n_rand, d), fp.dtype)
            pts.append(jnp.clip(blo[:, None, :] + uu * (bhi - blo)[:, None, :],
                                blo[:, None, :], bhi[:, None, :]))
        q = jnp.concatenate(pts, axis=1)                                   # (B, P, d)
        # one interval pass: the P points (radius 0) and, last, the box itself
        pre = _forward(layers, activation, jnp.concatenate([q, blo[:, None]], axis=1),
                       jnp.concatenate([q, bhi[:, None]], axis=1), fp)
        yl, yu = pre[-1][0][:, :-1], pre[-1][1][:, :-1]                    # (B, P, nl)
        pre = [(zl[:, -1], zu[:, -1]) for zl, zu in pre]
        fv = jax.vmap(target)(q.reshape(-1, d))
        fl, fh = _as_interval(fv.reshape(q.shape[:2] + (nl,)), fp)
        finite = jnp.all(jnp.isfinite(fv).reshape(B, -1), axis=1)
        # rigorous lower bound at each sampled point
        low = jnp.maximum(jnp.maximum(_down(yl - fh, fp), _down(fl - yu, fp)), 0.0)
        low = jnp.maximum(_down(jnp.max(low, axis=-1) - target_error, fp), 0.0)   # (B, P)
        best = jnp.argmax(low, axis=1)
        low_best = jnp.take_along_axis(low, best[:, None], axis=1)[:, 0]
        arg_best = jnp.take_along_axis(q, best[:, None, None], axis=1)[:, 0]
        # upper bound: center term + slope term
        cen = jnp.maximum(_up(fh[:, 0] - yl[:, 0], fp), _up(yu[:, 0] - fl[:, 0], fp))  # (B, nl)
        slack = jnp.max(0.5 * (yu - yl), axis=(1, 2))
        Jl, Jh = _jacobian(layers, activation, pre, fp, (B,))             # (B, nl, d)
        M = jnp.maximum(jnp.abs(Jl), jnp.abs(Jh))
        rr = r[:, None, :]
        slopes, weights = [], []
        if lip_scalar is not None:
            s = _sum_up(_up(M * rr, fp), fp) + _up(lip_scalar * jnp.max(r, axis=-1), fp)[:, None]
            slopes.append(_up(s, fp))
            weights.append(M + lip_scalar)
        if lip_mat_j is not None:
            W = _up(M + lip_mat_j, fp)
            slopes.append(_sum_up(_up(W * rr, fp), fp))
            weights.append(W)
        if target_grad_bounds is not None:
            gl, gh = jax.vmap(target_grad_bounds)(blo, bhi)
            gl, _ = _as_interval(jnp.reshape(gl, (B, nl, d)), fp)
            _, gh = _as_interval(jnp.reshape(gh, (B, nl, d)), fp)
            W = jnp.maximum(jnp.abs(_down(gl - Jh, fp)), jnp.abs(_up(gh - Jl, fp)))
            slopes.append(_sum_up(_up(W * rr, fp), fp))
            weights.append(W)
        upper = None
        for s, W in zip(slopes, weights):
            u_i = jnp.max(_up(cen + target_error + s, fp, 2), axis=-1)    # (B,)
            if upper is None:
                upper, Wbest = u_i, W
            else:
                Wbest = jnp.where((u_i < upper)[:, None, None], W, Wbest)
                upper = jnp.minimum(upper, u_i)
        upper = jnp.where(jnp.isnan(upper), jnp.inf, upper)
        wmax = jnp.max(Wbest, axis=1)                                       # (B, d)
        score = r * (wmax + 1e-6 * (jnp.max(wmax, axis=-1, keepdims=True) + 1.0))
        split = jnp.argmax(jnp.where(jnp.isnan(score), jnp.inf, score), axis=-1)
        return upper, low_best, arg_best, split, slack, finite, q

    evaluate = jax.jit(evaluate)
    width = 2 * batch_size
    step_key = key if n_rand else jax.random.key(0)

    state = {"lower": -np.inf, "arg": np.asarray(center0), "slack": 0.0, "boxes": 0}
    heap: list = []
    stuck_upper = -np.inf
    counter = itertools.count()

    def run_batch(blos, bhis, bkey):
        n = len(blos)
        blo, bhi = np.stack(blos), np.stack(bhis)
        if n < width:  # pad to the compiled batch size with copies of the first box
            blo = np.concatenate([blo, np.repeat(blo[:1], width - n, axis=0)])
            bhi = np.concatenate([bhi, np.repeat(bhi[:1], width - n, axis=0)])
        out = evaluate(layers, jnp.asarray(blo, fp.dtype), jnp.asarray(bhi, fp.dtype), bkey)
        upper, low, arg, split, slack, finite, q = (np.asarray(o) for o in out)
        if not finite[:n].all():
            i = int(np.argmin(finite[:n]))
            fq = np.asarray(jax.vmap(target)(jnp.asarray(q[i])))
            j = int(np.argmax(~np.isfinite(fq.reshape(len(q[i]), -1)).any(axis=1)))
            raise ValueError(f"target returned a non-finite value {fq[j]} at x = {q[i][j]}")
        state["boxes"] += n
        state["slack"] = max(state["slack"], float(slack[:n].max()))
        i = int(np.argmax(low[:n]))
        if low[i] > state["lower"]:
            state["lower"], state["arg"] = float(low[i]), arg[i]
        return [(float(upper[k]), blo[k], bhi[k], int(split[k])) for k in range(n)]

    def push(items):
        nonlocal stuck_upper
        for u_, blo, bhi, j in items:
            if u_ <= state["lower"]:
                continue  # cannot contain a larger error than already found
            heapq.heappush(heap, (-u_, next(counter), blo, bhi, j))

    push(run_batch([np.asarray(lo0)], [np.asarray(hi0)], step_key))
    iterations = 0

    def global_upper():
        top = -heap[0][0] if heap else -np.inf
        return max(top, stuck_upper, state["lower"])

    while True:
        gu = global_upper()
        if gu - state["lower"] <= tol or state["boxes"] >= max_boxes:
            break
        room = (max_boxes - state["boxes"]) // 2
        take_lo, take_hi = [], []
        while heap and len(take_lo) < min(batch_size, room):
            negu, _, blo, bhi, j = heap[0]
            if -negu - state["lower"] <= tol:
                break
            heapq.heappop(heap)
            if -negu <= state["lower"]:
                continue
            dims = [j] + [int(k) for k in np.argsort(-(bhi - blo)) if k != j]
            for k in dims:
                m = fp.dtype.type(0.5) * blo[k] + fp.dtype.type(0.5) * bhi[k]
                if blo[k] < m < bhi[k]:
                    h1, l2 = bhi.copy(), blo.copy()
                    h1[k], l2[k] = m, m
                    take_lo += [blo, l2]
                    take_hi += [h1, bhi]
                    break
            else:  # no coordinate can be bisected in this dtype: the box stays as it is
                stuck_upper = max(stuck_upper, -negu)
        if not take_lo:
            break
        iterations += 1
        if n_rand:
            step_key, sub = jax.random.split(step_key)
        else:
            sub = step_key
        push(run_batch(take_lo, take_hi, sub))

    upper = global_upper()
    lower = state["lower"]
    return CertifiedBound(
        upper=float(upper), lower=float(lower), argmax=np.asarray(state["arg"]),
        gap=float(upper - lower), tol=tol, converged=bool(upper - lower <= tol),
        boxes=int(state["boxes"]), iterations=iterations, open_boxes=len(heap),
        rounding_slack=float(state["slack"]), unit_roundoff=fp.u, dtype=fp.dtype.name,
        seconds=time.perf_counter() - t0)
