r"""Certified bounds on a box: values, :math:`D^N`, Lipschitz constants, sup errors.

Everything here is a *guaranteed* enclosure of an exact real-arithmetic quantity,
computed in floating point with every rounding error accounted for.

**Interval propagation.** For a box :math:`[\ell,h]\subset\mathbb R^{N_0}` write it in
center/radius form :math:`[c\pm r]`. An affine map sends it into
:math:`[A c+b\pm|A|r]`; the activation sends an interval :math:`[l,u]` to its image
(:meth:`jrelu.Activation.image`: the hull of :math:`\varrho(l),\varrho(u)` and
:math:`\varrho` at the kinks inside, which is exact for continuous piecewise-linear
activations and for monotone smooth ones). Layer by layer this encloses every
pre-activation :math:`R_k\Phi(x)`, :math:`x\in[\ell,h]`, and the output
:math:`R\Phi(x)` (:func:`realize_bounds`).

**Linear bound propagation** (``method="linear"``, the default of every function here;
``method="interval"`` is the interval propagation above). Each pre-activation
:math:`e_i^\top z_m` is bounded by back-substitution (CROWN, DeepPoly): on the already
sound interval :math:`[l_j,u_j]` of every earlier neuron two lines
:math:`a^{lo}_jz+\beta^{lo}_j\le\varrho(z)\le a^{up}_jz+\beta^{up}_j` hold; using the
upper line under a positive coefficient and the lower one under a negative coefficient
and substituting :math:`z_k=A_kh_{k-1}+b_k` layer by layer gives
:math:`e_i^\top z_m\le\Lambda x+c` on the box, maximized as
:math:`\Lambda c_B+|\Lambda|r_B`. For ReLU on an unstable interval the upper line is the
chord and the lower one :math:`z` or 0 (whichever is larger at the midpoint); for any
piecewise-linear activation the slopes of the pieces and the chord are tried, with the
intercept fitted through the ends and the kinks inside :math:`[l,u]`; for smooth
activations the slopes are the ends of the :math:`\varrho'` enclosure (mean-value lines)
or 0 (the image). Each layer's result is intersected with interval bounds, so it is never
looser. Rounding: the coefficient matrices are floats, and the real identity
:math:`\tilde D(A_kh+b_k)=\mathrm{fl}(\tilde DA_k)h+[\tilde DA_k-\mathrm{fl}(\tilde DA_k)]h
+\tilde Db_k` is used with the bracket bounded by :math:`\gamma_n|\tilde D||A_k|\,
|h|_{\max}`; these terms, those of the products with the slopes and of the intercept sums
go into a nonnegative error, rounded upward and added at the end; a line's intercept is
rounded outward from enclosures of :math:`\varrho` at the points above, so a line with a
rounded slope is still valid.

**Linear relaxation of the backward pass** (``method="linear"``). The Jacobian row of
output o is :math:`v_0` in :math:`v_{L-1}=A_L^\top e_o`, :math:`u_k=s_k\odot v_k`,
:math:`v_{k-1}=A_k^\top u_k`, :math:`s_k\in\partial\varrho(z_k)`. Each entry :math:`\pm
e_i^\top v_0` is bounded by back-substitution through this graph (RecurJac; Shi et al.
2022): the product :math:`s v` on :math:`[s_l,s_u]\times[v_l,v_u]` by the chord in v of
:math:`\max(s_lv,s_uv)` or :math:`\min(s_lv,s_uv)`; in the last hidden layer, where v is a
constant row of :math:`A_L`, :math:`s_k` by lines in :math:`z_k` valid for every Clarke
derivative on :math:`[l,u]` (both one-sided slopes at a kink) or by its interval, and with
two choices of the activation's lower lines, the smallest result kept; the coefficients on
the :math:`z_k` are then back-substituted through the forward network as above. The
intervals of the intermediate :math:`v_k` come from the same back-substitution, nearest the
output first. The result is intersected with the interval products formed from the input
side and from the output side on the linear pre-activation bounds and with the interval
method's enclosure, so it is never looser. For :math:`\|\cdot\|_\infty`
(:func:`lipschitz_bound`) one more row per output,
:math:`\sum_i|J_{oi}|\le\sum_i(a_iJ_{oi}+\beta_i)` with the chord of :math:`|\cdot|` on the
entry bounds, is back-substituted as a whole, which keeps the correlation between the
entries. Every product and sum is accounted for as in the forward back-substitution.

**Optimized slopes** (``method="alpha"``, alpha-CROWN: Xu et al. 2021). Where a neuron's
interval contains a kink the relaxation has a free parameter that keeps it valid for every
value: the slope of the activation's lower line in :math:`[\min\varrho',\max\varrho']`,
and the slopes of both lines in :math:`z` that relax :math:`s` in the last hidden layer (in
the hull of the candidate slopes above). A line of any slope is valid, because its
intercept is fitted with outward rounding at the points where the difference is extreme.
Every bound (each pre-activation bound, each row of the backward pass: the intermediate
:math:`v_k`, the entries of :math:`J` and the norm row) gets its own slopes, started from
its best row group and moved by a few projected Adam steps on the bound computed without
rounding terms; the best iterate is then bounded with every rounding term and the result
intersected with the ``"linear"`` one. So the bound is sound and never looser whatever the
optimizer does; the optimizer only decides how much tighter it is.

**Kinks: exact versus floating-point pre-activations.** :func:`jrelu.limiting_jacobians`
and :func:`jrelu.kink_report` decide kinks on the floating-point pre-activations at a
point: a neuron that is 0 in exact arithmetic but :math:`10^{-17}` in float64 is not at a
kink there. The enclosures here are sound for the exact real pre-activation: on a
zero-width box at such a point both one-sided slopes of that neuron are included.

**Interval** :math:`D^N`. On the pre-activation interval :math:`[l,u]` of a neuron,
:math:`D\varrho(z)` for :math:`z\in[l,u]` lies in the hull of the slopes of the pieces
that meet :math:`[l,u]` and of the chosen kink value :math:`c=D\varrho(k)` at each kink
:math:`k\in[l,u]` (:meth:`jrelu.Activation.deriv_image`; for ReLU: :math:`\{1\}` if
:math:`l>0`, :math:`\{0\}` if :math:`u<0`, otherwise the hull of :math:`\{0,c,1\}`
restricted to what the interval meets). Multiplying interval diagonals and the point
matrices :math:`A_k` in center/radius arithmetic encloses
:math:`D^N\Phi(x)=A_L\,\mathrm{diag}(D\varrho(R_{L-1}\Phi(x)))\cdots A_1` for every
:math:`x` in the box (:func:`derivative_bounds`).

**From interval** :math:`D^N` **to Lipschitz bounds** (:func:`lipschitz_bound`). Let
:math:`[J]` enclose :math:`D^N\Phi` on a box :math:`B`. Then for all :math:`x,y\in B`,
:math:`R\Phi(x)-R\Phi(y)=G\,(x-y)` for some :math:`G\in[J]`. Argument: if :math:`B`
has interior, :math:`R\Phi` is Lipschitz and :math:`\nabla R\Phi=D^N\Phi` off a null
set :math:`Z`, for every kink value :math:`c` (Berner, Elbrächter, Grohs, Jentzen
2019). For interior :math:`x,y` and almost every small shift :math:`w`, the segment
from :math:`y+w` to :math:`x+w` stays in :math:`B` and meets :math:`Z` in a null set
of its parameter (Fubini), so :math:`R\Phi(x+w)-R\Phi(y+w)=\int_0^1
D^N\Phi(\cdot)\,dt\,(x-y)`, and the averaged matrix lies in the closed convex
:math:`[J]`; let :math:`w\to0` and use continuity and compactness of :math:`[J]`, then
extend to the boundary. If some :math:`\ell_j=h_j`, fold the fixed coordinates into
:math:`b_1`: the folded network has the same pre-activations and the columns of
:math:`D^N\Phi` for the free coordinates, and the argument applies to it. Hence with
:math:`M=\max(|J_{lo}|,|J_{hi}|)`, :math:`\|R\Phi(x)-R\Phi(y)\|_p\le\|M\|_p\|x-y\|_p`
(:math:`\|G\|_p\le\||G|\|_p\le\|M\|_p` for :math:`p\in\{1,2,\infty\}`).

**Floating-point model and rounding slack.** The guarantees are about the exact
real-arithmetic realization :math:`R\Phi` of the network *with its stored
floating-point weights*, with the mathematical :math:`\varrho`, on the stated box. The
computations run in the network's dtype (float32 or float64, unit roundoff
:math:`u=2^{-24}` or :math:`2^{-53}`), round to nearest, with matrix products at
``Precision.HIGHEST`` and with subnormals possibly flushed to zero (XLA on CPU does
flush them). For an inner product of length n plus a bias, summed in any order with or
without FMA, :math:`|\mathrm{fl}(Ax+b)-(Ax+b)|\le\gamma_{n+1}(|A||x|+|b|)+\alpha`,

.. math::
    \gamma_n=\frac{nu}{1-nu},

where :math:`\alpha` is an underflow term of size
:math:`(4n+8)\,\mathrm{tiny}\,(1+\max|x|+\max|A|)` (tiny = smallest normal number).
Each affine layer therefore adds :math:`\gamma_{2n+4}(|A||c|+|b|)+\alpha` (the constant
doubled for safety) to the radius, and the radius computation itself is rounded upward
(a computed sum of nonnegative terms is at least :math:`(1-\gamma_n)` times the exact
one). Short elementwise expressions are rounded outward by
:math:`x\mapsto x\pm((2k+2)u|x|+(2k+2)\mathrm{tiny})` for k operations.

The activation enters through its data (:class:`jrelu.Activation`): ``kinks``,
``slopes``, ``deriv_at_kink``, ``lipschitz``, ``value_ulps``, :meth:`~jrelu.Activation.image`
and :meth:`~jrelu.Activation.deriv_image`, so any subclass that provides them works
here. With :math:`K` = ``value_ulps``:

* :math:`K=0`: the values of :math:`\varrho` are computed exactly (ReLU, abs, hard tanh)
  and the image is used as is.
* piecewise linear (``slopes`` given) with :math:`K>0`: :math:`\varrho` at the kinks is
  exact; on a piece through the origin, :math:`\varrho(z)=sz` is computed from the slope
  (exactly for :math:`s\in\{0,1,-1\}`, otherwise with :math:`s` rounded outward and
  one rounding, as for leaky ReLU); on any other piece the computed :math:`\varrho(z)`
  is the result of :math:`K` roundings and is widened by the rule above with
  :math:`k=K`. Slopes and kink values of :math:`D\varrho` that are not representable in
  the dtype are rounded outward.
* smooth (``slopes`` is None): the computed :math:`\varrho(z)` is assumed within
  :math:`Ku\sup|\varrho|` of the exact value if :math:`\varrho` is bounded, within
  :math:`Ku|\varrho(z)|+K\,\mathrm{tiny}` otherwise, and the computed
  :math:`D\varrho(z)` within :math:`K'u\,\mathrm{Lip}(\varrho)` with :math:`K'` =
  ``deriv_ulps`` (default :math:`4K`). The enclosures are widened by that much and then
  clipped to the ranges ``image(-inf, inf)`` and ``deriv_image(-inf, inf)``, whose ends
  are taken as exact (they are the limits 0, ±1, ±∞ for the built-in activations). XLA
  does not promise the accuracy of ``tanh``, ``logaddexp`` and ``sigmoid``; the built-in
  :math:`K=64` is tested against 50-digit references.

Point inputs (boxes with :math:`\ell=h`) give enclosures whose radius is pure rounding
slack; :func:`certified_sup_error` reports it as ``rounding_slack``.

**Compiled kernels and long sessions.** Each network shape, box batch shape, dtype,
activation and option compiles its own kernel, kept for the next call. On CPU one such
kernel holds several hundred memory mappings, and Linux caps a process's mappings
(``vm.max_map_count``, 65530 by default): a session that kept about a hundred of them
would die inside XLA's compiler. So before compiling a new one, when the process uses more
than half of its mappings, jrelu drops its compiled bounds kernels (they compile again when
next needed, with the same results). Other compiled functions are left alone.

References:
  Interval arithmetic and rounding-error bounds (:math:`\gamma_n`) as in N. J. Higham,
  *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM (2002), §3.1–3.5, and
  S. M. Rump, *Verification methods: rigorous results using floating-point arithmetic*,
  Acta Numerica 19 (2010); Clarke/Lebourg mean-value arguments as in F. H. Clarke,
  *Optimization and Nonsmooth Analysis* (1983), §2.3–2.6; the network derivative
  :math:`D^N`: Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import itertools
import math
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks, _random
from ._interval import (
    Fp,
    interval_activation,
    interval_forward,
    interval_jacobian,
    layer_arrays,
    opnorm_up,
    outward_cast,
    round_down,
    round_up,
    rounding_model,
    scalar_hull,
    sum_up,
)
from ._linear_bounds import (
    has_choice,
    jacobian_backward,
    linear_forward,
    linear_jacobian,
    meet_intervals,
)
from ._residency import KernelFamily
from .activations import Activation, relu
from .network import Network

__all__ = [
    "CertifiedBound",
    "realize_bounds",
    "derivative_bounds",
    "lipschitz_bound",
    "certified_sup_error",
]

_MAX_CERTIFIED_DIM = 8  # each box evaluates its 2^N_0 corners


# method="alpha": projected Adam steps on the relaxation slopes (each bound's own)
ALPHA_STEPS = 20


def _check_method(method, allowed=("linear", "interval", "alpha")) -> str:
    return _checks.one_of("method", method, allowed)


def _norm_key(norm) -> str:
    if isinstance(norm, str) and norm.lower() in ("inf", "1", "2"):
        return norm.lower()
    if not isinstance(norm, bool) and norm in (1, 2):
        return str(int(norm))
    if isinstance(norm, (int, float)) and not isinstance(norm, bool) and math.isinf(norm) \
            and norm > 0:
        return "inf"
    raise ValueError(f"norm must be 1, 2 or inf (the same p-norm on inputs and outputs), "
                     f"got {norm!r}")


# -- input checks ------------------------------------------------------------------------------


def _check_box(net: Network, box, fp: Fp, batch: bool = True):
    """Validate ``box = (lo, hi)`` and return it in the network dtype (outward rounded)."""
    n0 = net.input_dim
    want = f"({n0},)" + (f" or (..., {n0})" if batch else "")
    if isinstance(box, (str, bytes, dict)):
        raise TypeError(f"box must be a pair (lo, hi) of arrays of shape {want}, got "
                        f"{type(box).__name__}")
    try:
        lo, hi = box
    except TypeError:
        raise TypeError(f"box must be a pair (lo, hi) of arrays of shape {want}, got "
                        f"{type(box).__name__}") from None
    except ValueError:
        raise ValueError(f"box must be a pair (lo, hi) of arrays of shape {want}") from None
    concrete = _checks.is_concrete(lo) and _checks.is_concrete(hi)
    if concrete:
        lo_np, hi_np = np.asarray(lo), np.asarray(hi)
        shapes = (lo_np.shape, hi_np.shape)
    else:
        shapes = (jnp.shape(lo), jnp.shape(hi))
    for name, s in zip(("lo", "hi"), shapes):
        if not (len(s) >= 1 and s[-1] == n0 and (batch or len(s) == 1)):
            raise ValueError(f"box {name} must have shape {want} for a network with "
                             f"N_0 = {n0}, got shape {s}")
    if shapes[0] != shapes[1]:
        raise ValueError(f"box lo and hi must have the same shape, got {shapes[0]} and "
                         f"{shapes[1]}")
    if not concrete:
        return jnp.asarray(lo, fp.dtype), jnp.asarray(hi, fp.dtype)
    for name, arr in (("lo", lo_np), ("hi", hi_np)):
        if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number) \
                or np.iscomplexobj(arr):
            raise TypeError(f"box {name} must be a real array, got dtype {arr.dtype}")
        _checks.finite_array(f"box {name}", arr)
    bad = np.argwhere(lo_np.astype(np.float64) > hi_np.astype(np.float64))
    if bad.size:
        idx = tuple(int(i) for i in bad[0])
        raise ValueError(f"box needs lo <= hi, but lo{list(idx)} = {lo_np[idx]} > "
                         f"hi{list(idx)} = {hi_np[idx]}")
    lo_c = outward_cast(lo_np, fp.dtype, down=True)
    hi_c = outward_cast(hi_np, fp.dtype, down=False)
    return jnp.asarray(lo_c), jnp.asarray(hi_c)


# -- public: enclosures and Lipschitz bounds ---------------------------------------------------


def realize_bounds(net: Network, box: tuple[ArrayLike, ArrayLike], *,
                   activation: Activation = relu,
                   method: str = "linear") -> tuple[jax.Array, jax.Array]:
    r"""Guaranteed enclosure of the values :math:`\{R\Phi(x): x\in[\ell,h]\}` on a box.

    Interval propagation in center/radius form, layer by layer,

    .. math::
        [c\pm r]\ \mapsto\ [A_kc+b_k\pm|A_k|r]\ \mapsto\ \mathrm{hull}\,
        \varrho([A_kc+b_k\pm|A_k|r]),

    with every rounding error accounted for (module docstring), so that
    ``out_lo <= RΦ(x) <= out_hi`` for every real x in the box, in exact arithmetic with
    the stored weights. That is ``method="interval"``. The default ``method="linear"``
    bounds every pre-activation by back-substitution through linear relaxations of the
    activation (module docstring),

    .. math::
        e_i^\top R_m\Phi(x)\le\max_{x\in[\ell,h]}\Lambda x+c+\varepsilon,

    and intersects the result with the interval bounds, so it is never looser.
    ``method="alpha"`` also optimizes, for every bound separately, the slopes of the lower
    lines of the neurons whose interval contains a kink (alpha-CROWN):

    .. math::
        \min_{\alpha\in[0,1]^n}\ \max_{x\in[\ell,h]}\Lambda_\alpha x+c_\alpha
        +\varepsilon_\alpha,

    by a few projected gradient steps; every slope gives a valid line (its intercept is
    fitted with outward rounding), the chosen slopes' bound is computed with every
    rounding term, and the result is intersected with the linear one, so it is sound
    whatever the optimizer does and never looser than ``method="linear"``.

    Args:
      net: the network, float32 or float64.
      box: ``(lo, hi)``, each of shape ``(N_0,)`` or a batch ``(..., N_0)`` of boxes;
        finite, ``lo <= hi``. Concrete boxes are checked and cast to the network dtype
        with outward rounding; traced boxes (inside ``jit``) are only shape-checked and
        must already be in the network dtype for the guarantee to hold.
      activation: a :class:`jrelu.Activation` with interval data (ReLU, LeakyReLU, Abs,
        HardTanh, Softplus, Tanh, or a subclass providing ``slopes`` or ``image``,
        ``deriv_image`` and ``lipschitz``).
      method: ``"linear"`` (linear bound propagation, the default), ``"interval"``
        (interval propagation only: faster, looser) or ``"alpha"`` (linear bound
        propagation with optimized slopes: tighter; about 20 times the work of
        ``"linear"`` and a longer compilation; for piecewise-linear activations with
        kinks, otherwise the same as ``"linear"``).

    Returns:
      ``(out_lo, out_hi)``, each of shape ``(..., N_L)``.

    Raises:
      TypeError: if ``net`` is not a :class:`jrelu.Network`, ``activation`` not an
        :class:`jrelu.Activation`, ``box`` not a pair of real arrays, or ``method`` not a
        string.
      ValueError: for a dtype other than float32/float64, a box of the wrong shape, with a
        non-finite entry or ``lo > hi``, an activation without interval data, or a
        ``method`` other than ``"linear"``/``"interval"``/``"alpha"``.

    Example:
        >>> net = jrelu.Network([(jnp.array([[1.0], [-1.0]]), jnp.zeros(2)),
        ...                      (jnp.array([[1.0, 1.0]]), jnp.zeros(1))])  # |x|
        >>> lo, hi = jrelu.realize_bounds(net, (jnp.array([-1.0]), jnp.array([2.0])))
        >>> bool(lo[0] <= 0.0), f"{float(hi[0]):.4f}"  # max |x| = 2: exact
        (True, '2.0000')
        >>> lo, hi = jrelu.realize_bounds(net, (jnp.array([-1.0]), jnp.array([2.0])),
        ...                               method="interval")
        >>> f"{float(hi[0]):.4f}"  # |x| = relu(x) + relu(-x) <= 2 + 1
        '3.0000'
        >>> g = jrelu.Network([(jnp.array([[1.0], [1.0]]), jnp.array([0.0, 2.0])),
        ...                    (jnp.array([[1.0, -0.5]]), jnp.ones(1))])  # relu(x) - x/2
        >>> box = (jnp.array([-1.0]), jnp.array([2.0]))  # min 0 at x = 0
        >>> f"{float(jrelu.realize_bounds(g, box)[0][0]):.2f}"  # relu(z) >= z
        '-0.50'
        >>> lo = float(jrelu.realize_bounds(g, box, method='alpha')[0][0])
        >>> f"{lo:.2f}"  # lower slope optimized towards 1/2 (relu(z) >= z/2): near the min 0
        '-0.02'

    References:
      Interval arithmetic and :math:`\gamma_n`: N. J. Higham, *Accuracy and Stability of
      Numerical Algorithms* (2002), §3.1–3.5; S. M. Rump, *Verification methods*, Acta
      Numerica 19 (2010). Linear bound propagation: Zhang, Weng, Chen, Hsieh, Daniel
      (2018), `arXiv:1811.00866 <https://arxiv.org/abs/1811.00866>`_ (CROWN); Singh,
      Gehr, Püschel, Vechev (2019), DeepPoly, POPL; Xu, Zhang, Wang, Wang, Jana, Lin,
      Hsieh (2021), alpha-CROWN, `arXiv:2011.13824 <https://arxiv.org/abs/2011.13824>`_.
    """
    fp = rounding_model(_checks.network("net", net).dtype)
    interval_activation(activation)
    method = _check_method(method)
    lo, hi = _check_box(net, box, fp)
    if method == "interval":
        return _realize_bounds_jit(layer_arrays(net, fp), lo, hi, activation)
    layers = layer_arrays(net, fp)
    out = _realize_linear_jit(layers, lo, hi, activation)
    if method == "alpha" and has_choice(activation):  # met with the linear bounds
        out = meet_intervals(out, _realize_alpha_jit(layers, lo, hi, activation))
    return out


def derivative_bounds(net: Network, box: tuple[ArrayLike, ArrayLike], *,
                      activation: Activation = relu,
                      method: str = "linear") -> tuple[jax.Array, jax.Array]:
    r"""Guaranteed enclosure of :math:`\{D^N\Phi(x): x\in[\ell,h]\}` (interval :math:`D^N`).

    Stably active or inactive neurons (pre-activation interval inside one piece) fix
    their :math:`D\varrho` entry; an unstable neuron gets the hull of :math:`D\varrho` over
    its pre-activation interval (:meth:`jrelu.Activation.deriv_image`), including the
    chosen kink value :math:`c=D\varrho(k)` when the kink lies in the interval (so for
    ``ReLU(deriv_at_kink=2)`` the hull is [0, 2]). The interval matrix product

    .. math::
        [J]=A_L\,[\mathrm{diag}(D_{L-1})]\,A_{L-1}\cdots[\mathrm{diag}(D_1)]\,A_1
        \ni D^N\Phi(x)

    is formed from the input side in center/radius arithmetic with rounding accounted
    for, so ``J_lo <= D^NΦ(x) <= J_hi`` entrywise for every real x in the box
    (``method="interval"``). With ``method="linear"`` (the default) the pre-activation
    intervals come from linear bound propagation (:func:`realize_bounds`), so fewer
    neurons are unstable, and each entry is also bounded by back-substitution through a
    linear relaxation of the backward pass (module docstring),

    .. math::
        \pm J_{oi}\le\max_{x\in[\ell,h]}\Bigl(\Lambda x+\sum_k C_kz_k(x)\Bigr)+c
        +\varepsilon,

    intersected with the products formed from the input side and from the output side
    and with the interval method's enclosure, so it is never looser.
    ``method="alpha"`` optimizes the relaxation slopes (:func:`realize_bounds`), for each
    pre-activation bound and each row of the backward pass separately: the lower lines
    of the activation and both lines in :math:`z` that relax :math:`s` in the last
    hidden layer; the result is intersected with the ``"linear"`` one.
    On a zero-width box at a kink it contains every limiting Jacobian (and the chosen
    :math:`D^N`), since it encloses :math:`D\varrho` over the whole pre-activation
    interval, both one-sided slopes included.

    Args:
      net: the network, float32 or float64.
      box: ``(lo, hi)``, each of shape ``(N_0,)`` or ``(..., N_0)``, as in
        :func:`realize_bounds`.
      activation: a :class:`jrelu.Activation` with interval data, as in
        :func:`realize_bounds`.
      method: ``"linear"`` (default), ``"interval"`` or ``"alpha"``, as in
        :func:`realize_bounds`.

    Returns:
      ``(J_lo, J_hi)``, each of shape ``(..., N_L, N_0)``.

    Raises:
      TypeError: as in :func:`realize_bounds`.
      ValueError: as in :func:`realize_bounds`.

    Example:
        >>> net = jrelu.Network([(jnp.array([[1.0], [-1.0]]), jnp.zeros(2)),
        ...                      (jnp.array([[1.0, 1.0]]), jnp.zeros(1))])  # |x|
        >>> Jl, Jh = jrelu.derivative_bounds(net, (jnp.array([0.5]), jnp.array([2.0])))
        >>> Jl.shape, f"{float(Jl[0, 0]):.4f}", f"{float(Jh[0, 0]):.4f}"
        ((1, 1), '1.0000', '1.0000')
        >>> Jl, Jh = jrelu.derivative_bounds(net, (jnp.array([-1.0]), jnp.array([2.0])))
        >>> f"{float(Jl[0, 0]):.4f}", f"{float(Jh[0, 0]):.4f}"
        ('-1.0000', '1.0000')

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_ (:math:`D^N`); N. J. Higham,
      *Accuracy and Stability of Numerical Algorithms* (2002), §3.1–3.5 (rounding);
      Zhang, Zhang, Hsieh (2019), RecurJac,
      `arXiv:1810.11783 <https://arxiv.org/abs/1810.11783>`_; Shi, Wang, Zhang, Kolter,
      Hsieh (2022), `arXiv:2210.07394 <https://arxiv.org/abs/2210.07394>`_ (Jacobian
      bounds from linear relaxations); Xu et al. (2021), alpha-CROWN,
      `arXiv:2011.13824 <https://arxiv.org/abs/2011.13824>`_ (optimized slopes).
    """
    fp = rounding_model(_checks.network("net", net).dtype)
    interval_activation(activation)
    method = _check_method(method)
    lo, hi = _check_box(net, box, fp)
    if method == "interval":
        return _derivative_bounds_jit(layer_arrays(net, fp), lo, hi, activation)
    return _derivative_linear_jit(layer_arrays(net, fp), lo, hi, activation, method)


def lipschitz_bound(net: Network, box: tuple[ArrayLike, ArrayLike] | None, *,
                    norm: int | float | str = "inf",
                    activation: Activation = relu,
                    method: str = "linear", splits: int = 0) -> jax.Array:
    r"""A guaranteed Lipschitz constant of :math:`R\Phi` on a box or on all of the input space.

    The norm is the same p-norm on inputs and outputs, :math:`p\in\{1,2,\infty\}`: the
    result L satisfies :math:`\|R\Phi(x)-R\Phi(y)\|_p\le L\|x-y\|_p`.

    * ``box=None`` (global):

      .. math::
          L=\mathrm{Lip}(\varrho)^{L-1}\prod_k\|A_k\|_p,

      with :math:`\mathrm{Lip}(\varrho)=\sup|\varrho'|` off the kinks
      (:attr:`jrelu.Activation.lipschitz`: 1 for ReLU, abs, hard tanh, softplus, tanh;
      :math:`\max(1,|\alpha|)` for leaky ReLU), since :math:`R\Phi` is a composition of
      the :math:`\|A_k\|_p`-Lipschitz affine maps and the componentwise
      :math:`\mathrm{Lip}(\varrho)`-Lipschitz activation.
    * ``box=(lo, hi)``: :math:`\min(\max_{B'}\|M_{B'}\|_p, L_{\mathrm{global}})` with
      :math:`M_{B'}=\max(|J_{lo}|,|J_{hi}|)` from :func:`derivative_bounds` on each
      subbox :math:`B'` of the cover made by ``splits`` (the box itself by default). :math:`\|M\|_p`
      bounds :math:`\|D^N\Phi(x)\|_p` at every x of the box, and by the a.e. argument in
      the module docstring it is a Lipschitz constant on the box.
      For p = inf with ``method="linear"`` the bound is also at most
      :math:`\max_o\sum_i(a_iJ_{oi}+\beta_i)`, the chord of :math:`|\cdot|` on each
      entry's enclosure back-substituted as one row (module docstring), which keeps the
      correlation between the entries. With ``method="linear"`` and no ``splits`` the
      enclosure is computed by the same compiled kernel as :func:`derivative_bounds` (one
      compilation per network shape, box batch shape, activation and dtype serves both
      functions and every norm).

    For p = 2 the spectral norms are bounded by
    :math:`\min(\|M\|_F,\sqrt{\|M\|_1\|M\|_\infty})` (rigorous, not the exact spectral
    norm). All roundings are upward.

    Args:
      net: the network, float32 or float64.
      box: ``(lo, hi)`` of shape ``(N_0,)`` or ``(..., N_0)``, or ``None`` for the global
        bound on all of :math:`\mathbb R^{N_0}` (required: pass ``None`` explicitly).
      norm: 1, 2 or ``"inf"`` (also ``jnp.inf``).
      activation: a :class:`jrelu.Activation` with interval data, as in
        :func:`realize_bounds`.
      method: ``"linear"`` (default), ``"interval"`` or ``"alpha"``: how :math:`[J]` is
        computed (:func:`derivative_bounds`); with ``"alpha"`` the slopes of the norm row
        are optimized too; ignored for ``box=None``.
      splits: refinement budget, 0 to 16: each box is cut ``splits`` times at the
        midpoint of its longest edge into :math:`2^{\texttt{splits}}` subboxes, and the
        largest bound over them is returned (a bound of :math:`\|D^N\Phi\|_p` on every
        subbox of a cover bounds it on the box). Costs :math:`2^{\texttt{splits}}` times
        the work; tightens large boxes most.

    Returns:
      a scalar array, or shape ``(...,)`` for a batch of boxes.

    Raises:
      TypeError: as in :func:`realize_bounds`, or if ``splits`` is not an integer.
      ValueError: as in :func:`realize_bounds`, or if ``norm`` is not 1, 2 or inf,
        ``method`` is not ``"linear"``/``"interval"``/``"alpha"``, or ``splits`` is
        outside 0..16.

    Example:
        >>> net = jrelu.Network([(jnp.array([[1.0], [-1.0]]), jnp.zeros(2)),
        ...                      (jnp.array([[3.0, -1.0]]), jnp.zeros(1))])  # slopes 1, 3
        >>> f"{float(jrelu.lipschitz_bound(net, None)):.4f}"
        '4.0000'
        >>> f"{float(jrelu.lipschitz_bound(net, (jnp.array([0.25]), jnp.array([1.0])))):.4f}"
        '3.0000'
        >>> big = jrelu.init(jax.random.key(0), [2, 16, 1])
        >>> box = (-jnp.ones(2), jnp.ones(2))
        >>> L = jrelu.lipschitz_bound(big, box, method="interval")
        >>> bool(jrelu.lipschitz_bound(big, box, splits=4) <= jrelu.lipschitz_bound(big, box) <= L)
        True

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_; F. H. Clarke, *Optimization
      and Nonsmooth Analysis* (1983), §2.3–2.6 (mean-value inclusion); Zhang, Zhang, Hsieh
      (2019), RecurJac, `arXiv:1810.11783 <https://arxiv.org/abs/1810.11783>`_ (local
      Lipschitz constants from bounded Jacobians); Xu et al. (2021), alpha-CROWN,
      `arXiv:2011.13824 <https://arxiv.org/abs/2011.13824>`_ (``method="alpha"``).
    """
    fp = rounding_model(_checks.network("net", net).dtype)
    interval_activation(activation)
    p = _norm_key(norm)
    method = _check_method(method)
    splits = _checks.integer("splits", splits, min=0, max=16)
    layers = layer_arrays(net, fp)
    if box is None:
        return _global_lipschitz_jit(layers, activation, p)
    lo, hi = _check_box(net, box, fp)
    if method == "interval":
        if splits == 0:
            return _box_lipschitz_jit(layers, lo, hi, activation, p)
        return _box_lipschitz_split_jit(layers, lo, hi, activation, p, splits, method)
    # the enclosure kernel is the one of derivative_bounds (compiled once for both)
    Jl, Jh, rows = _rows(layers, lo, hi, activation, method)
    best = _lipschitz_from_rows_jit(layers, Jl, Jh, rows, activation, p)
    if splits:  # a cover of the box and the box itself: the smaller bound
        best = jnp.minimum(best, _box_lipschitz_split_jit(layers, lo, hi, activation, p, splits,
                                                          method))
    return best


# Jitted kernels (the activation and the norm are static; the dtype model is read off the
# traced arrays' dtypes). One compiled kernel holds hundreds of memory mappings on CPU: the
# family drops them all when the process nears its cap (_residency).
_KERNELS = KernelFamily()


@_KERNELS.add
@functools.partial(jax.jit, static_argnums=(3,))
def _realize_bounds_jit(layers, lo, hi, act):
    return interval_forward(layers, act, lo, hi, rounding_model(lo.dtype))[-1]


@_KERNELS.add
@functools.partial(jax.jit, static_argnums=(3,))
def _derivative_bounds_jit(layers, lo, hi, act):
    fp = rounding_model(lo.dtype)
    pre = interval_forward(layers, act, lo, hi, fp)
    return interval_jacobian(layers, act, pre, fp, lo.shape[:-1])


@_KERNELS.add
@functools.partial(jax.jit, static_argnums=(1, 2))
def _global_lipschitz_jit(layers, act, p):
    fp = rounding_model(layers[0][0].dtype)
    glob = jnp.asarray(1.0, fp.dtype)
    for A, _ in layers:
        glob = round_up(glob * opnorm_up(jnp.abs(A), p, fp), fp)
    lip = act.lipschitz
    if lip != 1.0:
        lip = scalar_hull(lip, fp)[1]  # rounded up into the dtype
        glob = round_up(glob * jnp.asarray(lip, fp.dtype) ** (len(layers) - 1), fp, len(layers))
    return glob


@_KERNELS.add
@functools.partial(jax.jit, static_argnums=(3, 4))
def _box_lipschitz_jit(layers, lo, hi, act, p):
    Jl, Jh = _derivative_bounds_jit(layers, lo, hi, act)
    fp = rounding_model(lo.dtype)
    M = jnp.maximum(jnp.abs(Jl), jnp.abs(Jh))
    return jnp.minimum(opnorm_up(M, p, fp), _global_lipschitz_jit(layers, act, p))


def _linear_pre(layers, act, lo, hi, fp, alpha_steps=0, alpha_output=True):
    """Linear pre-activation bounds and the interval ones (both sound) of the boxes."""
    pre_int = interval_forward(layers, act, lo, hi, fp)
    return linear_forward(layers, act, lo, hi, pre_int, fp, alpha_steps=alpha_steps,
                          alpha_output=alpha_output), pre_int


def _linear_jacobian(layers, act, pre, pre_int, fp, batch_shape):
    """Intersection of the interval D^N enclosures on the linear and interval bounds."""
    Jf = interval_jacobian(layers, act, pre, fp, batch_shape)
    Jb = jacobian_backward(layers, act, pre, fp, batch_shape)
    Ji = interval_jacobian(layers, act, pre_int, fp, batch_shape)
    return meet_intervals(meet_intervals(Jf, Jb), Ji)


@_KERNELS.add
@functools.partial(jax.jit, static_argnums=(3,))
def _realize_linear_jit(layers, lo, hi, act):
    return _linear_pre(layers, act, lo, hi, rounding_model(lo.dtype))[0][-1]


def _linear_jacobian_rows(layers, act, lo, hi, fp, norm_row, alpha_steps=0):
    """D^N enclosure by the linear relaxation of the backward pass (intersected with the
    interval products), and per output an upper bound of sum_i |J_oi| (inf unless norm_row);
    with ``alpha_steps`` the relaxation slopes optimized (not yet met with the linear one)."""
    pre, pre_int = _linear_pre(layers, act, lo, hi, fp, alpha_steps, alpha_output=False)
    J0 = _linear_jacobian(layers, act, pre, pre_int, fp, lo.shape[:-1])
    return linear_jacobian(layers, act, lo, hi, pre, J0, fp, norm_row=norm_row,
                           alpha_steps=alpha_steps)


@_KERNELS.add
@functools.partial(jax.jit, static_argnums=(3,))
def _linear_rows_jit(layers, lo, hi, act):
    """The kernel of derivative_bounds and lipschitz_bound (method="linear"): the D^N
    enclosure and the norm rows (one compilation serves both functions and every norm)."""
    return _linear_jacobian_rows(layers, act, lo, hi, rounding_model(lo.dtype), True)


@_KERNELS.add
@functools.partial(jax.jit, static_argnums=(3,))
def _alpha_rows_jit(layers, lo, hi, act):
    """The kernel of method="alpha" (before the meet with the linear one)."""
    return _linear_jacobian_rows(layers, act, lo, hi, rounding_model(lo.dtype), True,
                                 ALPHA_STEPS)


@_KERNELS.add
@jax.jit
def _meet_rows_jit(a, b):
    """Entrywise intersection of two (J_lo, J_hi, norm rows) results."""
    return jnp.maximum(a[0], b[0]), jnp.minimum(a[1], b[1]), jnp.minimum(a[2], b[2])


def _rows(layers, lo, hi, act, method):
    """(J_lo, J_hi, norm rows) of method "linear", or of "alpha" met with "linear" (the
    linear kernel is the one compiled for method="linear"), so alpha is never looser."""
    rows = _linear_rows_jit(layers, lo, hi, act)
    if method == "alpha" and has_choice(act):
        rows = _meet_rows_jit(rows, _alpha_rows_jit(layers, lo, hi, act))
    return rows


def _derivative_linear_jit(layers, lo, hi, act, method="linear"):
    Jl, Jh, _ = _rows(layers, lo, hi, act, method)
    return Jl, Jh


@_KERNELS.add
@functools.partial(jax.jit, static_argnums=(3,))
def _realize_alpha_jit(layers, lo, hi, act):
    fp = rounding_model(lo.dtype)
    return _linear_pre(layers, act, lo, hi, fp, ALPHA_STEPS)[0][-1]


@_KERNELS.add
@functools.partial(jax.jit, static_argnums=(4, 5))
def _lipschitz_from_rows_jit(layers, Jl, Jh, rows, act, p):
    """min(||max(|J_lo|, |J_hi|)||_p, the norm rows (p = inf), the global bound)."""
    fp = rounding_model(Jl.dtype)
    norms = opnorm_up(jnp.maximum(jnp.abs(Jl), jnp.abs(Jh)), p, fp)
    if p == "inf":  # max_o sum_i |J_oi| <= max_o rows_o
        norms = jnp.minimum(norms, jnp.max(rows, axis=-1))
    return jnp.minimum(norms, _global_lipschitz_jit(layers, act, p))


def _bisect(lo, hi, splits: int):
    """Cut each box ``splits`` times at the midpoint of its longest edge.

    Returns (..., 2**splits, N_0) subboxes whose union is the box (the two halves share the
    computed midpoint, so they cover it exactly).
    """
    lo, hi = lo[..., None, :], hi[..., None, :]
    for _ in range(splits):
        j = jnp.argmax(hi - lo, axis=-1)
        onehot = jax.nn.one_hot(j, lo.shape[-1], dtype=bool)
        mid = jnp.where(onehot, 0.5 * lo + 0.5 * hi, 0.0)
        lo = jnp.concatenate([lo, jnp.where(onehot, mid, lo)], axis=-2)
        hi = jnp.concatenate([jnp.where(onehot, mid, hi), hi], axis=-2)
    return lo, hi


@_KERNELS.add
@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6))
def _box_lipschitz_split_jit(layers, lo, hi, act, p, splits, method):
    fp = rounding_model(lo.dtype)
    slo, shi = _bisect(lo, hi, splits)
    # the largest bound over a cover of the box bounds ||D^N|| on all of it
    if method == "interval":
        # the box itself is a cover too (so splitting is never looser, rounding included)
        alo = jnp.concatenate([lo[..., None, :], slo], axis=-2)
        ahi = jnp.concatenate([hi[..., None, :], shi], axis=-2)
        Jl, Jh = _derivative_bounds_jit(layers, alo, ahi, act)
        norms = opnorm_up(jnp.maximum(jnp.abs(Jl), jnp.abs(Jh)), p, fp)
        best = jnp.minimum(norms[..., 0], jnp.max(norms[..., 1:], axis=-1))
        # the unsplit bound exactly as computed without splits (batch shapes change the
        # summation order of the batched products, hence the last bit)
        best = jnp.minimum(best, _box_lipschitz_split_jit(layers, lo, hi, act, p, 0, method))
        return jnp.minimum(best, _global_lipschitz_jit(layers, act, p))
    # linear: the caller takes the minimum with the unsplit bound
    Jl, Jh, rows = _linear_jacobian_rows(layers, act, slo, shi, fp, p == "inf")
    if method == "alpha" and has_choice(act):  # each subbox: never looser than linear
        Al, Ah, arows = _linear_jacobian_rows(layers, act, slo, shi, fp, p == "inf", ALPHA_STEPS)
        Jl, Jh, rows = jnp.maximum(Jl, Al), jnp.minimum(Jh, Ah), jnp.minimum(rows, arows)
    norms = opnorm_up(jnp.maximum(jnp.abs(Jl), jnp.abs(Jh)), p, fp)
    if p == "inf":  # max_o sum_i |J_oi| <= max_o rows_o
        norms = jnp.minimum(norms, jnp.max(rows, axis=-1))
    return jnp.minimum(jnp.max(norms, axis=-1), _global_lipschitz_jit(layers, act, p))


# -- certified sup error by branch and bound ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CertifiedBound:
    r"""Result of :func:`certified_sup_error`: guaranteed bounds of a sup error on a box.

    .. math::
        \texttt{lower}\le\sup_{x\in B}\|f(x)-R\Phi(x)\|_\infty\le\texttt{upper}.

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

    Example:
        >>> net = jrelu.Network([(jnp.ones((1, 1)), jnp.zeros(1)),
        ...                      (jnp.ones((1, 1)), jnp.zeros(1))])  # relu(x)
        >>> res = jrelu.certified_sup_error(net, lambda x: x[0], (jnp.zeros(1), jnp.ones(1)),
        ...                                 target_lipschitz=1.0)
        >>> res.converged, sorted(res.to_dict())[:3]
        (True, ['argmax', 'boxes', 'converged'])
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
        """The fields as a JSON-ready dictionary (``argmax`` as a list of floats).

        Returns:
          a dict with one entry per field.

        Example:
            >>> import json
            >>> res = jrelu.CertifiedBound(
            ...     upper=0.25, lower=0.25, argmax=np.array([0.5]), gap=0.0, tol=1e-3,
            ...     converged=True, boxes=3, iterations=1, open_boxes=0, rounding_slack=0.0,
            ...     unit_roundoff=2.0**-53, dtype="float64", seconds=0.1)
            >>> res.to_dict()["argmax"], json.dumps(res.to_dict())[:14]
            ([0.5], '{"upper": 0.25')
        """
        d = dataclasses.asdict(self)
        d["argmax"] = [float(v) for v in np.asarray(self.argmax)]
        return d


class _Static:
    """A user callable as a static ``jax.jit`` argument, hashed and compared by identity.

    The jit cache holds the wrapper (hence the callable) alive, so an identity key is never
    reused for another function while its compiled code is cached.
    """

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def __hash__(self):
        return id(self.fn)

    def __eq__(self, other):
        return isinstance(other, _Static) and other.fn is self.fn


@dataclasses.dataclass(frozen=True)
class _Problem:
    """Validated inputs of :func:`certified_sup_error`, in the network dtype."""

    fp: Fp
    d: int
    nl: int
    lo0: jax.Array                  # the user's box rounded outward (covers it)
    hi0: jax.Array
    lo_in: jax.Array                # the user's box rounded inward: sampled points lie in it
    hi_in: jax.Array
    center0: jax.Array
    lip_scalar: np.ndarray | None   # rounded upward into the dtype
    lip_mat: jax.Array | None       # (N_L, N_0), rounded upward
    target_error: np.ndarray        # rounded upward
    tol: float
    max_boxes: int
    batch_size: int
    n_rand: int
    key: jax.Array
    target: _Static
    grad_bounds: _Static | None
    method: str = "linear"


def _corner_mask(d: int) -> np.ndarray:
    return np.array(list(itertools.product((False, True), repeat=d)), bool).reshape(-1, d)


def _as_interval(v, fp: Fp):
    """Values in the network dtype; if a cast from a wider dtype rounded, widen outward."""
    v = jnp.asarray(v)
    if v.dtype == fp.dtype:
        return v, v
    c = v.astype(fp.dtype)
    return round_down(c, fp), round_up(c, fp)


def _inner_box(box, fp: Fp):
    """The user's (validated, concrete) box rounded inward to the network dtype.

    Every point of the inner box lies in the box the user gave, so the lower bound and the
    argmax are taken there. Subnormal ends move inward to zero or to the smallest normal
    number, since compiled code on CPU flushes subnormal numbers to zero. ValueError if a
    coordinate holds no such number of the dtype.
    """
    lo, hi = (np.asarray(b) for b in box)
    lo_in = outward_cast(lo, fp.dtype, down=False)
    hi_in = outward_cast(hi, fp.dtype, down=True)
    empty = np.argwhere(lo_in > hi_in)
    if empty.size:
        j = int(empty[0][0])
        raise ValueError(
            f"box holds no {fp.dtype.name} number in coordinate {j}: [{lo[j]!r}, {hi[j]!r}] "
            f"lies strictly between the {fp.dtype.name} numbers {hi_in[j]!r} and "
            f"{lo_in[j]!r}, so the network cannot be evaluated at a point of the box; widen "
            f"the box or use a float64 network")
    tiny = np.finfo(fp.dtype).tiny
    sub_lo, sub_hi = (lo_in != 0) & (np.abs(lo_in) < tiny), (hi_in != 0) & (np.abs(hi_in) < tiny)
    lo_in = np.where(sub_lo, np.where(lo_in > 0, tiny, 0), lo_in).astype(fp.dtype)
    hi_in = np.where(sub_hi, np.where(hi_in > 0, 0, -tiny), hi_in).astype(fp.dtype)
    empty = np.argwhere(lo_in > hi_in)
    if empty.size:
        j = int(empty[0][0])
        raise ValueError(
            f"box holds no {fp.dtype.name} number in coordinate {j} other than subnormal "
            f"ones: [{lo[j]!r}, {hi[j]!r}], and compiled code flushes subnormal numbers to "
            f"zero, so the network cannot be evaluated at a point of the box; rescale the "
            f"input or use a float64 network")
    return jnp.asarray(lo_in), jnp.asarray(hi_in)


def _validate_certified(net, target, box, *, target_lipschitz, target_grad_bounds,
                        target_error, tol, max_boxes, key, samples_per_box, batch_size,
                        activation, method="linear") -> _Problem:
    """Check every argument of :func:`certified_sup_error` and the target at the root box."""
    fp = rounding_model(_checks.network("net", net).dtype)
    interval_activation(activation)
    method = _check_method(method, ("linear", "interval"))
    d, nl = net.input_dim, net.output_dim
    if d > _MAX_CERTIFIED_DIM:
        raise ValueError(f"certified_sup_error branches over boxes in low dimension only: "
                         f"N_0 = {d} > {_MAX_CERTIFIED_DIM}; use jrelu.error_sweep for "
                         f"sampled errors in high dimension")
    lo0, hi0 = _check_box(net, box, fp, batch=False)
    lo_in, hi_in = _inner_box(box, fp)
    tol = _checks.positive("tol", tol)
    max_boxes = _checks.positive_int("max_boxes", max_boxes)
    batch_size = _checks.positive_int("batch_size", batch_size)
    samples_per_box = _checks.integer("samples_per_box", samples_per_box, min=0)
    target_error = _checks.nonnegative("target_error", target_error)
    _checks.callable_("target", target)
    if target_lipschitz is None and target_grad_bounds is None:
        raise ValueError("certified_sup_error needs target_lipschitz (a Lipschitz bound of "
                         "the target on the box) or target_grad_bounds (a gradient enclosure)")
    lip_scalar, lip_mat = None, None
    if target_lipschitz is not None:
        if isinstance(target_lipschitz, (bool, str, bytes, dict)) \
                or callable(target_lipschitz):
            raise TypeError(f"target_lipschitz must be a number or an array, got "
                            f"{type(target_lipschitz).__name__}: {target_lipschitz!r:.80}")
        try:
            L = np.asarray(target_lipschitz, np.float64)
        except (TypeError, ValueError) as e:
            raise TypeError(f"target_lipschitz must be a number or an array of numbers, got "
                            f"{type(target_lipschitz).__name__} ({e})") from None
        if L.ndim == 0:
            lip_scalar = float(L)
        elif L.shape in ((d,), (nl, d)):
            lip_mat = np.broadcast_to(L, (nl, d))
        else:
            raise ValueError(f"target_lipschitz must be a scalar or have shape ({d},) or "
                             f"({nl}, {d}), got shape {L.shape}")
        if not (np.all(np.isfinite(L)) and np.all(L >= 0)):
            raise ValueError(f"target_lipschitz must be finite and >= 0, got {L}")
    if target_grad_bounds is not None:
        _checks.callable_("target_grad_bounds", target_grad_bounds)
    n_rand = samples_per_box if key is not None else 0
    if key is not None:
        key = _checks.prng_key("key", jnp.asarray(key) if isinstance(key, np.ndarray)
                               else key)

    # Eager checks of the target (and gradient enclosure) at the root box, before any work.
    center0 = jnp.clip(0.5 * lo0 + 0.5 * hi0, lo_in, hi_in)
    f0 = jnp.asarray(target(center0))
    if f0.shape not in ((nl,),) + (((),) if nl == 1 else ()):
        want = "() or (1,)" if nl == 1 else f"({nl},)"
        raise ValueError(f"target output must have shape {want} to match the network output "
                         f"N_L = {nl}, got shape {f0.shape}")
    if not jnp.issubdtype(f0.dtype, jnp.floating):
        raise TypeError(f"target must return floating values, got dtype {f0.dtype}")
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

    # user constants enter the computation rounded upward in the working dtype
    return _Problem(
        fp=fp, d=d, nl=nl, lo0=lo0, hi0=hi0, lo_in=lo_in, hi_in=hi_in, center0=center0,
        lip_scalar=None if lip_scalar is None
        else outward_cast(np.float64(lip_scalar), fp.dtype, False),
        lip_mat=None if lip_mat is None else jnp.asarray(outward_cast(lip_mat, fp.dtype, False)),
        target_error=outward_cast(np.float64(target_error), fp.dtype, False),
        tol=tol, max_boxes=max_boxes, batch_size=batch_size, n_rand=n_rand,
        key=key if n_rand else jax.random.key(0), target=_Static(target),
        grad_bounds=None if target_grad_bounds is None else _Static(target_grad_bounds),
        method=method)


class _BoxEval(NamedTuple):
    """Bounds of a batch of B boxes (see :func:`_evaluate_boxes`)."""

    upper: jax.Array    # (B,) guaranteed upper bound of the sup error on each box
    lower: jax.Array    # (B,) guaranteed lower bound (best sampled point)
    argmax: jax.Array   # (B, N_0) that point
    split: jax.Array    # (B,) coordinate to bisect
    slack: jax.Array    # (B,) largest point-enclosure radius (rounding slack)
    finite: jax.Array   # (B,) whether the target was finite at every sampled point
    points: jax.Array   # (B, P, N_0) the sampled points


@_KERNELS.add
@functools.partial(jax.jit, static_argnames=("activation", "target", "grad_bounds", "n_rand",
                                             "method"))
def _evaluate_boxes(layers, blo, bhi, ilo, ihi, key, lip_scalar, lip_mat, target_error, *,
                    activation, target, grad_bounds, n_rand, method="interval") -> _BoxEval:
    r"""Upper and lower bounds of :math:`\sup\|f-R\Phi\|_\infty` on each box of a batch.

    Compiled once per network shapes and dtype, batch size, activation, target and
    gradient-enclosure objects, number of random points and the presence of the Lipschitz
    data; the weights and the constants are arguments. ``ilo, ihi`` (N_0,) is the user's box
    rounded inward: every sampled point (center, corners, random points) is clipped to
    ``[max(blo, ilo), min(bhi, ihi)]``, which is never empty for a subbox of the outward box,
    so the lower bound, the argmax and the center of the upper bound lie in the user's box.
    """
    fp = rounding_model(blo.dtype)
    B, d = blo.shape
    nl = layers[-1][0].shape[0]
    corners = jnp.asarray(_corner_mask(d))
    slo, shi = jnp.maximum(blo, ilo), jnp.minimum(bhi, ihi)          # in the user's box
    p = jnp.clip(0.5 * blo + 0.5 * bhi, slo, shi)
    r = round_up(jnp.maximum(bhi - p, p - blo), fp)                       # (B, d)
    pts = [p[:, None, :], jnp.where(corners[None], shi[:, None, :], slo[:, None, :])]
    if n_rand:
        uu = _random.uniform(key, (B, n_rand, d), fp.dtype)
        pts.append(jnp.clip(blo[:, None, :] + uu * (bhi - blo)[:, None, :],
                            slo[:, None, :], shi[:, None, :]))
    q = jnp.concatenate(pts, axis=1)                                   # (B, P, d)
    # one interval pass: the P points (radius 0) and, last, the box itself
    pre = interval_forward(layers, activation, jnp.concatenate([q, blo[:, None]], axis=1),
                   jnp.concatenate([q, bhi[:, None]], axis=1), fp)
    yl, yu = pre[-1][0][:, :-1], pre[-1][1][:, :-1]                    # (B, P, nl)
    pre = [(zl[:, -1], zu[:, -1]) for zl, zu in pre]
    fv = jax.vmap(target.fn)(q.reshape(-1, d))
    fl, fh = _as_interval(fv.reshape(q.shape[:2] + (nl,)), fp)
    finite = jnp.all(jnp.isfinite(fv).reshape(B, -1), axis=1)
    # rigorous lower bound at each sampled point
    low = jnp.maximum(jnp.maximum(round_down(yl - fh, fp), round_down(fl - yu, fp)), 0.0)
    low = jnp.maximum(round_down(jnp.max(low, axis=-1) - target_error, fp), 0.0)   # (B, P)
    best = jnp.argmax(low, axis=1)
    low_best = jnp.take_along_axis(low, best[:, None], axis=1)[:, 0]
    arg_best = jnp.take_along_axis(q, best[:, None, None], axis=1)[:, 0]
    # upper bound: center term + slope term
    cen = jnp.maximum(round_up(fh[:, 0] - yl[:, 0], fp),
                      round_up(yu[:, 0] - fl[:, 0], fp))  # (B, nl)
    slack = jnp.max(0.5 * (yu - yl), axis=(1, 2))
    if method == "interval":
        Jl, Jh = interval_jacobian(layers, activation, pre, fp, (B,))         # (B, nl, d)
    else:
        lin = linear_forward(layers, activation, blo, bhi, pre, fp)
        Jl, Jh = _linear_jacobian(layers, activation, lin, pre, fp, (B,))
    M = jnp.maximum(jnp.abs(Jl), jnp.abs(Jh))
    rr = r[:, None, :]
    slopes, weights = [], []
    if lip_scalar is not None:
        s = (sum_up(round_up(M * rr, fp), fp)
             + round_up(lip_scalar * jnp.max(r, axis=-1), fp)[:, None])
        slopes.append(round_up(s, fp))
        weights.append(M + lip_scalar)
    if lip_mat is not None:
        W = round_up(M + lip_mat, fp)
        slopes.append(sum_up(round_up(W * rr, fp), fp))
        weights.append(W)
    if grad_bounds is not None:
        gl, gh = jax.vmap(grad_bounds.fn)(blo, bhi)
        gl, _ = _as_interval(jnp.reshape(gl, (B, nl, d)), fp)
        _, gh = _as_interval(jnp.reshape(gh, (B, nl, d)), fp)
        W = jnp.maximum(jnp.abs(round_down(gl - Jh, fp)), jnp.abs(round_up(gh - Jl, fp)))
        slopes.append(sum_up(round_up(W * rr, fp), fp))
        weights.append(W)
    upper = None
    for s, W in zip(slopes, weights):
        u_i = jnp.max(round_up(cen + target_error + s, fp, 2), axis=-1)    # (B,)
        if upper is None:
            upper, Wbest = u_i, W
        else:
            Wbest = jnp.where((u_i < upper)[:, None, None], W, Wbest)
            upper = jnp.minimum(upper, u_i)
    upper = jnp.where(jnp.isnan(upper), jnp.inf, upper)
    wmax = jnp.max(Wbest, axis=1)                                       # (B, d)
    score = r * (wmax + 1e-6 * (jnp.max(wmax, axis=-1, keepdims=True) + 1.0))
    split = jnp.argmax(jnp.where(jnp.isnan(score), jnp.inf, score), axis=-1)
    return _BoxEval(upper, low_best, arg_best, split, slack, finite, q)


class _BranchAndBound:
    """The host-side search: a priority queue of open boxes, split in batches."""

    def __init__(self, problem: _Problem, layers, activation):
        self.p, self.layers, self.activation = problem, layers, activation
        self.lower, self.arg = -np.inf, np.asarray(problem.center0)
        self.slack, self.boxes, self.iterations = 0.0, 0, 0
        self.heap: list = []
        self.stuck_upper = -np.inf
        self.counter = itertools.count()

    def evaluate(self, blos, bhis, key):
        """Bounds of the boxes ``blos, bhis``, padded to the compiled batch of 2·batch_size."""
        p, n, width = self.p, len(blos), 2 * self.p.batch_size
        blo, bhi = np.stack(blos), np.stack(bhis)
        if n < width:  # pad to the compiled batch size with copies of the first box
            blo = np.concatenate([blo, np.repeat(blo[:1], width - n, axis=0)])
            bhi = np.concatenate([bhi, np.repeat(bhi[:1], width - n, axis=0)])
        out = _evaluate_boxes(self.layers, jnp.asarray(blo, p.fp.dtype),
                              jnp.asarray(bhi, p.fp.dtype), p.lo_in, p.hi_in, key,
                              p.lip_scalar, p.lip_mat, p.target_error,
                              activation=self.activation, target=p.target,
                              grad_bounds=p.grad_bounds, n_rand=p.n_rand, method=p.method)
        out = _BoxEval(*(np.asarray(o) for o in out))
        if not out.finite[:n].all():
            i = int(np.argmin(out.finite[:n]))
            fq = np.asarray(jax.vmap(p.target.fn)(jnp.asarray(out.points[i])))
            j = int(np.argmax(~np.isfinite(fq.reshape(len(out.points[i]), -1)).any(axis=1)))
            raise ValueError(f"target returned a non-finite value {fq[j]} at "
                             f"x = {out.points[i][j]}")
        self.boxes += n
        self.slack = max(self.slack, float(out.slack[:n].max()))
        # a sampled point counts only if it lies in the user's box (checked here in IEEE
        # arithmetic: compiled code may flush a subnormal point to zero, outside the box)
        inside = np.all((out.argmax[:n] >= np.asarray(p.lo_in))
                        & (out.argmax[:n] <= np.asarray(p.hi_in)), axis=-1)
        i = int(np.argmax(np.where(inside, out.lower[:n], -np.inf)))
        if inside[i] and out.lower[i] > self.lower:
            self.lower, self.arg = float(out.lower[i]), out.argmax[i]
        for k in range(n):
            if not out.upper[k] <= self.lower:  # else it cannot beat the error found
                heapq.heappush(self.heap, (-float(out.upper[k]), next(self.counter), blo[k],
                                           bhi[k], int(out.split[k])))

    def upper(self) -> float:
        top = -self.heap[0][0] if self.heap else -np.inf
        return max(top, self.stuck_upper, self.lower)

    def split(self):
        """Pop up to ``batch_size`` boxes with the largest upper bounds and bisect each."""
        p = self.p
        room = (p.max_boxes - self.boxes) // 2
        take_lo, take_hi = [], []
        while self.heap and len(take_lo) < min(p.batch_size, room):
            negu, _, blo, bhi, j = self.heap[0]
            if -negu - self.lower <= p.tol:
                break
            heapq.heappop(self.heap)
            if -negu <= self.lower:
                continue
            dims = [j] + [int(k) for k in np.argsort(-(bhi - blo)) if k != j]
            for k in dims:
                m = p.fp.dtype.type(0.5) * blo[k] + p.fp.dtype.type(0.5) * bhi[k]
                if blo[k] < m < bhi[k]:
                    h1, l2 = bhi.copy(), blo.copy()
                    h1[k], l2[k] = m, m
                    take_lo += [blo, l2]
                    take_hi += [h1, bhi]
                    break
            else:  # no coordinate can be bisected in this dtype: the box stays as it is
                self.stuck_upper = max(self.stuck_upper, -negu)
        return take_lo, take_hi

    def run(self):
        """Evaluate the root box, then split and evaluate until the gap or the budget."""
        p = self.p
        step_key = p.key
        self.evaluate([np.asarray(p.lo0)], [np.asarray(p.hi0)], step_key)
        while not (self.upper() - self.lower <= p.tol or self.boxes >= p.max_boxes):
            take_lo, take_hi = self.split()
            if not take_lo:
                break
            self.iterations += 1
            if p.n_rand:
                step_key, sub = jax.random.split(step_key)
            else:
                sub = step_key
            self.evaluate(take_lo, take_hi, sub)


def _certified_result(search: _BranchAndBound, t0: float) -> CertifiedBound:
    upper, lower, fp = search.upper(), search.lower, search.p.fp
    return CertifiedBound(
        upper=float(upper), lower=float(lower), argmax=np.asarray(search.arg),
        gap=float(upper - lower), tol=search.p.tol, converged=bool(upper - lower <= search.p.tol),
        boxes=int(search.boxes), iterations=search.iterations, open_boxes=len(search.heap),
        rounding_slack=float(search.slack), unit_roundoff=fp.u, dtype=fp.dtype.name,
        seconds=time.perf_counter() - t0)


def certified_sup_error(net: Network, target: Callable[[jax.Array], ArrayLike],
                        box: tuple[ArrayLike, ArrayLike], *,
                        target_lipschitz: ArrayLike | None = None,
                        target_grad_bounds: Callable | None = None,
                        target_error: float = 0.0, tol: float = 1e-3,
                        max_boxes: int = 100_000, key: jax.Array | None = None,
                        samples_per_box: int = 4, batch_size: int = 64,
                        activation: Activation = relu,
                        method: str = "linear") -> CertifiedBound:
    r"""Certified :math:`\sup_{x\in B}\|f(x)-R\Phi(x)\|_\infty` on a box B, :math:`N_0\le8`.

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
    given), also rigorous (the point enclosure of :math:`R\Phi(q)` is used). The sampled
    points are numbers of the network dtype *inside the box you gave*: the search covers
    the box rounded outward to the dtype (needed for the upper bound), but each sampled
    point is clipped to the box rounded inward, so ``argmax`` lies in ``[lo, hi]`` even when
    ``lo``, ``hi`` are not numbers of the dtype (a float32 network with float64 box ends).
    The box with the largest U is split in two at the midpoint of the coordinate with the
    largest contribution :math:`W_{ij}r_j` (the longest edge when the weights are equal);
    ``batch_size`` boxes are split per step in one compiled, vectorized evaluation, and a
    priority queue in Python holds the open boxes. Boxes with U below the best lower
    bound are discarded. The search stops when ``upper - lower <= tol`` or after
    ``max_boxes`` box evaluations.

    **Dimension.** The boxes needed for a given gap grow exponentially with :math:`N_0`,
    and each box evaluates its :math:`2^{N_0}` corners, so the input dimension is limited
    to 8. Within the budget the result is valid at any dimension, only wider. For example,
    the sum-of-squares network with m = 1 against :math:`\|x\|^2` on
    :math:`[0,1]^{N_0}` (``target_grad_bounds``, ``batch_size=256``, 2 CPU cores):
    :math:`N_0=6`, 240,000 boxes in 32 s, ``lower`` 0.375 (the true error), ``upper``
    0.641; :math:`N_0=8`, 60,000 boxes in 38 s, ``lower`` 0.5 (the true error), ``upper``
    2.16. For sampled errors in high dimension use :func:`jrelu.error_sweep`.

    **What is guaranteed.** ``lower <= sup_{x∈B} |f(x) − RΦ(x)| <= upper``, where RΦ is
    the exact real realization with the stored weights and the mathematical activation,
    and f is any function that (i) takes the value ``target(q)`` returned in floating
    point, up to ``target_error``, at every evaluated point q, and (ii) satisfies the
    Lipschitz or gradient bound you passed on B. The accuracy of your ``target`` code and
    of your Lipschitz/gradient bounds is your responsibility: pass ``target_error`` for
    the rounding error of evaluating f (for example u·max|f| for a correctly rounded
    formula). Network rounding is fully accounted for (module docstring);
    ``rounding_slack`` reports its size at the network output. ``argmax`` is a point of the
    network dtype with ``lo <= argmax <= hi`` (exactly, as real numbers).

    **Compilation.** The batched box evaluation is compiled once per network shapes and
    dtype, ``activation``, ``batch_size``, number of random points, kind of Lipschitz
    data, and ``target`` / ``target_grad_bounds`` *objects* (cached by identity, since
    they are traced into the compiled code). The weights and the constants are
    arguments: a second call with another network of the same shapes reuses the
    compiled code if it passes the same target function object (define it once, not as a
    new ``lambda`` per call).

    Args:
      net: the network, N_0 <= 8, float32 or float64.
      target: f, maps one point ``(N_0,)`` to a scalar or ``(N_L,)``; jnp-traceable (it is
        vmapped and jitted).
      box: ``(lo, hi)``, each ``(N_0,)``, finite, ``lo <= hi``.
      target_lipschitz: scalar, ``(N_0,)`` or ``(N_L, N_0)``, finite and >= 0, see above
        (or None with ``target_grad_bounds``).
      target_grad_bounds: callable ``(lo, hi) -> (g_lo, g_hi)``, see above.
      target_error: bound on the evaluation error of ``target``, >= 0.
      tol: requested gap ``upper - lower``, > 0.
      max_boxes: budget of box evaluations, >= 1.
      key: optional PRNG key for random sample points (lower bound only).
      samples_per_box: random points per box when ``key`` is given, >= 0.
      batch_size: boxes split per step, >= 1.
      activation: a :class:`jrelu.Activation` with interval data, as in
        :func:`realize_bounds`.
      method: how :math:`[J]` is computed on each subbox: ``"linear"`` (default, fewer
        boxes) or ``"interval"`` (cheaper per box), as in :func:`derivative_bounds`.

    Returns:
      :class:`CertifiedBound`.

    Raises:
      TypeError: ``net`` not a Network, ``activation`` not an Activation, ``target`` or
        ``target_grad_bounds`` not callable, ``key`` not a PRNG key, a non-integer
        ``max_boxes``/``batch_size``/``samples_per_box``, a target returning non-floating
        values.
      ValueError: bad box (shape, non-finite, lo > hi), N_0 > 8, tol <= 0, max_boxes < 1,
        missing or negative Lipschitz data, a target whose output shape is not
        ``()``/``(N_L,)`` or which returns a non-finite value (with the point), an
        activation without interval data, a box that holds no number of the network dtype
        in some coordinate (for example a float32 network and a box narrower than one
        float32 spacing between two float32 numbers).

    Example:
        >>> net = jrelu.Network([(jnp.ones((1, 1)), jnp.zeros(1)),
        ...                      (jnp.ones((1, 1)), jnp.zeros(1))])  # relu(x)
        >>> res = jrelu.certified_sup_error(
        ...     net, lambda x: x[0] ** 2, (jnp.zeros(1), jnp.ones(1)),
        ...     target_grad_bounds=lambda lo, hi: (2 * lo, 2 * hi), tol=1e-4)
        >>> res.converged, f"{res.lower:.4f}", f"{res.upper:.4f}"  # max |x^2 - x| = 1/4
        (True, '0.2500', '0.2500')

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_ (:math:`D^N`); F. H. Clarke,
      *Optimization and Nonsmooth Analysis* (1983) (mean-value inclusion); N. J. Higham,
      *Accuracy and Stability of Numerical Algorithms* (2002) (rounding).
    """
    t0 = time.perf_counter()
    problem = _validate_certified(
        net, target, box, target_lipschitz=target_lipschitz,
        target_grad_bounds=target_grad_bounds, target_error=target_error, tol=tol,
        max_boxes=max_boxes, key=key, samples_per_box=samples_per_box, batch_size=batch_size,
        activation=activation, method=method)
    search = _BranchAndBound(problem, layer_arrays(net, problem.fp), activation)
    search.run()
    return _certified_result(search, t0)
