r"""Benchmark suite ``bounds``: certified local Lipschitz bounds against exact values and
auto_LiRPA.

The quantity is the :math:`\ell^\infty\to\ell^\infty` local Lipschitz constant of a
network :math:`f=R\Phi:\mathbb R^{N_0}\to\mathbb R` on a box,

.. math:: L(B)=\operatorname*{ess\,sup}_{x\in B}\|\nabla f(x)\|_1 ,

bounded by :func:`jrelu.lipschitz_bound` (``norm="inf"``) with each of its methods, computed
exactly for 2-input networks by enumerating the linear regions in rational arithmetic
(:func:`exact_regions`), and bounded by auto_LiRPA (``compute_jacobian_bounds`` with
``GradNorm(norm=1)``, CROWN and alpha-CROWN) when it is installed. Nothing here needs
auto_LiRPA or torch: the comparator columns are left out when they are not importable.

The exact enumerator splits the box into convex polygons, layer by layer and neuron by
neuron, on the zero sets of the pre-activations (affine on every polygon of the previous
layers), in :class:`fractions.Fraction` arithmetic from the stored floating-point weights.
A polygon of positive area carries one activation pattern, so the gradient on it is exact.
Float evaluations only decide when a polygon obviously lies on one side of a line (with a
margin far above the rounding error); every cut is computed exactly.

References:
  Shi, Wang, Zhang, Kolter, Hsieh (2022), *Efficiently computing local Lipschitz constants
  of neural networks via bound propagation*,
  `arXiv:2210.07394 <https://arxiv.org/abs/2210.07394>`_;
  Zhang, Weng, Chen, Hsieh, Daniel (2018), CROWN,
  `arXiv:1811.00866 <https://arxiv.org/abs/1811.00866>`_;
  Serra, Tjandraatmadja, Ramalingam (2018), counting linear regions,
  `arXiv:1711.02114 <https://arxiv.org/abs/1711.02114>`_.
"""

from __future__ import annotations

import importlib.util
import inspect
import statistics
import time
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np

from .network import Network, init

__all__ = ["SMOKE_SIZES", "bench_bounds", "exact_regions", "exact_lipschitz",
           "exact_limiting_jacobians", "exact_realize", "sampled_lipschitz",
           "benchmark_cases", "auto_lirpa_available", "auto_lirpa_lipschitz", "has_methods",
           "available_methods"]

_MARGIN = 1e-9  # relative margin of the float pre-test (float error is ~1e-16 relative)


# -- exact region enumeration (2-input ReLU networks) -----------------------------------------


def _frac_layers(net: Network):
    return [([[Fraction(float(a)) for a in row] for row in np.asarray(A, np.float64)],
             [Fraction(float(c)) for c in np.asarray(b, np.float64)])
            for A, b in net.layers]


def _int_layers(net: Network):
    """Each layer as integers ``(Ã, b̃, 2^S)`` with ``A = Ã/2^S``, ``b = b̃/2^S`` exactly,
    plus float copies ``(A, |A|, b)``."""
    out = []
    for A, b in net.layers:
        A64, b64 = np.asarray(A, np.float64), np.asarray(b, np.float64)
        vals = [Fraction(float(t)) for t in np.concatenate([A64.ravel(), b64.ravel()])]
        S = max((v.denominator.bit_length() - 1 for v in vals), default=0)
        ints = [v.numerator * (2**S // v.denominator) for v in vals]
        n = A64.size
        Ai = np.empty(A64.shape, dtype=object)
        Ai.ravel()[:] = ints[:n]
        bi = np.empty(b64.shape, dtype=object)
        bi[:] = ints[n:]
        out.append((Ai, bi, 2**S, A64, np.abs(A64), b64))
    return out


class _Poly:
    """A convex polygon, vertices counter-clockwise, exact and float copies."""

    __slots__ = ("v", "vf")

    def __init__(self, v):
        self.v = v
        self.vf = [(float(a), float(b)) for a, b in v]


def _area2(v) -> Fraction:
    n = len(v)
    return sum((v[i][0] * v[(i + 1) % n][1] - v[(i + 1) % n][0] * v[i][1] for i in range(n)),
               Fraction(0))


def _clip(v, g, c, sign):
    """The part of polygon v where sign*(g.x + c) >= 0 (Sutherland–Hodgman, exact)."""
    out = []
    n = len(v)
    vals = [sign * (g[0] * p[0] + g[1] * p[1] + c) for p in v]
    for i in range(n):
        p, q, zp, zq = v[i], v[(i + 1) % n], vals[i], vals[(i + 1) % n]
        if zp >= 0:
            out.append(p)
        if (zp > 0 and zq < 0) or (zp < 0 and zq > 0):
            t = zp / (zp - zq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    # drop repeated vertices
    res = []
    for p in out:
        if not res or res[-1] != p:
            res.append(p)
    if len(res) > 1 and res[0] == res[-1]:
        res.pop()
    return res


def _split(poly: _Poly, g, c, gf, cf, tol):
    """(positive part, negative part) of a polygon by the line g.x + c = 0 (None if empty).

    ``gf, cf``: float approximations of the line with absolute error far below ``tol``
    at the vertices; only the obvious cases are decided in float."""
    zf = [gf[0] * x + gf[1] * y + cf for x, y in poly.vf]
    if min(zf) > tol:
        return poly, None
    if max(zf) < -tol:
        return None, poly
    parts = []
    for sign in (1, -1):
        v = _clip(poly.v, g, c, sign)
        parts.append(_Poly(v) if len(v) >= 3 and _area2(v) > 0 else None)
    return parts[0], parts[1]


def exact_regions(net: Network, box) -> list[tuple[list, tuple]]:
    r"""The linear regions of a 2-input ReLU network on a box, in exact arithmetic.

    Every returned polygon :math:`P` (positive area) carries one activation pattern, and
    :math:`f` is affine on :math:`P` with the returned Jacobian
    :math:`J_P=A_LD_{L-1}A_{L-1}\cdots D_1A_1`. The polygons tile the box.

    Args:
      net: a ReLU network with :math:`N_0=2`.
      box: ``(lo, hi)``, each of shape ``(2,)``.

    Returns:
      a list of ``(vertices, J)``: the vertices as pairs of ``Fraction`` (counter-clockwise)
      and the Jacobian as a tuple of ``N_L`` rows of 2 ``Fraction``.

    Raises:
      ValueError: if :math:`N_0\ne2`.

    Example:
      >>> net = jrelu.Network([(jnp.array([[1.0, 0.0], [-1.0, 0.0]]), jnp.zeros(2)),
      ...                      (jnp.array([[1.0, 1.0]]), jnp.zeros(1))])  # |x_1|
      >>> regs = exact_regions(net, (jnp.array([-1.0, 0.0]), jnp.array([1.0, 1.0])))
      >>> sorted(float(J[0][0]) for _, J in regs)
      [-1.0, 1.0]
    """
    if net.input_dim != 2:
        raise ValueError(f"net must have 2 inputs, got N_0 = {net.input_dim}")
    layers = _int_layers(net)
    lo = [Fraction(float(t)) for t in np.asarray(box[0], np.float64).reshape(2)]
    hi = [Fraction(float(t)) for t in np.asarray(box[1], np.float64).reshape(2)]
    if lo[0] == hi[0] or lo[1] == hi[1]:
        raise ValueError("box must have positive width in both coordinates")
    start = _Poly([(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])])
    # state: polygon, exact integer rows G and offsets c over the denominator den
    # (h = (G x + c)/den on the polygon), float copies Gf, cf and magnitudes Ga, ca
    eye = np.empty((2, 2), dtype=object)
    eye[:] = [[1, 0], [0, 1]]
    zeros = np.empty(2, dtype=object)
    zeros[:] = [0, 0]
    pieces = [(start, eye, zeros, 1, np.eye(2), np.zeros(2), np.eye(2), np.zeros(2))]
    for Ai, bi, scale, Af, Aa, bf in layers[:-1]:
        new = []
        for poly, G, c, den, Gf, cf, Ga, ca in pieces:
            Z = Ai.dot(G)
            cz = Ai.dot(c) + bi * den
            Zf, czf = Af @ Gf, Af @ cf + bf
            Za, cza = Aa @ Ga, Aa @ ca + np.abs(bf)
            xa = np.max(np.abs(np.asarray(poly.vf)), axis=0)
            tols = _MARGIN * (Za @ xa + cza) + 1e-300
            sub = [(poly, [])]
            for j in range(Z.shape[0]):
                g, cj = (Z[j, 0], Z[j, 1]), cz[j]
                nxt = []
                for p, pat in sub:
                    if g[0] == 0 and g[1] == 0:  # constant on the polygon
                        nxt.append((p, pat + [cj > 0]))
                        continue
                    pos, neg = _split(p, g, cj, Zf[j], czf[j], tols[j])
                    if pos is not None:
                        nxt.append((pos, pat + [True]))
                    if neg is not None:
                        nxt.append((neg, pat + [False]))
                sub = nxt
            for p, pat in sub:
                on = np.asarray(pat)
                G2, c2 = Z.copy(), cz.copy()
                G2[~on] = 0
                c2[~on] = 0
                new.append((p, G2, c2, den * scale, Zf * on[:, None], czf * on,
                            Za * on[:, None], cza * on))
        pieces = new
    Ai, _, scale, _, _, _ = layers[-1]
    out = []
    for poly, G, _c, den, *_ in pieces:
        Jn = Ai.dot(G)
        J = tuple((Fraction(int(r[0]), den * scale), Fraction(int(r[1]), den * scale))
                  for r in Jn)
        out.append((poly.v, J))
    return out


def _jac_norm(J) -> Fraction:
    """:math:`\\|J\\|_{\\infty\\to\\infty}`: the largest absolute row sum."""
    return max(sum((abs(t) for t in row), Fraction(0)) for row in J)


def exact_lipschitz(net: Network, box) -> Fraction:
    r"""The exact :math:`\ell^\infty` local Lipschitz constant of a 2-input ReLU network.

    .. math:: L(B)=\max_{P}\|J_P\|_{\infty}=\max_P\max_i\sum_j|(J_P)_{ij}|

    over the regions :math:`P` of :func:`exact_regions` (for one output,
    :math:`\max\|\nabla f\|_1`).

    Args:
      net: a ReLU network with :math:`N_0=2`.
      box: ``(lo, hi)``, each of shape ``(2,)``, of positive width.

    Returns:
      the constant as a ``Fraction``.

    Example:
      >>> net = jrelu.Network([(jnp.array([[1.0, 2.0], [-1.0, 0.0]]), jnp.zeros(2)),
      ...                      (jnp.array([[1.0, 1.0]]), jnp.zeros(1))])
      >>> float(exact_lipschitz(net, (jnp.array([-1.0, -1.0]), jnp.array([1.0, 1.0]))))
      3.0
    """
    return max(_jac_norm(J) for _, J in exact_regions(net, box))


def _in_closed_polygon(v, x) -> bool:
    n = len(v)
    for i in range(n):
        p, q = v[i], v[(i + 1) % n]
        if (q[0] - p[0]) * (x[1] - p[1]) - (q[1] - p[1]) * (x[0] - p[0]) < 0:
            return False
    return True


def exact_limiting_jacobians(net: Network, x, *, delta: float = 2.0**-10) -> set:
    r"""All limiting Jacobians :math:`\lim_{y\to x}D f(y)` of a 2-input ReLU network at x.

    The Jacobians of the regions whose closure contains x (exact, from
    :func:`exact_regions` on the box :math:`x\pm\delta`); their convex hull is the Clarke
    Jacobian.

    Args:
      x: the point, shape ``(2,)``.
      delta: half-width of the box enumerated around x (any positive value is exact).

    Returns:
      a set of Jacobians, each a tuple of rows of ``Fraction``.

    Example:
      >>> net = jrelu.Network([(jnp.array([[1.0, 0.0], [-1.0, 0.0]]), jnp.zeros(2)),
      ...                      (jnp.array([[1.0, 1.0]]), jnp.zeros(1))])  # |x_1|
      >>> sorted(float(J[0][0]) for J in exact_limiting_jacobians(net, jnp.zeros(2)))
      [-1.0, 1.0]
    """
    xf = np.asarray(x, np.float64).reshape(2)
    xq = tuple(Fraction(float(t)) for t in xf)
    regs = exact_regions(net, (xf - delta, xf + delta))
    return {J for v, J in regs if _in_closed_polygon(v, xq)}


def exact_realize(net: Network, x) -> list[Fraction]:
    r"""The exact value :math:`R\Phi(x)` (ReLU) in rational arithmetic from the stored weights.

    Args:
      net: a ReLU network.
      x: a point, shape ``(N_0,)``: floats, or a sequence of ``Fraction`` (e.g. a vertex of
        :func:`exact_regions`).

    Returns:
      the ``N_L`` outputs as ``Fraction``.

    Example:
      >>> net = jrelu.Network([(jnp.array([[0.1]]), jnp.zeros(1))])
      >>> exact_realize(net, jnp.array([3.0]))[0] == 3 * Fraction(0.1)
      True
    """
    if isinstance(x, (list, tuple)) and all(isinstance(t, Fraction) for t in x):
        h = list(x)
    else:
        h = [Fraction(float(t)) for t in np.asarray(x, np.float64).reshape(-1)]
    layers = _frac_layers(net)
    for k, (A, b) in enumerate(layers):
        h = [sum((a * t for a, t in zip(row, h)), Fraction(0)) + bj for row, bj in zip(A, b)]
        if k < len(layers) - 1:
            h = [max(t, Fraction(0)) for t in h]
    return h


def sampled_lipschitz(net: Network, box, *, n: int = 512) -> float:
    r"""A lower bound of the local Lipschitz constant: :math:`\max\|\nabla f\|_1` on an
    :math:`n\times n` grid (2 inputs) or :math:`n^2` uniform points (more inputs).

    Args:
      net: a network with one output.
      box: ``(lo, hi)``.
      n: grid points per coordinate.

    Returns:
      the sampled maximum (float).
    """
    from .derivative import derivative

    lo = np.asarray(box[0], np.float64)
    hi = np.asarray(box[1], np.float64)
    d = lo.shape[-1]
    if d == 2:
        t = (np.arange(n) + 0.5) / n
        g0, g1 = np.meshgrid(lo[0] + t * (hi[0] - lo[0]), lo[1] + t * (hi[1] - lo[1]))
        pts = np.stack([g0.ravel(), g1.ravel()], -1)
    else:
        rng = np.random.default_rng(0)
        pts = lo + rng.random((n * n, d)) * (hi - lo)
    J = jax.jit(derivative)(net, jnp.asarray(pts, net.dtype))
    return float(jnp.max(jnp.sum(jnp.abs(J), axis=(-2, -1))))


# -- the benchmark cases -----------------------------------------------------------------------

_ALPHA_BATCH = 16  # boxes per call in the batched time of method="alpha"
_ARCHS = ((2, 16, 16, 1), (2, 32, 32, 32, 1), (10, 64, 64, 1), (100, 256, 256, 1))
_HALF_WIDTHS = (0.01, 0.1, 1.0)


def benchmark_cases(*, archs=_ARCHS, half_widths=_HALF_WIDTHS, squared_norm: bool = True,
                    seed: int = 0):
    r"""The benchmark's (name, net, centre, half-width) cases, float64.

    He-initialized networks (:func:`jrelu.init`, key ``seed + i``) with a fixed centre drawn
    uniformly from :math:`[-1,1]^{N_0}`, and ``squared_norm_network(2, 1, 3)`` centred at 0.

    Returns:
      a list of ``(name, net, centre, half_width)``.
    """
    cases = []
    nets = []
    for i, w in enumerate(archs):
        net = init(jax.random.key(seed + i), tuple(w), dtype=jnp.float64)
        centre = np.random.default_rng(seed + 100 + i).uniform(-1, 1, w[0])
        nets.append(("-".join(map(str, w)), net, centre))
    if squared_norm:
        from .constructions import squared_norm_network

        nets.append(("squared_norm(2,1,3)", squared_norm_network(2, 1.0, 3, dtype=jnp.float64),
                     np.zeros(2)))
    for name, net, centre in nets:
        for r in half_widths:
            cases.append((name, net, centre, float(r)))
    return cases


# -- jrelu's bounds, with or without the method option --------------------------------------


def has_methods() -> bool:
    """Whether :func:`jrelu.lipschitz_bound` has the ``method`` option."""
    from .bounds import lipschitz_bound

    return "method" in inspect.signature(lipschitz_bound).parameters


def available_methods() -> tuple[str, ...]:
    """The methods of :func:`jrelu.lipschitz_bound` this version has, cheapest first."""
    if not has_methods():
        return ("interval",)
    from . import bounds

    if hasattr(bounds, "ALPHA_STEPS"):  # the versions with method="alpha"
        return ("interval", "linear", "alpha")
    return ("interval", "linear")


def _jrelu_fn(method: str):
    from .bounds import lipschitz_bound

    if has_methods():
        return lambda net, box: lipschitz_bound(net, box, norm="inf", method=method)
    if method != "interval":
        return None
    return lambda net, box: lipschitz_bound(net, box, norm="inf")


# -- auto_LiRPA ------------------------------------------------------------------------------


def auto_lirpa_available() -> bool:
    """Whether auto_LiRPA and torch are importable (an optional comparator)."""
    return (importlib.util.find_spec("torch") is not None
            and importlib.util.find_spec("auto_LiRPA") is not None)


class _LirpaModel:
    """auto_LiRPA's local Lipschitz model of a 1-output jrelu network, float64 (built once)."""

    def __init__(self, net: Network, centre):
        import logging
        import warnings

        import torch
        from auto_LiRPA import BoundedModule, BoundedTensor
        from auto_LiRPA.jacobian import GradNorm, JacobianOP
        from torch import nn

        logging.getLogger("auto_LiRPA.utils").setLevel(logging.ERROR)
        self.torch, self.BoundedTensor = torch, BoundedTensor
        mods = []
        for k, (A, b) in enumerate(net.layers):
            lin = nn.Linear(A.shape[1], A.shape[0]).double()
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.asarray(A, np.float64)))
                lin.bias.copy_(torch.from_numpy(np.asarray(b, np.float64)))
            mods.append(lin)
            if k < len(net.layers) - 1:
                mods.append(nn.ReLU())
        model = nn.Sequential(*mods).double()

        class _Lip(nn.Module):
            def __init__(self, m):
                super().__init__()
                self.model = m
                self.grad_norm = GradNorm(norm=1)

            def forward(self, x):
                return self.grad_norm(JacobianOP.apply(self.model(x), x))

        x0 = torch.tensor(np.asarray(centre, np.float64)[None, :])
        prev = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)  # auto_LiRPA's alpha-CROWN needs it for float64
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.bm = BoundedModule(_Lip(model), (BoundedTensor(x0),), device="cpu",
                                        verbose=0)
        finally:
            torch.set_default_dtype(prev)
        self.model = model

    def bound(self, centre, half_width: float, *, optimize: bool) -> float:
        import warnings

        from auto_LiRPA.perturbations import PerturbationLpNorm

        torch = self.torch
        x0 = torch.tensor(np.asarray(centre, np.float64)[None, :])
        x = self.BoundedTensor(x0, PerturbationLpNorm(norm=np.inf, eps=half_width))
        prev = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ub = self.bm.compute_jacobian_bounds((x,), optimize=optimize,
                                                     bound_lower=False)[1]
        finally:
            torch.set_default_dtype(prev)
        return float(ub.detach().max())


def auto_lirpa_lipschitz(net: Network, centre, half_width: float, *,
                         optimize: bool = False) -> float:
    r"""auto_LiRPA's bound on :math:`\max_{B}\|\nabla f\|_1` (CROWN, or alpha-CROWN with
    ``optimize=True``) on the box ``centre ± half_width``, float64. Needs torch and
    auto_LiRPA.

    Returns:
      the bound (float).
    """
    return _LirpaModel(net, centre).bound(centre, half_width, optimize=optimize)


# -- the suite ---------------------------------------------------------------------------------


def _fmt(v, spec=".4g") -> str:
    return "-" if v is None else format(v, spec)


def _summary(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None, None
    return statistics.median(vals), max(vals)


def bench_bounds(*, archs=_ARCHS, half_widths=_HALF_WIDTHS, squared_norm: bool = True,
                 batch_boxes: int = 256, repeats: int = 5, exact: bool = True,
                 sample_grid: int = 400, auto_lirpa: bool = True, alpha_crown: bool = True,
                 methods: tuple[str, ...] | None = None, print_table: bool = False) -> dict:
    r"""Tightness and time of :func:`jrelu.lipschitz_bound` (``norm="inf"``, float64) per
    method, against exact values (2-input networks) and auto_LiRPA (when installed).

    For each case (network, box :math:`c\pm r`): the bounds :math:`U` of each method, the
    exact :math:`L=\max_P\|\nabla f|_P\|_1` (:func:`exact_lipschitz`), a sampled lower bound,
    auto_LiRPA's CROWN and alpha-CROWN bounds on the same weights, and times per box (one
    box per call, and ``batch_boxes`` boxes in one call). Ratios per case:
    :math:`U/L`, :math:`U/U_{\mathrm{auto\_LiRPA}}` (best of CROWN and alpha-CROWN) and
    :math:`t/t_{\mathrm{CROWN}}`; their median and worst over the cases. ``sound`` is
    :math:`U\ge L` for every method and case (exact comparison in rationals).

    Args:
      archs: He-initialized architectures (key = position in the list).
      half_widths: the half-widths r of the boxes.
      squared_norm: also ``squared_norm_network(2, 1, 3)`` (centre 0).
      batch_boxes: boxes per call for the batched time (0: no batched timing; at most 16
        for ``method="alpha"``).
      repeats: timed repeats (best of).
      exact: enumerate the regions of the 2-input networks.
      sample_grid: grid points per coordinate of the sampled lower bound.
      auto_lirpa: run auto_LiRPA when importable.
      alpha_crown: also run auto_LiRPA's alpha-CROWN (slow).
      methods: the methods of :func:`jrelu.lipschitz_bound` to run (default: all it has,
        ``"interval"``, ``"linear"``, ``"alpha"``).
      print_table: print the table (``jrelu bench`` prints it with the summary).

    Returns:
      the suite's result dict: ``cases`` (one dict per case) and the summary ratios.
    """
    from .bench import time_call  # here: bench.py registers this suite

    methods = available_methods() if methods is None else tuple(methods)
    lirpa = auto_lirpa and auto_lirpa_available()
    rows = []
    with jax.enable_x64(True):
        for name, net, centre, r in benchmark_cases(archs=archs, half_widths=half_widths,
                                                    squared_norm=squared_norm):
            row = {"net": name, "half_width": r}
            c = np.asarray(centre, np.float64)
            box = (c - r, c + r)
            cs = c + np.random.default_rng(7).uniform(-1, 1, (batch_boxes, c.size)) * r
            bbox = (cs - r, cs + r)  # a batch of boxes of the same size around c
            ex = None
            if exact and net.input_dim == 2:
                t0 = time.perf_counter()
                ex = exact_lipschitz(net, box)
                row["exact"] = float(ex)
                row["exact_s"] = time.perf_counter() - t0
            row["sampled"] = sampled_lipschitz(net, box, n=sample_grid)
            if ex is not None:  # the enumeration checked against dense sampling
                row["exact_ge_sampled"] = bool(row["sampled"] <= float(ex) * (1 + 1e-12))
            for m in methods:
                fn = _jrelu_fn(m)
                u = fn(net, box)
                row[m] = float(u)
                row[f"{m}_s"] = time_call(fn, net, box, repeats=repeats)
                if batch_boxes:  # alpha: fewer boxes (about 20 times the work per box)
                    nb = batch_boxes if m != "alpha" else min(batch_boxes, _ALPHA_BATCH)
                    row[f"{m}_batched_s"] = time_call(fn, net, (bbox[0][:nb], bbox[1][:nb]),
                                                      repeats=repeats) / nb
                sound = float(u) >= row["sampled"]
                if ex is not None:
                    sound = sound and Fraction(float(u)) >= ex
                    row[f"{m}/exact"] = float(u) / float(ex)
                row[f"{m}_sound"] = bool(sound)
            if lirpa:
                model = _LirpaModel(net, c)
                row["crown"] = model.bound(c, r, optimize=False)
                row["crown_s"] = _time_lirpa(model, c, r, False, repeats)
                if alpha_crown:
                    row["alpha_crown"] = model.bound(c, r, optimize=True)
                    row["alpha_crown_s"] = _time_lirpa(model, c, r, True, 1)
                best = min(row["crown"], row.get("alpha_crown", float("inf")))
                row["auto_lirpa_best"] = best
                if ex is not None:
                    row["auto_lirpa/exact"] = best / float(ex)
                    row["auto_lirpa_sound"] = bool(Fraction(best) >= ex)
                for m in methods:
                    row[f"{m}/auto_lirpa"] = row[m] / best
                    row[f"{m}_time/crown"] = row[f"{m}_s"] / row["crown_s"]
                    if batch_boxes:
                        row[f"{m}_batched_time/crown"] = (row[f"{m}_batched_s"]
                                                          / row["crown_s"])
            rows.append(row)
    result = {"suite": "bounds", "dtype": "float64", "methods": list(methods),
              "auto_lirpa": lirpa, "num_cases": len(rows), "batch_boxes": batch_boxes,
              "exact_ge_sampled": all(row.get("exact_ge_sampled", True) for row in rows)}
    for m in methods:
        result[f"{m}_all_sound"] = all(row[f"{m}_sound"] for row in rows)
        for key in (f"{m}/exact", f"{m}/auto_lirpa", f"{m}_time/crown",
                    f"{m}_batched_time/crown", f"{m}_s", f"{m}_batched_s"):
            med, worst = _summary(row.get(key) for row in rows)
            if med is not None:
                result[f"{key} median"] = med
                result[f"{key} worst"] = worst
        if lirpa:
            result[f"{m} tighter_or_equal_to_auto_lirpa"] = \
                f"{sum(row[m] <= row['auto_lirpa_best'] for row in rows)} of {len(rows)}"
            result[f"{m} within_1e-9_of_auto_lirpa_or_tighter"] = \
                f"{sum(row[m] <= row['auto_lirpa_best'] * (1 + 1e-9) for row in rows)} of " \
                f"{len(rows)}"
    if "linear" in methods and "interval" in methods:
        result["linear_never_looser_than_interval"] = all(
            row["linear"] <= row["interval"] for row in rows)
    if "alpha" in methods and "linear" in methods:
        result["alpha_never_looser_than_linear"] = all(
            row["alpha"] <= row["linear"] for row in rows)
    if lirpa:
        for key in ("auto_lirpa/exact", "crown_s", "alpha_crown_s"):
            med, worst = _summary(row.get(key) for row in rows)
            if med is not None:
                result[f"{key} median"] = med
                result[f"{key} worst"] = worst
    if lirpa:  # issue 11: as tight as auto_LiRPA's best, at most 1/5 of CROWN's time per box
        result["targets"] = {f"{m}/auto_lirpa worst": "<= 1" for m in methods
                             if m in ("linear", "alpha")}
        result["targets"].update({f"{m}_time/crown median": "<= 0.2"
                                  for m in methods if m in ("linear", "alpha")})
    result["table"] = _table(rows, methods, lirpa)
    result["cases"] = rows
    if print_table:
        print(result["table"])
    return result


def _time_lirpa(model, c, r, optimize, repeats):
    best = float("inf")
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        model.bound(c, r, optimize=optimize)
        best = min(best, time.perf_counter() - t0)
    return best


def _table(rows, methods, lirpa) -> str:
    cols = [("net", "net", "s"), ("r", "half_width", "g"), ("exact", "exact", ".4g"),
            ("sampled", "sampled", ".4g")]
    for m in methods:
        cols.append((m, m, ".4g"))
    if lirpa:
        cols += [("CROWN", "crown", ".4g"), ("aCROWN", "alpha_crown", ".4g")]
    for m in methods:
        cols.append((f"{m[:3]}/ex", f"{m}/exact", ".3f"))
        if lirpa:
            cols.append((f"{m[:3]}/LiRPA", f"{m}/auto_lirpa", ".3f"))
    for m in methods:
        cols.append((f"t_{m[:3]} ms", f"{m}_s", ".3f"))
        if any(f"{m}_batched_s" in row for row in rows):
            cols.append((f"t_{m[:3]}/box ms", f"{m}_batched_s", ".4f"))
    if lirpa:
        cols += [("t_CROWN ms", "crown_s", ".1f"), ("t_aCROWN ms", "alpha_crown_s", ".0f")]
    width = {h: max(len(h), 9) for h, _, _ in cols}
    width["net"] = 19
    lines = ["  ".join(f"{h:>{width[h]}}" for h, _, _ in cols)]
    for row in rows:
        cells = []
        for h, key, spec in cols:
            v = row.get(key)
            if v is not None and key.endswith("_s"):
                v = v * 1e3
            cells.append(f"{_fmt(v, spec):>{width[h]}}")
        lines.append("  ".join(cells))
    return "\n".join(lines)


# Tiny sizes for ``--smoke``: runs in seconds, the numbers mean nothing.
SMOKE_SIZES: dict = {"archs": ((2, 4, 4, 1),), "half_widths": (0.1,), "squared_norm": False,
                     "batch_boxes": 0, "repeats": 1, "sample_grid": 16, "auto_lirpa": False,
                     "methods": ("interval", "linear")}  # "alpha" compiles for 20 s more
