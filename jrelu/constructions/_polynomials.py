r"""Products, monomials and polynomials with guaranteed error bounds (:class:`ErrorBound`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from .. import _checks
from ..network import Network, compose, identity, linear_combination, parallel_full
from ._blocks import multiplication_network
from ._common import network_from_layers, pow2_above, traced

__all__: list[str] = []  # the public names are re-exported by jrelu.constructions


@dataclasses.dataclass(frozen=True)
class ErrorBound:
    r"""A guaranteed error bound of an approximant Φ of f on the cube :math:`[-a,a]^d`.

    .. math::
        \sup_{x\in[-a,a]^d}|f(x)-R\Phi(x)|\le\texttt{value},\qquad
        \operatorname*{ess\,sup}_{x\in[-a,a]^d}\|\nabla f(x)-D^N\Phi(x)\|_2
        \le\texttt{derivative}.

    Returned by :func:`product_network`, :func:`monomial_network` and
    :func:`polynomial_network`.

    Attributes:
      value: the bound of the value error.
      derivative: the bound of the a.e. derivative error (Euclidean norm).
      half_width: the half-width a of the cube.
      m: the squaring depth used (0 when the network is exact).

    Example:
      >>> _, bound = jrelu.constructions.product_network(2, half_width=1.0, accuracy=0.01)
      >>> bound.half_width, bound.m, bound.value <= 0.01
      (1.0, 4, True)

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """

    value: float
    derivative: float
    half_width: float
    m: int

    def to_dict(self) -> dict:
        """The fields as a JSON-able dict ``{"value", "derivative", "half_width", "m"}``."""
        return dataclasses.asdict(self)


class _Node(NamedTuple):
    P: float   # sup |p| of the exact factor on the cube
    P1: float  # sup ‖∇p‖
    e: float   # value error bound of the approximation
    e1: float  # derivative error bound (a.e.)


def _combine(p: _Node, q: _Node, m: int) -> tuple[_Node, float]:
    """Bookkeeping for M_{b,m}(p̃, q̃) ≈ pq; returns the node and the b used."""
    pp, qq = p.P + p.e, q.P + q.e
    b = pow2_above(max(pp, qq))
    eta = b * b * 2.0 ** (-2 * m - 2)
    beta = b * 2.0**-m
    e = eta + p.e * qq + p.P * q.e
    e1 = (beta * (p.P1 + p.e1) + q.e * (p.P1 + p.e1) + q.P * p.e1
          + beta * (q.P1 + q.e1) + p.e * (q.P1 + q.e1) + p.P * q.e1)
    return _Node(p.P * q.P, q.P * p.P1 + p.P * q.P1, e, e1), b


def _product_plan(n: int, half_width: float, m: int):
    """Per level: list of b's for the pairs; the final node bound."""
    nodes = [_Node(half_width, 1.0, 0.0, 0.0)] * n
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
        parts = [multiplication_network(b, m, dtype=dtype) for b in bs]
        if size % 2:
            parts.append(identity(1, m + 2, dtype=_checks.default_float_dtype(dtype)))
        level = parallel_full(*parts)
        net = level if net is None else compose(level, net)
        size = len(parts)
    return net


def product_network(n: int, *, half_width: float, accuracy: float,
                    derivative_accuracy: float | None = None, m: int | None = None,
                    dtype=None) -> tuple[Network, ErrorBound]:
    r"""Product :math:`x\mapsto\prod_{i=1}^nx_i` on :math:`[-a,a]^n` (a = ``half_width``).

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

    Sizes (n ≥ 2, :math:`K=\lceil\log_2n\rceil` levels): depth K(m + 1) + 1; the hidden
    widths of a level with :math:`q` products and :math:`o\in\{0,1\}` carries are
    :math:`(4q+2o,6q+2o,(8q+2o)^{\times(m-1)})`; for :math:`n=2^K` the connectivity is
    :math:`30m(n-1)+20(n-2)` (each of the :math:`n/2-1` products above the first level
    has its first layer merged with the two output layers below it: 4 rows × 16 = 64
    nonzeros instead of 8 + 8 + 8).

    Args:
      n: the number of factors, n ≥ 1.
      half_width: the half-width a > 0 of the cube :math:`[-a,a]^n`.
      accuracy: the value accuracy, > 0.
      derivative_accuracy: the a.e. derivative accuracy, > 0, or None (no condition).
      m: the squaring depth of every multiplication (default: the smallest m ≥ 1 that
        meets the accuracies; then they are not checked).
      dtype: floating dtype of the weights (default: JAX's default float dtype).

    Returns:
      ``(net, bound)``: ``net`` maps :math:`\mathbb R^n\to\mathbb R`; ``bound`` an
      :class:`ErrorBound` with the guaranteed value and a.e. derivative errors on
      :math:`[-a,a]^n`. For n = 1 the exact depth-1 identity.

    Raises:
      TypeError: if ``n`` or ``m`` is not an integer, an accuracy or ``half_width`` not a
        real number (bools are neither), or ``dtype`` is not a dtype.
      ValueError: if n < 1, m < 1, a real argument is not finite and > 0, or the
        accuracy is not reachable with m ≤ 200.

    Example:
      >>> net, bound = jrelu.constructions.product_network(3, half_width=1.0, accuracy=1e-3)
      >>> y = jrelu.realize(net, jnp.array([0.5, -0.5, 0.5]))
      >>> bool(abs(float(y[0]) + 0.125) <= bound.value), bound.value <= 1e-3
      (True, True)

    References:
      Yarotsky (2017), `arXiv:1610.01145 <https://arxiv.org/abs/1610.01145>`_;
      Elbrächter, Grohs, Jentzen, Schwab (2018),
      `arXiv:1809.07669 <https://arxiv.org/abs/1809.07669>`_.
    """
    n = _checks.size("n", n)
    half_width = _checks.positive("half_width", half_width)
    accuracy = _checks.positive("accuracy", accuracy)
    if derivative_accuracy is not None:
        derivative_accuracy = _checks.positive("derivative_accuracy", derivative_accuracy)
    _checks.default_float_dtype(dtype)
    if n == 1:
        return (network_from_layers([(np.ones((1, 1)), np.zeros(1))], dtype),
                ErrorBound(0.0, 0.0, half_width, 0))
    if m is None:
        m = 1
        while True:
            _, node = _product_plan(n, half_width, m)
            if node.e <= accuracy and (derivative_accuracy is None
                                       or node.e1 <= derivative_accuracy):
                break
            m += 1
            if m > 200:
                raise ValueError(f"accuracy {accuracy} is not reachable in float64 for n={n}, "
                                 f"half_width={half_width}")
    m = _checks.size("m", m)
    plan, node = _product_plan(n, half_width, m)
    net = traced(lambda: _product_from_plan(n, plan, m, dtype))
    return net, ErrorBound(node.e, node.e1, half_width, m)


def _check_alpha(name: str, alpha, d=None) -> tuple[int, ...]:
    try:
        alpha = tuple(alpha)
    except TypeError:
        raise TypeError(f"{name} must be a multi-index (a sequence of integers), got "
                        f"{alpha!r:.80}") from None
    alpha = tuple(_checks.size(f"{name}[{i}]", a, min=0) for i, a in enumerate(alpha))
    if d is not None and len(alpha) != d:
        raise ValueError(f"{name}: multi-index {alpha} has length {len(alpha)}, expected "
                         f"d = {d}")
    return alpha


def monomial_network(alpha: Sequence[int], *, half_width: float, accuracy: float,
                     derivative_accuracy: float | None = None, m: int | None = None,
                     dtype=None) -> tuple[Network, ErrorBound]:
    r"""Monomial :math:`x^\alpha=\prod_ix_i^{\alpha_i}` on :math:`[-a,a]^d`, d = len(alpha).

    .. math::
        x^\alpha=\prod_{j=1}^{|\alpha|}(Sx)_j,\qquad |\alpha|=\sum_i\alpha_i,

    ``compose(product_network(|α|, …), ((S, 0)))`` where the selection matrix S repeats
    coordinate i :math:`\alpha_i` times. The bookkeeping of :func:`product_network`
    only uses the triangle inequality and :math:`\|\nabla x_i\|=1`, so it holds with
    repeated factors. :math:`|\alpha|=0`: the constant 1 (depth 1, ``((0), 1)``);
    :math:`|\alpha|=1`: exact. Depth :math:`\lceil\log_2|\alpha|\rceil(m+1)+1`.

    Args:
      alpha: the multi-index, d ≥ 1 non-negative integers.
      half_width: the half-width a > 0 of the cube :math:`[-a,a]^d`.
      accuracy: the value accuracy, > 0.
      derivative_accuracy: the a.e. derivative accuracy, > 0, or None.
      m: the squaring depth (default: the smallest that meets the accuracies).
      dtype: floating dtype of the weights (default: JAX's default float dtype).

    Returns:
      ``(net, bound)``: ``net`` maps :math:`\mathbb R^d\to\mathbb R`; ``bound`` the
      :class:`ErrorBound` (guaranteed bounds on :math:`[-a,a]^d`).

    Raises:
      TypeError: if ``alpha`` is not a sequence of integers, or another argument has
        the wrong type (see :func:`product_network`).
      ValueError: for an empty or negative multi-index, or a value rejected by
        :func:`product_network`.

    Example:
      >>> net, bound = jrelu.constructions.monomial_network((2, 1), half_width=1.0,
      ...                                                   accuracy=1e-3)
      >>> y = jrelu.realize(net, jnp.array([0.5, 0.5]))  # x0² x1 = 0.125
      >>> bool(abs(float(y[0]) - 0.125) <= bound.value)
      True

    References:
      Yarotsky (2017), `arXiv:1610.01145 <https://arxiv.org/abs/1610.01145>`_;
      Elbrächter, Grohs, Jentzen, Schwab (2018),
      `arXiv:1809.07669 <https://arxiv.org/abs/1809.07669>`_.
    """
    alpha = _check_alpha("alpha", alpha)
    if not alpha:
        raise ValueError("alpha must be a multi-index of length d >= 1, got ()")
    d, k = len(alpha), sum(alpha)
    half_width = _checks.positive("half_width", half_width)
    if k == 0:
        return (network_from_layers([(np.zeros((1, d)), np.ones(1))], dtype),
                ErrorBound(0.0, 0.0, half_width, 0))
    rows = [i for i, a in enumerate(alpha) for _ in range(a)]
    S = np.zeros((k, d))
    S[np.arange(k), rows] = 1.0
    prod, bound = product_network(k, half_width=half_width, accuracy=accuracy,
                                  derivative_accuracy=derivative_accuracy, m=m, dtype=dtype)
    return traced(lambda p: compose(p, network_from_layers([(S, np.zeros(k))], dtype)),
                  prod), bound


def polynomial_network(coeffs: Mapping[tuple, float], d: int, *, half_width: float,
                       accuracy: float, derivative_accuracy: float | None = None,
                       dtype=None) -> tuple[Network, ErrorBound]:
    r"""Polynomial :math:`p(x)=\sum_\alpha c_\alpha x^\alpha` on :math:`[-a,a]^d`.

    The constant term goes into the output bias; every other monomial is
    :func:`monomial_network` with accuracy :math:`\varepsilon/\Lambda` (and derivative
    accuracy :math:`\varepsilon'/\Lambda`), where

    .. math:: \Lambda=\sum_{|\alpha|\ge2}|c_\alpha|;

    they are summed with :func:`jrelu.linear_combination` (shorter ones padded by identity
    networks). Guaranteed bounds on :math:`[-a,a]^d`: value error
    :math:`\le\sum_\alpha|c_\alpha|e_\alpha\le\varepsilon`, a.e. derivative error
    :math:`\le\sum_\alpha|c_\alpha|e'_\alpha`. Depth = the largest monomial depth.

    Args:
      coeffs: a mapping from multi-indices α (length d) to real coefficients
        :math:`c_\alpha`; repeated keys add up.
      d: the dimension d ≥ 1.
      half_width: the half-width a > 0 of the cube :math:`[-a,a]^d`.
      accuracy: the value accuracy ε > 0.
      derivative_accuracy: the a.e. derivative accuracy ε' > 0, or None.
      dtype: floating dtype of the weights (default: JAX's default float dtype).

    Returns:
      ``(net, bound)``: ``net`` maps :math:`\mathbb R^d\to\mathbb R`; ``bound`` the
      :class:`ErrorBound` (its ``m`` is the largest squaring depth used).

    Raises:
      TypeError: if ``coeffs`` is not a mapping, a key is not a multi-index, a
        coefficient is not a real number, or another argument has the wrong type.
      ValueError: for empty ``coeffs``, a multi-index of the wrong length or with a
        negative entry, a non-finite coefficient, or a bad d, half-width or accuracy.

    Example:
      >>> coeffs = {(0, 0): 1.0, (1, 0): 2.0, (1, 1): -3.0}  # 1 + 2 x0 - 3 x0 x1
      >>> net, bound = jrelu.constructions.polynomial_network(coeffs, 2, half_width=1.0,
      ...                                                     accuracy=1e-2)
      >>> y = jrelu.realize(net, jnp.array([0.5, 0.5]))  # p = 1.25
      >>> bool(abs(float(y[0]) - 1.25) <= bound.value <= 1e-2)
      True

    References:
      Yarotsky (2017), `arXiv:1610.01145 <https://arxiv.org/abs/1610.01145>`_;
      Elbrächter, Grohs, Jentzen, Schwab (2018),
      `arXiv:1809.07669 <https://arxiv.org/abs/1809.07669>`_.
    """
    if not isinstance(coeffs, Mapping):
        raise TypeError(f"coeffs must be a mapping from multi-indices to coefficients, got "
                        f"{_checks.type_name(coeffs)}")
    d = _checks.size("d", d)
    half_width = _checks.positive("half_width", half_width)
    accuracy = _checks.positive("accuracy", accuracy)
    if not coeffs:
        raise ValueError("coeffs must contain at least one term")
    terms = {}
    for alpha, cf in coeffs.items():
        alpha = _check_alpha(f"coeffs key {alpha!r}", alpha, d)
        cf = _checks.real(f"coeffs[{alpha}]", cf)
        terms[alpha] = terms.get(alpha, 0.0) + cf
    const = terms.pop((0,) * d, 0.0)
    lam = sum(abs(cf) for a, cf in terms.items() if sum(a) >= 2)
    tol = accuracy / lam if lam else accuracy
    dtol = None if derivative_accuracy is None else _checks.positive(
        "derivative_accuracy", derivative_accuracy) / (lam if lam else 1.0)
    nets, cs = [], []
    ev = ed = 0.0
    mmax = 0
    for alpha, cf in terms.items():
        if cf == 0.0:
            continue
        net, bd = monomial_network(alpha, half_width=half_width, accuracy=tol,
                                   derivative_accuracy=dtol, dtype=dtype)
        nets.append(net)
        cs.append(cf)
        ev += abs(cf) * bd.value
        ed += abs(cf) * bd.derivative
        mmax = max(mmax, bd.m)
    if not nets:
        return (network_from_layers([(np.zeros((1, d)), np.array([const]))], dtype),
                ErrorBound(0.0, 0.0, half_width, 0))

    def build(nets):
        net = linear_combination(jnp.asarray(cs, _checks.default_float_dtype(dtype)), nets)
        A, b = net.layers[-1]
        return Network(net.layers[:-1] + ((A, b + jnp.asarray(const, A.dtype)),))

    return traced(build, nets), ErrorBound(ev, ed, half_width, mmax)
