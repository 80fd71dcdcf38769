r"""Rounding-sound linear bound propagation (private; the public API is :mod:`jrelu.bounds`).

Pre-activation bounds by back-substitution (CROWN / DeepPoly): to bound
:math:`e_i^\top z_m` from above, start from :math:`\Lambda=A_m`, :math:`c=b_m` and walk back
through the layers. At layer k every neuron j has two lines valid on its (already sound)
pre-activation interval :math:`[l_j,u_j]`,

.. math::
    a^{lo}_j z+\beta^{lo}_j\le\varrho(z)\le a^{up}_j z+\beta^{up}_j\qquad(z\in[l_j,u_j]),

so :math:`\Lambda h_k\le Dz_k+t` with :math:`D=\Lambda^+\mathrm{diag}(a^{up})+
\Lambda^-\mathrm{diag}(a^{lo})`, :math:`t=\Lambda^+\beta^{up}+\Lambda^-\beta^{lo}`, and
:math:`Dz_k=DA_kh_{k-1}+Db_k`. Lower bounds are upper bounds of :math:`-e_i^\top z_m`
(the rows :math:`[A_m;-A_m]` run together). At the input the linear form
:math:`\Lambda x+c` is maximized over the box in center/radius form.

**Rounding.** The computed :math:`\tilde\Lambda`, :math:`\tilde c` are floats; the real
identity :math:`\tilde D(A_kh+b_k)=\mathrm{fl}(\tilde DA_k)h+[\tilde DA_k-\mathrm{fl}(\tilde
DA_k)]h+\tilde Db_k` is used with the bracket bounded by
:math:`\gamma_n|\tilde D||A_k|\,|h|_{\max}` (:math:`|h|_{\max}` from the sound bounds of that
layer). Every such term (the products :math:`\Lambda a`, the sums for t, the updates of c)
goes into a nonnegative error vector accumulated with upward rounding and added at the end.
The lines' slopes are any floats; their intercepts are computed with outward rounding from
enclosures of :math:`\varrho` at the points where :math:`\varrho` minus the line attains
its extremes: the ends and the kinks inside :math:`[l,u]` for piecewise-linear
activations (the difference is piecewise linear), the ends for the mean-value lines of
smooth ones. So the bounds hold for the exact real network with its stored weights.

The Jacobian enclosures intersect interval products formed from the input side and from
the output side, both on the linear pre-activation bounds, with the interval method's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._interval import (
    HIGHEST,
    Fp,
    clean,
    deriv_interval,
    image_interval,
    midrad,
    mr_affine,
    round_down,
    round_up,
    scalar_hull,
    sum_up,
)

# -- rounding helpers --------------------------------------------------------------------------


def _absmv_up(M, v, fp: Fp):
    r"""Upper bound of the exact :math:`|M|v` for M (R, n) and v (n,) >= 0."""
    n = M.shape[-1]
    g = fp.gamma(n)
    absM = jnp.abs(M)
    S = jnp.matmul(absM, v, precision=HIGHEST)
    scale = 1.0 + jnp.max(v) + jnp.max(absM)
    alpha = round_up((4 * n + 8) * fp.tiny * scale, fp, 2)
    return round_up((S + alpha) * (1.0 + 2.0 * g) + alpha, fp, 4)


def _dot_err(M, v, fp: Fp, n_terms: int | None = None):
    r"""Upper bound of :math:`|\mathrm{fl}(Mh)-Mh|` for every :math:`|h|\le v` (rows of M).

    :math:`\gamma_n|M|v` plus an underflow term (each of the n products may be flushed).
    """
    n = M.shape[-1] if n_terms is None else n_terms
    g = fp.gamma(n)
    under = round_up((4 * n + 8) * fp.tiny * (1.0 + sum_up(v, fp)), fp, 2)
    return round_up(g * _absmv_up(M, v, fp) + under, fp, 3)


# -- relaxation lines ----------------------------------------------------------------------------


def _intercepts(s, pts, fp: Fp):
    r"""Intercepts making :math:`sz+\beta` an upper / lower line through enclosed points.

    ``pts`` is a list of ``(p_lo, p_hi, v_lo, v_hi, on)``: a real point p in
    :math:`[p_{lo},p_{hi}]` with :math:`\varrho(p)\in[v_{lo},v_{hi}]`, counted where ``on``.
    Returns :math:`\beta^{up}\ge\max_p(\varrho(p)-sp)` and :math:`\beta^{lo}\le
    \min_p(\varrho(p)-sp)`, rounding included (:math:`|\mathrm{fl}(sp)-sp|\le u|\mathrm{fl}
    (sp)|/(1-u)+\mathrm{tiny}`).
    """
    bu, bl = None, None
    for plo, phi, vlo, vhi, on in pts:
        p1, p2 = s * plo, s * phi
        smin, smax = jnp.minimum(p1, p2), jnp.maximum(p1, p2)
        eu = 2.0 * fp.u * jnp.abs(smin) + 2.0 * fp.tiny
        el = 2.0 * fp.u * jnp.abs(smax) + 2.0 * fp.tiny
        cu = jnp.where(on, round_up((vhi - smin) + eu, fp, 3), -jnp.inf)
        cl = jnp.where(on, round_down((vlo - smax) - el, fp, 3), jnp.inf)
        bu = cu if bu is None else jnp.maximum(bu, cu)
        bl = cl if bl is None else jnp.minimum(bl, cl)
    return bu, bl


def _pick(cands, mid, upper: bool):
    """The candidate line (slope, intercept) with the lowest (upper) / highest value at mid."""
    s = jnp.stack([c[0] for c in cands])
    b = jnp.stack([c[1] for c in cands])
    val = s * mid + b
    val = jnp.where(jnp.isnan(val), jnp.inf if upper else -jnp.inf, val)
    i = jnp.argmin(val, axis=0) if upper else jnp.argmax(val, axis=0)
    take = lambda a: jnp.take_along_axis(a, i[None], axis=0)[0]  # noqa: E731
    return take(s), take(b)


def _pwl_lines(act, l, u, fp: Fp):
    """Lines for a piecewise-linear activation: candidate slopes = piece slopes and chord."""
    dt = fp.dtype
    ll, lh = image_interval(act, l, l, fp)
    ul, uh = image_interval(act, u, u, fp)
    on = jnp.ones(l.shape, bool)
    pts = [(l, l, ll, lh, on), (u, u, ul, uh, on)]
    for k in act.kinks:
        klo, khi = scalar_hull(k, fp)
        klo_a, khi_a = jnp.full(l.shape, klo, dt), jnp.full(l.shape, khi, dt)
        vlo, vhi = image_interval(act, klo_a, khi_a, fp)
        pts.append((klo_a, khi_a, vlo, vhi, (khi_a >= l) & (klo_a <= u)))
    w = u - l
    chord = jnp.where(w > 0, (0.5 * (uh + ul) - 0.5 * (lh + ll)) / jnp.where(w > 0, w, 1), 0)
    smin, smax = min(act.slopes), max(act.slopes)
    chord = jnp.clip(jnp.where(jnp.isfinite(chord), chord, 0.0), smin, smax).astype(dt)
    slopes = [jnp.full(l.shape, s, dt) for s in sorted(set(act.slopes))] + [chord]
    ups, los = [], []
    for s in slopes:
        bu, bl = _intercepts(s, pts, fp)
        ups.append((s, bu))
        los.append((s, bl))
    mid = 0.5 * l + 0.5 * u
    return _pick(ups, mid, True) + _pick(los, mid, False)


def _smooth_lines(act, l, u, fp: Fp):
    r"""Lines for an activation given by ``image``/``deriv_image`` only (mean-value lines).

    With :math:`[d_{lo},d_{hi}]\ni\varrho'` on :math:`[l,u]`: :math:`\varrho(z)-d_{hi}z` is
    nonincreasing and :math:`\varrho(z)-d_{lo}z` nondecreasing there, so their extremes are
    at the ends; slope 0 uses the image.
    """
    ll, lh = image_interval(act, l, l, fp)
    ul, uh = image_interval(act, u, u, fp)
    il, ih = image_interval(act, l, u, fp)
    dl, du = deriv_interval(act, l, u, fp)
    on = jnp.ones(l.shape, bool)
    at_l, at_u = [(l, l, ll, lh, on)], [(u, u, ul, uh, on)]
    zero = jnp.zeros_like(l)
    bu_hi, _ = _intercepts(du, at_l, fp)       # slope d_hi: sup at l
    _, bl_hi = _intercepts(du, at_u, fp)       # inf at u
    bu_lo, _ = _intercepts(dl, at_u, fp)       # slope d_lo: sup at u
    _, bl_lo = _intercepts(dl, at_l, fp)       # inf at l
    mid = 0.5 * l + 0.5 * u
    up = _pick([(zero, ih), (du, bu_hi), (dl, bu_lo)], mid, True)
    lo = _pick([(zero, il), (du, bl_hi), (dl, bl_lo)], mid, False)
    return up + lo


def _lines(act, l, u, fp: Fp):
    r"""``(a_up, b_up, a_lo, b_lo)``: lines valid on :math:`[l,u]` for each neuron.

    Where an end is not finite the lines are the constants :math:`\pm\infty` (the
    back-substitution then yields NaN/inf, cleaned to the trivial bound and intersected).
    """
    fin = jnp.isfinite(l) & jnp.isfinite(u)
    l0, u0 = jnp.where(fin, l, 0.0), jnp.where(fin, u, 0.0)
    if act.slopes is not None:
        au, bu, al, bl = _pwl_lines(act, l0, u0, fp)
    else:
        au, bu, al, bl = _smooth_lines(act, l0, u0, fp)
    return (jnp.where(fin, au, 0.0), jnp.where(fin, bu, jnp.inf),
            jnp.where(fin, al, 0.0), jnp.where(fin, bl, -jnp.inf))


# -- back-substitution -------------------------------------------------------------------------


def _backsub(layers, lines, zmax, hmax, m: int, xm, xr, fp: Fp):
    r"""Sound (lower, upper) bounds of :math:`z_{m+1}` (0-based layer m) for one box.

    ``lines[k]``, ``zmax[k]``: relaxation and :math:`\max|z_{k+1}|` of hidden layer k;
    ``hmax[k]``: :math:`\max|h_k|` (``hmax[0]`` bounds the input).
    """
    A, b = layers[m]
    n_out = A.shape[0]
    lam = jnp.concatenate([A, -A], axis=0)
    c = jnp.concatenate([b, -b], axis=0)
    err = jnp.zeros_like(c)
    for k in range(m - 1, -1, -1):
        au, bu, al, bl = lines[k]
        n = lam.shape[1]
        D = jnp.where(lam >= 0, lam * au, lam * al)
        t = (jnp.matmul(jnp.maximum(lam, 0.0), bu, precision=HIGHEST)
             + jnp.matmul(jnp.minimum(lam, 0.0), bl, precision=HIGHEST))
        e_t = _dot_err(lam, jnp.maximum(jnp.abs(bu), jnp.abs(bl)), fp, 2 * n + 1)
        e_D = round_up(2.0 * fp.u * _absmv_up(D, zmax[k], fp)
                  + 2.0 * fp.tiny * (1.0 + sum_up(zmax[k], fp)), fp, 3)
        Ak, bk = layers[k]
        lam_new = jnp.matmul(D, Ak, precision=HIGHEST)
        ct = jnp.matmul(D, bk, precision=HIGHEST)
        v = round_up(_absmv_up(Ak, hmax[k], fp) + jnp.abs(bk), fp)
        # products of fl(D A_k) flushed to zero: at most (n + 1) tiny per entry, times |h|
        e_A = round_up(_dot_err(D, v, fp, n + 1)
                  + (4 * n + 8) * fp.tiny * (1.0 + sum_up(hmax[k], fp)), fp, 2)
        c_new = (c + t) + ct
        e_c = round_up(3.0 * fp.u * (jnp.abs(c) + jnp.abs(t) + jnp.abs(ct)) + 3.0 * fp.tiny, fp, 4)
        err = round_up(err + e_t + e_D + e_A + e_c, fp, 5)
        lam, c = lam_new, c_new
    ym, yr = mr_affine(xm, xr, lam, c, fp)
    upper = round_up((ym + yr) + err, fp, 2)
    lo, hi = clean(-upper[n_out:], upper[:n_out])
    return lo, hi


def meet_intervals(a, b):
    """Intersection of two sound enclosures (NaN already cleaned)."""
    return jnp.maximum(a[0], b[0]), jnp.minimum(a[1], b[1])


def _linear_single(layers, act, lo, hi, pre_int, fp: Fp):
    """Pre-activation bounds of one box (lo, hi of shape (N_0,)), intersected with ``pre_int``."""
    xm, xr = midrad(lo, hi, fp)
    bounds = [pre_int[0]]
    lines, zmax, hmax = [], [], [jnp.maximum(jnp.abs(lo), jnp.abs(hi))]
    for m in range(1, len(layers)):
        l, u = bounds[m - 1]
        lines.append(_lines(act, l, u, fp))
        zmax.append(jnp.maximum(jnp.abs(l), jnp.abs(u)))
        hl, hu = image_interval(act, l, u, fp)
        hmax.append(jnp.maximum(jnp.abs(hl), jnp.abs(hu)))
        hm, hr = midrad(hl, hu, fp)
        zm, zr = mr_affine(hm, hr, layers[m][0], layers[m][1], fp)
        ib = clean(round_down(zm - zr, fp), round_up(zm + zr, fp))
        lb = _backsub(layers, lines, zmax, hmax, m, xm, xr, fp)
        bounds.append(meet_intervals(meet_intervals(ib, lb), pre_int[m]))
    return bounds


def linear_forward(layers, act, lo, hi, pre_int, fp: Fp):
    """Pre-activation bounds ``[(l_1, u_1), ...]`` of a batch of boxes ``(..., N_0)``.

    ``pre_int`` are the interval bounds of the same boxes; the result is never looser.
    """
    batch = lo.shape[:-1]
    flat = lambda a: a.reshape((-1,) + a.shape[len(batch):])  # noqa: E731
    fn = jax.vmap(lambda l, h, p: _linear_single(layers, act, l, h, p, fp))
    out = fn(flat(lo), flat(hi), [(flat(a), flat(b)) for a, b in pre_int])
    return [(a.reshape(batch + a.shape[1:]), b.reshape(batch + b.shape[1:])) for a, b in out]


# -- Jacobian enclosures -----------------------------------------------------------------------


def jacobian_backward(layers, act, pre, fp: Fp, batch_shape):
    """Interval :math:`D^N` formed from the output side: (lo, hi) of shape (..., N_L, N_0)."""
    AL = layers[-1][0]
    Ym = jnp.broadcast_to(AL, batch_shape + AL.shape)
    Yr = jnp.zeros_like(Ym)
    for (A, _), (zl, zu) in zip(reversed(layers[:-1]), reversed(pre[:-1])):
        dl, du = deriv_interval(act, zl, zu, fp)
        dm, dr = midrad(dl, du, fp)
        dm, dr = dm[..., None, :], dr[..., None, :]
        m = dm * Ym
        r = round_up(jnp.abs(dm) * Yr + dr * (jnp.abs(Ym) + Yr) + (2 * fp.u) * jnp.abs(m), fp, 8)
        Ym, Yr = mr_affine(m, r, A.T, None, fp)
    return clean(round_down(Ym - Yr, fp), round_up(Ym + Yr, fp))
