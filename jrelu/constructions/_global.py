r"""The local-to-global theorem: local approximants, :func:`global_network`, the bounds."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from ..network import (
    Network,
    connectivity,
    depth,
    num_params,
    parallel,
    sparse_compose,
    width,
)
from ._blocks import (
    check_maxmin,
    cutoff_network,
    maxmin_network,
    multiplication_m,
    multiplication_network,
    squared_norm_network,
)
from ._common import float64_array, pow2_above, traced
from ._polynomials import monomial_network

__all__: list[str] = []  # the public names are re-exported by jrelu.constructions

def _growth(growth) -> tuple[float, float]:
    """``growth = (c, nu)`` as floats with c > 0, nu >= 0."""
    try:
        c, nu = growth
    except (TypeError, ValueError):
        raise ValueError(f"growth must be a pair (c, nu), got {growth!r}") from None
    return (_checks.positive("growth constant c", c),
            _checks.nonnegative("growth exponent nu", nu))


# -- local approximants ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LocalApproximant:
    r"""A family of local approximants :math:`(\delta,B)\mapsto\Phi_{\delta,B}` of f.

    ``build(delta, B)`` returns a :class:`jrelu.Network` :math:`\mathbb R^d\to\mathbb R`
    with :math:`W^{1,\infty}` error at most δ on the open cube :math:`(-B,B)^d`,

    .. math::
        \sup_{x\in(-B,B)^d}|f(x)-R\Phi_{\delta,B}(x)|\le\delta,\qquad
        \|\nabla f(x)-D^N\Phi_{\delta,B}(x)\|_2\le\delta\ \text{ for a.e. }x\in(-B,B)^d,

    or a pair ``(network, info)`` with a JSON-able ``info`` dict. This is the input of
    :func:`global_network`.

    Args:
      build: ``(delta, B) -> Network`` or ``(Network, info)``.
      d: the input dimension d ≥ 1.
      growth: ``(c, nu)`` with :math:`|f(x)|,\|\nabla f(x)\|_2\le c(1+\|x\|_2^\nu)`.
      name: a short description, recorded in :class:`GlobalRecord`.
      f: f on points ``(d,)`` (jnp), for tests and plots; optional.
      grad: ∇f on points ``(d,)`` → ``(d,)``; optional.
      certified: whether the local error is guaranteed (False when it was measured on
        samples, as in :func:`network_local`).

    Example:
      >>> C = jrelu.constructions
      >>> loc = C.LocalApproximant(lambda delta, B: C.abs_network(1), 1, (1.0, 1.0), "|x|")
      >>> loc(0.1, 2.0).widths  # |x| is exact on every cube
      (1, 2, 1)

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """

    build: Callable
    d: int
    growth: tuple
    name: str
    f: Callable | None = dataclasses.field(default=None, kw_only=True)
    grad: Callable | None = dataclasses.field(default=None, kw_only=True)
    certified: bool = dataclasses.field(default=True, kw_only=True)

    def __call__(self, delta: float, B: float):
        r"""The local network :math:`\Phi_{\delta,B}`: ``build(delta, B)``.

        Args:
          delta: the tolerance δ > 0.
          B: the cube half-width B > 0.

        Returns:
          A :class:`jrelu.Network`, or ``(network, info)``.
        """
        return self.build(delta, B)


def squared_norm_local(d: int, *, dtype=None) -> LocalApproximant:
    r"""Local approximants of :math:`f(x)=\|x\|_2^2`.

    Growth c = 1, ν = 2: :math:`\|x\|^2\le1+\|x\|^2` and :math:`\|2x\|\le1+\|x\|^2`.
    ``build(δ, B)`` = :func:`squared_norm_network` (d, B, m) with the smallest m ≥ 1 such
    that

    .. math:: dB^22^{-2m-2}\le\delta\quad\text{and}\quad\sqrt dB2^{-m}\le\delta.

    Args:
      d: the dimension d ≥ 1.
      dtype: floating dtype of the weights (default: JAX's default float dtype).

    Returns:
      A :class:`LocalApproximant` with ``f`` and ``grad``.

    Raises:
      TypeError: if ``d`` is not an integer (or is a bool); when built, if δ or B is not
        a real number.
      ValueError: if d < 1; when built, if δ or B is not finite and > 0.

    Example:
      >>> loc = jrelu.constructions.squared_norm_local(2)
      >>> loc.growth, loc(0.5, 1.0).widths
      ((1.0, 2.0), (2, 4, 6, 8, 1))

    References:
      Yarotsky (2017), `arXiv:1610.01145 <https://arxiv.org/abs/1610.01145>`_;
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    d = _checks.size("d", d)
    _checks.default_float_dtype(dtype)

    def build(delta, B):
        delta, B = _checks.positive("delta", delta), _checks.positive("B", B)
        m = max(1, math.ceil(math.log2(math.sqrt(d) * B / delta)))
        while d * B * B * 2.0 ** (-2 * m - 2) > delta or math.sqrt(d) * B * 2.0**-m > delta:
            m += 1
        return squared_norm_network(d, B, m, dtype=dtype)

    return LocalApproximant(build, d, (1.0, 2.0), f"squared_norm(d={d})",
                            f=lambda x: jnp.sum(x * x, axis=-1), grad=lambda x: 2 * x)


def coordinate_product_local(d: int, indices: Sequence[int], *, dtype=None) -> LocalApproximant:
    r"""Local approximants of a product of coordinates :math:`f(x)=\prod_{i\in I}x_i`.

    I = ``indices`` (repeats allowed), :math:`k=|I|\ge1`; growth ν = k and c = 1 for distinct
    indices, c = k with repeats:

    .. math::
        |f|\le\|x\|^k,\qquad \|\nabla f\|\le\sqrt k\,(k-1)^{-(k-1)/2}\|x\|^{k-1}\le1+\|x\|^k

    for distinct indices; with repeats :math:`\|\nabla f\|\le k\|x\|^{k-1}`.
    ``build(δ, B)`` = :func:`monomial_network` with half-width B and both accuracies δ.

    Args:
      d: the dimension d ≥ 1.
      indices: the coordinates in the product, each in ``range(d)``.
      dtype: floating dtype of the weights (default: JAX's default float dtype).

    Returns:
      A :class:`LocalApproximant` with ``f`` and ``grad``.

    Raises:
      TypeError: if ``d`` or an index is not an integer (or is a bool).
      ValueError: if d < 1, ``indices`` is empty or an index is out of range.

    Example:
      >>> loc = jrelu.constructions.coordinate_product_local(3, [0, 2])  # x0 x2
      >>> loc.growth, float(loc.f(jnp.array([2.0, 5.0, 3.0])))
      ((1.0, 2.0), 6.0)

    References:
      Elbrächter, Grohs, Jentzen, Schwab (2018),
      `arXiv:1809.07669 <https://arxiv.org/abs/1809.07669>`_;
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    d = _checks.size("d", d)
    _checks.default_float_dtype(dtype)
    if isinstance(indices, (str, bytes, dict)) or not hasattr(indices, "__iter__"):
        raise TypeError(f"indices must be a sequence of coordinates (integers), got "
                        f"{type(indices).__name__}: {indices!r:.80}")
    indices = [_checks.integer(f"indices[{n}]", i) for n, i in enumerate(indices)]
    if not indices or any(not 0 <= i < d for i in indices):
        raise ValueError(f"indices must be a non-empty list of coordinates in [0, {d}), "
                         f"got {indices}")
    alpha = [0] * d
    for i in indices:
        alpha[i] += 1
    k = len(indices)
    c = 1.0 if max(alpha) == 1 else float(k)

    def build(delta, B):
        net, _ = monomial_network(alpha, half_width=B, accuracy=delta,
                                  derivative_accuracy=delta, dtype=dtype)
        return net

    def f(x):
        return jnp.prod(x[..., jnp.asarray(indices)], axis=-1)

    return LocalApproximant(build, d, (c, float(k)), f"coordinate_product({indices})",
                            f=f, grad=jax.grad(f))


def maxmin_local(W: jax.typing.ArrayLike, c: jax.typing.ArrayLike,
                 groups: Sequence[Sequence[int]], *, dtype=None) -> LocalApproximant:
    r"""The exact max–min network (:func:`maxmin_network`) as a local approximant.

    Its error is 0 on every cube. For :math:`f(x)=\max_i\min_{j\in G_i}(W_jx+c_j)`:
    :math:`|f(x)|\le\max_j|c_j|+\max_j\|W_j\|\,\|x\|` and
    :math:`\|\nabla f\|\le\max_j\|W_j\|` a.e., so the growth is

    .. math:: c=\max\big(\max_j|c_j|,\ \max_j\|W_j\|_2\big),\qquad \nu=1.

    Args:
      W: affine slopes, shape ``(K, d)``.
      c: affine offsets, shape ``(K,)``.
      groups: n ≥ 1 non-empty sequences of row indices in ``range(K)``.
      dtype: floating dtype of the weights (default: JAX's default float dtype).

    Returns:
      A :class:`LocalApproximant` with ``f`` and ``grad``.

    Raises:
      TypeError: as :func:`maxmin_network`; when built, if δ or B is not a real number.
      ValueError: as :func:`maxmin_network`; when built, if δ or B is not finite and > 0.

    Example:
      >>> W, c = [[1.0, -1.0], [1.0, 0.0], [0.0, -1.0]], [0.0, 1.0, 2.0]
      >>> loc = jrelu.constructions.maxmin_local(W, c, [[0], [1, 2]])
      >>> loc.growth, float(loc.f(jnp.array([1.0, 0.0])))
      ((2.0, 1.0), 2.0)

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    W, c_, groups = check_maxmin(W, c, groups)
    net = maxmin_network(W, c_, groups, dtype=dtype)
    growth = (max(float(np.max(np.abs(c_))), float(np.max(np.linalg.norm(W, axis=1))), 1e-300),
              1.0)
    Wj, cj = jnp.asarray(W), jnp.asarray(c_)

    def f(x):
        z = x @ Wj.T + cj
        return jnp.max(jnp.stack([jnp.min(z[..., list(g)], axis=-1) for g in groups]), axis=0)

    def build(delta, B):
        _checks.positive("delta", delta)
        _checks.positive("B", B)
        return net

    return LocalApproximant(build, W.shape[1], growth, f"maxmin(K={W.shape[0]}, n={len(groups)})",
                            f=f, grad=jax.grad(f))


def network_local(net: Network, target: Callable, *, growth: tuple[float, float], key,
                  num_points: int = 4096, target_grad: Callable | None = None,
                  chunk_size: int = 4096) -> LocalApproximant:
    r"""A given (e.g. trained) network as a local approximant, its error *measured*.

    ``build(δ, B)`` runs :func:`jrelu.error_sweep` on ``num_points`` uniform samples
    :math:`x_1,\dots,x_n` of :math:`[-B,B]^d` (:class:`jrelu.samplers.UniformBox`) and
    returns ``(net, info)`` if

    .. math::
        \max_i|f(x_i)-R\Phi(x_i)|\le\delta\quad\text{and}\quad
        \max_i\|\nabla f(x_i)-D^N\Phi(x_i)\|_2\le\delta.

    The sample maximum is a lower estimate of the true sup, so the global bound built on
    it is empirical: the approximant and the :class:`GlobalRecord` say
    ``certified=False``, and ``info`` holds the measured errors.

    Args:
      net: a :class:`jrelu.Network` :math:`\mathbb R^d\to\mathbb R` (one output).
      target: f, one point ``(d,)`` → scalar (jnp).
      growth: the user's growth bound ``(c, nu)`` of f: :math:`|f(x)|,\|\nabla f(x)\|_2
        \le c(1+\|x\|_2^\nu)`, c > 0, ν ≥ 0.
      key: PRNG key of the samples.
      num_points: number of samples per build.
      target_grad: ∇f, ``(d,)`` → ``(d,)``; default ``jax.grad(target)``.
      chunk_size: points per compiled evaluation of the sweep.

    Returns:
      A :class:`LocalApproximant` with ``certified=False``. Building it raises
      ValueError naming the measured errors if one exceeds δ.

    Raises:
      TypeError: if ``net`` is not a network, ``target`` / ``target_grad`` not callable,
        ``key`` not a PRNG key, or ``num_points`` / ``chunk_size`` not an integer.
      ValueError: if ``net`` has more than one output, ``growth`` is not a pair with
        c > 0, ν ≥ 0, or ``num_points`` / ``chunk_size`` < 1.

    Example:
      >>> net = jrelu.constructions.abs_network(1)  # realizes f(x) = |x| exactly
      >>> loc = jrelu.constructions.network_local(net, lambda x: jnp.abs(x[0]),
      ...                                         growth=(1.0, 1.0), key=jax.random.key(0))
      >>> loc.d, loc.certified
      (1, False)

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    _checks.network("net", net)
    _checks.callable_("target", target)
    if target_grad is not None:
        _checks.callable_("target_grad", target_grad)
    growth = _growth(growth)
    _checks.prng_key("key", key)
    num_points = _checks.positive_int("num_points", num_points)
    chunk_size = _checks.positive_int("chunk_size", chunk_size)
    if net.output_dim != 1:
        raise ValueError(f"net must have one output (the local network), got widths "
                         f"{net.widths}")
    d = net.input_dim

    def build(delta, B):
        from ..samplers import UniformBox
        from ..sweep import error_sweep

        delta, B = _checks.positive("delta", delta), _checks.positive("B", B)
        rep = error_sweep(net, target, UniformBox(d, low=-B, high=B), num_points=num_points,
                          key=key, kappa=0.0, derivative=True, chunk_size=chunk_size,
                          target_grad=target_grad)
        ev, ed = rep.value.sup_unweighted, rep.derivative.sup_unweighted
        if ev > delta or ed > delta:
            raise ValueError(f"the network's measured local error on (-{B}, {B})^{d} "
                             f"(value {ev:.3g}, derivative {ed:.3g}, {num_points} samples) "
                             f"exceeds the requested δ = {delta:.3g}")
        return net, {"certified": False, "measured_value_error": ev,
                     "measured_derivative_error": ed, "num_points": num_points}

    return LocalApproximant(build, d, growth, f"network{net.widths}", f=target,
                            grad=target_grad, certified=False)


# -- the local-to-global theorem ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GlobalRecord:
    r"""Constants and sizes of :math:`\Phi_\varepsilon` from :func:`global_network`.

    With them, for every :math:`x\in\mathbb R^d` (value) and almost every x (derivative),

    .. math::
        |f(x)-R\Phi_\varepsilon(x)|\le\varepsilon(1+\|x\|^\kappa),\qquad
        \|\nabla f(x)-D^N\Phi_\varepsilon(x)\|\le C\varepsilon^r(1+\|x\|^\kappa).

    Attributes:
      d: the input dimension.
      eps: ε.
      c: the growth constant c.
      nu: the growth exponent ν.
      kappa: κ = ν + 1.
      B: :math:`B_\varepsilon=\max(1,4c/\varepsilon)`, the cut-off radius.
      b: :math:`b_\varepsilon`, the half-width of the multiplication network (a power
        of two).
      m: the squaring depth of the multiplication.
      delta: the local tolerance δ = ε/2.
      eta: :math:`\eta=b^22^{-2m-2}`, the multiplication's value error.
      beta: :math:`\beta=b2^{-m}`, its derivative error.
      C: the derivative constant, ``max(C_regions.values())``.
      r: the derivative rate, ½.
      C_regions: the three region constants ``{"inside", "band", "outside"}``.
      depth: depth of :math:`\Phi_\varepsilon`.
      width: width of :math:`\Phi_\varepsilon`.
      num_params: its number of parameters.
      connectivity: its number of nonzero weights and biases.
      widths: its widths :math:`(N_0,\dots,N_L)`.
      local_depth: depth of the local network :math:`\Phi_{\delta,B+1}`.
      local_widths: its widths.
      local_name: the local approximant's ``name``.
      certified: False if the local error was measured, not guaranteed.
      local_info: what the local builder reported (JSON-able).

    Example:
      >>> loc = jrelu.constructions.squared_norm_local(1)
      >>> _, record = jrelu.constructions.global_network(loc, 1.0)
      >>> record.kappa, record.r, record.B, record.certified
      (3.0, 0.5, 4.0, True)

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
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
        """The fields as a JSON-able dict (tuples as lists), in field order."""
        out = dataclasses.asdict(self)
        out["widths"] = list(self.widths)
        out["local_widths"] = list(self.local_widths)
        return out

    def to_json(self, **kwargs) -> str:
        """:meth:`to_dict` as JSON text (``json.dumps`` keyword arguments; indent 2)."""
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


def global_network(local: LocalApproximant | Callable, eps: float, *,
                   growth: tuple[float, float] | None = None, d: int | None = None,
                   dtype=None) -> tuple[Network, GlobalRecord]:
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
      growth: ``(c, nu)`` with c > 0, ν ≥ 0; default ``local.growth``.
      d: the input dimension; default ``local.d``; must match the local network.
      dtype: dtype of the cut-off and multiplication weights (default: the local
        network's dtype).

    Returns:
      ``(net, record)``: the :class:`jrelu.Network` :math:`\Phi_\varepsilon`
      (:math:`\mathbb R^d\to\mathbb R`) and its :class:`GlobalRecord`.

    Raises:
      TypeError: if ``local`` is not callable, ``eps`` or a growth entry is not a real
        number, ``d`` not an integer, or ``dtype`` not a dtype.
      ValueError: for ε not finite and > 0, a bad or missing growth, a missing or
        inconsistent d, a local network with the wrong input/output dimension, or a
        local builder that returns no network (or rejects (δ, B)).

    Example:
      >>> loc = jrelu.constructions.squared_norm_local(1)
      >>> net, record = jrelu.constructions.global_network(loc, 1.0)
      >>> record.kappa, record.r, record.C
      (3.0, 0.5, 4.5)
      >>> jrelu.realize(net, jnp.array([[0.0], [1000.0]]))[:, 0].tolist()  # 0 far out
      [0.0, 0.0]

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_;
      Elbrächter, Grohs, Jentzen, Schwab (2018),
      `arXiv:1809.07669 <https://arxiv.org/abs/1809.07669>`_;
      Yarotsky (2017), `arXiv:1610.01145 <https://arxiv.org/abs/1610.01145>`_.
    """
    eps = _checks.positive("eps", eps)
    if growth is None:
        growth = getattr(local, "growth", None)
        if growth is None:
            raise ValueError("growth=(c, nu) is required (the local approximant has none)")
    c, nu = _growth(growth)
    local_d = getattr(local, "d", None)
    if d is None:
        if local_d is None:
            raise ValueError("d is required (the local approximant does not state it)")
        d = local_d
    d = _checks.size("d", d)
    if local_d is not None and local_d != d:
        raise ValueError(f"inconsistent dimension: d = {d} but the local approximant is for "
                         f"d = {local_d}")
    _checks.callable_("local", local)
    if dtype is not None:
        dtype = _checks.default_float_dtype(dtype)

    kappa = nu + 1.0
    B = max(1.0, 4.0 * c / eps)
    delta = eps / 2.0
    F_max = c * (1.0 + (math.sqrt(d) * (B + 1.0)) ** nu)
    b = pow2_above(max(1.0, F_max + delta))
    m = multiplication_m(b, accuracy=eps / 4.0)
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
    dt = out.dtype if dtype is None else dtype
    net = traced(lambda loc: sparse_compose(multiplication_network(b, m, dtype=dt),
                                            parallel(cutoff_network(d, B, dtype=dt), loc)), out)

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
    r"""Error envelopes of :math:`\Phi_\varepsilon` from :func:`global_bound`.

    Each field has the batch shape ``x.shape[:-1]``; float64 NumPy arrays for concrete
    points, JAX arrays under ``jit`` (``region`` holds integers). The theorem's envelopes
    dominate the region-wise ones:

    .. math::
        \texttt{value}\le\texttt{value\_theorem}=\varepsilon(1+\|x\|^\kappa),\qquad
        \texttt{derivative}\le\texttt{derivative\_theorem}=C\varepsilon^r(1+\|x\|^\kappa).

    Attributes:
      value: the region-wise guaranteed envelope of :math:`|f-R\Phi_\varepsilon|`
        (every x).
      derivative: that of :math:`\|\nabla f-D^N\Phi_\varepsilon\|_2` (a.e.).
      value_theorem: :math:`\varepsilon(1+\|x\|^\kappa)`.
      derivative_theorem: :math:`C\varepsilon^r(1+\|x\|^\kappa)`.
      region: 0 inside :math:`[-B,B]^d`, 1 in the band, 2 outside :math:`[-B-1,B+1]^d`.

    Example:
      >>> loc = jrelu.constructions.squared_norm_local(1)
      >>> _, record = jrelu.constructions.global_network(loc, 1.0)
      >>> jrelu.constructions.global_bound(record, np.array([[0.0], [100.0]])).region.tolist()
      [0, 2]
    """

    value: np.ndarray | jax.Array
    derivative: np.ndarray | jax.Array
    value_theorem: np.ndarray | jax.Array
    derivative_theorem: np.ndarray | jax.Array
    region: np.ndarray | jax.Array


def global_bound(record: GlobalRecord, x: jax.typing.ArrayLike) -> GlobalBound:
    r"""Guaranteed error envelopes of :math:`\Phi_\varepsilon` at points x (float64, NumPy).

    With :math:`F=c(1+r^\nu)`, r = ‖x‖₂, ρ = ‖x‖_∞ and the constants of the record (see
    :func:`global_network`):

    .. math::
        |f-R\Phi_\varepsilon|&\le\begin{cases}\delta+\eta,&\rho\le B,\\
        2F+\delta+\eta,&B<\rho\le B+1,\\F,&\rho>B+1;\end{cases}\\
        \|\nabla f-D^N\Phi_\varepsilon\|&\le\begin{cases}\delta+\beta(F+\delta),&\rho<B,\\
        F(2+\beta+\sqrt d)+\delta(1+\beta+\sqrt d)+\sqrt d\beta,&B\le\rho\le B+1,\\
        F,&\rho>B+1\end{cases}\quad\text{(a.e.)}.

    For concrete x it is evaluated on the host in float64 (whatever the dtype of x), so
    that the envelopes are the constants of the proof, not their rounding to float32.
    Under ``jit``/``vmap`` (traced x) the same formulas run in ``jax.numpy`` in the dtype
    of x.

    Args:
      record: a :class:`GlobalRecord` from :func:`global_network`.
      x: points, shape ``(d,)`` or ``(..., d)``.

    Returns:
      A :class:`GlobalBound`, each field of shape ``x.shape[:-1]`` (NumPy float64 arrays
      for concrete x, JAX arrays for traced x).

    Raises:
      TypeError: if ``record`` is not a :class:`GlobalRecord` or ``x`` not a real array.
      ValueError: if the last axis of ``x`` is not d.

    Example:
      >>> loc = jrelu.constructions.squared_norm_local(1)
      >>> _, record = jrelu.constructions.global_network(loc, 1.0)
      >>> bound = jrelu.constructions.global_bound(record, np.array([100.0]))
      >>> float(bound.value), bool(bound.value <= bound.value_theorem)  # F = 1 + 100²
      (10001.0, True)

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    if not isinstance(record, GlobalRecord):
        raise TypeError(f"record must be a GlobalRecord, got {type(record).__name__}")
    if _checks.is_concrete(x):
        xp, x = np, float64_array("x", x)
    else:  # under jit/vmap: the same formulas in jax.numpy, in the dtype of x
        xp, x = jnp, _checks.array("x", x)
    if x.ndim == 0 or x.shape[-1] != record.d:
        raise ValueError(f"x must have shape ({record.d},) or (..., {record.d}), got {x.shape}")
    r = xp.linalg.norm(x, axis=-1)
    rho = xp.max(xp.abs(x), axis=-1)
    R = record
    F = R.c * (1.0 + r**R.nu)
    sd = math.sqrt(R.d)
    region = xp.where(rho <= R.B, 0, xp.where(rho <= R.B + 1.0, 1, 2))
    value = xp.where(region == 0, R.delta + R.eta,
                     xp.where(region == 1, 2 * F + R.delta + R.eta, F))
    dregion = xp.where(rho < R.B, 0, xp.where(rho <= R.B + 1.0, 1, 2))
    deriv = xp.where(dregion == 0, R.delta + R.beta * (F + R.delta),
                     xp.where(dregion == 1,
                              F * (2 + R.beta + sd) + R.delta * (1 + R.beta + sd) + sd * R.beta,
                              F))
    weight = 1.0 + r**R.kappa
    return GlobalBound(value, deriv, R.eps * weight, R.C * R.eps**R.r * weight, region)
