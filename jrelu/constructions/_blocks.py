r"""Exact building blocks: tooth, sawtooth, squaring, abs, multiplication, cut-off, max/min."""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import numpy as np

from .. import _checks
from ..network import Network, compose, parallel_full
from ._common import float64_array, network_from_layers, traced

__all__: list[str] = []  # the public names are re-exported by jrelu.constructions

# -- tooth, sawtooth, squaring ----------------------------------------------------------

_TOOTH_OUT = np.array([2.0, -4.0, 2.0])
_TOOTH_BIAS = np.array([0.0, -0.5, -1.0])


def tooth_network(*, dtype=None) -> Network:
    r"""The tooth :math:`g(x)=2\varrho(x)-4\varrho(x-\tfrac12)+2\varrho(x-1)`.

    Realizes, for every :math:`x\in\mathbb R`,

    .. math::
        g(x)=\begin{cases}2x,&x\in[0,\tfrac12],\\2-2x,&x\in[\tfrac12,1],\\
        0,&\text{otherwise.}\end{cases}

    Layers :math:`(((1,1,1)^T,(0,-\frac12,-1)),((2,-4,2),0))`: depth 2, widths
    (1, 3, 1), width 3, 10 parameters, connectivity 8.

    Args:
      dtype: floating dtype of the weights (default: JAX's default float dtype). All
        weights are dyadic, hence exact in every floating dtype.

    Returns:
      A :class:`jrelu.Network` :math:`\mathbb R\to\mathbb R`, input shape ``(1,)`` or
      ``(..., 1)``.

    Raises:
      TypeError: if ``dtype`` is not a dtype.
      ValueError: if ``dtype`` is not a floating dtype.

    Example:
      >>> net = jrelu.constructions.tooth_network()
      >>> jrelu.realize(net, jnp.array([[0.25], [0.5], [0.75], [2.0]]))[:, 0].tolist()
      [0.5, 1.0, 0.5, 0.0]

    References:
      Telgarsky (2016), `arXiv:1602.04485 <https://arxiv.org/abs/1602.04485>`_;
      Yarotsky (2017), `arXiv:1610.01145 <https://arxiv.org/abs/1610.01145>`_.
    """
    return network_from_layers([(np.ones((3, 1)), _TOOTH_BIAS),
                                (_TOOTH_OUT[None], np.zeros(1))], dtype)


def sawtooth_network(s: int, *, dtype=None) -> Network:
    r"""The sawtooth :math:`g_s=g\circ\dots\circ g` (s times): :math:`2^{s-1}` teeth on [0, 1].

    Realizes :math:`g_s` (g of :func:`tooth_network`) for every x: 0 outside [0, 1]; on
    [0, 1] the piecewise-linear function with

    .. math::
        g_s(k2^{-s})=\begin{cases}0,&k\text{ even},\\1,&k\text{ odd},\end{cases}
        \qquad\text{linear in between (slopes }\pm2^s).

    Built by :func:`jrelu.compose` of s teeth: depth s + 1, widths (1, 3, …, 3, 1)
    (s hidden layers of 3), width 3, parameters 12s − 2, connectivity 11s − 3 (first
    layer 5, s − 1 merged layers of 9 + 2, output 3).

    Args:
      s: the number of teeth compositions, s ≥ 1.
      dtype: floating dtype of the weights (default: JAX's default float dtype).

    Returns:
      A :class:`jrelu.Network` :math:`\mathbb R\to\mathbb R` of depth s + 1.

    Raises:
      TypeError: if ``s`` is not an integer (or is a bool), or ``dtype`` is not a dtype.
      ValueError: if s < 1 or ``dtype`` is not a floating dtype.

    Example:
      >>> net = jrelu.constructions.sawtooth_network(2)
      >>> jrelu.realize(net, jnp.array([[0.125], [0.25], [0.5], [0.75]]))[:, 0].tolist()
      [0.5, 1.0, 0.0, 1.0]

    References:
      Telgarsky (2016), `arXiv:1602.04485 <https://arxiv.org/abs/1602.04485>`_.
    """
    s = _checks.size("s", s)
    _checks.default_float_dtype(dtype)

    def build():
        g = tooth_network(dtype=dtype)
        net = g
        for _ in range(s - 1):
            net = compose(g, net)
        return net

    return traced(build)


def square_layers(m: int) -> list:
    """NumPy float64 layers of the squaring network S_m (see :func:`square_network`)."""
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


def square_network(m: int, *, dtype=None) -> Network:
    r"""Yarotsky's squaring network :math:`S_m`: the interpolant of x² on the grid :math:`2^{-m}`.

    Realizes, for every :math:`x\in\mathbb R`,

    .. math::
        S_m(x)=f_m(\varrho(x)),\qquad f_m(x)=x-\sum_{s=1}^m\frac{g_s(x)}{4^s},

    (:math:`g_s` of :func:`sawtooth_network`), i.e. 0 for x ≤ 0, the piecewise-linear
    interpolant of :math:`x^2` on the grid :math:`h\mathbb Z\cap[0,1]`
    (:math:`h=2^{-m}`) on [0, 1], and x for x ≥ 1.

    Bounds on [0, 1]: :math:`0\le S_m(x)-x^2\le h^2/4=2^{-2m-2}`, with equality at the
    midpoints :math:`(j+\frac12)h` (so the sup error is exactly :math:`2^{-2m-2}`); on
    the interior of every grid cell :math:`(jh,(j+1)h)` the derivative is the slope
    :math:`(2j+1)h`, so :math:`|S_m'(x)-2x|\le h=2^{-m}` there (a.e. on [0, 1]).

    At a grid point the network derivative :math:`D^N` need not be a one-sided
    derivative: with :math:`D\varrho(0)=0`, :math:`D^NS_3(1)=1.5` while the adjacent
    slopes are 1.875 and 1. The derivative bound holds almost everywhere.

    Layers: :math:`(\varrho(x),\varrho(x-\frac12),\varrho(x-1))`, then m − 1 layers
    :math:`(\varrho(f_{k}),\varrho(g_k),\varrho(g_k-\frac12),\varrho(g_k-1))`
    (the accumulator :math:`f_k\ge0` for x ≥ 0, so ϱ leaves it unchanged), then the
    output :math:`f_m`. Sizes: depth m + 1; widths (1, 3, 4, …, 4, 1) with m − 1
    fours; width 3 for m = 1 and 4 for m ≥ 2; parameters 10 (m = 1) and 20m − 13
    (m ≥ 2); connectivity 8 (m = 1) and 15m − 7 (m ≥ 2).

    Args:
      m: the grid level m ≥ 1 (grid :math:`2^{-m}`).
      dtype: floating dtype of the weights (default: JAX's default float dtype). All
        weights are dyadic.

    Returns:
      A :class:`jrelu.Network` :math:`\mathbb R\to\mathbb R` of depth m + 1.

    Raises:
      TypeError: if ``m`` is not an integer (or is a bool), or ``dtype`` is not a dtype.
      ValueError: if m < 1 or ``dtype`` is not a floating dtype.

    Example:
      >>> net = jrelu.constructions.square_network(2)  # grid 1/4
      >>> jrelu.realize(net, jnp.array([[0.125], [0.5], [2.0]]))[:, 0].tolist()
      [0.03125, 0.25, 2.0]

    References:
      Yarotsky (2017), `arXiv:1610.01145 <https://arxiv.org/abs/1610.01145>`_;
      Telgarsky (2016), `arXiv:1602.04485 <https://arxiv.org/abs/1602.04485>`_.
    """
    m = _checks.size("m", m)
    return network_from_layers(square_layers(m), dtype)


def abs_network(d: int, *, dtype=None) -> Network:
    r"""Componentwise absolute value :math:`x\mapsto(|x_1|,\dots,|x_d|)`, exact.

    .. math::
        |t|=\varrho(t)+\varrho(-t),\qquad\Phi=(((I;-I),0),((I,I),0)).

    Its :math:`D^N` at :math:`x_i=0` is :math:`c-c=0` in row i for every kink value
    :math:`c=D\varrho(0)`. Sizes: depth 2, widths (d, 2d, d), width 2d, parameters
    :math:`4d^2+3d`, connectivity 4d.

    Args:
      d: the dimension d ≥ 1.
      dtype: floating dtype of the weights (default: JAX's default float dtype).

    Returns:
      A :class:`jrelu.Network` :math:`\mathbb R^d\to\mathbb R^d`.

    Raises:
      TypeError: if ``d`` is not an integer (or is a bool), or ``dtype`` is not a dtype.
      ValueError: if d < 1 or ``dtype`` is not a floating dtype.

    Example:
      >>> net = jrelu.constructions.abs_network(2)
      >>> jrelu.realize(net, jnp.array([-1.5, 2.0])).tolist()
      [1.5, 2.0]

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    d = _checks.size("d", d)
    eye = np.eye(d)
    return network_from_layers([(np.vstack([eye, -eye]), np.zeros(2 * d)),
                                (np.hstack([eye, eye]), np.zeros(d))], dtype)


# -- multiplication -------------------------------------------------------------------


def multiplication_network(b: float, m: int, *, dtype=None) -> Network:
    r"""Multiplication on :math:`[-b,b]^2`: :math:`M_{b,m}(x,y)=b^2(S_m(u)-S_m(v))`.

    With :math:`S_m` of :func:`square_network` and

    .. math::
        u=\frac{|x+y|}{2b},\qquad v=\frac{|x-y|}{2b},\qquad xy=b^2(u^2-v^2).

    Realizes exactly :math:`M_{b,m}` for every :math:`(x,y)\in\mathbb R^2`.

    Bounds on :math:`[-b,b]^2` (where u, v ∈ [0, 1]):

    * :math:`|M(x,y)-xy|\le b^22^{-2m-2}` (both :math:`S_m(u)-u^2` and
      :math:`S_m(v)-v^2` lie in :math:`[0,2^{-2m-2}]`);
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
      b: the half-width b > 0 of the square :math:`[-b,b]^2` (choose a power of two for
        exact weights).
      m: the squaring depth m ≥ 1.
      dtype: floating dtype of the weights (default: JAX's default float dtype).

    Returns:
      A :class:`jrelu.Network` :math:`\mathbb R^2\to\mathbb R`, input ``(x, y)``.

    Raises:
      TypeError: if ``b`` is not a real number, ``m`` not an integer (bools are
        neither), or ``dtype`` is not a dtype.
      ValueError: if b is not finite and > 0, m < 1, or ``dtype`` is not floating.

    Example:
      >>> net = jrelu.constructions.multiplication_network(1.0, 3)
      >>> jrelu.realize(net, jnp.array([[0.5, 0.25], [0.0, 7.0]]))[:, 0].tolist()
      [0.125, 0.0]

    References:
      Yarotsky (2017), `arXiv:1610.01145 <https://arxiv.org/abs/1610.01145>`_;
      Elbrächter, Grohs, Jentzen, Schwab (2018),
      `arXiv:1809.07669 <https://arxiv.org/abs/1809.07669>`_;
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    b = _checks.positive("b", b)
    m = _checks.size("m", m)
    sq = square_layers(m)
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
    return network_from_layers(layers, dtype)


def multiplication_m(b: float, *, accuracy: float,
                     derivative_accuracy: float | None = None) -> int:
    r"""The squaring depth for :func:`multiplication_network` to meet given accuracies.

    The smallest integer m ≥ 1 with

    .. math::
        b^2\,2^{-2m-2}\le\texttt{accuracy}\quad\text{and (if given)}\quad
        b\,2^{-m}\le\texttt{derivative\_accuracy},

    i.e. the value (and a.e. derivative) error bounds of :math:`M_{b,m}` on
    :math:`[-b,b]^2`.

    Args:
      b: the half-width b > 0 of the square :math:`[-b,b]^2`.
      accuracy: the value accuracy, > 0.
      derivative_accuracy: the derivative accuracy, > 0, or None (no condition).

    Returns:
      The integer m ≥ 1.

    Raises:
      TypeError: if an argument is not a real number (or is a bool).
      ValueError: if an argument is not finite and > 0.

    Example:
      >>> jrelu.constructions.multiplication_m(4.0, accuracy=1e-3)
      6
      >>> jrelu.constructions.multiplication_m(4.0, accuracy=1e-3, derivative_accuracy=1e-2)
      9

    References:
      Yarotsky (2017), `arXiv:1610.01145 <https://arxiv.org/abs/1610.01145>`_.
    """
    b = _checks.positive("b", b)
    accuracy = _checks.positive("accuracy", accuracy)
    m = max(1, math.ceil(math.log2(b / (2.0 * math.sqrt(accuracy)))))
    if derivative_accuracy is not None:
        derivative_accuracy = _checks.positive("derivative_accuracy", derivative_accuracy)
        m = max(m, math.ceil(math.log2(b / derivative_accuracy)))
    while m > 1 and b * b * 2.0 ** (-2 * (m - 1) - 2) <= accuracy and (
            derivative_accuracy is None or b * 2.0 ** (-(m - 1)) <= derivative_accuracy):
        m -= 1
    while b * b * 2.0 ** (-2 * m - 2) > accuracy or (
            derivative_accuracy is not None and b * 2.0**-m > derivative_accuracy):
        m += 1
    return m


# -- cut-off ------------------------------------------------------------------------------


def cutoff_network(d: int, B: float, *, dtype=None) -> Network:
    r"""The cut-off :math:`\chi_B`: 1 on :math:`[-B,B]^d`, 0 outside :math:`(-B-1,B+1)^d`.

    .. math::
        \chi_B(x)=\varrho\Big(1-\sum_{i=1}^d\big[\varrho(x_i-B)+\varrho(-x_i-B)\big]\Big).

    Realizes exactly this for every x: values in [0, 1]; :math:`\chi_B=1` on
    :math:`[-B,B]^d`; :math:`\chi_B=0` for :math:`\|x\|_\infty\ge B+1`; in between
    :math:`\chi_B(x)=\varrho(1-\sum_i\varrho(|x_i|-B))`. Its gradient has entries in
    {−1, 0, 1}, so :math:`\|\nabla\chi_B\|_2\le\sqrt d` a.e.; :math:`D^N\chi_B=0`
    exactly on the open cube :math:`(-B,B)^d` and where :math:`\|x\|_\infty>B+1`.

    Layers :math:`(((I;-I),-B\mathbf 1),(-\mathbf 1^T,1),(1,0))`: depth 3, widths
    (d, 2d, 1, 1), width 2d, parameters :math:`2d^2+4d+3`, connectivity 6d + 2.

    Args:
      d: the dimension d ≥ 1.
      B: the cut-off radius B > 0 (half-width of the cube where :math:`\chi_B=1`).
      dtype: floating dtype of the weights (default: JAX's default float dtype).

    Returns:
      A :class:`jrelu.Network` :math:`\mathbb R^d\to\mathbb R`.

    Raises:
      TypeError: if ``d`` is not an integer, ``B`` not a real number (bools are
        neither), or ``dtype`` is not a dtype.
      ValueError: if d < 1, B is not finite and > 0, or ``dtype`` is not floating.

    Example:
      >>> net = jrelu.constructions.cutoff_network(1, 1.0)
      >>> jrelu.realize(net, jnp.array([[0.5], [1.5], [3.0]]))[:, 0].tolist()
      [1.0, 0.5, 0.0]

    References:
      Elbrächter, Grohs, Jentzen, Schwab (2018),
      `arXiv:1809.07669 <https://arxiv.org/abs/1809.07669>`_;
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    d = _checks.size("d", d)
    B = _checks.positive("B", B)
    eye = np.eye(d)
    return network_from_layers([(np.vstack([eye, -eye]), -B * np.ones(2 * d)),
                                (-np.ones((1, 2 * d)), np.ones(1)),
                                (np.ones((1, 1)), np.zeros(1))], dtype)


# -- max / min of several values, max-min representation of PWL functions ----------------


def _max_levels(k: int) -> list[int]:
    sizes = [k]
    while sizes[-1] > 1:
        sizes.append(-(-sizes[-1] // 2))
    return sizes


def max_network(k: int, *, dtype=None) -> Network:
    r"""Exact maximum :math:`(x_1,\dots,x_k)\mapsto\max_i x_i` by a pairwise tree.

    Each level maps pairs and carries a left-over value t:

    .. math::
        \max(a,b)=\varrho(a-b)+\varrho(b)-\varrho(-b),\qquad t=\varrho(t)-\varrho(-t).

    With :math:`n_0=k`, :math:`n_{\ell+1}=\lceil n_\ell/2\rceil` and
    :math:`K=\lceil\log_2k\rceil` levels: depth K + 1; widths
    :math:`(k,h_0,\dots,h_{K-1},1)` with :math:`h_\ell=3\lfloor n_\ell/2\rfloor+2(n_\ell\bmod2)`;
    width :math:`h_0` (k ≥ 2); parameters from the widths; connectivity 8k − 9 when k ≥ 2
    is a power of two (≤ 8k otherwise). k = 1: the depth-1 identity ((1), 0).

    Args:
      k: the number of inputs, k ≥ 1.
      dtype: floating dtype of the weights (default: JAX's default float dtype).

    Returns:
      A :class:`jrelu.Network` :math:`\mathbb R^k\to\mathbb R`.

    Raises:
      TypeError: if ``k`` is not an integer (or is a bool), or ``dtype`` is not a dtype.
      ValueError: if k < 1 or ``dtype`` is not a floating dtype.

    Example:
      >>> net = jrelu.constructions.max_network(3)
      >>> jrelu.realize(net, jnp.array([1.0, 5.0, -2.0])).tolist()
      [5.0]

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    k = _checks.size("k", k)
    if k == 1:
        return network_from_layers([(np.ones((1, 1)), np.zeros(1))], dtype)
    _checks.default_float_dtype(dtype)
    return traced(lambda: _max_tree(k, dtype))


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
        level = network_from_layers([(A_in, np.zeros(A_in.shape[0])),
                                     (A_out, np.zeros(q + o))], dtype)
        net = level if net is None else compose(level, net)
    return net


def min_network(k: int, *, dtype=None) -> Network:
    r"""Exact minimum :math:`(x_1,\dots,x_k)\mapsto\min_ix_i=-\max_i(-x_i)`.

    :func:`max_network` with its first layer's matrix and its output layer negated.
    Same sizes as ``max_network(k)``.

    Args:
      k: the number of inputs, k ≥ 1.
      dtype: floating dtype of the weights (default: JAX's default float dtype).

    Returns:
      A :class:`jrelu.Network` :math:`\mathbb R^k\to\mathbb R`.

    Raises:
      TypeError: if ``k`` is not an integer (or is a bool), or ``dtype`` is not a dtype.
      ValueError: if k < 1 or ``dtype`` is not a floating dtype.

    Example:
      >>> net = jrelu.constructions.min_network(3)
      >>> jrelu.realize(net, jnp.array([1.0, 5.0, -2.0])).tolist()
      [-2.0]

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    net = max_network(k, dtype=dtype)
    layers = list(net.layers)
    A, b = layers[0]
    layers[0] = (-A, b)
    A, b = layers[-1]
    layers[-1] = (-A, -b)
    return Network(layers)


def check_maxmin(W, c, groups) -> tuple[np.ndarray, np.ndarray, list[tuple[int, ...]]]:
    """Validate a max–min representation; ``(W, c)`` as float64 arrays, groups as tuples."""
    W = float64_array("W", W)
    c = float64_array("c", c)
    if W.ndim != 2:
        raise ValueError(f"W must be a matrix (K, d) of affine slopes, got shape {W.shape}")
    if c.shape != (W.shape[0],):
        raise ValueError(f"c must have shape ({W.shape[0]},) to match W of shape {W.shape}, "
                         f"got {c.shape}")
    _checks.finite_array("W", W)
    _checks.finite_array("c", c)
    try:
        groups = [tuple(g) for g in groups]
    except TypeError:
        raise TypeError(f"groups must be a list of index lists, got {groups!r:.80}") from None
    groups = [tuple(_checks.integer(f"groups[{i}][{n}]", j) for n, j in enumerate(g))
              for i, g in enumerate(groups)]
    if not groups or any(len(g) == 0 for g in groups):
        raise ValueError(f"groups must be a non-empty list of non-empty index lists, got {groups}")
    for g in groups:
        for j in g:
            if not 0 <= j < W.shape[0]:
                raise ValueError(f"groups: index {j} out of range for {W.shape[0]} affine maps")
    return W, c, groups


def maxmin_network(W: jax.typing.ArrayLike, c: jax.typing.ArrayLike,
                   groups: Sequence[Sequence[int]], *, dtype=None) -> Network:
    r"""Any continuous piecewise-linear function in max–min form, represented exactly.

    .. math:: f(x)=\max_{i=1,\dots,n}\ \min_{j\in G_i}\ (W_jx+c_j),

    with ``groups`` :math:`=(G_1,\dots,G_n)` lists of row indices (repeats allowed).
    Every continuous PWL function has such a representation (Ovchinnikov). Realizes f
    exactly for every x (up to floating-point rounding of the sums), so :math:`D^N`
    equals :math:`\nabla f` a.e.

    Built as ``compose(max_network(n), compose(parallel_full(min_network(|G_1|), …),
    ((W_G, c_G))))`` with the rows of ``W`` repeated in group order. Depth
    :math:`\max_i\lceil\log_2|G_i|\rceil+\lceil\log_2n\rceil+1`.

    Args:
      W: affine slopes, shape ``(K, d)``.
      c: affine offsets, shape ``(K,)``.
      groups: n ≥ 1 non-empty sequences of row indices in ``range(K)``.
      dtype: floating dtype of the weights (default: JAX's default float dtype).

    Returns:
      A :class:`jrelu.Network` :math:`\mathbb R^d\to\mathbb R`.

    Raises:
      TypeError: if ``W`` or ``c`` is not a real array, or a group index is not an
        integer.
      ValueError: for a non-matrix ``W``, a ``c`` of the wrong shape, non-finite data,
        an empty group list or group, or an index out of range.

    Example:
      >>> W, c = [[0.0], [1.0], [-1.0]], [0.0, 1.0, 1.0]  # max(0, min(1 + x, 1 - x))
      >>> net = jrelu.constructions.maxmin_network(W, c, [[0], [1, 2]])
      >>> jrelu.realize(net, jnp.array([[-0.5], [0.0], [2.0]]))[:, 0].tolist()
      [0.5, 1.0, 0.0]

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    W, c, groups = check_maxmin(W, c, groups)
    _checks.default_float_dtype(dtype)
    order = [j for g in groups for j in g]

    def build():
        affine = network_from_layers([(W[order], c[order])], dtype)
        mins = parallel_full(*[min_network(len(g), dtype=dtype) for g in groups])
        return compose(max_network(len(groups), dtype=dtype), compose(mins, affine))

    return traced(build)


# -- squared norm ---------------------------------------------------------------------------


def squared_norm_network(d: int, B: float, m: int, *, dtype=None) -> Network:
    r"""An approximation of :math:`\|x\|_2^2` on :math:`[-B,B]^d` by d squaring networks.

    Realizes, for every x (:math:`S_m` of :func:`square_network`),

    .. math:: R\Phi(x)=\sum_{i=1}^dB^2S_m(|x_i|/B).

    Bounds on :math:`[-B,B]^d`: :math:`0\le R\Phi(x)-\|x\|^2\le dB^22^{-2m-2}`; a.e.
    :math:`\|D^N\Phi(x)-2x\|_2\le\sqrt dB2^{-m}` (each coordinate's error is
    :math:`B|S_m'(u_i)-2u_i|\le B2^{-m}`).

    Built as ``compose(((B²1ᵀ,0)), compose(parallel_full(S_m,…,S_m), compose(
    abs_network(d), ((I/B, 0)))))``. Sizes: depth m + 2; widths
    (d, 2d, 3d, 4d, …, 4d, 1) with m − 1 entries 4d; width 3d (m = 1) or 4d;
    connectivity d(15m − 2).

    Args:
      d: the dimension d ≥ 1.
      B: the half-width B > 0 of the cube :math:`[-B,B]^d` (a power of two gives exact
        weights).
      m: the squaring depth m ≥ 1.
      dtype: floating dtype of the weights (default: JAX's default float dtype).

    Returns:
      A :class:`jrelu.Network` :math:`\mathbb R^d\to\mathbb R`.

    Raises:
      TypeError: if ``d``, ``m`` are not integers, ``B`` not a real number (bools are
        neither), or ``dtype`` is not a dtype.
      ValueError: if d < 1, m < 1, B is not finite and > 0, or ``dtype`` is not
        floating.

    Example:
      >>> net = jrelu.constructions.squared_norm_network(2, 1.0, 3)
      >>> jrelu.realize(net, jnp.array([0.5, -0.25])).tolist()  # grid points: exact
      [0.3125]

    References:
      Yarotsky (2017), `arXiv:1610.01145 <https://arxiv.org/abs/1610.01145>`_;
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    d = _checks.size("d", d)
    B = _checks.positive("B", B)
    m = _checks.size("m", m)
    _checks.default_float_dtype(dtype)

    def build():
        scale = network_from_layers([(np.eye(d) / B, np.zeros(d))], dtype)
        total = network_from_layers([(B * B * np.ones((1, d)), np.zeros(1))], dtype)
        S = square_network(m, dtype=dtype)
        return compose(total, compose(parallel_full(*([S] * d)),
                                      compose(abs_network(d, dtype=dtype), scale)))

    return traced(build)
