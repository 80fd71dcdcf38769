r"""Rounding-sound interval arithmetic for certified bounds (private).

The floating-point model (:class:`Fp`, :func:`round_up`, :func:`round_down`), center/radius
products (:func:`mr_affine`), the activation on intervals with its rounding accounting
(:func:`image_interval`, :func:`deriv_interval`), and the interval forward pass and
interval :math:`D^N` (:func:`interval_forward`, :func:`interval_jacobian`). The public
functions and the rounding model's documentation are in :mod:`jrelu.bounds`.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks
from .activations import Activation
from .network import Network

HIGHEST = jax.lax.Precision.HIGHEST

# -- floating-point model --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Fp:
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


def rounding_model(dtype) -> Fp:
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"certified bounds need float32 or float64 networks, got dtype {dtype}")
    info = np.finfo(dtype)
    return Fp(dtype, float(info.eps) / 2.0, float(info.tiny))


def round_up(x, fp: Fp, ops: int = 1):
    """An upper bound of the exact value of an expression of ``ops`` roundings computed as x."""
    c = 2 * ops + 2
    return x + (jnp.abs(x) * (c * fp.u) + c * fp.tiny)


def round_down(x, fp: Fp, ops: int = 1):
    """A lower bound of the exact value of an expression of ``ops`` roundings computed as x."""
    c = 2 * ops + 2
    return x - (jnp.abs(x) * (c * fp.u) + c * fp.tiny)


def sum_up(x, fp: Fp, axis=-1):
    """Upper bound of the exact sum of nonnegative entries along ``axis``."""
    n = x.shape[axis]
    g = fp.gamma(n)
    return round_up((jnp.sum(x, axis=axis) + (n + 1) * fp.tiny) * (1.0 + 2.0 * g), fp, 3)


def midrad(lo, hi, fp: Fp):
    r"""Center and radius with :math:`[lo,hi]\subseteq[m\pm r]` exactly (any m works)."""
    finite = jnp.isfinite(lo) & jnp.isfinite(hi)
    m = jnp.where(finite, 0.5 * lo + 0.5 * hi, 0.0)
    r = jnp.where(finite, round_up(jnp.maximum(hi - m, m - lo), fp, 1), jnp.inf)
    return m, r


def mr_affine(xm, xr, A, b, fp: Fp):
    r"""Enclose :math:`\{Ax+b: x\in[x_m\pm x_r]\}` (A acts on the last axis) as center/radius.

    Exact: :math:`Ax+b\in[Ax_m+b\pm|A|x_r]`. Computed center :math:`y=\mathrm{fl}(Ax_m+b)`
    errs by at most :math:`\gamma(|A||x_m|+|b|)+\alpha`, so the radius is an upper bound of
    :math:`|A|(x_r+\gamma|x_m|)+\gamma|b|+\alpha`.
    """
    n = A.shape[1]
    g = fp.gamma(n)
    absA = jnp.abs(A)
    ym = jnp.matmul(xm, A.T, precision=HIGHEST)
    if b is not None:
        ym = ym + b
    v = round_up(xr + g * jnp.abs(xm), fp, 3)
    S = jnp.matmul(v, absA.T, precision=HIGHEST)
    if b is not None:
        S = S + g * jnp.abs(b)
    scale = 1.0 + jnp.max(jnp.abs(xm) + xr, axis=-1, keepdims=True) + jnp.max(absA)
    alpha = round_up((4 * n + 8) * fp.tiny * scale, fp, 2)
    yr = round_up((S + alpha) * (1.0 + 2.0 * g) + alpha, fp, 4)
    return ym, yr


def clean(lo, hi):
    """NaN (from overflow) becomes the trivial enclosure [-inf, inf]."""
    bad = jnp.isnan(lo) | jnp.isnan(hi)
    return jnp.where(bad, -jnp.inf, lo), jnp.where(bad, jnp.inf, hi)


def outward_cast(x, dtype, down: bool):
    """Cast concrete ``x`` to ``dtype``, rounding toward -inf (down) or +inf, so boxes grow.

    The comparison is made in a type that holds ``x`` exactly: float64, or ``x``'s own
    type if it is wider (``np.longdouble``), or ``np.longdouble`` for integers.
    """
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer) or (np.issubdtype(x.dtype, np.floating)
                                              and x.dtype.itemsize > 8):
        wide = np.longdouble
    else:
        wide = np.float64
    xw = x.astype(wide)
    y = xw.astype(dtype)
    if down:
        y = np.where(y.astype(wide) > xw, np.nextafter(y, -np.inf, dtype=dtype), y)
    else:
        y = np.where(y.astype(wide) < xw, np.nextafter(y, np.inf, dtype=dtype), y)
    return y.astype(dtype)


def scalar_hull(v: float, fp: Fp):
    """The dtype's floats just below and above the Python float v (equal if exact)."""
    return (float(outward_cast(np.float64(v), fp.dtype, down=True)),
            float(outward_cast(np.float64(v), fp.dtype, down=False)))


# -- activations on intervals: the rounding accounting around Activation.image/deriv_image ----


def interval_activation(act) -> Activation:
    """``act`` if it carries the data certified bounds need, else TypeError/ValueError."""
    _checks.activation("activation", act)
    name = type(act).__name__
    try:
        hash(act)
    except TypeError:
        raise TypeError(f"activation must be hashable (a frozen dataclass) to be a static "
                        f"argument of jax.jit, got an unhashable {name}") from None
    kinks = act.kinks
    if not isinstance(kinks, tuple) or any(not isinstance(k, (int, float)) or
                                           isinstance(k, bool) or not math.isfinite(k)
                                           for k in kinks) or list(kinks) != sorted(kinks):
        raise ValueError(f"activation {name}.kinks must be a sorted tuple of finite floats, "
                         f"got {kinks!r}")
    K = getattr(act, "value_ulps", None)
    if isinstance(K, bool) or not isinstance(K, int) or K < 0:
        raise ValueError(f"activation {name}.value_ulps must be an integer >= 0 (the accuracy "
                         f"of its floating-point evaluation), got {K!r}")
    slopes = act.slopes
    if slopes is not None:
        if len(slopes) != len(kinks) + 1 or not all(math.isfinite(s) for s in slopes):
            raise ValueError(f"activation {name}.slopes must hold len(kinks) + 1 = "
                             f"{len(kinks) + 1} finite slopes, got {slopes!r}")
        return act
    missing = [m for m in ("image", "deriv_image")
               if getattr(type(act), m) is getattr(Activation, m)]
    try:
        lip = act.lipschitz
    except NotImplementedError:
        missing.append("lipschitz")
    else:
        if not (isinstance(lip, (int, float)) and math.isfinite(lip) and lip >= 0):
            raise ValueError(f"activation {name}.lipschitz must be a finite number >= 0, "
                             f"got {lip!r}")
    if missing:
        raise ValueError(f"certified bounds need the interval data of the activation: {name} "
                         f"is not piecewise linear (slopes is None) and does not provide "
                         f"{', '.join(missing)}; set slopes, or override image, deriv_image "
                         f"and lipschitz")
    d = act.deriv_ulps
    if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 0):
        raise ValueError(f"activation {name}.deriv_ulps must be an integer >= 0, got {d!r}")
    return act


def _ranges(act: Activation, fp: Fp):
    """``image(-inf, inf)`` and ``deriv_image(-inf, inf)`` as Python floats (NaN: no bound)."""
    out = []
    with jax.ensure_compile_time_eval():
        lo, hi = jnp.asarray(-jnp.inf, fp.dtype), jnp.asarray(jnp.inf, fp.dtype)
        for f in (act.image, act.deriv_image):
            a, b = (float(v) for v in f(lo, hi))
            out.append((-math.inf if math.isnan(a) else a, math.inf if math.isnan(b) else b))
    return out


def _clip(lo, hi, rng):
    if rng[0] > -math.inf:
        lo = jnp.maximum(lo, rng[0])
    if rng[1] < math.inf:
        hi = jnp.minimum(hi, rng[1])
    return lo, hi


def _piece_rules(act: Activation, fp: Fp):
    """How each piece of a piecewise-linear activation is evaluated, and rho at the kinks.

    A piece through the origin (rho = s z there, from ``slopes`` and the exact kink values)
    is ``("exact", s)`` for s in {0, 1, -1} and ``("linear", s)`` otherwise (s z is
    enclosed with s rounded outward and one rounding); any other piece is None (the
    activation's own evaluation, widened by ``value_ulps``).
    """
    kinks, slopes = act.kinks, act.slopes
    with jax.ensure_compile_time_eval():
        rk = [float(act.value(jnp.asarray(k, fp.dtype))) for k in kinks]
    rules = []
    for i, s in enumerate(slopes):
        through_origin = any(Fraction(rk[j]) == Fraction(s) * Fraction(kinks[j])
                             for j in (i - 1, i) if 0 <= j < len(kinks))
        if not through_origin:
            rules.append(None)
        else:
            rules.append(("exact" if s in (0.0, 1.0, -1.0) else "linear", s))
    return rules, rk


def image_interval(act: Activation, l, u, fp: Fp):
    r"""Enclosure of :math:`\varrho([l,u])` in exact arithmetic, rounding included."""
    K = act.value_ulps
    if K == 0:
        return act.image(l, u)
    if act.slopes is None:
        rng = _ranges(act, fp)[0]
        lo, hi = act.image(l, u)
        if math.isfinite(rng[0]) and math.isfinite(rng[1]):  # absolute, in units of sup|rho|
            e = K * fp.u * max(abs(rng[0]), abs(rng[1]))
            lo, hi = lo - e, hi + e
        else:  # relative
            lo = lo - (jnp.abs(lo) * (K * fp.u) + K * fp.tiny)
            hi = hi + (jnp.abs(hi) * (K * fp.u) + K * fp.tiny)
        return _clip(lo, hi, rng)
    # piecewise linear with rounding: enclose rho at each end point, piece by piece
    rules, rk = _piece_rules(act, fp)
    kinks = act.kinks

    def val(z):
        if any(r is None for r in rules):
            v = act.value(z)
            vlo, vhi = round_down(v, fp, K), round_up(v, fp, K)
        else:
            vlo = vhi = z
        for i, rule in enumerate(rules):
            if rule is None:
                continue
            on = jnp.ones(jnp.shape(z), bool)  # the open piece i, its infinite end included
            if i > 0:
                on = on & (z > kinks[i - 1])
            if i < len(kinks):
                on = on & (z < kinks[i])
            kind, s = rule
            if kind == "exact":
                e = jnp.zeros_like(z) if s == 0.0 else (z if s == 1.0 else -z)
                vlo, vhi = jnp.where(on, e, vlo), jnp.where(on, e, vhi)
            else:
                s_lo, s_hi = scalar_hull(s, fp)
                p1, p2 = s_lo * z, s_hi * z
                vlo = jnp.where(on, round_down(jnp.minimum(p1, p2), fp), vlo)
                vhi = jnp.where(on, round_up(jnp.maximum(p1, p2), fp), vhi)
        for k, r in zip(kinks, rk):  # rho at the kinks is exact
            vlo, vhi = jnp.where(z == k, r, vlo), jnp.where(z == k, r, vhi)
        return vlo, vhi

    (ll, lh), (ul, uh) = val(l), val(u)
    lo, hi = jnp.minimum(ll, ul), jnp.maximum(lh, uh)
    for k, r in zip(kinks, rk):
        inside = (l <= k) & (k <= u)
        lo = jnp.where(inside, jnp.minimum(lo, r), lo)
        hi = jnp.where(inside, jnp.maximum(hi, r), hi)
    return lo, hi


def deriv_interval(act: Activation, l, u, fp: Fp):
    r"""Enclosure of :math:`\{D\varrho(z): z\in[l,u]\}`, kink values included, rounding too."""
    lo, hi = act.deriv_image(l, u)
    if act.slopes is None:
        K = 4 * act.value_ulps if act.deriv_ulps is None else act.deriv_ulps
        e = K * fp.u * act.lipschitz
        return _clip(lo - e, hi + e, _ranges(act, fp)[1])
    # piecewise linear: deriv_image rounds each slope / kink value v to nearest; move every
    # such value that is not exact in the dtype outward, to its neighbour below / above
    values = list(act.slopes)
    c = getattr(act, "deriv_at_kink", None)
    if c is not None and act.kinks:
        values.append(float(c))
    groups: dict[float, list[float]] = {}
    for v in values:
        dn, upv = scalar_hull(v, fp)
        g = groups.setdefault(float(np.asarray(v, fp.dtype)), [dn, upv])
        g[0], g[1] = min(g[0], dn), max(g[1], upv)
    moves = [(lo == f, dn, hi == f, upv) for f, (dn, upv) in groups.items()
             if dn != f or upv != f]
    for at_lo, dn, at_hi, upv in moves:
        lo, hi = jnp.where(at_lo, dn, lo), jnp.where(at_hi, upv, hi)
    return lo, hi


# -- interval forward pass and interval D^N ----------------------------------------------------


def layer_arrays(net: Network, fp: Fp):
    return [(A.astype(fp.dtype), b.astype(fp.dtype)) for A, b in net.layers]


def interval_forward(layers, act, lo, hi, fp: Fp):
    """Pre-activation enclosures ``[(l_1, u_1), ..., (l_L, u_L)]`` over the box(es)."""
    xm, xr = midrad(lo, hi, fp)
    out = []
    for k, (A, b) in enumerate(layers):
        zm, zr = mr_affine(xm, xr, A, b, fp)
        zl, zu = clean(round_down(zm - zr, fp), round_up(zm + zr, fp))
        out.append((zl, zu))
        if k < len(layers) - 1:
            hl, hu = image_interval(act, zl, zu, fp)
            xm, xr = midrad(hl, hu, fp)
    return out


def interval_jacobian(layers, act, pre, fp: Fp, batch_shape):
    """Enclosure (lo, hi), shape (..., N_L, N_0), of D^N over the box(es) from ``pre``."""
    A1 = layers[0][0]
    Jm = jnp.broadcast_to(A1.T, batch_shape + A1.T.shape)  # transposed: (..., N_0, N_k)
    Jr = jnp.zeros_like(Jm)
    for (A, _), (zl, zu) in zip(layers[1:], pre[:-1]):
        dl, du = deriv_interval(act, zl, zu, fp)
        dm, dr = midrad(dl, du, fp)
        dm, dr = dm[..., None, :], dr[..., None, :]
        m = dm * Jm
        r = round_up(jnp.abs(dm) * Jr + dr * (jnp.abs(Jm) + Jr) + (2 * fp.u) * jnp.abs(m), fp, 8)
        Jm, Jr = mr_affine(m, r, A, None, fp)
    lo, hi = clean(round_down(Jm - Jr, fp), round_up(Jm + Jr, fp))
    return jnp.swapaxes(lo, -1, -2), jnp.swapaxes(hi, -1, -2)


def opnorm_up(M, p, fp: Fp):
    r"""Upper bound of :math:`\|M\|_p` for a nonnegative (..., m, n) matrix M."""
    if p == "inf":
        return jnp.max(sum_up(M, fp, axis=-1), axis=-1)
    if p == "1":
        return jnp.max(sum_up(M, fp, axis=-2), axis=-1)
    n1, ninf = opnorm_up(M, "1", fp), opnorm_up(M, "inf", fp)
    geo = round_up(jnp.sqrt(round_up(n1 * ninf, fp)), fp)
    sq = sum_up(round_up(M * M, fp).reshape(M.shape[:-2] + (-1,)), fp)
    return jnp.minimum(geo, round_up(jnp.sqrt(sq), fp))
