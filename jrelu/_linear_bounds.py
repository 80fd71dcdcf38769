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

**Jacobian.** For output o, :math:`v_{L-1}=A_L^\top e_o`, :math:`u_k=s_k\odot v_k`,
:math:`v_{k-1}=A_k^\top u_k`, :math:`J_{o,:}^\top=v_0` (layers from 1 here; the code
counts from 0, so its :math:`v_{-1}` is this :math:`v_0`), with :math:`s_k` any element of
the Clarke derivative :math:`\partial\varrho(z_k)` (both one-sided slopes at a kink). A row
:math:`Pv_m` is bounded by back-substitution through this graph: the affine steps are
exact substitutions; :math:`u_k=s_kv_k` with :math:`s\in[s_l,s_u]`, :math:`v\in[v_l,v_u]`
is replaced by the chord in v of :math:`\max(s_lv,s_uv)` (upper) or :math:`\min(s_lv,s_uv)`
(lower), the McCormick envelope with s eliminated over its interval; in the last hidden
layer v is the constant :math:`A_L^\top e_o`, so :math:`u=vs` exactly and s is relaxed by
lines in :math:`z_k` valid for the whole Clarke set (a line minus the piecewise-constant
:math:`\varrho'` is piecewise linear: checked at l, u and at each kink with the hull of
both one-sided values), or by the constants :math:`[s_l,s_u]`; the forward lower lines are
the adaptive ones or those parallel to the chord: four groups of rows, the smallest bound
kept (one group for a smooth activation, where the choices coincide). The outputs are
independent and vmapped (one trace for all of them). The coefficients collected on
:math:`z_k` are added when the forward back-substitution (as above) reaches :math:`z_k`.
The intervals of the :math:`v_k` are the interval products from the output side
intersected with the bounds of :math:`\pm e_j^\top v_k` computed the same way (layer by
layer, nearest the output first).
For :math:`\sum_i|J_{oi}|` one more row :math:`\sum_i(a_iJ_{oi}+\beta_i)` with the chord
of :math:`|\cdot|` on the entry bounds keeps the correlation between the entries.

**Rounding (Jacobian).** The same invariant: for every real feasible value of the nodes,
the row is at most :math:`\Lambda\cdot w+c+\mathrm{err}` in exact arithmetic, with
:math:`\mathrm{err}\ge0` accumulated upward. Each computed product :math:`\mathrm{fl}(PA^\top)`
and :math:`\mathrm{fl}(\lambda a)` adds :math:`\gamma_n|P||A^\top|w_{\max}` or
:math:`2u|\mathrm{fl}(\lambda a)|w_{\max}\le3u|\lambda|a_{\max}w_{\max}` (plus underflow
terms; the latter joins the error of the intercept sum in one product with
:math:`|\lambda|`, :func:`_lines_err`), :math:`w_{\max}` the sound bound of the node's
magnitude (:math:`|s|\le\max(|s_l|,|s_u|)`,
:math:`|u|\le|s|_{\max}|v|_{\max}`); chord and line intercepts are fitted with outward
rounding at the points above, so any float slope is valid.

**Optimized slopes** (``method="alpha"``, alpha-CROWN). Where a kink lies strictly inside
:math:`[l,u]` a line of any slope is valid once its intercept is fitted at the points above:
the lower line of the activation (slope in :math:`[\min\varrho',\max\varrho']`) and both
lines in :math:`z` of :math:`s` in the last hidden layer (slope in the hull of the candidate
slopes of :func:`_deriv_lines`). Every bound gets its own slopes (a parameter in [0, 1] per
row and neuron): the pre-activation bounds (:func:`_forward_alpha`) and the rows of
:func:`_jac_upper` (intermediate :math:`v_k`, entries, norm row; :func:`_alpha_optimize`),
started from the row's best group. :func:`_adam_min` takes projected Adam steps on the bound
computed with unit roundoff 0 (no error terms: fewer kernels), then bounds each row's best
iterate with every rounding term. The caller intersects the result with the un-optimized
one, so soundness and "never looser" do not depend on the optimizer.

**Compile time.** XLA's compile time grows with the number of kernels (each product and
each reduction over a matrix is one), so every error term is one product with a shifted
:math:`|M|` (:func:`_absmv_up`: no reductions over M), the per-row sums are elementwise
sums, ``[A | b]`` is one product, and the choice among candidate lines is made by selects.
"""

from __future__ import annotations

import functools

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

ALPHA_LR = 0.25  # Adam's step on the slope parameters in [0, 1] (method="alpha")

# -- rounding helpers --------------------------------------------------------------------------


def _absmv_up(M, v, fp: Fp):
    r"""Upper bound of the exact :math:`|M|v` for M (R, n) and v (n,) >= 0.

    Computed as :math:`S=\mathrm{fl}(\mathrm{fl}(|M|+\mathrm{tiny})\,\mathrm{fl}(v+
    \mathrm{tiny}))`: the shifted factors are at least the exact ones and normal numbers, so
    no input is flushed; each of the n products and n sums loses at most a relative
    :math:`u` and an absolute tiny (flushed result), hence :math:`|M|v\le(S+(2n+2)
    \mathrm{tiny})(1+2\gamma_n)`. One product, no reduction over M (compile time).
    """
    if fp.u == 0.0:  # the rounding-free bound that the slope optimizer follows
        return jnp.zeros(M.shape[:-1], M.dtype)
    n = M.shape[-1]
    g = fp.gamma(n)
    S = jnp.matmul(jnp.abs(M) + fp.tiny, v + fp.tiny, precision=HIGHEST)
    return round_up((S + (2 * n + 2) * fp.tiny) * (1.0 + 2.0 * g), fp, 3)


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


def _candidate_lines(slopes, pts, fp: Fp):
    """For each slope its upper and its lower line through the enclosed points ``pts``
    (:func:`_intercepts`): two lists of ``(slope, intercept)``."""
    ups, los = [], []
    for s in slopes:
        bu, bl = _intercepts(s, pts, fp)
        ups.append((s, bu))
        los.append((s, bl))
    return ups, los


def _pick(cands, mid, upper: bool):
    """The candidate line (slope, intercept) with the lowest (upper) / highest value at mid."""
    best = None
    for s, b in cands:  # elementwise selects (the first best on ties, as argmin/argmax)
        val = s * mid + b
        val = jnp.where(jnp.isnan(val), jnp.inf if upper else -jnp.inf, val)
        if best is None:
            best = (s, b, val)
            continue
        better = val < best[2] if upper else val > best[2]
        best = tuple(jnp.where(better, new, old) for new, old in zip((s, b, val), best))
    return best[0], best[1]


def _pwl_points(act, l, u, fp: Fp):
    """The points where a piecewise-linear activation minus a line has its extremes on
    [l, u] (the ends and the kinks inside), as :func:`_intercepts` takes them; and the
    enclosures ``(ll, lh, ul, uh)`` of the values at the ends."""
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
    return pts, (ll, lh, ul, uh)


def _pwl_lines(act, l, u, fp: Fp, both: bool = False):
    """Lines for a piecewise-linear activation: candidate slopes = piece slopes and chord."""
    dt = fp.dtype
    pts, (ll, lh, ul, uh) = _pwl_points(act, l, u, fp)
    w = u - l
    chord = jnp.where(w > 0, (0.5 * (uh + ul) - 0.5 * (lh + ll)) / jnp.where(w > 0, w, 1), 0)
    smin, smax = min(act.slopes), max(act.slopes)
    chord = jnp.clip(jnp.where(jnp.isfinite(chord), chord, 0.0), smin, smax).astype(dt)
    slopes = [jnp.full(l.shape, s, dt) for s in sorted(set(act.slopes))] + [chord]
    ups, los = _candidate_lines(slopes, pts, fp)
    mid = 0.5 * l + 0.5 * u
    up = _pick(ups, mid, True)
    if both:  # and with the lower line parallel to the chord (DeepPoly's other choice)
        return up + _pick(los, mid, False), up + los[-1]
    return up + _pick(los, mid, False)


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


def _lines(act, l, u, fp: Fp, both: bool = False):
    r"""``(a_up, b_up, a_lo, b_lo)``: lines valid on :math:`[l,u]` for each neuron; with
    ``both``, also the variant whose lower line is parallel to the chord (a pair of such
    4-tuples; the same lines twice for smooth activations).

    Where an end is not finite the lines are the constants :math:`\pm\infty` (the
    back-substitution then yields NaN/inf, cleaned to the trivial bound and intersected).
    """
    fin = jnp.isfinite(l) & jnp.isfinite(u)
    l0, u0 = jnp.where(fin, l, 0.0), jnp.where(fin, u, 0.0)
    if act.slopes is not None:
        out = _pwl_lines(act, l0, u0, fp, both)
    else:
        out = _smooth_lines(act, l0, u0, fp)
        out = (out, out) if both else out

    def fix(lines):
        au, bu, al, bl = lines
        return (jnp.where(fin, au, 0.0), jnp.where(fin, bu, jnp.inf),
                jnp.where(fin, al, 0.0), jnp.where(fin, bl, -jnp.inf))

    return tuple(fix(x) for x in out) if both else fix(out)


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
        D, t, e_D = _apply_lines(lam, *lines[k], zmax[k], fp)
        lam, ct, e_A = _through_affine(D, *layers[k], hmax[k], fp)
        c_new = (c + t) + ct
        e_c = round_up(3.0 * fp.u * (jnp.abs(c) + jnp.abs(t) + jnp.abs(ct)) + 3.0 * fp.tiny, fp, 4)
        err = round_up(err + e_D + e_A + e_c, fp, 4)
        c = c_new
    ym, yr = mr_affine(xm, xr, lam, c, fp)
    upper = round_up((ym + yr) + err, fp, 2)
    lo, hi = clean(-upper[n_out:], upper[:n_out])
    return lo, hi


def meet_intervals(a, b):
    """Intersection of two sound enclosures (NaN already cleaned)."""
    return jnp.maximum(a[0], b[0]), jnp.minimum(a[1], b[1])


def _linear_single(layers, act, lo, hi, pre_int, fp: Fp, alpha_steps: int = 0,
                   alpha_output: bool = True, alpha_lr: float = ALPHA_LR):
    """Pre-activation bounds of one box (lo, hi of shape (N_0,)), intersected with ``pre_int``;
    with ``alpha_steps`` (piecewise-linear activations with kinks) also with each row's
    lower lines optimized (:func:`_adam_min`), the smaller bound kept (on the output layer
    only with ``alpha_output``)."""
    xm, xr = midrad(lo, hi, fp)
    bounds = [pre_int[0]]
    lines, zmax, hmax = [], [], [jnp.maximum(jnp.abs(lo), jnp.abs(hi))]
    alpha = alpha_steps > 0 and has_choice(act)
    spaces = []
    for m in range(1, len(layers)):
        l, u = bounds[m - 1]
        lines.append(_lines(act, l, u, fp))
        if alpha:
            spaces.append(_lower_space(act, l, u, fp))
        zmax.append(jnp.maximum(jnp.abs(l), jnp.abs(u)))
        hl, hu = image_interval(act, l, u, fp)
        hmax.append(jnp.maximum(jnp.abs(hl), jnp.abs(hu)))
        hm, hr = midrad(hl, hu, fp)
        zm, zr = mr_affine(hm, hr, layers[m][0], layers[m][1], fp)
        ib = clean(round_down(zm - zr, fp), round_up(zm + zr, fp))
        lb = _backsub(layers, lines, zmax, hmax, m, xm, xr, fp)
        if alpha and (alpha_output or m < len(layers) - 1):
            lb = meet_intervals(lb, _forward_alpha(layers, act, lines, spaces, zmax, hmax, m,
                                                   xm, xr, fp, alpha_steps, alpha_lr))
        bounds.append(meet_intervals(meet_intervals(ib, lb), pre_int[m]))
    return bounds


def _forward_alpha(layers, act, lines, spaces, zmax, hmax, m, xm, xr, fp: Fp, steps, lr):
    """:func:`_backsub` of layer m with each row's lower lines optimized from the lines
    given (slope range ``[min(slopes), max(slopes)]``, intercepts fitted)."""
    n = layers[m][0].shape[0]
    smin, smax = _slope_range(act)

    def bound(alpha, fpx):
        rl = [_fitted_lower(line, *spaces[k], alpha[k], smin, smax, fpx)
              for k, line in enumerate(lines)]
        lo, hi = _backsub(layers, rl, zmax, hmax, m, xm, xr, fpx)
        return jnp.concatenate([hi, -lo])

    alpha0 = [jnp.broadcast_to(_to_unit(al, smin, smax), (2 * n,) + al.shape)
              for _, _, al, _ in lines]
    up = _adam_min(bound, alpha0, steps, lr, fp)
    return clean(-up[n:], up[:n])


def linear_forward(layers, act, lo, hi, pre_int, fp: Fp, *, alpha_steps: int = 0,
                   alpha_output: bool = True):
    """Pre-activation bounds ``[(l_1, u_1), ...]`` of a batch of boxes ``(..., N_0)``.

    ``pre_int`` are the interval bounds of the same boxes; the result is never looser.
    ``alpha_steps``: optimize the lower lines of each row (:func:`_forward_alpha`), on the
    output layer too if ``alpha_output``.
    """
    batch = lo.shape[:-1]
    flat = lambda a: a.reshape((-1,) + a.shape[len(batch):])  # noqa: E731
    fn = jax.vmap(lambda l, h, p: _linear_single(layers, act, l, h, p, fp, alpha_steps,
                                                 alpha_output))
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


# -- linear relaxation of the backward pass (Jacobian graph) -----------------------------------


def _deriv_lines(act, l, u, fp: Fp):
    r"""``(a_up, b_up, a_lo, b_lo)``: lines in z with :math:`a^{lo}z+b^{lo}\le s\le
    a^{up}z+b^{up}` for every :math:`s\in\partial\varrho(z)`, :math:`z\in[l,u]`.

    Piecewise-linear :math:`\varrho`: :math:`\varrho'` is piecewise constant, so a line minus
    it is piecewise linear and its extremes are at l, u and at the kinks inside, where the
    hull of both one-sided values (and the kink value) is used (:func:`deriv_interval` at
    those points); the candidate slopes are 0 and, per kink k inside, jump/(k-l) and
    jump/(u-k) (for ReLU on l<0<u: the lines through (l,0),(0,1) and (0,0),(u,1)).
    Smooth :math:`\varrho`: the constants :math:`[d_{lo},d_{hi}]`.
    """
    fin = jnp.isfinite(l) & jnp.isfinite(u)
    dl, du = _clarke_interval(act, l, u, fp)
    zero = jnp.zeros_like(l)
    if not has_choice(act):
        return zero, du, zero, dl
    l0, u0 = jnp.where(fin, l, 0.0), jnp.where(fin, u, 0.0)
    pts, slopes = _deriv_points(act, l0, u0, fp)
    ups, los = _candidate_lines(slopes, pts, fp)
    mid = 0.5 * l0 + 0.5 * u0
    au, bu = _pick(ups, mid, True)
    al, bl = _pick(los, mid, False)
    # the constant lines [dl, du] are always valid (also for non-finite ends)
    return (jnp.where(fin, au, 0.0), jnp.where(fin, bu, du),
            jnp.where(fin, al, 0.0), jnp.where(fin, bl, dl))


def _deriv_points(act, l0, u0, fp: Fp):
    """The points of :func:`_deriv_lines` (ends, and kinks with the Clarke hull) and its
    candidate slopes (0 and, per kink strictly inside, jump/(k-l), jump/(u-k))."""
    dt = fp.dtype
    zero = jnp.zeros_like(l0)
    on = jnp.ones(l0.shape, bool)
    pts = [(l0, l0) + tuple(deriv_interval(act, l0, l0, fp)) + (on,),
           (u0, u0) + tuple(deriv_interval(act, u0, u0, fp)) + (on,)]
    slopes = [zero]
    for i, k in enumerate(act.kinks):
        klo, khi = scalar_hull(k, fp)
        klo_a, khi_a = jnp.full(l0.shape, klo, dt), jnp.full(l0.shape, khi, dt)
        inside = (khi_a >= l0) & (klo_a <= u0)
        # at the kink: the chosen value and both one-sided slopes (the Clarke set)
        dkl, dkh = deriv_interval(act, klo_a, khi_a, fp)
        for sv in act.slopes[i:i + 2]:
            slo, shi = scalar_hull(float(sv), fp)
            dkl, dkh = jnp.minimum(dkl, slo), jnp.maximum(dkh, shi)
        pts.append((klo_a, khi_a, dkl, dkh, inside))
        jump = float(act.slopes[i + 1]) - float(act.slopes[i])
        strict = (l0 < klo) & (khi < u0)
        slopes.append(jnp.where(strict, jump / jnp.where(strict, klo - l0, 1.0), 0.0).astype(dt))
        slopes.append(jnp.where(strict, jump / jnp.where(strict, u0 - khi, 1.0), 0.0).astype(dt))
    return pts, slopes


def _clarke_interval(act, l, u, fp: Fp):
    r"""Enclosure of the Clarke derivative :math:`\partial\varrho(z)`, :math:`z\in[l,u]`:
    :func:`deriv_interval` and, at every kink in :math:`[l,u]`, both one-sided slopes."""
    dl, du = deriv_interval(act, l, u, fp)
    if act.slopes is None:
        return dl, du
    for i, k in enumerate(act.kinks):
        klo, khi = scalar_hull(k, fp)
        inside = (khi >= l) & (klo <= u)
        for sv in act.slopes[i:i + 2]:
            slo, shi = scalar_hull(float(sv), fp)
            dl = jnp.where(inside, jnp.minimum(dl, slo), dl)
            du = jnp.where(inside, jnp.maximum(du, shi), du)
    return dl, du


def _lines_err(lam, amax, bmax, wmax, fp: Fp, extra=None):
    r"""Rounding of :math:`D=\mathrm{fl}(\lambda\odot a)` and :math:`t=\mathrm{fl}(\sum
    \lambda b)` in :func:`_apply_lines`, per row, with one product.

    :math:`|t-\sum\lambda b|\le\gamma_{2n+1}|\lambda|b_{\max}+(8n+12)\mathrm{tiny}(1+\sum
    b_{\max})` and :math:`|(\mathrm{fl}(\lambda a)-\lambda a)w|\le2u|D|w_{\max}+2\,
    \mathrm{tiny}(1+\sum w_{\max})` with :math:`|D|\le(1+u)|\lambda|a_{\max}`, so both
    are below :math:`|\lambda|q` plus the tiny terms, :math:`q=\gamma_{2n+1}b_{\max}+3u\,
    a_{\max}w_{\max}` (``extra`` is added to q: further error terms linear in
    :math:`|\lambda|`).
    """
    n = lam.shape[-1]
    q = fp.gamma(2 * n + 1) * bmax + (3.0 * fp.u) * round_up(amax * wmax, fp)
    if extra is not None:
        q = q + extra
    under = round_up((8 * n + 12) * fp.tiny * (1.0 + sum_up(bmax, fp))
                     + 2.0 * fp.tiny * (1.0 + sum_up(wmax, fp)), fp, 6)
    return round_up(_absmv_up(lam, round_up(q, fp, 4), fp) + under, fp)


def _apply_lines(lam, au, bu, al, bl, wmax, fp: Fp, extra=None):
    r"""Relax :math:`\Lambda y` by lines in w: returns (D, t, err) with :math:`\Lambda y\le Dw+t
    +\mathrm{err}` (rows of :math:`\Lambda`; ``extra``: see :func:`_lines_err`)."""
    pos = lam >= 0
    D = jnp.where(pos, lam * au, lam * al)
    t = jnp.sum(jnp.where(pos, lam * bu, lam * bl), axis=-1)
    n = lam.shape[-1]  # lines per row (rows, n) or per neuron (n,): the max over rows
    amax = jnp.maximum(jnp.abs(au), jnp.abs(al)).reshape(-1, n).max(0)
    bmax = jnp.maximum(jnp.abs(bu), jnp.abs(bl)).reshape(-1, n).max(0)
    return D, t, _lines_err(lam, amax, bmax, wmax, fp, extra)


def _add_c(c, t, fp: Fp):
    """``c + t`` and the bound of its rounding error."""
    return c + t, round_up(2.0 * fp.u * (jnp.abs(c) + jnp.abs(t)) + 2.0 * fp.tiny, fp, 3)


def _through_affine(lam, A, b, wmax, fp: Fp):
    r""":math:`\Lambda(Aw+b)=\mathrm{fl}(\Lambda A)w+\mathrm{fl}(\Lambda b)+\text{err}` for
    :math:`|w|\le w_{\max}` (b may be None)."""
    n = lam.shape[-1]
    v = _absmv_up(A, wmax, fp)
    ct = None
    if b is None:
        new = jnp.matmul(lam, A, precision=HIGHEST)
    else:  # one product with [A | b]
        new = jnp.matmul(lam, jnp.concatenate([A, b[:, None]], axis=1), precision=HIGHEST)
        new, ct = new[..., :-1], new[..., -1]
        v = round_up(v + jnp.abs(b), fp)
    e = round_up(_dot_err(lam, v, fp, n + 1)
                 + (4 * n + 8) * fp.tiny * (1.0 + sum_up(wmax, fp)), fp, 2)
    return new, ct, e


def _product_planes(sl, su, vl, vu, fp: Fp):
    r"""Per neuron, lines in v with :math:`a^{lo}v+g^{lo}\le sv\le a^{up}v+g^{up}` for all
    :math:`s\in[s_l,s_u]`, :math:`v\in[v_l,v_u]`: ``(a_up, g_up, a_lo, g_lo)``.

    :math:`sv\le\max(s_lv,s_uv)`, convex in v, so its chord over :math:`[v_l,v_u]` is above
    it; its intercept is fitted at :math:`v_l,v_u` with outward rounding (likewise the chord
    of the concave :math:`\min(s_lv,s_uv)` below). This is the McCormick envelope of
    :math:`sv` with s eliminated over its interval. Where v is known exactly the caller uses
    :math:`u=vs` instead (exact in s).
    """
    w = vu - vl
    ok = jnp.isfinite(w) & (w > 0)
    hi_l, hi_u = jnp.maximum(sl * vl, su * vl), jnp.maximum(sl * vu, su * vu)
    lo_l, lo_u = jnp.minimum(sl * vl, su * vl), jnp.minimum(sl * vu, su * vu)
    wd = jnp.where(ok, w, 1.0)
    a_up = jnp.where(ok, (hi_u - hi_l) / wd, sl)
    a_lo = jnp.where(ok, (lo_u - lo_l) / wd, sl)
    on = jnp.ones(sl.shape, bool)
    # every product above is within one rounding of the exact one
    pts_up = [(vl, vl, hi_l, round_up(hi_l, fp), on), (vu, vu, hi_u, round_up(hi_u, fp), on)]
    pts_lo = [(vl, vl, round_down(lo_l, fp), lo_l, on), (vu, vu, round_down(lo_u, fp), lo_u, on)]
    g_up, _ = _intercepts(a_up, pts_up, fp)
    _, g_lo = _intercepts(a_lo, pts_lo, fp)
    sfix = sl == su  # u = s v exactly
    zero = jnp.zeros_like(sl)
    return (jnp.where(sfix, sl, a_up), jnp.where(sfix, zero, g_up),
            jnp.where(sfix, sl, a_lo), jnp.where(sfix, zero, g_lo))


def _jac_upper(P, c, err, m: int, ctx, vb):
    r"""Upper bounds of the rows of :math:`Pv_m+c+\mathrm{err}` (:math:`v_{-1}=J^\top`).

    Back-substitution through the backward pass :math:`v_{k-1}=A_k^\top u_k`,
    :math:`u_k=s_k\odot v_k` (:func:`_product_planes`, or :math:`u_k=v_ks_k` exactly where
    :math:`v_k` is known: the last hidden layer), there :math:`s=\varrho'(z_{L-2})` by lines
    in :math:`z_{L-2}` (coefficients C), then through the forward network from
    :math:`z_{L-2}` down to x with the lines of the activation, and the box. The
    rows come in equal groups (``ctx["groups"]``) that relax differently: :math:`s` of the
    last hidden layer by the lines of :func:`_deriv_lines` or by the constants
    :math:`[s_l,s_u]`; the activation by the lines of :func:`_lines` or with the lower line
    parallel to the chord. Every group is sound; the caller keeps the smallest bound.
    """
    layers, fp = ctx["layers"], ctx["fp"]
    nh = len(layers) - 1
    ng = len(ctx["groups"])
    size = P.shape[0] // ng

    def grouped(lam, which, k, wmax, extra=None):
        """_apply_lines with each row group's own lines (``extra``: see :func:`_lines_err`);
        with ``ctx["row_lines"]`` (one group), each row's own lines (optimized slopes)."""
        if "row_lines" in ctx:  # each line (rows, n) or (n,)
            return _apply_lines(lam, *ctx["row_lines"][which][k], wmax, fp, extra)
        var = [ctx[which][k][grp[which]] for grp in ctx["groups"]]
        au, bu, al, bl = (jnp.stack([v[i] for v in var])[:, None] for i in range(4))
        lam3 = lam.reshape((ng, size) + lam.shape[1:])
        pos = lam3 >= 0
        D = jnp.where(pos, lam3 * au, lam3 * al).reshape(lam.shape)
        t = jnp.sum(jnp.where(pos, lam3 * bu, lam3 * bl), axis=-1).reshape(lam.shape[:1])
        amax = jnp.max(jnp.maximum(jnp.abs(au), jnp.abs(al)), axis=(0, 1))
        bmax = jnp.max(jnp.maximum(jnp.abs(bu), jnp.abs(bl)), axis=(0, 1))
        return D, t, _lines_err(lam, amax, bmax, wmax, fp, extra)

    for k in range(m + 1, nh):
        vl, vu = vb[k]
        lam, _, e = _through_affine(P, layers[k][0].T, None, ctx["umax"](vb, k), fp)
        err = round_up(err + e, fp)
        if k < nh - 1:  # u_k = s_k v_k by lines in v_k
            vmax = jnp.maximum(jnp.abs(vl), jnp.abs(vu))
            P, t, e = _apply_lines(lam, *ctx["planes"][k], vmax, fp)
            c, ec = _add_c(c, t, fp)
            err = round_up(err + e + ec, fp, 2)
            continue
        # last hidden layer: v is the row of A_L, u = v s exactly, s by lines in z
        Q = lam * vl
        # the rounding of Q, 2u|Q| s_max + 2 tiny (1 + sum s_max), joins the lines' error
        Ck, t2, e2 = grouped(Q, "slines", k, ctx["zmax"][k], (3.0 * fp.u) * ctx["smax"][k])
        c, ec2 = _add_c(c, t2, fp)
        e_q = round_up(2.0 * fp.tiny * (1.0 + sum_up(ctx["smax"][k], fp)), fp, 2)
        err = round_up(err + e_q + e2 + ec2, fp, 3)
    # forward network: coefficient lam on z_k, k = nh - 1 .. 0 (the backward pass ends in
    # the last hidden layer, k = nh - 1, with the coefficients Ck on z_{nh-1})
    lam = Ck
    for k in range(nh - 1, -1, -1):
        A, b = layers[k]
        new, ct, e = _through_affine(lam, A, b, ctx["hmax"][k], fp)
        c, ec = _add_c(c, ct, fp)
        err = round_up(err + e + ec, fp, 2)
        lam = new
        if k > 0:
            D, t, e = grouped(lam, "lines", k - 1, ctx["zmax"][k - 1])
            c, ec = _add_c(c, t, fp)
            err = round_up(err + e + ec, fp, 2)
            lam = D
    ym, yr = mr_affine(ctx["xm"], ctx["xr"], lam, c, fp)
    return round_up((ym + yr) + err, fp, 2)



# -- optimized relaxation slopes (alpha) -------------------------------------------------------


def has_choice(act) -> bool:
    """Whether the relaxation has slopes to optimize (``method="alpha"``): a piecewise-linear
    activation with kinks. Otherwise the lines of :func:`_lines` and :func:`_deriv_lines`
    are fixed (for :func:`_deriv_lines`: the constants of the Clarke interval)."""
    return act.slopes is not None and bool(act.kinks)


def _slope_range(act):
    """``(min, max)`` of the slopes of a piecewise-linear activation: the range of its
    lower line's slope (method="alpha")."""
    return float(min(act.slopes)), float(max(act.slopes))


def _kink_inside(act, l, u, fp: Fp):
    """Where a kink lies strictly inside (l, u): there the relaxation lines have a choice."""
    m = jnp.zeros(l.shape, bool)
    for k in act.kinks:
        klo, khi = scalar_hull(k, fp)
        m = m | ((l < klo) & (khi < u))
    return m


def _to_unit(s, lo, hi):
    """The parameter in [0, 1] of slope s on the segment [lo, hi] (0 where it is a point)."""
    w = hi - lo
    return jnp.clip(jnp.where(w > 0, (s - lo) / jnp.where(w > 0, w, 1.0), 0.0), 0.0, 1.0)


def _lower_space(act, l, u, fp: Fp):
    """``(pts, use)`` of the activation's lower line on [l, u]: the points where its
    intercept is fitted (:func:`_pwl_points`), and where it has a choice (finite ends and a
    kink strictly inside)."""
    fin = jnp.isfinite(l) & jnp.isfinite(u)
    l0, u0 = jnp.where(fin, l, 0.0), jnp.where(fin, u, 0.0)
    return _pwl_points(act, l0, u0, fp)[0], fin & _kink_inside(act, l0, u0, fp)


def _fitted_lower(line, pts, use, alpha, smin, smax, fp: Fp):
    """``line`` = (au, bu, al, bl) with, where ``use``, the lower line of slope
    smin + alpha (smax - smin) and its intercept fitted at ``pts`` (valid for any slope)."""
    au, bu, al, bl = line
    a = (smin + alpha * (smax - smin)).astype(fp.dtype)
    _, b = _intercepts(a, pts, fp)
    return au, bu, jnp.where(use, a, al), jnp.where(use, b, bl)


def _alpha_spaces(act, pre, nh, fp: Fp):
    r"""Per hidden layer, what the optimized slopes need: for the activation's lower line on
    layers 0 .. nh-2, ``(pts, use)`` (slope range ``[min(slopes), max(slopes)]``); for the
    lines in z of :math:`s_{nh-1}`, ``(pts, use, cmin, cmax)`` (slope range: the hull of the
    candidate slopes of :func:`_deriv_lines`). ``use``: finite ends and a kink strictly
    inside; elsewhere the un-optimized lines are kept."""
    sp = {"lines": {k: _lower_space(act, *pre[k], fp) for k in range(nh - 1)}}
    l, u = pre[nh - 1]
    fin = jnp.isfinite(l) & jnp.isfinite(u)
    l0, u0 = jnp.where(fin, l, 0.0), jnp.where(fin, u, 0.0)
    use = fin & _kink_inside(act, l0, u0, fp)
    pts, slopes = _deriv_points(act, l0, u0, fp)
    cmin = functools.reduce(jnp.minimum, slopes)
    cmax = functools.reduce(jnp.maximum, slopes)
    sp["slines"] = (pts, use, cmin, cmax)
    return sp


def _alpha_row_lines(act, ctx, sp, alpha, base, fp: Fp):
    r"""``row_lines`` for :func:`_jac_upper` from the parameters ``alpha`` (rows, n) in
    [0, 1]: each row's lower line of the activation, and its upper and lower line in z of
    :math:`s_{nh-1}`, with slopes on the ranges of :func:`_alpha_spaces` and intercepts
    fitted by :func:`_intercepts` (valid for any slope); ``base``: the lines per layer
    used where there is no choice (``(slines, lines)`` variant indices)."""
    dt = fp.dtype
    smin, smax = _slope_range(act)
    out = {"lines": {}, "slines": {}}
    for k, (pts, use) in sp["lines"].items():
        out["lines"][k] = _fitted_lower(ctx["lines"][k][base[1]], pts, use, alpha["lines"][k],
                                        smin, smax, fp)
    nh = len(ctx["lines"])
    pts, use, cmin, cmax = sp["slines"]
    au, bu, al, bl = ctx["slines"][nh - 1][base[0]]
    a_up = (cmin + alpha["s_up"] * (cmax - cmin)).astype(dt)
    a_lo = (cmin + alpha["s_lo"] * (cmax - cmin)).astype(dt)
    b_up, _ = _intercepts(a_up, pts, fp)
    _, b_lo = _intercepts(a_lo, pts, fp)
    out["slines"][nh - 1] = (jnp.where(use, a_up, au), jnp.where(use, b_up, bu),
                             jnp.where(use, a_lo, al), jnp.where(use, b_lo, bl))
    return out


def _alpha_init(act, ctx, sp, group):
    """The parameters of the lines of one row group (``(slines, lines)`` variant indices)."""
    smin, smax = _slope_range(act)
    nh = len(ctx["lines"])
    alpha = {"lines": {k: _to_unit(ctx["lines"][k][group[1]][2], smin, smax)
                       for k in sp["lines"]}}
    _, _, cmin, cmax = sp["slines"]
    au, _, al, _ = ctx["slines"][nh - 1][group[0]]
    alpha["s_up"], alpha["s_lo"] = _to_unit(au, cmin, cmax), _to_unit(al, cmin, cmax)
    return alpha


def _adam_min(bound, alpha0, steps: int, lr: float, fp: Fp):
    r"""Sound upper bounds ``bound(alpha, fp)`` (a vector, one per row) with each row's
    parameters optimized: ``steps`` projected Adam steps on the sum of the rows (each row's
    parameters are its own, so this is each row's own gradient) from ``alpha0`` (a pytree
    of arrays (rows, ...) in [0, 1]). The steps follow the bound without rounding terms
    (``bound(alpha, exact)``, unit roundoff 0: fewer operations to compile and run); each
    row's best iterate by that value is then bounded with the rounding terms, so the
    result is sound whatever the optimizer does."""
    exact = Fp(fp.dtype, 0.0, 0.0)

    def loss(alpha):
        up = bound(alpha, exact)
        return jnp.sum(jnp.where(jnp.isfinite(up), up, 0.0)), up

    grad = jax.value_and_grad(loss, has_aux=True)
    b1, b2, eps = 0.9, 0.999, 1e-8

    def pick(better, new, old):  # rows where ``better``: new
        return jax.tree.map(lambda a, b: jnp.where(
            better.reshape(better.shape + (1,) * (a.ndim - 1)), a, b), new, old)

    def step(carry, i):
        alpha, mom, var, best, best_alpha = carry
        (_, up), g = grad(alpha)
        up = jnp.where(jnp.isnan(up), jnp.inf, up)
        better = up < best
        best, best_alpha = jnp.where(better, up, best), pick(better, alpha, best_alpha)
        g = jax.tree.map(lambda v: jnp.where(jnp.isfinite(v), v, 0.0), g)
        mom = jax.tree.map(lambda a, b: b1 * a + (1 - b1) * b, mom, g)
        var = jax.tree.map(lambda a, b: b2 * a + (1 - b2) * b * b, var, g)
        t = (i + 1).astype(best.dtype)
        rate = lr * jnp.sqrt(1 - b2**t) / (1 - b1**t)
        alpha = jax.tree.map(lambda a, mo, v: jnp.clip(a - rate * mo / (jnp.sqrt(v) + eps),
                                                       0.0, 1.0), alpha, mom, var)
        return (alpha, mom, var, best, best_alpha), None

    zeros = jax.tree.map(jnp.zeros_like, alpha0)
    up0 = jax.eval_shape(lambda a: bound(a, exact), alpha0)
    best0 = jnp.full(up0.shape, jnp.inf, up0.dtype)
    (alpha, _, _, best, best_alpha), _ = jax.lax.scan(
        step, (alpha0, zeros, zeros, best0, alpha0), jnp.arange(steps))
    last = bound(alpha, exact)
    best_alpha = pick(last < best, alpha, best_alpha)
    return bound(best_alpha, fp)


def _alpha_optimize(P, c, m, octx, vb, alpha0, sp, act, steps: int, lr: float):
    r"""Upper bounds of the rows of :math:`Pv_m+c` (as :func:`_jac_upper`, one group) with
    each row's relaxation slopes optimized (:func:`_adam_min`) from ``alpha0``."""
    fp = octx["fp"]
    zero = jnp.zeros(P.shape[0], fp.dtype)

    def bound(alpha, fpx):
        cx = dict(octx, fp=fpx, groups=[{"slines": 0, "lines": 0}],
                  row_lines=_alpha_row_lines(act, octx, sp, alpha, (0, 0), fpx))
        up = _jac_upper(P, c, zero, m, cx, vb)
        return jnp.where(jnp.isnan(up), jnp.inf, up)

    return _adam_min(bound, alpha0, steps, lr, fp)


def _vb_interval(layers, act, pre, fp: Fp):
    """Interval enclosures of the backward vectors v_k (k = 0 .. L-2) of one box, one row per
    output: v_{L-2} = A_L rows exactly, v_{k-1} = A_k^T (s_k * v_k) in center/radius form."""
    nh = len(layers) - 1
    Y = layers[-1][0]
    vb = {nh - 1: (Y, Y)}
    Ym, Yr = Y, jnp.zeros_like(Y)
    for k in range(nh - 1, 0, -1):
        dl, du = _clarke_interval(act, pre[k][0], pre[k][1], fp)
        dm, dr = midrad(dl, du, fp)
        mm = dm * Ym
        r = round_up(jnp.abs(dm) * Yr + dr * (jnp.abs(Ym) + Yr) + (2 * fp.u) * jnp.abs(mm), fp, 8)
        Ym, Yr = mr_affine(mm, r, layers[k][0].T, None, fp)
        vb[k - 1] = clean(round_down(Ym - Yr, fp), round_up(Ym + Yr, fp))
    return vb


def _jac_single(layers, act, lo, hi, pre, J0, norm_row: bool, fp: Fp, alpha_steps: int = 0,
                alpha_rows=("v", "entries", "norm"), alpha_lr: float = ALPHA_LR):
    """Linear Jacobian enclosure of one box, intersected with ``J0``; and the bound of
    ``sum_i |J_oi|`` per output (inf where ``norm_row`` is False). With ``alpha_steps``
    (piecewise-linear activations with kinks) the rows named in ``alpha_rows``
    (``"v"``: the intermediate v_k, ``"entries"``: the entries of J, ``"norm"``: the norm
    row) are also bounded with optimized slopes (:func:`_alpha_optimize`), the smaller
    bound kept."""
    nh = len(layers) - 1
    dt = fp.dtype
    xm, xr = midrad(lo, hi, fp)
    ctx = {"layers": layers, "fp": fp, "xm": xm, "xr": xr, "lines": [], "zmax": [],
           "hmax": [jnp.maximum(jnp.abs(lo), jnp.abs(hi))], "smax": [], "sint": []}
    for k in range(nh):
        l, u = pre[k]
        ctx["lines"].append(_lines(act, l, u, fp, both=True))
        ctx["zmax"].append(jnp.maximum(jnp.abs(l), jnp.abs(u)))
        hl, hu = image_interval(act, l, u, fp)
        ctx["hmax"].append(jnp.maximum(jnp.abs(hl), jnp.abs(hu)))
        sl, su = _clarke_interval(act, l, u, fp)
        ctx["sint"].append((sl, su))
        ctx["smax"].append(jnp.maximum(jnp.abs(sl), jnp.abs(su)))
    l, u = pre[nh - 1]
    sl, su = ctx["sint"][nh - 1]
    zero = jnp.zeros_like(sl)
    ctx["slines"] = {nh - 1: (_deriv_lines(act, l, u, fp), (zero, su, zero, sl))}
    # row groups: (relaxation of s in the last hidden layer, lower lines of the activation);
    # for a smooth activation both choices coincide (constants; mean-value lines): one group
    pwl = act.slopes is not None
    ctx["groups"] = [{"slines": a, "lines": b} for b in ((0, 1) if pwl else (0,))
                     for a in ((0, 1) if has_choice(act) else (0,))]

    def umax(vb, k):
        vl, vu = vb[k]
        return round_up(ctx["smax"][k] * jnp.maximum(jnp.abs(vl), jnp.abs(vu)), fp)

    ctx["umax"] = umax
    vb_all = _vb_interval(layers, act, pre, fp)

    alpha = alpha_steps > 0 and has_choice(act)
    if alpha:  # what the slopes may be, and their start in each row group
        sp = _alpha_spaces(act, pre, nh, fp)
        inits = [_alpha_init(act, ctx, sp, (g["slines"], g["lines"])) for g in ctx["groups"]]

    def optimized(P, c, m, vb, octx, up_groups):
        """The rows' bounds with optimized slopes, from each row's best group's slopes."""
        gi = jnp.argmin(up_groups, axis=0)
        alpha0 = jax.tree.map(lambda *a: jnp.stack(a)[gi], *inits)
        return _alpha_optimize(P, c, m, octx, vb, alpha0, sp, act, alpha_steps, alpha_lr)

    def rows(n, m, vb, octx):
        """Upper bounds of v_m (J^T for m = -1) and of -v_m: both relaxations, the min."""
        eye = jnp.eye(n, dtype=dt)
        ng = len(ctx["groups"])
        P = jnp.concatenate([eye, -eye] * ng)
        up = _jac_upper(P, jnp.zeros(2 * n * ng, dt), jnp.zeros(2 * n * ng, dt), m, octx, vb)
        upg = jnp.where(jnp.isnan(up), jnp.inf, up).reshape(ng, 2 * n)
        up = jnp.min(upg, axis=0)
        if alpha and ("entries" if m < 0 else "v") in alpha_rows:
            up = jnp.minimum(up, optimized(P[:2 * n], jnp.zeros(2 * n, dt), m, vb, octx, upg))
        return clean(-up[n:], up[:n])

    def per_output(vb, J0o):
        """One output's row of the enclosure (traced once, vmapped over the outputs)."""
        vb = dict(vb)
        octx = dict(ctx, planes={})
        for k in range(nh - 2, -1, -1):
            vb[k] = meet_intervals(vb[k], rows(layers[k + 1][0].shape[1], k, vb, octx))
            octx["planes"][k] = _product_planes(*ctx["sint"][k], *vb[k], fp)
        Jl, Ju = meet_intervals(J0o, rows(lo.shape[-1], -1, vb, octx))
        if not norm_row:
            return Jl, Ju, jnp.asarray(jnp.inf, dt)
        # sum_i |J_i| <= sum_i (a_i J_i + beta_i), chord of |.| on [Jl_i, Ju_i]
        fin = jnp.isfinite(Jl) & jnp.isfinite(Ju)
        w = Ju - Jl
        a = jnp.where((w > 0) & fin, (Ju + Jl) / jnp.where(w > 0, w, 1.0), jnp.sign(Ju + Jl))
        a = jnp.clip(a, -1.0, 1.0)
        on = jnp.ones(Jl.shape, bool)
        beta, _ = _intercepts(a, [(Jl, Jl, jnp.abs(Jl), jnp.abs(Jl), on),
                                  (Ju, Ju, jnp.abs(Ju), jnp.abs(Ju), on)], fp)
        c0 = sum_up(jnp.maximum(beta, 0.0), fp)
        ng = len(ctx["groups"])
        nb = _jac_upper(jnp.stack([a] * ng), jnp.stack([c0] * ng), jnp.zeros(ng, dt), -1, octx,
                        vb)
        nbg = jnp.where(jnp.isnan(nb), jnp.inf, nb)
        nb = jnp.min(nbg)
        if alpha and "norm" in alpha_rows:
            nb = jnp.minimum(nb, optimized(a[None], c0[None], -1, vb, octx, nbg[:, None])[0])
        return Jl, Ju, jnp.where(jnp.all(fin), nb, jnp.inf)

    # the outputs are independent: one trace, vmapped over them (not a Python loop)
    return jax.vmap(per_output)(vb_all, J0)


def linear_jacobian(layers, act, lo, hi, pre, J0, fp: Fp, *, norm_row: bool = False,
                    alpha_steps: int = 0, alpha_rows=("v", "entries", "norm")):
    r"""Jacobian enclosure by back-substitution through the backward pass, batched over boxes.

    ``pre``: sound pre-activation bounds of the boxes; ``J0``: a sound enclosure (lo, hi) of
    shape (..., N_L, N_0) to intersect with. Returns ``(J_lo, J_hi, S)`` with S (..., N_L) an
    upper bound of :math:`\sum_i|J_{oi}|` on the box (inf unless ``norm_row``).
    """
    if len(layers) < 2:
        return J0[0], J0[1], jnp.full(J0[0].shape[:-1], jnp.inf, fp.dtype)
    batch = lo.shape[:-1]
    flat = lambda a: a.reshape((-1,) + a.shape[len(batch):])  # noqa: E731
    args = (flat(lo), flat(hi), [(flat(a), flat(b)) for a, b in pre], (flat(J0[0]), flat(J0[1])))
    one = lambda a: _jac_single(layers, act, a[0], a[1], a[2], a[3], norm_row, fp,  # noqa: E731
                                alpha_steps, alpha_rows)
    # about 30 live (rows, width) coefficient matrices per box: chunk the boxes so that a
    # batch of wide networks stays within about 1 GB
    n_max = max(max(A.shape) for A, _ in layers)
    per_box = 30 * 8 * n_max * (8 * n_max + 2)
    if alpha_steps:  # per-row slopes, their gradients and Adam's two moments
        per_box *= 4
    chunk = max(1, int(2**30 // per_box))
    num = args[0].shape[0]
    out = jax.vmap(one)(args) if num <= chunk else jax.lax.map(one, args, batch_size=chunk)
    return tuple(a.reshape(batch + a.shape[1:]) for a in out)
