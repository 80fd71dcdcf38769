r"""Constructive approximation networks and the local-to-global theorem (MATH.md §4, [BEGJ]).

Every builder returns a plain :class:`jrelu.Network` (it works with :func:`jrelu.realize`,
:func:`jrelu.derivative`, :func:`jrelu.compose`, …) and its docstring states the exact
realized function, the error bounds and the sizes. Notation: :math:`\varrho` is ReLU,
:math:`h=2^{-m}`, sizes are those of :mod:`jrelu.network` (depth L, width
:math:`\max_k N_k`, parameters :math:`\sum_k N_k(N_{k-1}+1)`, connectivity = nonzero
weights and biases).

**Derivative bounds and kinks.** Derivative bounds of piecewise-linear approximants hold
on the interior of every linear piece, i.e. for almost every x. At a kink the network
derivative :math:`D^N` is not always a one-sided derivative: for the squaring network
with :math:`D\varrho(0)=0`, :math:`D^N` at x = 1 (m = 3) is 1.5 while the adjacent
slopes are 1.875 and 1. The a.e. bounds are exactly what the chain-rule arguments below
need (see :func:`global_network`).

**Floating point.** Bounds are statements about exact arithmetic. Weights built from
dyadic parameters (b, B powers of two, …) are exact in binary floating point, and the
identities :math:`M(0,t)=0`, :math:`\partial_tD^NM(0,t)=0` hold *bitwise* in floating
point (the two branches of M are interleaved identical computations).

References: [BEGJ] Berner, Elbrächter, Grohs, Jentzen, arXiv:1905.04992; Yarotsky,
arXiv:1610.01145 (squaring); Telgarsky, arXiv:1602.04485 (sawtooth); Elbrächter,
Grohs, Jentzen, Schwab, arXiv:1809.07669 (cut-off, products).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .network import (
    Network,
    compose,
    connectivity,
    depth,
    identity,
    linear_combination,
    num_params,
    parallel,
    parallel_full,
    sparse_compose,
    width,
)

__all__ = [
    "tooth_network",
    "sawtooth_network",
    "square_network",
    "abs_network",
    "multiplication_network",
    "multiplication_m",
    "cutoff_network",
    "max_network",
    "min_network",
    "maxmin_network",
    "squared_norm_network",
    "ErrorBound",
    "product_network",
    "monomial_network",
    "polynomial_network",
    "LocalApproximant",
    "squared_norm_local",
    "coordinate_product_local",
    "maxmin_local",
    "network_local",
    "GlobalRecord",
    "GlobalBound",
    "global_network",
    "global_bound",
]


# -- validation helpers ---------------------------------------------------------------


def _dtype(dtype):
    return jnp.result_type(float) if dtype is None else jnp.dtype(dtype)


def _net(layers, dtype) -> Network:
    dtype = _dtype(dtype)
    return Network([(jnp.asarray(np.asarray(A, np.float64), dtype),
                     jnp.asarray(np.asarray(b, np.float64), dtype)) for A, b in layers])


def _int_at_least(name: str, v, lo: int) -> int:
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def _positive(name: str, v) -> float:
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive real number, got {v!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be positive and finite, got {v!r}")
    return v


def _nonnegative(name: str, v) -> float:
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number >= 0, got {v!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be finite and >= 0, got {v!r}")
    return v


def _traced(fn, *nets):
    """Run a network-calculus construction as one jit-compiled program.

    The core calculus dispatches one eager op per matrix product or block; each new shape
    costs a compilation. Tracing the whole construction compiles it once. ``fn`` takes the
    given networks (pytrees) and closes over static Python parameters only.
    """
    return jax.jit(fn)(*nets)


def _pow2_above(x: float) -> float:
    """The smallest power of two strictly greater than ``x`` (x > 0)."""
    k = math.floor(math.log2(x))
    while 2.0**k <= x:
        k += 1
    while k > -1074 and 2.0 ** (k - 1) > x:
        k -= 1
    return 2.0**k


# -- tooth, sawtooth, squaring ----------------------------------------------------------

_TOOTH_OUT = np.array([2.0, -4.0, 2.0])
_TOOTH_BIAS = np.array([0.0, -0.5, -1.0])


def tooth_network(dtype=None) -> Network:
    r"""The tooth :math:`g(x)=2\varrho(x)-4\varrho(x-\tfrac12)+2\varrho(x-1)`.

    Realizes, for every :math:`x\in\mathbb R`: :math:`g(x)=2x` on :math:`[0,\frac12]`,
    :math:`2-2x` on :math:`[\frac12,1]`, and 0 outside [0, 1].

    Layers :math:`(((1,1,1)^T,(0,-\frac12,-1)),((2,-4,2),0))`: depth 2, widths
    (1, 3, 1), width 3, 10 parameters, connectivity 8.
    """
    return _net([(np.ones((3, 1)), _TOOTH_BIAS), (_TOOTH_OUT[None], np.zeros(1))], dtype)


def sawtooth_network(s: int, dtype=None) -> Network:
    r"""The sawtooth :math:`g_s=g\circ\dots\circ g` (s times, Telgarsky).

    Realizes :math:`g_s`, which is 0 outside [0, 1] and on [0, 1] the piecewise-linear
    function with :math:`2^{s-1}` teeth: :math:`g_s(k2^{-s})=0` for even k,
    :math:`=1` for odd k, linear in between (slopes :math:`\pm2^s`).

    Built by :func:`jrelu.compose` of s teeth: depth s + 1, widths (1, 3, …, 3, 1)
    (s hidden layers of 3), width 3, parameters 12s − 2 (:math:`6+12(s-1)+4`),
    connectivity 11s − 3 (first layer 5, s − 1 merged layers of 9 + 2, output 3).
    """
    s = _int_at_least("s", s, 1)
    def build():
        g = tooth_network(dtype)
        net = g
        for _ in range(s - 1):
            net = compose(g, net)
        return net

    return _traced(build)


def _square_layers(m: int) -> list:
    """Numpy layers of the squaring network S_m (see :func:`square_network`)."""
    g = _TOOTH_OUT
    layers = [(np.ones((3, 1)), _TOOTH_BIAS.copy())]
    for k in range(1, m):
        if k == 1:  # inputs (ϱ(x), ϱ(x-½), ϱ(x-1)); the accumulator f_0 = ϱ(x) is column 0
            acc = np.array([1.0, 0.0, 0.0]) - g / 4.0**k
            teeth = np.vstack([g, g, g])
        else:  # inputs (ϱ(f_{k-1}), teeth of g_{k-1})
            acc = np.concatenate([[1.0], -g / 4.0**k])
            teeth = np.hstack([np.zeros((3, 1)), np.vstack([g, g, g])])
        layers.append((np.vstack([acc, teeth]), np.concatenate([[0.0], _TOOTH_BIAS])))
    if m == 1:
        out = (np.array([1.0, 0.0, 0.0]) - g / 4.0)[None]
    else:
        out = np.concatenate([[1.0], -g / 4.0**m])[None]
    layers.append((out, np.zeros(1)))
    return layers


def square_network(m: int, dtype=None) -> Network:
    r"""Yarotsky's squaring network :math:`S_m`: the interpolant of x² on the grid :math:`2^{-m}`.

    Realizes, for every :math:`x\in\mathbb R`,

    .. math::
        S_m(x)=f_m(\varrho(x)),\qquad f_m(x)=x-\sum_{s=1}^m\frac{g_s(x)}{4^s},

    i.e. 0 for x ≤ 0, the piecewise-linear interpolant of :math:`x^2` on the grid
    :math:`h\mathbb Z\cap[0,1]` (:math:`h=2^{-m}`) on [0, 1], and x for x ≥ 1.

    Bounds on [0, 1]: :math:`0\le S_m(x)-x^2\le h^2/4=2^{-2m-2}`, with equality at the
    midpoints :math:`(j+\frac12)h` (so the sup error is exactly :math:`2^{-2m-2}`); on
    the interior of every grid cell :math:`(jh,(j+1)h)` the derivative is the slope
    :math:`(2j+1)h`, so :math:`|S_m'(x)-2x|\le h=2^{-m}` there (a.e. on [0, 1]).

    Layers: :math:`(\varrho(x),\varrho(x-\frac12),\varrho(x-1))`, then m − 1 layers
    :math:`(\varrho(f_{k}),\varrho(g_k),\varrho(g_k-\frac12),\varrho(g_k-1))`
    (the accumulator :math:`f_k\ge0` for x ≥ 0, so ϱ leaves it unchanged), then the
    output :math:`f_m`. Sizes: depth m + 1; widths (1, 3, 4, …, 4, 1) with m − 1
    fours; width 3 for m = 1 and 4 for m ≥ 2; parameters 10 (m = 1) and 20m − 13
    (m ≥ 2); connectivity 8 (m = 1) and 15m − 7 (m ≥ 2).
    """
    m = _int_at_least("m", m, 1)
    return _net(_square_layers(m), dtype)


def abs_network(d: int, dtype=None) -> Network:
    r"""Componentwise absolute value :math:`x\mapsto(|x_1|,\dots,|x_d|)`, exact.

    :math:`(((I;-I),0),((I,I),0))`, :math:`|t|=\varrho(t)+\varrho(-t)`. Its
    :math:`D^N` at :math:`x_i=0` is :math:`c-c=0` in row i for every kink value c.
    Sizes: depth 2, widths (d, 2d, d), width 2d, parameters :math:`4d^2+3d`,
    connectivity 4d.
    """
    d = _int_at_least("d", d, 1)
    eye = np.eye(d)
    return _net([(np.vstack([eye, -eye]), np.zeros(2 * d)),
                 (np.hstack([eye, eye]), np.zeros(d))], dtype)


# -- multiplication -------------------------------------------------------------------


def multiplication_network(b: float, m: int, dtype=None) -> Network:
    r"""Multiplication on :math:`[-b,b]^2`: :math:`M_{b,m}(x,y)=b^2(S_m(u)-S_m(v))`.

    With :math:`u=|x+y|/(2b)`, :math:`v=|x-y|/(2b)` (so :math:`xy=b^2(u^2-v^2)`) and
    :math:`S_m` of :func:`square_network`. Realizes exactly this for every
    :math:`(x,y)\in\mathbb R^2`.

    Bounds on :math:`[-b,b]^2` (where u, v ∈ [0, 1]):

    * :math:`|M(x,y)-xy|\le b^2 2^{-2m-2}` (both :math:`S_m(u)-u^2` and
      :math:`S_m(v)-v^2` lie in :math:`[0,2^{-2m-2}]`); this is half of the bound
      :math:`b^22^{-2m-1}` in MATH.md;
    * on the interior of every linear piece (a.e.),
      :math:`\|\nabla M(x,y)-(y,x)\|_2\le b2^{-m}`: with :math:`e_u=S_m'(u)-2u`,
      :math:`e_v=S_m'(v)-2v\in[-h,h]`, the error vector is
      :math:`\frac b2(\sigma_ue_u-\sigma_ve_v,\ \sigma_ue_u+\sigma_ve_v)`, of norm
      :math:`b\sqrt{(e_u^2+e_v^2)/2}\le bh`.

    Exact identities for **every** :math:`t\in\mathbb R` (also outside [−b, b]) and
    every kink value :math:`D\varrho(0)`: :math:`M(0,t)=0` and
    :math:`(D^NM(0,t))_{t}=0`. These hold *bitwise* in floating point, for every b,
    also with fused multiply-adds: the u- and v-branches are interleaved copies of the
    same network (neuron order :math:`(\varrho(x+y),\varrho(y-x),\varrho(-x-y),
    \varrho(x-y))`, then u/v pairs), they receive bitwise equal inputs at x = 0, and the
    two places where they are combined, the first layer and the output layer, have
    weights ±1 and the dyadic :math:`\pm4^{-s}`-combinations of :math:`S_m`, so every
    product there is exact. (The scales are inside: layer 2 has weights
    :math:`b^2/(2b)=b/2` and every hidden bias is multiplied by :math:`b^2`, which by
    :math:`\varrho(\lambda z)=\lambda\varrho(z)`, λ > 0, scales the branch outputs by
    :math:`b^2`.)

    Sizes: depth m + 2; widths (2, 4, 6, 8, …, 8, 1) with m − 1 eights; width 6
    (m = 1) or 8 (m ≥ 2); parameters 49 (m = 1) or 72m − 37 (m ≥ 2); connectivity 30m.

    Args:
      b: the box half-width b > 0 (choose a power of two for exact weights).
      m: the squaring depth m ≥ 1.
    """
    b = _positive("b", b)
    m = _int_at_least("m", m, 1)
    sq = _square_layers(m)
    I2 = np.eye(2)
    lam = b * b  # every hidden neuron from layer 2 on is scaled by b² (ϱ(λz) = λϱ(z))
    first = (np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]]), np.zeros(4))
    gather = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]])  # (|x+y|, |x-y|)
    A1, b1 = sq[0]
    layers = [first, (np.kron(A1, I2) @ gather * (lam / (2.0 * b)), np.kron(b1, np.ones(2)) * lam)]
    for A, bias in sq[1:-1]:
        layers.append((np.kron(A, I2), np.kron(bias, np.ones(2)) * lam))
    A_out, _ = sq[-1]
    layers.append((np.kron(A_out, np.array([[1.0, -1.0]])), np.zeros(1)))
    return _net(layers, dtype)


def multiplication_m(b: float, accuracy: float, derivative_accuracy: float | None = None) -> int:
    r"""The smallest m ≥ 1 with :math:`b^22^{-2m-2}\le` ``accuracy`` (and
    :math:`b2^{-m}\le` ``derivative_accuracy`` if given), i.e. the squaring depth for
    which :func:`multiplication_network` meets the requested accuracy on :math:`[-b,b]^2`."""
    b = _positive("b", b)
    accuracy = _positive("accuracy", accuracy)
    m = max(1, math.ceil(math.log2(b / (2.0 * math.sqrt(accuracy)))))
    if derivative_accuracy is not None:
        derivative_accuracy = _positive("derivative_accuracy", derivative_accuracy)
        m = max(m, math.ceil(math.log2(b / derivative_accuracy)))
    while m > 1 and b * b * 2.0 ** (-2 * (m - 1) - 2) <= accuracy and (
            derivative_accuracy is None or b * 2.0 ** (-(m - 1)) <= derivative_accuracy):
        m -= 1
    while b * b * 2.0 ** (-2 * m - 2) > accuracy or (
            derivative_accuracy is not None and b * 2.0**-m > derivative_accuracy):
        m += 1
    return m


# -- cut-off ------------------------------------------------------------------------------


def cutoff_network(d: int, B: float, dtype=None) -> Network:
    r"""The cut-off :math:`\chi_B(x)=\varrho(1-\sum_{i=1}^d[\varrho(x_i-B)+\varrho(-x_i-B)])`.

    Realizes exactly this for every x: values in [0, 1]; :math:`\chi_B=1` on
    :math:`[-B,B]^d`; :math:`\chi_B=0` outside :math:`(-B-1,B+1)^d` (i.e. for
    :math:`\|x\|_\infty\ge B+1`); in between
    :math:`\chi_B(x)=\varrho(1-\sum_i\varrho(|x_i|-B))`. Its gradient has entries in
    {−1, 0, 1}, so :math:`\|\nabla\chi_B\|_2\le\sqrt d` a.e.; :math:`D^N\chi_B=0`
    exactly on the open cube :math:`(-B,B)^d` and where :math:`\|x\|_\infty>B+1`.

    Layers :math:`(((I;-I),-B\mathbf 1),(-\mathbf 1^T,1),(1,0))`: depth 3, widths
    (d, 2d, 1, 1), width 2d, parameters :math:`2d^2+4d+3`, connectivity 6d + 2.
    """
    d = _int_at_least("d", d, 1)
    B = _positive("B", B)
    eye = np.eye(d)
    return _net([(np.vstack([eye, -eye]), -B * np.ones(2 * d)),
                 (-np.ones((1, 2 * d)), np.ones(1)),
                 (np.ones((1, 1)), np.zeros(1))], dtype)


# -- max / min of several values, max-min representation of PWL functions ----------------


def _max_levels(k: int) -> list[int]:
    sizes = [k]
    while sizes[-1] > 1:
        sizes.append(-(-sizes[-1] // 2))
    return sizes


def max_network(k: int, dtype=None) -> Network:
    r"""Exact maximum :math:`(x_1,\dots,x_k)\mapsto\max_i x_i` by a pairwise tree.

    Each level maps pairs :math:`(a,b)\mapsto\varrho(a-b)+\varrho(b)-\varrho(-b)=\max(a,b)`
    and carries a left-over value t as :math:`\varrho(t)-\varrho(-t)`. With
    :math:`n_0=k`, :math:`n_{\ell+1}=\lceil n_\ell/2\rceil` and
    :math:`K=\lceil\log_2k\rceil` levels: depth K + 1; widths
    :math:`(k,h_0,\dots,h_{K-1},1)` with :math:`h_\ell=3\lfloor n_\ell/2\rfloor+2(n_\ell\bmod2)`;
    width :math:`h_0` (k ≥ 2); parameters from the widths; connectivity 8k − 9 when k ≥ 2
    is a power of two (≤ 8k otherwise). k = 1: the depth-1 identity ((1), 0).
    """
    k = _int_at_least("k", k, 1)
    if k == 1:
        return _net([(np.ones((1, 1)), np.zeros(1))], dtype)
    return _traced(lambda: _max_tree(k, dtype))


def _max_tree(k: int, dtype) -> Network:
    net = None
    for n in _max_levels(k)[:-1]:
        q, o = divmod(n, 2)
        A_in = np.zeros((3 * q + 2 * o, n))
        A_out = np.zeros((q + o, 3 * q + 2 * o))
        for p in range(q):
            a, b = 2 * p, 2 * p + 1
            A_in[3 * p, [a, b]] = [1.0, -1.0]
            A_in[3 * p + 1, b] = 1.0
            A_in[3 * p + 2, b] = -1.0
            A_out[p, 3 * p:3 * p + 3] = [1.0, 1.0, -1.0]
        if o:
            A_in[3 * q, n - 1], A_in[3 * q + 1, n - 1] = 1.0, -1.0
            A_out[q, 3 * q:3 * q + 2] = [1.0, -1.0]
        level = _net([(A_in, np.zeros(A_in.shape[0])), (A_out, np.zeros(q + o))], dtype)
        net = level if net is None else compose(level, net)
    return net


def min_network(k: int, dtype=None) -> Network:
    r"""Exact minimum :math:`\min_ix_i=-\max_i(-x_i)`: :func:`max_network` with its first
    layer's matrix and its output layer negated. Same sizes as ``max_network(k)``."""
    net = max_network(k, dtype)
    layers = list(net.layers)
    A, b = layers[0]
    layers[0] = (-A, b)
    A, b = layers[-1]
    layers[-1] = (-A, -b)
    return Network(layers)


def _check_maxmin(W, c, groups):
    W = np.asarray(W, np.float64)
    c = np.asarray(c, np.float64)
    if W.ndim != 2:
        raise ValueError(f"W must be a matrix (K, d) of affine slopes, got shape {W.shape}")
    if c.shape != (W.shape[0],):
        raise ValueError(f"c must have shape ({W.shape[0]},) to match W of shape {W.shape}, "
                         f"got {c.shape}")
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(c))):
        raise ValueError("W and c must be finite")
    groups = [tuple(int(j) for j in g) for g in groups]
    if not groups or any(len(g) == 0 for g in groups):
        raise ValueError(f"groups must be a non-empty list of non-empty index lists, got {groups}")
    for g in groups:
        for j in g:
            if not 0 <= j < W.shape[0]:
                raise ValueError(f"group index {j} out of range for {W.shape[0]} affine maps")
    return W, c, groups


def maxmin_network(W, c, groups: Sequence[Sequence[int]], dtype=None) -> Network:
    r"""Any continuous piecewise-linear function in max–min form, represented exactly.

    .. math:: f(x)=\max_{i=1,\dots,n}\ \min_{j\in G_i}\ (W_jx+c_j),

    with ``W`` of shape (K, d), ``c`` of shape (K,), ``groups`` :math:`=(G_1,\dots,G_n)`
    lists of row indices (repeats allowed). Every continuous PWL function has such a
    representation (Ovchinnikov). Realizes f exactly for every x (up to floating-point
    rounding of the sums), so :math:`D^N` equals :math:`\nabla f` a.e.

    Built as ``compose(max_network(n), compose(parallel_full(min_network(|G_1|), …),
    ((W_G, c_G))))`` with the rows of ``W`` repeated in group order. Depth
    :math:`\max_i\lceil\log_2|G_i|\rceil+\lceil\log_2n\rceil+1`.
    """
    W, c, groups = _check_maxmin(W, c, groups)
    order = [j for g in groups for j in g]

    def build():
        affine = _net([(W[order], c[order])], dtype)
        mins = parallel_full(*[min_network(len(g), dtype) for g in groups])
        return compose(max_network(len(groups), dtype), compose(mins, affine))

    return _traced(build)


# -- squared norm ---------------------------------------------------------------------------


def squared_norm_network(d: int, B: float, m: int, dtype=None) -> Network:
    r""":math:`x\mapsto\sum_{i=1}^dB^2S_m(|x_i|/B)`, an approximation of :math:`\|x\|_2^2`.

    Realizes exactly this for every x (:math:`S_m` of :func:`square_network`). Bounds on
    :math:`[-B,B]^d`: :math:`0\le R\Phi(x)-\|x\|^2\le dB^22^{-2m-2}`; a.e.
    :math:`\|D^N\Phi(x)-2x\|_2\le\sqrt dB2^{-m}` (each coordinate's error is
    :math:`B|S_m'(u_i)-2u_i|\le B2^{-m}`).

    Built as ``compose(((B²1ᵀ,0)), compose(parallel_full(S_m,…,S_m), compose(
    abs_network(d), ((I/B, 0)))))``. Sizes: depth m + 2; widths
    (d, 2d, 3d, 4d, …, 4d, 1) with m − 1 entries 4d; width 3d (m = 1) or 4d;
    connectivity d(15m − 2).
    """
    d = _int_at_least("d", d, 1)
    B = _positive("B", B)
    m = _int_at_least("m", m, 1)
    def build():
        scale = _net([(np.eye(d) / B, np.zeros(d))], dtype)
        total = _net([(B * B * np.ones((1, d)), np.zeros(1))], dtype)
        S = square_network(m, dtype)
        return compose(total, compose(parallel_full(*([S] * d)),
                                      compose(abs_network(d, dtype), scale)))

    return _traced(build)


# -- products, monomials, polynomials with error bookkeeping ------------------------------


@dataclasses.dataclass(frozen=True)
class ErrorBound:
    r"""A guaranteed error bound of an approximant on the box :math:`[-a,a]^d`, a = ``box``.

    ``value``: :math:`\sup|f-R\Phi|`; ``derivative``: :math:`\operatorname{ess\,sup}
    \|\nabla f-D^N\Phi\|_2` (a.e.); ``box``: the half-width; ``m``: the squaring depth used.
    """

    value: float
    derivative: float
    box: float
    m: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class _Node(NamedTuple):
    P: float   # sup |p| of the exact factor on the box
    P1: float  # sup ‖∇p‖
    e: float   # value error bound of the approximation
    e1: float  # derivative error bound (a.e.)


def _combine(p: _Node, q: _Node, m: int) -> tuple[_Node, float]:
    """Bookkeeping for M_{b,m}(p̃, q̃) ≈ pq; returns the node and the b used."""
    pp, qq = p.P + p.e, q.P + q.e
    b = _pow2_above(max(pp, qq))
    eta = b * b * 2.0 ** (-2 * m - 2)
    beta = b * 2.0**-m
    e = eta + p.e * qq + p.P * q.e
    e1 = (beta * (p.P1 + p.e1) + q.e * (p.P1 + p.e1) + q.P * p.e1
          + beta * (q.P1 + q.e1) + p.e * (q.P1 + q.e1) + p.P * q.e1)
    return _Node(p.P * q.P, q.P * p.P1 + p.P * q.P1, e, e1), b


def _product_plan(n: int, box: float, m: int):
    """Per level: list of b's for the pairs; the final node bound."""
    nodes = [_Node(box, 1.0, 0.0, 0.0)] * n
    plan = []
    while len(nodes) > 1:
        bs, new = [], []
        for i in range(0, len(nodes) - 1, 2):
            node, b = _combine(nodes[i], nodes[i + 1], m)
            new.append(node)
            bs.append(b)
        if len(nodes) % 2:
            new.append(nodes[-1])
        plan.append(bs)
        nodes = new
    return plan, nodes[0]


def _product_from_plan(n: int, plan, m: int, dtype) -> Network:
    net = None
    size = n
    for bs in plan:
        parts = [multiplication_network(b, m, dtype) for b in bs]
        if size % 2:
            parts.append(identity(1, m + 2, dtype=_dtype(dtype)))
        level = parallel_full(*parts)
        net = level if net is None else compose(level, net)
        size = len(parts)
    return net


def product_network(n: int, box: float, accuracy: float,
                    derivative_accuracy: float | None = None, m: int | None = None,
                    dtype=None) -> tuple[Network, ErrorBound]:
    r"""Product :math:`x\mapsto\prod_{i=1}^nx_i` on :math:`[-a,a]^n` (a = ``box``).

    A pairwise tree of :func:`multiplication_network` s (a left-over factor is carried by
    an identity network of depth m + 2). A node multiplies approximations
    :math:`\tilde p,\tilde q` of exact sub-products p, q with :math:`|p|\le P`,
    :math:`\|\nabla p\|\le P'`, :math:`|\tilde p-p|\le e_p`,
    :math:`\|\nabla\tilde p-\nabla p\|\le e'_p` (a.e.), using
    :math:`M_{b,m}` with b the smallest power of two **strictly** above
    :math:`\max(P+e_p,Q+e_q)` (so :math:`(\tilde p,\tilde q)` stays in the open region
    :math:`|u|,|v|<1` where every adjacent linear piece of M obeys the bounds), and

    .. math::
        e_{pq}&=\eta+e_p(Q+e_q)+Pe_q,\qquad \eta=b^22^{-2m-2},\ \beta=b2^{-m},\\
        e'_{pq}&=(\beta+e_q)(P'+e'_p)+Qe'_p+(\beta+e_p)(Q'+e'_q)+Pe'_q,

    from :math:`\nabla(M\circ(\tilde p,\tilde q))=g_1\nabla\tilde p+g_2\nabla\tilde q` a.e.
    with :math:`|g_1-\tilde q|,|g_2-\tilde p|\le\beta` (the gradient of an adjacent
    piece of M). Leaves: :math:`P=a`, :math:`P'=1`, e = e' = 0. The same m is used at
    every node: the smallest m ≥ 1 meeting both accuracies (or the given ``m``).

    Returns:
      ``(net, bound)``: ``net`` maps :math:`\mathbb R^n\to\mathbb R`; ``bound`` an
      :class:`ErrorBound` with the guaranteed value and a.e. derivative errors on
      :math:`[-a,a]^n`. For n = 1 the exact depth-1 identity.

    Sizes (n ≥ 2, :math:`K=\lceil\log_2n\rceil` levels): depth K(m + 1) + 1; the hidden
    widths of a level with :math:`q` products and :math:`o\in\{0,1\}` carries are
    :math:`(4q+2o,6q+2o,(8q+2o)^{\times(m-1)})`; for :math:`n=2^K` the connectivity is
    :math:`30m(n-1)+20(n-2)` (each of the :math:`n/2-1` products above the first level
    has its first layer merged with the two output layers below it: 4 rows × 16 = 64
    nonzeros instead of 8 + 8 + 8).
    """
    n = _int_at_least("n", n, 1)
    box = _positive("box", box)
    accuracy = _positive("accuracy", accuracy)
    if derivative_accuracy is not None:
        derivative_accuracy = _positive("derivative_accuracy", derivative_accuracy)
    if n == 1:
        return _net([(np.ones((1, 1)), np.zeros(1))], dtype), ErrorBound(0.0, 0.0, box, 0)
    if m is None:
        m = 1
        while True:
            _, node = _product_plan(n, box, m)
            if node.e <= accuracy and (derivative_accuracy is None
                                       or node.e1 <= derivative_accuracy):
                break
            m += 1
            if m > 200:
                raise ValueError(f"accuracy {accuracy} is not reachable in float64 for n={n}, "
                                 f"box={box}")
    m = _int_at_least("m", m, 1)
    plan, node = _product_plan(n, box, m)
    net = _traced(lambda: _product_from_plan(n, plan, m, dtype))
    return net, ErrorBound(node.e, node.e1, box, m)


def _check_alpha(alpha, d=None) -> tuple[int, ...]:
    alpha = tuple(alpha)
    for a in alpha:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool) or a < 0:
            raise ValueError(f"a multi-index must hold non-negative integers, got {alpha}")
    if d is not None and len(alpha) != d:
        raise ValueError(f"multi-index {alpha} has length {len(alpha)}, expected d = {d}")
    return tuple(int(a) for a in alpha)


def monomial_network(alpha: Sequence[int], box: float, accuracy: float,
                     derivative_accuracy: float | None = None, m: int | None = None,
                     dtype=None) -> tuple[Network, ErrorBound]:
    r"""Monomial :math:`x^\alpha=\prod_ix_i^{\alpha_i}` on :math:`[-a,a]^d`, d = len(alpha).

    ``compose(product_network(|α|, …), ((S, 0)))`` where the selection matrix S repeats
    coordinate i :math:`\alpha_i` times. The bookkeeping of :func:`product_network`
    only uses the triangle inequality and :math:`\|\nabla x_i\|=1`, so it holds with
    repeated factors. :math:`|\alpha|=0`: the constant 1 (depth 1, ``((0), 1)``);
    :math:`|\alpha|=1`: exact. Depth :math:`\lceil\log_2|\alpha|\rceil(m+1)+1`.

    Returns ``(net, ErrorBound)`` (guaranteed bounds on :math:`[-a,a]^d`).
    """
    alpha = _check_alpha(alpha)
    if not alpha:
        raise ValueError("multi-index must have length d >= 1")
    d, k = len(alpha), sum(alpha)
    box = _positive("box", box)
    if k == 0:
        return _net([(np.zeros((1, d)), np.ones(1))], dtype), ErrorBound(0.0, 0.0, box, 0)
    rows = [i for i, a in enumerate(alpha) for _ in range(a)]
    S = np.zeros((k, d))
    S[np.arange(k), rows] = 1.0
    prod, bound = product_network(k, box, accuracy, derivative_accuracy, m, dtype)
    return _traced(lambda p: compose(p, _net([(S, np.zeros(k))], dtype)), prod), bound


def polynomial_network(coeffs: Mapping[tuple, float], d: int, box: float, accuracy: float,
                       derivative_accuracy: float | None = None,
                       dtype=None) -> tuple[Network, ErrorBound]:
    r"""Polynomial :math:`p(x)=\sum_\alpha c_\alpha x^\alpha` on :math:`[-a,a]^d`.

    ``coeffs`` maps multi-indices α (length d) to :math:`c_\alpha`. The constant term
    goes into the output bias; every other monomial is :func:`monomial_network` with
    accuracy :math:`\varepsilon/\Lambda` (and derivative accuracy
    :math:`\varepsilon'/\Lambda`), :math:`\Lambda=\sum_{|\alpha|\ge2}|c_\alpha|`; they are
    summed with :func:`jrelu.linear_combination` (shorter ones padded by identity
    networks). Guaranteed bounds on :math:`[-a,a]^d`: value error
    :math:`\le\sum_\alpha|c_\alpha|e_\alpha\le\varepsilon`, a.e. derivative error
    :math:`\le\sum_\alpha|c_\alpha|e'_\alpha`. Depth = the largest monomial depth.

    Returns ``(net, ErrorBound)`` (``m`` is the largest squaring depth used).
    """
    d = _int_at_least("d", d, 1)
    box = _positive("box", box)
    accuracy = _positive("accuracy", accuracy)
    if not coeffs:
        raise ValueError("coeffs must contain at least one term")
    terms = {}
    for alpha, cf in coeffs.items():
        alpha = _check_alpha(alpha, d)
        cf = float(cf)
        if not math.isfinite(cf):
            raise ValueError(f"coefficient of {alpha} must be finite, got {cf}")
        terms[alpha] = terms.get(alpha, 0.0) + cf
    const = terms.pop((0,) * d, 0.0)
    lam = sum(abs(cf) for a, cf in terms.items() if sum(a) >= 2)
    tol = accuracy / lam if lam else accuracy
    dtol = None if derivative_accuracy is None else _positive(
        "derivative_accuracy", derivative_accuracy) / (lam if lam else 1.0)
    nets, cs = [], []
    ev = ed = 0.0
    mmax = 0
    for alpha, cf in terms.items():
        if cf == 0.0:
            continue
        net, bd = monomial_network(alpha, box, tol, dtol, dtype=dtype)
        nets.append(net)
        cs.append(cf)
        ev += abs(cf) * bd.value
        ed += abs(cf) * bd.derivative
        mmax = max(mmax, bd.m)
    if not nets:
        return (_net([(np.zeros((1, d)), np.array([const]))], dtype),
                ErrorBound(0.0, 0.0, box, 0))
    def build(nets):
        net = linear_combination(jnp.asarray(cs, _dtype(dtype)), nets)
        A, b = net.layers[-1]
        return Network(net.layers[:-1] + ((A, b + jnp.asarray(const, A.dtype)),))

    return _traced(build, nets), ErrorBound(ev, ed, box, mmax)


# -- local approximants ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LocalApproximant:
    r"""A family of local approximants :math:`(\delta,B)\mapsto\Phi_{\delta,B}` for f.

    ``build(delta, B)`` returns a :class:`jrelu.Network` :math:`\mathbb R^d\to\mathbb R`
    with :math:`W^{1,\infty}` error ≤ δ on :math:`(-B,B)^d`, i.e.
    :math:`\sup|f-R\Phi|\le\delta` and :math:`\|\nabla f-D^N\Phi\|_2\le\delta` a.e.
    (or a pair ``(network, info)`` with a JSON-able ``info`` dict). ``growth = (c, ν)``
    with :math:`|f(x)|,\|\nabla f(x)\|\le c(1+\|x\|^\nu)`; ``f``/``grad`` evaluate f
    and ∇f on a point ``(d,)`` (jnp), for tests and plots; ``certified`` says whether
    the local error is guaranteed (False when it was measured on samples).
    """

    build: Callable
    d: int
    growth: tuple
    name: str
    f: Callable | None = None
    grad: Callable | None = None
    certified: bool = True

    def __call__(self, delta: float, B: float):
        return self.build(delta, B)


def squared_norm_local(d: int, dtype=None) -> LocalApproximant:
    r"""Local approximants of :math:`f(x)=\|x\|_2^2` (growth c = 1, ν = 2: :math:`\|x\|^2\le
    1+\|x\|^2` and :math:`\|2x\|\le1+\|x\|^2`).

    ``build(δ, B)`` = :func:`squared_norm_network` (d, B, m) with the smallest m ≥ 1 such
    that :math:`dB^22^{-2m-2}\le\delta` and :math:`\sqrt dB2^{-m}\le\delta`.
    """
    d = _int_at_least("d", d, 1)

    def build(delta, B):
        delta, B = _positive("delta", delta), _positive("B", B)
        m = max(1, math.ceil(math.log2(math.sqrt(d) * B / delta)))
        while d * B * B * 2.0 ** (-2 * m - 2) > delta or math.sqrt(d) * B * 2.0**-m > delta:
            m += 1
        return squared_norm_network(d, B, m, dtype)

    return LocalApproximant(build, d, (1.0, 2.0), f"squared_norm(d={d})",
                            f=lambda x: jnp.sum(x * x, axis=-1), grad=lambda x: 2 * x)


def coordinate_product_local(d: int, indices: Sequence[int], dtype=None) -> LocalApproximant:
    r"""Local approximants of :math:`f(x)=\prod_{i\in I}x_i` (I = ``indices``, repeats allowed,
    k = |I| ≥ 1), growth c = 1, ν = k.

    (:math:`|f|\le\|x\|^k` and :math:`\|\nabla f\|\le\sqrt k\,(k-1)^{-(k-1)/2}\|x\|^{k-1}
    \le1+\|x\|^k` for distinct indices; with repeats :math:`\|\nabla f\|\le k\|x\|^{k-1}`,
    so the growth is then c = k.) ``build(δ, B)`` = :func:`monomial_network` with box B and
    both accuracies δ.
    """
    d = _int_at_least("d", d, 1)
    indices = [int(i) for i in indices]
    if not indices or any(not 0 <= i < d for i in indices):
        raise ValueError(f"indices must be a non-empty list of coordinates in [0, {d}), "
                         f"got {indices}")
    alpha = [0] * d
    for i in indices:
        alpha[i] += 1
    k = len(indices)
    c = 1.0 if max(alpha) == 1 else float(k)

    def build(delta, B):
        net, _ = monomial_network(alpha, B, delta, delta, dtype=dtype)
        return net

    def f(x):
        return jnp.prod(x[..., jnp.asarray(indices)], axis=-1)

    return LocalApproximant(build, d, (c, float(k)), f"coordinate_product({indices})",
                            f=f, grad=jax.grad(f))


def maxmin_local(W, c, groups, dtype=None) -> LocalApproximant:
    r"""The exact max–min network (:func:`maxmin_network`) as a local approximant (error 0
    on every cube). Growth: :math:`|f(x)|\le\max_j|c_j|+\max_j\|W_j\|\,\|x\|` and
    :math:`\|\nabla f\|\le\max_j\|W_j\|` a.e., so c = :math:`\max(\max_j|c_j|,\max_j\|W_j\|)`,
    ν = 1."""
    W, c_, groups = _check_maxmin(W, c, groups)
    net = maxmin_network(W, c_, groups, dtype)
    growth = (max(float(np.max(np.abs(c_))), float(np.max(np.linalg.norm(W, axis=1))), 1e-300),
              1.0)
    Wj, cj = jnp.asarray(W), jnp.asarray(c_)

    def f(x):
        z = x @ Wj.T + cj
        return jnp.max(jnp.stack([jnp.min(z[..., list(g)], axis=-1) for g in groups]), axis=0)

    def build(delta, B):
        _positive("delta", delta)
        _positive("B", B)
        return net

    return LocalApproximant(build, W.shape[1], growth, f"maxmin(K={W.shape[0]}, n={len(groups)})",
                            f=f, grad=jax.grad(f))


def network_local(net: Network, target: Callable, growth: tuple, *, key,
                  num_points: int = 4096, target_grad: Callable | None = None,
                  chunk_size: int = 4096) -> LocalApproximant:
    r"""A trained network taken as is, with its local error *measured*, not certified.

    ``build(δ, B)`` runs :func:`jrelu.error_sweep` on ``num_points`` uniform samples of
    :math:`[-B,B]^d` (:class:`jrelu.UniformBox`), reads the unweighted maxima of
    :math:`|f-R\Phi|` and :math:`\|\nabla f-D^N\Phi\|_2`, and returns ``(net, info)``
    if both are ≤ δ, else raises ValueError naming the measured errors. The sample
    maximum is a lower estimate of the true sup, so the resulting global bound is
    empirical; the record says ``certified: false``. ``growth = (c, ν)`` is the user's
    growth bound for f = ``target``.
    """
    from .errors import UniformBox, error_sweep

    if not isinstance(net, Network):
        raise TypeError(f"net must be a jrelu.Network, got {type(net).__name__}")
    if net.output_dim != 1:
        raise ValueError(f"the local network must have one output, got widths {net.widths}")
    d = net.input_dim

    def build(delta, B):
        delta, B = _positive("delta", delta), _positive("B", B)
        rep = error_sweep(net, target, UniformBox(d, -B, B), num_points, key, kappa=0.0,
                          derivative=True, chunk_size=chunk_size, target_grad=target_grad)
        ev, ed = rep.value.sup_unweighted, rep.derivative.sup_unweighted
        if ev > delta or ed > delta:
            raise ValueError(f"the network's measured local error on (-{B}, {B})^{d} "
                             f"(value {ev:.3g}, derivative {ed:.3g}, {num_points} samples) "
                             f"exceeds the requested δ = {delta:.3g}")
        return net, {"certified": False, "measured_value_error": ev,
                     "measured_derivative_error": ed, "num_points": num_points}

    return LocalApproximant(build, d, tuple(growth), f"network{net.widths}", f=target,
                            grad=target_grad, certified=False)


# -- the local-to-global theorem ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GlobalRecord:
    r"""Constants and sizes of :math:`\Phi_\varepsilon` from :func:`global_network`.

    ``eps`` ε; ``c``, ``nu`` the growth; ``kappa`` = ν + 1; ``B`` :math:`B_\varepsilon`;
    ``b`` :math:`b_\varepsilon`; ``m`` the squaring depth of the multiplication;
    ``delta`` the local tolerance ε/2; ``eta`` = :math:`b^22^{-2m-2}` and ``beta`` =
    :math:`b2^{-m}` the multiplication's value and derivative errors; ``C`` and ``r``
    with :math:`\|\nabla f-D^N\Phi_\varepsilon\|\le C\varepsilon^r(1+\|x\|^\kappa)` a.e.;
    ``C_regions`` the three region constants; sizes of :math:`\Phi_\varepsilon` and of
    the local network; ``local_info`` what the local builder reported.
    """

    d: int
    eps: float
    c: float
    nu: float
    kappa: float
    B: float
    b: float
    m: int
    delta: float
    eta: float
    beta: float
    C: float
    r: float
    C_regions: dict
    depth: int
    width: int
    num_params: int
    connectivity: int
    widths: tuple
    local_depth: int
    local_widths: tuple
    local_name: str
    certified: bool
    local_info: dict

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["widths"] = list(self.widths)
        out["local_widths"] = list(self.local_widths)
        return out

    def to_json(self, **kwargs) -> str:
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


def global_network(local, eps: float, growth: tuple | None = None, d: int | None = None,
                   *, dtype=None) -> tuple[Network, GlobalRecord]:
    r"""The global approximant :math:`\Phi_\varepsilon=M_{b,m}\odot P(\chi_B,\Phi_{\delta,B+1})`.

    Given f with :math:`|f(x)|,\|\nabla f(x)\|_2\le F(x):=c(1+\|x\|^\nu)` (a.e. for ∇f)
    and local approximants (``local(δ, B)`` returns a network with :math:`W^{1,\infty}`
    error ≤ δ on :math:`(-B,B)^d`), returns ``(net, record)`` such that, with
    κ = ν + 1 and ‖·‖ the Euclidean norm,

    * :math:`|f(x)-R\Phi_\varepsilon(x)|\le\varepsilon(1+\|x\|^\kappa)` for **every**
      :math:`x\in\mathbb R^d`;
    * :math:`\|\nabla f(x)-D^N\Phi_\varepsilon(x)\|\le C\varepsilon^{1/2}(1+\|x\|^\kappa)`
      for almost every x, for every kink value :math:`D\varrho(0)`;
    * :math:`R\Phi_\varepsilon=0` and :math:`D^N\Phi_\varepsilon=0` exactly where
      :math:`\|x\|_\infty>B+1`.

    :func:`global_bound` evaluates the sharper region-wise envelopes below.

    **Constants.** :math:`B=\max(1,4c/\varepsilon)`; δ = ε/2 (the local network is
    ``local(δ, B + 1)``, :math:`\varphi=R\Phi_{\delta,B+1}`); b = the smallest power
    of two strictly above :math:`\max(1,\ c(1+(\sqrt d(B+1))^\nu)+\delta)`, so
    :math:`|\chi_B|\le1<b` and :math:`|\varphi|<b` on the closed cube
    :math:`[-B-1,B+1]^d`; m = the smallest m ≥ 1 with
    :math:`\eta=b^22^{-2m-2}\le\varepsilon/4`; :math:`\beta=b2^{-m}=2\sqrt\eta\le\sqrt\varepsilon`.

    **Proof outline, region by region** (ρ = ‖x‖_∞ ≤ r = ‖x‖):

    * Inside, ρ ≤ B: :math:`\chi_B=1`, so :math:`|f-M(1,\varphi)|\le|f-\varphi|+
      |\varphi-M(1,\varphi)|\le\delta+\eta\le\frac34\varepsilon`. For a.e. x (ρ < B):
      x is interior to a linear piece of :math:`R\Phi_\varepsilon` and of
      :math:`(\chi_B,\varphi)`, whose image point lies in the open set where
      :math:`u,v<1` (as :math:`|\chi|+|\varphi|<2b`); hence
      :math:`\nabla R\Phi_\varepsilon=g_1\nabla\chi+g_2\nabla\varphi` with g the gradient
      of an adjacent piece of M, :math:`|g_2-1|\le\beta`, and :math:`\nabla\chi=0`:
      error :math:`\le\delta+\beta(F+\delta)`. (:math:`D^N=\nabla R\Phi` a.e.)
    * Band, B < ρ ≤ B + 1: :math:`\chi\in[0,1]`,
      :math:`|M(\chi,\varphi)|\le|\varphi|+\eta\le F+\delta+\eta`, so the value error is
      :math:`\le2F+\delta+\eta`; derivative: :math:`|g_1|\le|\varphi|+\beta`,
      :math:`|g_2|\le1+\beta`, :math:`\|\nabla\chi\|\le\sqrt d`, error
      :math:`\le F+\sqrt d(F+\delta+\beta)+(1+\beta)(F+\delta)`.
    * Outside, ρ > B + 1: :math:`\chi=0`, :math:`M(0,t)=0`,
      :math:`\partial_tD^NM(0,t)=0` and :math:`D^N\chi=0` (the cut-off's last neuron
      has a negative pre-activation), so by the chain rule for :math:`D^N` the network
      and its :math:`D^N` vanish; the errors are :math:`|f|,\|\nabla f\|\le F`.

    Since r ≥ ρ > B ≥ max(1, 4c/ε) in the band and outside,
    :math:`F(r)\le2cr^\nu\le\frac\varepsilon2r^\kappa`, so the value envelope is
    :math:`\le\varepsilon(1+r^\kappa)` everywhere, and the derivative envelope is
    :math:`\le C\sqrt\varepsilon(1+r^\kappa)` with (using :math:`1+r^\nu\le2(1+r^\kappa)`)

    .. math::
        C=\varepsilon^{-1/2}\max\big(\delta(1+\beta)+2c\beta,\ \ \tfrac\varepsilon2
        (2+\beta+\sqrt d)+\delta(1+\beta+\sqrt d)+\sqrt d\beta,\ \ \tfrac\varepsilon2\big),

    bounded as ε → 0 (β ≤ √ε), so r = ½.

    **Sizes.** The composition is the sparse one, :func:`jrelu.sparse_compose`
    (:math:`M\circ\Phi^{\rm Id}_{2,2}\circ P`), so that M's first layer (weights ±1) is
    merged only with an identity layer and every product in the two places where the
    u- and v-branches of M meet is exact: the "network and :math:`D^N` are exactly 0"
    statement then holds bitwise in floating point, whatever the local weights. With
    :math:`L=\max(3,L_{\rm loc})`, the shorter of :math:`\chi_B` and :math:`\Phi_{\rm loc}`
    is padded by :func:`jrelu.identity` (as :func:`jrelu.parallel` does): depth
    :math:`L+m+2`; widths :math:`(d,\hat H_1+\hat N_1,\dots,\hat H_{L-1}+\hat N_{L-1},
    4,4,6,8^{\times(m-1)},1)` with :math:`\hat H=(2d,1,2,\dots,2)` and
    :math:`\hat N=(N_1,\dots,N_{L_{\rm loc}-1},2,\dots,2)` the padded hidden widths;
    width = their maximum; parameters from the widths; connectivity
    :math:`{\rm conn}(P)+\mathrm{nnz}(A^P_L)+\mathrm{nnz}(b^P_L)+30m+8` where
    :math:`P=P(\chi_B,\Phi_{\rm loc})` with output layer :math:`(A^P_L,b^P_L)` (that
    layer appears twice, as :math:`\pm`; M's first layer merged with the identity's
    last is a 4 × 4 matrix of ±1).

    Args:
      local: a :class:`LocalApproximant` or a callable ``(δ, B) -> Network``
        (or ``(Network, info)``).
      eps: ε > 0.
      growth: (c, ν) with c > 0, ν ≥ 0; default ``local.growth``.
      d: the input dimension; default ``local.d``; must match the local network.
      dtype: dtype of the cut-off and multiplication weights (default: the local
        network's dtype).

    Raises:
      ValueError: for ε ≤ 0, bad growth, a missing or inconsistent d, or a local network
        with the wrong input/output dimension.
    """
    eps = _positive("eps", eps)
    if growth is None:
        growth = getattr(local, "growth", None)
        if growth is None:
            raise ValueError("growth=(c, nu) is required (the local approximant has none)")
    try:
        c, nu = growth
    except (TypeError, ValueError):
        raise ValueError(f"growth must be a pair (c, nu), got {growth!r}") from None
    c = _positive("growth constant c", c)
    nu = _nonnegative("growth exponent nu", nu)
    local_d = getattr(local, "d", None)
    if d is None:
        if local_d is None:
            raise ValueError("d is required (the local approximant does not state it)")
        d = local_d
    d = _int_at_least("d", d, 1)
    if local_d is not None and local_d != d:
        raise ValueError(f"inconsistent dimension: d = {d} but the local approximant is for "
                         f"d = {local_d}")
    if not callable(local):
        raise TypeError(f"local must be callable (delta, B) -> Network, got {type(local).__name__}")

    kappa = nu + 1.0
    B = max(1.0, 4.0 * c / eps)
    delta = eps / 2.0
    F_max = c * (1.0 + (math.sqrt(d) * (B + 1.0)) ** nu)
    b = _pow2_above(max(1.0, F_max + delta))
    m = multiplication_m(b, eps / 4.0)
    eta = b * b * 2.0 ** (-2 * m - 2)
    beta = b * 2.0**-m

    out = local(delta, B + 1.0)
    info = {}
    if isinstance(out, tuple):
        out, info = out
    if not isinstance(out, Network):
        raise ValueError(f"local(delta, B) must return a jrelu.Network, got {type(out).__name__}")
    if out.input_dim != d or out.output_dim != 1:
        raise ValueError(f"inconsistent dimension: the local network has widths {out.widths}, "
                         f"expected input dimension d = {d} and one output")
    dt = out.dtype if dtype is None else _dtype(dtype)
    net = _traced(lambda loc: sparse_compose(multiplication_network(b, m, dt),
                                             parallel(cutoff_network(d, B, dt), loc)), out)

    sd = math.sqrt(d)
    re = math.sqrt(eps)
    C_in = (delta * (1 + beta) + 2 * c * beta) / re
    C_band = (eps / 2 * (2 + beta + sd) + delta * (1 + beta + sd) + sd * beta) / re
    C_out = (eps / 2) / re
    C = max(C_in, C_band, C_out)
    record = GlobalRecord(
        d=d, eps=eps, c=c, nu=nu, kappa=kappa, B=B, b=b, m=m, delta=delta, eta=eta,
        beta=beta, C=C, r=0.5, C_regions={"inside": C_in, "band": C_band, "outside": C_out},
        depth=depth(net), width=width(net), num_params=num_params(net),
        connectivity=connectivity(net), widths=tuple(net.widths), local_depth=depth(out),
        local_widths=tuple(out.widths), local_name=getattr(local, "name", repr(local)),
        certified=bool(getattr(local, "certified", True)) and info.get("certified", True),
        local_info={str(k): v for k, v in info.items()})
    return net, record


class GlobalBound(NamedTuple):
    r"""Envelopes of :func:`global_bound` at points x (each of shape ``x.shape[:-1]``).

    ``value``, ``derivative``: the region-wise guaranteed envelopes of
    :math:`|f-R\Phi_\varepsilon|` (every x) and :math:`\|\nabla f-D^N\Phi_\varepsilon\|`
    (a.e.); ``value_theorem`` = :math:`\varepsilon(1+\|x\|^\kappa)` and
    ``derivative_theorem`` = :math:`C\varepsilon^r(1+\|x\|^\kappa)`, which dominate them;
    ``region``: 0 inside :math:`[-B,B]^d`, 1 band, 2 outside :math:`[-B-1,B+1]^d`.
    """

    value: np.ndarray
    derivative: np.ndarray
    value_theorem: np.ndarray
    derivative_theorem: np.ndarray
    region: np.ndarray


def global_bound(record: GlobalRecord, x) -> GlobalBound:
    r"""Guaranteed error envelopes of :math:`\Phi_\varepsilon` at x (batched, float64 numpy).

    With :math:`F=c(1+r^\nu)`, r = ‖x‖₂, ρ = ‖x‖_∞ (see :func:`global_network`):

    * value: :math:`\delta+\eta` if ρ ≤ B; :math:`2F+\delta+\eta` if B < ρ ≤ B + 1;
      F if ρ > B + 1;
    * derivative (a.e.): :math:`\delta+\beta(F+\delta)` if ρ < B;
      :math:`F(2+\beta+\sqrt d)+\delta(1+\beta+\sqrt d)+\sqrt d\beta` if B ≤ ρ ≤ B + 1;
      F if ρ > B + 1.

    Args:
      record: a :class:`GlobalRecord`.
      x: shape ``(d,)`` or ``(..., d)``.
    """
    if not isinstance(record, GlobalRecord):
        raise TypeError(f"record must be a GlobalRecord, got {type(record).__name__}")
    x = np.asarray(x, np.float64)
    if x.ndim == 0 or x.shape[-1] != record.d:
        raise ValueError(f"x must have shape ({record.d},) or (..., {record.d}), got {x.shape}")
    r = np.linalg.norm(x, axis=-1)
    rho = np.max(np.abs(x), axis=-1)
    R = record
    F = R.c * (1.0 + r**R.nu)
    sd = math.sqrt(R.d)
    region = np.where(rho <= R.B, 0, np.where(rho <= R.B + 1.0, 1, 2))
    value = np.where(region == 0, R.delta + R.eta,
                     np.where(region == 1, 2 * F + R.delta + R.eta, F))
    dregion = np.where(rho < R.B, 0, np.where(rho <= R.B + 1.0, 1, 2))
    deriv = np.where(dregion == 0, R.delta + R.beta * (F + R.delta),
                     np.where(dregion == 1,
                              F * (2 + R.beta + sd) + R.delta * (1 + R.beta + sd) + sd * R.beta,
                              F))
    weight = 1.0 + r**R.kappa
    return GlobalBound(value, deriv, R.eps * weight, R.C * R.eps**R.r * weight, region)
